"""The real ``journeys-operator`` in a child process: started, measured (RSS), stopped."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


class Operator:
    """``python -m journeys --namespace NS`` with its log in a temporary file."""

    def __init__(self, namespace: str, *extra: str) -> None:
        self.namespace = namespace
        self.extra = extra
        self.args = [
            sys.executable,
            "-m",
            "journeys",
            "--namespace",
            namespace,
            "--liveness",
            "",
            "--metrics-port",
            "0",
            *extra,
        ]
        self.log = Path(tempfile.mkstemp(prefix=f"bench-operator-{namespace}-", suffix=".log")[1])
        self.process: subprocess.Popen[bytes] | None = None
        self.started_at = 0.0

    def start(self) -> Operator:
        env = {**os.environ, "PYTHONPATH": str(ROOT / "operator")}
        with self.log.open("ab") as sink:
            self.started_at = time.monotonic()
            self.process = subprocess.Popen(
                self.args, stdout=sink, stderr=subprocess.STDOUT, env=env, cwd=ROOT
            )
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

    def stop(self, timeout: float = 30) -> None:
        """SIGTERM (Kopf exits cleanly, removing its webhook configurations), then SIGKILL."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout)

    def output(self, tail: int = 4000) -> str:
        return self.log.read_text(errors="replace")[-tail:]


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
