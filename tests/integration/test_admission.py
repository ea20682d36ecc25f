"""The admission webhooks on the real cluster, through kubectl as a user meets them.

Each test runs its own operator with ``--admission dev``: Kopf's webhook server on 127.0.0.1
and webhook configurations scoped to the test's namespace. Refusals are read from kubectl's
stderr, exactly what a person or a CI pipeline sees.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import yaml
from kubernetes import client

from journeys.webhooks.configurations import dev_configuration_name
from tests.integration.conftest import Kubectl
from tests.integration.support import (
    Cluster,
    OperatorProcess,
    journey_manifest,
    participant_manifest,
    wait_for,
    webhooks_answer,
)

pytestmark = [pytest.mark.integration, pytest.mark.timeout(240)]

ALICE = ("--as=alice", "--as-group=system:masters")
NEW_VERSION_HINT = "create a new version: kubectl journey new-version welcome"


class User:
    """kubectl in the test's namespace; ``fails`` returns the error a refused command printed."""

    def __init__(self, kubectl: Kubectl, namespace: str) -> None:
        self.kubectl = kubectl
        self.namespace = namespace

    def run(self, *args: str, manifest: dict[str, Any] | None = None) -> str:
        result = self.kubectl(*args, "-n", self.namespace, input=_yaml(manifest))
        return result.stdout + result.stderr

    def fails(self, *args: str, manifest: dict[str, Any] | None = None) -> str:
        result = self.kubectl(*args, "-n", self.namespace, input=_yaml(manifest), check=False)
        assert result.returncode != 0, f"kubectl {' '.join(args)} succeeded: {result.stdout}"
        return result.stderr

    def apply(self, manifest: dict[str, Any], *args: str) -> str:
        return self.run("apply", "-f", "-", *args, manifest=manifest)

    def patch(self, kind: str, name: str, spec: dict[str, Any], *args: str) -> str:
        return self.run(
            "patch", kind, name, "--type=merge", "-p", json.dumps({"spec": spec}), *args
        )

    def patch_fails(self, kind: str, name: str, spec: dict[str, Any], *args: str) -> str:
        body = json.dumps({"spec": spec})
        return self.fails("patch", kind, name, "--type=merge", "-p", body, *args)

    def get(self, kind: str, name: str) -> dict[str, Any]:
        return json.loads(self.run("get", kind, name, "-o", "json"))  # type: ignore[no-any-return]


def _yaml(manifest: dict[str, Any] | None) -> str | None:
    return None if manifest is None else yaml.safe_dump(manifest)


@pytest.fixture
def user(kubectl: Kubectl, namespace: str) -> User:
    return User(kubectl, namespace)


@pytest.fixture
def admin_name(kubectl: Kubectl) -> str:
    """The admin kubeconfig's user (its client certificate's CN), as the API server sees it."""
    out = kubectl("auth", "whoami", "-o", "jsonpath={.status.userInfo.username}").stdout
    assert out.strip()
    return out.strip()


@pytest.fixture
def webhooks(namespace: str, kubectl: Kubectl, cluster: Cluster) -> Iterator[OperatorProcess]:
    """The operator serving the webhooks for this namespace, once the API server calls them."""
    process = OperatorProcess(namespace, "--admission", "dev").start()
    try:
        wait_for("the webhooks to answer", lambda: webhooks_answer(cluster), timeout=60)
        yield process
    finally:
        process.stop()
        # A killed operator leaves its configurations behind: remove them in any case.
        _remove_configurations(kubectl, namespace)
        print(process.output()[-6000:])  # shown by pytest only when the test failed


def _remove_configurations(kubectl: Kubectl, namespace: str) -> None:
    name = dev_configuration_name([namespace])
    kubectl(
        "delete", "validatingwebhookconfiguration,mutatingwebhookconfiguration", name,
        "--ignore-not-found", "--wait=false",
    )  # fmt: skip


def phase(user: User, name: str) -> str:
    return str((user.get("journey", name).get("status") or {}).get("phase", ""))


