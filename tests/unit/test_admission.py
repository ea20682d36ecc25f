"""The admission decisions, exhaustively and without a cluster (journeys.core.admission and
journeys.core.mutations)."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from typing import Any

import pytest

from journeys.api import (
    ANNOTATION_CLOSED_AT,
    ANNOTATION_CLOSED_BY,
    ANNOTATION_STOPPED_AT,
    ANNOTATION_STOPPED_BY,
    LABEL_FAMILY,
    LABEL_JOURNEY,
    LABEL_VERSION,
    LEGAL_STATE_TRANSITIONS,
    JourneyPhase,
    JourneyState,
    ObjectMeta,
    family_of,
    spec_state,
)
from journeys.core.admission import (
    CONTROL_PLANE_DELETERS,
    AdmissionReason,
    Effective,
    Refusal,
    Sibling,
    effective_from_status,
    journey_create_verdict,
    journey_delete_verdict,
    journey_update_verdict,
    participant_entry_verdict,
    phase_cause,
)
from journeys.core.mutations import AUDIT_ANNOTATIONS, journey_mutation, participant_mutation
from journeys.core.participants import JourneyFacts, ParticipantReason, entry_refusal

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
SINCE = datetime(2026, 2, 1, 9, 30, tzinfo=UTC)
LIVE = Effective(JourneyPhase.LIVE)


def refusal(verdict: Any) -> Refusal:
    assert verdict.refusal is not None, f"expected a refusal, got {verdict}"
    return verdict.refusal  # type: ignore[no-any-return]


# --- spec.state transitions ----------------------------------------------------------------------


@pytest.mark.parametrize(("old", "new"), list(itertools.product(JourneyState, repeat=2)))
def test_state_transitions_follow_the_api_table(old: JourneyState, new: JourneyState) -> None:
    effective = Effective(JourneyPhase.CLOSED if old != JourneyState.LIVE else JourneyPhase.LIVE)
    verdict = journey_update_verdict(
        "welcome-v1", "welcome", {"state": old.value}, {"state": new.value}, effective
    )
    assert verdict.allowed == ((old, new) in LEGAL_STATE_TRANSITIONS)


@pytest.mark.parametrize("old", [JourneyState.CLOSED, JourneyState.STOPPED])
def test_resume_names_journey_phase_since_and_way_forward(old: JourneyState) -> None:
    phase = JourneyPhase.FINISHED if old == JourneyState.CLOSED else JourneyPhase.STOPPED
    verdict = journey_update_verdict(
        "welcome-v1",
        "welcome",
        {"state": old.value},
        {"state": "live"},
        Effective(phase, since=SINCE),
    )
    found = refusal(verdict)
    assert found.reason == AdmissionReason.NO_RESUME
    assert found.code == 422
    text = str(found)
    assert text.startswith("NoResume: journey welcome-v1 is ")
    assert f"{phase.value.lower()} since 2026-02-01T09:30:00+00:00" in text
    assert f"cannot go from {old.value} to live" in text
    assert text.endswith("create a new version: kubectl journey new-version welcome")


def test_stopped_to_closed_is_an_illegal_transition_with_a_way_forward() -> None:
    found = refusal(
        journey_update_verdict(
            "w-v2", "w", {"state": "stopped"}, {"state": "closed"}, Effective(JourneyPhase.STOPPED)
        )
    )
    assert found.reason == AdmissionReason.ILLEGAL_TRANSITION
    assert "a stopped journey stays stopped" in found.message
    assert "kubectl journey new-version w" in found.message


def test_missing_state_is_the_crd_default_live() -> None:
    assert spec_state({}) == JourneyState.LIVE
    assert spec_state({"state": "bogus"}) == JourneyState.LIVE  # the schema refuses it
    assert journey_update_verdict("a", "a", {}, {"state": "closed"}, LIVE).allowed
    assert not journey_update_verdict("a", "a", {"state": "closed"}, {}, LIVE).allowed


def test_moving_end_at_does_not_resume_a_journey_stopped_by_it() -> None:
    effective = Effective(JourneyPhase.STOPPED, since=SINCE, cause="spec.endAt ... passed")
    old = {"state": "live", "endAt": "2026-02-01T09:30:00Z"}
    for new in ({"state": "live", "endAt": "2027-01-01T00:00:00Z"}, {"state": "live"}):
        found = refusal(journey_update_verdict("promo-v1", "promo", old, new, effective))
        assert found.reason == AdmissionReason.NO_RESUME
        assert "does not resume it" in found.message
        assert "(spec.endAt ... passed)" in found.message
        assert found.message.endswith("kubectl journey new-version promo")
    # Stopping it for real, or leaving endAt alone, is fine.
    assert journey_update_verdict(
        "promo-v1", "promo", old, {**old, "state": "stopped", "stopReason": "x"}, effective
    ).allowed
    assert journey_update_verdict("promo-v1", "promo", old, dict(old), effective).allowed


def test_end_at_may_move_on_a_live_or_draining_journey() -> None:
    old = {"state": "live", "endAt": "2026-05-01T00:00:00Z"}
    new = {"state": "live", "endAt": "2026-06-01T00:00:00Z"}
    assert journey_update_verdict("a-v1", "a", old, new, LIVE) == journey_update_verdict(
        "a-v1", "a", old, old, LIVE
    )
    closed = Effective(JourneyPhase.CLOSED, cause="superseded by a-v2")
    assert journey_update_verdict("a-v1", "a", old, new, closed).allowed


def test_changing_a_superseded_journey_warns_that_it_stays_closed() -> None:
    effective = Effective(JourneyPhase.CLOSED, since=SINCE, cause="superseded by welcome-v2")
    old = {"state": "live", "drain": {"timeout": "24h"}}
    verdict = journey_update_verdict(
        "welcome-v1", "welcome", old, {**old, "drain": {"timeout": "48h"}}, effective
    )
    assert verdict.allowed
    (warning,) = verdict.warnings
    assert "(superseded by welcome-v2) although spec.state says live: it stays closed" in warning
    # A request that changes nothing in the spec (labels, say) gets no warning.
    assert journey_update_verdict("welcome-v1", "welcome", old, old, effective).warnings == ()


def test_stopping_without_a_reason_warns() -> None:
    verdict = journey_update_verdict("a-v1", "a", {"state": "live"}, {"state": "stopped"}, LIVE)
    assert verdict.allowed and "without spec.stopReason" in verdict.warnings[0]
    with_reason = {"state": "stopped", "stopReason": "wrong audience"}
    assert journey_update_verdict("a-v1", "a", {"state": "live"}, with_reason, LIVE).warnings == ()
    already = {"state": "stopped"}
    assert journey_update_verdict("a-v1", "a", already, already, LIVE).warnings == ()


# --- Journey CREATE ------------------------------------------------------------------------------


def test_first_version_is_allowed() -> None:
    assert journey_create_verdict("welcome-v1", "welcome", 1, []) == journey_create_verdict(
        "welcome-v1",
        "welcome",
        1,
        [Sibling("welcome-v1", 1)],  # itself, e.g. a stale index
    )
    assert journey_create_verdict("welcome-v1", "welcome", 1, []).allowed


@pytest.mark.parametrize("version", [1, 2])
def test_version_must_be_newer_than_every_sibling(version: int) -> None:
    siblings = [Sibling("welcome-v1", 1), Sibling("welcome-v3", 3), Sibling("welcome-v2", 2)]
    found = refusal(journey_create_verdict(f"welcome-v{version}", "welcome", version, siblings))
    assert found.reason == AdmissionReason.VERSION_NOT_NEWER
    assert found.code == 409
    assert "family welcome already has version 3 (welcome-v3)" in found.message
    assert "Create welcome-v4 with spec.version 4" in found.message
    assert "kubectl journey new-version welcome" in found.message


def test_same_name_is_left_to_the_api_servers_already_exists() -> None:
    siblings = [Sibling("welcome-v1", 1), Sibling("welcome-v3", 3)]
    assert journey_create_verdict("welcome-v3", "welcome", 3, siblings).allowed
    assert not journey_create_verdict("welcome", "welcome", 3, siblings).allowed


def test_newer_version_is_allowed() -> None:
    siblings = [Sibling("welcome-v1", 1), Sibling("welcome-v2", 2)]
    assert journey_create_verdict("welcome-v7", "welcome", 7, siblings).allowed


def test_name_version_must_match_spec_version() -> None:
    found = refusal(journey_create_verdict("welcome-v3", "welcome", 2, []))
    assert found.reason == AdmissionReason.NAME_MISMATCH
    assert "the name says version 3 but spec.version is 2" in found.message
    assert "name it welcome-v2, or set spec.version: 3" in found.message


def test_name_family_must_match_an_explicit_family() -> None:
    found = refusal(journey_create_verdict("spring-v1", "welcome", 1, []))
    assert found.reason == AdmissionReason.NAME_MISMATCH
    assert "the name says family spring but spec.family is welcome" in found.message
    assert "name it welcome-v1" in found.message


def test_name_without_version_suffix_is_explained_not_refused() -> None:
    verdict = journey_create_verdict("onboarding", "onboarding", 1, [])
    assert verdict.allowed
    (warning,) = verdict.warnings
    assert "is not named <family>-v<N>" in warning and "(onboarding-v1)" in warning
    # The version rule still holds for such names.
    assert not journey_create_verdict("onboarding", "onboarding", 1, [Sibling("x-v2", 2)]).allowed


# --- Journey DELETE ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("phase", "in_flight", "allowed"),
    [
        (JourneyPhase.LIVE, 0, False),
        (JourneyPhase.LIVE, 3, False),
        (JourneyPhase.CLOSED, 2, False),
        (JourneyPhase.CLOSED, 0, False),  # not Finished yet: the operator has not seen it drain
        (JourneyPhase.STOPPED, 0, True),
        (JourneyPhase.STOPPED, 4, False),  # still halting
        (JourneyPhase.FINISHED, 0, True),
        (JourneyPhase.FINISHED, 1, False),  # drain timed out, halting the rest
    ],
)
def test_delete_only_once_stopped_or_finished_and_empty(
    phase: JourneyPhase, in_flight: int, allowed: bool
) -> None:
    effective = Effective(phase, since=SINCE, in_flight=in_flight)
    verdict = journey_delete_verdict("welcome-v1", effective, "alice")
    assert verdict.allowed == allowed
    if not allowed:
        found = refusal(verdict)
        assert found.reason == AdmissionReason.DELETION_PROTECTED
        assert found.message.startswith(f"journey welcome-v1 is {phase.value.lower()}")
    if phase in (JourneyPhase.LIVE, JourneyPhase.CLOSED):
        assert "stop it first, or wait until it is Finished" in refusal(verdict).message


def test_delete_message_counts_participants() -> None:
    one = journey_delete_verdict("a-v1", Effective(JourneyPhase.CLOSED, in_flight=1), "bob")
    many = journey_delete_verdict("a-v1", Effective(JourneyPhase.CLOSED, in_flight=5), "bob")
    assert "with 1 participant still inside" in refusal(one).message
    assert "with 5 participants still inside" in refusal(many).message


@pytest.mark.parametrize("username", sorted(CONTROL_PLANE_DELETERS))
def test_namespace_deletion_and_garbage_collection_are_never_blocked(username: str) -> None:
    assert journey_delete_verdict(
        "a-v1", Effective(JourneyPhase.LIVE, in_flight=9), username
    ).allowed


def test_a_namespace_being_deleted_takes_its_journeys_along() -> None:
    live = Effective(JourneyPhase.LIVE, in_flight=9)
    assert not journey_delete_verdict("a-v1", live, "admin").allowed
    assert journey_delete_verdict("a-v1", live, "admin", namespace_terminating=True).allowed


# --- Participant CREATE: the entry gate ----------------------------------------------------------


def facts(**overrides: Any) -> JourneyFacts:
    return JourneyFacts(**{"name": "welcome-v1", "phase": JourneyPhase.LIVE, **overrides})


def test_entry_into_missing_journey() -> None:
    found = refusal(participant_entry_verdict("welcome-v9", "team-a", None))
    assert found.reason == ParticipantReason.JOURNEY_NOT_FOUND
    assert found.code == 404
    assert "journey welcome-v9 does not exist in namespace team-a" in found.message


def test_entry_into_live_journey_with_room() -> None:
    assert participant_entry_verdict("welcome-v1", "ns", facts()).allowed
    room = facts(max_participants=3, inside=2)
    assert participant_entry_verdict("welcome-v1", "ns", room).allowed


@pytest.mark.parametrize(
    ("phase", "halting", "reason"),
    [
        (JourneyPhase.CLOSED, False, ParticipantReason.JOURNEY_CLOSED),
        (JourneyPhase.FINISHED, False, ParticipantReason.JOURNEY_FINISHED),
        (JourneyPhase.STOPPED, True, ParticipantReason.JOURNEY_STOPPED),
        (JourneyPhase.LIVE, True, ParticipantReason.JOURNEY_STOPPED),  # endAt passed just now
    ],
)
def test_entry_into_journey_that_is_not_live(
    phase: JourneyPhase, halting: bool, reason: ParticipantReason
) -> None:
    journey = facts(phase=phase, since=SINCE, halting=halting)
    found = refusal(participant_entry_verdict("welcome-v1", "ns", journey))
    assert found.reason == reason
    assert f"journey welcome-v1 is {phase.value.lower()}" in found.message


def test_entry_refusal_is_the_operators_own_decision() -> None:
    """Same reason and wording as the operator's entry check, plus hints for people."""
    for journey in (
        facts(phase=JourneyPhase.CLOSED, since=SINCE),
        facts(max_participants=1, inside=1),
        facts(active_elsewhere="welcome-v2"),
    ):
        operator = entry_refusal(journey)
        assert operator is not None
        found = refusal(participant_entry_verdict("welcome-v1", "ns", journey))
        assert found.reason == operator.reason
        assert found.message.startswith(operator.message)


