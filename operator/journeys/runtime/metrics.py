"""Prometheus metrics: what a platform team alerts on and graphs (docs/observability.md).

Counts of objects are read from the operator's view (a ``Snapshot`` callable) when Prometheus
scrapes, so they cannot drift from it and cost nothing between scrapes; only the active replica
reports them, so summing over pods never double counts. Counters and histograms are updated by
the reconcilers through the few functions below. This module knows no journey rules: what to
count and when a halt or drain is over is decided by the caller.

The endpoint is served by aiohttp on Kopf's own event loop: the scrape-time collector then reads
the indexes from the thread that writes them.
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Final

import kopf
from aiohttp import web
from prometheus_client import REGISTRY, Counter, Histogram, disable_created_metrics
from prometheus_client.aiohttp import make_aiohttp_handler
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

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
WATCH_EVENTS = Counter(
    f"{PREFIX}_watch_events",
    "Watch events this replica received, by resource. Sharded replicas each receive their "
    "shard's Jobs; every replica receives every journey and participant (docs/scaling.md).",
    ["resource"],
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


def watch_event(resource: str) -> None:
    WATCH_EVENTS.labels(resource=resource).inc()


def reconcile_failed(queue: str) -> None:
    RECONCILE_ERRORS.labels(queue=queue).inc()


def halt_timed(phase: str, seconds: float) -> None:
    """A halt finished (``core.clocks`` decides when, once per halt)."""
    HALT_DURATION.labels(phase=phase).observe(max(seconds, 0.0))


def drain_timed(outcome: str, seconds: float) -> None:
    """A drain finished (``core.clocks`` decides when, once per drain)."""
    DRAIN_DURATION.labels(outcome=outcome).observe(max(seconds, 0.0))


# --- scrape-time gauges --------------------------------------------------------------------------


@dataclass(frozen=True)
class Snapshot:
    """Counts at scrape time: (namespace, phase) -> objects, and queue name -> depth."""

    journeys: Mapping[tuple[str, str], int]
    participants: Mapping[tuple[str, str], int]
    queues: Mapping[str, int]


class StateCollector(Collector):
    """Journeys and participants by phase, and queue depths, from what ``snapshot`` reports.

    ``snapshot`` returns None while there is nothing to report yet (indexes not complete).
    """

    def __init__(
        self, snapshot: Callable[[], Snapshot | None], leading: Callable[[], bool]
    ) -> None:
        self._snapshot = snapshot
        self._leading = leading

    def describe(self) -> Iterator[GaugeMetricFamily]:
        yield from self._families()

    def collect(self) -> Iterator[GaugeMetricFamily]:
        journeys, participants, queues, leader = self._families()
        leading = self._leading()
        leader.add_metric([], 1.0 if leading else 0.0)
        yield leader
        snapshot = self._snapshot() if leading else None
        if snapshot is None:
            return
        for (namespace, phase), count in snapshot.journeys.items():
            journeys.add_metric([namespace, phase], count)
        for (namespace, phase), count in snapshot.participants.items():
            participants.add_metric([namespace, phase], count)
        for name, depth in snapshot.queues.items():
            queues.add_metric([name], depth)
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


class MetricsServer:
    """``/metrics`` on Kopf's event loop, started and stopped by ``journeys.app``."""

    def __init__(self, options: MetricsOptions, collector: StateCollector) -> None:
        self._options = options
        self._collector = collector
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        options = self._options
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
        REGISTRY.register(self._collector)
        self._runner = runner
        logger.info("Serving metrics at http://%s:%d/metrics", options.host, options.port)

    async def stop(self) -> None:
        if self._runner is not None:
            REGISTRY.unregister(self._collector)
            await self._runner.cleanup()
            self._runner = None
