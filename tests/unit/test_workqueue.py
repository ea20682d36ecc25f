"""The work queue's guarantees: duplicates merge, one worker per key, delays, retries."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from journeys.runtime.workqueue import WorkQueue


@pytest.fixture
async def running() -> AsyncIterator[Callable[[WorkQueue[str]], None]]:
    tasks: list[asyncio.Task[None]] = []

    def start(queue: WorkQueue[str]) -> None:
        tasks.append(asyncio.create_task(queue.run()))

    yield start
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


async def settle(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    async def wait() -> None:
        while not condition():
            await asyncio.sleep(0.01)

    await asyncio.wait_for(wait(), timeout)


def recorder(delay: float = 0.0) -> tuple[Counter[str], Callable[[str], Awaitable[None]]]:
    calls: Counter[str] = Counter()

    async def handler(key: str) -> None:
        calls[key] += 1
        await asyncio.sleep(delay)

    return calls, handler


async def test_duplicates_added_before_processing_merge(running: Callable[..., None]) -> None:
    calls, handler = recorder()
    queue: WorkQueue[str] = WorkQueue("t", handler, concurrency=4)
    for _ in range(50):
        queue.add("a")
    queue.add("b")
    running(queue)
    await settle(lambda: calls["a"] == 1 and calls["b"] == 1)
    await asyncio.sleep(0.05)
    assert calls == Counter({"a": 1, "b": 1})


async def test_one_worker_per_key_and_a_rerun_after_changes(running: Callable[..., None]) -> None:
    active: Counter[str] = Counter()
    overlaps = 0
    calls: Counter[str] = Counter()

    async def handler(key: str) -> None:
        nonlocal overlaps
        active[key] += 1
        overlaps += active[key] > 1
        calls[key] += 1
        await asyncio.sleep(0.05)
        active[key] -= 1

    queue: WorkQueue[str] = WorkQueue("t", handler, concurrency=8)
    running(queue)
    queue.add("k")
    await settle(lambda: active["k"] == 1)
    for _ in range(10):  # changes arriving while "k" is being processed
        queue.add("k")
    await settle(lambda: calls["k"] == 2 and active["k"] == 0)
    await asyncio.sleep(0.1)
    assert overlaps == 0
    assert calls["k"] == 2  # processed once more, not ten times


async def test_concurrency_is_bounded(running: Callable[..., None]) -> None:
    in_flight = 0
    peak = 0

    async def handler(key: str) -> None:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(0.02)
        in_flight -= 1

    queue: WorkQueue[str] = WorkQueue("t", handler, concurrency=3)
    for i in range(20):
        queue.add(str(i))
    running(queue)
    await settle(lambda: len(queue) == 0)
    assert peak == 3


async def test_delayed_keys_wait_and_earlier_request_wins(running: Callable[..., None]) -> None:
    started: list[float] = []

    async def handler(key: str) -> None:
        started.append(time.monotonic())

    queue: WorkQueue[str] = WorkQueue("t", handler, concurrency=2)
    running(queue)
    added = time.monotonic()
    queue.add("later", delay=0.3)
    queue.add("later", delay=60.0)  # a later due time does not postpone the earlier one
    await settle(lambda: len(started) == 1, timeout=30.0)
    assert started[0] - added >= 0.3


def spy_on_delays(queue: WorkQueue[str]) -> list[float]:
    """The delays the queue asks for when it re-adds a key later (its retries, here)."""
    delays: list[float] = []
    add = queue.add

    def recording_add(key: str, delay: float = 0.0) -> None:
        if delay > 0:
            delays.append(delay)
        add(key, delay)

    queue.add = recording_add  # type: ignore[method-assign]
    return delays


def scripted(outcomes: list[bool]) -> tuple[list[float], Callable[[str], Awaitable[None]]]:
    """A handler that fails or succeeds in the given order; it records when it was called."""
    called: list[float] = []

    async def handler(key: str) -> None:
        called.append(time.monotonic())
        if not outcomes[len(called) - 1]:
            raise RuntimeError("API server unavailable")

    return called, handler


async def test_failures_are_retried_with_growing_backoff(running: Callable[..., None]) -> None:
    called, handler = scripted([False, False, True])
    queue: WorkQueue[str] = WorkQueue("t", handler, concurrency=1)
    delays = spy_on_delays(queue)
    running(queue)
    queue.add("x")
    await settle(lambda: len(called) == 3, timeout=30.0)  # 0.5 s, then 1 s of backoff
    assert delays == [0.5, 1.0]
    gaps = [later - earlier for earlier, later in itertools.pairwise(called)]
    # Each retry waited at least its delay (a lower bound: a loaded machine only adds to it;
    # the queue computes the due time after the handler's call, on the same clock).
    for gap, delay in zip(gaps, delays, strict=True):
        assert gap >= delay, (gaps, delays)
    await asyncio.sleep(0.05)
    assert len(called) == 3  # a success ends the retries


async def test_backoff_is_capped_and_a_success_resets_it(running: Callable[..., None]) -> None:
    called, handler = scripted([False, False, True, False, True])
    queue: WorkQueue[str] = WorkQueue("t", handler, concurrency=1, max_backoff=0.6)
    delays = spy_on_delays(queue)
    running(queue)
    queue.add("x")
    await settle(lambda: len(called) == 3, timeout=30.0)
    assert delays == [0.5, 0.6]  # not 1 s: capped
    queue.add("x")  # fails once more: the backoff starts again from its first step
    await settle(lambda: len(called) == 5, timeout=30.0)
    assert delays == [0.5, 0.6, 0.5]
