"""``python -m bench.unrelated``: what other teams' Jobs cost the operator (issue 15).

    KUBECONFIG=~/.cache/journeys/cluster/kubeconfig .venv/bin/python -m bench.unrelated --jobs 5000

The operator runs idle with one live journey in namespace A and also watches namespace B (as a
cluster-wide operator watches every namespace). N Jobs without the operator's labels are created
in B, their pods run for a second on the kwok node and the Jobs complete; then they are deleted.
Reported: the operator's CPU seconds for the creation (until every Job completed) and for the
deletion, each minus its idle rate measured just before, and its RSS with the Jobs in place over
its RSS before them (the same process: the ratio the issue's target is about). Raw result:
``bench-results/unrelated-<timestamp>.json``. Figures: docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import logging
import time
import uuid
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from bench.client import Api, bounded, default_kubeconfig
from bench.cpu import cpu_seconds
from bench.objects import JOURNEY, jobs_path, journey_manifest, journeys_path
from bench.process import ROOT, Operator
from bench.scale import NAMESPACE_LABEL

logger = logging.getLogger("bench")

#: The unrelated Jobs' pods finish soon, so that the Job controller's status updates (the
#: watch events a batch workload really produces) are part of what is measured.
POD_RUNS_FOR = "1s"


@dataclass
class UnrelatedResult:
    jobs: int
    operator_args: list[str]
    idle_cpu_per_second: float = 0.0
    create_seconds: float = 0.0
    create_cpu_seconds: float = 0.0
    delete_seconds: float = 0.0
    delete_cpu_seconds: float = 0.0
    rss_before_bytes: int = 0
    rss_with_jobs_bytes: int = 0

    @property
    def rss_ratio(self) -> float:
        return self.rss_with_jobs_bytes / self.rss_before_bytes

    def as_dict(self) -> dict[str, Any]:
        return {
            **asdict(self),
            "rss_ratio": round(self.rss_ratio, 3),
            "create_cpu_ms_per_job": round(1000 * self.create_cpu_seconds / self.jobs, 3),
        }


def unrelated_job(index: int) -> dict[str, Any]:
    """A batch Job like any other team's: no journeys.dev label anywhere."""
    pod = {
        "metadata": {"annotations": {"pod-complete.stage.kwok.x-k8s.io/delay": POD_RUNS_FOR}},
        "spec": {"restartPolicy": "Never", "containers": [{"name": "batch", "image": "batch"}]},
    }
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": f"batch-{index:05d}", "labels": {"team": "batch"}},
        "spec": {"backoffLimit": 0, "template": pod},
    }


class CpuWindow:
    """The operator's CPU seconds over a window, minus its idle rate."""

    def __init__(self, pid: int, idle_per_second: float) -> None:
        self.pid = pid
        self.idle = idle_per_second
        self.cpu = cpu_seconds(pid) or 0.0
        self.started = time.monotonic()

    def end(self) -> tuple[float, float]:
        """(wall seconds, CPU seconds above idle)."""
        wall = time.monotonic() - self.started
        spent = (cpu_seconds(self.pid) or 0.0) - self.cpu - self.idle * wall
        return round(wall, 2), round(max(spent, 0.0), 2)


async def run(api: Api, jobs: int, idle_window: float, concurrency: int) -> UnrelatedResult:
    suffix = uuid.uuid4().hex[:5]
    ours, other = f"bench-ours-{suffix}", f"bench-batch-{suffix}"
    for namespace in (ours, other):
        await api.create_namespace(namespace, {NAMESPACE_LABEL: "true"})
    operator = Operator(ours, "--namespace", other)
    result = UnrelatedResult(jobs, operator.args[3:])
    try:
        await api.request("POST", journeys_path(ours), journey_manifest())
        operator.start()
        await _until_live(api, operator, ours)
        await asyncio.sleep(5.0)  # the start-up's allocations settle

        idle = CpuWindow(operator.pid, 0.0)
        await asyncio.sleep(idle_window)
        wall, spent = idle.end()
        result.idle_cpu_per_second = round(spent / wall, 4)
        result.rss_before_bytes = operator.rss_bytes()

        window = CpuWindow(operator.pid, result.idle_cpu_per_second)
        path = jobs_path(other)
        await bounded((functools.partial(_create, api, path, i) for i in range(jobs)), concurrency)
        await _until(lambda: _completed(api, other, jobs), 120 + 0.3 * jobs, "Jobs complete")
        await asyncio.sleep(5.0)  # the last status updates reach the operator
        result.create_seconds, result.create_cpu_seconds = window.end()
        result.rss_with_jobs_bytes = operator.rss_bytes()
        logger.info(
            "%d unrelated Jobs: operator CPU %.2fs in %.0fs, RSS %.1f -> %.1f MiB",
            jobs,
            result.create_cpu_seconds,
            result.create_seconds,
            result.rss_before_bytes / 2**20,
            result.rss_with_jobs_bytes / 2**20,
        )

        window = CpuWindow(operator.pid, result.idle_cpu_per_second)
        await api.request("DELETE", path, {"propagationPolicy": "Background"})
        await _until(lambda: _none_left(api, other), 120 + 0.1 * jobs, "Jobs deleted")
        await asyncio.sleep(5.0)
        result.delete_seconds, result.delete_cpu_seconds = window.end()
        if not operator.alive():
            raise RuntimeError(f"the operator exited:\n{operator.output()}")
    finally:
        operator.stop()
        for namespace in (ours, other):
            await api.delete_namespace(namespace, 600 + 0.1 * jobs)
    return result


async def _create(api: Api, path: str, index: int) -> dict[str, Any]:
    return await api.request("POST", path, unrelated_job(index))


async def _until_live(api: Api, operator: Operator, namespace: str) -> None:
    async def live() -> bool:
        if not operator.alive():
            raise RuntimeError(f"the operator exited:\n{operator.output()}")
        body = await api.request("GET", journeys_path(namespace, JOURNEY))
        return (body.get("status") or {}).get("phase") == "Live"

    await _until(live, 120, "the journey Live")


async def _completed(api: Api, namespace: str, jobs: int) -> bool:
    items, _ = await api.list(jobs_path(namespace))
    return sum(1 for job in items if (job.get("status") or {}).get("succeeded")) >= jobs


async def _none_left(api: Api, namespace: str) -> bool:
    page = await api.request("GET", jobs_path(namespace), params={"limit": "1"})
    return not page.get("items")


async def _until(probe: Any, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not await probe():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: not within {seconds:.0f}s")
        await asyncio.sleep(3.0)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.unrelated", description=__doc__)
    parser.add_argument("--jobs", type=int, default=5000, help="unrelated Jobs (default 5000)")
    parser.add_argument("--idle-window", type=float, default=20.0, help="idle seconds measured")
    parser.add_argument("--concurrency", type=int, default=64, help="creations at once")
    parser.add_argument("--label", default="", help="a word saved with the result")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")

    async def measure() -> UnrelatedResult:
        api = Api(default_kubeconfig())
        try:
            return await run(api, args.jobs, args.idle_window, args.concurrency)
        finally:
            await api.close()

    result = asyncio.run(measure())
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    output = ROOT / "bench-results" / f"unrelated-{stamp}.json"
    output.parent.mkdir(exist_ok=True)
    output.write_text(json.dumps({"label": args.label, **result.as_dict()}, indent=2) + "\n")
    print(json.dumps(result.as_dict(), indent=2))
    print(f"saved {output}")


if __name__ == "__main__":
    main()
