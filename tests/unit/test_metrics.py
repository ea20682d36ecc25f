"""Metrics: how halts and drains are timed from the statuses the operator computes (no cluster).

Scraping a running operator is in tests/integration/test_install.py.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from journeys.api.models import JourneyStatus
from journeys.runtime import metrics
from tests.unit import journey_statuses as journeys
from tests.unit.journey_statuses import NOW


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


def test_a_halt_is_timed_once_from_the_stop() -> None:
    key = ("halt-test", "welcome-v1")
    count, total = observed(metrics.HALT_DURATION, phase="Stopped")
    halting, stopped = status_of(journeys.halting), status_of(journeys.stopped)
    assert halting.stopped_at == NOW
    metrics.journey_status(key, halting, NOW)
    metrics.journey_status(key, halting, NOW + timedelta(seconds=5))
    metrics.journey_status(key, stopped, NOW + timedelta(seconds=7))
    metrics.journey_status(key, stopped, NOW + timedelta(seconds=9))
    # A late entry after the stop is rejected (Pending counts as in flight): no second halt.
    metrics.journey_status(key, halting, NOW + timedelta(seconds=20))
    metrics.journey_status(key, stopped, NOW + timedelta(seconds=21))
    # One observation: from the stop to the first status that saw everyone halted.
    assert observed(metrics.HALT_DURATION, phase="Stopped") == (count + 1, total + 7.0)


def test_a_drain_is_timed_from_close_to_finish() -> None:
    key = ("drain-test", "welcome-v1")
    count, total = observed(metrics.DRAIN_DURATION, outcome="Drained")
    closed_long_ago = status_of(journeys.draining)
    closed_long_ago.closed_at = NOW - timedelta(hours=3)
    finished = status_of(journeys.finished)
    finished.closed_at = closed_long_ago.closed_at
    metrics.journey_status(key, closed_long_ago, NOW)
    metrics.journey_status(key, finished, NOW + timedelta(seconds=5))
    metrics.journey_status(key, finished, NOW + timedelta(seconds=9))
    # One observation, from the status' own closedAt to its finishedAt (not to when it was seen).
    assert finished.finished_at == NOW
    assert observed(metrics.DRAIN_DURATION, outcome="Drained") == (count + 1, total + 3 * 3600.0)
