"""``python -m bench.run``: halt, entry, memory, API cost and admission on the current cluster.

    KUBECONFIG=~/.cache/journeys/cluster/kubeconfig .venv/bin/python -m bench.run --quick
    make bench BENCH_ARGS="--sizes 1000,5000 --repeat 3"

Every figure is a ratio against a baseline measured in the same run (the machine is shared and
noisy); each size runs the three routes in a rotating order per repeat, and the summary quotes
medians. Raw results go to ``bench-results/<timestamp>.json``. Figures: docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import logging
import os
import shutil
import signal
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import aiohttp
from hack.cluster import cache_dir

from bench import admission, report
from bench.client import Api, ApiError, default_kubeconfig
from bench.cpu import apiserver_pid
from bench.process import ROOT
from bench.scale import ROUTES, TUNED, Settings, run_route

logger = logging.getLogger("bench")
T = TypeVar("T")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="1000,5000", help="participant counts (comma separated)")
    parser.add_argument("--repeat", type=int, default=3, help="repeats per size (medians)")
    parser.add_argument(
        "--quick", action="store_true", help="a smoke run: --sizes 200 --repeat 1, short admission"
    )
    parser.add_argument("--routes", default=",".join(ROUTES), help=f"subset of {','.join(ROUTES)}")
    parser.add_argument(
        "--restart",
        action="store_true",
        help="also time an operator restart with the N participants in place (slow at 5000)",
    )
    parser.add_argument(
        "--burst",
        action="store_true",
        help="the operator route's participants are created while it runs (default: before "
        "it starts, the baselines' starting point)",
    )
    parser.add_argument("--no-scale", action="store_true", help="skip entry/halt/memory/API cost")
    parser.add_argument("--no-admission", action="store_true", help="skip the admission latency")
    parser.add_argument(
        "--concurrency", type=int, default=128, help="workers of the baselines' async client"
    )
    parser.add_argument(
        "--admission-count", type=int, default=300, help="creations per side (admission)"
    )
    parser.add_argument("--admission-rate", type=float, default=10.0, help="creations per second")
    parser.add_argument(
        "--profile",
        type=Path,
        default=None,
        metavar="DIR",
        help="profile the operator during entry and halt (py-spy record --pid); output to DIR",
    )
    parser.add_argument(
        "--profile-format",
        choices=["svg", "txt", "json"],
        default="svg",
        help="py-spy output: flame graph, collapsed stacks, or speedscope",
    )
    parser.add_argument(
        "--operator-arg",
        action="append",
        default=[],
        help="extra argument for the operator (repeatable), e.g. --operator-arg=--verbose",
    )
    parser.add_argument(
        "--tuned-operator-arg",
        action="append",
        default=[],
        help="adds the route operator-tuned: the operator with this argument too (repeatable), "
        "e.g. --tuned-operator-arg=--participant-concurrency=128",
    )
    parser.add_argument(
        "--trace-memory",
        type=Path,
        metavar="DIR",
        help="run the operator under tracemalloc; snapshots after entry and halt go to DIR "
        "and their largest allocation sites to the log (slows the operator: memory only)",
    )
    parser.add_argument("--output", type=Path, default=ROOT / "bench-results")
    args = parser.parse_args(argv)
    if args.quick:
        args.sizes, args.repeat = "200", 1
        args.admission_count = min(args.admission_count, 100)
    return args


def find_kubectl() -> str:
    built = cache_dir() / "bin" / "kubectl"
    found = str(built) if built.is_file() else shutil.which("kubectl")
    if not found:
        raise SystemExit("kubectl not found: run `make binaries`, or put kubectl on PATH")
    return found


async def run(args: argparse.Namespace) -> dict[str, Any]:
    # SIGTERM cancels like Ctrl-C: operators are stopped, namespaces deleted, results kept.
    main_task = asyncio.current_task()
    assert main_task is not None
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, main_task.cancel)
    api = Api(default_kubeconfig())
    sizes = [int(s) for s in args.sizes.split(",") if s]
    routes = [r for r in args.routes.split(",") if r]
    if args.tuned_operator_arg and TUNED not in routes:
        routes.append(TUNED)
    unknown = set(routes) - {*ROUTES, TUNED}
    if unknown:
        raise SystemExit(f"unknown routes: {', '.join(sorted(unknown))}")
    settings = Settings(
        kubectl=find_kubectl(),
        concurrency=args.concurrency,
        operator_args=tuple(args.operator_arg),
        profile_dir=args.profile,
        profile_format=args.profile_format,
        restart=args.restart,
        burst=args.burst,
        tuned_args=tuple(args.tuned_operator_arg),
        trace_memory=args.trace_memory,
    )
    for directory in (args.profile, args.trace_memory):
        if directory:
            directory.mkdir(parents=True, exist_ok=True)
    args.output.mkdir(parents=True, exist_ok=True)
    path = args.output / f"{time.strftime('%Y%m%d-%H%M%S')}.json"
    results: dict[str, Any] = {
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
        "host": {"cpus": os.cpu_count(), "loadavg_at_start": os.getloadavg()},
        "arguments": {k: str(v) for k, v in vars(args).items()},
        "scale": [],
        "admission": [],
    }
    try:
        for repeat in range(args.repeat):
            if not args.no_scale:
                for n in sizes:
                    # Rotate the order so no route always runs first (or after the same one).
                    order = routes[repeat % len(routes) :] + routes[: repeat % len(routes)]
                    for route in order:
                        logger.info("repeat %d/%d: %s, N=%d", repeat + 1, args.repeat, route, n)
                        result = await _measured_cleanly(
                            api,
                            f"{route} N={n}",
                            functools.partial(run_route, api, route, n, settings),
                            results,
                        )
                        results["scale"].append({"repeat": repeat, **result.as_dict()})
                        _save(path, results)
            if not args.no_admission:
                logger.info("repeat %d/%d: admission latency", repeat + 1, args.repeat)
                measured = await _measured_cleanly(
                    api,
                    "admission",
                    lambda: admission.run(
                        api, count=args.admission_count, rate=args.admission_rate
                    ),
                    results,
                )
                results["admission"].append(measured.as_dict())
                _save(path, results)
    finally:
        await api.close()
        results["finished"] = datetime.now(UTC).isoformat(timespec="seconds")
        _save(path, results)
        logger.info("raw results: %s", path)
    return results


def _save(path: Path, results: dict[str, Any]) -> None:
    """Rewrite the results file after every measurement: a killed run keeps what it measured."""
    results["summary"] = report.summarize(results["scale"])
    results["admission_summary"] = report.summarize_admission(results["admission"])
    partial = path.with_suffix(".partial")
    partial.write_text(json.dumps(results, indent=1) + "\n")
    partial.replace(path)


async def _measured_cleanly(
    api: Api,
    label: str,
    measure: Callable[[], Awaitable[T]],
    results: dict[str, Any],
    attempts: int = 3,
) -> T:
    """The measurement, taken again when the API server restarted or failed during it.

    The cluster is shared: other suites restart the control plane on purpose. A measurement
    that spans a restart is not a measurement, so it is discarded (and recorded as such).
    """
    for attempt in range(1, attempts + 1):
        before = apiserver_pid()
        try:
            result = await measure()
        except (aiohttp.ClientError, ApiError, TimeoutError, RuntimeError) as error:
            reason = f"{type(error).__name__}: {str(error)[:300]}"
        else:
            if apiserver_pid() == before:
                return result
            reason = "the API server restarted during the measurement"
        logger.warning("%s, attempt %d discarded: %s", label, attempt, reason)
        results.setdefault("discarded", []).append({"measurement": label, "reason": reason})
        await _wait_for_apiserver(api)
    raise RuntimeError(f"{label}: no clean measurement in {attempts} attempts")


async def _wait_for_apiserver(api: Api, seconds: float = 600) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            await api.text("/readyz")
            await asyncio.sleep(5)  # let its controllers settle after a restart
            return
        except (aiohttp.ClientError, ApiError):
            await asyncio.sleep(2)
    raise TimeoutError(f"the API server did not come back within {seconds:.0f}s")


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(name)s: %(message)s", stream=sys.stderr
    )
    args = parse_args(argv)
    results = asyncio.run(run(args))
    print(report.table(results["summary"], results["admission_summary"]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
