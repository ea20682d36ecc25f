"""The journeys.dev/v1alpha1 API: Journey and Participant as pydantic models.

These models are the single source of truth for the API. The CRDs in ``crds/`` are generated from
them (``python -m journeys.api.crds --write crds/``), so a field's ``description`` here is what
``kubectl explain`` shows, and the CEL rules that make the API server itself refuse illegal changes
live next to the fields they guard (``json_schema_extra``). The operator parses what the API server
returns with the same models, so the two can never disagree about what is valid.

Conventions: Python names are snake_case, the wire format is camelCase (aliases); dump with
:meth:`ApiModel.to_api`. Unknown fields are ignored rather than refused, so an older operator keeps
working against a newer CRD.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any, Final, Literal, Self

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    field_validator,
    model_validator,
)
from pydantic.alias_generators import to_camel
from pydantic.config import JsonDict

from journeys.api.durations import DURATION_PATTERN, parse_duration

# --------------------------------------------------------------------------------------------
# Names of the API
# --------------------------------------------------------------------------------------------

GROUP: Final = "journeys.dev"
VERSION: Final = "v1alpha1"
API_VERSION: Final = f"{GROUP}/{VERSION}"
#: `kubectl get journeys-all` lists both kinds. Not "journeys": kubectl expands categories before
#: resource names, so that category would make `kubectl get journeys` list Participants too.
CATEGORY: Final = "journeys-all"

JOURNEY_KIND: Final = "Journey"
JOURNEY_PLURAL: Final = "journeys"
JOURNEY_SINGULAR: Final = "journey"
JOURNEY_SHORT_NAME: Final = "jny"

PARTICIPANT_KIND: Final = "Participant"
PARTICIPANT_PLURAL: Final = "participants"
PARTICIPANT_SINGULAR: Final = "participant"
PARTICIPANT_SHORT_NAME: Final = "jp"

LABEL_JOURNEY: Final = "journeys.dev/journey"
LABEL_FAMILY: Final = "journeys.dev/family"
LABEL_PARTICIPANT: Final = "journeys.dev/participant"
LABEL_VERSION: Final = "journeys.dev/version"

ANNOTATION_CLOSED_BY: Final = "journeys.dev/closed-by"
ANNOTATION_CLOSED_AT: Final = "journeys.dev/closed-at"
ANNOTATION_STOPPED_BY: Final = "journeys.dev/stopped-by"
ANNOTATION_STOPPED_AT: Final = "journeys.dev/stopped-at"

# --------------------------------------------------------------------------------------------
# Limits and patterns (shared by the Python validators and the CRD, so both refuse the same)
# --------------------------------------------------------------------------------------------

#: Label values are limited to 63 characters; journey and participant names end up in labels,
#: and a participant's Job is named after the participant.
MAX_NAME_LENGTH: Final = 63
#: Leaves room for "-v<N>" so that "<family>-v<N>" still fits in 63 characters.
MAX_FAMILY_LENGTH: Final = 50
MAX_VERSION: Final = 2**31 - 1
MAX_STOP_REASON_LENGTH: Final = 1024
MAX_PROFILE_LENGTH: Final = 253
MAX_ATTRIBUTES: Final = 64
MAX_ATTRIBUTE_KEY_LENGTH: Final = 63
MAX_ATTRIBUTE_VALUE_LENGTH: Final = 4096
MAX_CONDITIONS: Final = 32
MAX_DURATION_LENGTH: Final = 64

DNS_LABEL_PATTERN: Final = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
DNS_SUBDOMAIN_PATTERN: Final = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
ATTRIBUTE_KEY_PATTERN: Final = r"^[A-Za-z_][A-Za-z0-9_]*$"
#: The trailing "-v<N>" that :func:`default_family` strips (RE2 and Python agree on it).
VERSION_SUFFIX_PATTERN: Final = r"-v[0-9]+$"
# metav1.Condition's own patterns, so a status the operator builds is one the API server takes.
CONDITION_TYPE_PATTERN: Final = (
    r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?"
    r"(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$"
)
CONDITION_REASON_PATTERN: Final = r"^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$"

# --------------------------------------------------------------------------------------------
# Enumerations
# --------------------------------------------------------------------------------------------


class JourneyState(StrEnum):
    """Desired state written by people (``spec.state``); lower case, like other spec enums."""

    LIVE = "live"
    CLOSED = "closed"
    STOPPED = "stopped"


class JourneyPhase(StrEnum):
    """Effective state observed by the operator (``status.phase``); CamelCase like Pod phases."""

    LIVE = "Live"
    CLOSED = "Closed"
    FINISHED = "Finished"
    STOPPED = "Stopped"


class HaltPolicy(StrEnum):
    """What halting does to a participant's Job."""

    SUSPEND = "Suspend"
    DELETE = "Delete"


