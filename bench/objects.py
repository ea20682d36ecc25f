"""The objects every benchmark route creates: one journey, N participants, their Jobs.

Jobs are built by the operator's own ``build_job``, so the baselines write byte-for-byte the
manifests the operator writes. Pods stay Running on the kwok node for the whole run.
"""

from __future__ import annotations

from typing import Any

from journeys.api import (
    API_VERSION,
    JOURNEY_KIND,
    JOURNEY_PLURAL,
    LABEL_JOURNEY,
    PARTICIPANT_KIND,
    PARTICIPANT_PLURAL,
    Journey,
    ObjectMeta,
    Participant,
    ParticipantSpec,
)
from journeys.core.jobs import build_job, journey_owner_reference

#: Long enough that no pod finishes during a run.
POD_RUNS_FOR = "3600s"
JOURNEY = "bench-v1"


def journey_manifest(name: str = JOURNEY) -> dict[str, Any]:
    pod = {
        "metadata": {"annotations": {"pod-complete.stage.kwok.x-k8s.io/delay": POD_RUNS_FOR}},
        "spec": {"restartPolicy": "Never", "containers": [{"name": "step", "image": "step"}]},
    }
    return {
        "apiVersion": API_VERSION,
        "kind": JOURNEY_KIND,
        "metadata": {"name": name},
        "spec": {"version": 1, "template": {"spec": {"backoffLimit": 0, "template": pod}}},
    }


def participant_name(index: int) -> str:
    return f"p-{index:05d}"


def participant_manifest(index: int, journey: dict[str, Any]) -> dict[str, Any]:
    """A participant as the mutating webhook leaves it: the journey label and owner reference."""
    metadata = {
        "name": participant_name(index),
        "labels": {LABEL_JOURNEY: journey["metadata"]["name"]},
        "ownerReferences": [journey_owner(journey)],
    }
    return {
        "apiVersion": API_VERSION,
        "kind": PARTICIPANT_KIND,
        "metadata": metadata,
        "spec": {"journey": journey["metadata"]["name"], "profile": f"profile-{index}"},
    }


def job_manifest(journey: dict[str, Any], participant: dict[str, Any]) -> dict[str, Any]:
    """The Job the operator would create for ``participant`` (created objects, with uids)."""
    meta = participant["metadata"]
    model = Participant(
        api_version=API_VERSION,
        kind=PARTICIPANT_KIND,
        metadata=ObjectMeta(name=meta["name"], namespace=meta["namespace"], uid=meta["uid"]),
        spec=ParticipantSpec(
            journey=participant["spec"]["journey"], profile=participant["spec"]["profile"]
        ),
    )
    return build_job(Journey.model_validate(journey), model)


def journey_owner(journey: dict[str, Any]) -> dict[str, Any]:
    meta = journey["metadata"]
    return journey_owner_reference(
        ObjectMeta(name=meta["name"], namespace=meta["namespace"], uid=meta["uid"])
    )


def custom_path(namespace: str, plural: str, name: str = "") -> str:
    base = f"/apis/{API_VERSION}/namespaces/{namespace}/{plural}"
    return f"{base}/{name}" if name else base


def participants_path(namespace: str, name: str = "") -> str:
    return custom_path(namespace, PARTICIPANT_PLURAL, name)


def journeys_path(namespace: str, name: str = "") -> str:
    return custom_path(namespace, JOURNEY_PLURAL, name)


def jobs_path(namespace: str, name: str = "") -> str:
    base = f"/apis/batch/v1/namespaces/{namespace}/jobs"
    return f"{base}/{name}" if name else base
