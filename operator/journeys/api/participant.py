"""The Participant kind: one profile walking through one Journey (creating one is entering)."""

from __future__ import annotations

from typing import Self

from pydantic import ConfigDict, Field, field_validator, model_validator

from journeys.api import cel
from journeys.api.limits import (
    MAX_ATTRIBUTE_KEY_LENGTH,
    MAX_ATTRIBUTE_VALUE_LENGTH,
    MAX_ATTRIBUTES,
    MAX_PROFILE_LENGTH,
)
from journeys.api.messages import (
    PARTICIPANT_JOURNEY_IMMUTABLE_MESSAGE,
    PARTICIPANT_NAME_MESSAGE,
    PARTICIPANT_PROFILE_IMMUTABLE_MESSAGE,
)
from journeys.api.meta import ApiModel, ApiObject
from journeys.api.names import PARTICIPANT_KIND
from journeys.api.states import ParticipantPhase
from journeys.api.validators import AttributeValue, JourneyName, Timestamp, check_attribute_keys


class ParticipantSpec(ApiModel):
    """Desired state of a Participant: who enters which journey, with what data."""

    journey: JourneyName = Field(
        description=(
            "Name of the Journey to enter, in the same namespace. Entry is refused when the "
            "journey does not exist, is not live (closed, stopped, superseded or ended), is full, "
            "or the profile is already active in a version of its family. Immutable: to enter "
            "another journey, create a new Participant."
        ),
        json_schema_extra={
            "x-kubernetes-validations": [cel.immutable(PARTICIPANT_JOURNEY_IMMUTABLE_MESSAGE)]
        },
    )
    profile: str = Field(
        min_length=1,
        max_length=MAX_PROFILE_LENGTH,
        description=(
            "Id of the profile (the customer) walking the journey, 1 to 253 characters; handed "
            "to the workload in its environment. A profile may be active in only one version of "
            "a journey family at a time. Immutable: for another profile, create a new Participant."
        ),
        json_schema_extra={
            "x-kubernetes-validations": [cel.immutable(PARTICIPANT_PROFILE_IMMUTABLE_MESSAGE)]
        },
    )
    attributes: dict[str, AttributeValue] = Field(
        default_factory=dict,
        max_length=MAX_ATTRIBUTES,
        description=(
            "Data handed to the workload as environment variables, one per entry. Keys are "
            "environment variable names (letters, digits and '_', not starting with a digit, at "
            f"most {MAX_ATTRIBUTE_KEY_LENGTH} characters); values are strings of at most "
            f"{MAX_ATTRIBUTE_VALUE_LENGTH} characters; at most {MAX_ATTRIBUTES} entries. Read when "
            "the participant's Job is created: later changes do not reach an existing Job."
        ),
        json_schema_extra={"x-kubernetes-validations": [cel.attribute_keys()]},
    )

    @field_validator("attributes")
    @classmethod
    def _attribute_keys(cls, value: dict[str, str]) -> dict[str, str]:
        return check_attribute_keys(value)


class ParticipantStatus(ApiModel):
    """Observed state of a Participant, written only by the operator."""

    phase: ParticipantPhase | None = Field(
        default=None,
        description=(
            "Pending (admitted, waiting for its Job), Active (its Job runs), Completed (the Job "
            "succeeded), Failed (the Job failed), Halted (the journey stopped, or its drain "
            "timeout ran out, while it was inside), Rejected (refused entry; no Job was created). "
            "Completed, Failed, Halted and Rejected are final."
        ),
    )
    reason: str = Field(
        default="",
        description=(
            "Machine-readable reason for the phase, e.g. JourneyClosed, JourneyStopped, "
            "CapacityReached, AlreadyActive."
        ),
    )
    message: str = Field(default="", description="Explanation of the phase for people.")
    job: str = Field(default="", description="Name of the participant's Job, once created.")
    entered_at: Timestamp | None = Field(
        default=None, description="When the participant entered (its Job was created)."
    )
    exited_at: Timestamp | None = Field(
        default=None, description="When the participant reached a final phase."
    )


class Participant(ApiObject):
    """A Participant is one profile walking through one Journey.

    Creating it is entering the journey: when the journey is live and has room, the operator runs
    one Job for it from the journey's template and follows the Job to Completed or Failed. Entry is
    refused (or the participant Rejected) when the journey is closed, stopped, full, or the profile
    is already active in another version of the same family.
    """

    model_config = ConfigDict(
        json_schema_extra={"x-kubernetes-validations": [cel.name_length(PARTICIPANT_NAME_MESSAGE)]}
    )

    kind: str = Field(default=PARTICIPANT_KIND, description="Participant")
    spec: ParticipantSpec = Field(description="Who enters which journey, with what data.")
    status: ParticipantStatus = Field(
        default_factory=ParticipantStatus,
        description="Observed state of the participant, written by the operator.",
    )

    @model_validator(mode="after")
    def _check_name(self) -> Self:
        self._refuse_long_name(PARTICIPANT_NAME_MESSAGE)
        return self
