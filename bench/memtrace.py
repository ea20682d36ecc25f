"""The operator under ``tracemalloc``: where its memory goes, by allocation site.

``python -m bench.memtrace ARGS`` runs ``python -m journeys ARGS`` with tracemalloc on; SIGUSR1
writes a snapshot next to ``JOURNEYS_MEMTRACE`` (a path prefix), numbered, so the bench can take
one after entry and one after the halt (``--trace-memory DIR``). Tracing slows the operator
severalfold: a traced run measures memory, never speed.
"""

from __future__ import annotations

import itertools
import os
import runpy
import signal
import sys
import tracemalloc
from pathlib import Path
from types import FrameType

#: Frames kept per allocation: enough to see through Kopf's and aiohttp's helpers to the caller.
FRAMES = 12
_counter = itertools.count(1)


def _dump(_signum: int, _frame: FrameType | None) -> None:
    prefix = os.environ["JOURNEYS_MEMTRACE"]
    path = Path(f"{prefix}.{next(_counter)}.snapshot")
    tracemalloc.take_snapshot().dump(str(path))
    path.with_suffix(".done").touch()


def top(snapshot_path: Path, limit: int = 25, group: str = "traceback") -> str:
    """The largest allocation sites of a snapshot, as text (the bench prints it)."""
    snapshot = tracemalloc.Snapshot.load(str(snapshot_path)).filter_traces(
        (tracemalloc.Filter(False, tracemalloc.__file__),)
    )
    stats = snapshot.statistics(group)
    total = sum(stat.size for stat in stats)
    lines = [f"{snapshot_path.name}: {total / 2**20:.1f} MiB traced in {len(stats)} sites"]
    for stat in stats[:limit]:
        lines.append(f"{stat.size / 2**20:8.2f} MiB {stat.count:9d} blocks")
        frames = stat.traceback.format(limit=FRAMES, most_recent_first=True)
        lines.extend(f"    {frame.strip()}" for frame in frames if frame.strip())
    return "\n".join(lines)


def main() -> None:
    tracemalloc.start(FRAMES)
    signal.signal(signal.SIGUSR1, _dump)
    sys.argv = ["journeys", *sys.argv[1:]]
    runpy.run_module("journeys", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
