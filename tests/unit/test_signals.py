"""A repeated SIGTERM during the operator's shutdown is not an error (no cluster)."""

from __future__ import annotations

import asyncio
import os
import signal
from typing import Any

from journeys.__main__ import FirstSignalLoop


def stop_on_signal_twice(loop: asyncio.AbstractEventLoop) -> list[dict[str, Any]]:
    """Kopf's way to stop (a future resolved by the signal handler), the signal sent twice;
    what the loop reported as unhandled errors."""
    errors: list[dict[str, Any]] = []
    loop.set_exception_handler(lambda _, context: errors.append(context))

    async def main() -> signal.Signals:
        stopped: asyncio.Future[signal.Signals] = loop.create_future()
        loop.add_signal_handler(signal.SIGUSR1, stopped.set_result, signal.SIGUSR1)
        try:
            os.kill(os.getpid(), signal.SIGUSR1)
            result = await asyncio.wait_for(stopped, 10)
            os.kill(os.getpid(), signal.SIGUSR1)  # make forwarding what the group already got
            for _ in range(20):  # let the second delivery be handled
                await asyncio.sleep(0.01)
            return result
        finally:
            loop.remove_signal_handler(signal.SIGUSR1)

    try:
        assert loop.run_until_complete(main()) == signal.SIGUSR1
    finally:
        loop.close()
    return errors


def test_a_repeated_signal_is_ignored() -> None:
    assert stop_on_signal_twice(FirstSignalLoop()) == []


def test_without_it_asyncio_reports_the_second_signal() -> None:
    """What the operator logged before: proves the test above can fail."""
    errors = stop_on_signal_twice(asyncio.SelectorEventLoop())
    assert [type(e.get("exception")) for e in errors] == [asyncio.InvalidStateError]