def test_superseded_and_ended_journeys_say_why_and_where_to_go() -> None:
    closed = facts(phase=JourneyPhase.CLOSED, since=SINCE)
    found = refusal(
        participant_entry_verdict(
            "welcome-v1", "ns", closed, cause="superseded by welcome-v2", newest_live="welcome-v2"
        )
    )
    assert found.message.endswith("(superseded by welcome-v2; newest live version: welcome-v2)")
    stopped = facts(phase=JourneyPhase.STOPPED, since=SINCE, halting=True)
    ended = refusal(
        participant_entry_verdict("welcome-v1", "ns", stopped, cause="spec.endAt X passed")
    )
    assert ended.reason == ParticipantReason.JOURNEY_STOPPED
    assert ended.message.endswith("(spec.endAt X passed)")


def test_capacity_and_profile_refusals_have_their_own_reasons() -> None:
    full = refusal(
        participant_entry_verdict("welcome-v1", "ns", facts(max_participants=2, inside=2))
    )
    assert full.reason == ParticipantReason.CAPACITY_REACHED
    assert "2 of 2 places taken" in full.message
    busy = refusal(
        participant_entry_verdict(
            "welcome-v1", "ns", facts(active_elsewhere="welcome-v0"), newest_live="welcome-v1"
        )
    )
    assert busy.reason == ParticipantReason.ALREADY_ACTIVE
    assert "already active in journey welcome-v0" in busy.message
    assert "newest live version" not in busy.message


