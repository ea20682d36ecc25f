"""Journey objects as the API server returns them, for tests of the front ends' reading."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def journey(
    name: str,
    version: int,
    *,
    family: str | None = None,
    state: str = "live",
    phase: str | None = "Live",
    containers: list[dict[str, Any]] | None = None,
    **spec: Any,
) -> dict[str, Any]:
    """A Journey as the API server returns it (metadata, status and all)."""
    body: dict[str, Any] = {
        "apiVersion": "journeys.dev/v1alpha1",
        "kind": "Journey",
        "metadata": {
            "name": name,
            "namespace": "team",
            "uid": "1234",
            "resourceVersion": "42",
            "generation": 3,
            "creationTimestamp": "2026-11-27T11:00:00Z",
            "labels": {"journeys.dev/family": family or name, "app.kubernetes.io/instance": "x"},
            "annotations": {"journeys.dev/closed-by": "alice"},
            "managedFields": [{"manager": "kubectl"}],
        },
        "spec": {
            "version": version,
            "state": state,
            "stopReason": "",
            "drain": {"timeout": "2184h"},
            "halt": {"policy": "Suspend"},
            "template": {
                "spec": {
                    "template": {
                        "spec": {
                            "restartPolicy": "Never",
                            "containers": containers or [{"name": "step", "image": "step:1"}],
                        }
                    }
                }
            },
            **spec,
        },
        "status": {"participants": {"active": 2, "completed": 1}},
    }
    if family is not None:
        body["spec"]["family"] = family
    if phase is not None:
        body["status"]["phase"] = phase
    return body


#: A namespace's journeys: three versions of welcome (one renamed), and another family.
FAMILY = [
    journey("welcome-v1", 1, phase="Finished"),
    journey("welcome-v2", 2, phase="Closed"),
    journey("welcome-v3", 3),
    journey("other-v9", 9),
    journey("custom-name", 4, family="welcome", phase=None),
]
