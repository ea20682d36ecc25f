"""Faults and races on the real cluster: nothing admitted after close, nothing lost, no resume.

Each test is bounded in time; docs/reliability.md keeps the table of what was tried and held.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path

import pytest
from hack.cluster import cache_dir
from kubernetes.client.rest import ApiException

from tests.integration.support import (
    Cluster,
    OperatorProcess,
    journey_manifest,
    participant_manifest,
    wait_for,
)

pytestmark = [pytest.mark.integration, pytest.mark.timeout(420)]

LOCAL_KUBECONFIG = cache_dir() / "cluster" / "kubeconfig"


def _phase(cluster: Cluster, name: str) -> str:
    return str(cluster.journey(name).get("status", {}).get("phase", ""))


def _time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def test_entry_storm_while_the_close_lands(cluster: Cluster, operator: OperatorProcess) -> None:
    """300 concurrent entries, the close in the middle: each in with one Job, or out with none."""
    total = 300
    cluster.create(journey_manifest("storm-v1", delay="600s"))
    wait_for("the operator to see the journey", lambda: _phase(cluster, "storm-v1") == "Live", 60)
    names = [f"s-{i}" for i in range(total)]
    created = threading.Semaphore(0)

    def enter(name: str) -> None:
        cluster.create(participant_manifest(name, "storm-v1"))
        created.release()

    with ThreadPoolExecutor(max_workers=24) as pool:
        futures = [pool.submit(enter, name) for name in names]
        for _ in range(total // 3):
            created.acquire(timeout=60)
        cluster.patch_spec("journeys", "storm-v1", {"state": "closed"})
        for future in futures:
            future.result()

    def settled() -> dict[str, str] | None:
        phases = cluster.phases()
        return phases if all(p in {"Active", "Rejected"} for p in phases.values()) else None

    phases = wait_for("every entry decided", settled, 180, interval=1)
    jobs = cluster.jobs("storm-v1")
    job_names = [j.metadata.name for j in jobs]
    assert len(job_names) == len(set(job_names))  # exactly one Job per admitted participant
    admitted = {n for n, p in phases.items() if p == "Active"}
    rejected = {n for n, p in phases.items() if p == "Rejected"}
    assert set(job_names) == admitted
    assert admitted | rejected == set(names)
    closed_at = _time(cluster.journey("storm-v1")["status"]["closedAt"])
    # No Job was created after the operator recorded the close (second precision).
    assert all(j.metadata.creation_timestamp <= closed_at for j in jobs)
    for name in list(rejected)[:20]:
        status = cluster.get("participants", name)["status"]
        assert status["reason"] == "JourneyClosed"
    assert admitted and rejected, "the close should land in the middle of the storm"
    print(f"entry storm split: {len(admitted)} admitted before the close, {len(rejected)} rejected")


def test_competing_writers_do_not_lose_status_or_loop(
    cluster: Cluster, operator: OperatorProcess
) -> None:
    """Another client keeps patching labels and annotations while the operator reconciles."""
    cluster.create(journey_manifest("busy-v1", delay="4s"))
    names = [f"b-{i}" for i in range(20)]
    for name in names:
        cluster.create(participant_manifest(name, "busy-v1"))
    stop = threading.Event()
    writes = 0

    def scribble() -> None:
        nonlocal writes
        while not stop.is_set():
            for plural, name in [("journeys", "busy-v1"), *(("participants", n) for n in names)]:
                patch = {
                    "metadata": {
                        "labels": {"touched": str(writes % 7)},
                        "annotations": {"other-tool/seen": str(time.time())},
                    }
                }
                try:
                    cluster.custom.patch_namespaced_custom_object(
                        "journeys.dev", "v1alpha1", cluster.namespace, plural, name, patch
                    )
                    writes += 1
                except ApiException:
                    pass

    writer = threading.Thread(target=scribble, daemon=True)
    writer.start()
    try:
        wait_for(
            "all Completed despite the other writer",
            lambda: all(p == "Completed" for p in cluster.phases().values()),
            120,
        )
        cluster.patch_spec("journeys", "busy-v1", {"state": "closed"})
        wait_for(
            "Finished",
            lambda: cluster.journey("busy-v1").get("status", {}).get("phase") == "Finished",
            60,
        )
    finally:
        stop.set()
        writer.join(10)
    journey = cluster.journey("busy-v1")
    assert journey["status"]["participants"]["completed"] == 20
    assert writes > 50
    # The operator did not fight the other writer: its labels are still there.
    assert "touched" in journey["metadata"]["labels"]
    log = operator.output()
    assert log.count("Conflict") == 0 and log.count("failed (attempt") == 0


@pytest.mark.parametrize(("count", "policy"), [(150, "Suspend"), (500, "Delete")])
def test_stop_completes_after_kill_9_in_the_middle(
    cluster: Cluster, namespace: str, count: int, policy: str
) -> None:
    """The operator dies mid-stop; the next one finishes it: all halted, exact, no Job twice."""
    first = OperatorProcess(namespace).start()
    try:
        cluster.create(journey_manifest("big-v1", delay="900s", halt={"policy": policy}))
        names = [f"k-{i}" for i in range(count)]
        with ThreadPoolExecutor(max_workers=16) as pool:
            list(pool.map(lambda n: cluster.create(participant_manifest(n, "big-v1")), names))
        wait_for("all Active", lambda: _count(cluster, "Active") == count, 300, interval=2)
        jobs_before = {j.metadata.name: j.metadata.uid for j in cluster.jobs("big-v1")}
        cluster.patch_spec("journeys", "big-v1", {"state": "stopped"})
        wait_for("the stop under way", lambda: _count(cluster, "Halted") >= 5, 60, interval=0.1)
    finally:
        first.kill()
    halted_at_kill = _count(cluster, "Halted")
    second = OperatorProcess(namespace).start()
    try:
        wait_for("all Halted after restart", lambda: _count(cluster, "Halted") == count, 300, 2)
        journey = wait_for(
            "exact counts",
            lambda: (
                (j := cluster.journey("big-v1"))["status"]["participants"]["halted"] == count and j
            ),
            60,
        )
    finally:
        second.stop()
    assert journey["status"]["participants"]["active"] == 0
    assert sorted(jobs_before) == sorted(names)  # one Job each before the stop
    if policy == "Suspend":
        jobs = cluster.jobs("big-v1")
        # The same Jobs, none created again after the restart, all suspended.
        assert {j.metadata.name: j.metadata.uid for j in jobs} == jobs_before
        assert all(j.spec.suspend for j in jobs)
    else:
        wait_for("every Job deleted", lambda: not cluster.jobs("big-v1"), 120, interval=2)
    print(f"kill -9 during stop: {halted_at_kill}/{count} halted when killed, all halted after")


def _count(cluster: Cluster, phase: str) -> int:
    return sum(p == phase for p in cluster.phases().values())


@pytest.mark.disruptive
@pytest.mark.parametrize("component", ["kube-apiserver", "etcd"])
def test_drain_survives_a_control_plane_restart(
    cluster: Cluster, operator: OperatorProcess, component: str, kubeconfig_path: str
) -> None:
    """The operator reconnects by itself and the drain still ends Finished with exact counts."""
    if Path(kubeconfig_path).resolve() != LOCAL_KUBECONFIG.resolve():
        pytest.skip("restarting control-plane processes needs the local cluster (hack/cluster.py)")
    names = [f"r-{i}" for i in range(10)]
    cluster.create(journey_manifest("steady-v1", delay="25s"))
    for name in names:
        cluster.create(participant_manifest(name, "steady-v1"))
    wait_for("all Active", lambda: all(p == "Active" for p in cluster.phases().values()), 60)
    cluster.patch_spec("journeys", "steady-v1", {"state": "closed"})
    wait_for("Closed", lambda: _phase(cluster, "steady-v1") == "Closed", 60)

    subprocess.run(
        [sys.executable, "hack/cluster.py", "restart", component, "--pause", "5"],
        check=True,
        timeout=120,
    )

    wait_for("Finished after the restart", lambda: _phase(cluster, "steady-v1") == "Finished", 120)
    journey = cluster.journey("steady-v1")
    assert journey["status"]["participants"] == {
        "active": 0,
        "completed": 10,
        "failed": 0,
        "halted": 0,
        "rejected": 0,
    }
    assert operator.process is not None and operator.process.poll() is None
