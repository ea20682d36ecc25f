"""Entry, halt, memory and API cost for N participants, by three routes in the same run.

Each route gets a namespace of its own with the same starting point: one live journey and N
participants created beforehand (untimed, with no operator running), as the mutating webhook
leaves them (labelled, owned by the journey). Then:

- ``operator``: the operator is started (its RSS with no participant is read), stopped while
  the N participants are created, and started again; *entry* is timed from the first Job the
  watch sees to the moment every participant is Active (every Job exists). With ``--burst``
  the participants are created while it runs instead, and that load is in the window too.
  Once the pods run, *halt* is timed from the write of ``spec.state: stopped`` until every Job
  is suspended and every participant Halted. Its RSS is read with no participant, after
  entry, and after halt.
- ``raw``: no operator. *Entry* is N Job creations by the bench's own async client (the issue's
  baseline); then participants are marked Active (untimed). *Halt* is the raw floor: the same
  writes the operator makes (suspend each Job, mark each participant Halted) from that client.
- ``kubectl``: no operator. *Entry* is every write the operator makes per participant (Job,
  status Active) from the async client: the floor for the operator's own entry.
  *Halt* is what a person would type: ``kubectl delete jobs -l ... --wait=false``, then a
  status replace of every participant (``kubectl get -o json | jq | kubectl replace
  --subresource=status -f -``).

The same watch (``bench.tracker``) decides when every route is done.
"""

from __future__ import annotations

import asyncio
import logging
import shlex
import signal
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import memtrace
from bench.apicost import Meter
from bench.client import MERGE_PATCH, Api, bounded
from bench.cpu import CpuMeter
from bench.objects import (
    JOURNEY,
    job_manifest,
    jobs_path,
    journey_manifest,
    journeys_path,
    participant_manifest,
    participants_path,
)
from bench.process import Operator, Profiler
from bench.tracker import Tracker
from journeys.api import LABEL_JOURNEY, format_timestamp

logger = logging.getLogger(__name__)
ROUTES = ("operator", "raw", "kubectl")
#: The operator again with ``Settings.tuned_args`` (e.g. a higher --participant-concurrency).
TUNED = "operator-tuned"
NAMESPACE_LABEL = "journeys.dev/bench"


@dataclass
class Settings:
    kubectl: str
    concurrency: int = 128  # the bench client's workers (a sweep: 128 is where it stops gaining)
    operator_args: tuple[str, ...] = ()
    profile_dir: Path | None = None
    profile_format: str = "svg"  # svg (flame graph), txt (collapsed stacks), json (speedscope)
    idle_seconds: float = 3.0
    restart: bool = False  # also time an operator restart with the N participants in place
    burst: bool = False  # the operator route: participants created while it runs (not before)
    tuned_args: tuple[str, ...] = ()  # extra operator arguments of the operator-tuned route
    trace_memory: Path | None = None  # the operator under tracemalloc, snapshots written here

    def args_for(self, route: str) -> tuple[str, ...]:
        return (*self.operator_args, *(self.tuned_args if route == TUNED else ()))


@dataclass
class RouteResult:
    """One route for one N in one repeat."""

    route: str
    participants: int
    entry_seconds: float = 0.0
    entry_per_second: float = 0.0
    halt_seconds: float = 0.0
    creation_seconds: float | None = None  # the operator route: creating the N participants
    restart_seconds: float | None = None  # operator start -> first reconcile, N in place
    rss_bytes: dict[str, int] = field(default_factory=dict)  # "0", "entered", "halted", "peak"
    entry_cost: dict[str, Any] = field(default_factory=dict)
    halt_cost: dict[str, Any] = field(default_factory=dict)
    entry_cpu: dict[str, float] = field(default_factory=dict)  # CPU seconds by process
    halt_cpu: dict[str, float] = field(default_factory=dict)
    namespace_deletion_seconds: float = 0.0
    kubectl_steps: dict[str, float] = field(default_factory=dict)  # seconds per command

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _now() -> str:
    return format_timestamp(datetime.now(UTC))


def _timeout(n: int) -> float:
    """Generous but bounded: minutes at thousands of participants on a loaded 2-core machine."""
    return 120.0 + 0.25 * n


