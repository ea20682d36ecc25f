"""API cost: deltas of the API server's ``apiserver_request_total`` around a phase.

The counter is cluster-wide and other clients (controllers, other test runs) add to it, so each
phase is preceded by an idle window of the same cluster whose rate is subtracted per series.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections import Counter
from dataclasses import dataclass, field

from bench.client import Api
from bench.cpu import CpuMeter

Series = tuple[str, str, str]  # (verb, resource[/subresource], group)
_LINE = re.compile(r"^apiserver_request_total\{(?P<labels>[^}]*)\} (?P<value>\S+)$", re.M)
_LABEL = re.compile(r'(\w+)="([^"]*)"')

#: The series the operator (or a baseline) writes or reads per participant; the rest is the
#: cluster's own reaction (the Job controller, the scheduler, kwok) and stays in the raw JSON.
#: Events are left out: the Job controller and the scheduler post one per pod, which would hide
#: the operator's (one per journey transition, none per admitted or halted participant).
CLIENT_SERIES: frozenset[Series] = frozenset(
    {
        ("POST", "jobs", "batch"),
        ("PATCH", "jobs", "batch"),
        ("DELETE", "jobs", "batch"),
        ("GET", "jobs", "batch"),
        ("LIST", "jobs", "batch"),
        ("PATCH", "participants", "journeys.dev"),
        ("PATCH", "participants/status", "journeys.dev"),
        ("PUT", "participants/status", "journeys.dev"),
        ("GET", "participants", "journeys.dev"),
        ("LIST", "participants", "journeys.dev"),
        ("PATCH", "journeys/status", "journeys.dev"),
    }
)


async def snapshot(api: Api) -> tuple[float, Counter[Series]]:
    """(monotonic time, request counts by series) right now."""
    text = await api.text("/metrics")
    now = time.monotonic()
    counts: Counter[Series] = Counter()
    for match in _LINE.finditer(text):
        labels = dict(_LABEL.findall(match["labels"]))
        if labels.get("dry_run"):
            continue
        resource = labels.get("resource", "")
        if labels.get("subresource"):
            resource += "/" + labels["subresource"]
        counts[(labels.get("verb", ""), resource, labels.get("group", ""))] += int(
            float(match["value"])
        )
    return now, counts


@dataclass
class Cost:
    """Requests during a phase, background-corrected, per participant."""

    participants: int
    seconds: float
    requests: dict[str, float] = field(default_factory=dict)  # "VERB resource": net count
    raw: dict[str, int] = field(default_factory=dict)  # the same, before the background
    background_per_second: float = 0.0


class Meter:
    """Measures a phase: ``await meter.begin()``, run it, ``cost = await meter.end(n)``.

    The idle window also gives ``cpu`` (when passed) the cluster's background CPU rate.
    """

    def __init__(self, api: Api, idle_seconds: float = 3.0, cpu: CpuMeter | None = None) -> None:
        self._api = api
        self._idle = idle_seconds
        self._cpu = cpu
        self._rate: dict[Series, float] = {}
        self._start: tuple[float, Counter[Series]] | None = None

    async def begin(self) -> None:
        """An idle window (the cluster's background rate), then the phase's start."""
        if self._idle > 0:
            if self._cpu is not None:
                self._cpu.begin()
            t0, before = await snapshot(self._api)
            await asyncio.sleep(self._idle)
            t1, after = await snapshot(self._api)
            if self._cpu is not None:
                self._cpu.learn_background()
            self._rate = {s: (after[s] - before[s]) / (t1 - t0) for s in after}
            self._start = (t1, after)
        else:
            self._start = await snapshot(self._api)
        if self._cpu is not None:
            self._cpu.begin()

    async def end(self, participants: int) -> Cost:
        assert self._start is not None, "begin() first"
        t0, before = self._start
        t1, after = await snapshot(self._api)
        seconds = t1 - t0
        requests: dict[str, float] = {}
        raws: dict[str, int] = {}
        for series in after:
            raw = after[series] - before[series]
            net = raw - self._rate.get(series, 0.0) * seconds
            if raw:
                verb, resource, _ = series
                key = f"{verb} {resource}"
                requests[key] = round(requests.get(key, 0.0) + max(net, 0.0), 1)
                raws[key] = raws.get(key, 0) + raw
        background = sum(self._rate.values())
        return Cost(max(participants, 1), round(seconds, 3), requests, raws, round(background, 2))