def wait_phase(user: User, name: str, *phases: str, timeout: float = 60) -> str:
    return wait_for(
        f"journey {name} in {' or '.join(phases)}",
        lambda: phase(user, name) if phase(user, name) in phases else None,
        timeout,
    )


def participant_phase(user: User, name: str) -> str:
    return str((user.get("participant", name).get("status") or {}).get("phase", ""))


def wait_participant(user: User, name: str, wanted: str, timeout: float = 60) -> None:
    wait_for(
        f"participant {name} {wanted}", lambda: participant_phase(user, name) == wanted, timeout
    )


# --- Mutations -----------------------------------------------------------------------------------


@pytest.mark.usefixtures("webhooks")
def test_defaults_family_and_labels(user: User) -> None:
    user.apply(journey_manifest("welcome-v1"))
    journey = user.get("journey", "welcome-v1")
    assert journey["spec"]["family"] == "welcome"
    assert journey["metadata"]["labels"] == {
        "journeys.dev/family": "welcome",
        "journeys.dev/version": "1",
    }
    user.apply(participant_manifest("alice", "welcome-v1"))
    labels = user.get("participant", "alice")["metadata"]["labels"]
    assert labels["journeys.dev/journey"] == "welcome-v1"
    # Selecting a family's journeys works with the label the webhook keeps in place.
    listed = user.run("get", "journeys", "-l", "journeys.dev/family=welcome", "-o", "name")
    assert listed.strip() == "journey.journeys.dev/welcome-v1"


@pytest.mark.usefixtures("webhooks")
def test_participant_is_created_owned_by_its_journey(user: User) -> None:
    """The owner reference comes with the creation itself: the operator need not write it."""
    user.apply(journey_manifest("welcome-v1"))
    uid = user.get("journey", "welcome-v1")["metadata"]["uid"]
    alice = yaml.safe_dump(participant_manifest("alice", "welcome-v1"))

    def owners_on_creation() -> list[dict[str, Any]] | None:
        result = user.kubectl(
            "create", "--dry-run=server", "-o", "json", "-f", "-", "-n", user.namespace,
            input=alice, check=False,
        )  # fmt: skip
        if result.returncode != 0:
            return None
        owners: list[dict[str, Any]] = json.loads(result.stdout)["metadata"].get(
            "ownerReferences", []
        )
        return owners or None  # None until the operator's view has the new journey

    expected = [
        {
            "apiVersion": "journeys.dev/v1alpha1",
            "kind": "Journey",
            "name": "welcome-v1",
            "uid": uid,
            "controller": True,
        }
    ]
    assert wait_for("an owned dry-run creation", owners_on_creation, 30) == expected
    user.apply(participant_manifest("alice", "welcome-v1"))
    wait_participant(user, "alice", "Active")
    assert user.get("participant", "alice")["metadata"]["ownerReferences"] == expected


@pytest.mark.usefixtures("webhooks")
def test_audit_records_who_closed_and_stopped(user: User, admin_name: str) -> None:
    user.apply(journey_manifest("welcome-v1", delay="120s"))
    user.apply(participant_manifest("p-1", "welcome-v1"))
    wait_participant(user, "p-1", "Active")

    user.patch("journey", "welcome-v1", {"state": "closed"}, *ALICE)
    annotations = user.get("journey", "welcome-v1")["metadata"]["annotations"]
    assert annotations["journeys.dev/closed-by"] == "alice"
    closed_at = datetime.fromisoformat(annotations["journeys.dev/closed-at"].replace("Z", "+00:00"))
    assert abs(datetime.now(UTC) - closed_at) < timedelta(minutes=1)
    wait_phase(user, "welcome-v1", "Closed")
    status = user.get("journey", "welcome-v1")["status"]
    assert status["closedBy"] == "alice"

    # Then the stop, by the admin (with a reason: no warning).
    out = user.patch("journey", "welcome-v1", {"state": "stopped", "stopReason": "bad audience"})
    assert "without spec.stopReason" not in out
    annotations = user.get("journey", "welcome-v1")["metadata"]["annotations"]
    assert annotations["journeys.dev/stopped-by"] == admin_name
    assert annotations["journeys.dev/closed-by"] == "alice"  # kept
    wait_phase(user, "welcome-v1", "Stopped")
    status = user.get("journey", "welcome-v1")["status"]
    assert (status["stoppedBy"], status["stopReason"]) == (admin_name, "bad audience")

    # The record cannot be rewritten: the webhook puts it back and says so.
    out = user.run("annotate", "journey", "welcome-v1", "--overwrite", "journeys.dev/stopped-by=x")
    assert "the audit record" in out
    annotations = user.get("journey", "welcome-v1")["metadata"]["annotations"]
    assert annotations["journeys.dev/stopped-by"] == admin_name