async def run_route(api: Api, route: str, n: int, settings: Settings) -> RouteResult:
    namespace = f"bench-{route}-{n}-{uuid.uuid4().hex[:5]}"
    await api.create_namespace(namespace, {NAMESPACE_LABEL: "true"})
    result = RouteResult(route, n)
    operator: Operator | None = None
    tracker: Tracker | None = None
    try:
        journey = await api.request("POST", journeys_path(namespace), journey_manifest())
        tracker = Tracker(api, namespace)
        if route.startswith("operator"):
            operator = await _idle_operator(api, namespace, settings, route, result)
            await tracker.start()
            await _operator_route(api, operator, journey, n, settings, tracker, result)
        else:
            participants = await _create_participants(api, journey, n, settings.concurrency)
            await tracker.start()
            await _baseline_route(
                api, route, namespace, journey, participants, settings, tracker, result
            )
        logger.info(
            "%s n=%d: entry %.1fs (%.0f/s), halt %.2fs",
            route,
            n,
            result.entry_seconds,
            result.entry_per_second,
            result.halt_seconds,
        )
    finally:
        if operator is not None:
            operator.stop()
        if tracker is not None:
            await tracker.stop()
        result.namespace_deletion_seconds = await api.delete_namespace(namespace, _timeout(n) * 3)
    return result


async def _create_participants(
    api: Api, journey: dict[str, Any], n: int, concurrency: int
) -> list[dict[str, Any]]:
    path = participants_path(journey["metadata"]["namespace"])

    def create(i: int) -> Callable[[], Awaitable[dict[str, Any]]]:
        return lambda: api.request("POST", path, participant_manifest(i, journey))

    return await bounded((create(i) for i in range(n)), concurrency)


async def _idle_operator(
    api: Api, namespace: str, settings: Settings, route: str, result: RouteResult
) -> Operator:
    """The operator, started with its journey and no participant; its RSS once it is Live."""
    if settings.trace_memory is None:
        operator = Operator(namespace, *settings.args_for(route))
    else:
        prefix = str(settings.trace_memory / namespace)
        operator = Operator(
            namespace,
            *settings.args_for(route),
            env={"JOURNEYS_MEMTRACE": prefix},
            module="bench.memtrace",
        )
    operator.start()
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            body = await api.request("GET", journeys_path(namespace, JOURNEY))
            if (body.get("status") or {}).get("phase") == "Live":
                break
            if not operator.alive():
                raise RuntimeError(f"the operator exited:\n{operator.output()}")
            await asyncio.sleep(0.5)
        else:
            raise TimeoutError("the operator did not report the journey Live within 60s")
        await asyncio.sleep(2.0)
        result.rss_bytes["0"] = operator.rss_bytes()
    except BaseException:
        operator.stop()
        raise
    return operator


async def _wait_settled(tracker: Tracker, n: int) -> None:
    """Every Job's pod is ready, so nothing else is being created while a halt is timed."""
    await tracker.until("ready pods", lambda t: t.jobs_ready >= n, _timeout(n))
    await asyncio.sleep(2.0)


async def _trace_memory(operator: Operator, settings: Settings, label: str) -> None:
    """With ``--trace-memory``: a tracemalloc snapshot of the operator now, top sites logged."""
    if settings.trace_memory is None or operator.process is None:
        return
    pattern = f"{operator.namespace}.*.done"
    before = set(settings.trace_memory.glob(pattern))
    operator.process.send_signal(signal.SIGUSR1)
    deadline = time.monotonic() + 300
    while not (new := set(settings.trace_memory.glob(pattern)) - before):
        if time.monotonic() > deadline or not operator.alive():
            raise RuntimeError(f"no tracemalloc snapshot from the operator:\n{operator.output()}")
        await asyncio.sleep(0.5)
    snapshot = new.pop().with_suffix(".snapshot")
    named = snapshot.with_name(f"{operator.namespace}.{label}.snapshot")
    snapshot.rename(named)
    logger.info("operator memory, %s:\n%s", label, memtrace.top(named))


