"""The Journey kind: one version of a path that participants walk through.

The model is the single source of truth for the CRD (``python -m journeys.api.crds``): a field's
``description`` is what ``kubectl explain`` shows, and the CEL rules that make the API server
itself refuse illegal changes are attached to the fields they guard. Defaults are defined here
once (:data:`DEFAULT_DRAIN_TIMEOUT`, :data:`DEFAULT_HALT_POLICY`, :data:`DEFAULT_STATE`); whoever
shows or assumes a default takes it from here.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any, Final, Self

from pydantic import ConfigDict, Field, field_validator, model_validator

from journeys.api import cel
from journeys.api.durations import parse_duration
from journeys.api.families import default_family, effective_family, is_valid_family
from journeys.api.limits import (
    MAX_FAMILY_LENGTH,
    MAX_STOP_REASON_LENGTH,
    MAX_VERSION,
)
from journeys.api.messages import (
    FAMILY_UNDERIVABLE_MESSAGE,
    JOURNEY_NAME_MESSAGE,
    TEMPLATE_IMMUTABLE_MESSAGE,
    VERSION_IMMUTABLE_MESSAGE,
)
from journeys.api.meta import ApiModel, ApiObject, Condition, conditions_field
from journeys.api.names import (
    JOURNEY_KIND,
    LABEL_FAMILY,
    LABEL_JOURNEY,
    LABEL_PARTICIPANT,
)
from journeys.api.states import HaltPolicy, JourneyPhase, JourneyState, parse_enum
from journeys.api.validators import DurationString, Family, Timestamp

#: 91 days, the reference product's fixed drain period.
DEFAULT_DRAIN_TIMEOUT: Final = "2184h"
DEFAULT_HALT_POLICY: Final = HaltPolicy.SUSPEND
DEFAULT_STATE: Final = JourneyState.LIVE


def spec_state(spec: Mapping[str, Any]) -> JourneyState:
    """``spec.state`` of a raw object with the default filled in; an unknown value reads as the
    default and is left to the schema to refuse."""
    return parse_enum(JourneyState, spec.get("state")) or DEFAULT_STATE


class Drain(ApiModel):
    """Settings for how a closed journey waits for its participants."""

    timeout: DurationString = Field(
        default=DEFAULT_DRAIN_TIMEOUT,
        description=(
            "How long a closed journey waits for its active participants to finish, counted from "
            "status.closedAt, as a Go duration: a number and a unit h, m, s, ms, us or ns, "
            "combinable (2184h, 90m, 1h30m, 1.5h; there is no day unit, 1 day is 24h). When it "
            "runs out, the participants still inside are halted as by Stop (see halt.policy) and "
            "the journey is Finished. Default 2184h (91 days). May be changed at any time; the "
            "new value applies from status.closedAt."
        ),
    )

    @property
    def timeout_duration(self) -> timedelta:
        """``timeout`` as a ``timedelta``."""
        return parse_duration(self.timeout)


class Halt(ApiModel):
    """Settings for halting participants."""

    policy: HaltPolicy = Field(
        default=DEFAULT_HALT_POLICY,
        description=(
            "What halting does to an active participant's Job when the journey is stopped or its "
            "drain timeout runs out. Suspend (default): set the Job's spec.suspend to true, so "
            "its pods are terminated but the Job, its status and its logs stay for inspection. "
            "Delete: delete the Job and its pods. Either way the participant becomes Halted. "
            "Changing it affects only halts not yet carried out."
        ),
    )


class Entry(ApiModel):
    """Settings for entering the journey."""

    max_participants: int | None = Field(
        default=None,
        ge=1,
        description=(
            "Optional capacity: the most participants that may be inside the journey at once "
            "(Pending or Active). Entries beyond it are refused (reason CapacityReached). "
            "An integer >= 1; unset (default) means no limit. May be changed at any time; "
            "lowering it never removes anyone already inside."
        ),
    )


class JourneySpec(ApiModel):
    """Desired state of a Journey."""

    family: Family | None = Field(
        default=None,
        description=(
            "The journey across its versions: every version of a journey shares its family, and "
            "a profile may be active in only one version of a family at a time. A DNS label of "
            f"at most {MAX_FAMILY_LENGTH} characters. Default: metadata.name without its "
            "'-v<N>' suffix (welcome-v2 -> welcome). Immutable: once set it cannot change; "
            "filling it in later is allowed only with that default. To start a new family, "
            "duplicate the journey (kubectl journey duplicate)."
        ),
    )
    version: int = Field(
        ge=1,
        le=MAX_VERSION,
        description=(
            "Version number within the family, an integer >= 1; by convention the journey is "
            "named <family>-v<version>. Required. A new version must be higher than every "
            "existing version of its family; when it is live, the previous live version is "
            "closed (status.supersededBy). Immutable: create a new version instead "
            "(kubectl journey new-version <family>)."
        ),
        json_schema_extra={"x-kubernetes-validations": [cel.immutable(VERSION_IMMUTABLE_MESSAGE)]},
    )
    state: JourneyState = Field(
        default=DEFAULT_STATE,
        description=(
            "Desired state: live (default; accepts new participants), closed (refuses new "
            "participants; those inside continue to the end of their path, then the journey is "
            "Finished, or halted when drain.timeout runs out), or stopped (every active "
            "participant is halted now, see halt.policy; pending ones are rejected). It only "
            "moves forward: live -> closed, live -> stopped, closed -> stopped. The API server "
            "refuses any other change: a closed or stopped journey can never be resumed; create "
            "a new version instead. status.phase is the effective state and may run ahead of "
            "this field (superseded by a newer version, or endAt passed)."
        ),
        json_schema_extra={"x-kubernetes-validations": [cel.state_transition()]},
    )
    stop_reason: str = Field(
        default="",
        max_length=MAX_STOP_REASON_LENGTH,
        description=(
            "Why the journey is stopped (free text, at most 1024 characters), e.g. "
            "'wrong audience'. Recorded in status.stopReason and in the Stop event. Default "
            "empty. Set it together with state: stopped (kubectl journey stop --reason)."
        ),
    )
    close_reason: str = Field(
        default="",
        max_length=MAX_STOP_REASON_LENGTH,
        description=(
            "Why the journey is closed (free text, at most 1024 characters), e.g. "
            "'spring campaign over'. Recorded in status.closeReason and in the Close event. "
            "Default empty. Set it together with state: closed (kubectl journey close --reason)."
        ),
    )
    end_at: Timestamp | None = Field(
        default=None,
        description=(
            "Optional hard end, an RFC 3339 time (2025-12-31T23:00:00Z): when it passes, the "
            "journey stops by itself as if state were stopped (status.phase Stopped, reason "
            "EndReached); spec.state is not rewritten. Default: no end."
        ),
    )
    drain: Drain = Field(
        default_factory=Drain,
        description="How a closed journey waits for the participants still inside.",
        json_schema_extra={"default": {}},
    )
    halt: Halt = Field(
        default_factory=Halt,
        description="How participants are halted when the journey stops.",
        json_schema_extra={"default": {}},
    )
    entry: Entry = Field(
        default_factory=Entry,
        description="Rules for entering the journey.",
        json_schema_extra={"default": {}},
    )
    template: dict[str, Any] = Field(
        description=(
            "The workload each participant runs: a batch/v1 JobTemplateSpec (metadata and spec "
            "of a Job). The operator creates one Job per admitted participant from it, adds the "
            f"{LABEL_JOURNEY}, {LABEL_FAMILY} and {LABEL_PARTICIPANT} labels, and passes the "
            "profile id and attributes as environment variables. Required, with spec. The API "
            "server does not check it as a Job. Immutable: participants keep the workload they "
            "entered with; to change it, create a new version."
        ),
        json_schema_extra={
            "x-kubernetes-preserve-unknown-fields": True,
            "x-kubernetes-embedded-resource": False,
            "required": ["spec"],
            "properties": {
                "metadata": {
                    "type": "object",
                    "x-kubernetes-preserve-unknown-fields": True,
                    "description": (
                        "Labels and annotations for each participant's Job (the operator adds "
                        "its own journeys.dev/ labels)."
                    ),
                },
                "spec": {
                    "type": "object",
                    "x-kubernetes-preserve-unknown-fields": True,
                    "description": (
                        "A batch/v1 JobSpec: the pod template and the Job's completion rules."
                    ),
                },
            },
            "x-kubernetes-validations": [cel.immutable(TEMPLATE_IMMUTABLE_MESSAGE)],
        },
    )

    @field_validator("template")
    @classmethod
    def _template_has_spec(cls, value: dict[str, Any]) -> dict[str, Any]:
        if not isinstance(value.get("spec"), dict):
            raise ValueError("template must be a JobTemplateSpec with a spec (a batch/v1 JobSpec)")
        if not isinstance(value.get("metadata", {}), dict):
            raise ValueError("template.metadata must be an object (labels, annotations)")
        return value


class ParticipantCounts(ApiModel):
    """How many participants are in each state; what dashboards and ``kubectl get`` show."""

    active: int = Field(default=0, ge=0, description="Participants inside (Pending or Active).")
    completed: int = Field(default=0, ge=0, description="Participants whose Job succeeded.")
    failed: int = Field(default=0, ge=0, description="Participants whose Job failed.")
    halted: int = Field(default=0, ge=0, description="Participants halted by Stop or drain.")
    rejected: int = Field(default=0, ge=0, description="Participants refused entry.")


class JourneyStatus(ApiModel):
    """Observed state of a Journey, written only by the operator."""

    phase: JourneyPhase | None = Field(
        default=None,
        description=(
            "Effective state: Live, Closed, Finished or Stopped. It only moves forward (Live -> "
            "Closed -> Finished; Live or Closed -> Stopped) and can run ahead of spec.state: a "
            "newer live version closes this one (reason Superseded), endAt passing stops it "
            "(reason EndReached), and a closed journey is Finished when no participant is "
            "active or drain.timeout ran out."
        ),
    )
    observed_generation: int | None = Field(
        default=None,
        ge=0,
        description="metadata.generation this status was computed from.",
    )
    participants: ParticipantCounts = Field(
        default_factory=ParticipantCounts,
        description="Number of participants in each state.",
    )
    closed_at: Timestamp | None = Field(default=None, description="When the journey closed.")
    closed_by: str | None = Field(
        default=None,
        description="Who closed it: a user name, or the operator with the reason (Superseded).",
    )
    stopped_at: Timestamp | None = Field(default=None, description="When the journey stopped.")
    stopped_by: str | None = Field(
        default=None,
        description="Who stopped it: a user name, or the operator when endAt passed.",
    )
    close_reason: str | None = Field(default=None, description="Why it was closed.")
    stop_reason: str | None = Field(default=None, description="Why it was stopped.")
    finished_at: Timestamp | None = Field(
        default=None, description="When the closed journey finished draining."
    )
    superseded_by: str | None = Field(
        default=None,
        description="The newer version of the family whose publication closed this one.",
    )
    conditions: list[Condition] = conditions_field()


class Journey(ApiObject):
    """A Journey is one version of a path that participants walk through.

    Each participant runs the Job built from spec.template. A journey is ended safely by closing
    it to new entries (spec.state: closed; those inside finish their path) or, in an emergency,
    by stopping it (spec.state: stopped; everyone inside is halted). A closed or stopped journey
    never runs again: create a new version (a new Journey <family>-v<N+1>) instead.
    """

    model_config = ConfigDict(
        json_schema_extra={
            "x-kubernetes-validations": [
                cel.name_length(JOURNEY_NAME_MESSAGE),
                cel.family_derivable(),
                cel.family_immutable(),
            ]
        }
    )

    kind: str = Field(default=JOURNEY_KIND, description="Journey")
    spec: JourneySpec = Field(description="Desired state of the journey.")
    status: JourneyStatus = Field(
        default_factory=JourneyStatus,
        description="Observed state of the journey, written by the operator.",
    )

    @model_validator(mode="after")
    def _check_name_and_family(self) -> Self:
        self._refuse_long_name(JOURNEY_NAME_MESSAGE)
        name = self.metadata.name
        if (
            name is not None
            and self.spec.family is None
            and not is_valid_family(default_family(name))
        ):
            raise ValueError(FAMILY_UNDERIVABLE_MESSAGE)
        return self

    @property
    def family(self) -> str:
        """The effective family: ``spec.family``, or the default derived from the name."""
        return effective_family(self.metadata.name or "", self.spec.family)
