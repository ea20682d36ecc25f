"""The parts every API object shares: the base model, metadata and metav1.Condition.

Conventions: Python names are snake_case, the wire format is camelCase (aliases); dump with
:meth:`ApiModel.to_api`. Unknown fields are ignored rather than refused, so an older operator keeps
working against a newer CRD.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from journeys.api.limits import (
    CONDITION_REASON_PATTERN,
    CONDITION_TYPE_PATTERN,
    MAX_CONDITIONS,
    MAX_NAME_LENGTH,
)
from journeys.api.names import API_VERSION
from journeys.api.validators import Timestamp


class ApiModel(BaseModel):
    """Base of every API model: camelCase on the wire, snake_case in Python.

    ``extra="ignore"``: the API server already prunes unknown fields, and refusing them here would
    only make an older operator crash on objects written through a newer CRD.
    """

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="ignore",
        use_enum_values=False,
        validate_default=True,
    )

    def to_api(self) -> dict[str, Any]:
        """The JSON-ready dict to send to the API server (camelCase keys, ``None`` left out).

        Leaving ``None`` out means a merge patch built from it never clears a field; to clear
        one, set it to ``None`` explicitly in the patch.
        """
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


class ObjectMeta(ApiModel):
    """The part of metav1.ObjectMeta the operator reads (the API server owns its schema)."""

    name: str | None = Field(default=None, description="Name of the object.")
    generate_name: str | None = Field(default=None, description="Prefix for a generated name.")
    namespace: str | None = Field(default=None, description="Namespace of the object.")
    uid: str | None = Field(default=None, description="Unique id set by the API server.")
    generation: int | None = Field(default=None, description="Incremented on each spec change.")
    resource_version: str | None = Field(default=None, description="Optimistic-lock version.")
    labels: dict[str, str] = Field(default_factory=dict, description="Labels.")
    annotations: dict[str, str] = Field(default_factory=dict, description="Annotations.")
    creation_timestamp: Timestamp | None = Field(default=None, description="Creation time.")
    deletion_timestamp: Timestamp | None = Field(default=None, description="Deletion time.")
    owner_references: list[dict[str, Any]] = Field(
        default_factory=list, description="Owners (garbage collection)."
    )


class ApiObject(ApiModel):
    """Base of the two kinds: ``apiVersion``, ``metadata`` and the name limit both have (their
    names end up in label values and Job names, which the API server limits to 63 characters)."""

    api_version: str = Field(default=API_VERSION, description=API_VERSION)
    metadata: ObjectMeta = Field(default_factory=ObjectMeta, description="Standard metadata.")

    def _refuse_long_name(self, message: str) -> None:
        if self.metadata.name is not None and len(self.metadata.name) > MAX_NAME_LENGTH:
            raise ValueError(message)


class Condition(ApiModel):
    """metav1.Condition, with its validation, so the operator cannot write what kstatus rejects."""

    type: str = Field(
        max_length=316,
        pattern=CONDITION_TYPE_PATTERN,
        description=(
            "Type of the condition: Ready, AcceptingEntries, Draining, Halted, Finished, "
            "Reconciling or Stalled."
        ),
    )
    status: Literal["True", "False", "Unknown"] = Field(
        description="Status of the condition: True, False or Unknown."
    )
    reason: str = Field(
        min_length=1,
        max_length=1024,
        pattern=CONDITION_REASON_PATTERN,
        description="Machine-readable CamelCase reason for the last transition, e.g. Superseded.",
    )
    message: str = Field(
        default="",
        max_length=32768,
        description="Human-readable details about the last transition.",
    )
    last_transition_time: Timestamp = Field(
        description="When the condition last changed status (RFC 3339)."
    )
    observed_generation: int | None = Field(
        default=None,
        ge=0,
        description="metadata.generation the condition was computed from; older means stale.",
    )


def conditions_field() -> Any:
    """The ``conditions`` field: a list-map keyed by type, as kstatus and SSA expect."""
    return Field(
        default_factory=list,
        max_length=MAX_CONDITIONS,
        description=(
            "Standard Kubernetes conditions, one per type (kstatus-compatible, so Flux, Argo CD "
            "and dashboards read them without custom code)."
        ),
        json_schema_extra={
            "x-kubernetes-list-type": "map",
            "x-kubernetes-list-map-keys": ["type"],
        },
    )
