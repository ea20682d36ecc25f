"""The Argo CD health check (manifests/argocd/health.lua), run by a real Lua interpreter.

Argo CD hands the live object to the script as the global ``obj`` and reads ``status`` and
``message`` from the table it returns; this test does the same with every outcome.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.unit import journey_statuses as journeys

lupa = pytest.importorskip("lupa")

SCRIPT = Path(__file__).resolve().parents[2] / "manifests" / "argocd" / "health.lua"


def health(obj: dict[str, Any]) -> tuple[str, str]:
    lua = lupa.LuaRuntime(unpack_returned_tuples=True)
    lua.globals().obj = lua.table_from(obj, recursive=True)
    result = lua.execute(SCRIPT.read_text())
    return str(result["status"]), str(result["message"])


@pytest.mark.parametrize(
    ("make", "expected", "says"),
    [
        (journeys.live, "Healthy", "Live: 1 participants inside"),
        (journeys.finished, "Healthy", "Finished"),
        (journeys.draining, "Progressing", "Draining: 1 participants still inside"),
        (journeys.halting, "Progressing", "halting 2 participants"),
        (journeys.drain_timing_out, "Progressing", "halting 1 participant"),
        (journeys.live_with_new_spec, "Progressing", "latest spec"),
        (journeys.stalled, "Degraded", "refused the participant's Job"),
        (journeys.stopped, "Suspended", "Stopped: bad audience"),
    ],
)
def test_every_outcome(make: Callable[[], dict[str, Any]], expected: str, says: str) -> None:
    status, message = health(make())
    assert status == expected, message
    assert says in message


def test_a_journey_without_status_is_progressing() -> None:
    assert health({"metadata": {"name": "new-v1", "generation": 1}})[0] == "Progressing"


def test_stop_names_who_stopped_it() -> None:
    journey = journeys.stopped()
    journey["status"]["stoppedBy"] = "alice"
    assert health(journey) == ("Suspended", "Stopped by alice: bad audience")
