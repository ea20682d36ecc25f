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


def job_labels(journey: Journey, participant: Participant) -> dict[str, str]:
    """Labels that let anyone select a journey's Jobs and pods: by journey, family, participant."""
    return {
        LABEL_JOURNEY: journey.metadata.name or "",
        LABEL_FAMILY: journey.family,
        LABEL_VERSION: str(journey.spec.version),
        LABEL_PARTICIPANT: participant.metadata.name or "",
    }


def _reserved_environment(journey: Journey, participant: Participant) -> list[dict[str, str]]:
    """Who the workload works for: the profile and the journey (names no template may take)."""
    values = {
        "PROFILE": participant.spec.profile,
        "NAME": journey.metadata.name or "",
        "FAMILY": journey.family,
        "VERSION": str(journey.spec.version),
        "PARTICIPANT": participant.metadata.name or "",
    }
    return [{"name": f"{ENV_PREFIX}{key}", "value": _literal(v)} for key, v in values.items()]


def _attribute_environment(participant: Participant) -> list[dict[str, str]]:
    return [
        {"name": f"{ATTRIBUTE_ENV_PREFIX}{key}", "value": _literal(value)}
        for key, value in sorted(participant.spec.attributes.items())
    ]


def _literal(value: str) -> str:
    """``value`` escaped for the kubelet's ``$(VAR)`` expansion (``$`` becomes ``$$``).

    The workload sees exactly what the participant holds: a profile or attribute such as
    ``$(DB_PASSWORD)`` can never copy another variable of the container into itself.
    """
    return value.replace("$", "$$")


def _container_environment(
    own: list[dict[str, Any]], reserved: list[dict[str, str]], attributes: list[dict[str, str]]
) -> list[dict[str, Any]]:
    """The reserved variables replace the template's; the template's win over attributes."""
    taken = {item["name"] for item in reserved}
    kept = [item for item in own if item.get("name") not in taken]
    defined = {item.get("name") for item in kept}
    return kept + reserved + [item for item in attributes if item["name"] not in defined]


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
    reserved = _reserved_environment(journey, participant)
    attributes = _attribute_environment(participant)
    for container in [*pod_spec.get("initContainers", []), *pod_spec.get("containers", [])]:
        container["env"] = _container_environment(container.get("env", []), reserved, attributes)

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