def _peak_rss(operator: Operator) -> int:
    for line in Path(f"/proc/{operator.pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return 0


async def _operator_route(
    api: Api,
    operator: Operator,
    journey: dict[str, Any],
    n: int,
    settings: Settings,
    tracker: Tracker,
    result: RouteResult,
) -> None:
    namespace = operator.namespace

    def entered(t: Tracker) -> bool:
        if not operator.alive():
            raise RuntimeError(f"the operator exited:\n{operator.output()}")
        return t.phase("Active") >= n and len(t.jobs) >= n

    cpu = CpuMeter()
    if settings.burst:
        cpu.add("operator", operator.pid)
        meter = Meter(api, settings.idle_seconds, cpu)
        await meter.begin()
        profiler = _profiler(settings, operator, f"entry-{n}-{namespace}")
        started = time.monotonic()
        await _create_participants(api, journey, n, settings.concurrency)
        result.creation_seconds = round(time.monotonic() - started, 3)
    else:
        # The baselines' starting point: N participants waiting, then the operator comes.
        operator.stop()
        await _create_participants(api, journey, n, settings.concurrency)
        meter = Meter(api, settings.idle_seconds, cpu)
        await meter.begin()
        operator.start()  # the same object: run_route stops whichever process runs last
        await tracker.until("the first Job", lambda t: t.first_job_at is not None, _timeout(n))
        # From the first Job, like the baselines: the interpreter's start and the initial
        # listing are not entry work.
        cpu.add("operator", operator.pid)
        profiler = _profiler(settings, operator, f"entry-{n}-{namespace}")
    done = await tracker.until("admitted participants", entered, _timeout(n))
    result.entry_cpu = cpu.end()
    if profiler is not None:
        profiler.stop()
    result.entry_cost = asdict(await meter.end(n))
    assert tracker.first_job_at is not None
    result.entry_seconds = round(done - tracker.first_job_at, 3)
    result.entry_per_second = round(n / max(result.entry_seconds, 1e-6), 1)
    await _wait_settled(tracker, n)
    result.rss_bytes["entered"] = operator.rss_bytes()
    await _trace_memory(operator, settings, "entered")

    meter = Meter(api, settings.idle_seconds, cpu)
    await meter.begin()
    profiler = _profiler(settings, operator, f"halt-{n}-{namespace}")
    started = time.monotonic()
    await api.request(
        "PATCH",
        journeys_path(namespace, JOURNEY),
        {"spec": {"state": "stopped", "stopReason": "benchmark"}},
        content_type=MERGE_PATCH,
    )
    done = await tracker.until("halted participants", _halted(n), _timeout(n))
    result.halt_cpu = cpu.end()
    if profiler is not None:
        profiler.stop()
    result.halt_seconds = round(done - started, 3)
    result.halt_cost = asdict(await meter.end(n))
    result.rss_bytes["halted"] = operator.rss_bytes()
    result.rss_bytes["peak"] = _peak_rss(operator)
    await _trace_memory(operator, settings, "halted")
    if settings.restart:
        await _restart(api, operator, journey, n, tracker, result)


async def _restart(
    api: Api,
    operator: Operator,
    journey: dict[str, Any],
    n: int,
    tracker: Tracker,
    result: RouteResult,
) -> None:
    """A restart with N participants and N Jobs in place: how long until it acts again.

    A new participant of the (stopped) journey is created right after the start; the time
    until it is Rejected is the time the operator needs before it reconciles anything.
    """
    operator.stop()
    operator.start()
    await api.request(
        "POST", participants_path(operator.namespace), participant_manifest(n, journey)
    )
    done = await tracker.until("a reconcile after the restart", _rejected(1), 4 * _timeout(n))
    result.restart_seconds = round(done - operator.started_at, 3)
    result.rss_bytes["restarted"] = operator.rss_bytes()


def _rejected(count: int) -> Callable[[Tracker], bool]:
    return lambda t: t.phase("Rejected") >= count


def _profiler(settings: Settings, operator: Operator, name: str) -> Profiler | None:
    if settings.profile_dir is None:
        return None
    return Profiler(operator.pid, settings.profile_dir / f"{name}.{settings.profile_format}")


def _halted(n: int) -> Callable[[Tracker], bool]:
    return lambda t: t.jobs_halted >= n and t.phase("Halted") >= n


async def _baseline_route(
    api: Api,
    route: str,
    namespace: str,
    journey: dict[str, Any],
    participants: list[dict[str, Any]],
    settings: Settings,
    tracker: Tracker,
    result: RouteResult,
) -> None:
    n = len(participants)
    c = settings.concurrency
    jobs = jobs_path(namespace)

    def status(phase: str, reason: str, name: str) -> dict[str, Any]:
        return {"status": {"phase": phase, "reason": reason, "job": name, "enteredAt": _now()}}

    def patch(path: str, body: dict[str, Any]) -> Awaitable[dict[str, Any]]:
        return api.request("PATCH", path, body, content_type=MERGE_PATCH)

    def admit_all_writes(p: dict[str, Any]) -> Callable[[], Awaitable[None]]:
        name = p["metadata"]["name"]

        async def admit() -> None:  # owned already, as the mutating webhook leaves it
            await api.request("POST", jobs, job_manifest(journey, p))
            await patch(
                participants_path(namespace, name) + "/status", status("Active", "Admitted", name)
            )

        return admit

    def create_job(p: dict[str, Any]) -> Callable[[], Awaitable[dict[str, Any]]]:
        return lambda: api.request("POST", jobs, job_manifest(journey, p))

    def mark(p: dict[str, Any], phase: str, reason: str) -> Callable[[], Awaitable[Any]]:
        name = p["metadata"]["name"]
        return lambda: patch(
            participants_path(namespace, name) + "/status", status(phase, reason, name)
        )

    cpu = CpuMeter()
    meter = Meter(api, settings.idle_seconds, cpu)
    await meter.begin()
    if route == "raw":
        await bounded((create_job(p) for p in participants), c)
        done = await tracker.until("created Jobs", lambda t: len(t.jobs) >= n, _timeout(n))
    else:
        await bounded((admit_all_writes(p) for p in participants), c)
        done = await tracker.until(
            "admitted participants",
            lambda t: t.phase("Active") >= n and len(t.jobs) >= n,
            _timeout(n),
        )
    result.entry_cpu = cpu.end()
    result.entry_cost = asdict(await meter.end(n))
    assert tracker.first_job_at is not None
    result.entry_seconds = round(done - tracker.first_job_at, 3)
    result.entry_per_second = round(n / max(result.entry_seconds, 1e-6), 1)
    if route == "raw":  # untimed: make them look admitted, as the operator would have
        await bounded((mark(p, "Active", "Admitted") for p in participants), c)
        await tracker.until("Active participants", lambda t: t.phase("Active") >= n, _timeout(n))
    await _wait_settled(tracker, n)

    meter = Meter(api, settings.idle_seconds, cpu)
    await meter.begin()
    started = time.monotonic()
    if route == "raw":
        names = [p["metadata"]["name"] for p in participants]
        suspend = {"spec": {"suspend": True}}
        writes: list[Callable[[], Awaitable[Any]]] = []
        for name, p in zip(names, participants, strict=True):
            writes.append(lambda name=name: patch(f"{jobs}/{name}", suspend))  # type: ignore[misc]
            writes.append(mark(p, "Halted", "JourneyHalted"))
        await bounded(writes, c)
    else:
        result.kubectl_steps = await _kubectl_halt(settings.kubectl, api, namespace)
    done = await tracker.until("halted participants", _halted(n), _timeout(n))
    result.halt_cpu = cpu.end()
    result.halt_seconds = round(done - started, 3)
    result.halt_cost = asdict(await meter.end(n))


async def _kubectl_halt(kubectl: str, api: Api, namespace: str) -> dict[str, float]:
    """What a person types: delete the Jobs by label, then mark every participant Halted.

    Returns how long each command took (seconds).
    """
    selector = f"{LABEL_JOURNEY}={JOURNEY}"
    k = f"{shlex.quote(kubectl)} --kubeconfig {shlex.quote(str(api.kubeconfig))} -n {namespace}"
    mark = (
        '.items[] |= (.status.phase = "Halted" | .status.reason = "JourneyHalted" '
        "| .status.exitedAt = (now | todate))"
    )
    steps = {
        # --wait=false: kubectl's wait for each deleted object is throttled client-side to
        # 5 requests/s (measured: 41 s for 200 Jobs), which would only flatter the operator.
        "delete_jobs": f"{k} delete jobs -l {selector} --wait=false >/dev/null",
        "mark_participants": (
            f"{k} get participants -l {selector} -o json | jq {shlex.quote(mark)} "
            f"| {k} replace --subresource=status -f - >/dev/null"
        ),
    }
    took = {}
    for step, script in steps.items():
        started = time.monotonic()
        process = await asyncio.create_subprocess_exec(
            "bash", "-c", f"set -euo pipefail\n{script}", stderr=asyncio.subprocess.PIPE
        )
        try:
            _, stderr = await asyncio.wait_for(process.communicate(), 1800)
        except TimeoutError:
            process.kill()
            await process.wait()
            raise
        if process.returncode != 0:
            error = stderr.decode(errors="replace")[-2000:]
            raise RuntimeError(f"the kubectl route failed at {step}: {error}")
        took[step] = round(time.monotonic() - started, 3)
    return took
