"""Journey reconciler: status, Events, supersession, and handing participants their work."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from journeys.api import JOURNEY_PLURAL, Journey, JourneyPhase, ParticipantPhase
from journeys.core.clocks import Clock, JourneyClocks
from journeys.core.journey_plan import JourneyPlan, plan_journey, unreadable_status
from journeys.core.participants import IN_FLIGHT_PHASES, JourneyFacts
from journeys.runtime import metrics
from journeys.runtime.kube import Kube
from journeys.runtime.workqueue import WorkQueue
from journeys.view import Key, OperatorState

logger = logging.getLogger(__name__)


class JourneyReconciler:
    """Brings one journey's status up to date and queues the participants that need action."""

    def __init__(
        self,
        state: OperatorState,
        kube: Kube,
        journeys: WorkQueue[Key],
        participants: WorkQueue[Key],
        now: Callable[[], datetime] = lambda: datetime.now(UTC).replace(microsecond=0),
    ) -> None:
        self._state = state
        self._kube = kube
        self._journeys = journeys
        self._participants = participants
        self._now = now
        self._clocks = JourneyClocks()

    def facts(self, key: Key) -> JourneyFacts | None:
        """The journey's facts for participant decisions, planning it now if never planned."""
        cached = self._state.journey_facts.get(key)
        if cached is not None:
            return cached
        plan = self._plan(key)
        return plan.facts if plan else None

    def _plan(self, key: Key) -> JourneyPlan | None:
        body = self._state.journey_body(key)
        if body is None:
            return None
        journey = Journey.model_validate(body)
        views = self._state.participants_of(key)
        plan = plan_journey(
            journey,
            [self._state.phase_of(v) for v in views],
            self._now(),
            superseded_by=self._newer_live_version(journey),
            stalled=self._state.stalled.get(key),
        )
        self._state.journey_facts[key] = plan.facts
        if plan.facts.phase != JourneyPhase.LIVE or plan.facts.halting:
            self._state.close_gate(key)
        return plan

    async def __call__(self, key: Key) -> None:
        body = self._state.journey_body(key)
        if body is None:
            self._state.forget_journey(key)
            self._clocks.forget(key)
            return
        try:
            plan = self._plan(key)
        except (ValidationError, ValueError) as error:
            await self._report_stalled(key, body, error)
            return
        assert plan is not None
        self._queue_participants(key, plan)
        await self._write_status(key, body, plan)
        self._time(key, plan)
        if plan.requeue_at is not None:
            delay = (plan.requeue_at - self._now()).total_seconds()
            self._journeys.add(key, max(delay, 0.0) + 0.05)
        if plan.facts.phase == JourneyPhase.LIVE:
            self._queue_older_versions(key, body)

    def _queue_participants(self, key: Key, plan: JourneyPlan) -> None:
        """Pending ones need admitting or rejecting; Active ones need halting when halting."""
        for view in self._state.participants_of(key):
            phase = self._state.phase_of(view)
            if phase == ParticipantPhase.PENDING or (
                plan.facts.halting and phase in IN_FLIGHT_PHASES
            ):
                self._participants.add(view.key)

    async def _write_status(self, key: Key, body: dict[str, Any], plan: JourneyPlan) -> None:
        new = plan.status.model_dump(mode="json", by_alias=True, exclude_none=True)
        if new != (body.get("status") or {}):
            await self._kube.patch_status(JOURNEY_PLURAL, key[0], key[1], new)
        for transition in plan.transitions:
            await self._kube.post_event(
                body, transition.reason, transition.message, warning=transition.warning
            )

    def _time(self, key: Key, plan: JourneyPlan) -> None:
        """Halts and drains that the status just written completes (each timed once)."""
        for timing in self._clocks.observe(key, plan.status, self._now()):
            record = metrics.halt_timed if timing.clock == Clock.HALT else metrics.drain_timed
            record(timing.label, timing.seconds)

    async def _report_stalled(self, key: Key, body: dict[str, Any], error: Exception) -> None:
        """A journey the core cannot read: say so in its status once, instead of retrying."""
        old = body.get("status") or {}
        generation = body.get("metadata", {}).get("generation")
        status, message = unreadable_status(old, generation, error, self._now())
        if {k: old.get(k) for k in status} != status:
            await self._kube.patch_status(JOURNEY_PLURAL, key[0], key[1], status)
            await self._kube.post_event(body, "InvalidSpec", message, warning=True)
        logger.warning("%s/%s: %s", key[0], key[1], message)

    def _newer_live_version(self, journey: Journey) -> str | None:
        """The newest version of the family above this one that is live, if any."""
        return self._state.newest_live(
            journey.metadata.namespace or "", journey.family, above=journey.spec.version
        )

    def _queue_older_versions(self, key: Key, body: dict[str, Any]) -> None:
        journey = Journey.model_validate(body)
        for member in self._state.family_members(key[0], journey.family):
            if member.version < journey.spec.version and member.phase == JourneyPhase.LIVE:
                self._journeys.add((key[0], member.name))
