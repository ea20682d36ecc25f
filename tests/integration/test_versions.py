"""Versions on the real cluster: a newer live version closes the older one, never the reverse.

No admission webhook is installed here, so what is checked is the operator's own authority:
supersession as an effective phase (the older spec is never rewritten), its participants
finishing where they are, and one active version per profile.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.support import (
    Cluster,
    OperatorProcess,
    journey_manifest,
    participant_manifest,
    wait_for,
    wait_for_events,
)

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]


def status(cluster: Cluster, name: str) -> dict[str, Any]:
    return cluster.journey(name).get("status") or {}


def participant_status(cluster: Cluster, name: str) -> dict[str, Any]:
    return cluster.get("participants", name).get("status") or {}


def phase_is(cluster: Cluster, plural: str, name: str, phase: str) -> bool:
    return (cluster.get(plural, name).get("status") or {}).get("phase") == phase


def job_names(cluster: Cluster, journey: str) -> set[str]:
    return {str(job.metadata.name) for job in cluster.jobs(journey) if job.metadata}


def condition(obj: dict[str, Any], type_: str) -> dict[str, Any]:
    found: list[dict[str, Any]] = [c for c in obj["status"]["conditions"] if c["type"] == type_]
    assert found, f"no {type_} condition in {obj['status']}"
    return found[0]


def test_new_version_supersedes_the_previous_while_its_participants_finish(
    cluster: Cluster, operator: OperatorProcess
) -> None:
    cluster.create(journey_manifest("welcome-v1", delay="25s"))  # still inside when v2 comes
    for name in ("a", "b"):
        cluster.create(participant_manifest(name, "welcome-v1"))
    wait_for(
        "v1 participants Active",
        lambda: all(phase_is(cluster, "participants", n, "Active") for n in ("a", "b")),
        60,
    )
    spec_before = cluster.journey("welcome-v1")["spec"]

    cluster.create(journey_manifest("welcome-v2", version=2, delay="2s"))

    wait_for("v1 Closed", lambda: status(cluster, "welcome-v1").get("phase") == "Closed", 60)
    v1 = cluster.journey("welcome-v1")
    assert v1["status"]["supersededBy"] == "welcome-v2"
    assert v1["status"]["closedAt"]
    assert "superseded by welcome-v2" in v1["status"]["closedBy"]
    assert condition(v1, "AcceptingEntries")["status"] == "False"
    assert condition(v1, "AcceptingEntries")["reason"] == "Superseded"
    assert condition(v1, "Draining")["status"] == "True"
    assert v1["spec"] == spec_before  # effective phase only: the spec is not rewritten
    wait_for("v2 Live", lambda: status(cluster, "welcome-v2").get("phase") == "Live", 60)

    # A late entry into the old version is refused; the new version takes entries.
    cluster.create(participant_manifest("late", "welcome-v1"))
    cluster.create(participant_manifest("new", "welcome-v2"))
    wait_for("late one Rejected", lambda: phase_is(cluster, "participants", "late", "Rejected"))
    assert participant_status(cluster, "late")["reason"] == "JourneyClosed"
    assert job_names(cluster, "welcome-v1") == {"a", "b"}  # none for the late one
    wait_for(
        "new one Completed", lambda: phase_is(cluster, "participants", "new", "Completed"), 180
    )

    # Those inside v1 finish there, and then v1 is Finished.
    wait_for(
        "v1 participants Completed",
        lambda: all(phase_is(cluster, "participants", n, "Completed") for n in ("a", "b")),
        180,
    )
    wait_for("v1 Finished", lambda: status(cluster, "welcome-v1").get("phase") == "Finished", 60)
    v1 = cluster.journey("welcome-v1")
    assert v1["status"]["participants"]["completed"] == 2
    assert v1["status"]["participants"]["halted"] == 0
    assert v1["spec"] == spec_before
    wait_for_events(cluster, "welcome-v1", "Superseded")


def test_stopping_the_newest_version_does_not_reopen_the_older_one(
    cluster: Cluster, operator: OperatorProcess
) -> None:
    cluster.create(journey_manifest("promo-v1", delay="25s"))
    cluster.create(participant_manifest("inside-v1", "promo-v1"))
    wait_for(
        "v1 participant Active", lambda: phase_is(cluster, "participants", "inside-v1", "Active")
    )
    cluster.create(journey_manifest("promo-v2", version=2, delay="600s"))
    wait_for("v1 Closed", lambda: status(cluster, "promo-v1").get("phase") == "Closed", 60)
    cluster.create(participant_manifest("inside-v2", "promo-v2"))
    wait_for(
        "v2 participant Active", lambda: phase_is(cluster, "participants", "inside-v2", "Active")
    )

    cluster.patch_spec("journeys", "promo-v2", {"state": "stopped", "stopReason": "bad copy"})
    wait_for(
        "v2 participant Halted",
        lambda: phase_is(cluster, "participants", "inside-v2", "Halted"),
        60,
    )
    assert status(cluster, "promo-v2")["phase"] == "Stopped"

    # v1 stays closed: no entries, its supersession is kept, its participant is not halted.
    cluster.create(participant_manifest("after-stop", "promo-v1"))
    wait_for(
        "entry into v1 Rejected",
        lambda: phase_is(cluster, "participants", "after-stop", "Rejected"),
    )
    v1 = status(cluster, "promo-v1")
    assert v1["phase"] == "Closed"
    assert v1["supersededBy"] == "promo-v2"
    # Not halted (its 25 s may already be over on a slow machine: Completed is fine too).
    assert participant_status(cluster, "inside-v1")["phase"] in {"Active", "Completed"}
    wait_for(
        "v1 participant Completed",
        lambda: phase_is(cluster, "participants", "inside-v1", "Completed"),
        180,
    )
    wait_for("v1 Finished", lambda: status(cluster, "promo-v1").get("phase") == "Finished", 60)
    assert cluster.journey("promo-v1")["spec"]["state"] == "live"


def test_a_profile_is_active_in_one_version_of_a_family_at_a_time(
    cluster: Cluster, operator: OperatorProcess
) -> None:
    cluster.create(journey_manifest("onboard-v1", delay="30s"))  # alice inside all along
    cluster.create(participant_manifest("alice-v1", "onboard-v1", profile="alice"))
    wait_for("alice Active in v1", lambda: phase_is(cluster, "participants", "alice-v1", "Active"))
    cluster.create(journey_manifest("onboard-v2", version=2, delay="2s"))
    wait_for("v1 Closed", lambda: status(cluster, "onboard-v1").get("phase") == "Closed", 60)

    cluster.create(participant_manifest("alice-v2", "onboard-v2", profile="alice"))
    cluster.create(participant_manifest("bob-v2", "onboard-v2", profile="bob"))
    wait_for(
        "alice Rejected in v2", lambda: phase_is(cluster, "participants", "alice-v2", "Rejected")
    )
    rejected = participant_status(cluster, "alice-v2")
    assert rejected["reason"] == "AlreadyActive"
    assert "onboard-v1" in rejected["message"]
    assert not rejected.get("job")
    wait_for(
        "bob Active or Completed in v2",
        lambda: participant_status(cluster, "bob-v2").get("phase") in {"Active", "Completed"},
    )
    assert job_names(cluster, "onboard-v2") == {"bob-v2"}

    # Once alice has left v1, she may enter v2.
    wait_for(
        "alice Completed in v1",
        lambda: phase_is(cluster, "participants", "alice-v1", "Completed"),
        180,
    )
    cluster.create(participant_manifest("alice-v2-again", "onboard-v2", profile="alice"))
    wait_for(
        "alice admitted to v2",
        lambda: (
            participant_status(cluster, "alice-v2-again").get("phase") in {"Active", "Completed"}
        ),
        30,
    )
