"""From what the operator observed of a journey to the status it should have and what to tell.

``plan_journey`` is the whole journey reconcile decision: the shell feeds it the Journey, the
participant counts from its index and the family's newer live version, and applies the plan
(status patch, Events, halting participants, when to look again).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from journeys.api import (
    ANNOTATION_CLOSED_AT,
    ANNOTATION_CLOSED_BY,
    ANNOTATION_STOPPED_AT,
    ANNOTATION_STOPPED_BY,
    Condition,
    Journey,
    JourneyPhase,
    JourneyStatus,
    ParticipantCounts,
    ParticipantPhase,
    parse_timestamp,
    plural,
)
from journeys.core.conditions import condition, find_condition, merge_conditions
from journeys.core.lifecycle import (
    PhaseDecision,
    PhaseFacts,
    PhaseReason,
    decide_phase,
    drain_deadline,
    next_deadline,
)
from journeys.core.participants import IN_FLIGHT_PHASES, JourneyFacts


@dataclass(frozen=True)
class Transition:
    """A phase change worth a Kubernetes Event."""

    reason: str
    message: str
    warning: bool = False


@dataclass(frozen=True)
class JourneyPlan:
    status: JourneyStatus
    decision: PhaseDecision
    facts: JourneyFacts
    transitions: list[Transition] = field(default_factory=list)
    requeue_at: datetime | None = None


def count_participants(phases: Iterable[ParticipantPhase]) -> tuple[ParticipantCounts, int]:
    """Counts for ``status.participants``; ``active`` is everyone inside or about to be
    (Pending or Active), which is also what keeps a closed journey from finishing."""
    by_phase = Counter(phases)
    in_flight = sum(by_phase[p] for p in IN_FLIGHT_PHASES)
    counts = ParticipantCounts(
        active=in_flight,
        completed=by_phase[ParticipantPhase.COMPLETED],
        failed=by_phase[ParticipantPhase.FAILED],
        halted=by_phase[ParticipantPhase.HALTED],
        rejected=by_phase[ParticipantPhase.REJECTED],
    )
    return counts, in_flight


def plan_journey(
    journey: Journey,
    phases: Iterable[ParticipantPhase],
    now: datetime,
    superseded_by: str | None = None,
    stalled: str | None = None,
) -> JourneyPlan:
    """Decide the journey's status; ``stalled`` is an error the shell could not get past."""
    old = journey.status
    counts, in_flight = count_participants(phases)
    annotations = journey.metadata.annotations or {}
    closing = old.closed_at or parse_timestamp(annotations.get(ANNOTATION_CLOSED_AT))
    facts = PhaseFacts(
        state=journey.spec.state,
        previous=old.phase,
        now=now,
        end_at=journey.spec.end_at,
        superseded_by=superseded_by or old.superseded_by,
        closed_at=closing,
        drain_timeout=journey.spec.drain.timeout_duration,
        in_flight=in_flight,
    )
    decision = decide_phase(facts, _previous_reason(old))
    status = _next_status(journey, decision, facts, counts, now)
    if status.closed_at is not None and facts.closed_at is None:
        facts = PhaseFacts(**{**facts.__dict__, "closed_at": status.closed_at})
    status.conditions = merge_conditions(
        old.conditions,
        _conditions(journey, decision, facts, counts, in_flight, now, stalled),
    )
    return JourneyPlan(
        status=status,
        decision=decision,
        facts=JourneyFacts(
            name=journey.metadata.name or "",
            phase=decision.phase,
            since=_since(status, decision.phase),
            halting=decision.halt_in_flight,
            max_participants=journey.spec.entry.max_participants,
        ),
        transitions=_transitions(old.phase, decision, status, in_flight),
        requeue_at=next_deadline(facts, decision),
    )


def unreadable_status(
    old: Mapping[str, Any], generation: int | None, error: Exception, now: datetime
) -> tuple[dict[str, Any], str]:
    """The status of a journey the core cannot read (a spec its model refuses), and why.

    Only ``Ready`` and ``Stalled`` change (to say so once, instead of retrying); the rest of the
    status stays as it was, since nothing else can be decided from such a spec.
    """
    message = f"the journey cannot be reconciled: {error}"
    stalled = [
        condition("Ready", False, "Stalled", message, generation, now),
        condition("Stalled", True, "InvalidSpec", message, generation, now),
    ]
    previous = [Condition.model_validate(c) for c in old.get("conditions") or []]
    conditions = merge_conditions(
        previous, [*stalled, *(c for c in previous if c.type not in {"Ready", "Stalled"})]
    )
    status = {
        "observedGeneration": generation,
        "conditions": [c.model_dump(mode="json", by_alias=True) for c in conditions],
    }
    return status, message


def _previous_reason(old: JourneyStatus) -> PhaseReason | None:
    found = find_condition(old.conditions, "Ready")
    if found is None:
        return None
    try:
        return PhaseReason(found.reason)
    except ValueError:
        return None