# --- Effective state and its cause ---------------------------------------------------------------


def test_effective_from_status_when_the_operator_has_not_seen_the_journey() -> None:
    assert effective_from_status(JourneyState.LIVE, {}) == Effective(JourneyPhase.LIVE)
    assert effective_from_status(JourneyState.STOPPED, {}).phase == JourneyPhase.STOPPED
    status = {
        "phase": "Closed",
        "closedAt": "2026-02-01T09:30:00Z",
        "supersededBy": "welcome-v2",
        "participants": {"active": 4},
    }
    assert effective_from_status(JourneyState.LIVE, status) == Effective(
        JourneyPhase.CLOSED, since=SINCE, cause="superseded by welcome-v2", in_flight=4
    )
    assert effective_from_status(JourneyState.CLOSED, {"phase": "Nonsense"}).phase == (
        JourneyPhase.CLOSED
    )


def test_phase_cause() -> None:
    live = {"state": "live", "endAt": "2026-02-01T09:30:00Z"}
    assert phase_cause(JourneyPhase.LIVE, live, {}, None) == ""
    assert phase_cause(JourneyPhase.STOPPED, live, {}, None) == (
        "spec.endAt 2026-02-01T09:30:00Z passed"
    )
    assert phase_cause(JourneyPhase.CLOSED, live, {}, "w-v3") == "superseded by w-v3"
    assert phase_cause(JourneyPhase.FINISHED, live, {"supersededBy": "w-v2"}, "w-v3") == (
        "superseded by w-v2"
    )
    assert phase_cause(JourneyPhase.CLOSED, live, {}, None) == "superseded by a newer version"
    assert phase_cause(JourneyPhase.CLOSED, {"state": "closed"}, {}, "w-v3") == ""


