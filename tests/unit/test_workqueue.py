"""The work queue's guarantees: duplicates merge, one worker per key, delays, retries."""

from __future__ import annotations

import asyncio
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


async def settle(condition: Callable[[], bool], timeout: float = 2.0) -> None:
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
    calls, handler = recorder()
    queue: WorkQueue[str] = WorkQueue("t", handler, concurrency=2)
    running(queue)
    queue.add("later", delay=0.3)
    queue.add("later", delay=5.0)  # a later due time does not postpone the earlier one
    await asyncio.sleep(0.1)
    assert calls["later"] == 0
    await settle(lambda: calls["later"] == 1, timeout=1.0)


async def test_failures_are_retried_with_backoff(running: Callable[..., None]) -> None:
    attempts = 0

    async def flaky(key: str) -> None:
        nonlocal attempts
        attempts += 1
        if attempts < 3:
            raise RuntimeError("API server unavailable")

    queue: WorkQueue[str] = WorkQueue("t", flaky, concurrency=1)
    running(queue)
    queue.add("x")
    await settle(lambda: attempts == 3, timeout=3.0)  # 0.5 s then 1 s backoff
