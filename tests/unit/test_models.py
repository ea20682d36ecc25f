"""The API models: they parse what users write, default what they leave out, refuse clearly."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from itertools import product
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from journeys import api
from journeys.api import (
    LEGAL_STATE_TRANSITIONS,
    MAX_FAMILY_LENGTH,
    STATE_TRANSITION_MESSAGE,
    Condition,
    HaltPolicy,
    Journey,
    JourneyPhase,
    JourneySpec,
    JourneyState,
    Participant,
    ParticipantPhase,
    ParticipantSpec,
    default_family,
    is_legal_state_transition,
    is_valid_family,
)

# The example of DESIGN.md, with its placeholders filled in.
DESIGN_JOURNEY = """
apiVersion: journeys.dev/v1alpha1
kind: Journey
metadata:
  name: welcome-v1
spec:
  family: welcome
  version: 1
  state: live
  stopReason: ""
  endAt: null
  drain:
    timeout: 2184h
  halt:
    policy: Suspend
  entry:
    maxParticipants: null
  template:
    metadata: {}
    spec:
      template:
        spec:
          restartPolicy: Never
          containers: [{name: step, image: busybox}]
status:
  phase: Live
  observedGeneration: 3
  participants: {active: 0, completed: 0, failed: 0, halted: 0, rejected: 0}
  supersededBy: welcome-v2
  conditions:
  - type: Ready
    status: "True"
    reason: Reconciled
    message: up to date
    lastTransitionTime: "2025-01-01T00:00:00Z"
    observedGeneration: 3
"""

DESIGN_PARTICIPANT = """
apiVersion: journeys.dev/v1alpha1
kind: Participant
metadata:
  name: welcome-alice
spec:
  journey: welcome-v1
  profile: alice
  attributes: {}
status:
  phase: Pending
  reason: ""
  message: ""
  job: ""