def test_describe() -> None:
    assert Effective(JourneyPhase.LIVE).describe() == "live"
    assert Effective(JourneyPhase.CLOSED, SINCE, "superseded by w-v2").describe() == (
        "closed since 2026-02-01T09:30:00+00:00 (superseded by w-v2)"
    )


# --- Mutations -----------------------------------------------------------------------------------


def test_family_defaults_from_the_name() -> None:
    assert family_of("welcome-v12", {}) == "welcome"
    assert family_of("welcome", {}) == "welcome"
    assert family_of("welcome-v1", {"family": "other"}) == "other"
    assert family_of("x" * 60 + "-v1", {}) is None  # too long: CEL asks for spec.family
    assert family_of("", {}) is None


def test_create_fills_family_and_labels() -> None:
    mutation = journey_mutation(
        "CREATE", "welcome-v2", {"version": 2}, {"name": "welcome-v2"}, None, None, "alice", NOW
    )
    assert mutation.patch == {
        "spec": {"family": "welcome"},
        "metadata": {"labels": {LABEL_FAMILY: "welcome", LABEL_VERSION: "2"}},
    }
    assert mutation.warnings == ()


def test_nothing_to_do_when_defaults_are_in_place() -> None:
    metadata = {"labels": {LABEL_FAMILY: "welcome", LABEL_VERSION: "2", "team": "crm"}}
    spec = {"family": "welcome", "version": 2, "state": "live"}
    assert journey_mutation("UPDATE", "welcome-v2", spec, metadata, spec, metadata, "a", NOW) == (
        journey_mutation("CREATE", "welcome-v2", spec, metadata, None, None, "a", NOW)
    )
    assert (
        journey_mutation("CREATE", "welcome-v2", spec, metadata, None, None, "a", NOW).patch == {}
    )


