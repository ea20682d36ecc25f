"""The journey state machine: every transition pair and every phase, without a cluster."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from journeys.api import (
    JourneyPhase,
    JourneyState,
    is_legal_state_transition,
    state_transition_refusal,
)
from journeys.core.lifecycle import (
    PhaseFacts,
    PhaseReason,
    decide_phase,
    next_deadline,
    phase_can_follow,
)

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
LIVE, CLOSED, STOPPED = JourneyState.LIVE, JourneyState.CLOSED, JourneyState.STOPPED

LEGAL = {
    (LIVE, LIVE),
    (LIVE, CLOSED),
    (LIVE, STOPPED),
    (CLOSED, CLOSED),
    (CLOSED, STOPPED),
    (STOPPED, STOPPED),
}


@pytest.mark.parametrize(("old", "new"), list(itertools.product(JourneyState, repeat=2)))
def test_every_state_pair(old: JourneyState, new: JourneyState) -> None:
    assert is_legal_state_transition(old, new) == ((old, new) in LEGAL)
    refusal = state_transition_refusal(old, new)
    if (old, new) in LEGAL:
        assert refusal is None
    else:
        assert refusal is not None
        if new == LIVE:
            assert "cannot be resumed" in refusal
            assert "new version" in refusal


@pytest.mark.parametrize(
    ("previous", "candidate", "allowed"),
    [
        (None, JourneyPhase.LIVE, True),
        (None, JourneyPhase.STOPPED, True),
        (JourneyPhase.LIVE, JourneyPhase.CLOSED, True),
        (JourneyPhase.LIVE, JourneyPhase.STOPPED, True),
        (JourneyPhase.LIVE, JourneyPhase.FINISHED, True),
        (JourneyPhase.CLOSED, JourneyPhase.FINISHED, True),
        (JourneyPhase.CLOSED, JourneyPhase.STOPPED, True),
        (JourneyPhase.CLOSED, JourneyPhase.LIVE, False),
        (JourneyPhase.STOPPED, JourneyPhase.LIVE, False),
        (JourneyPhase.STOPPED, JourneyPhase.CLOSED, False),
        (JourneyPhase.STOPPED, JourneyPhase.FINISHED, False),
        (JourneyPhase.FINISHED, JourneyPhase.LIVE, False),
        (JourneyPhase.FINISHED, JourneyPhase.STOPPED, False),
        (JourneyPhase.FINISHED, JourneyPhase.CLOSED, False),
    ],
)
def test_phases_only_move_forward(
    previous: JourneyPhase | None, candidate: JourneyPhase, allowed: bool
) -> None:
    assert phase_can_follow(previous, candidate) is allowed


def facts(**overrides: object) -> PhaseFacts:
    base: dict[str, object] = {"state": LIVE, "previous": JourneyPhase.LIVE, "now": NOW}
    base.update(overrides)
    return PhaseFacts(**base)  # type: ignore[arg-type]


def test_live_stays_live() -> None:
    decision = decide_phase(facts(in_flight=3))
    assert (decision.phase, decision.reason) == (JourneyPhase.LIVE, PhaseReason.LIVE)
    assert decision.accepts_entries
    assert not decision.halt_in_flight


def test_close_with_participants_inside_drains() -> None:
    decision = decide_phase(facts(state=CLOSED, in_flight=2, closed_at=NOW))
    assert (decision.phase, decision.reason) == (JourneyPhase.CLOSED, PhaseReason.CLOSE_REQUESTED)
    assert not decision.accepts_entries
    assert not decision.halt_in_flight


def test_close_with_nobody_inside_finishes() -> None:
    decision = decide_phase(facts(state=CLOSED, in_flight=0))
    assert (decision.phase, decision.reason) == (JourneyPhase.FINISHED, PhaseReason.DRAINED)


def test_drain_timeout_finishes_and_halts_who_is_left() -> None:
    decision = decide_phase(
        facts(
            state=CLOSED,
            previous=JourneyPhase.CLOSED,
            in_flight=4,
            closed_at=NOW - timedelta(hours=2),
            drain_timeout=timedelta(hours=1),
        )
    )
    assert (decision.phase, decision.reason) == (
        JourneyPhase.FINISHED,
        PhaseReason.DRAIN_TIMED_OUT,
    )
    assert decision.halt_in_flight


def test_stop_halts() -> None:
    decision = decide_phase(facts(state=STOPPED, in_flight=5))
    assert (decision.phase, decision.reason) == (JourneyPhase.STOPPED, PhaseReason.STOP_REQUESTED)
    assert decision.halt_in_flight


def test_end_at_stops_without_touching_spec() -> None:
    decision = decide_phase(facts(end_at=NOW - timedelta(seconds=1), in_flight=1))
    assert (decision.phase, decision.reason) == (JourneyPhase.STOPPED, PhaseReason.END_REACHED)


def test_end_at_in_future_is_next_deadline() -> None:
    end = NOW + timedelta(minutes=5)
    f = facts(end_at=end)
    assert next_deadline(f, decide_phase(f)) == end


def test_drain_deadline_is_next_deadline_when_closed() -> None:
    f = facts(state=CLOSED, in_flight=1, closed_at=NOW, drain_timeout=timedelta(hours=1))
    assert next_deadline(f, decide_phase(f)) == NOW + timedelta(hours=1)


def test_superseded_closes_even_though_spec_says_live() -> None:
    decision = decide_phase(facts(superseded_by="welcome-v2", in_flight=1))
    assert (decision.phase, decision.reason) == (JourneyPhase.CLOSED, PhaseReason.SUPERSEDED)


def test_closed_never_reopens_even_if_supersession_disappears() -> None:
    # The newer version was stopped: the older one stays closed (no resume).
    decision = decide_phase(
        facts(previous=JourneyPhase.CLOSED, in_flight=1), PhaseReason.SUPERSEDED
    )
    assert decision.phase == JourneyPhase.CLOSED
    assert decision.reason == PhaseReason.SUPERSEDED


@pytest.mark.parametrize("terminal", [JourneyPhase.FINISHED, JourneyPhase.STOPPED])
@pytest.mark.parametrize("state", list(JourneyState))
def test_terminal_phases_are_kept(terminal: JourneyPhase, state: JourneyState) -> None:
    decision = decide_phase(facts(state=state, previous=terminal, in_flight=0))
    assert decision.phase == terminal
    assert next_deadline(facts(state=state, previous=terminal), decision) is None


@given(
    state=st.sampled_from(list(JourneyState)),
    previous=st.one_of(st.none(), st.sampled_from(list(JourneyPhase))),
    in_flight=st.integers(min_value=0, max_value=10_000),
    superseded=st.booleans(),
    end_offset=st.one_of(st.none(), st.integers(min_value=-(10**6), max_value=10**6)),
    closed_offset=st.one_of(st.none(), st.integers(min_value=-(10**7), max_value=0)),
    timeout=st.integers(min_value=0, max_value=10**7),
)
def test_decided_phase_never_moves_backwards(
    state: JourneyState,
    previous: JourneyPhase | None,
    in_flight: int,
    superseded: bool,
    end_offset: int | None,
    closed_offset: int | None,
    timeout: int,
) -> None:
    f = facts(
        state=state,
        previous=previous,
        in_flight=in_flight,
        superseded_by="newer" if superseded else None,
        end_at=None if end_offset is None else NOW + timedelta(seconds=end_offset),
        closed_at=None if closed_offset is None else NOW + timedelta(seconds=closed_offset),
        drain_timeout=timedelta(seconds=timeout),
    )
    decision = decide_phase(f)
    assert phase_can_follow(previous, decision.phase)
    # Entries are accepted only while live, and never once the spec left live.
    assert decision.accepts_entries == (decision.phase == JourneyPhase.LIVE)
    if state != LIVE:
        assert decision.phase != JourneyPhase.LIVE
    # Deciding again from the decided phase is stable (idempotent reconcile).
    again = decide_phase(PhaseFacts(**{**f.__dict__, "previous": decision.phase}), decision.reason)
    assert again.phase == decision.phase