"""

TEMPLATE: dict[str, Any] = {"spec": {"template": {"spec": {"containers": []}}}}


def spec(**fields: Any) -> dict[str, Any]:
    return {"version": 1, "template": TEMPLATE, **fields}


def errors_of(call: Any, *args: Any, **kwargs: Any) -> str:
    with pytest.raises(ValidationError) as caught:
        call(*args, **kwargs)
    return str(caught.value)


# --- parsing the documented examples -------------------------------------------------------------


def test_design_journey_parses() -> None:
    journey = Journey.model_validate(yaml.safe_load(DESIGN_JOURNEY))
    assert journey.metadata.name == "welcome-v1"
    assert journey.spec.family == "welcome"
    assert journey.spec.state is JourneyState.LIVE
    assert journey.spec.drain.timeout_duration == timedelta(days=91)
    assert journey.spec.halt.policy is HaltPolicy.SUSPEND
    assert journey.spec.entry.max_participants is None
    assert journey.status.phase is JourneyPhase.LIVE
    assert journey.status.superseded_by == "welcome-v2"
    assert journey.status.conditions[0].last_transition_time == datetime(2025, 1, 1, tzinfo=UTC)


def test_design_participant_parses() -> None:
    participant = Participant.model_validate(yaml.safe_load(DESIGN_PARTICIPANT))
    assert participant.spec.journey == "welcome-v1"
    assert participant.spec.profile == "alice"
    assert participant.status.phase is ParticipantPhase.PENDING


@pytest.mark.parametrize("text", [DESIGN_JOURNEY, DESIGN_PARTICIPANT])
def test_to_api_round_trips(text: str) -> None:
    model = Journey if "kind: Journey" in text else Participant
    parsed = model.model_validate(yaml.safe_load(text))
    dumped = parsed.to_api()
    assert model.model_validate(dumped) == parsed
    # camelCase on the wire, None left out
    assert ("stopReason" if model is Journey else "attributes") in dumped["spec"]
    assert "endAt" not in dumped["spec"]
    assert all(value is not None for value in dumped["spec"].values())


def test_python_names_work_too() -> None:
    journey_spec = JourneySpec(version=2, template=TEMPLATE, stop_reason="oops", end_at=None)
    assert journey_spec.stop_reason == "oops"
    assert JourneySpec.model_validate(spec(stopReason="x")).stop_reason == "x"


def test_unknown_fields_are_ignored_so_a_newer_crd_does_not_break_the_operator() -> None:
    body = yaml.safe_load(DESIGN_JOURNEY)
    body["spec"]["somethingNew"] = {"a": 1}
    body["status"]["alsoNew"] = True
    body["metadata"]["managedFields"] = [{"manager": "kubectl"}]
    assert Journey.model_validate(body).spec.version == 1


# --- defaults ------------------------------------------------------------------------------------


def test_spec_defaults() -> None:
    journey_spec = JourneySpec.model_validate(spec())
    assert journey_spec.family is None
    assert journey_spec.state is JourneyState.LIVE
    assert journey_spec.stop_reason == ""
    assert journey_spec.end_at is None
    assert journey_spec.drain.timeout == "2184h"
    assert journey_spec.drain.timeout_duration == timedelta(days=91)
    assert journey_spec.halt.policy is HaltPolicy.SUSPEND
    assert journey_spec.entry.max_participants is None


def test_status_defaults() -> None:
    journey = Journey(spec=JourneySpec.model_validate(spec()))
    assert journey.status.phase is None
    assert journey.status.participants.active == 0
    assert journey.status.conditions == []
    assert journey.api_version == "journeys.dev/v1alpha1"
    assert journey.kind == "Journey"
    participant = Participant(spec=ParticipantSpec(journey="welcome-v1", profile="alice"))
    assert participant.spec.attributes == {}
    assert participant.status.phase is None
    assert participant.kind == "Participant"


def test_version_is_required() -> None:
    assert "version" in errors_of(JourneySpec.model_validate, {"template": TEMPLATE})


# --- family --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "family"),
    [
        ("welcome-v1", "welcome"),
        ("welcome-v12", "welcome"),
        ("welcome", "welcome"),
        ("welcome-v", "welcome-v"),
        ("welcome-v1a", "welcome-v1a"),
        ("welcome-v1-v2", "welcome-v1"),
        ("v1", "v1"),
        ("my-very-v2-journey-v3", "my-very-v2-journey"),
    ],
)
def test_default_family(name: str, family: str) -> None:
    assert default_family(name) == family


@given(
    st.from_regex(r"\A[a-z]([-a-z0-9]{0,40}[a-z0-9])?\Z"),
    st.integers(min_value=1, max_value=10**6),
)
def test_default_family_inverts_the_naming_convention(family: str, version: int) -> None:
    assert default_family(f"{family}-v{version}") == family


def test_effective_family() -> None:
    journey = Journey.model_validate({"metadata": {"name": "welcome-v3"}, "spec": spec()})
    assert journey.family == "welcome"
    explicit = Journey.model_validate(
        {"metadata": {"name": "welcome-v3"}, "spec": spec(family="hello")}
    )
    assert explicit.family == "hello"


@pytest.mark.parametrize(
    ("family", "valid"),
    [
        ("welcome", True),
        ("a", True),
        ("a" * MAX_FAMILY_LENGTH, True),
        ("a" * (MAX_FAMILY_LENGTH + 1), False),
        ("Welcome", False),
        ("wel.come", False),
        ("-welcome", False),
        ("welcome-", False),
        ("welcome\n", False),  # Python's $ would allow it; the API server's RE2 does not
        ("", False),
    ],
)
def test_family_must_be_a_short_dns_label(family: str, valid: bool) -> None:
    assert is_valid_family(family) is valid
    if valid:
        assert JourneySpec.model_validate(spec(family=family)).family == family
    else:
        errors_of(JourneySpec.model_validate, spec(family=family))


def test_a_name_that_gives_no_valid_family_needs_an_explicit_one() -> None:
    name = "x" * 60 + "-v1"  # 63 characters: a fine name, but a 60-character family
    message = errors_of(Journey.model_validate, {"metadata": {"name": name}, "spec": spec()})
    assert "set spec.family" in message
    ok = Journey.model_validate({"metadata": {"name": name}, "spec": spec(family="x")})
    assert ok.family == "x"


def test_journey_names_are_label_values() -> None:
    message = errors_of(
        Journey.model_validate, {"metadata": {"name": "a" * 64}, "spec": spec(family="a")}
    )
    assert "at most 63 characters" in message


# --- bad input, clear messages -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"state": "paused"}, "'live', 'closed' or 'stopped'"),
        ({"version": 0}, "greater than or equal to 1"),
        ({"drain": {"timeout": "91d"}}, "there is no day unit"),
        ({"drain": {"timeout": "soon"}}, "2184h"),
        ({"halt": {"policy": "Pause"}}, "'Suspend' or 'Delete'"),
        ({"entry": {"maxParticipants": 0}}, "greater than or equal to 1"),
        ({"endAt": "tomorrow"}, "endAt"),
        ({"endAt": "2025-01-01T00:00:00"}, "timezone"),
        ({"stopReason": "x" * 1025}, "at most 1024"),
        ({"template": {"metadata": {}}}, "JobTemplateSpec with a spec"),
        ({"template": {"spec": []}}, "JobTemplateSpec with a spec"),
        ({"family": "Welcome"}, "not a DNS label"),
    ],
)
def test_bad_spec_messages(fields: dict[str, Any], expected: str) -> None:
    assert expected in errors_of(JourneySpec.model_validate, spec(**fields))


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"journey": "Welcome"}, "not a Kubernetes object name"),
        ({"journey": "a" * 64}, "at most 63"),
        ({"profile": ""}, "at least 1"),
        ({"profile": "p" * 254}, "at most 253"),
        ({"attributes": {"1st": "x"}}, "environment variable names"),
        ({"attributes": {"first-name": "x"}}, "'first-name'"),
        ({"attributes": {"PLAN\n": "x"}}, "environment variable names"),
        ({"attributes": {"A" * 64: "x"}}, "at most 63"),
        ({"attributes": {"A": "x" * 4097}}, "at most 4096"),
        ({"attributes": {f"K{i}": "x" for i in range(65)}}, "at most 64"),
    ],
)
def test_bad_participant_messages(fields: dict[str, Any], expected: str) -> None:
    data = {"journey": "welcome-v1", "profile": "alice", **fields}
    assert expected in errors_of(ParticipantSpec.model_validate, data)


def test_participant_attributes_accept_env_var_names() -> None:
    attributes = {"PLAN": "gold", "first_name": "Alice", "_x": "", "A" * 63: "y"}
    assert ParticipantSpec(journey="w", profile="p", attributes=attributes).attributes == attributes


def test_participant_names_become_job_names() -> None:
    body = {"metadata": {"name": "p" * 64}, "spec": {"journey": "w", "profile": "p"}}
    assert "Job names are limited to 63" in errors_of(Participant.model_validate, body)
    body["metadata"]["name"] = "p" * 63
    assert Participant.model_validate(body).metadata.name == "p" * 63


# --- conditions and timestamps -------------------------------------------------------------------


def condition(**fields: Any) -> dict[str, Any]:
    return {
        "type": "Ready",
        "status": "True",
        "reason": "Reconciled",
        "lastTransitionTime": "2025-01-01T00:00:00Z",
        **fields,
    }


def test_condition_follows_metav1() -> None:
    parsed = Condition.model_validate(condition(observedGeneration=2))
    assert parsed.message == ""
    assert parsed.observed_generation == 2
    assert "'True', 'False' or 'Unknown'" in errors_of(
        Condition.model_validate, condition(status="Yes")
    )
    errors_of(Condition.model_validate, condition(reason="not camel case"))
    errors_of(Condition.model_validate, condition(reason=""))
    errors_of(Condition.model_validate, condition(type="Bad Type"))
    errors_of(Condition.model_validate, condition(observedGeneration=-1))


def test_timestamps_are_written_as_utc_rfc3339() -> None:
    two_hours_east = timezone(timedelta(hours=2))
    parsed = Condition(
        type="Ready",
        status="True",
        reason="Reconciled",
        last_transition_time=datetime(2025, 1, 1, 2, 0, tzinfo=two_hours_east),
    )
    assert parsed.to_api()["lastTransitionTime"] == "2025-01-01T00:00:00Z"


# --- the state machine ---------------------------------------------------------------------------

LIVE, CLOSED, STOPPED = JourneyState.LIVE, JourneyState.CLOSED, JourneyState.STOPPED

# Written out by hand from DESIGN.md, independently of the table in journeys.api.states.
EXPECTED = {
    (LIVE, LIVE): True,
    (LIVE, CLOSED): True,
    (LIVE, STOPPED): True,
    (CLOSED, LIVE): False,
    (CLOSED, CLOSED): True,
    (CLOSED, STOPPED): True,
    (STOPPED, LIVE): False,
    (STOPPED, CLOSED): False,
    (STOPPED, STOPPED): True,
}


@pytest.mark.parametrize(("old", "new"), list(product(JourneyState, repeat=2)))
def test_legal_state_transitions(old: JourneyState, new: JourneyState) -> None:
    assert is_legal_state_transition(old, new) is EXPECTED[old, new]
    assert ((old, new) in LEGAL_STATE_TRANSITIONS) is EXPECTED[old, new]


def test_transition_message_says_what_to_do_instead() -> None:
    assert "cannot be resumed" in STATE_TRANSITION_MESSAGE
    assert "new version" in STATE_TRANSITION_MESSAGE


def test_enum_values_are_the_wire_values() -> None:
    assert [s.value for s in JourneyState] == ["live", "closed", "stopped"]
    assert [p.value for p in JourneyPhase] == ["Live", "Closed", "Finished", "Stopped"]
    assert [p.value for p in HaltPolicy] == ["Suspend", "Delete"]
    assert [p.value for p in ParticipantPhase] == [
        "Pending",
        "Active",
        "Completed",
        "Failed",
        "Halted",
        "Rejected",
    ]


def test_names_of_the_api() -> None:
    assert (api.GROUP, api.VERSION) == ("journeys.dev", "v1alpha1")
    assert (api.JOURNEY_PLURAL, api.JOURNEY_SHORT_NAME) == ("journeys", "jny")
    assert (api.PARTICIPANT_PLURAL, api.PARTICIPANT_SHORT_NAME) == ("participants", "jp")
    assert api.LABEL_JOURNEY == "journeys.dev/journey"
    assert api.LABEL_FAMILY == "journeys.dev/family"
    assert api.LABEL_PARTICIPANT == "journeys.dev/participant"
    assert api.LABEL_VERSION == "journeys.dev/version"
    assert api.ANNOTATION_CLOSED_BY == "journeys.dev/closed-by"
    assert api.ANNOTATION_STOPPED_AT == "journeys.dev/stopped-at"


# --- every field is documented for kubectl explain -----------------------------------------------


@pytest.mark.parametrize(
    "model",
    [
        api.JourneySpec,
        api.JourneyStatus,
        api.Drain,
        api.Halt,
        api.Entry,
        api.ParticipantCounts,
        api.Condition,
        api.ParticipantSpec,
        api.ParticipantStatus,
        api.Journey,
        api.Participant,
    ],
)
def test_every_field_has_a_description(model: type[api.ApiModel]) -> None:
    for name, field in model.model_fields.items():
        assert field.description, f"{model.__name__}.{name} has no description"