def test_labels_are_restored_when_changed() -> None:
    spec = {"family": "welcome", "version": 2}
    old = {"labels": {LABEL_FAMILY: "welcome", LABEL_VERSION: "2"}}
    new = {"labels": {LABEL_FAMILY: "hijack"}}
    patch = journey_mutation("UPDATE", "welcome-v2", spec, new, spec, old, "a", NOW).patch
    assert patch == {"metadata": {"labels": {LABEL_FAMILY: "welcome", LABEL_VERSION: "2"}}}


def audit_patch(
    old_state: str | None, new_state: str, old_annotations: dict[str, str] | None = None
) -> dict[str, Any]:
    labels = {LABEL_FAMILY: "w", LABEL_VERSION: "1"}
    spec = {"family": "w", "version": 1, "state": new_state}
    metadata = {"labels": labels, "annotations": dict(old_annotations or {})}
    if old_state is None:
        mutation = journey_mutation("CREATE", "w-v1", spec, metadata, None, None, "alice", NOW)
    else:
        old_spec = {**spec, "state": old_state}
        mutation = journey_mutation(
            "UPDATE", "w-v1", spec, metadata, old_spec, metadata, "alice", NOW
        )
    return mutation.patch.get("metadata", {}).get("annotations", {})  # type: ignore[no-any-return]


