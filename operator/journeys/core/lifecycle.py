"""The journey state machine: which spec transitions are legal and what the effective phase is.

Everything here is pure: the shell gathers facts from the cluster, these functions decide.
The effective phase may run ahead of ``spec.state`` (a newer version supersedes, ``endAt``
passes, the drain ends) without the operator ever rewriting the user's spec, and it only
moves forward: Live -> Closed -> Finished, and Live/Closed -> Stopped.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from journeys.api import DEFAULT_DRAIN_TIMEOUT, JourneyPhase, JourneyState, parse_duration

#: The order in which phases may be reached; a phase never moves to a lower rank.
_PHASE_RANK: dict[JourneyPhase, int] = {
    JourneyPhase.LIVE: 0,
    JourneyPhase.CLOSED: 1,
    JourneyPhase.FINISHED: 2,
    JourneyPhase.STOPPED: 2,
}
TERMINAL_PHASES = frozenset({JourneyPhase.FINISHED, JourneyPhase.STOPPED})
_DEFAULT_DRAIN = parse_duration(DEFAULT_DRAIN_TIMEOUT)


class PhaseReason(StrEnum):
    """Why a journey is in its phase; used as the reason of conditions and Events."""

    LIVE = "Live"
    CLOSE_REQUESTED = "CloseRequested"
    SUPERSEDED = "Superseded"
    STOP_REQUESTED = "StopRequested"
    END_REACHED = "EndReached"
    DRAINED = "Drained"
    DRAIN_TIMED_OUT = "DrainTimedOut"


def phase_can_follow(previous: JourneyPhase | None, candidate: JourneyPhase) -> bool:
    """Whether ``candidate`` is reachable from ``previous`` without moving backwards."""
    if previous is None or previous == candidate:
        return True
    if previous in TERMINAL_PHASES:
        return False
    return _PHASE_RANK[candidate] > _PHASE_RANK[previous]


@dataclass(frozen=True)
class PhaseFacts:
    """What the shell knows about a journey when deciding its effective phase.

    ``in_flight`` counts participants that are Pending or Active: a closed journey is
    finished only when none of them is left (pending ones are about to be rejected).
    ``closed_at`` is when the journey was first seen closed (the drain clock's start).
    """

    state: JourneyState
    previous: JourneyPhase | None
    now: datetime
    end_at: datetime | None = None
    superseded_by: str | None = None
    closed_at: datetime | None = None
    drain_timeout: timedelta = _DEFAULT_DRAIN
    in_flight: int = 0


@dataclass(frozen=True)
class PhaseDecision:
    """The effective phase and why; ``halt_in_flight`` asks the shell to halt who is left."""

    phase: JourneyPhase
    reason: PhaseReason
    halt_in_flight: bool = False

    @property
    def accepts_entries(self) -> bool:
        return self.phase == JourneyPhase.LIVE


def drain_deadline(facts: PhaseFacts) -> datetime | None:
    """When a closed journey stops waiting for its participants."""
    return None if facts.closed_at is None else facts.closed_at + facts.drain_timeout


def decide_phase(facts: PhaseFacts, previous_reason: PhaseReason | None = None) -> PhaseDecision:
    """The effective phase of a journey. Terminal phases are kept as they are."""
    if facts.previous in TERMINAL_PHASES:
        assert facts.previous is not None
        reason = previous_reason or _default_terminal_reason(facts.previous)
        return PhaseDecision(facts.previous, reason, halt_in_flight=facts.in_flight > 0)
    if facts.state == JourneyState.STOPPED:
        return PhaseDecision(JourneyPhase.STOPPED, PhaseReason.STOP_REQUESTED, halt_in_flight=True)
    if facts.end_at is not None and facts.now >= facts.end_at:
        return PhaseDecision(JourneyPhase.STOPPED, PhaseReason.END_REACHED, halt_in_flight=True)
    closing_reason = _closing_reason(facts, previous_reason)
    if closing_reason is None:
        return PhaseDecision(JourneyPhase.LIVE, PhaseReason.LIVE)
    if facts.in_flight == 0:
        return PhaseDecision(JourneyPhase.FINISHED, PhaseReason.DRAINED)
    deadline = drain_deadline(facts)
    if deadline is not None and facts.now >= deadline:
        return PhaseDecision(
            JourneyPhase.FINISHED, PhaseReason.DRAIN_TIMED_OUT, halt_in_flight=True
        )
    return PhaseDecision(JourneyPhase.CLOSED, closing_reason)


def _closing_reason(facts: PhaseFacts, previous_reason: PhaseReason | None) -> PhaseReason | None:
    if facts.previous == JourneyPhase.CLOSED:
        return previous_reason or PhaseReason.CLOSE_REQUESTED
    if facts.state == JourneyState.CLOSED:
        return PhaseReason.CLOSE_REQUESTED
    if facts.superseded_by:
        return PhaseReason.SUPERSEDED
    return None


def _default_terminal_reason(phase: JourneyPhase) -> PhaseReason:
    return PhaseReason.STOP_REQUESTED if phase == JourneyPhase.STOPPED else PhaseReason.DRAINED


def next_deadline(facts: PhaseFacts, decision: PhaseDecision) -> datetime | None:
    """The next moment at which the phase may change by time alone (``endAt`` or drain end)."""
    if decision.phase in TERMINAL_PHASES:
        return None
    candidates = [facts.end_at]
    if decision.phase == JourneyPhase.CLOSED:
        candidates.append(drain_deadline(facts))
    return min((t for t in candidates if t is not None and t > facts.now), default=None)
