"""Live pages: one Kubernetes watch on the server, coalesced notices to every open page.

A thread watches Journeys with the user's client (the official client's watch is synchronous;
the aiohttp loop is never blocked by it) and hands each changed journey's key to the loop. Every
open page holds a :class:`Subscription`: a *set* of changed keys, not a queue of events, so a
halt of 5,000 participants that rewrites a journey's status a thousand times costs one notice
per :data:`COALESCE` window per page, and memory stays bounded by the number of journeys (and by
:data:`MAX_KEYS`, past which a notice just says "everything").

Participants are not watched: the operator keeps each journey's counts in its status, so a
journey's own watch event is the signal to refresh its page (participants included).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Final

from kubernetes import watch
from kubernetes.client import ApiException

from journeys.api import GROUP, JOURNEY_PLURAL, VERSION

logger = logging.getLogger(__name__)

#: How long changes are gathered before a page is told (a page refreshes at most this often).
COALESCE: Final = 0.25
#: Past this many changed journeys a notice says "all" instead of naming them.
MAX_KEYS: Final = 200
#: A watch request ends after this long and is renewed (so a stop is noticed this fast).
WATCH_SECONDS: Final = 20
RETRY_SECONDS: Final = 2.0
HEARTBEAT: Final = 15.0


def key(namespace: str, name: str) -> str:
    return f"{namespace}/{name}"


@dataclass(eq=False)
class Subscription:
    """What changed since the page was last told; merged, never queued."""

    keys: set[str] = field(default_factory=set)
    everything: bool = False
    status: str = ""
    ready: asyncio.Event = field(default_factory=asyncio.Event)

    def add(self, changed: str) -> None:
        if not self.everything:
            self.keys.add(changed)
            if len(self.keys) > MAX_KEYS:
                self.everything, self.keys = True, set()
        self.ready.set()

    def take(self) -> dict[str, Any]:
        notice: dict[str, Any] = {"all": self.everything, "journeys": sorted(self.keys)}
        if self.status:
            notice["status"] = self.status
        self.keys, self.everything, self.status = set(), False, ""
        self.ready.clear()
        return notice


class Hub:
    """The open pages, and the one place watch events reach them (on the event loop)."""

    def __init__(self) -> None:
        self.subscriptions: set[Subscription] = set()
        #: "" while the watch works; otherwise what is wrong ("unreachable", ...).
        self.status = ""

    def publish(self, changed: str) -> None:
        for subscription in self.subscriptions:
            subscription.add(changed)

    def set_status(self, status: str) -> None:
        """The watch broke (``status`` says why) or works again (""): every page refreshes,
        since changes may have been missed in between."""
        changed = status != self.status
        self.status = status
        for subscription in self.subscriptions:
            if changed:
                subscription.status = status or "ok"
            subscription.everything, subscription.keys = True, set()
            subscription.ready.set()

    @contextlib.contextmanager
    def subscribe(self) -> Iterator[Subscription]:
        subscription = Subscription()
        self.subscriptions.add(subscription)
        try:
            yield subscription
        finally:
            self.subscriptions.discard(subscription)

    async def notices(
        self, subscription: Subscription, stopping: asyncio.Event
    ) -> AsyncIterator[str]:
        """Server-sent events for one page: a notice per window with changes, heartbeats
        between (so a dead connection is noticed), until the server stops."""
        while not stopping.is_set():
            try:
                await asyncio.wait_for(subscription.ready.wait(), HEARTBEAT)
            except TimeoutError:
                yield ": heartbeat\n\n"
                continue
            await asyncio.sleep(COALESCE)
            yield f"event: changed\ndata: {json.dumps(subscription.take())}\n\n"


class JourneyWatch:
    """The watch thread: lists, then watches from the list's resourceVersion, forever."""

    def __init__(
        self,
        custom: Any,
        namespace: str | None,
        loop: asyncio.AbstractEventLoop,
        hub: Hub,
    ) -> None:
        self.custom = custom
        self.namespace = namespace
        self.loop = loop
        self.hub = hub
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, name="journey-watch", daemon=True)
        self._watch: watch.Watch | None = None

    def start(self) -> None:
        self.thread.start()

    def stop(self, seconds: float = 5.0) -> None:
        """End the watch and wait for the thread (a thread left inside a TLS read at interpreter
        exit can abort the process). Shutting the open response's socket down ends the read at
        once; ``_resp`` is where the client's Watch keeps it."""
        self.stopping.set()
        current = self._watch
        if current is not None:
            current.stop()  # type: ignore[no-untyped-call]
            response = getattr(current, "_resp", None)
            if response is not None:
                with contextlib.suppress(Exception):
                    response.shutdown()
        if self.thread.is_alive():
            self.thread.join(seconds)

    def _call(self, function: Callable[..., None], *args: Any) -> None:
        if not self.stopping.is_set():
            with contextlib.suppress(RuntimeError):  # the loop closed under us: we are stopping
                self.loop.call_soon_threadsafe(function, *args)

    def _list_args(self) -> tuple[Callable[..., Any], tuple[Any, ...]]:
        if self.namespace is None:
            return self.custom.list_cluster_custom_object, (GROUP, VERSION, JOURNEY_PLURAL)
        return self.custom.list_namespaced_custom_object, (
            GROUP,
            VERSION,
            self.namespace,
            JOURNEY_PLURAL,
        )

    def _run(self) -> None:
        function, args = self._list_args()
        version = ""
        first = True
        while not self.stopping.is_set():
            try:
                if not version:
                    listed = function(*args, _request_timeout=30)
                    version = str(listed["metadata"]["resourceVersion"])
                    if not first:  # pages may have missed changes: they refresh
                        self._call(self.hub.set_status, "")
                    first = False
                self._watch = watch.Watch()  # type: ignore[no-untyped-call]
                for event in self._watch.stream(  # type: ignore[no-untyped-call]
                    function,
                    *args,
                    resource_version=version,
                    timeout_seconds=WATCH_SECONDS,
                    allow_watch_bookmarks=True,
                    _request_timeout=WATCH_SECONDS + 10,
                ):
                    obj = event["object"]
                    metadata = obj.get("metadata") or {}
                    version = str(metadata.get("resourceVersion") or version)
                    if event["type"] == "BOOKMARK":
                        continue
                    if event["type"] == "ERROR":
                        version, first = "", False  # 410 Gone and friends: list again
                        break
                    self._call(self.hub.publish, key(metadata["namespace"], metadata["name"]))
            except ApiException as error:
                version, first = "", False
                if error.status == 410:
                    continue
                status = "forbidden" if error.status == 403 else "error"
                self._call(self.hub.set_status, status)
                self.stopping.wait(RETRY_SECONDS)
            except Exception:  # connection refused, reset, timeouts: the API server is away
                logger.debug("journey watch failed", exc_info=True)
                version, first = "", False
                self._call(self.hub.set_status, "unreachable")
                self.stopping.wait(RETRY_SECONDS)
