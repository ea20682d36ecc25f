"""The manager owns what lives as long as the operator: API client, state, queues, reconcilers."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from journeys.controllers.journeys import JourneyReconciler
from journeys.controllers.participants import ParticipantReconciler
from journeys.controllers.state import Indexes, Key, OperatorState
from journeys.runtime.kube import Kube
from journeys.runtime.workqueue import WorkQueue


@dataclass(frozen=True)
class ManagerOptions:
    #: Participants handled at once: bounds concurrent API writes during a stop or an entry storm.
    participant_concurrency: int = 64
    journey_concurrency: int = 8
    #: How long participant changes are gathered before a journey's counts are recomputed.
    count_coalesce_seconds: float = 0.25


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

    def capture(self, indexes: Indexes) -> None:
        """Keep Kopf's live indexes; they are complete before the first handler is called."""
        if self.state.indexes is None:
            self.state.indexes = indexes

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
