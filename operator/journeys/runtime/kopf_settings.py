"""How Kopf is configured for this operator, and why each setting differs from its default."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Final, Protocol, cast

import kopf

from journeys.api import GROUP, JOURNEY_PLURAL, LABEL_PARTICIPANT, PARTICIPANT_PLURAL, VERSION
from journeys.runtime import streaming
from journeys.runtime.kube import Kube
from journeys.runtime.sharding import Shard


@dataclass(frozen=True)
class Watched:
    """A resource the operator watches, with the server-side selection Kopf lists it with."""

    group: str
    version: str
    plural: str
    #: A label selector the API server applies: only these objects ever reach the operator.
    labels: str = ""
    #: Whether a sharded replica asks the API server for its shard only. Not the custom
    #: resources: Kubernetes 1.36 does not shard them, and every replica needs every journey
    #: and participant to answer any admission request (docs/scaling.md).
    sharded: bool = False

    def path(self, namespace: str | None = None) -> str:
        prefix = "/api" if not self.group else f"/apis/{self.group}"
        where = f"/namespaces/{namespace}" if namespace else ""
        return f"{prefix}/{self.version}{where}/{self.plural}"

    def query(self) -> dict[str, str]:
        return {"labelSelector": self.labels} if self.labels else {}


#: Everything the handlers and indexes watch. Only our Jobs reach the operator: the handlers'
#: ``labels=`` filter is client-side, after Kopf received and decoded every Job of every team;
#: that cost ~4 ms of the loop per unrelated Job (docs/scaling.md).
WATCHED: Final = (
    Watched(GROUP, VERSION, JOURNEY_PLURAL),
    Watched(GROUP, VERSION, PARTICIPANT_PLURAL),
    Watched("batch", "v1", "jobs", labels=LABEL_PARTICIPANT, sharded=True),
)


class NoDiffBase(kopf.DiffBaseStorage):
    """A diff base that is never kept, because nothing here reads it.

    Kopf builds an object's "essence" (a deep copy of the body, then another one when cleaning
    it) on every watch event, for change-detecting handlers (``on.create``/``on.update``). This
    operator registers only ``on.event`` and index handlers, so those copies were pure cost: a
    tenth of the operator's CPU during an entry of thousands of participants (benchmarks.md).
    """

    def build(self, *, body: kopf.Body, extra_fields: Iterable[Any] | None = None) -> Any:
        return cast(Any, {})

    def fetch(self, *, body: kopf.Body) -> None:
        return None

    def store(self, *, body: kopf.Body, patch: kopf.Patch, essence: Any) -> None:
        return None


class Sharded(Protocol):
    """What the settings read of Kopf's memo (``journeys.app.App``)."""

    @property
    def shard(self) -> Shard | None: ...


@kopf.on.startup()
def configure(settings: kopf.OperatorSettings, memo: Sharded, **_: object) -> None:
    """Kopf's own bookkeeping stays under the project's domain and out of the way."""
    settings.persistence.finalizer = f"{GROUP}/finalizer"
    settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(prefix=GROUP)
    settings.persistence.diffbase_storage = NoDiffBase()
    settings.posting.level = logging.INFO
    settings.watching.server_timeout = 300
    settings.watching.client_timeout = 330
    settings.networking.request_timeout = 60
    # Kopf keeps a worker per object, holding its last event body, until it has been idle this
    # long (default 5 s); at thousands of participants that alone was ~10 KB of RSS each.
    settings.queueing.idle_timeout = 0.5
    # Ride out a control-plane restart or upgrade (minutes) instead of giving up after ~1 min.
    settings.networking.error_backoffs = (1, 1, 2, 3, 5, 8, 13, 21, 30, 30, 30, 30, 30, 30)
    for watched in WATCHED:
        key = (watched.group, watched.version, watched.plural)
        if watched.labels:
            settings.watching.label_selectors[key] = watched.labels
        if watched.sharded and memo.shard is not None:
            settings.watching.shard_selectors[key] = memo.shard.selector


@kopf.on.startup()
async def stream_initial_lists(settings: kopf.OperatorSettings, **_: object) -> None:
    """Start each watch from a streamed list where the API server can (runtime/streaming.py).

    A classic first listing decodes every object of a resource at once, and the allocator keeps
    that peak for the life of the process; streamed, they arrive one event at a time.
    """
    kube = await Kube.connect(pool_size=1)
    try:
        settings.watching.initial_streaming = await streaming.supported(
            lambda path, query: kube.raw("GET", path, query=query), WATCHED[0].path()
        )
    finally:
        await kube.close()
