"""Journeys as the operator leaves them, for tests of tools that read their status.

Every status here comes from ``plan_journey`` (the operator's own decision), serialized the way
the operator writes it, so the Argo CD and kstatus tests judge what a cluster would really show.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from journeys.api import Journey, ParticipantPhase
from journeys.core.journey_plan import plan_journey

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
A, C, H = ParticipantPhase.ACTIVE, ParticipantPhase.COMPLETED, ParticipantPhase.HALTED


def planned(
    state: str = "live",
    phases: list[ParticipantPhase] | None = None,
    previous: dict[str, Any] | None = None,
    stalled: str | None = None,
    generation: int = 3,
    **spec: Any,
) -> dict[str, Any]:
    """The Journey object after one reconcile from ``previous`` status with these participants."""
    metadata = {"name": "welcome-v1", "namespace": "team", "generation": generation}
    journey = Journey.model_validate(
        {
            "metadata": metadata,
            "spec": {"version": 1, "state": state, "template": {"spec": {}}, **spec},
            "status": previous or {},
        }
    )
    plan = plan_journey(journey, phases or [], NOW, stalled=stalled)
    status = plan.status.model_dump(mode="json", by_alias=True, exclude_none=True)
    return {"metadata": metadata, "spec": {"state": state}, "status": status}


def live() -> dict[str, Any]:
    return planned(phases=[A, C])


def live_with_new_spec() -> dict[str, Any]:
    """Someone changed the spec; the operator has not reconciled the new generation yet."""
    journey = live()
    journey["metadata"] = {**journey["metadata"], "generation": 4}
    return journey


def draining() -> dict[str, Any]:
    return planned("closed", [A, C], previous=live()["status"])


def finished() -> dict[str, Any]:
    return planned("closed", [C, C], previous=draining()["status"])


def halting() -> dict[str, Any]:
    return planned("stopped", [A, A, H], previous=live()["status"], stopReason="bad audience")


def stopped() -> dict[str, Any]:
    return planned("stopped", [H, H, H], previous=halting()["status"], stopReason="bad audience")


def drain_timing_out() -> dict[str, Any]:
    """Closed long ago with a short drain: Finished, halting whoever is left."""
    closed = (NOW - timedelta(hours=2)).isoformat()
    previous = {**draining()["status"], "closedAt": closed}
    return planned("closed", [A], previous=previous, drain={"timeout": "1h"})


def stalled() -> dict[str, Any]:
    return planned(phases=[A], stalled="the API server refused the participant's Job: invalid")
