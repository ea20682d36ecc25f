"""The real ``journeys-operator`` in a child process: started, measured (RSS), stopped.

The integration tests run the same process (``tests.integration.support`` imports it from here):
the benchmarks measure exactly what the tests check.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

ROOT = Path(__file__).resolve().parents[1]


class OperatorProcess:
    """The real ``journeys-operator`` command in a child process, so tests can kill -9 it."""

    def __init__(
        self,
        namespace: str,
        *extra: str,
        env: Mapping[str, str] | None = None,
        module: str = "journeys",
    ) -> None:
        self.namespace = namespace
        self.env = {**os.environ, **(env or {})}  # e.g. KUBECONFIG of another identity
        self.args = [
            sys.executable,
            "-m",
            module,  # bench.memtrace: the same command under tracemalloc
            "--namespace",
            namespace,
            "--liveness",
            "",
            "--metrics-port",
            "0",
            *extra,
        ]
        self.log = Path(tempfile.mkstemp(prefix="journeys-operator-", suffix=".log")[1])
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> OperatorProcess:
        with self.log.open("ab") as sink:
            self.process = subprocess.Popen(
                self.args, stdout=sink, stderr=subprocess.STDOUT, env=self.env
            )
        return self

    def kill(self) -> None:
        """SIGKILL: no cleanup, exactly like a crashed pod."""
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()

    def output(self) -> str:
        return self.log.read_text(errors="replace")


class Operator(OperatorProcess):
    """The tests' operator process (``python -m journeys --namespace NS``), plus what the
    benchmarks read of it: its pid for RSS and profiling, and when it started."""

    started_at: float = 0.0  # monotonic, set by start()

    def start(self) -> Operator:
        self.started_at = time.monotonic()
        super().start()
        return self

    @property
    def pid(self) -> int:
        assert self.process is not None, "start() first"
        return self.process.pid

    def rss_bytes(self) -> int:
        """VmRSS of the operator process, from /proc."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        raise RuntimeError("no VmRSS")

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None


class Profiler:
    """``py-spy record --pid`` attached to the operator for one phase (SIGINT ends it)."""

    def __init__(self, pid: int, output: Path) -> None:
        py_spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
        kind = {".json": "speedscope", ".txt": "raw"}.get(output.suffix, "flamegraph")
        command = [py_spy, "record", "--pid", str(pid), "--rate", "100", "--nonblocking"]
        self.output = output
        self.process = subprocess.Popen(
            [*command, "--format", kind, "--output", str(output)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def stop(self, timeout: float = 60) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout)


# --- the operator's metrics endpoint ------------------------------------------------------------


def free_port() -> int:
    """A loopback port free now, for an operator's metrics or health endpoint."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def scrape(port: int) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample of the endpoint: (name, labels) -> value; empty while it does not answer."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
            text = response.read().decode()
    except OSError:
        return {}
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def sample(samples: dict[Any, float], name: str, **labels: str) -> float | None:
    return samples.get((name, frozenset(labels.items())))