class ParticipantPhase(StrEnum):
    """Where a participant is on its path."""

    PENDING = "Pending"
    ACTIVE = "Active"
    COMPLETED = "Completed"
    FAILED = "Failed"
    HALTED = "Halted"
    REJECTED = "Rejected"


# --------------------------------------------------------------------------------------------
# The state machine of spec.state
# --------------------------------------------------------------------------------------------

#: Every legal (old, new) pair of ``spec.state``, including staying the same. The CRD's CEL
#: transition rule is built from this table and the lifecycle core uses it too, so the API server,
#: the webhook and the operator cannot drift apart.
LEGAL_STATE_TRANSITIONS: Final[frozenset[tuple[JourneyState, JourneyState]]] = frozenset(
    {
        (JourneyState.LIVE, JourneyState.LIVE),
        (JourneyState.LIVE, JourneyState.CLOSED),
        (JourneyState.LIVE, JourneyState.STOPPED),
        (JourneyState.CLOSED, JourneyState.CLOSED),
        (JourneyState.CLOSED, JourneyState.STOPPED),
        (JourneyState.STOPPED, JourneyState.STOPPED),
    }
)


def is_legal_state_transition(old: JourneyState, new: JourneyState) -> bool:
    """Whether ``spec.state`` may change from ``old`` to ``new``."""
    return (JourneyState(old), JourneyState(new)) in LEGAL_STATE_TRANSITIONS


def state_transition_rule(
    table: frozenset[tuple[JourneyState, JourneyState]] = LEGAL_STATE_TRANSITIONS,
) -> str:
    """The CEL transition rule (on ``spec.state``) that allows exactly the pairs in ``table``."""

    def quoted(state: JourneyState) -> str:
        return f"'{state.value}'"

    parts: list[str] = []
    keep_same = all((state, state) in table for state in JourneyState)
    if keep_same:
        parts.append("self == oldSelf")
    for old in JourneyState:
        targets = [
            new for new in JourneyState if (old, new) in table and not (keep_same and new == old)
        ]
        if targets:
            listed = ", ".join(quoted(new) for new in targets)
            parts.append(f"(oldSelf == {quoted(old)} && self in [{listed}])")
    return " || ".join(parts) if parts else "false"


# --------------------------------------------------------------------------------------------
# Messages the API server (CEL) and the webhook give; kept here so they are worded once
# --------------------------------------------------------------------------------------------

STATE_TRANSITION_MESSAGE: Final = (
    "a closed or stopped journey cannot be resumed: spec.state may only go live -> closed, "
    "live -> stopped or closed -> stopped; to run it again, create a new version "
    "(kubectl journey new-version <family>)"
)
FAMILY_IMMUTABLE_MESSAGE: Final = (
    "spec.family is immutable (it ties the versions of a journey together; it may only be "
    "filled in with its default, the name without -v<N>): to start a new family, duplicate "
    "the journey (kubectl journey duplicate)"
)
FAMILY_UNDERIVABLE_MESSAGE: Final = (
    "spec.family is not set and metadata.name without its -v<N> suffix is not a valid family "
    f"(a DNS label of at most {MAX_FAMILY_LENGTH} characters): set spec.family"
)
VERSION_IMMUTABLE_MESSAGE: Final = (
    "spec.version is immutable: to change the journey, create a new version "
    "(kubectl journey new-version <family>)"
)
TEMPLATE_IMMUTABLE_MESSAGE: Final = (
    "spec.template is immutable: participants keep the workload they entered with; to change "
    "the workload, create a new version (kubectl journey new-version <family>)"
)
JOURNEY_NAME_MESSAGE: Final = (
    f"metadata.name must be at most {MAX_NAME_LENGTH} characters: it is the value of the "
    f"{LABEL_JOURNEY} label on every participant's Job"
)
PARTICIPANT_NAME_MESSAGE: Final = (
    f"metadata.name must be at most {MAX_NAME_LENGTH} characters: the participant's Job is named "
    "after it, and Job names are limited to 63 characters"
)
PARTICIPANT_JOURNEY_IMMUTABLE_MESSAGE: Final = (
    "spec.journey is immutable: a participant belongs to one journey; to enter another journey, "
    "create a new Participant"
)
PARTICIPANT_PROFILE_IMMUTABLE_MESSAGE: Final = (
    "spec.profile is immutable: a participant is one profile's walk through a journey; for "
    "another profile, create a new Participant"
)
ATTRIBUTE_KEYS_MESSAGE: Final = (
    "spec.attributes keys must be environment variable names: letters, digits and '_', not "
    f"starting with a digit, at most {MAX_ATTRIBUTE_KEY_LENGTH} characters (e.g. PLAN, first_name)"
)

