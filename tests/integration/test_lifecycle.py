"""The whole lifecycle on the real cluster: entry, close -> drain -> Finished, stop -> halt.

Pods run on the kwok node for the delay in their annotation, so "active" participants really
have running Jobs. No admission webhook is installed here: the operator alone must hold the line.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from kubernetes.client.rest import ApiException

from tests.integration.support import (
    Cluster,
    OperatorProcess,
    journey_manifest,
    participant_manifest,
    wait_for,
    wait_for_events,
)

pytestmark = [pytest.mark.integration, pytest.mark.timeout(240)]


def phase_of(cluster: Cluster, name: str) -> str:
    return (cluster.journey(name).get("status") or {}).get("phase", "")


def condition(journey: dict[str, Any], type_: str) -> dict[str, Any]:
    found = [c for c in journey["status"]["conditions"] if c["type"] == type_]
    assert found, f"no {type_} condition in {journey['status']}"
    return found[0]


def enter(cluster: Cluster, journey: str, count: int, prefix: str = "p") -> list[str]:
    names = [f"{prefix}-{i}" for i in range(count)]
    for name in names:
        cluster.create(participant_manifest(name, journey, profile=f"profile-{name}", tier="gold"))
    return names


def all_in(cluster: Cluster, names: list[str], phase: str) -> bool:
    phases = cluster.phases()
    return all(phases.get(n) == phase for n in names)


def test_live_journey_participants_complete(cluster: Cluster, operator: OperatorProcess) -> None:
    cluster.create(journey_manifest("welcome-v1", delay="3s"))
    names = enter(cluster, "welcome-v1", 3)

    wait_for("participants Completed", lambda: all_in(cluster, names, "Completed"), 90)
    jobs = cluster.jobs("welcome-v1")
    assert sorted(j.metadata.name for j in jobs) == sorted(names)  # exactly one Job each
    job = next(j for j in jobs if j.metadata.name == "p-0")
    assert job.metadata.labels["journeys.dev/journey"] == "welcome-v1"
    assert job.metadata.labels["journeys.dev/family"] == "welcome"
    assert job.metadata.labels["journeys.dev/participant"] == "p-0"
    owner = job.metadata.owner_references[0]
    assert (owner.kind, owner.name, owner.controller) == ("Participant", "p-0", True)
    env = {e.name: e.value for e in job.spec.template.spec.containers[0].env}
    assert env["JOURNEY_PROFILE"] == "profile-p-0"
    assert env["JOURNEY_ATTR_tier"] == "gold"

    participant = cluster.get("participants", "p-0")
    assert participant["metadata"]["ownerReferences"][0]["name"] == "welcome-v1"
    assert participant["status"]["job"] == "p-0"
    assert participant["status"]["enteredAt"] and participant["status"]["exitedAt"]
    journey = wait_for(
        "completed count",
        lambda: (
            (j := cluster.journey("welcome-v1"))["status"]["participants"]["completed"] == 3 and j
        ),
    )
    assert journey["status"]["phase"] == "Live"
    assert condition(journey, "Ready")["status"] == "True"
    assert condition(journey, "AcceptingEntries")["status"] == "True"
    assert journey["status"]["observedGeneration"] == journey["metadata"]["generation"]


def test_close_drains_then_finishes(cluster: Cluster, operator: OperatorProcess) -> None:
    cluster.create(journey_manifest("drain-v1", delay="20s"))
    names = enter(cluster, "drain-v1", 3)
    wait_for("participants Active", lambda: all_in(cluster, names, "Active"), 60)

    cluster.patch_spec("journeys", "drain-v1", {"state": "closed"})
    wait_for("phase Closed", lambda: phase_of(cluster, "drain-v1") == "Closed", 60)
    journey = cluster.journey("drain-v1")
    assert condition(journey, "AcceptingEntries")["status"] == "False"
    assert condition(journey, "Draining")["status"] == "True"
    assert journey["status"]["closedAt"]

    # A late entry (no webhook here) is rejected by the operator and gets no Job.
    cluster.create(participant_manifest("late", "drain-v1"))
    late = wait_for(
        "late participant Rejected",
        lambda: (
            (p := cluster.get("participants", "late")).get("status", {}).get("phase") == "Rejected"
            and p
        ),
    )
    assert late["status"]["reason"] == "JourneyClosed"
    assert "drain-v1" in late["status"]["message"]

    wait_for("active ones Completed", lambda: all_in(cluster, names, "Completed"), 90)
    wait_for("phase Finished", lambda: phase_of(cluster, "drain-v1") == "Finished", 60)
    journey = cluster.journey("drain-v1")
    assert journey["status"]["participants"] == {
        "active": 0,
        "completed": 3,
        "failed": 0,
        "halted": 0,
        "rejected": 1,
    }
    assert journey["status"]["finishedAt"]
    assert condition(journey, "Finished")["status"] == "True"
    assert journey["spec"]["state"] == "closed"  # the operator never rewrites the spec
    assert sorted(j.metadata.name for j in cluster.jobs("drain-v1")) == sorted(names)
    wait_for_events(cluster, "drain-v1", "CloseRequested", "Drained")


@pytest.mark.parametrize("policy", ["Suspend", "Delete"])
def test_stop_halts_every_active_participant(
    cluster: Cluster, operator: OperatorProcess, policy: str
) -> None:
    count = 40
    cluster.create(journey_manifest("stop-v1", delay="600s", halt={"policy": policy}))
    names = enter(cluster, "stop-v1", count)
    wait_for("all Active", lambda: all_in(cluster, names, "Active"), 120)

    cluster.patch_spec("journeys", "stop-v1", {"state": "stopped", "stopReason": "bad audience"})
    wait_for("all Halted", lambda: all_in(cluster, names, "Halted"), 120)
    jobs = cluster.jobs("stop-v1")
    if policy == "Suspend":
        assert len(jobs) == count and all(j.spec.suspend for j in jobs)
    else:
        wait_for("Jobs deleted", lambda: not cluster.jobs("stop-v1"), 60)
    journey = wait_for(
        "halted count",
        lambda: (
            (j := cluster.journey("stop-v1"))["status"]["participants"]["halted"] == count and j
        ),
    )
    status = journey["status"]
    assert status["phase"] == "Stopped"
    assert status["participants"]["active"] == 0
    assert status["stopReason"] == "bad audience"
    assert status["stoppedAt"]
    assert condition(journey, "Halted")["status"] == "True"
    wait_for_events(cluster, "stop-v1", "StopRequested")


def test_drain_timeout_halts_the_rest_and_finishes(
    cluster: Cluster, operator: OperatorProcess
) -> None:
    cluster.create(journey_manifest("slow-v1", delay="600s", drain={"timeout": "6s"}))
    names = enter(cluster, "slow-v1", 2)
    wait_for("Active", lambda: all_in(cluster, names, "Active"), 60)
    cluster.patch_spec("journeys", "slow-v1", {"state": "closed"})
    wait_for("Finished", lambda: phase_of(cluster, "slow-v1") == "Finished", 60)
    wait_for("Halted", lambda: all_in(cluster, names, "Halted"), 60)
    journey = cluster.journey("slow-v1")
    assert condition(journey, "Finished")["reason"] == "DrainTimedOut"
    assert all(j.spec.suspend for j in cluster.jobs("slow-v1"))


def test_end_at_stops_the_journey_by_itself(cluster: Cluster, operator: OperatorProcess) -> None:
    cluster.create(journey_manifest("timed-v1", delay="600s"))
    names = enter(cluster, "timed-v1", 2)
    wait_for("Active", lambda: all_in(cluster, names, "Active"), 60)
    # The end is set once they are inside, so a slow admission cannot race it.
    end = (datetime.now(UTC) + timedelta(seconds=5)).strftime("%Y-%m-%dT%H:%M:%SZ")
    cluster.patch_spec("journeys", "timed-v1", {"endAt": end})
    wait_for("Stopped by endAt", lambda: phase_of(cluster, "timed-v1") == "Stopped", 60)
    wait_for("Halted", lambda: all_in(cluster, names, "Halted"), 60)
    journey = cluster.journey("timed-v1")
    assert journey["spec"]["state"] == "live"  # effective phase ran ahead of the spec
    assert condition(journey, "Ready")["reason"] == "EndReached"


@pytest.mark.parametrize(
    ("path", "first", "second"),
    [
        ("state", "closed", "live"),
        ("state", "stopped", "live"),
        ("state", "stopped", "closed"),
    ],
)
def test_api_server_refuses_forbidden_transitions(
    cluster: Cluster, path: str, first: str, second: str
) -> None:
    """No operator, no webhook: the CRD's own rules refuse a resume."""
    cluster.create(journey_manifest("rules-v1"))
    cluster.patch_spec("journeys", "rules-v1", {path: first})
    with pytest.raises(ApiException) as refused:
        cluster.patch_spec("journeys", "rules-v1", {path: second})
    assert refused.value.status == 422
    assert "cannot be resumed" in refused.value.body
    assert "new version" in refused.value.body
    assert cluster.journey("rules-v1")["spec"][path] == first


