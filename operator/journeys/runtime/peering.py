"""High availability: several replicas, one of which reconciles, through Kopf's peering objects.

Every replica watches and indexes everything; only the leader's work queues run. Kopf's own
peering would pause a standby's watch streams instead, and that cannot work here: standbys also
answer admission requests (Kopf serves webhooks regardless of peering), and the webhooks answer
from the indexes, which a paused replica never fills. So Kopf runs standalone, and this module
speaks Kopf's peering protocol itself: each replica keeps its entry (priority, lifetime, lastseen)
in the ``status`` of the ``ClusterKopfPeering`` (cluster-wide operator) or ``KopfPeering`` (one per
``--namespace``) object ``NAME``, and leads while no other live entry has a priority as high as its
own, which is Kopf's rule (so ``kopf freeze`` still pauses every replica). Failing over costs no
start-up: the new leader's indexes and queues are already full, and it resumes its queues.

Priorities must differ (equal ones pause both, as in Kopf). By default a replica's priority is
minus its start time in milliseconds: the oldest replica leads, a rolling update's new pods wait as
standbys until the old ones exit (removing their entries), and any explicit ``--priority >= 0``
(e.g. a developer's operator) takes over from all of them.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import getpass
import logging
import os
import socket
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final, Protocol

from journeys.runtime.kube import FIELD_MANAGER, MERGE_PATCH, Kube, KubeError

logger = logging.getLogger(__name__)

PEERING_API: Final = "/apis/kopf.dev/v1"
DEFAULT_LIFETIME: Final = 60
#: How often a replica re-reads the peering objects (one small GET each).
POLL_SECONDS: Final = 2.0


@dataclass(frozen=True)
class PeeringOptions:
    """``--peering``, ``--priority``, ``--peering-lifetime``; no name means standalone."""

    name: str | None = None
    priority: int = 0
    lifetime: int = DEFAULT_LIFETIME
    identity: str = ""
    #: Namespaces of the KopfPeering objects; empty: the ClusterKopfPeering.
    namespaces: tuple[str, ...] = ()

    @property
    def paths(self) -> list[str]:
        if not self.namespaces:
            return [f"{PEERING_API}/clusterkopfpeerings/{self.name}"]
        return [f"{PEERING_API}/namespaces/{ns}/kopfpeerings/{self.name}" for ns in self.namespaces]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("high availability (docs/install.md)")
    group.add_argument(
        "--peering",
        metavar="NAME",
        default=None,
        help="run as one of several replicas coordinated through the ClusterKopfPeering "
        "(cluster-wide) or the KopfPeering in each --namespace named NAME (created when "
        "missing); only the live replica with the highest priority reconciles. "
        "Default: standalone",
    )
    group.add_argument(
        "--priority",
        type=int,
        default=None,
        help="peering priority (higher leads); default: minus the start time in milliseconds, "
        "so the oldest replica leads and any explicit priority >= 0 takes over",
    )
    group.add_argument(
        "--peering-lifetime",
        type=int,
        default=DEFAULT_LIFETIME,
        help="seconds without a keep-alive after which a replica counts as dead and a standby "
        f"takes over (default {DEFAULT_LIFETIME})",
    )


def options_from(args: argparse.Namespace) -> PeeringOptions:
    started_ms = int(time.time() * 1000)
    namespaces: Sequence[str] = args.namespace
    if args.peering and any(set(ns) & set("*?[]!") for ns in namespaces):
        raise SystemExit("--peering needs exact --namespace names (a KopfPeering lives in each)")
    return PeeringOptions(
        name=args.peering,
        priority=args.priority if args.priority is not None else -started_ms,
        lifetime=args.peering_lifetime,
        identity=_identity(started_ms),
        namespaces=tuple(namespaces),
    )


def _identity(started_ms: int) -> str:
    """Unique per process; names the pod when running in one (``POD_NAME``)."""
    where = os.environ.get("POD_NAME") or f"{getpass.getuser()}@{socket.gethostname()}"
    return f"{where}/{os.getpid()}/{started_ms}"


def _deadline(info: Mapping[str, Any], now: datetime) -> datetime:
    lastseen = info.get("lastseen")
    seen = datetime.fromisoformat(str(lastseen)) if lastseen else now
    if seen.tzinfo is None:
        seen = seen.replace(tzinfo=UTC)
    return seen + timedelta(seconds=int(info.get("lifetime", DEFAULT_LIFETIME)))


def leads(peers: Mapping[str, Any], identity: str, priority: int, now: datetime) -> bool:
    """Kopf's rule for one peering object: no other live peer with a priority as high as ours.

    ``peers`` is the object's ``status``: identity -> {priority, lifetime, lastseen}. A peer is
    live until ``lastseen + lifetime``; equal priorities pause both sides, as in Kopf.
    """
    return not any(
        other != identity
        and isinstance(info, Mapping)
        and int(info.get("priority", 0)) >= priority
        and _deadline(info, now) > now
        for other, info in peers.items()
    )


def dead_peers(peers: Mapping[str, Any], now: datetime) -> list[str]:
    """Entries whose keep-alives stopped: removed so that restarts do not pile up."""
    return [
        other
        for other, info in peers.items()
        if not isinstance(info, Mapping) or _deadline(info, now) <= now
    ]


class Pausable(Protocol):
    """What leadership drives: the operator's work (its queues), paused on a standby."""

    def pause(self) -> None: ...
    def resume(self) -> None: ...


