"""The benchmark summary: ratios are paired within a repeat, then the median is quoted."""

from __future__ import annotations

from typing import Any

import pytest
from bench.admission import percentile
from bench.report import summarize, table

MB = 1024 * 1024


def run(route: str, repeat: int, halt: float, entry: float, **extra: Any) -> dict[str, Any]:
    return {
        "route": route,
        "repeat": repeat,
        "participants": 100,
        "halt_seconds": halt,
        "entry_per_second": entry,
        "rss_bytes": {},
        "entry_cpu": {},
        "halt_cpu": {},
        "entry_cost": {},
        "halt_cost": {},
        "restart_seconds": None,
        **extra,
    }


RUNS = [
    # repeat 0: a slow machine (everything twice as slow), repeat 1 and 2: quiet
    run("operator", 0, 20.0, 50.0, rss_bytes={"0": 60 * MB, "entered": 70 * MB}),
    run("raw", 0, 16.0, 200.0),
    run("kubectl", 0, 80.0, 100.0),
    run("operator", 1, 10.0, 100.0, rss_bytes={"0": 62 * MB, "entered": 72 * MB}),
    run("raw", 1, 10.0, 400.0),
    run("kubectl", 1, 40.0, 160.0),
    run("operator", 2, 11.0, 90.0, rss_bytes={"0": 64 * MB, "entered": 74 * MB}),
    run("raw", 2, 8.0, 300.0),
    run("kubectl", 2, 44.0, 150.0),
]


def test_ratios_are_paired_within_each_repeat_then_the_median() -> None:
    s = summarize(RUNS)["100"]
    assert s["repeats"] == 3
    # per repeat: 20/16 = 1.25, 10/10 = 1.0, 11/8 = 1.375 -> median 1.25
    assert s["halt_operator_over_raw"] == pytest.approx(1.25)
    # 20/80, 10/40, 11/44 -> 0.25
    assert s["halt_operator_over_kubectl"] == pytest.approx(0.25)
    # 50/200, 100/400, 90/300 -> 0.25, 0.25, 0.3
    assert s["entry_operator_over_raw_jobs"] == pytest.approx(0.25)
    # the ceiling: the operator's writes by the client / raw Jobs: 0.5, 0.4, 0.5
    assert s["entry_same_writes_over_raw_jobs"] == pytest.approx(0.5)
    # 50/100, 100/160, 90/150 -> 0.5, 0.625, 0.6
    assert s["entry_operator_over_raw_same_writes"] == pytest.approx(0.6)
    assert s["halt_seconds"] == {"operator": 11.0, "raw": 10.0, "kubectl": 44.0}
    assert s["bytes_per_participant"] == round(10 * MB / 100)


def test_the_table_names_targets_and_verdicts() -> None:
    text = table(summarize(RUNS), None)
    assert "operator/raw 1.25 (target <= 1.25)  ok" in text
    assert "operator/raw Jobs 0.25 (target >= 0.8)  MISSED" in text
    assert "same writes/raw Jobs 0.50" in text


def test_a_route_missing_from_a_repeat_gives_no_ratio_for_it() -> None:
    s = summarize([r for r in RUNS if r["route"] != "raw"])["100"]
    assert s["halt_operator_over_raw"] is None
    assert s["halt_operator_over_kubectl"] == pytest.approx(0.25)


def test_percentile_is_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 0.99) == 99.0
    assert percentile(values, 0.5) == 50.0