def _next_status(
    journey: Journey,
    decision: PhaseDecision,
    facts: PhaseFacts,
    counts: ParticipantCounts,
    now: datetime,
) -> JourneyStatus:
    old = journey.status
    annotations = journey.metadata.annotations or {}
    status = old.model_copy(deep=True)
    status.phase = decision.phase
    status.observed_generation = journey.metadata.generation
    status.participants = counts
    if decision.reason == PhaseReason.SUPERSEDED and not status.superseded_by:
        status.superseded_by = facts.superseded_by
    closed = decision.phase != JourneyPhase.LIVE and decision.reason not in {
        PhaseReason.STOP_REQUESTED,
        PhaseReason.END_REACHED,
    }
    if closed and status.closed_at is None:
        status.closed_at = facts.closed_at or now
        status.closed_by = annotations.get(ANNOTATION_CLOSED_BY) or _closed_by(decision, facts)
        status.close_reason = journey.spec.close_reason or None
    if decision.phase == JourneyPhase.STOPPED and status.stopped_at is None:
        status.stopped_at = parse_timestamp(annotations.get(ANNOTATION_STOPPED_AT)) or now
        status.stopped_by = annotations.get(ANNOTATION_STOPPED_BY) or _stopped_by(decision)
        status.stop_reason = journey.spec.stop_reason or _stop_reason(decision, facts)
    if decision.phase == JourneyPhase.FINISHED and status.finished_at is None:
        status.finished_at = now
    return status


def _closed_by(decision: PhaseDecision, facts: PhaseFacts) -> str | None:
    if decision.reason == PhaseReason.SUPERSEDED:
        return f"journeys-operator (superseded by {facts.superseded_by})"
    return None


def _stopped_by(decision: PhaseDecision) -> str | None:
    return "journeys-operator (spec.endAt)" if decision.reason == PhaseReason.END_REACHED else None


def _stop_reason(decision: PhaseDecision, facts: PhaseFacts) -> str:
    if decision.reason == PhaseReason.END_REACHED and facts.end_at is not None:
        return f"spec.endAt {facts.end_at.isoformat()} reached"
    return ""


def _since(status: JourneyStatus, phase: JourneyPhase) -> datetime | None:
    return {
        JourneyPhase.CLOSED: status.closed_at,
        JourneyPhase.STOPPED: status.stopped_at,
        JourneyPhase.FINISHED: status.finished_at,
    }.get(phase)


_PHASE_MESSAGES = {
    PhaseReason.LIVE: "journey is live and accepts entries",
    PhaseReason.CLOSE_REQUESTED: "journey closed to new entries",
    PhaseReason.SUPERSEDED: "journey closed to new entries: a newer version is live",
    PhaseReason.STOP_REQUESTED: "journey stopped",
    PhaseReason.END_REACHED: "journey stopped: spec.endAt reached",
    PhaseReason.DRAINED: "journey finished: every participant left",
    PhaseReason.DRAIN_TIMED_OUT: "journey finished: drain timeout ran out",
}


def _transitions(
    previous: JourneyPhase | None,
    decision: PhaseDecision,
    status: JourneyStatus,
    in_flight: int,
) -> list[Transition]:
    if previous == decision.phase:
        return []
    message = _PHASE_MESSAGES[decision.reason]
    who = status.stopped_by if decision.phase == JourneyPhase.STOPPED else status.closed_by
    if decision.reason == PhaseReason.SUPERSEDED:
        message = f"journey closed to new entries: newer version {status.superseded_by} is live"
    elif who and decision.phase in {JourneyPhase.CLOSED, JourneyPhase.STOPPED}:
        message += f" by {who}"
    if decision.phase == JourneyPhase.STOPPED and status.stop_reason:
        message += f" (reason: {status.stop_reason})"
    elif status.close_reason and previous in {None, JourneyPhase.LIVE}:
        # The transition that closes it, even straight to Finished (nobody was inside).
        message += f" (reason: {status.close_reason})"
    if decision.halt_in_flight and in_flight:
        message += f"; halting {plural(in_flight, 'participant')}"
    elif decision.phase == JourneyPhase.CLOSED:
        message += f"; {plural(in_flight, 'participant')} still inside"
    warning = (
        decision.phase == JourneyPhase.STOPPED or decision.reason == PhaseReason.DRAIN_TIMED_OUT
    )
    return [Transition(reason=decision.reason.value, message=message, warning=warning)]


def _conditions(
    journey: Journey,
    decision: PhaseDecision,
    facts: PhaseFacts,
    counts: ParticipantCounts,
    in_flight: int,
    now: datetime,
    stalled: str | None,
) -> list[Condition]:
    generation = journey.metadata.generation
    reason = decision.reason.value
    phase = decision.phase
    halting = in_flight if decision.halt_in_flight else 0
    summary = _PHASE_MESSAGES[decision.reason]
    deadline = drain_deadline(facts)
    drain_message = (
        f"{plural(in_flight, 'participant')} still inside; drain ends at {deadline.isoformat()}"
        if phase == JourneyPhase.CLOSED and deadline is not None
        else "journey is not draining"
    )
    halted = decision.halt_in_flight or phase == JourneyPhase.STOPPED
    return [
        condition(
            "Ready",
            stalled is None,
            "Stalled" if stalled else reason,
            stalled or summary,
            generation,
            now,
        ),
        condition("AcceptingEntries", decision.accepts_entries, reason, summary, generation, now),
        condition("Draining", phase == JourneyPhase.CLOSED, reason, drain_message, generation, now),
        condition(
            "Halted",
            halted and halting == 0,
            "Halting" if halting else reason,
            f"{plural(halting, 'participant')} left to halt" if halting else summary,
            generation,
            now,
        ),
        condition("Finished", phase == JourneyPhase.FINISHED, reason, summary, generation, now),
        condition(
            "Reconciling",
            halting > 0,
            "Halting" if halting else reason,
            f"halting {plural(halting, 'participant')}" if halting else "nothing in progress",
            generation,
            now,
        ),
        condition(
            "Stalled",
            stalled is not None,
            "Stalled" if stalled else reason,
            stalled or "no error",
            generation,
            now,
        ),
    ]