@pytest.mark.parametrize(
    ("plural", "change"),
    [
        ("journeys", {"version": 2}),
        ("journeys", {"family": "other"}),
        ("journeys", {"template": {"spec": {"template": {"spec": {"containers": []}}}}}),
        ("participants", {"journey": "other-v1"}),
        ("participants", {"profile": "someone-else"}),
    ],
)
def test_api_server_refuses_changing_immutable_fields(
    cluster: Cluster, plural: str, change: dict[str, Any]
) -> None:
    cluster.create(journey_manifest("fixed-v1", family="fixed"))
    cluster.create(participant_manifest("someone", "fixed-v1"))
    name = "fixed-v1" if plural == "journeys" else "someone"
    with pytest.raises(ApiException) as refused:
        cluster.patch_spec(plural, name, change)
    assert refused.value.status == 422
    assert "immutable" in refused.value.body


def test_participant_of_closed_journey_is_rejected_without_job(
    cluster: Cluster, operator: OperatorProcess
) -> None:
    cluster.create(journey_manifest("shut-v1", state="closed"))
    wait_for("Finished", lambda: phase_of(cluster, "shut-v1") == "Finished", 60)
    cluster.create(participant_manifest("too-late", "shut-v1"))
    rejected = wait_for(
        "Rejected",
        lambda: (
            (p := cluster.get("participants", "too-late")).get("status", {}).get("phase")
            == "Rejected"
            and p
        ),
    )
    assert rejected["status"]["reason"] == "JourneyFinished"
    # The Event comes after the rejection was written: by then the decision is long made.
    wait_for_events(cluster, "too-late", "JourneyFinished")
    assert cluster.jobs("shut-v1") == []


def test_a_template_the_api_server_refuses_stalls_the_journey_visibly(
    cluster: Cluster, operator: OperatorProcess
) -> None:
    """A bad template fails each entry with the API server's reason, and says so once."""
    manifest = journey_manifest("broken-v1")
    manifest["spec"]["template"]["spec"]["template"]["spec"]["containers"] = []
    cluster.create(manifest)
    cluster.create(participant_manifest("victim", "broken-v1"))
    failed = wait_for(
        "participant Failed",
        lambda: (
            (p := cluster.get("participants", "victim")).get("status", {}).get("phase") == "Failed"
            and p
        ),
    )
    assert failed["status"]["reason"] == "JobRefused"
    assert "containers" in failed["status"]["message"]
    journey = wait_for(
        "Stalled condition",
        lambda: (
            (j := cluster.journey("broken-v1"))
            and any(
                c["type"] == "Stalled" and c["status"] == "True"
                for c in (j.get("status") or {}).get("conditions", [])
            )
            and j
        ),
    )
    assert condition(journey, "Ready")["status"] == "False"
    assert "containers" in condition(journey, "Stalled")["message"]
    assert cluster.jobs("broken-v1") == []
