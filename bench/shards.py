"""``python -m bench.shards``: the same entry and stop with 1, 2 and 4 shards (issue 15).

    KUBECONFIG=~/.cache/journeys/cluster/kubeconfig .venv/bin/python -m bench.shards

N participants spread over 8 namespaces (two per shard of four, so four per shard of two), one
live journey in each, created before the operators start (the other benchmarks' starting
point). For each shard count K, K replicas (``--shards K``) enter them all (every participant
``Active``), then every journey is stopped (every participant ``Halted``). Reported per K: entry
and halt wall seconds, each replica's CPU seconds and watch events received (by resource, from
its ``journeys_watch_events_total``), with their sum and largest share over the one-replica
run. On this 2-core machine the API server bounds the wall times. Raw result:
``bench-results/shards-<timestamp>.json``; figures in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import logging
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from bench.client import MERGE_PATCH, Api, bounded, default_kubeconfig
from bench.cpu import cpu_seconds
from bench.objects import (
    JOURNEY,
    journey_manifest,
    journeys_path,
    participant_manifest,
    participants_path,
)
from bench.process import ROOT, Operator, free_port, scrape
from bench.scale import NAMESPACE_LABEL
from journeys.runtime.sharding import shard_of

logger = logging.getLogger("bench")
NAMESPACES = 8


def spread_namespaces(prefix: str, count: int = NAMESPACES, shards: int = 4) -> list[str]:
    """``count`` namespace names, the same number owned by each of ``shards`` shards."""
    found: list[str] = []
    for i in range(100 * count):
        name = f"{i}-{prefix}"  # a leading counter spreads FNV-1a (docs/scaling.md)
        owner = shard_of(name, shards)
        if sum(1 for n in found if shard_of(n, shards) == owner) < count // shards:
            found.append(name)
        if len(found) == count:
            return found
    raise RuntimeError("no spread of namespace names found")


async def run_shards(api: Api, shards: int, participants: int) -> dict[str, Any]:
    namespaces = spread_namespaces(f"bench-shards-{shards}-{uuid.uuid4().hex[:4]}")
    per = participants // len(namespaces)
    operators: list[Operator] = []
    try:
        for namespace in namespaces:
            await api.create_namespace(namespace, {NAMESPACE_LABEL: "true"})
            journey = await api.request("POST", journeys_path(namespace), journey_manifest())
            path = participants_path(namespace)
            await bounded(
                (
                    functools.partial(api.request, "POST", path, participant_manifest(i, journey))
                    for i in range(per)
                ),
                64,
            )
        watch = [arg for ns in namespaces[1:] for arg in ("--namespace", ns)]
        sharded = ["--shards", str(shards)] if shards > 1 else []
        started = time.monotonic()
        ports = [free_port() for _ in range(shards)]
        for index, port in enumerate(ports):
            index_args = ["--shard-index", str(index)] if shards > 1 else []
            metrics = ["--metrics-port", str(port)]
            operators.append(
                Operator(namespaces[0], *watch, *sharded, *index_args, *metrics).start()
            )
        cpu = [0.0] * shards
        await _phase(api, operators, namespaces, "Active", per, cpu)
        entry_seconds = time.monotonic() - started
        entry_cpu = list(cpu)
        entry_events = [await _watch_events(port) for port in ports]
        for namespace in namespaces:
            await api.request(
                "PATCH",
                journeys_path(namespace, JOURNEY),
                {"spec": {"state": "stopped"}},
                content_type=MERGE_PATCH,
            )
        halt_started = time.monotonic()
        await _phase(api, operators, namespaces, "Halted", per, cpu)
        halt_seconds = time.monotonic() - halt_started
        halt_cpu = [round(c - e, 2) for c, e in zip(cpu, entry_cpu, strict=True)]
        halt_events = [
            {r: n - before.get(r, 0) for r, n in (await _watch_events(port)).items()}
            for port, before in zip(ports, entry_events, strict=True)
        ]
        result = {
            "shards": shards,
            "participants": per * len(namespaces),
            "entry_seconds": round(entry_seconds, 1),
            "halt_seconds": round(halt_seconds, 1),
            "entry_cpu_seconds": [round(c, 2) for c in entry_cpu],
            "halt_cpu_seconds": halt_cpu,
            "entry_watch_events": entry_events,
            "halt_watch_events": halt_events,
        }
        logger.info("%s", result)
        return result
    finally:
        for operator in operators:
            operator.stop()
        for namespace in namespaces:
            await api.delete_namespace(namespace, 900)


async def _watch_events(port: int) -> dict[str, int]:
    """The replica's ``journeys_watch_events_total`` by resource, from its metrics endpoint."""
    samples = await asyncio.to_thread(scrape, port)
    return {
        dict(labels)["resource"]: int(value)
        for (name, labels), value in samples.items()
        if name == "journeys_watch_events_total"
    }


