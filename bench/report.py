"""From raw route results to the summary: medians over repeats, ratios within each repeat."""

from __future__ import annotations

import statistics
from collections.abc import Callable, Iterable
from typing import Any

from bench.admission import percentile
from bench.apicost import CLIENT_SERIES

MB = 1024 * 1024

#: Targets from issue 7.
HALT_RATIO_TARGET = 1.25
ENTRY_RATIO_TARGET = 0.8
ADDED_P99_TARGET_MS = 10.0
RSS_TARGET_BYTES = 150 * MB


def _median(values: Iterable[float]) -> float | None:
    found = [v for v in values if v is not None]
    return round(statistics.median(found), 3) if found else None


def _paired(
    runs: list[dict[str, Any]], n: int, a: str, b: str, value: Callable[[dict[str, Any]], float]
) -> list[float]:
    """value(a) / value(b) within each repeat that ran both routes at this size."""
    ratios = []
    for repeat in sorted({r["repeat"] for r in runs}):
        pair = {
            r["route"]: value(r) for r in runs if r["repeat"] == repeat and r["participants"] == n
        }
        if a in pair and b in pair and pair[b]:
            ratios.append(pair[a] / pair[b])
    return ratios


def summarize(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Per size: medians of every figure and the medians of the per-repeat ratios."""
    summary: dict[str, Any] = {}
    for n in sorted({r["participants"] for r in runs}):
        at = [r for r in runs if r["participants"] == n]

        def med(route: str, key: str, at: list[dict[str, Any]] = at) -> float | None:
            return _median(r[key] for r in at if r["route"] == route)

        ops = [r for r in at if r["route"] == "operator"]
        rss0 = _median(r["rss_bytes"].get("0") for r in ops)
        rss_n = _median(r["rss_bytes"].get("entered") for r in ops)
        halt_ratio = _paired(at, n, "operator", "raw", lambda r: r["halt_seconds"])
        halt_vs_kubectl = _paired(at, n, "operator", "kubectl", lambda r: r["halt_seconds"])
        entry_ratio = _paired(at, n, "operator", "raw", lambda r: r["entry_per_second"])
        entry_vs_writes = _paired(at, n, "operator", "kubectl", lambda r: r["entry_per_second"])
        # The best any operator can do here: the operator's own writes, issued by the client.
        entry_ceiling = _paired(at, n, "kubectl", "raw", lambda r: r["entry_per_second"])
        tuned_halt = _paired(at, n, "operator-tuned", "raw", lambda r: r["halt_seconds"])
        tuned_entry = _paired(at, n, "operator-tuned", "raw", lambda r: r["entry_per_second"])
        summary[str(n)] = {
            "repeats": len(ops),
            "halt_seconds": {route: med(route, "halt_seconds") for route in _routes(at)},
            "halt_operator_over_raw": _median(halt_ratio),
            "halt_operator_over_kubectl": _median(halt_vs_kubectl),
            "halt_tuned_over_raw": _median(tuned_halt),
            "entry_tuned_over_raw_jobs": _median(tuned_entry),
            "entry_per_second": {route: med(route, "entry_per_second") for route in _routes(at)},
            "entry_operator_over_raw_jobs": _median(entry_ratio),
            "entry_operator_over_raw_same_writes": _median(entry_vs_writes),
            "entry_same_writes_over_raw_jobs": _median(entry_ceiling),
            "operator_restart_seconds": med("operator", "restart_seconds"),
            "rss_bytes": {
                "0": rss0,
                "entered": rss_n,
                "halted": _median(r["rss_bytes"].get("halted") for r in ops),
                "peak": _median(r["rss_bytes"].get("peak") for r in ops),
                "restarted": _median(r["rss_bytes"].get("restarted") for r in ops),
            },
            "bytes_per_participant": (
                round((rss_n - rss0) / n) if rss_n is not None and rss0 is not None else None
            ),
            "cpu_ms_per_participant": {
                route: {
                    phase: _median_cpu((r[f"{phase}_cpu"] for r in at if r["route"] == route), n)
                    for phase in ("entry", "halt")
                }
                for route in _routes(at)
            },
            "api_per_participant": {
                route: {
                    "entry": _median_costs(r["entry_cost"] for r in at if r["route"] == route),
                    "halt": _median_costs(r["halt_cost"] for r in at if r["route"] == route),
                }
                for route in _routes(at)
            },
        }
    return summary


def _routes(at: list[dict[str, Any]]) -> list[str]:
    return [
        route
        for route in ("operator", "operator-tuned", "raw", "kubectl")
        if any(r["route"] == route for r in at)
    ]


def client_requests(cost: dict[str, Any]) -> dict[str, float]:
    """Per participant, the requests a client of the API makes (not the cluster's reaction).

    Raw deltas: other clients of the shared cluster can only add to them, so they are an upper
    bound (the background-corrected ``requests`` are kept in the JSON).
    """
    keys = {f"{verb} {resource}" for verb, resource, _ in CLIENT_SERIES}
    n = max(int(cost.get("participants") or 1), 1)
    return {
        key: count / n
        for key, count in (cost.get("raw") or {}).items()
        if key in keys and count / n >= 0.005
    }


def _median_cpu(cpus: Iterable[dict[str, float]], n: int) -> dict[str, float]:
    """Median CPU milliseconds per participant, by process."""
    found = [c for c in cpus if c]
    names = sorted({k for c in found for k in c})
    return {k: round(statistics.median(c.get(k, 0.0) for c in found) * 1000 / n, 2) for k in names}


def _median_costs(costs: Iterable[dict[str, Any]]) -> dict[str, float]:
    per = [client_requests(c) for c in costs if c]
    keys = sorted({k for p in per for k in p})
    medians = {k: round(statistics.median(p.get(k, 0.0) for p in per), 2) for k in keys}
    return {k: v for k, v in medians.items() if v > 0}


# --- the printed table ------------------------------------------------------------------------


def _fmt(value: float | None, spec: str = ".2f", unit: str = "") -> str:
    return "-" if value is None else f"{value:{spec}}{unit}"


def _verdict(ok: bool | None) -> str:
    return "" if ok is None else ("  ok" if ok else "  MISSED")


def summarize_admission(results: list[dict[str, Any]]) -> dict[str, Any] | None:
    """Medians over repeats of each side's median and p99, and of the added latency."""
    if not results:
        return None

    def med(side: str, key: str) -> float:
        return round(float(statistics.median(r[side][key] for r in results)), 2)

    return {
        "repeats": len(results),
        "rate_per_second": results[0]["rate_per_second"],
        "with_webhooks": {k: med("with_webhooks", k) for k in ("median_ms", "p99_ms")},
        "without": {k: med("without", k) for k in ("median_ms", "p99_ms")},
        "added_median_ms": round(statistics.median(r["added_median_ms"] for r in results), 2),
        "added_p99_ms": round(statistics.median(r["added_p99_ms"] for r in results), 2),
        "pooled": _pooled(results),
    }


def _pooled(results: list[dict[str, Any]]) -> dict[str, float]:
    """Percentiles over every creation of every repeat (more samples in the tail)."""
    sides = {
        side: sorted(t for r in results for t in r.get("timings_ms", {}).get(side, []))
        for side in ("with", "without")
    }
    if not all(sides.values()):
        return {}
    with_, without = sides["with"], sides["without"]
    return {
        "count_per_side": min(len(with_), len(without)),
        "added_median_ms": round(statistics.median(with_) - statistics.median(without), 2),
        "added_p99_ms": round(percentile(with_, 0.99) - percentile(without, 0.99), 2),
        "with_p99_ms": round(percentile(with_, 0.99), 2),
        "without_p99_ms": round(percentile(without, 0.99), 2),
    }


def table(summary: dict[str, Any], admission: dict[str, Any] | None) -> str:
    lines: list[str] = []
    for n, s in summary.items():
        lines.append(f"N = {n} participants ({s['repeats']} repeat(s), medians)")
        halt = s["halt_seconds"]
        ratio = s["halt_operator_over_raw"]
        lines.append(
            f"  halt     operator {_fmt(halt.get('operator'), unit=' s'):>9}   "
            f"raw floor {_fmt(halt.get('raw'), unit=' s'):>9}   "
            f"kubectl {_fmt(halt.get('kubectl'), unit=' s'):>9}"
        )
        vs_kubectl = s["halt_operator_over_kubectl"]
        lines.append(
            f"           operator/raw {_fmt(ratio)} (target <= {HALT_RATIO_TARGET})"
            f"{_verdict(None if ratio is None else ratio <= HALT_RATIO_TARGET)}   "
            f"operator/kubectl {_fmt(vs_kubectl)}"
            f"{_verdict(None if vs_kubectl is None else vs_kubectl < 1)}"
        )
        entry = s["entry_per_second"]
        ratio = s["entry_operator_over_raw_jobs"]
        lines.append(
            f"  entry    operator {_fmt(entry.get('operator'), '.0f', '/s'):>9}   "
            f"raw Jobs {_fmt(entry.get('raw'), '.0f', '/s'):>10}   "
            f"raw, operator's writes {_fmt(entry.get('kubectl'), '.0f', '/s')}"
        )
        lines.append(
            f"           operator/raw Jobs {_fmt(ratio)} (target >= {ENTRY_RATIO_TARGET})"
            f"{_verdict(None if ratio is None else ratio >= ENTRY_RATIO_TARGET)}   "
            f"operator/same writes {_fmt(s['entry_operator_over_raw_same_writes'])}   "
            f"same writes/raw Jobs {_fmt(s['entry_same_writes_over_raw_jobs'])}"
        )
        tuned = s["halt_tuned_over_raw"]
        if tuned is not None:
            lines.append(
                f"  tuned    operator-tuned: halt {_fmt(halt.get('operator-tuned'), unit=' s')}, "
                f"/raw {_fmt(tuned)}"
                f"{_verdict(tuned <= HALT_RATIO_TARGET)}; entry "
                f"{_fmt(entry.get('operator-tuned'), '.0f', '/s')}, "
                f"/raw Jobs {_fmt(s['entry_tuned_over_raw_jobs'])}"
            )
        rss = s["rss_bytes"]

        def mb(v: float | None) -> str:
            return _fmt(None if v is None else v / MB, ".0f", " MB")

        entered = rss.get("entered")
        lines.append(
            f"  memory   RSS at 0 {mb(rss.get('0'))}, at {n} {mb(entered)} "
            f"(peak {mb(rss.get('peak'))}), {_fmt(s['bytes_per_participant'], '.0f')} "
            f"bytes/participant"
            + (_verdict(entered <= RSS_TARGET_BYTES) if entered is not None else "")
        )
        if s["operator_restart_seconds"] is not None:
            lines.append(
                f"  restart  with {n} in place: first reconcile after "
                f"{_fmt(s['operator_restart_seconds'], '.1f', ' s')}, "
                f"RSS {mb(rss.get('restarted'))}"
            )
        for route, phases in s["cpu_ms_per_participant"].items():
            for phase, used in phases.items():
                if used:
                    listed = ", ".join(f"{k} {v:g}" for k, v in used.items())
                    lines.append(f"  cpu ms/p {route:8} {phase:5} {listed}")
        for route, phases in s["api_per_participant"].items():
            for phase, costs in phases.items():
                if costs:
                    listed = ", ".join(f"{k} {v:g}" for k, v in costs.items())
                    lines.append(f"  api/p    {route:8} {phase:5} {listed}")
        lines.append("")
    if admission:
        w, wo = admission["with_webhooks"], admission["without"]
        lines.append(
            f"admission ({admission['repeats']} repeat(s), medians) at "
            f"{admission['rate_per_second']:g}/s: with webhooks median "
            f"{w['median_ms']:.1f} ms p99 {w['p99_ms']:.1f} ms; without median "
            f"{wo['median_ms']:.1f} ms p99 {wo['p99_ms']:.1f} ms; added median "
            f"{admission['added_median_ms']:+.1f} ms, p99 {admission['added_p99_ms']:+.1f} ms "
            f"(target <= {ADDED_P99_TARGET_MS:g})"
            f"{_verdict(admission['added_p99_ms'] <= ADDED_P99_TARGET_MS)}"
        )
        pooled = admission.get("pooled") or {}
        if pooled:
            lines.append(
                f"           pooled over {pooled['count_per_side']} per side: added median "
                f"{pooled['added_median_ms']:+.1f} ms, p99 {pooled['added_p99_ms']:+.1f} ms "
                f"(with {pooled['with_p99_ms']:.1f} ms, without {pooled['without_p99_ms']:.1f} ms)"
            )
    return "\n".join(lines)
