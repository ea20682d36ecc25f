#!/usr/bin/env python3
"""How much latency the admission webhooks add to entering a journey (creating a Participant).

    KUBECONFIG=~/.cache/journeys/cluster/kubeconfig .venv/bin/python hack/bench_admission.py

Starts the operator with ``--admission dev`` in a namespace of its own, then creates
participants one at a time, in alternating blocks with the webhook configurations in place and
removed (the operator keeps running, so both sides carry the same background work), and prints
the median and p99 of each side and their difference. Not a test: figures for docs/admission.md.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kubernetes import client, config
from kubernetes.client.rest import ApiException

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "operator"))

from journeys.webhooks.serving import dev_configuration_name  # noqa: E402

GROUP, VERSION = "journeys.dev", "v1alpha1"
KINDS = ("validating", "mutating")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", "--count", type=int, default=300, help="creations per side")
    parser.add_argument("--block", type=int, default=50, help="creations per alternating block")
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--dry-run", action="store_true", help="server-side dry-run creations")
    parser.add_argument(
        "--pause", type=float, default=0.0, help="seconds between creations (the operator idles)"
    )
    args = parser.parse_args()

    api = config.new_client_from_config()
    core = client.CoreV1Api(api)
    custom = client.CustomObjectsApi(api)
    admission = client.AdmissionregistrationV1Api(api)
    namespace = f"bench-admission-{uuid.uuid4().hex[:6]}"
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=namespace)))
    log = Path(tempfile.mkstemp(prefix="bench-admission-", suffix=".log")[1])
    command = [sys.executable, "-m", "journeys", "--namespace", namespace, "--liveness", ""]
    with log.open("ab") as sink:
        operator = subprocess.Popen(
            [*command, "--admission", "dev"],
            stdout=sink,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONPATH": str(ROOT / "operator")},
        )
    name = dev_configuration_name([namespace])
    counter = iter(range(10**9))

    def create(dry_run: bool = args.dry_run) -> dict[str, Any]:
        i = next(counter)
        body = {
            "apiVersion": f"{GROUP}/{VERSION}",
            "kind": "Participant",
            "metadata": {"name": f"p-{i}"},
            "spec": {"journey": "bench-v1", "profile": f"profile-{i}"},
        }
        extra = {"dry_run": "All"} if dry_run else {}
        return custom.create_namespaced_custom_object(  # type: ignore[no-any-return]
            GROUP, VERSION, namespace, "participants", body, **extra
        )

    def webhook_answers() -> bool:
        try:
            labels = create(dry_run=True)["metadata"].get("labels") or {}
        except ApiException:
            return False
        return "journeys.dev/journey" in labels

    try:
        custom.create_namespaced_custom_object(
            GROUP, VERSION, namespace, "journeys", journey("bench-v1")
        )
        wait("the operator's webhooks", webhook_answers, 60)
        saved = {kind: _get(admission, kind, name) for kind in KINDS}
        for _ in range(args.warmup):
            create()

        def switch(on: bool) -> None:
            for kind in KINDS:
                if on:
                    _create(admission, kind, saved[kind])
                else:
                    _delete(admission, kind, name)
            wait("the webhooks to switch", lambda: webhook_answers() == on, 30)

        cpu_before, started = _cpu_seconds(operator.pid), time.monotonic()
        timings = measure(create, switch, args.count, args.block, args.pause)
        cpu, elapsed = _cpu_seconds(operator.pid) - cpu_before, time.monotonic() - started
        report(timings, args.dry_run)
        print(
            f"operator process: {cpu:.1f} s of CPU in {elapsed:.1f} s "
            f"({100 * cpu / elapsed:.0f}% of one core; the webhooks share its event loop)"
        )
    finally:
        operator.terminate()
        operator.wait(30)
        for kind in KINDS:
            _delete(admission, kind, name)
        core.delete_namespace(namespace, propagation_policy="Background")
    return 0


def measure(
    create: Callable[[], Any],
    switch: Callable[[bool], None],
    count: int,
    block: int,
    pause: float = 0.0,
) -> dict[bool, list[float]]:
    """Milliseconds per creation, with (True) and without (False) the webhooks, alternating."""
    timings: dict[bool, list[float]] = {True: [], False: []}
    with_webhook = True
    while min(len(t) for t in timings.values()) < count:
        for _ in range(min(block, count - len(timings[with_webhook]))):
            started = time.perf_counter()
            create()
            timings[with_webhook].append((time.perf_counter() - started) * 1000)
            time.sleep(pause)
        with_webhook = not with_webhook
        switch(with_webhook)
        for _ in range(5):  # not counted: the first requests after a switch
            create()
    return timings


def report(timings: dict[bool, list[float]], dry_run: bool) -> None:
    what = "dry-run creations" if dry_run else "creations"
    rows = {}
    for label, key in (("with webhooks", True), ("without", False)):
        values = sorted(timings[key])
        rows[label] = (statistics.median(values), percentile(values, 0.99), values[-1])
        print(
            f"{label:14} n={len(values):4} {what}: median {rows[label][0]:6.2f} ms   "
            f"p99 {rows[label][1]:6.2f} ms   max {rows[label][2]:6.2f} ms"
        )
    added = [rows["with webhooks"][i] - rows["without"][i] for i in range(2)]
    print(f"added by the webhooks: median {added[0]:+.2f} ms, p99 {added[1]:+.2f} ms")
    print(json.dumps({"with": rows["with webhooks"], "without": rows["without"]}))


def percentile(sorted_values: list[float], q: float) -> float:
    index = min(len(sorted_values) - 1, max(0, round(q * len(sorted_values)) - 1))
    return sorted_values[index]


def journey(name: str) -> dict[str, Any]:
    """Long-running workload: participants stay Active, nothing finishes during the run."""
    pod = {
        "metadata": {"annotations": {"pod-complete.stage.kwok.x-k8s.io/delay": "3600s"}},
        "spec": {"restartPolicy": "Never", "containers": [{"name": "step", "image": "step"}]},
    }
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "Journey",
        "metadata": {"name": name},
        "spec": {"version": 1, "template": {"spec": {"backoffLimit": 0, "template": pod}}},
    }


def wait(what: str, probe: Callable[[], bool], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not probe():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        time.sleep(0.2)


def _cpu_seconds(pid: int) -> float:
    """User and system CPU time of a process (Linux /proc), 0 where unavailable."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _get(api: client.AdmissionregistrationV1Api, kind: str, name: str) -> dict[str, Any]:
    read = getattr(api, f"read_{kind}_webhook_configuration")
    body: dict[str, Any] = api.api_client.sanitize_for_serialization(read(name))
    body["metadata"] = {"name": name, "labels": body["metadata"].get("labels") or {}}
    return body


def _create(api: client.AdmissionregistrationV1Api, kind: str, body: dict[str, Any]) -> None:
    getattr(api, f"create_{kind}_webhook_configuration")(body)


def _delete(api: client.AdmissionregistrationV1Api, kind: str, name: str) -> None:
    try:
        getattr(api, f"delete_{kind}_webhook_configuration")(name)
    except ApiException as error:
        if error.status != 404:
            raise


if __name__ == "__main__":
    raise SystemExit(main())
