"""CPU time spent during a phase by the operator and each process of the local cluster.

Read from /proc/PID/stat (user + system); the cluster's pids come from the pid files that
hack/cluster.py writes. On another cluster (kind, remote) only the operator is reported.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from bench.client import default_kubeconfig

TICKS = os.sysconf("SC_CLK_TCK")
COMPONENTS = ("kube-apiserver", "etcd", "kube-controller-manager", "kube-scheduler", "kwok")


def cpu_seconds(pid: int) -> float | None:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime


def cluster_pids() -> dict[str, int]:
    """The local cluster's processes, when the kubeconfig is the local cluster's."""
    directory = default_kubeconfig().parent
    pids = {}
    for name in COMPONENTS:
        try:
            pids[name] = int((directory / f"{name}.pid").read_text().strip())
        except (FileNotFoundError, ValueError):
            continue
    return pids


def apiserver_pid() -> int | None:
    """The local cluster's kube-apiserver pid: it changes when the control plane restarts."""
    return cluster_pids().get("kube-apiserver")


class CpuMeter:
    """``begin()`` then ``end()``: CPU seconds per process in between.

    The cluster is shared: ``learn_background()`` after an idle window records each process's
    background rate, which ``end()`` then subtracts (never below zero).
    """

    def __init__(self) -> None:
        self._pids = cluster_pids()
        self._start: dict[str, float] = {}
        self._started_at = 0.0
        self._background: dict[str, float] = {}

    def add(self, name: str, pid: int) -> None:
        """Also measure this process (the operator, once started), with no background."""
        self._pids[name] = pid
        self._start[name] = cpu_seconds(pid) or 0.0

    def _read(self) -> dict[str, float]:
        return {name: cpu_seconds(pid) or 0.0 for name, pid in self._pids.items()}

    def begin(self) -> None:
        self._start = self._read()
        self._started_at = time.monotonic()

    def learn_background(self) -> None:
        elapsed = max(time.monotonic() - self._started_at, 1e-3)
        now = self._read()
        self._background = {k: (now[k] - self._start.get(k, 0.0)) / elapsed for k in now}

    def end(self) -> dict[str, float]:
        elapsed = time.monotonic() - self._started_at
        used = {}
        for name, now in self._read().items():
            spent = now - self._start.get(name, 0.0) - self._background.get(name, 0.0) * elapsed
            used[name] = round(max(spent, 0.0), 2)
        return used
