"""The manager owns what lives as long as the operator: API client, view, queues, reconcilers."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from pydantic import ValidationError

from journeys.controllers.journeys import JourneyReconciler
from journeys.controllers.participants import ParticipantReconciler
from journeys.core.participants import JourneyFacts
from journeys.runtime.kube import Kube
from journeys.runtime.metrics import Snapshot
from journeys.runtime.sharding import Shard
from journeys.runtime.workqueue import WorkQueue
from journeys.view import Indexes, Key, OperatorState


@dataclass(frozen=True)
class ManagerOptions:
    #: Participants handled at once: bounds concurrent API writes during a stop or an entry storm.
    participant_concurrency: int = 64
    journey_concurrency: int = 8
    #: How long participant changes are gathered before a journey's counts are recomputed.
    count_coalesce_seconds: float = 0.25
    #: This replica's shard: it reconciles only the namespaces the shard owns (docs/scaling.md).
    shard: Shard | None = None


@dataclass
class Manager:
    kube: Kube
    options: ManagerOptions = field(default_factory=ManagerOptions)
    state: OperatorState = field(default_factory=OperatorState)
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)

    def __post_init__(self) -> None:
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

    def capture(self, indexes: Indexes) -> None:
        """Keep Kopf's live indexes; they are complete before the first handler is called."""
        if self.state.indexes is None:
            self.state.indexes = indexes

    def journey_facts(self, key: Key) -> JourneyFacts | None:
        """The reconciler's facts of a journey; None when it is unknown or cannot be read."""
        if self.state.journey_body(key) is None:
            return None
        try:
            return self.journey_reconciler.facts(key)
        except (ValidationError, ValueError):
            return None

    def snapshot(self) -> Snapshot | None:
        """Counts for the metrics endpoint; None until Kopf's indexes are complete."""
        if self.state.indexes is None:
            return None
        journeys, participants = self.state.counts()
        queues = {queue.name: len(queue) for queue in (self.journeys, self.participants)}
        return Snapshot(journeys=journeys, participants=participants, queues=queues)

    def pause(self) -> None:
        """Standby: start no reconcile; running ones finish (each is one idempotent decision)."""
        self.journeys.pause()
        self.participants.pause()

    def resume(self) -> None:
        self.journeys.resume()
        self.participants.resume()

    def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self.journeys.run(), name="journeys-queue"),
            asyncio.create_task(self.participants.run(), name="participants-queue"),
        ]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.kube.close()
