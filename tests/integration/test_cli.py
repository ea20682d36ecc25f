"""``kubectl journey`` end to end: the installed command, run as a person would, on the cluster.

Each test runs the console script as a subprocess against the real API server with the operator
running, answers its questions through standard input, and checks both what it printed and what
happened on the cluster. Most tests install no webhook, so refusals come from the API server's CEL
rules and from the plugin's own checks; the last test runs the operator with its admission
webhooks (``--admission dev``) to show their refusals, warnings and audit record through the plugin.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from journeys.webhooks.configurations import dev_configuration_name
from tests.integration.conftest import Kubectl
from tests.integration.support import (
    Cluster,
    OperatorProcess,
    journey_manifest,
    wait_for,
    wait_for_events,
    webhooks_answer,
)

pytestmark = [pytest.mark.integration, pytest.mark.timeout(200)]

PLUGIN = Path(sys.executable).with_name("kubectl-journey")


class Plugin:
    """Runs ``kubectl-journey ARGS -n NAMESPACE``; ``answer`` is what is typed at the prompt
    (``None``: standard input is empty, as in a pipeline)."""

    def __init__(self, kubeconfig: str, namespace: str) -> None:
        self.kubeconfig = kubeconfig
        self.namespace = namespace

    def __call__(
        self, *args: str, answer: str | None = None, timeout: float = 120
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(PLUGIN), *args, "-n", self.namespace],
            input=answer if answer is not None else "",
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            env={**os.environ, "KUBECONFIG": self.kubeconfig},
        )

    def ok(self, *args: str, answer: str | None = None) -> subprocess.CompletedProcess[str]:
        result = self(*args, answer=answer)
        assert result.returncode == 0, f"{args} failed: {result.stderr}"
        return result

    def fails(self, *args: str, answer: str | None = None) -> subprocess.CompletedProcess[str]:
        result = self(*args, answer=answer)
        assert result.returncode != 0, f"{args} succeeded: {result.stdout} {result.stderr}"
        last = result.stderr.strip().splitlines()[-1]
        assert last.startswith(("error: ", "Error from server")), result.stderr
        return result


@pytest.fixture
def plugin(kubeconfig_path: str, namespace: str) -> Plugin:
    assert PLUGIN.is_file(), f"{PLUGIN} is missing: pip install -e '.[dev]'"
    return Plugin(kubeconfig_path, namespace)


def phase(cluster: Cluster, plural: str, name: str) -> str:
    return str((cluster.get(plural, name).get("status") or {}).get("phase", ""))


def live(cluster: Cluster, name: str) -> bool:
    return phase(cluster, "journeys", name) == "Live"


def enter(plugin: Plugin, journey: str, *profiles: str) -> None:
    for profile in profiles:
        result = plugin.ok("enter", journey, profile, "--wait")
        assert f"participant {journey}-{profile} is Active" in result.stdout


def test_list_status_and_kubectl_plugin_discovery(
    cluster: Cluster,
    operator: OperatorProcess,
    plugin: Plugin,
    kubectl: Kubectl,
    namespace: str,
) -> None:
    cluster.create(journey_manifest("welcome-v1", delay="3s"))
    wait_for("welcome-v1 Live", lambda: live(cluster, "welcome-v1"))

    table = plugin.ok("list").stdout.splitlines()
    assert table[0].split()[:5] == ["NAME", "FAMILY", "VERSION", "STATE", "PHASE"]
    assert table[1].split()[:6] == ["welcome-v1", "welcome", "1", "live", "Live", "0"]
    everywhere = plugin.ok("list", "-A").stdout
    assert everywhere.startswith("NAMESPACE")
    assert any(line.split()[:2] == [namespace, "welcome-v1"] for line in everywhere.splitlines())
    listing = json.loads(plugin.ok("list", "-o", "json").stdout)
    assert [i["metadata"]["name"] for i in listing["items"]] == ["welcome-v1"]
    none = plugin.ok("list", "nope")
    assert none.stdout == "" and "No journeys found" in none.stderr

    # The Live Event is posted after the status: wait for it rather than read it at once.
    wait_for_events(cluster, "welcome-v1", "Live")
    status = plugin.ok("status", "welcome-v1").stdout
    assert "Phase:         Live (Live)" in status
    assert "Participants:  0 inside" in status
    assert "AcceptingEntries   True" in status
    assert "journey is live and accepts entries" in status  # the Live Event
    as_yaml = yaml.safe_load(plugin.ok("status", "welcome-v1", "-o", "yaml").stdout)
    assert as_yaml["status"]["phase"] == "Live"

    missing = plugin.fails("status", "missing")
    assert missing.stderr.strip() == (
        'Error from server (NotFound): journeys.journeys.dev "missing" not found'
    )
    no_config = plugin.fails("list", "--kubeconfig", "/nonexistent/kubeconfig")
    # Issue 17: the file looked for is named, and that it does not exist (as kubectl does).
    assert "--kubeconfig /nonexistent/kubeconfig: no such file" in no_config.stderr

    # kubectl finds the plugin on PATH and hands it the flags.
    found = subprocess.run(
        [kubectl.path, "journey", "list", "-n", namespace],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={
            **os.environ,
            "KUBECONFIG": plugin.kubeconfig,
            "PATH": f"{PLUGIN.parent}{os.pathsep}{os.environ.get('PATH', '')}",
        },
    )
    assert found.returncode == 0, found.stderr
    assert "welcome-v1" in found.stdout


def test_enter(cluster: Cluster, operator: OperatorProcess, plugin: Plugin) -> None:
    cluster.create(journey_manifest("welcome-v1", delay="20s"))
    wait_for("welcome-v1 Live", lambda: live(cluster, "welcome-v1"))

    dry = plugin.ok("enter", "welcome-v1", "bob", "--dry-run")
    assert "participant.journeys.dev/welcome-v1-bob created (server dry run)" in dry.stdout
    assert cluster.participants() == []

    created = plugin.ok(
        "enter", "welcome-v1", "Alice@Example.com", "--attr", "PLAN=gold", "--wait", "-o", "json"
    )
    obj = json.loads(created.stdout)
    name = obj["metadata"]["name"]
    assert name.startswith("welcome-v1-alice-example-com-")
    assert obj["spec"] == {
        "journey": "welcome-v1",
        "profile": "Alice@Example.com",
        "attributes": {"PLAN": "gold"},
    }
    assert f"participant {name} is Active" in created.stderr
    assert phase(cluster, "participants", name) == "Active"

    again = plugin.fails("enter", "welcome-v1", "Alice@Example.com")
    assert "Error from server (AlreadyExists)" in again.stderr
    assert "has already entered journey welcome-v1" in again.stderr
    bad = plugin.fails("enter", "welcome-v1", "carol", "--attr", "no-dash=1")
    assert "environment variable name" in bad.stderr
    missing = plugin.fails("enter", "nope-v1", "carol")
    assert 'journeys.journeys.dev "nope-v1" not found' in missing.stderr
    assert len(cluster.participants()) == 1


def test_close_asks_then_drains(
    cluster: Cluster, operator: OperatorProcess, plugin: Plugin
) -> None:
    cluster.create(journey_manifest("drain-v1", delay="25s"))  # both inside until the close
    wait_for("drain-v1 Live", lambda: live(cluster, "drain-v1"))
    enter(plugin, "drain-v1", "ann", "ben")

    declined = plugin.fails("close", "drain-v1", answer="n\n")
    assert "Close journey drain-v1 to new entries" in declined.stderr
    assert "2 participants inside continue to the end of their path" in declined.stderr
    assert "Close drain-v1? [y/N]:" in declined.stderr
    assert "not confirmed: drain-v1 was not changed" in declined.stderr
    eof = plugin.fails("close", "drain-v1")
    assert "no answer on standard input" in eof.stderr and "--yes" in eof.stderr
    dry = plugin.ok("close", "drain-v1", "--dry-run")
    assert "journey.journeys.dev/drain-v1 closed (server dry run)" in dry.stdout
    journey = cluster.journey("drain-v1")
    assert journey["spec"]["state"] == "live" and journey["status"]["phase"] == "Live"

    closed = plugin.ok("close", "drain-v1", "--wait", "--timeout", "90s", answer="y\n")
    lines = closed.stdout.splitlines()
    assert lines[0] == "journey.journeys.dev/drain-v1 closed"
    assert lines[-1] == "drain-v1: Finished: 0 inside, 2 completed, 0 failed, 0 halted, 0 rejected"
    journey = cluster.journey("drain-v1")
    assert journey["spec"]["state"] == "closed"
    assert journey["status"]["phase"] == "Finished"

    assert "already closed" in plugin.ok("close", "drain-v1").stderr
    met = plugin.ok("wait", "drain-v1", "--for=phase=Finished")
    assert met.stdout.strip() == "journey.journeys.dev/drain-v1 condition met"


def test_stop_halts_and_refusals_print_the_server_message(
    cluster: Cluster, operator: OperatorProcess, plugin: Plugin
) -> None:
    cluster.create(journey_manifest("stop-v1", delay="600s"))
    wait_for("stop-v1 Live", lambda: live(cluster, "stop-v1"))
    enter(plugin, "stop-v1", "ann", "ben")

    timed_out = plugin.fails("wait", "stop-v1", "--for=phase=Finished", "--timeout", "2s")
    assert "timed out after 2s" in timed_out.stderr
    dry = plugin.ok("stop", "stop-v1", "--reason", "wrong audience", "--dry-run")
    assert "2 active participants will be halted at once (halt policy Suspend" in dry.stderr
    assert cluster.journey("stop-v1")["spec"]["state"] == "live"

    stopped = plugin.ok(
        "stop",
        "stop-v1",
        "--reason",
        "wrong audience",
        "--wait",
        "--timeout",
        "60s",
        answer="YES\n",
    )
    assert "Stop stop-v1? [y/N]:" in stopped.stderr
    assert stopped.stdout.splitlines()[0] == "journey.journeys.dev/stop-v1 stopped"
    assert stopped.stdout.splitlines()[-1].endswith(
        "0 inside, 0 completed, 0 failed, 2 halted, 0 rejected"
    )
    journey = cluster.journey("stop-v1")
    assert journey["spec"] == {
        **journey["spec"],
        "state": "stopped",
        "stopReason": "wrong audience",
    }
    assert journey["status"]["stopReason"] == "wrong audience"
    assert all(job.spec and job.spec.suspend for job in cluster.jobs("stop-v1"))

    refused = plugin.fails("close", "stop-v1", "--yes")
    assert len(refused.stderr.strip().splitlines()) == 1  # refused before any dialog
    assert refused.stderr.startswith('Error from server (Invalid): Journey.journeys.dev "stop-v1"')
    assert "spec.state cannot change from stopped to closed" in refused.stderr
    assert "kubectl journey new-version" in refused.stderr
    assert cluster.journey("stop-v1")["spec"]["state"] == "stopped"

    never = plugin.fails("wait", "stop-v1", "--for=phase=Finished", "--timeout", "60s")
    assert "is Stopped: it can never become Finished" in never.stderr
    plugin.ok("wait", "stop-v1", "--for=phase=Stopped")
    status = plugin.ok("status", "stop-v1").stdout
    assert "reason: wrong audience" in status
    assert "2 halted" in status


def test_new_version_closes_the_previous_one_and_duplicate_starts_a_family(
    cluster: Cluster, operator: OperatorProcess, plugin: Plugin, tmp_path: Path
) -> None:
    cluster.create(journey_manifest("welcome-v1", delay="45s"))  # alice inside until v2's refusal
    wait_for("welcome-v1 Live", lambda: live(cluster, "welcome-v1"))
    enter(plugin, "welcome-v1", "alice")
    v1_spec = cluster.journey("welcome-v1")["spec"]

    declined = plugin.fails("new-version", "welcome", "--image", "journeys/step:2", answer="n\n")
    expected = (
        "welcome-v1 will be closed to new entries (superseded by welcome-v2); "
        "1 participant inside finishes its path there"
    )
    assert expected in declined.stderr
    assert "journeys/step:test -> journeys/step:2" in declined.stderr
    assert "Create welcome-v2? [y/N]:" in declined.stderr
    plugin.ok("new-version", "welcome", "--dry-run")
    assert not cluster.exists("journeys", "welcome-v2")

    created = plugin.ok("new-version", "welcome", "--image", "journeys/step:2", answer="y\n")
    assert "journey.journeys.dev/welcome-v2 created from welcome-v1" in created.stdout
    v2 = cluster.journey("welcome-v2")
    assert (v2["spec"]["family"], v2["spec"]["version"], v2["spec"]["state"]) == (
        "welcome",
        2,
        "live",
    )
    pod = v2["spec"]["template"]["spec"]["template"]["spec"]
    assert pod["containers"][0]["image"] == "journeys/step:2"
    wait_for("v1 superseded", lambda: phase(cluster, "journeys", "welcome-v1") == "Closed", 60)
    v1 = cluster.journey("welcome-v1")
    assert v1["status"]["supersededBy"] == "welcome-v2"
    assert v1["spec"] == v1_spec

    # alice is still inside v1: she may not be active in v2 at the same time.
    wait_for("welcome-v2 Live", lambda: live(cluster, "welcome-v2"))
    rejected = plugin.fails("enter", "welcome-v2", "alice", "--wait")
    assert "participant welcome-v2-alice was rejected: AlreadyActive" in rejected.stderr

    older = plugin.fails("new-version", "welcome-v1", "--yes")
    assert "the latest version is welcome-v2" in older.stderr

    patch = tmp_path / "patch.yaml"
    patch.write_text("spec:\n  halt: {policy: Delete}\n")
    third = plugin.ok(
        "new-version", "welcome", "-f", str(patch), "--yes", "--wait", "--timeout", "60s"
    )
    assert "welcome-v2 is being closed to new entries (superseded by welcome-v3)" in third.stderr
    assert third.stdout.splitlines()[-1].startswith("welcome-v2: Finished:")
    assert cluster.journey("welcome-v3")["spec"]["halt"] == {"policy": "Delete"}

    # alice finishes her path in v1, which then finishes too.
    wait_for(
        "alice Completed",
        lambda: phase(cluster, "participants", "welcome-v1-alice") == "Completed",
        180,
    )
    plugin.ok("wait", "welcome-v1", "--for=phase=Finished", "--timeout", "90s")

    dup = plugin.ok("duplicate", "welcome-v3", "--family", "promo", "-o", "json")
    promo: dict[str, Any] = json.loads(dup.stdout)
    assert promo["metadata"]["name"] == "promo-v1"
    assert (promo["spec"]["family"], promo["spec"]["version"]) == ("promo", 1)
    assert promo["spec"]["halt"] == {"policy": "Delete"}
    exists = plugin.fails("duplicate", "welcome-v1", "--family", "promo")
    assert "family promo already exists" in exists.stderr
    wait_for("promo-v1 Live", lambda: live(cluster, "promo-v1"))
    assert phase(cluster, "journeys", "welcome-v3") == "Live"  # another family: not superseded


@pytest.fixture
def webhooks(namespace: str, cluster: Cluster, kubectl: Kubectl) -> Iterator[OperatorProcess]:
    """The operator serving its admission webhooks for this namespace, once they answer."""
    process = OperatorProcess(namespace, "--admission", "dev").start()

    try:
        wait_for("the webhooks to answer", lambda: webhooks_answer(cluster), timeout=60)
        yield process
    finally:
        process.stop()
        kubectl(
            "delete", "validatingwebhookconfiguration,mutatingwebhookconfiguration",
            dev_configuration_name([namespace]), "--ignore-not-found", "--wait=false",
        )  # fmt: skip
        print(process.output()[-4000:])


def test_with_webhooks_refusals_warnings_and_audit_come_through(
    cluster: Cluster, webhooks: OperatorProcess, plugin: Plugin, kubectl: Kubectl
) -> None:
    cluster.create(journey_manifest("welcome-v1", delay="3s"))
    wait_for("welcome-v1 Live", lambda: live(cluster, "welcome-v1"))
    me = kubectl("auth", "whoami", "-o", "jsonpath={.status.userInfo.username}").stdout.strip()

    plugin.ok("close", "welcome-v1", "--yes")
    wait_for("welcome-v1 Finished", lambda: phase(cluster, "journeys", "welcome-v1") == "Finished")
    assert f" by {me}" in plugin.ok("status", "welcome-v1").stdout  # the webhook's audit record

    refused = plugin.fails("enter", "welcome-v1", "bob")
    assert len(refused.stderr.strip().splitlines()) == 1
    assert refused.stderr.startswith("Error from server (")
    assert "denied the request" in refused.stderr and "welcome-v1" in refused.stderr
    assert cluster.participants() == []

    cluster.create(journey_manifest("promo-v1", delay="3s"))
    wait_for("promo-v1 Live", lambda: live(cluster, "promo-v1"))
    stopped = plugin.ok("stop", "promo-v1", "--yes")
    warnings = [line for line in stopped.stderr.splitlines() if line.startswith("Warning: ")]
    assert len(warnings) == 1 and "without spec.stopReason" in warnings[0]  # shown once
    assert stopped.stderr.index("Warning: ") < stopped.stderr.index("Stop journey promo-v1")
    wait_for("promo-v1 audit", lambda: f" by {me}" in plugin.ok("status", "promo-v1").stdout)
