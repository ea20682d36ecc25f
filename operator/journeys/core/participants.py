"""What to do with each participant, given its journey and its Job.

One decision function serves entry (admit or reject), the journey's end (halt or reject) and
the Job's outcome (Completed or Failed), so the rules cannot disagree between code paths.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from journeys.api import JourneyPhase, ParticipantPhase, format_timestamp

#: Phases a participant never leaves.
FINAL_PARTICIPANT_PHASES = frozenset(
    {
        ParticipantPhase.COMPLETED,
        ParticipantPhase.FAILED,
        ParticipantPhase.HALTED,
        ParticipantPhase.REJECTED,
    }
)
#: Phases that keep a closed journey from finishing.
IN_FLIGHT_PHASES = frozenset({ParticipantPhase.PENDING, ParticipantPhase.ACTIVE})
#: Phases in which a participant has left its journey (``exitedAt``); Rejected never entered.
EXIT_PHASES = frozenset(
    {ParticipantPhase.COMPLETED, ParticipantPhase.FAILED, ParticipantPhase.HALTED}
)


class ParticipantReason(StrEnum):
    """Machine-readable ``status.reason`` values of a participant."""

    ADMITTED = "Admitted"
    JOURNEY_NOT_FOUND = "JourneyNotFound"
    JOURNEY_CLOSED = "JourneyClosed"
    JOURNEY_STOPPED = "JourneyStopped"
    JOURNEY_FINISHED = "JourneyFinished"
    CAPACITY_REACHED = "CapacityReached"
    ALREADY_ACTIVE = "AlreadyActive"
    JOB_SUCCEEDED = "JobSucceeded"
    JOB_FAILED = "JobFailed"
    JOB_DELETED = "JobDeleted"
    JOB_REFUSED = "JobRefused"
    HALTED = "JourneyHalted"


class ActionKind(StrEnum):
    NOTHING = "Nothing"
    WAIT = "Wait"  # the journey is not known yet: keep Pending, look again when it appears
    ADMIT = "Admit"  # create the Job, then mark Active
    MARK_ACTIVE = "MarkActive"  # the Job exists already (created before a restart): mark Active
    REJECT = "Reject"
    HALT = "Halt"  # halt the Job per halt.policy, then mark Halted
    RECORD_OUTCOME = "RecordOutcome"


#: Actions whose status write is the participant entering (``enteredAt``, ``job``): admitted
#: now, or found with its Job after a restart.
ENTRY_ACTIONS = frozenset({ActionKind.ADMIT, ActionKind.MARK_ACTIVE})


class JobOutcome(StrEnum):
    RUNNING = "Running"
    SUCCEEDED = "Succeeded"
    FAILED = "Failed"


@dataclass(frozen=True)
class JobFacts:
    """What the shell saw of a participant's Job."""

    outcome: JobOutcome = JobOutcome.RUNNING
    suspended: bool = False


@dataclass(frozen=True)
class JourneyFacts:
    """What a participant's decision needs to know about its journey."""

    name: str
    phase: JourneyPhase
    since: datetime | None = None
    halting: bool = False  # the journey halts who is left (Stop, endAt, drain timeout)
    max_participants: int | None = None
    inside: int = 0  # participants inside now (Active or being admitted), without this one
    active_elsewhere: str | None = None  # the journey of the family where this profile is active
    active_participant: str | None = None  # the participant through which it is active there


@dataclass(frozen=True)
class ParticipantAction:
    kind: ActionKind
    phase: ParticipantPhase | None = None
    reason: ParticipantReason | None = None
    message: str = ""


NOTHING = ParticipantAction(ActionKind.NOTHING)


def decide_participant(
    phase: ParticipantPhase,
    journey: JourneyFacts | None,
    job: JobFacts | None,
) -> ParticipantAction:
    """The one thing to do next for a participant; applying it and deciding again converges."""
    if phase in FINAL_PARTICIPANT_PHASES:
        return NOTHING
    if job is not None:
        return _decide_with_job(phase, journey, job)
    if phase == ParticipantPhase.ACTIVE:
        if journey is not None and journey.halting:
            return _halted(journey)
        # An Active participant whose Job vanished without us halting it: someone deleted it.
        return ParticipantAction(
            ActionKind.RECORD_OUTCOME,
            ParticipantPhase.FAILED,
            ParticipantReason.JOB_DELETED,
            "the participant's Job was deleted before it finished",
        )
    if journey is None:
        return ParticipantAction(
            ActionKind.WAIT,
            ParticipantPhase.PENDING,
            ParticipantReason.JOURNEY_NOT_FOUND,
            "waiting for the journey to exist in this namespace",
        )
    return entry_refusal(journey) or ParticipantAction(
        ActionKind.ADMIT,
        ParticipantPhase.ACTIVE,
        ParticipantReason.ADMITTED,
        f"entered journey {journey.name}",
    )


