"""When a journey's halt or drain is over, and how long it took: each timed exactly once.

A halt is timed from its start (the stop, or the drain timeout: the status's ``stoppedAt`` or
``finishedAt``, so a halt another replica began is timed from its real start) to the first
status this process computes in which nothing is left inside. It does not matter whether a
status *during* the halt was ever computed: a small halt can be over by the next reconcile.
It only counts when this process saw someone inside before (a stop of an empty journey halts
nobody), and a halt's start is timed once (a late entry rejected after the stop is no second
halt). Pure: the shell feeds every status it computes and records what comes back.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from journeys.api import JourneyPhase, JourneyStatus
from journeys.core.conditions import find_condition
from journeys.core.lifecycle import PhaseReason

Key = tuple[str, str]
_OPEN = (JourneyPhase.LIVE, JourneyPhase.CLOSED)


class Clock(StrEnum):
    HALT = "halt"  # label: the phase the halt ended in (Stopped, Finished)
    DRAIN = "drain"  # label: how the drain ended (Drained, DrainTimedOut)


@dataclass(frozen=True)
class Timing:
    clock: Clock
    label: str
    seconds: float


@dataclass(frozen=True)
class _Seen:
    phase: JourneyPhase | None
    inside: int  # status.participants.active: Pending or Active


@dataclass
class JourneyClocks:
    """What this process saw of each journey, to time its halt and its drain."""

    _seen: dict[Key, _Seen] = field(default_factory=dict)
    #: The start of the halt already timed, per journey (kept until the journey is deleted).
    _timed: dict[Key, datetime] = field(default_factory=dict)

    def observe(self, key: Key, status: JourneyStatus, now: datetime) -> list[Timing]:
        """The timings that ``status``, just computed for journey ``key``, completes."""
        previous = self._seen.get(key)
        timings = []
        drain = _drain(status)
        if drain is not None and previous is not None and previous.phase in _OPEN:
            timings.append(drain)
        started = _halt_start(status)
        if started is not None and status.participants.active == 0:
            if previous is not None and previous.inside > 0 and self._timed.get(key) != started:
                self._timed[key] = started
                phase = status.phase.value if status.phase else ""
                seconds = max((now - started).total_seconds(), 0.0)
                timings.append(Timing(Clock.HALT, phase, seconds))
            self._seen.pop(key, None)  # over: nothing more to time unless someone enters
        elif status.phase == JourneyPhase.FINISHED and status.participants.active == 0:
            self._seen.pop(key, None)
        else:
            self._seen[key] = _Seen(status.phase, status.participants.active)
        return timings

    def forget(self, key: Key) -> None:
        """The journey is gone."""
        self._seen.pop(key, None)
        self._timed.pop(key, None)


def _halt_start(status: JourneyStatus) -> datetime | None:
    """When the halt this status is part of began; None when the journey halts nobody."""
    if status.phase == JourneyPhase.STOPPED:
        return status.stopped_at
    if (
        status.phase == JourneyPhase.FINISHED
        and _finished_by(status) == PhaseReason.DRAIN_TIMED_OUT
    ):
        return status.finished_at
    return None


def _drain(status: JourneyStatus) -> Timing | None:
    """A finished drain: from the close to the finish, by how it ended."""
    if status.phase != JourneyPhase.FINISHED or status.closed_at is None:
        return None
    if status.finished_at is None:
        return None
    seconds = max((status.finished_at - status.closed_at).total_seconds(), 0.0)
    return Timing(Clock.DRAIN, _finished_by(status), seconds)


def _finished_by(status: JourneyStatus) -> str:
    found = find_condition(status.conditions, "Finished")
    return found.reason if found else ""
