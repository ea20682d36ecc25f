"""Prometheus metrics: what a platform team alerts on and graphs (docs/observability.md).

Counts of objects are read from Kopf's indexes when Prometheus scrapes, so they cannot drift
from the operator's view and cost nothing between scrapes; only the active replica reports them
(a standby's indexes are empty), so summing over pods never double counts. Counters and
histograms are updated by the reconcilers through the few functions below.

The endpoint is served by aiohttp on Kopf's own event loop: the scrape-time collector then reads
the indexes from the thread that writes them.
"""

from __future__ import annotations

import argparse
import logging
from collections import Counter as Tally
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Final

import kopf
from aiohttp import web
from prometheus_client import REGISTRY, Counter, Histogram, disable_created_metrics
from prometheus_client.aiohttp import make_aiohttp_handler
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from journeys.api.models import JourneyPhase, JourneyStatus, ParticipantPhase

logger = logging.getLogger(__name__)
disable_created_metrics()  # type: ignore[no-untyped-call]  # *_created series: noise

DEFAULT_PORT: Final = 8081
PREFIX: Final = "journeys"
#: From a few seconds (a stop of tens of participants) to the default 91-day drain.
_DURATION_BUCKETS: Final = (
    1.0,
    2.5,
    5.0,
    10.0,
    30.0,
    60.0,
    300.0,
    900.0,
    3600.0,
    6 * 3600.0,
    86400.0,
    7 * 86400.0,
    30 * 86400.0,
    91 * 86400.0,
)

ENTRIES_ADMITTED = Counter(
    f"{PREFIX}_entries_admitted",
    "Participants admitted into a journey (their Job was created).",
    ["namespace"],
)
ENTRIES_REFUSED = Counter(
    f"{PREFIX}_entries_refused",
    "Entries refused, by participant reason (JourneyClosed, CapacityReached, ...) and by who "
    "refused them: the operator (participant marked Rejected) or the admission webhook.",
    ["namespace", "reason", "source"],
)
HALT_DURATION = Histogram(
    f"{PREFIX}_halt_duration_seconds",
    "From a journey's stop (or drain timeout) until its last participant was halted.",
    ["phase"],
    buckets=_DURATION_BUCKETS,
)
DRAIN_DURATION = Histogram(
    f"{PREFIX}_drain_duration_seconds",
    "From a journey's close until it finished, by how it finished (Drained, DrainTimedOut).",
    ["outcome"],
    buckets=_DURATION_BUCKETS,
)
RECONCILE_ERRORS = Counter(
    f"{PREFIX}_reconcile_errors",
    "Reconciles that raised and were retried with backoff, by work queue.",
    ["queue"],
)


# --- the reconcilers' calls ----------------------------------------------------------------------


def entry_admitted(namespace: str) -> None:
    ENTRIES_ADMITTED.labels(namespace=namespace).inc()


def entry_refused(namespace: str, reason: str, source: str = "operator") -> None:
    ENTRIES_REFUSED.labels(namespace=namespace, reason=reason or "Unknown", source=source).inc()


def reconcile_failed(queue: str) -> None:
    RECONCILE_ERRORS.labels(queue=queue).inc()


@dataclass
class _JourneyProgress:
    """What this process saw of each unfinished journey, to time its halt and its drain.

    Only statuses the operator computed are looked at (never the watch's lagging copy), and the
    start of each clock comes from the status itself, so a halt that another replica began is
    timed correctly after a failover. A journey is forgotten once terminal and done halting.
    """

    phases: dict[tuple[str, str], JourneyPhase] = field(default_factory=dict)
    halting: set[tuple[str, str]] = field(default_factory=set)
    #: Halts already timed, by start: a late entry rejected after the stop is no second halt.
    timed: set[tuple[tuple[str, str], datetime]] = field(default_factory=set)

    def observe(self, key: tuple[str, str], status: JourneyStatus, now: datetime) -> None:
        previous = self.phases.get(key)
        phase = status.phase
        if (
            phase == JourneyPhase.FINISHED
            and previous in (JourneyPhase.LIVE, JourneyPhase.CLOSED)
            and status.closed_at is not None
            and status.finished_at is not None
        ):
            outcome = _condition_reason(status, "Finished")
            DRAIN_DURATION.labels(outcome=outcome).observe(
                max((status.finished_at - status.closed_at).total_seconds(), 0.0)
            )
        halting = _condition_reason(status, "Reconciling") == "Halting" and _is_true(
            status, "Reconciling"
        )
        if halting:
            self.halting.add(key)
        elif key in self.halting:
            self.halting.discard(key)
            started = status.stopped_at if phase == JourneyPhase.STOPPED else status.finished_at
            if started is not None and phase is not None and (key, started) not in self.timed:
                self.timed.add((key, started))
                HALT_DURATION.labels(phase=phase.value).observe(
                    max((now - started).total_seconds(), 0.0)
                )
        if phase in (JourneyPhase.FINISHED, JourneyPhase.STOPPED) and not halting:
            self.phases.pop(key, None)
        elif phase is not None:
            self.phases[key] = phase


_progress = _JourneyProgress()


def journey_status(key: tuple[str, str], status: JourneyStatus, now: datetime) -> None:
    """Called with every status the journey reconciler computes; times halts and drains."""
    _progress.observe(key, status, now)


