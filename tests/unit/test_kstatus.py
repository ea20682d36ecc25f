"""Flux's view of a Journey: kstatus's generic rules evaluated on the operator's own statuses.

Flux (and ``kubectl wait``-like tools built on sigs.k8s.io/cli-utils) compute a resource's
status with kstatus. For a custom resource it has no specific rules for, kstatus applies, in
this order: deletionTimestamp -> Terminating; ``status.observedGeneration`` present and different
from ``metadata.generation`` -> InProgress; the first condition, in list order, that is
``Reconciling=True`` (InProgress) or ``Stalled=True`` (Failed); then a ``Ready`` condition
(True -> Current, otherwise InProgress); and with none of these, Current.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.unit import journey_statuses as journeys


def kstatus(obj: dict[str, Any]) -> str:
    """kstatus's generic computation for a custom resource (see the module docstring)."""
    metadata = obj.get("metadata") or {}
    status = obj.get("status") or {}
    if metadata.get("deletionTimestamp"):
        return "Terminating"
    observed = status.get("observedGeneration")
    if observed is not None and observed != metadata.get("generation"):
        return "InProgress"
    conditions = status.get("conditions") or []
    for condition in conditions:
        if condition.get("status") != "True":
            continue
        if condition.get("type") == "Reconciling":
            return "InProgress"
        if condition.get("type") == "Stalled":
            return "Failed"
    ready = next((c for c in conditions if c.get("type") == "Ready"), None)
    if ready is not None:
        return "Current" if ready.get("status") == "True" else "InProgress"
    return "Current"


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (journeys.live, "Current"),
        (journeys.draining, "Current"),  # reconciled: waiting for people is not work in progress
        (journeys.finished, "Current"),
        (journeys.stopped, "Current"),
        (journeys.halting, "InProgress"),
        (journeys.drain_timing_out, "InProgress"),
        (journeys.live_with_new_spec, "InProgress"),
        (journeys.stalled, "Failed"),
    ],
)
def test_kstatus_of_the_operator_statuses(
    make: Callable[[], dict[str, Any]], expected: str
) -> None:
    assert kstatus(make()) == expected


def test_every_condition_carries_the_observed_generation() -> None:
    """kstatus trusts conditions only as far as they speak about the current generation."""
    journey = journeys.halting()
    generation = journey["metadata"]["generation"]
    assert journey["status"]["observedGeneration"] == generation
    assert {c["observedGeneration"] for c in journey["status"]["conditions"]} == {generation}


def test_halting_then_current_once_everyone_is_halted() -> None:
    assert kstatus(journeys.halting()) == "InProgress"
    assert kstatus(journeys.stopped()) == "Current"


def test_a_deleted_journey_is_terminating() -> None:
    journey = journeys.finished()
    journey["metadata"]["deletionTimestamp"] = "2026-11-27T12:00:00Z"
    assert kstatus(journey) == "Terminating"
