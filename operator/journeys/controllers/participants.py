"""Participant reconciler: read what the operator knows, ask the core, apply its one action."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from journeys.api import (
    API_VERSION,
    PARTICIPANT_KIND,
    PARTICIPANT_PLURAL,
    HaltPolicy,
    Journey,
    JourneyState,
    ObjectMeta,
    Participant,
    ParticipantPhase,
    ParticipantSpec,
)
from journeys.core.jobs import build_job, journey_owner_reference
from journeys.core.participants import (
    ActionKind,
    JourneyFacts,
    ParticipantAction,
    decide_participant,
    entry_refusal,
    job_name_taken,
    job_refused,
    participant_status,
)
from journeys.runtime import metrics
from journeys.runtime.kube import Kube, KubeError
from journeys.view import Key, OperatorState, ParticipantView

logger = logging.getLogger(__name__)


class ParticipantReconciler:
    """Applies ``decide_participant`` to one participant at a time (the queue serialises keys)."""

    def __init__(
        self,
        state: OperatorState,
        kube: Kube,
        journey_facts: Callable[[Key], JourneyFacts | None],
        now: Callable[[], datetime] = lambda: datetime.now(UTC).replace(microsecond=0),
    ) -> None:
        self._state = state
        self._kube = kube
        self._journey_facts = journey_facts
        self._now = now
        #: The last validated model of each journey body (bodies change by replacement).
        self._models: dict[Key, tuple[dict[str, Any], Journey]] = {}

    def _journey(self, key: Key, body: dict[str, Any]) -> Journey:
        """The journey's model, validated once per version of its body, not per participant."""
        cached = self._models.get(key)
        if cached is not None and cached[0] is body:
            return cached[1]
        journey = Journey.model_validate(body)
        self._models[key] = (body, journey)
        return journey

    async def __call__(self, key: Key) -> None:
        view = self._state.participant(key)
        if view is None:
            self._state.forget_participant(key)
            return
        journey_key = (view.namespace, view.journey)
        body = self._state.journey_body(journey_key)
        if body is None:
            self._models.pop(journey_key, None)
        facts = self._journey_facts(journey_key) if body is not None else None
        phase = self._state.phase_of(view)
        job = self._state.job(key)
        action = decide_participant(phase, facts, job)
        if action.kind == ActionKind.ADMIT:
            assert facts is not None and body is not None
            journey = self._journey(journey_key, body)
            action = self._entry_check(view, journey, facts) or action
        await self._apply(view, action, body)

    def _entry_check(
        self, view: ParticipantView, journey: Journey, facts: JourneyFacts
    ) -> ParticipantAction | None:
        """Capacity and one version per profile, from the indexes and the admissions in flight."""
        stopped = journey.spec.state == JourneyState.STOPPED
        return entry_refusal(self._state.entry_facts(view, facts, journey.family, stopped))

    async def _apply(
        self, view: ParticipantView, action: ParticipantAction, body: dict[str, Any] | None
    ) -> None:
        kind = action.kind
        if kind == ActionKind.NOTHING:
            return
        if kind == ActionKind.ADMIT:
            assert body is not None
            await self._admit(view, self._journey((view.namespace, view.journey), body), action)
            return
        if kind == ActionKind.HALT:
            assert body is not None
            journey = self._journey((view.namespace, view.journey), body)
            await self._halt_job(view, journey.spec.halt.policy)
        if kind == ActionKind.WAIT and view.reason == action.reason:
            return  # already says so; its journey's arrival re-queues it
        await self._write_status(view, action)

    async def _admit(
        self, view: ParticipantView, journey: Journey, admitted: ParticipantAction
    ) -> None:
        key = (view.namespace, view.journey)
        if not view.owned:
            await self._kube.patch_metadata(
                PARTICIPANT_PLURAL,
                view.namespace,
                view.name,
                {"ownerReferences": [journey_owner_reference(journey.metadata)]},
            )
        # From here to the create call there is no await: a close seen before this line
        # can never be followed by a Job for this participant.
        facts = self._journey_facts(key)
        if self._state.gate_closed(key) and facts is not None:
            refusal = self._entry_check(view, journey, facts)
            assert refusal is not None, "a journey seen closed refuses every entry"
            await self._write_status(view, refusal)
            return
        self._state.admitting[view.key] = view
        try:
            created = await self._kube.create_job(build_job(journey, _participant(view)))
            if not created and not await self._job_is_ours(view):
                await self._write_status(view, job_name_taken(view.name))
                return
        except KubeError as error:
            if not error.is_permanent:
                raise  # retried with backoff by the queue
            # The API server refuses this journey's Job (a bad template): retrying cannot help.
            message = f"the API server refused the participant's Job: {error.message}"
            self._state.stalled[key] = message
            await self._write_status(view, job_refused(message))
            return
        finally:
            self._state.admitting.pop(view.key, None)
        self._state.stalled.pop(key, None)
        self._state.jobs_created.add(view.key)
        metrics.entry_admitted(view.namespace)
        self._state.remember_phase(view.key, ParticipantPhase.ACTIVE)
        await self._write_status(view, admitted)

    async def _job_is_ours(self, view: ParticipantView) -> bool:
        """A Job of that name exists: ours from before a restart, or someone else's?"""
        job = await self._kube.get_job(view.namespace, view.name)
        owners = (job or {}).get("metadata", {}).get("ownerReferences") or []
        return any(owner.get("uid") == view.uid for owner in owners)

    async def _halt_job(self, view: ParticipantView, policy: HaltPolicy) -> None:
        if policy == HaltPolicy.DELETE:
            await self._kube.delete_job(view.namespace, view.name)
        else:
            await self._kube.suspend_job(view.namespace, view.name)

    async def _write_status(self, view: ParticipantView, action: ParticipantAction) -> None:
        status = participant_status(action, view.name, self._now())
        await self._kube.patch_status(PARTICIPANT_PLURAL, view.namespace, view.name, status)
        assert action.phase is not None
        self._state.remember_phase(view.key, action.phase)
        if action.kind == ActionKind.REJECT:
            metrics.entry_refused(view.namespace, status["reason"])
            await self._kube.post_event(
                _reference(view), status["reason"], action.message, warning=True
            )


def _participant(view: ParticipantView) -> Participant:
    return Participant(
        api_version=API_VERSION,
        kind=PARTICIPANT_KIND,
        metadata=ObjectMeta(name=view.name, namespace=view.namespace, uid=view.uid),
        spec=ParticipantSpec(
            journey=view.journey, profile=view.profile, attributes=dict(view.attributes)
        ),
    )


def _reference(view: ParticipantView) -> dict[str, Any]:
    """Enough of the object for Kopf to post an Event about it."""
    return {
        "apiVersion": API_VERSION,
        "kind": PARTICIPANT_KIND,
        "metadata": {"name": view.name, "namespace": view.namespace, "uid": view.uid},
    }