# --------------------------------------------------------------------------------------------
# CEL building blocks
# --------------------------------------------------------------------------------------------


def _cel_string(text: str) -> str:
    """A CEL single-quoted string literal."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _cel_derived_family(obj: str) -> str:
    """CEL for :func:`default_family` of ``<obj>.metadata.name`` (Kubernetes' strings library)."""
    name = f"{obj}.metadata.name"
    return (
        f"({name}.matches('{VERSION_SUFFIX_PATTERN}') ? "
        f"{name}.substring(0, {name}.lastIndexOf('-v')) : {name})"
    )


def _cel_effective_family(obj: str) -> str:
    """CEL for the family the operator uses: ``spec.family`` or the default from the name."""
    return f"(has({obj}.spec.family) ? {obj}.spec.family : {_cel_derived_family(obj)})"


def _rule(
    rule: str,
    message: str,
    *,
    field_path: str | None = None,
    reason: str | None = None,
    message_expression: str | None = None,
) -> JsonDict:
    """One ``x-kubernetes-validations`` entry."""
    entry: JsonDict = {"rule": rule, "message": message}
    if message_expression is not None:
        entry["messageExpression"] = message_expression
    if field_path is not None:
        entry["fieldPath"] = field_path
    if reason is not None:
        entry["reason"] = reason
    return entry


_FORBIDDEN: Final = "FieldValueForbidden"
_IMMUTABLE: Final = "self == oldSelf"

# --------------------------------------------------------------------------------------------
# Pure helpers
# --------------------------------------------------------------------------------------------

_VERSION_SUFFIX = re.compile(r"-v[0-9]+\Z")
_DNS_LABEL = re.compile(DNS_LABEL_PATTERN)
_DNS_SUBDOMAIN = re.compile(DNS_SUBDOMAIN_PATTERN)
_ATTRIBUTE_KEY = re.compile(ATTRIBUTE_KEY_PATTERN)


def default_family(name: str) -> str:
    """The family a journey named ``name`` belongs to when ``spec.family`` is not set.

    ``welcome-v1`` -> ``welcome``; a name without a ``-v<digits>`` suffix is its own family. The
    CRD has the same function in CEL, so the API server and the operator derive the same family.
    """
    return _VERSION_SUFFIX.sub("", name)


def is_valid_family(family: str) -> bool:
    """Whether ``family`` is a DNS label short enough to leave room for ``-v<N>``."""
    return len(family) <= MAX_FAMILY_LENGTH and _DNS_LABEL.fullmatch(family) is not None


def _rfc3339(value: datetime) -> str:
    """Kubernetes timestamps: UTC with a "Z" (what ``format: date-time`` and kubectl expect)."""
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _pattern_validator(pattern: re.Pattern[str], what: str, example: str) -> AfterValidator:
    """A validator with a message for people, instead of pydantic's regex dump."""

    def check(value: str) -> str:
        if pattern.fullmatch(value) is None:  # fullmatch: no trailing newline
            raise ValueError(f"{value!r} is not {what} (e.g. {example!r})")
        return value

    return AfterValidator(check)


def _check_duration(value: str) -> str:
    parse_duration(value)  # raises ValueError with an example
    return value


# --------------------------------------------------------------------------------------------
# Reusable field types
# --------------------------------------------------------------------------------------------

#: An RFC 3339 time; must carry a time zone, serialised in UTC with "Z".
Timestamp = Annotated[AwareDatetime, PlainSerializer(_rfc3339, return_type=str, when_used="json")]

Family = Annotated[
    str,
    Field(max_length=MAX_FAMILY_LENGTH, json_schema_extra={"pattern": DNS_LABEL_PATTERN}),
    _pattern_validator(
        _DNS_LABEL,
        "a DNS label (lower-case letters, digits and '-', starting and ending "
        "with a letter or digit)",
        "welcome",
    ),
]

JourneyName = Annotated[
    str,
    Field(
        min_length=1,
        max_length=MAX_NAME_LENGTH,
        json_schema_extra={"pattern": DNS_SUBDOMAIN_PATTERN},
    ),
    _pattern_validator(
        _DNS_SUBDOMAIN,
        "a Kubernetes object name (lower-case letters, digits, '-' and '.')",
        "welcome-v1",
    ),
]

DurationString = Annotated[
    str,
    Field(
        min_length=1,
        max_length=MAX_DURATION_LENGTH,
        json_schema_extra={"pattern": DURATION_PATTERN},
    ),
    AfterValidator(_check_duration),
]

AttributeValue = Annotated[str, Field(max_length=MAX_ATTRIBUTE_VALUE_LENGTH)]


# --------------------------------------------------------------------------------------------
# Base model
# --------------------------------------------------------------------------------------------


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


# --------------------------------------------------------------------------------------------
# Shared pieces
# --------------------------------------------------------------------------------------------


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


def _conditions_field() -> Any:
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


# --------------------------------------------------------------------------------------------
# Journey
# --------------------------------------------------------------------------------------------


class Drain(ApiModel):
    """Settings for how a closed journey waits for its participants."""

    timeout: DurationString = Field(
        default="2184h",
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
        default=HaltPolicy.SUSPEND,
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
        json_schema_extra={
            "x-kubernetes-validations": [
                _rule(_IMMUTABLE, VERSION_IMMUTABLE_MESSAGE, reason=_FORBIDDEN)
            ]
        },
    )
    state: JourneyState = Field(
        default=JourneyState.LIVE,
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
        json_schema_extra={
            "x-kubernetes-validations": [
                _rule(
                    state_transition_rule(),
                    STATE_TRANSITION_MESSAGE,
                    reason=_FORBIDDEN,
                    message_expression=(
                        "'spec.state cannot change from ' + oldSelf + ' to ' + self + ': ' + "
                        + _cel_string(STATE_TRANSITION_MESSAGE)
                    ),
                )
            ]
        },
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
            "x-kubernetes-validations": [
                _rule(_IMMUTABLE, TEMPLATE_IMMUTABLE_MESSAGE, reason=_FORBIDDEN)
            ],
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
    stop_reason: str | None = Field(default=None, description="Why it was stopped.")
    finished_at: Timestamp | None = Field(
        default=None, description="When the closed journey finished draining."
    )
    superseded_by: str | None = Field(
        default=None,
        description="The newer version of the family whose publication closed this one.",
    )
    conditions: list[Condition] = _conditions_field()


def _name_rule(message: str) -> JsonDict:
    return _rule(
        f"self.metadata.name.size() <= {MAX_NAME_LENGTH}",
        message,
        field_path=".metadata.name",
    )


class Journey(ApiModel):
    """A Journey is one version of a path that participants walk through.

    Each participant runs the Job built from spec.template. A journey is ended safely by closing
    it to new entries (spec.state: closed; those inside finish their path) or, in an emergency,
    by stopping it (spec.state: stopped; everyone inside is halted). A closed or stopped journey
    never runs again: create a new version (a new Journey <family>-v<N+1>) instead.
    """

    model_config = ConfigDict(
        json_schema_extra={
            "x-kubernetes-validations": [
                _name_rule(JOURNEY_NAME_MESSAGE),
                _rule(
                    "has(self.spec.family) || "
                    f"({_cel_derived_family('self')}.size() <= {MAX_FAMILY_LENGTH} && "
                    f"{_cel_derived_family('self')}.matches('{DNS_LABEL_PATTERN}'))",
                    FAMILY_UNDERIVABLE_MESSAGE,
                    field_path=".spec.family",
                ),
                _rule(
                    f"{_cel_effective_family('self')} == {_cel_effective_family('oldSelf')}",
                    FAMILY_IMMUTABLE_MESSAGE,
                    field_path=".spec.family",
                    reason=_FORBIDDEN,
                ),
            ]
        }
    )

    api_version: str = Field(default=API_VERSION, description="journeys.dev/v1alpha1")
    kind: str = Field(default=JOURNEY_KIND, description="Journey")
    metadata: ObjectMeta = Field(default_factory=ObjectMeta, description="Standard metadata.")
    spec: JourneySpec = Field(description="Desired state of the journey.")
    status: JourneyStatus = Field(
        default_factory=JourneyStatus,
        description="Observed state of the journey, written by the operator.",
    )

    @model_validator(mode="after")
    def _check_name_and_family(self) -> Self:
        name = self.metadata.name
        if name is None:
            return self
        if len(name) > MAX_NAME_LENGTH:
            raise ValueError(JOURNEY_NAME_MESSAGE)
        if self.spec.family is None and not is_valid_family(default_family(name)):
            raise ValueError(FAMILY_UNDERIVABLE_MESSAGE)
        return self

    @property
    def family(self) -> str:
        """The effective family: ``spec.family``, or the default derived from the name."""
        if self.spec.family is not None:
            return self.spec.family
        return default_family(self.metadata.name or "")


# --------------------------------------------------------------------------------------------
# Participant
# --------------------------------------------------------------------------------------------


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
            "x-kubernetes-validations": [
                _rule(_IMMUTABLE, PARTICIPANT_JOURNEY_IMMUTABLE_MESSAGE, reason=_FORBIDDEN)
            ]
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
            "x-kubernetes-validations": [
                _rule(_IMMUTABLE, PARTICIPANT_PROFILE_IMMUTABLE_MESSAGE, reason=_FORBIDDEN)
            ]
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
        json_schema_extra={
            "x-kubernetes-validations": [
                _rule(
                    f"self.all(k, k.size() <= {MAX_ATTRIBUTE_KEY_LENGTH} && "
                    f"k.matches('{ATTRIBUTE_KEY_PATTERN}'))",
                    ATTRIBUTE_KEYS_MESSAGE,
                )
            ]
        },
    )

    @field_validator("attributes")
    @classmethod
    def _attribute_keys(cls, value: dict[str, str]) -> dict[str, str]:
        bad = sorted(
            key
            for key in value
            if len(key) > MAX_ATTRIBUTE_KEY_LENGTH or _ATTRIBUTE_KEY.fullmatch(key) is None
        )
        if bad:
            raise ValueError(f"{ATTRIBUTE_KEYS_MESSAGE}; not valid: {', '.join(map(repr, bad))}")
        return value


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


class Participant(ApiModel):
    """A Participant is one profile walking through one Journey.

    Creating it is entering the journey: when the journey is live and has room, the operator runs
    one Job for it from the journey's template and follows the Job to Completed or Failed. Entry is
    refused (or the participant Rejected) when the journey is closed, stopped, full, or the profile
    is already active in another version of the same family.
    """

    model_config = ConfigDict(
        json_schema_extra={"x-kubernetes-validations": [_name_rule(PARTICIPANT_NAME_MESSAGE)]}
    )

    api_version: str = Field(default=API_VERSION, description="journeys.dev/v1alpha1")
    kind: str = Field(default=PARTICIPANT_KIND, description="Participant")
    metadata: ObjectMeta = Field(default_factory=ObjectMeta, description="Standard metadata.")
    spec: ParticipantSpec = Field(description="Who enters which journey, with what data.")
    status: ParticipantStatus = Field(
        default_factory=ParticipantStatus,
        description="Observed state of the participant, written by the operator.",
    )

    @model_validator(mode="after")
    def _check_name(self) -> Self:
        if self.metadata.name is not None and len(self.metadata.name) > MAX_NAME_LENGTH:
            raise ValueError(PARTICIPANT_NAME_MESSAGE)
        return self
