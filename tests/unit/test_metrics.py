"""Metrics: how halts and drains are timed from the statuses the operator computes (no cluster).

The rule (``core.clocks``) decides when a halt or drain is over, once each; ``runtime.metrics``
only records what it is given. Scraping a running operator is in tests/integration/test_install.py.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from journeys.api import JourneyStatus
from journeys.core.clocks import Clock, JourneyClocks, Timing
from journeys.runtime import metrics
from tests.unit import journey_statuses as journeys
from tests.unit.journey_statuses import NOW

KEY = ("team", "welcome-v1")


def status_of(make: Any) -> JourneyStatus:
    return JourneyStatus.model_validate(make()["status"])


def observed(histogram: Any, **labels: str) -> tuple[float, float]:
    """The histogram's (count, sum) for these labels; the tests compare before and after."""
    values = {"_count": 0.0, "_sum": 0.0}
    for family in histogram.collect():
        for sample in family.samples:
            for suffix in values:
                if sample.name.endswith(suffix) and sample.labels == labels:
                    values[suffix] = float(sample.value)
    return values["_count"], values["_sum"]


def feed(clocks: JourneyClocks, *steps: tuple[JourneyStatus, float]) -> list[Timing]:
    """Every status in turn, ``seconds`` after NOW; all the timings they complete."""
    return [
        timing
        for status, seconds in steps
        for timing in clocks.observe(KEY, status, NOW + timedelta(seconds=seconds))
    ]


def test_a_halt_is_timed_once_from_the_stop() -> None:
    halting, stopped = status_of(journeys.halting), status_of(journeys.stopped)
    assert halting.stopped_at == NOW
    timings = feed(
        JourneyClocks(),
        (halting, 0),
        (halting, 5),
        (stopped, 7),
        (stopped, 9),
        # A late entry after the stop is rejected (Pending counts as in flight): no second halt.
        (halting, 20),
        (stopped, 21),
    )
    # One observation: from the stop to the first status that saw everyone halted.
    assert timings == [Timing(Clock.HALT, "Stopped", 7.0)]


def test_a_small_halt_over_before_any_halting_status_is_timed_once() -> None:
    """The flaky metric: a halt finished between two reconciles was never timed."""
    live_with_two_inside = status_of(journeys.live)
    assert live_with_two_inside.participants.active > 0
    stopped = status_of(journeys.stopped)
    timings = feed(JourneyClocks(), (live_with_two_inside, 0), (stopped, 3), (stopped, 4))
    assert timings == [Timing(Clock.HALT, "Stopped", 3.0)]


def test_no_halt_is_timed_for_what_this_process_did_not_see_or_nobody_inside() -> None:
    stopped = status_of(journeys.stopped)
    # After a restart, a journey already stopped and halted: nothing to time.
    assert feed(JourneyClocks(), (stopped, 0), (stopped, 1)) == []
    # A journey stopped with nobody inside halts nobody.
    empty = status_of(journeys.live)
    empty.participants.active = 0
    assert feed(JourneyClocks(), (empty, 0), (stopped, 1)) == []


def test_a_forgotten_journey_starts_afresh() -> None:
    clocks = JourneyClocks()
    halting, stopped = status_of(journeys.halting), status_of(journeys.stopped)
    assert len(feed(clocks, (halting, 0), (stopped, 2))) == 1
    clocks.forget(KEY)
    assert feed(clocks, (stopped, 3)) == []


def test_a_drain_is_timed_from_close_to_finish() -> None:
    closed_long_ago = status_of(journeys.draining)
    closed_long_ago.closed_at = NOW - timedelta(hours=3)
    finished = status_of(journeys.finished)
    finished.closed_at = closed_long_ago.closed_at
    timings = feed(JourneyClocks(), (closed_long_ago, 0), (finished, 5), (finished, 9))
    # One observation, from the status' own closedAt to its finishedAt (not to when it was seen).
    assert finished.finished_at == NOW
    assert timings == [Timing(Clock.DRAIN, "Drained", 3 * 3600.0)]


def test_a_drain_timeout_times_the_drain_and_then_the_halt() -> None:
    timing_out = status_of(journeys.drain_timing_out)
    assert timing_out.participants.active == 1
    halted = timing_out.model_copy(deep=True)
    halted.participants.active, halted.participants.halted = 0, 1
    draining = status_of(journeys.draining)
    draining.closed_at = timing_out.closed_at
    timings = feed(JourneyClocks(), (draining, 0), (timing_out, 1), (halted, 4), (halted, 5))
    assert timings == [
        Timing(Clock.DRAIN, "DrainTimedOut", 2 * 3600.0),
        Timing(Clock.HALT, "Finished", 4.0),
    ]


def test_the_histograms_record_what_they_are_given() -> None:
    count, total = observed(metrics.HALT_DURATION, phase="Stopped")
    metrics.halt_timed("Stopped", 7.0)
    assert observed(metrics.HALT_DURATION, phase="Stopped") == (count + 1, total + 7.0)
    count, total = observed(metrics.DRAIN_DURATION, outcome="Drained")
    metrics.drain_timed("Drained", 3 * 3600.0)
    assert observed(metrics.DRAIN_DURATION, outcome="Drained") == (count + 1, total + 3 * 3600.0)