@pytest.mark.usefixtures("webhooks")
def test_stop_without_reason_warns(user: User) -> None:
    user.apply(journey_manifest("welcome-v1"))
    out = user.patch("journey", "welcome-v1", {"state": "stopped"})
    assert "Warning: stopping journey welcome-v1 without spec.stopReason" in out


# --- Journey UPDATE: no resume -------------------------------------------------------------------


@pytest.mark.usefixtures("webhooks")
def test_resume_is_refused_with_phase_since_and_way_forward(user: User) -> None:
    user.apply(journey_manifest("welcome-v1"))
    user.patch("journey", "welcome-v1", {"state": "closed"})
    wait_phase(user, "welcome-v1", "Finished")  # nobody inside: closed, then finished at once
    since = user.get("journey", "welcome-v1")["status"]["finishedAt"]

    error = user.patch_fails("journey", "welcome-v1", {"state": "live"})
    assert 'admission webhook "mutate-journey.journeys.dev" denied the request' in error
    assert "NoResume: journey welcome-v1 is finished since " in error
    assert since[:16] in error  # same moment, up to the minute (formats differ)
    assert "cannot go from closed to live" in error
    assert error.strip().endswith(NEW_VERSION_HINT)

    # --dry-run=server: the same refusal, and nothing changes.
    dry = user.patch_fails("journey", "welcome-v1", {"state": "live"}, "--dry-run=server")
    assert dry == error
    assert user.get("journey", "welcome-v1")["spec"]["state"] == "closed"

    # Stopped -> closed goes backwards too.
    user.patch("journey", "welcome-v1", {"state": "stopped", "stopReason": "test"})
    error = user.patch_fails("journey", "welcome-v1", {"state": "closed"})
    assert "IllegalTransition: journey welcome-v1 is finished" in error
    assert "cannot go from stopped to closed" in error


