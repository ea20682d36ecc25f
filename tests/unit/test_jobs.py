"""The participant's Job as built from the journey's template."""

from __future__ import annotations

from journeys.api import Journey, Participant
from journeys.core.jobs import build_job


def make(template: dict[str, object], family: str | None = None) -> tuple[Journey, Participant]:
    journey = Journey.model_validate(
        {
            "metadata": {"name": "welcome-v3", "namespace": "team", "uid": "j-uid"},
            "spec": {"version": 3, "template": template, **({"family": family} if family else {})},
        }
    )
    participant = Participant.model_validate(
        {
            "metadata": {"name": "welcome-alice", "namespace": "team", "uid": "p-uid"},
            "spec": {"journey": "welcome-v3", "profile": "alice", "attributes": {"PLAN": "gold"}},
        }
    )
    return journey, participant


TEMPLATE = {
    "metadata": {"labels": {"team": "growth"}, "annotations": {"note": "x"}},
    "spec": {
        "backoffLimit": 0,
        "template": {
            "metadata": {"labels": {"app": "step"}},
            "spec": {
                "containers": [
                    {"name": "a", "image": "step:1", "env": [{"name": "KEEP", "value": "1"}]},
                    {
                        "name": "b",
                        "image": "step:1",
                        "env": [{"name": "JOURNEY_PROFILE", "value": "spoofed"}],
                    },
                ]
            },
        },
    },
}


def test_job_is_named_labelled_and_owned_by_the_participant() -> None:
    job = build_job(*make(TEMPLATE))
    meta = job["metadata"]
    assert (meta["name"], meta["namespace"]) == ("welcome-alice", "team")
    assert meta["labels"] == {
        "team": "growth",
        "journeys.dev/journey": "welcome-v3",
        "journeys.dev/family": "welcome",
        "journeys.dev/version": "3",
        "journeys.dev/participant": "welcome-alice",
    }
    assert meta["annotations"] == {"note": "x"}
    [owner] = meta["ownerReferences"]
    assert owner == {
        "apiVersion": "journeys.dev/v1alpha1",
        "kind": "Participant",
        "name": "welcome-alice",
        "uid": "p-uid",
        "controller": True,
        "blockOwnerDeletion": True,
    }
    pod_labels = job["spec"]["template"]["metadata"]["labels"]
    assert pod_labels["app"] == "step" and pod_labels["journeys.dev/participant"] == "welcome-alice"
    assert job["spec"]["template"]["spec"]["restartPolicy"] == "Never"


def test_profile_and_attributes_reach_every_container_and_cannot_be_spoofed() -> None:
    job = build_job(*make(TEMPLATE))
    for container in job["spec"]["template"]["spec"]["containers"]:
        env = {e["name"]: e["value"] for e in container["env"]}
        assert env["JOURNEY_PROFILE"] == "alice"
        assert env["JOURNEY_ATTR_PLAN"] == "gold"
        assert env["JOURNEY_NAME"] == "welcome-v3"
        assert env["JOURNEY_FAMILY"] == "welcome"
    assert {"name": "KEEP", "value": "1"} in job["spec"]["template"]["spec"]["containers"][0]["env"]


def test_explicit_family_wins_and_template_is_not_mutated() -> None:
    journey, participant = make(TEMPLATE, family="onboarding")
    job = build_job(journey, participant)
    assert job["metadata"]["labels"]["journeys.dev/family"] == "onboarding"
    assert "journeys.dev/journey" not in TEMPLATE["spec"]["template"]["metadata"]["labels"]  # type: ignore[index]
