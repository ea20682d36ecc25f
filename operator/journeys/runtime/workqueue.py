"""A level-triggered work queue: deduplicated keys, one worker per key, delays and backoff.

Kopf feeds it from watch events; reconcilers read the latest state when a key comes up, so a
burst of events for one journey costs one reconcile, and a key is never processed by two
workers at once (which is what keeps one participant's admit and halt from racing).
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

from journeys.runtime import metrics

Key = TypeVar("Key", bound=Hashable)
logger = logging.getLogger(__name__)


class WorkQueue(Generic[Key]):
    """Runs ``handler(key)`` for added keys with at most ``concurrency`` running at once."""

    def __init__(
        self,
        name: str,
        handler: Callable[[Key], Awaitable[None]],
        concurrency: int,
        max_backoff: float = 300.0,
    ) -> None:
        self.name = name
        self._handler = handler
        self._slots = asyncio.Semaphore(concurrency)
        self._max_backoff = max_backoff
        self._ready: deque[Key] = deque()
        self._queued: set[Key] = set()
        self._running: set[Key] = set()
        self._dirty: set[Key] = set()
        self._delayed: list[tuple[float, int, Key]] = []
        self._failures: dict[Key, int] = {}
        self._scheduled: dict[Key, float] = {}
        self._counter = 0
        self._wakeup = asyncio.Event()
        self._tasks: set[asyncio.Task[None]] = set()
        self._open = asyncio.Event()
        self._open.set()

    def pause(self) -> None:
        """Start no key until :meth:`resume` (a standby replica); keys are still collected."""
        self._open.clear()

    def resume(self) -> None:
        self._open.set()

    def add(self, key: Key, delay: float = 0.0) -> None:
        """Ask for ``key`` to be processed (again) after ``delay`` seconds; duplicates merge."""
        if delay > 0:
            due = time.monotonic() + delay
            if self._scheduled.get(key, float("inf")) <= due:
                return  # already due no later than that
            self._scheduled[key] = due
            self._counter += 1
            heapq.heappush(self._delayed, (due, self._counter, key))
        elif key in self._running:
            self._dirty.add(key)
        elif key not in self._queued:
            self._queued.add(key)
            self._ready.append(key)
        self._wakeup.set()

    def __len__(self) -> int:
        return len(self._queued) + len(self._running)

    async def run(self) -> None:
        """Dispatch keys until cancelled."""
        try:
            while True:
                self._promote_due()
                if not self._ready:
                    self._wakeup.clear()
                    timeout = self._delayed[0][0] - time.monotonic() if self._delayed else None
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._wakeup.wait(), timeout)
                    continue
                await self._open.wait()
                await self._slots.acquire()
                key = self._ready.popleft()
                self._queued.discard(key)
                self._running.add(key)
                task = asyncio.create_task(self._process(key), name=f"{self.name}:{key}")
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
        finally:
            for task in list(self._tasks):
                task.cancel()

    def _promote_due(self) -> None:
        now = time.monotonic()
        while self._delayed and self._delayed[0][0] <= now:
            due, _, key = heapq.heappop(self._delayed)
            if self._scheduled.get(key) == due:
                del self._scheduled[key]
            self.add(key)

    async def _process(self, key: Key) -> None:
        try:
            await self._handler(key)
        except asyncio.CancelledError:
            raise
        except Exception:
            failures = self._failures.get(key, 0) + 1
            self._failures[key] = failures
            metrics.reconcile_failed(self.name)
            delay = min(self._max_backoff, 0.5 * 2 ** (failures - 1))
            logger.exception(
                "%s: %s failed (attempt %d), retrying in %.1fs", self.name, key, failures, delay
            )
            self.add(key, delay)
        else:
            self._failures.pop(key, None)
        finally:
            self._running.discard(key)
            self._slots.release()
            if key in self._dirty:
                self._dirty.discard(key)
                self.add(key)
