"""`hack/cluster.py up` after a crash starts only what is down and keeps the cluster's data.

Disruptive (runs last): it kills etcd and kube-scheduler with SIGKILL, as a crash or an OOM
kill would, then runs `up` and checks that the other processes kept their pids, that etcd came
back with its data (an object made before is still there) and that pods are scheduled again.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hack import cluster as hack_cluster
from kubernetes import client
from kubernetes.client.rest import ApiException

from tests.integration.support import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.disruptive, pytest.mark.timeout(420)]

KILLED = ("etcd", "kube-scheduler")


def pids() -> dict[str, int | None]:
    processes = hack_cluster._processes(hack_cluster.Ports.from_env())
    return {p.name: hack_cluster._running_pid(p) for p in processes}


def test_up_restarts_only_what_is_down_and_keeps_the_data(
    api_client: client.ApiClient, namespace: str, kubeconfig_path: str
) -> None:
    if Path(kubeconfig_path).resolve() != hack_cluster.KUBECONFIG.resolve():
        pytest.skip("killing control-plane processes needs the local cluster (hack/cluster.py)")
    core = client.CoreV1Api(api_client)
    core.create_namespaced_config_map(namespace, {"metadata": {"name": "kept"}, "data": {"a": "1"}})
    before = pids()
    assert all(before.values()), before

    for name in KILLED:
        pid = before[name]
        assert pid is not None
        os.kill(pid, signal.SIGKILL)
    wait_for("the killed processes to be gone", lambda: all(pids()[n] is None for n in KILLED))

    started = time.monotonic()
    up = subprocess.run(
        [sys.executable, "hack/cluster.py", "up"],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert up.returncode == 0, up.stderr
    assert "starting what is down (etcd, kube-scheduler); the data is kept" in up.stderr
    after = pids()
    for name, pid in before.items():
        if name in KILLED:
            assert after[name] not in (None, pid), name
        else:
            assert after[name] == pid, f"{name} was restarted: {up.stderr}"
    print(f"up after the crash took {time.monotonic() - started:.1f}s")

    def kept() -> dict[str, str] | None:
        try:
            return core.read_namespaced_config_map("kept", namespace).data  # type: ignore[no-any-return]
        except ApiException:
            return None

    assert wait_for("the ConfigMap made before the crash", kept, timeout=60) == {"a": "1"}
    # The new scheduler binds a new pod to the kwok node.
    core.create_namespaced_pod(
        namespace,
        {
            "metadata": {"name": "after-restart"},
            "spec": {"containers": [{"name": "c", "image": "busybox"}]},
        },
    )
    wait_for(
        "the pod to be scheduled",
        lambda: core.read_namespaced_pod("after-restart", namespace).spec.node_name,
        timeout=60,
    )
