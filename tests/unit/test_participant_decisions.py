"""What happens to each participant, for every participant phase, journey phase and Job state."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

import pytest

from journeys.api import JourneyPhase, ParticipantPhase
from journeys.core.participants import (
    EXIT_PHASES,
    FINAL_PARTICIPANT_PHASES,
    ActionKind,
    JobFacts,
    JobOutcome,
    JourneyFacts,
    ParticipantReason,
    decide_participant,
    job_name_taken,
    job_refused,
    participant_status,
)

SINCE = datetime(2026, 11, 1, tzinfo=UTC)
JOB_STATES: list[JobFacts | None] = [None, *(JobFacts(outcome=o) for o in JobOutcome)]


def journey(phase: JourneyPhase = JourneyPhase.LIVE, **kw: object) -> JourneyFacts:
    halting = phase == JourneyPhase.STOPPED
    return JourneyFacts(name="welcome-v1", phase=phase, since=SINCE, halting=halting, **kw)  # type: ignore[arg-type]


JOURNEYS: list[JourneyFacts | None] = [
    None,
    *(journey(p) for p in JourneyPhase),
    JourneyFacts(name="welcome-v1", phase=JourneyPhase.FINISHED, halting=True),  # drain timeout
]


@pytest.mark.parametrize(
    ("phase", "facts", "job"), list(itertools.product(ParticipantPhase, JOURNEYS, JOB_STATES))
)
def test_every_combination_has_a_safe_answer(
    phase: ParticipantPhase, facts: JourneyFacts | None, job: JobFacts | None
) -> None:
    action = decide_participant(phase, facts, job)
    if phase in FINAL_PARTICIPANT_PHASES:
        assert action.kind == ActionKind.NOTHING  # final phases are never left
        return
    # A Job is created only for a participant without one, of a live journey that is not halting.
    if action.kind == ActionKind.ADMIT:
        assert job is None
        assert phase == ParticipantPhase.PENDING
        assert facts is not None and facts.phase == JourneyPhase.LIVE and not facts.halting
    # A finished Job's outcome always becomes the participant's phase.
    if job is not None and job.outcome != JobOutcome.RUNNING:
        assert action.kind == ActionKind.RECORD_OUTCOME
        expected = (
            ParticipantPhase.COMPLETED
            if job.outcome == JobOutcome.SUCCEEDED
            else ParticipantPhase.FAILED
        )
        assert action.phase == expected
    # A halting journey leaves no running Job behind.
    if facts is not None and facts.halting and (job is None or job.outcome == JobOutcome.RUNNING):
        if phase == ParticipantPhase.ACTIVE or job is not None:
            assert action.kind == ActionKind.HALT
            assert action.phase == ParticipantPhase.HALTED
        else:
            assert action.kind == ActionKind.REJECT
    # Pending participants of a journey that is not live are rejected, never admitted.
    pending = phase == ParticipantPhase.PENDING and job is None
    if pending and facts is not None and facts.phase != JourneyPhase.LIVE:
        assert action.kind == ActionKind.REJECT
        assert action.phase == ParticipantPhase.REJECTED


@pytest.mark.parametrize(
    ("phase", "reason"),
    [
        (JourneyPhase.CLOSED, ParticipantReason.JOURNEY_CLOSED),
        (JourneyPhase.STOPPED, ParticipantReason.JOURNEY_STOPPED),
        (JourneyPhase.FINISHED, ParticipantReason.JOURNEY_FINISHED),
    ],
)
def test_rejection_reason_names_the_journey_state(
    phase: JourneyPhase, reason: ParticipantReason
) -> None:
    action = decide_participant(ParticipantPhase.PENDING, journey(phase), None)
    assert action.kind == ActionKind.REJECT
    assert action.reason == reason
    assert "welcome-v1" in action.message
    assert SINCE.isoformat() in action.message


def test_admitted_into_live_journey() -> None:
    action = decide_participant(ParticipantPhase.PENDING, journey(), None)
    assert (action.kind, action.phase) == (ActionKind.ADMIT, ParticipantPhase.ACTIVE)


def test_capacity() -> None:
    full = journey(max_participants=2, inside=2)
    action = decide_participant(ParticipantPhase.PENDING, full, None)
    assert action.reason == ParticipantReason.CAPACITY_REACHED
    assert "2 of 2" in action.message
    room = journey(max_participants=3, inside=2)
    assert decide_participant(ParticipantPhase.PENDING, room, None).kind == ActionKind.ADMIT


def test_profile_active_in_another_version() -> None:
    action = decide_participant(
        ParticipantPhase.PENDING, journey(active_elsewhere="welcome-v2"), None
    )
    assert action.reason == ParticipantReason.ALREADY_ACTIVE
    assert "welcome-v2" in action.message


def test_already_active_names_the_participant_and_whether_it_is_this_journey() -> None:
    other = decide_participant(
        ParticipantPhase.PENDING,
        journey(active_elsewhere="welcome-v2", active_participant="welcome-v2-alice"),
        None,
    )
    assert "journey welcome-v2 as participant welcome-v2-alice, another version" in other.message
    same = decide_participant(
        ParticipantPhase.PENDING,
        journey(active_elsewhere="welcome-v1", active_participant="welcome-alice"),
        None,
    )
    assert same.reason == ParticipantReason.ALREADY_ACTIVE
    assert "already active in this journey, welcome-v1 as participant welcome-alice" in (
        same.message
    )
    assert "version" not in same.message


def test_missing_journey_waits_instead_of_rejecting() -> None:
    action = decide_participant(ParticipantPhase.PENDING, None, None)
    assert action.kind == ActionKind.WAIT
    assert action.reason == ParticipantReason.JOURNEY_NOT_FOUND


def test_job_created_before_a_restart_is_adopted_not_duplicated() -> None:
    for facts in (journey(), journey(JourneyPhase.CLOSED)):
        action = decide_participant(ParticipantPhase.PENDING, facts, JobFacts())
        assert action.kind == ActionKind.MARK_ACTIVE


def test_closing_lets_active_participants_finish() -> None:
    action = decide_participant(ParticipantPhase.ACTIVE, journey(JourneyPhase.CLOSED), JobFacts())
    assert action.kind == ActionKind.NOTHING


def test_active_participant_whose_job_vanished_fails() -> None:
    action = decide_participant(ParticipantPhase.ACTIVE, journey(), None)
    assert (action.kind, action.reason) == (
        ActionKind.RECORD_OUTCOME,
        ParticipantReason.JOB_DELETED,
    )


def test_halting_a_deleted_job_is_idempotent() -> None:
    # Delete policy: after the Job is gone a retry still marks the participant Halted.
    action = decide_participant(ParticipantPhase.ACTIVE, journey(JourneyPhase.STOPPED), None)
    assert (action.kind, action.phase) == (ActionKind.HALT, ParticipantPhase.HALTED)


NOW = datetime(2026, 11, 27, 12, 0, 30, tzinfo=UTC)
STAMP = "2026-11-27T12:00:30Z"


def test_entering_sets_entered_at_and_the_job_and_leaving_sets_exited_at() -> None:
    admit = decide_participant(ParticipantPhase.PENDING, journey(), None)
    assert admit.kind == ActionKind.ADMIT
    assert participant_status(admit, "alice", NOW) == {
        "phase": "Active",
        "reason": "Admitted",
        "message": "entered journey welcome-v1",
        "enteredAt": STAMP,
        "job": "alice",
    }
    # Found with its Job after a restart: it entered too.
    found = decide_participant(ParticipantPhase.PENDING, journey(), JobFacts())
    assert found.kind == ActionKind.MARK_ACTIVE
    assert participant_status(found, "alice", NOW)["enteredAt"] == STAMP
    for outcome, phase in ((JobOutcome.SUCCEEDED, "Completed"), (JobOutcome.FAILED, "Failed")):
        done = decide_participant(ParticipantPhase.ACTIVE, journey(), JobFacts(outcome=outcome))
        status = participant_status(done, "alice", NOW)
        assert (status["phase"], status["exitedAt"], "enteredAt" in status) == (phase, STAMP, False)
    halted = decide_participant(ParticipantPhase.ACTIVE, journey(JourneyPhase.STOPPED), JobFacts())
    assert participant_status(halted, "alice", NOW)["exitedAt"] == STAMP
    # A rejected participant never entered, so it never exits either.
    rejected = decide_participant(ParticipantPhase.PENDING, journey(JourneyPhase.CLOSED), None)
    assert rejected.kind == ActionKind.REJECT
    assert set(participant_status(rejected, "alice", NOW)) == {"phase", "reason", "message"}
    assert FINAL_PARTICIPANT_PHASES - {ParticipantPhase.REJECTED} == EXIT_PHASES


def test_a_refused_job_fails_the_participant_and_says_why() -> None:
    taken = job_name_taken("alice")
    assert (taken.kind, taken.phase, taken.reason) == (
        ActionKind.RECORD_OUTCOME,
        ParticipantPhase.FAILED,
        ParticipantReason.JOB_REFUSED,
    )
    assert "a Job named alice already exists" in taken.message
    assert participant_status(job_refused("bad template"), "alice", NOW)["exitedAt"] == STAMP
