"""Admission latency: Participant creation at a steady rate, with and without the webhooks.

One operator with ``--admission dev`` keeps running for the whole measurement, and creations
alternate in blocks between "webhook configurations registered" and "removed", so both sides
share the same background (the operator admitting every participant, other work on the
machine). Creations are paced at a steady rate rather than back to back, as entries arrive in
production.
"""

from __future__ import annotations

import asyncio
import logging
import statistics
import time
import uuid
from dataclasses import asdict, dataclass
from typing import Any

from bench.client import Api, ApiError
from bench.objects import JOURNEY, journey_manifest, journeys_path, participants_path
from bench.process import Operator
from journeys.api import API_VERSION, LABEL_JOURNEY, PARTICIPANT_KIND
from journeys.webhooks.configurations import dev_configuration_name

logger = logging.getLogger(__name__)
ADMISSION_API = "/apis/admissionregistration.k8s.io/v1"
KINDS = ("validatingwebhookconfigurations", "mutatingwebhookconfigurations")


@dataclass
class Side:
    """Latencies (ms) of one side."""

    count: int
    median_ms: float
    p99_ms: float
    max_ms: float


@dataclass
class AdmissionResult:
    rate_per_second: float
    with_webhooks: Side
    without: Side
    added_median_ms: float
    added_p99_ms: float
    timings_ms: dict[str, list[float]]  # every creation, for pooled percentiles

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))
    return ordered[index]


def _side(values: list[float]) -> Side:
    return Side(
        len(values),
        round(statistics.median(values), 2),
        round(percentile(values, 0.99), 2),
        round(max(values), 2),
    )


class _Entries:
    """Participant creations with a running counter; dry-runs probe whether webhooks answer."""

    def __init__(self, api: Api, namespace: str) -> None:
        self._api = api
        self._path = participants_path(namespace)
        self._next = 0

    async def create(self, dry_run: bool = False) -> dict[str, Any]:
        i = self._next
        self._next += 1
        body = {
            "apiVersion": API_VERSION,
            "kind": PARTICIPANT_KIND,
            "metadata": {"name": f"a-{i:05d}"},
            "spec": {"journey": JOURNEY, "profile": f"profile-{i}"},
        }
        params = {"dryRun": "All"} if dry_run else None
        return await self._api.request("POST", self._path, body, params)

    async def webhooks_answer(self) -> bool:
        """The mutating webhook labels participants: a dry-run shows whether it ran."""
        try:
            created = await self.create(dry_run=True)
        except ApiError:
            return False
        return LABEL_JOURNEY in (created.get("metadata", {}).get("labels") or {})


async def _until(what: str, probe: Any, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not await probe():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        await asyncio.sleep(0.2)


async def run(
    api: Api, count: int = 300, block: int = 50, rate: float = 10.0, warmup: int = 20
) -> AdmissionResult:
    """``count`` paced creations per side, alternating sides every ``block`` creations."""
    namespace = f"bench-admission-{uuid.uuid4().hex[:6]}"
    await api.create_namespace(namespace, {"journeys.dev/bench": "true"})
    operator = Operator(namespace, "--admission", "dev").start()
    name = dev_configuration_name([namespace])
    try:
        await api.request("POST", journeys_path(namespace), journey_manifest())
        entries = _Entries(api, namespace)
        await _until("the operator's webhooks", entries.webhooks_answer, 90)
        saved = {kind: await _configuration(api, kind, name) for kind in KINDS}
        for _ in range(warmup):
            await entries.create()

        async def switch(on: bool) -> None:
            for kind in KINDS:
                if on:
                    await api.request("POST", f"{ADMISSION_API}/{kind}", saved[kind])
                else:
                    await api.request("DELETE", f"{ADMISSION_API}/{kind}/{name}")

            async def switched() -> bool:
                return await entries.webhooks_answer() == on

            await _until("the webhooks to switch", switched, 30)
            for _ in range(5):  # not counted: the first requests after a switch
                await entries.create()

        timings: dict[bool, list[float]] = {True: [], False: []}
        side = True
        interval = 1.0 / rate
        while min(len(t) for t in timings.values()) < count:
            for _ in range(min(block, count - len(timings[side]))):
                started = time.perf_counter()
                await entries.create()
                elapsed = time.perf_counter() - started
                timings[side].append(elapsed * 1000)
                await asyncio.sleep(max(0.0, interval - elapsed))
            side = not side
            await switch(side)
        with_, without = _side(timings[True]), _side(timings[False])
        return AdmissionResult(
            rate,
            with_,
            without,
            round(with_.median_ms - without.median_ms, 2),
            round(with_.p99_ms - without.p99_ms, 2),
            {
                "with": [round(t, 2) for t in timings[True]],
                "without": [round(t, 2) for t in timings[False]],
            },
        )
    finally:
        operator.stop()  # a clean exit removes its configurations; make sure anyway
        for kind in KINDS:
            try:
                await api.request("DELETE", f"{ADMISSION_API}/{kind}/{name}")
            except ApiError as error:
                if error.status != 404:
                    logger.warning("could not delete %s %s: %s", kind, name, error)
        await api.delete_namespace(namespace)


async def _configuration(api: Api, kind: str, name: str) -> dict[str, Any]:
    """The configuration as it can be created again (no server-set metadata)."""
    body = await api.request("GET", f"{ADMISSION_API}/{kind}/{name}")
    body["metadata"] = {"name": name, "labels": body["metadata"].get("labels") or {}}
    return body