@pytest.mark.usefixtures("webhooks")
def test_journey_stopped_by_end_at_cannot_be_revived(user: User) -> None:
    past = (datetime.now(UTC) - timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    user.apply(journey_manifest("promo-v1", endAt=past))
    wait_phase(user, "promo-v1", "Stopped")
    later = (datetime.now(UTC) + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    error = user.patch_fails("journey", "promo-v1", {"endAt": later})
    assert "NoResume: journey promo-v1 is stopped since" in error
    assert f"(spec.endAt {past} passed)" in error
    assert "moving or removing spec.endAt does not resume it" in error
    assert error.strip().endswith("create a new version: kubectl journey new-version promo")

    entry = user.fails("apply", "-f", "-", manifest=participant_manifest("late", "promo-v1"))
    assert "JourneyStopped: journey promo-v1 is stopped since" in entry
    assert f"(spec.endAt {past} passed)" in entry


# --- Journey CREATE: versions ------------------------------------------------------------------


@pytest.mark.usefixtures("webhooks")
def test_versions_only_go_up(user: User) -> None:
    user.apply(journey_manifest("welcome-v2", version=2))
    # The webhook answers from the operator's view: wait until that view has welcome-v2.
    wait_phase(user, "welcome-v2", "Live")
    older = journey_manifest("welcome", version=1)
    error = user.fails("apply", "-f", "-", manifest=older)
    assert "VersionNotNewer: journey welcome has spec.version 1, but family welcome" in error
    assert "already has version 2 (welcome-v2)" in error
    assert "Create welcome-v3 with spec.version 3" in error
    dry = user.fails("apply", "--dry-run=server", "-f", "-", manifest=older)
    assert "VersionNotNewer" in dry

    error = user.fails("apply", "-f", "-", manifest=journey_manifest("welcome-v4", version=3))
    assert (
        "NameMismatch: journey welcome-v4: the name says version 4 but spec.version is 3" in error
    )

    out = user.apply(journey_manifest("welcome-next", version=3, family="welcome"))
    assert "Warning: journey welcome-next is version 3 of family welcome" in out
    assert "(welcome-v3)" in out


# --- Journey DELETE ------------------------------------------------------------------------------


@pytest.mark.usefixtures("webhooks")
def test_delete_refused_while_live_or_draining(user: User) -> None:
    user.apply(journey_manifest("welcome-v1", delay="120s"))
    user.apply(participant_manifest("p-1", "welcome-v1"))
    wait_participant(user, "p-1", "Active")

    error = user.fails("delete", "journey", "welcome-v1")
    assert "DeletionProtected: journey welcome-v1 is live, with 1 participant inside" in error
    assert "stop it first, or wait until it is Finished" in error
    assert user.fails("delete", "journey", "welcome-v1", "--dry-run=server") == error

    user.patch("journey", "welcome-v1", {"state": "closed"})
    wait_phase(user, "welcome-v1", "Closed")
    error = user.fails("delete", "journey", "welcome-v1")
    assert "is closed since" in error and "with 1 participant still inside" in error

    user.patch("journey", "welcome-v1", {"state": "stopped", "stopReason": "done"})
    wait_phase(user, "welcome-v1", "Stopped")
    wait_participant(user, "p-1", "Halted")
    assert "(server dry run)" in user.run("delete", "journey", "welcome-v1", "--dry-run=server")
    user.run("delete", "journey", "welcome-v1", "--wait=false")


# --- Participant CREATE: the entry gate ----------------------------------------------------------


@pytest.mark.usefixtures("webhooks")
def test_entry_gate_refusals(user: User) -> None:
    error = user.fails("apply", "-f", "-", manifest=participant_manifest("x", "missing-v1"))
    assert "JourneyNotFound: journey missing-v1 does not exist in namespace" in error

    # Full: one place, taken.
    user.apply(journey_manifest("small-v1", delay="120s", entry={"maxParticipants": 1}))
    user.apply(participant_manifest("first", "small-v1"))
    wait_participant(user, "first", "Active")
    error = user.fails("apply", "-f", "-", manifest=participant_manifest("second", "small-v1"))
    assert "CapacityReached: journey small-v1 is full: 1 of 1 places taken" in error

    # Superseded: welcome-v2 closes welcome-v1; alice is still inside v1.
    user.apply(journey_manifest("welcome-v1", delay="120s"))
    user.apply(participant_manifest("alice-1", "welcome-v1", profile="alice"))
    wait_participant(user, "alice-1", "Active")
    user.apply(journey_manifest("welcome-v2", version=2, delay="120s"))
    wait_phase(user, "welcome-v1", "Closed")
    error = user.fails("apply", "-f", "-", manifest=participant_manifest("bob-1", "welcome-v1"))
    assert "JourneyClosed: journey welcome-v1 is closed since" in error
    assert "(superseded by welcome-v2; newest live version: welcome-v2)" in error

    # One version at a time per profile.
    again = participant_manifest("alice-2", "welcome-v2", profile="alice")
    error = user.fails("apply", "-f", "-", manifest=again)
    assert "AlreadyActive: the profile is already active in journey welcome-v1" in error

    # Closed by hand, and the dry run: same refusal, nothing created.
    user.patch("journey", "welcome-v2", {"state": "closed"})
    wait_phase(user, "welcome-v2", "Closed", "Finished")  # the operator's view has the close
    late = participant_manifest("carol", "welcome-v2")
    error = user.fails("apply", "-f", "-", manifest=late)
    assert "journey welcome-v2 is" in error and "accepts no new entries" in error
    assert user.fails("apply", "--dry-run=server", "-f", "-", manifest=late) == error
    assert "carol" not in user.run("get", "participants", "-o", "name")


@pytest.mark.usefixtures("webhooks")
def test_journey_and_participants_applied_together(user: User, namespace: str) -> None:
    """``kubectl apply -f dir/``: the participant follows its journey by milliseconds."""
    documents = [journey_manifest("batch-v1", delay="5s")] + [
        participant_manifest(f"b-{i}", "batch-v1") for i in range(3)
    ]
    user.kubectl(
        "apply", "-n", namespace, "-f", "-", input=yaml.safe_dump_all(documents)
    )  # fmt: skip
    for i in range(3):
        wait_participant(user, f"b-{i}", "Completed", timeout=90)


# --- Without the webhook -------------------------------------------------------------------------


def test_without_webhook_cel_and_operator_still_hold(
    user: User, cluster: Cluster, namespace: str, kubectl: Kubectl
) -> None:
    """The webhooks add words, not safety: CEL and the operator hold the line without them."""
    process = OperatorProcess(namespace, "--admission", "dev").start()
    try:
        wait_for("the webhooks to answer", lambda: webhooks_answer(cluster), timeout=60)
        user.apply(journey_manifest("welcome-v1", delay="120s"))
        user.patch("journey", "welcome-v1", {"state": "closed"})
    finally:
        process.stop()
        _remove_configurations(kubectl, namespace)
    wait_for("the webhooks to be gone", lambda: not _configured(kubectl, namespace), 30)

    error = user.patch_fails("journey", "welcome-v1", {"state": "live"})
    assert "spec.state cannot change from closed to live" in error
    assert "admission webhook" not in error

    # A late entry gets in (nobody checks at the door), but the operator rejects it.
    user.apply(participant_manifest("late", "welcome-v1"))
    operator = OperatorProcess(namespace).start()  # no --admission: no webhooks
    try:
        wait_participant(user, "late", "Rejected")
        status = user.get("participant", "late")["status"]
        assert status["reason"] in {"JourneyClosed", "JourneyFinished"}
        assert cluster.jobs("welcome-v1") == []
    finally:
        operator.stop()

    # The webhooks come back: what happened meanwhile needs no repair, the door is shut again.
    before = user.get("participant", "late")["status"]
    process = OperatorProcess(namespace, "--admission", "dev").start()
    try:
        wait_for("the webhooks to answer again", lambda: webhooks_answer(cluster), timeout=60)
        assert user.get("participant", "late")["status"] == before
        error = user.fails("apply", "-f", "-", manifest=participant_manifest("later", "welcome-v1"))
        assert "welcome-v1" in error
        assert cluster.jobs("welcome-v1") == []
    finally:
        process.stop()
        _remove_configurations(kubectl, namespace)


def _configured(kubectl: Kubectl, namespace: str) -> bool:
    name = dev_configuration_name([namespace])
    result = kubectl("get", "validatingwebhookconfiguration", name, check=False)
    return result.returncode == 0


def test_deleting_a_namespace_is_never_blocked(
    kubectl: Kubectl, api_client: client.ApiClient, namespace: str
) -> None:
    """Its journeys go with it, live or not: refusing would leave it Terminating forever."""
    other = f"{namespace}-x"
    kubectl("create", "namespace", other)
    there = User(kubectl, other)
    served = [namespace, other]
    process = OperatorProcess(namespace, "--namespace", other, "--admission", "dev").start()
    try:
        wait_for(
            "the webhooks to answer",
            lambda: webhooks_answer(Cluster(api_client, other)),
            timeout=60,
        )
        there.apply(journey_manifest("welcome-v1"))
        assert "DeletionProtected" in there.fails("delete", "journey", "welcome-v1")
        kubectl("delete", "namespace", other, "--wait=false")
        gone = kubectl("wait", "--for=delete", f"namespace/{other}", "--timeout=120s", timeout=150)
        assert gone.returncode == 0
    finally:
        process.stop()
        name = dev_configuration_name(served)
        kubectl(
            "delete", "validatingwebhookconfiguration,mutatingwebhookconfiguration", name,
            "--ignore-not-found", "--wait=false",
        )  # fmt: skip
        kubectl("delete", "namespace", other, "--ignore-not-found", "--wait=false")