async def _phase(
    api: Api,
    operators: list[Operator],
    namespaces: list[str],
    phase: str,
    per: int,
    cpu: list[float],
) -> None:
    """Wait until every participant has ``phase``; keeps each operator's CPU seconds in ``cpu``."""
    deadline = time.monotonic() + 120 + 0.25 * per * len(namespaces)
    while True:
        for i, operator in enumerate(operators):
            if not operator.alive():
                raise RuntimeError(f"an operator exited:\n{operator.output()[-3000:]}")
            cpu[i] = cpu_seconds(operator.pid) or cpu[i]
        done = 0
        for namespace in namespaces:
            items, _ = await api.list(participants_path(namespace))
            done += sum(1 for p in items if (p.get("status") or {}).get("phase") == phase)
        if done >= per * len(namespaces):
            for i, operator in enumerate(operators):
                cpu[i] = cpu_seconds(operator.pid) or cpu[i]
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"{done} of {per * len(namespaces)} {phase}")
        await asyncio.sleep(2.0)


def summarize(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per shard count: CPU per replica over the one-replica run's CPU (~1/K is the ideal)."""
    one = next(r for r in results if r["shards"] == 1)

    def total(run: dict[str, Any], key: str) -> float:
        return float(sum(run[key])) or 1e-9

    def events(run: dict[str, Any], key: str, resource: str | None = None) -> list[int]:
        """Watch events per replica in one phase: of ``resource``, or of all three."""
        return [sum(n for r, n in replica.items() if resource in (None, r)) for replica in run[key]]

    def largest_share(run: dict[str, Any], key: str, resource: str | None = None) -> float:
        return round(max(events(run, key, resource)) / (sum(events(one, key, resource)) or 1), 2)

    return [
        {
            "shards": r["shards"],
            "entry_seconds": r["entry_seconds"],
            "halt_seconds": r["halt_seconds"],
            "largest_replica_entry_cpu_over_one": round(
                max(r["entry_cpu_seconds"]) / total(one, "entry_cpu_seconds"), 2
            ),
            "largest_replica_halt_cpu_over_one": round(
                max(r["halt_cpu_seconds"]) / total(one, "halt_cpu_seconds"), 2
            ),
            "largest_replica_entry_events_over_one": largest_share(r, "entry_watch_events"),
            "largest_replica_halt_events_over_one": largest_share(r, "halt_watch_events"),
            "largest_replica_job_events_over_one": largest_share(r, "entry_watch_events", "jobs"),
            "largest_replica_participant_events_over_one": largest_share(
                r, "entry_watch_events", "participants"
            ),
            "all_replicas_cpu_over_one": round(
                (total(r, "entry_cpu_seconds") + total(r, "halt_cpu_seconds"))
                / (total(one, "entry_cpu_seconds") + total(one, "halt_cpu_seconds")),
                2,
            ),
        }
        for r in results
    ]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.shards", description=__doc__)
    parser.add_argument("--participants", type=int, default=5000, help="spread over 8 namespaces")
    parser.add_argument("--shards", default="1,2,4", help="shard counts (1 is the baseline)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    counts = [int(c) for c in args.shards.split(",")]
    if 1 not in counts:
        parser.error("--shards must include 1: the figures are ratios to one replica")

    async def measure() -> list[dict[str, Any]]:
        api = Api(default_kubeconfig())
        try:
            return [await run_shards(api, k, args.participants) for k in counts]
        finally:
            await api.close()

    results = asyncio.run(measure())
    output = {"runs": results, "summary": summarize(results)}
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = ROOT / "bench-results" / f"shards-{stamp}.json"
    path.parent.mkdir(exist_ok=True)
    path.write_text(json.dumps(output, indent=2) + "\n")
    print(json.dumps(output["summary"], indent=2))
    print(f"saved {path}")


if __name__ == "__main__":
    main()
