"""The journey's status, conditions and Events as decided from what the operator observed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from journeys.api import Journey, JourneyPhase, ParticipantPhase
from journeys.core.journey_plan import plan_journey, unreadable_status

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
A, P, C, F, H, R = (
    ParticipantPhase.ACTIVE,
    ParticipantPhase.PENDING,
    ParticipantPhase.COMPLETED,
    ParticipantPhase.FAILED,
    ParticipantPhase.HALTED,
    ParticipantPhase.REJECTED,
)


def journey(state: str = "live", status: dict[str, Any] | None = None, **spec: Any) -> Journey:
    return Journey.model_validate(
        {
            "metadata": {
                "name": "welcome-v1",
                "namespace": "team",
                "generation": 4,
                "annotations": spec.pop("annotations", {}),
            },
            "spec": {"version": 1, "state": state, "template": {"spec": {}}, **spec},
            "status": status or {},
        }
    )


def conditions(plan: Any) -> dict[str, tuple[str, str]]:
    return {c.type: (c.status, c.reason) for c in plan.status.conditions}


def test_live_journey_counts_and_conditions() -> None:
    plan = plan_journey(journey(), [A, A, P, C, F, H, R], NOW)
    counts = plan.status.participants
    assert (counts.active, counts.completed, counts.failed, counts.halted, counts.rejected) == (
        3,
        1,
        1,
        1,
        1,
    )
    assert plan.status.phase == JourneyPhase.LIVE
    assert plan.status.observed_generation == 4
    found = conditions(plan)
    assert found["Ready"] == ("True", "Live")
    assert found["AcceptingEntries"] == ("True", "Live")
    assert found["Draining"][0] == "False"
    assert found["Reconciling"][0] == "False"
    assert found["Stalled"][0] == "False"
    assert plan.transitions and plan.transitions[0].reason == "Live"
    assert all(c.observed_generation == 4 for c in plan.status.conditions)


def test_close_records_who_and_when_from_the_audit_annotations() -> None:
    plan = plan_journey(
        journey(
            "closed",
            status={"phase": "Live"},
            annotations={
                "journeys.dev/closed-by": "alice",
                "journeys.dev/closed-at": "2026-11-27T11:00:00Z",
            },
        ),
        [A],
        NOW,
    )
    assert plan.status.phase == JourneyPhase.CLOSED
    assert plan.status.closed_by == "alice"
    assert plan.status.closed_at == datetime(2026, 11, 27, 11, 0, tzinfo=UTC)
    assert conditions(plan)["Draining"] == ("True", "CloseRequested")
    assert "by alice" in plan.transitions[0].message
    # The drain clock started at the close, not at this reconcile.
    assert plan.requeue_at == datetime(2026, 11, 27, 11, 0, tzinfo=UTC) + timedelta(days=91)


def test_close_records_why_in_status_and_event() -> None:
    plan = plan_journey(
        journey("closed", closeReason="spring campaign over", status={"phase": "Live"}), [A], NOW
    )
    assert plan.status.phase == JourneyPhase.CLOSED
    assert plan.status.close_reason == "spring campaign over"
    assert "(reason: spring campaign over)" in plan.transitions[0].message
    empty = plan_journey(
        journey("closed", closeReason="spring campaign over", status={"phase": "Live"}), [], NOW
    )
    assert empty.status.phase == JourneyPhase.FINISHED
    assert "(reason: spring campaign over)" in empty.transitions[0].message
    silent = plan_journey(journey("closed", status={"phase": "Live"}), [A], NOW)
    assert silent.status.close_reason is None
    assert "reason" not in silent.transitions[0].message


def test_stop_halts_and_reports_progress() -> None:
    plan = plan_journey(
        journey("stopped", stopReason="wrong audience", status={"phase": "Live"}), [A, A, P], NOW
    )
    assert plan.status.phase == JourneyPhase.STOPPED
    assert plan.facts.halting
    assert plan.status.stop_reason == "wrong audience"
    found = conditions(plan)
    assert found["Halted"] == ("False", "Halting")
    assert found["Reconciling"] == ("True", "Halting")
    assert plan.transitions[0].warning
    done = plan_journey(
        journey("stopped", status=plan.status.model_dump(by_alias=True, mode="json")),
        [H, H, R],
        NOW,
    )
    assert conditions(done)["Halted"] == ("True", "StopRequested")
    assert conditions(done)["Reconciling"][0] == "False"
    assert done.transitions == []  # no new Event when the phase did not change
    # lastTransitionTime of a condition that held is kept.
    ready_before = next(c for c in plan.status.conditions if c.type == "Ready")
    ready_after = next(c for c in done.status.conditions if c.type == "Ready")
    assert ready_before.last_transition_time == ready_after.last_transition_time


def test_superseded_version_closes_without_touching_spec() -> None:
    plan = plan_journey(journey(status={"phase": "Live"}), [A], NOW, superseded_by="welcome-v2")
    assert plan.status.phase == JourneyPhase.CLOSED
    assert plan.status.superseded_by == "welcome-v2"
    assert conditions(plan)["AcceptingEntries"] == ("False", "Superseded")
    assert "welcome-v2" in (plan.status.closed_by or "")


def test_finished_when_the_last_participant_leaves() -> None:
    closed = plan_journey(journey("closed", status={"phase": "Live"}), [A], NOW)
    status = closed.status.model_dump(by_alias=True, mode="json")
    finished = plan_journey(journey("closed", status=status), [C], NOW + timedelta(minutes=1))
    assert finished.status.phase == JourneyPhase.FINISHED
    assert finished.status.finished_at == NOW + timedelta(minutes=1)
    assert conditions(finished)["Finished"] == ("True", "Drained")
    assert finished.requeue_at is None


def test_stalled_is_reported_and_not_ready() -> None:
    plan = plan_journey(journey(), [], NOW, stalled="template refused: spec.template invalid")
    assert conditions(plan)["Ready"] == ("False", "Stalled")
    assert conditions(plan)["Stalled"] == ("True", "Stalled")


def test_an_unreadable_spec_changes_only_ready_and_stalled() -> None:
    live = plan_journey(journey(), [A], NOW).status.model_dump(by_alias=True, mode="json")
    later = NOW + timedelta(minutes=1)
    status, message = unreadable_status(live, 4, ValueError("bad drain"), later)
    assert message == "the journey cannot be reconciled: bad drain"
    assert set(status) == {"observedGeneration", "conditions"}
    assert status["observedGeneration"] == 4
    by_type = {c["type"]: c for c in status["conditions"]}
    assert (by_type["Ready"]["status"], by_type["Ready"]["reason"]) == ("False", "Stalled")
    assert (by_type["Stalled"]["status"], by_type["Stalled"]["reason"]) == ("True", "InvalidSpec")
    assert by_type["Stalled"]["message"] == message
    # The other conditions are kept as they were, transition times included.
    before = {c["type"]: c for c in live["conditions"]}
    assert by_type["AcceptingEntries"] == before["AcceptingEntries"]
    # Said once: the same error later gives the same status (nothing to write again).
    assert unreadable_status({**live, **status}, 4, ValueError("bad drain"), later)[0] == status
