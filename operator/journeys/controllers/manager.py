"""The manager owns what lives as long as the operator: API client, view, queues, reconcilers."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field

from pydantic import ValidationError

from journeys.controllers.journeys import JourneyReconciler
from journeys.controllers.participants import ParticipantReconciler
from journeys.core.participants import JourneyFacts
from journeys.runtime.completeness import listed_uids
from journeys.runtime.kube import Kube
from journeys.runtime.metrics import Snapshot
from journeys.runtime.sharding import Shard
from journeys.runtime.workqueue import WorkQueue
from journeys.view import Key, OperatorState, ViewStore

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ManagerOptions:
    #: Participants handled at once: bounds concurrent API writes during a stop or an entry storm.
    participant_concurrency: int = 64
    journey_concurrency: int = 8
    #: How long participant changes are gathered before a journey's counts are recomputed.
    count_coalesce_seconds: float = 0.25
    #: This replica's shard: it reconciles only the namespaces the shard owns (docs/scaling.md).
    shard: Shard | None = None
    #: Where Kopf watches (``--namespace``; empty: the whole cluster), for the start-up listing.
    namespaces: tuple[str, ...] = ()
    #: How often the view's completeness is checked while the start-up listing is awaited.
    completeness_poll_seconds: float = 0.1
    #: After this long without completeness, list again (an awaited object may be gone).
    completeness_relist_seconds: float = 5.0


@dataclass
class Manager:
    kube: Kube
    options: ManagerOptions = field(default_factory=ManagerOptions)
    state: OperatorState = field(default_factory=OperatorState)
    store: ViewStore = field(default_factory=ViewStore)
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)
    _leading: bool = True

    def __post_init__(self) -> None:
        self.state.indexes = self.store.indexes
        self.journeys: WorkQueue[Key] = WorkQueue(
            "journeys", self._reconcile_journey, self.options.journey_concurrency
        )
        self.participants: WorkQueue[Key] = WorkQueue(
            "participants", self._reconcile_participant, self.options.participant_concurrency
        )
        self.journey_reconciler = JourneyReconciler(
            self.state, self.kube, self.journeys, self.participants
        )
        self.participant_reconciler = ParticipantReconciler(
            self.state, self.kube, self.journey_reconciler.facts
        )

    async def _reconcile_journey(self, key: Key) -> None:
        await self.journey_reconciler(key)

    async def _reconcile_participant(self, key: Key) -> None:
        await self.participant_reconciler(key)

    def owns(self, namespace: str) -> bool:
        """Whether this replica reconciles the namespace (every one, unsharded)."""
        return self.options.shard is None or self.options.shard.owns(namespace)

    @property
    def complete(self) -> bool:
        """Whether the view holds every object that existed at start-up (runtime.completeness)."""
        return self.store.completeness.complete

    def journey_facts(self, key: Key) -> JourneyFacts | None:
        """The reconciler's facts of a journey; None when it is unknown or cannot be read."""
        if self.state.journey_body(key) is None:
            return None
        try:
            return self.journey_reconciler.facts(key)
        except (ValidationError, ValueError):
            return None

    def snapshot(self) -> Snapshot | None:
        """Counts for the metrics endpoint; None until the view is complete."""
        if not self.complete:
            return None
        journeys, participants = self.state.counts()
        queues = {queue.name: len(queue) for queue in (self.journeys, self.participants)}
        return Snapshot(journeys=journeys, participants=participants, queues=queues)

    def pause(self) -> None:
        """Standby: start no reconcile; running ones finish (each is one idempotent decision)."""
        self._leading = False
        self._open_queues()

    def resume(self) -> None:
        self._leading = True
        self._open_queues()

    def _open_queues(self) -> None:
        """Reconcile only as the leader, and only from a complete view."""
        for queue in (self.journeys, self.participants):
            if self._leading and self.complete:
                queue.resume()
            else:
                queue.pause()

    def start(self) -> None:
        self._open_queues()
        self._tasks = [
            asyncio.create_task(self.journeys.run(), name="journeys-queue"),
            asyncio.create_task(self.participants.run(), name="participants-queue"),
            asyncio.create_task(self._complete_view(), name="view-completeness"),
        ]

    async def _complete_view(self) -> None:
        """List what Kopf watches, once; the queues open when the view holds all of it."""
        completeness = self.store.completeness
        failures = 0
        while not completeness.complete:
            try:
                uids = await listed_uids(self.kube, self.options.namespaces, self.options.shard)
            except Exception as error:  # e.g. no right to list yet: the view cannot complete
                failures += 1
                delay = min(30.0, 2.0**failures)
                logger.warning("start-up listing failed (%s); again in %.0fs", error, delay)
                await asyncio.sleep(delay)
                continue
            if completeness.awaited < 0:
                completeness.listed(uids)
            else:
                completeness.narrow(uids)
            waited = 0.0
            while not completeness.complete and waited < self.options.completeness_relist_seconds:
                await asyncio.sleep(self.options.completeness_poll_seconds)
                waited += self.options.completeness_poll_seconds
        logger.info(
            "The view is complete: %d journeys, %d participants, %d Jobs",
            len(self.store.journeys),
            len(self.state.participant_keys()),
            len(self.store.jobs),
        )
        self._open_queues()

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.kube.close()