CLOSED_BY = {ANNOTATION_CLOSED_BY: "alice", ANNOTATION_CLOSED_AT: "2026-03-01T12:00:00Z"}
STOPPED_BY = {ANNOTATION_STOPPED_BY: "alice", ANNOTATION_STOPPED_AT: "2026-03-01T12:00:00Z"}


@pytest.mark.parametrize(
    ("old", "new", "recorded"),
    [
        ("live", "closed", CLOSED_BY),
        ("live", "stopped", STOPPED_BY),
        ("closed", "stopped", STOPPED_BY),
        ("live", "live", {}),
        ("closed", "closed", {}),
        ("stopped", "stopped", {}),
        ("closed", "live", {}),  # refused anyway; never recorded
        ("stopped", "closed", {}),
        (None, "live", {}),
        (None, "closed", CLOSED_BY),  # created closed
        (None, "stopped", STOPPED_BY),
    ],
)
def test_audit_records_who_changed_the_state_and_when(
    old: str | None, new: str, recorded: dict[str, str]
) -> None:
    assert audit_patch(old, new) == recorded


def test_audit_is_written_once_and_kept() -> None:
    earlier = {ANNOTATION_CLOSED_BY: "bob", ANNOTATION_CLOSED_AT: "2026-02-01T09:30:00Z"}
    # Closed by bob earlier; alice stops it now: bob's record stays, alice's is added.
    assert audit_patch("closed", "stopped", earlier) == STOPPED_BY


def test_audit_cannot_be_forged_or_erased() -> None:
    recorded = {ANNOTATION_STOPPED_BY: "bob", ANNOTATION_STOPPED_AT: "2026-02-01T09:30:00Z"}
    spec = {"family": "w", "version": 1, "state": "stopped"}
    labels = {LABEL_FAMILY: "w", LABEL_VERSION: "1"}
    old = {"labels": labels, "annotations": recorded}
    forged = {"labels": labels, "annotations": {ANNOTATION_STOPPED_BY: "mallory"}}
    mutation = journey_mutation("UPDATE", "w-v1", spec, forged, spec, old, "mallory", NOW)
    assert mutation.patch == {"metadata": {"annotations": recorded}}
    assert (
        "journeys.dev/stopped-at, journeys.dev/stopped-by are the audit record"
        in (mutation.warnings[0])
    )
    # Adding audit annotations without a state change is undone as well.
    sneaky = {"labels": labels, "annotations": {ANNOTATION_CLOSED_BY: "mallory"}}
    plain = {"labels": labels}
    patch = journey_mutation("UPDATE", "w-v1", spec, sneaky, spec, plain, "m", NOW).patch
    assert patch == {"metadata": {"annotations": {ANNOTATION_CLOSED_BY: None}}}


