"""Watches one namespace's Jobs and Participants and says when a benchmark's goal is reached.

Every route is timed by the same observer: a list, then a watch, with counters updated per
event, so "done" is the moment the API server reported the last change, whoever made it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import aiohttp

from bench.client import Api, ApiError
from bench.objects import jobs_path, participants_path

logger = logging.getLogger(__name__)


@dataclass
class _Job:
    suspended: bool
    ready: bool


class Tracker:
    """Live counts of a namespace: Jobs (present, suspended, deleted, ready) and phases."""

    def __init__(self, api: Api, namespace: str) -> None:
        self._api = api
        self.namespace = namespace
        self.jobs: dict[str, _Job] = {}
        self.deleted_jobs = 0
        self.jobs_ready = 0  # kept up to date per event: goals are checked after every event
        self.jobs_suspended = 0
        self.phases: dict[str, str] = {}
        self.phase_counts: Counter[str] = Counter()
        self.first_job_at: float | None = None
        self.last_change_at = time.monotonic()
        self._changed = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    # --- counts -----------------------------------------------------------------------------

    @property
    def jobs_halted(self) -> int:
        """Jobs suspended or deleted since the tracker started."""
        return self.deleted_jobs + self.jobs_suspended

    def phase(self, phase: str) -> int:
        return self.phase_counts[phase]

    # --- lifecycle --------------------------------------------------------------------------

    async def start(self) -> None:
        jobs, jobs_rv = await self._api.list(jobs_path(self.namespace))
        for job in jobs:
            self._job("ADDED", job, initial=True)
        participants, participants_rv = await self._api.list(participants_path(self.namespace))
        for participant in participants:
            self._participant("ADDED", participant)
        self._tasks = [
            asyncio.create_task(self._follow(jobs_path(self.namespace), jobs_rv, self._job)),
            asyncio.create_task(
                self._follow(participants_path(self.namespace), participants_rv, self._participant)
            ),
        ]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []

    async def until(self, what: str, goal: Callable[[Tracker], bool], seconds: float) -> float:
        """Wait until ``goal`` holds; the monotonic time of the event that made it hold."""
        deadline = time.monotonic() + seconds
        while not goal(self):
            for task in self._tasks:
                if task.done():
                    task.result()  # a failed watch fails the benchmark, loudly
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"{self.namespace}: no {what} after {seconds:.0f}s ({self})")
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), min(left, 5.0))
        return self.last_change_at

    def __str__(self) -> str:
        phases = ", ".join(f"{k}={v}" for k, v in sorted(self.phase_counts.items()))
        return (
            f"jobs={len(self.jobs)} ready={self.jobs_ready} halted={self.jobs_halted}; "
            f"participants: {phases or 'none'}"
        )

    # --- events -----------------------------------------------------------------------------

    async def _follow(
        self, path: str, resource_version: str, apply: Callable[[str, dict[str, Any]], None]
    ) -> None:
        while True:
            try:
                async for kind, obj in self._api.watch(path, resource_version):
                    resource_version = obj.get("metadata", {}).get(
                        "resourceVersion", resource_version
                    )
                    if kind in {"ADDED", "MODIFIED", "DELETED"}:
                        apply(kind, obj)
                    elif kind == "ERROR":
                        raise ApiError(int(obj.get("code") or 500), str(obj.get("message")))
            except ApiError as error:
                if error.status == 410:
                    raise  # history lost: the counts could be wrong, so do not guess
                logger.warning("%s: watch failed (%s), resuming", path, error)
                await asyncio.sleep(0.5)
            except (aiohttp.ClientError, TimeoutError) as error:
                logger.warning("%s: watch interrupted (%r), resuming", path, error)
                await asyncio.sleep(1.0)

    def _touch(self) -> None:
        self.last_change_at = time.monotonic()
        self._changed.set()

    def _job(self, kind: str, job: dict[str, Any], initial: bool = False) -> None:
        name = job["metadata"]["name"]
        old = self.jobs.pop(name, None)
        if old is not None:
            self.jobs_ready -= old.ready
            self.jobs_suspended -= old.suspended
        if kind == "DELETED":
            self.deleted_jobs += old is not None
        else:
            if old is None and self.first_job_at is None and not initial:
                self.first_job_at = time.monotonic()
            new = _Job(
                suspended=bool(job.get("spec", {}).get("suspend")),
                ready=bool((job.get("status") or {}).get("ready")),
            )
            self.jobs[name] = new
            self.jobs_ready += new.ready
            self.jobs_suspended += new.suspended
        self._touch()

    def _participant(self, kind: str, participant: dict[str, Any]) -> None:
        name = participant["metadata"]["name"]
        old = self.phases.pop(name, None)
        if old is not None:
            self.phase_counts[old] -= 1
        if kind != "DELETED":
            phase = (participant.get("status") or {}).get("phase") or "Pending"
            self.phases[name] = phase
            self.phase_counts[phase] += 1
        self._touch()