def _condition_reason(status: JourneyStatus, type_: str) -> str:
    return next((c.reason for c in status.conditions if c.type == type_), "")


def _is_true(status: JourneyStatus, type_: str) -> bool:
    return any(c.type == type_ and c.status == "True" for c in status.conditions)


# --- scrape-time gauges --------------------------------------------------------------------------


class StateCollector(Collector):
    """Journeys and participants by phase, and queue depths, from the live manager."""

    def __init__(self, memo: kopf.Memo) -> None:
        self._memo = memo

    def describe(self) -> Iterator[GaugeMetricFamily]:
        yield from self._families()

    def collect(self) -> Iterator[GaugeMetricFamily]:
        journeys, participants, queues, leader = self._families()
        manager = self._memo.get("manager")
        standby = not self._memo.get("leading", True)
        leader.add_metric([], 0.0 if standby else 1.0)
        yield leader
        if manager is None or standby or manager.state.indexes is None:
            return
        state = manager.state
        journey_counts: Tally[tuple[str, str]] = Tally()
        for key in state.ready.journeys:
            body = state.journey_body(key) or {}
            phase = (body.get("status") or {}).get("phase") or "Unknown"
            journey_counts[(key[0], phase)] += 1
        participant_counts: Tally[tuple[str, str]] = Tally()
        for key in state.participant_keys():
            view = state.participant(key)
            if view is not None:
                participant_counts[(view.namespace, state.phase_of(view).value)] += 1
        for (namespace, phase), count in _with_zeros(journey_counts, JourneyPhase).items():
            journeys.add_metric([namespace, phase], count)
        for (namespace, phase), count in _with_zeros(participant_counts, ParticipantPhase).items():
            participants.add_metric([namespace, phase], count)
        for queue in (manager.journeys, manager.participants):
            queues.add_metric([queue.name], len(queue))
        yield journeys
        yield participants
        yield queues

    @staticmethod
    def _families() -> tuple[
        GaugeMetricFamily, GaugeMetricFamily, GaugeMetricFamily, GaugeMetricFamily
    ]:
        return (
            GaugeMetricFamily(
                f"{PREFIX}_journeys_by_phase",
                "Journeys by effective phase (status.phase).",
                labels=["namespace", "phase"],
            ),
            GaugeMetricFamily(
                f"{PREFIX}_participants_by_phase",
                "Participants by phase.",
                labels=["namespace", "phase"],
            ),
            GaugeMetricFamily(
                f"{PREFIX}_workqueue_depth",
                "Keys waiting or being reconciled, by work queue.",
                labels=["queue"],
            ),
            GaugeMetricFamily(
                f"{PREFIX}_operator_leader",
                "1 on the replica that reconciles (peering leader, or standalone), 0 on a standby.",
            ),
        )


def _with_zeros(
    counts: Tally[tuple[str, str]], phases: Iterable[StrEnum]
) -> dict[tuple[str, str], int]:
    """Every phase of every namespace seen, zeros included: alerts need the series to exist."""
    namespaces = {namespace for namespace, _ in counts}
    full = {(namespace, phase.value): 0 for namespace in namespaces for phase in phases}
    full.update(counts)
    return full


# --- the endpoint --------------------------------------------------------------------------------


@dataclass(frozen=True)
class MetricsOptions:
    port: int = DEFAULT_PORT
    host: str = "0.0.0.0"

    @property
    def enabled(self) -> bool:
        return self.port != 0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("metrics (docs/observability.md)")
    group.add_argument(
        "--metrics-port",
        type=int,
        default=DEFAULT_PORT,
        help=f"serve Prometheus metrics on this port at /metrics (default {DEFAULT_PORT}; "
        "0 disables; --dev binds 127.0.0.1 only)",
    )


def options_from(args: argparse.Namespace) -> MetricsOptions:
    return MetricsOptions(port=args.metrics_port, host="127.0.0.1" if args.dev else "0.0.0.0")


def install(
    options: MetricsOptions, memo: kopf.Memo, registry: kopf.OperatorRegistry | None = None
) -> None:
    """Register the start-up and clean-up steps that serve ``/metrics``; before ``kopf.run``."""
    if not options.enabled:
        return
    collector = StateCollector(memo)

    async def serve_metrics(**_: Any) -> None:
        app = web.Application()
        app.router.add_get("/metrics", make_aiohttp_handler(REGISTRY))
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        try:
            await web.TCPSite(runner, options.host, options.port).start()
        except OSError as error:  # a port taken is a configuration error: say so and stop
            await runner.cleanup()
            message = f"cannot serve metrics on port {options.port}: {error}"
            raise kopf.PermanentError(message) from error
        REGISTRY.register(collector)
        memo["metrics_runner"] = runner
        logger.info("Serving metrics at http://%s:%d/metrics", options.host, options.port)

    async def stop_metrics(**_: Any) -> None:
        runner: web.AppRunner | None = memo.get("metrics_runner")
        if runner is not None:
            REGISTRY.unregister(collector)
            await runner.cleanup()

    kopf.on.startup(id="serve-metrics", registry=registry)(serve_metrics)
    kopf.on.cleanup(id="stop-metrics", registry=registry)(stop_metrics)