def test_audit_on_create_is_the_creators() -> None:
    spec = {"family": "w", "version": 1, "state": "stopped", "stopReason": "test"}
    metadata = {
        "labels": {LABEL_FAMILY: "w", LABEL_VERSION: "1"},
        "annotations": {ANNOTATION_STOPPED_BY: "someone-else", ANNOTATION_CLOSED_BY: "x"},
    }
    mutation = journey_mutation("CREATE", "w-v1", spec, metadata, None, None, "alice", NOW)
    assert mutation.patch == {
        "metadata": {"annotations": {**STOPPED_BY, ANNOTATION_CLOSED_BY: None}}
    }
    assert mutation.warnings


def test_anonymous_requests_are_recorded_as_such() -> None:
    spec = {"family": "w", "version": 1, "state": "closed"}
    old = {"family": "w", "version": 1, "state": "live"}
    meta = {"labels": {LABEL_FAMILY: "w", LABEL_VERSION: "1"}}
    patch = journey_mutation("UPDATE", "w-v1", spec, meta, old, meta, "", NOW).patch
    assert patch["metadata"]["annotations"][ANNOTATION_CLOSED_BY] == "system:anonymous"


def test_audit_annotations_are_the_models() -> None:
    assert set(AUDIT_ANNOTATIONS) == {
        ANNOTATION_CLOSED_BY,
        ANNOTATION_CLOSED_AT,
        ANNOTATION_STOPPED_BY,
        ANNOTATION_STOPPED_AT,
    }


def test_participant_gets_its_journey_label() -> None:
    assert participant_mutation({"journey": "welcome-v1"}, {}, None).patch == {
        "metadata": {"labels": {LABEL_JOURNEY: "welcome-v1"}}
    }
    labelled = {"labels": {LABEL_JOURNEY: "welcome-v1"}}
    assert participant_mutation({"journey": "welcome-v1"}, labelled, None).patch == {}
    wrong = {"labels": {LABEL_JOURNEY: "other"}}
    assert participant_mutation({"journey": "welcome-v1"}, wrong, None).patch == {
        "metadata": {"labels": {LABEL_JOURNEY: "welcome-v1"}}
    }
    assert participant_mutation({}, {}, None).patch == {}


JOURNEY_META = ObjectMeta(name="welcome-v1", uid="j-uid")
JOURNEY_REFERENCE = {
    "apiVersion": "journeys.dev/v1alpha1",
    "kind": "Journey",
    "name": "welcome-v1",
    "uid": "j-uid",
    "controller": True,
}


def test_participant_gets_its_journey_as_owner_at_creation() -> None:
    """One write fewer for the operator; no blockOwnerDeletion, so entering needs no right
    on the journey's finalizers where OwnerReferencesPermissionEnforcement is enabled."""
    labelled = {"labels": {LABEL_JOURNEY: "welcome-v1"}}
    assert participant_mutation({"journey": "welcome-v1"}, labelled, JOURNEY_META).patch == {
        "metadata": {"ownerReferences": [JOURNEY_REFERENCE]}
    }
    other = {"apiVersion": "v1", "kind": "ConfigMap", "name": "c", "uid": "c-uid"}
    given = {**labelled, "ownerReferences": [other]}
    assert participant_mutation({"journey": "welcome-v1"}, given, JOURNEY_META).patch == {
        "metadata": {"ownerReferences": [other, JOURNEY_REFERENCE]}
    }


@pytest.mark.parametrize(
    ("journey", "metadata"),
    [
        (None, {}),  # not in the operator's view yet: the operator sets it later
        (ObjectMeta(name="welcome-v1"), {}),  # no uid to refer to
        (ObjectMeta(name="other-v1", uid="o-uid"), {}),  # not the participant's journey
        (JOURNEY_META, {"ownerReferences": [JOURNEY_REFERENCE]}),  # already there
    ],
)
def test_participant_owner_is_left_alone(
    journey: ObjectMeta | None, metadata: dict[str, Any]
) -> None:
    labelled = {**metadata, "labels": {LABEL_JOURNEY: "welcome-v1"}}
    assert participant_mutation({"journey": "welcome-v1"}, labelled, journey).patch == {}
