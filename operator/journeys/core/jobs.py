"""The Job a participant runs, built from its journey's template (pure: a manifest, no I/O).

The Job is named after the participant, so creating it twice is refused by the API server
(409) instead of running a participant twice: that is what makes entry idempotent across
retries and operator restarts.
"""

from __future__ import annotations

import copy
from typing import Any

from journeys.api import (
    API_VERSION,
    JOURNEY_KIND,
    LABEL_FAMILY,
    LABEL_JOURNEY,
    LABEL_PARTICIPANT,
    LABEL_VERSION,
    PARTICIPANT_KIND,
    Journey,
    ObjectMeta,
    Participant,
)

ENV_PREFIX = "JOURNEY_"
ATTRIBUTE_ENV_PREFIX = "JOURNEY_ATTR_"


def journey_family(journey: Journey) -> str:
    """Transition shim for the controllers: use ``journey.family``."""
    return journey.family


def job_labels(journey: Journey, participant: Participant) -> dict[str, str]:
    """Labels that let anyone select a journey's Jobs and pods: by journey, family, participant."""
    return {
        LABEL_JOURNEY: journey.metadata.name or "",
        LABEL_FAMILY: journey.family,
        LABEL_VERSION: str(journey.spec.version),
        LABEL_PARTICIPANT: participant.metadata.name or "",
    }


def participant_environment(journey: Journey, participant: Participant) -> list[dict[str, str]]:
    """Who the workload works for: the profile, the journey and the participant's attributes."""
    env = [
        {"name": f"{ENV_PREFIX}PROFILE", "value": participant.spec.profile},
        {"name": f"{ENV_PREFIX}NAME", "value": journey.metadata.name or ""},
        {"name": f"{ENV_PREFIX}FAMILY", "value": journey.family},
        {"name": f"{ENV_PREFIX}VERSION", "value": str(journey.spec.version)},
        {"name": f"{ENV_PREFIX}PARTICIPANT", "value": participant.metadata.name or ""},
    ]
    env += [
        {"name": f"{ATTRIBUTE_ENV_PREFIX}{key}", "value": value}
        for key, value in sorted(participant.spec.attributes.items())
    ]
    return env


def build_job(journey: Journey, participant: Participant) -> dict[str, Any]:
    """The participant's Job: the journey's template plus labels, owner and environment."""
    template = copy.deepcopy(journey.spec.template)
    template_meta: dict[str, Any] = template.get("metadata") or {}
    spec: dict[str, Any] = template.get("spec") or {}
    labels = job_labels(journey, participant)

    pod_template: dict[str, Any] = spec.setdefault("template", {})
    pod_meta: dict[str, Any] = pod_template.setdefault("metadata", {})
    pod_meta["labels"] = {**(pod_meta.get("labels") or {}), **labels}
    pod_spec: dict[str, Any] = pod_template.setdefault("spec", {})
    pod_spec.setdefault("restartPolicy", "Never")
    env = participant_environment(journey, participant)
    for container in [*pod_spec.get("initContainers", []), *pod_spec.get("containers", [])]:
        reserved = {item["name"] for item in env}
        own = [item for item in container.get("env", []) if item.get("name") not in reserved]
        container["env"] = own + env

    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "name": participant.metadata.name,
            "namespace": participant.metadata.namespace,
            "labels": {**(template_meta.get("labels") or {}), **labels},
            "annotations": dict(template_meta.get("annotations") or {}),
            "ownerReferences": [owner_reference(PARTICIPANT_KIND, participant.metadata)],
        },
        "spec": spec,
    }


def owner_reference(kind: str, metadata: ObjectMeta) -> dict[str, Any]:
    """A journeys.dev object as controller: deleting a Participant removes its Job through
    the garbage collector (and a foreground deletion waits for the Job)."""
    return {**_controller_reference(kind, metadata), "blockOwnerDeletion": True}


def journey_owner_reference(journey: ObjectMeta) -> dict[str, Any]:
    """A Participant's reference to its Journey: deleting the journey removes its participants.

    Without ``blockOwnerDeletion`` on purpose: the mutating webhook sets this reference in the
    user's own create request, and with ``OwnerReferencesPermissionEnforcement`` enabled
    (OpenShift) a blocking reference would require everyone who enters a journey to hold
    ``update`` on ``journeys/finalizers``. The journey's deletion is already guarded (only when
    Stopped or Finished), and the collector removes its participants either way.
    """
    return _controller_reference(JOURNEY_KIND, journey)


def _controller_reference(kind: str, metadata: ObjectMeta) -> dict[str, Any]:
    return {
        "apiVersion": API_VERSION,
        "kind": kind,
        "name": metadata.name,
        "uid": metadata.uid,
        "controller": True,
    }