class Leadership:
    """Keeps this replica's entry alive, and runs the work only while it leads."""

    def __init__(self, options: PeeringOptions, work: Pausable) -> None:
        assert options.name is not None
        self.options = options
        self.work = work
        self.leading = False
        self._touched = 0.0
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Stand by until the peering objects say otherwise, and follow them from now on."""
        self.decide([])
        self._task = asyncio.create_task(self.run(), name="leadership")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def run(self) -> None:
        kube = await Kube.connect(pool_size=2)
        try:
            while True:
                try:
                    self.decide(await self._exchange(kube))
                except (KubeError, OSError) as error:
                    # Keep the current role: the others judge this replica by its lastseen.
                    logger.warning("Peering %s: %s", self.options.name, error)
                await asyncio.sleep(min(POLL_SECONDS, self.options.lifetime / 3))
        finally:
            with contextlib.suppress(KubeError, OSError):
                await self._write(kube, {self.options.identity: None})  # a standby takes over
            await kube.close()

    def decide(self, peerings: list[Mapping[str, Any]]) -> None:
        """Lead, or stand by, from the current ``status`` of every peering object."""
        now = datetime.now(UTC)
        leading = bool(peerings) and all(
            leads(peers, self.options.identity, self.options.priority, now) for peers in peerings
        )
        if leading != self.leading:
            logger.info(
                "Peering %s: this replica %s (priority %d)",
                self.options.name,
                "leads" if leading else "stands by",
                self.options.priority,
            )
        self.leading = leading
        # Paused work lets its running keys finish: each is one decision made on a fresh
        # index, and the new leader's reconcile of the same key is idempotent.
        if leading:
            self.work.resume()
        else:
            self.work.pause()

    async def _exchange(self, kube: Kube) -> list[Mapping[str, Any]]:
        """Our keep-alive when due (which also returns the object), else a read."""
        if time.monotonic() - self._touched >= self.options.lifetime / 3:
            entry = {
                "priority": self.options.priority,
                "lifetime": self.options.lifetime,
                "lastseen": datetime.now(UTC).isoformat(),
            }
            peerings = await self._write(kube, {self.options.identity: entry})
            self._touched = time.monotonic()
            if self.leading:
                now = datetime.now(UTC)
                dead = {d: None for peers in peerings for d in dead_peers(peers, now)}
                if dead:
                    await self._write(kube, dead)
            return peerings
        paths = self.options.paths
        return [(await kube.request("GET", path)).get("status") or {} for path in paths]

    async def _write(self, kube: Kube, entries: Mapping[str, Any]) -> list[Mapping[str, Any]]:
        written = []
        for path in self.options.paths:
            patch = {"status": entries}
            query = {"fieldManager": FIELD_MANAGER}
            try:
                found = await kube.request("PATCH", path, patch, query, MERGE_PATCH)
            except KubeError as error:
                if error.status != 404 or not any(entries.values()):
                    raise
                found = await self._create(kube, path, patch)
            written.append(found.get("status") or {})
        return written

    async def _create(self, kube: Kube, path: str, patch: dict[str, Any]) -> dict[str, Any]:
        """The first replica creates the peering object; a racing one finds it created."""
        collection, name = path.rsplit("/", 1)
        kind = "KopfPeering" if "/namespaces/" in path else "ClusterKopfPeering"
        body = {"apiVersion": "kopf.dev/v1", "kind": kind, "metadata": {"name": name}, **patch}
        try:
            created = await kube.request("POST", collection, body, {"fieldManager": FIELD_MANAGER})
        except KubeError as error:
            if error.status != 409:
                raise
            return await kube.request("PATCH", path, patch, None, MERGE_PATCH)
        logger.info("Created the peering object %s", path.removeprefix(PEERING_API + "/"))
        return created