def _decide_with_job(
    phase: ParticipantPhase, journey: JourneyFacts | None, job: JobFacts
) -> ParticipantAction:
    if job.outcome == JobOutcome.SUCCEEDED:
        return ParticipantAction(
            ActionKind.RECORD_OUTCOME,
            ParticipantPhase.COMPLETED,
            ParticipantReason.JOB_SUCCEEDED,
            "the journey's workload finished successfully",
        )
    if job.outcome == JobOutcome.FAILED:
        return ParticipantAction(
            ActionKind.RECORD_OUTCOME,
            ParticipantPhase.FAILED,
            ParticipantReason.JOB_FAILED,
            "the journey's workload failed",
        )
    if journey is not None and journey.halting:
        return _halted(journey)
    if phase == ParticipantPhase.PENDING:
        # The Job was created before a restart; the participant got in before any close.
        return ParticipantAction(
            ActionKind.MARK_ACTIVE,
            ParticipantPhase.ACTIVE,
            ParticipantReason.ADMITTED,
            f"entered journey {journey.name if journey else ''}".strip(),
        )
    return NOTHING


def _halted(journey: JourneyFacts) -> ParticipantAction:
    return ParticipantAction(
        ActionKind.HALT,
        ParticipantPhase.HALTED,
        ParticipantReason.HALTED,
        f"halted: journey {journey.name} is {journey.phase.value.lower()}{_since(journey)}",
    )


def entry_refusal(journey: JourneyFacts) -> ParticipantAction | None:
    """Why a new participant may not enter ``journey`` now, or None when it may."""
    if journey.phase != JourneyPhase.LIVE or journey.halting:
        reason = {
            JourneyPhase.CLOSED: ParticipantReason.JOURNEY_CLOSED,
            JourneyPhase.FINISHED: ParticipantReason.JOURNEY_FINISHED,
        }.get(journey.phase, ParticipantReason.JOURNEY_STOPPED)
        return _rejected(
            reason,
            f"journey {journey.name} is {journey.phase.value.lower()}{_since(journey)} and "
            "accepts no new entries",
        )
    if journey.max_participants is not None and journey.inside >= journey.max_participants:
        return _rejected(
            ParticipantReason.CAPACITY_REACHED,
            f"journey {journey.name} is full: {journey.inside} of {journey.max_participants} "
            "places taken (spec.entry.maxParticipants); a place frees up when someone leaves",
        )
    if journey.active_elsewhere is not None:
        holder = (
            f" as participant {journey.active_participant}" if journey.active_participant else ""
        )
        if journey.active_elsewhere == journey.name:
            return _rejected(
                ParticipantReason.ALREADY_ACTIVE,
                f"the profile is already active in this journey, {journey.name}{holder}; it may "
                "enter again once that participant has left",
            )
        return _rejected(
            ParticipantReason.ALREADY_ACTIVE,
            f"the profile is already active in journey {journey.active_elsewhere}{holder}, another "
            "version of the same family; a profile may be active in only one version at a time",
        )
    return None


def _rejected(reason: ParticipantReason, message: str) -> ParticipantAction:
    return ParticipantAction(ActionKind.REJECT, ParticipantPhase.REJECTED, reason, message)


def _since(journey: JourneyFacts) -> str:
    return f" since {journey.since.isoformat()}" if journey.since else ""


def job_refused(message: str) -> ParticipantAction:
    """The API server refused to create the participant's Job: it fails without a workload."""
    return ParticipantAction(
        ActionKind.RECORD_OUTCOME, ParticipantPhase.FAILED, ParticipantReason.JOB_REFUSED, message
    )


def job_name_taken(name: str) -> ParticipantAction:
    """A Job of the participant's name exists and is not the participant's."""
    return job_refused(
        f"a Job named {name} already exists and does not belong to this participant: "
        "delete that Job or enter under another participant name"
    )


def participant_status(action: ParticipantAction, name: str, now: datetime) -> dict[str, Any]:
    """The status patch that applies ``action`` to participant ``name`` at ``now``.

    ``enteredAt`` and ``job`` are set when the participant enters (its Job is named after it);
    ``exitedAt`` when it leaves (:data:`EXIT_PHASES`).
    """
    assert action.phase is not None, "only actions that set a phase are written"
    moment = format_timestamp(now)
    status: dict[str, Any] = {
        "phase": action.phase.value,
        "reason": action.reason.value if action.reason else "",
        "message": action.message,
    }
    if action.kind in ENTRY_ACTIONS:
        status["enteredAt"] = moment
        status["job"] = name
    if action.phase in EXIT_PHASES:
        status["exitedAt"] = moment
    return status
