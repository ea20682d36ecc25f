"""``kubectl journey`` follows kubectl's conventions, on the real cluster, as a person types it.

Global flags before the command, ``-o`` formats that print one document, a close with a reason
that everyone sees afterwards, usage errors with the command's own usage, errors that name the
missing kubeconfig, and Ctrl-C at the prompt that changes nothing.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading

import pytest
import yaml

from tests.integration.support import (
    Cluster,
    OperatorProcess,
    as_from_a_terminal,
    journey_manifest,
    wait_for,
)
from tests.integration.test_cli import PLUGIN

pytestmark = [pytest.mark.integration, pytest.mark.timeout(240)]


def run(
    kubeconfig: str, *args: str, answer: str = "", timeout: float = 150
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(PLUGIN), *args],
        input=answer,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env={**os.environ, "KUBECONFIG": kubeconfig},
    )


def test_close_with_a_reason_and_data_output(
    cluster: Cluster, operator: OperatorProcess, kubeconfig_path: str, namespace: str
) -> None:
    cluster.create(journey_manifest("reason-v1", delay="6s"))
    wait_for(
        "reason-v1 Live",
        lambda: (cluster.journey("reason-v1").get("status") or {}).get("phase") == "Live",
    )
    entered = run(kubeconfig_path, "-n", namespace, "enter", "reason-v1", "ann", "--wait")
    assert entered.returncode == 0, entered.stderr

    # Global flags before the command, and -o name / -o json as kubectl prints them.
    names = run(kubeconfig_path, "-n", namespace, "-o", "name", "list")
    assert names.stdout.split() == ["journey.journeys.dev/reason-v1"], names.stderr
    listing = json.loads(run(kubeconfig_path, "-o", "json", "-n", namespace, "list").stdout)
    assert [i["metadata"]["name"] for i in listing["items"]] == ["reason-v1"]
    assert all("managedFields" not in i["metadata"] for i in listing["items"])

    closed = run(
        kubeconfig_path,
        "close",
        "reason-v1",
        "-n",
        namespace,
        "--reason",
        "spring campaign over",
        "--yes",
        "--wait",
        "--timeout",
        "150s",
        "-o",
        "json",
    )
    assert closed.returncode == 0, closed.stderr
    assert "Reason recorded: spring campaign over" in closed.stderr
    final = json.loads(closed.stdout)  # one object: the journey as the wait ended
    assert final["status"]["phase"] == "Finished"
    assert final["spec"]["closeReason"] == "spring campaign over"
    assert final["status"]["closeReason"] == "spring campaign over"
    assert "managedFields" not in final["metadata"]

    status = run(kubeconfig_path, "status", "reason-v1", "-n", namespace)
    assert "reason: spring campaign over" in status.stdout, status.stdout
    # The closing transition's Event carries the reason (CloseRequested, or Drained when the
    # operator saw the participant finish before it saw the journey Closed).
    wait_for(
        "an Event with the close reason",
        lambda: any(
            "(reason: spring campaign over)" in (e.message or "")
            for e in cluster.events("reason-v1")
        ),
        60,
    )

    as_yaml = run(kubeconfig_path, "status", "reason-v1", "-n", namespace, "-o", "yaml")
    assert yaml.safe_load(as_yaml.stdout)["status"]["closeReason"] == "spring campaign over"


def test_usage_errors_and_missing_kubeconfig(kubeconfig_path: str, namespace: str) -> None:
    bogus = run(kubeconfig_path, "close", "x-v1", "--bogus", "-n", namespace)
    assert bogus.returncode == 2
    assert "usage: kubectl journey close" in bogus.stderr
    assert "unrecognized arguments: --bogus" in bogus.stderr
    lonely = run(kubeconfig_path, "close", "x-v1", "--timeout", "5m", "-n", namespace)
    assert lonely.returncode == 2 and "--timeout applies to --wait" in lonely.stderr

    nope = run(kubeconfig_path, "--kubeconfig", "/tmp/nope-journeys-kubeconfig", "list")
    assert nope.returncode == 1
    assert nope.stderr.strip() == "error: --kubeconfig /tmp/nope-journeys-kubeconfig: no such file"


def test_interrupt_at_the_prompt_changes_nothing(
    cluster: Cluster, kubeconfig_path: str, namespace: str
) -> None:
    cluster.create(journey_manifest("ask-v1"))
    process = subprocess.Popen(
        as_from_a_terminal([str(PLUGIN), "stop", "ask-v1", "-n", namespace]),
        stdin=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "KUBECONFIG": kubeconfig_path},
    )
    assert process.stderr is not None
    seen: list[str] = []
    asked = threading.Event()

    def read() -> None:
        assert process.stderr is not None
        while chunk := process.stderr.read(1):
            seen.append(chunk)
            if "".join(seen).endswith("[y/N]: "):
                asked.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    assert asked.wait(60), "".join(seen)
    process.send_signal(signal.SIGINT)
    assert process.wait(30) == 130
    reader.join(10)
    assert "interrupted: nothing was changed" in "".join(seen)
    assert cluster.journey("ask-v1")["spec"].get("state", "live") == "live"
