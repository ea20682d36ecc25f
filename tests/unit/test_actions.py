"""The use cases' decisions without a cluster: names, manifests, parsing, versions, waiting."""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from journeys import actions
from journeys.actions import journeys as reading
from journeys.actions import versions
from journeys.api import DNS_SUBDOMAIN_PATTERN, MAX_NAME_LENGTH, Journey
from tests.unit.journey_objects import FAMILY, NOW, journey

# --------------------------------------------------------------------------------------------
# Participant names and attributes
# --------------------------------------------------------------------------------------------


def test_participant_name_is_journey_and_profile_when_that_is_a_valid_name() -> None:
    assert actions.participant_name("welcome-v1", "alice") == "welcome-v1-alice"


@pytest.mark.parametrize(
    "profile", ["Alice", "alice@example.com", "a_b", "-x-", "x" * 80, "ünïcode", "@@@"]
)
def test_participant_name_sanitizes_with_a_hash(profile: str) -> None:
    name = actions.participant_name("welcome-v1", profile)
    assert len(name) <= MAX_NAME_LENGTH
    assert re.fullmatch(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", name), name
    assert name.startswith("welcome-v1-")
    assert re.search(r"-[0-9a-f]{8}$", name)


def test_participant_names_are_deterministic_and_keep_lookalike_profiles_apart() -> None:
    assert actions.participant_name("j-v1", "Alice") == actions.participant_name("j-v1", "Alice")
    names = {actions.participant_name("j-v1", p) for p in ["alice", "Alice", "ALICE", "alice."]}
    assert len(names) == 4
    long_journey = "j" * 63
    assert actions.participant_name(long_journey, "a") != actions.participant_name(
        long_journey, "b"
    )


@given(
    # Journey names are themselves valid names (the API server admitted the journey).
    journey_name=st.from_regex(DNS_SUBDOMAIN_PATTERN, fullmatch=True).filter(
        lambda name: len(name) <= MAX_NAME_LENGTH
    ),
    profile=st.text(min_size=1, max_size=300),
)
def test_participant_names_are_always_valid(journey_name: str, profile: str) -> None:
    name = actions.participant_name(journey_name, profile)
    assert len(name) <= MAX_NAME_LENGTH
    assert re.fullmatch(DNS_SUBDOMAIN_PATTERN, name), name


def test_attributes() -> None:
    assert actions.parse_attributes(["PLAN=gold", "url=a=b", "EMPTY="]) == {
        "PLAN": "gold",
        "url": "a=b",
        "EMPTY": "",
    }


@pytest.mark.parametrize(
    ("values", "problem"),
    [
        (["PLAN"], "KEY=VALUE"),
        (["1x=a"], "environment variable name"),
        (["a-b=1"], "environment variable name"),
        (["A=1", "A=2"], "twice"),
        (["A=" + "x" * 5000], "longer than"),
        ([f"K{i}=v" for i in range(65)], "at most 64"),
    ],
)
def test_attributes_refused(values: list[str], problem: str) -> None:
    with pytest.raises(actions.ActionError, match=problem):
        actions.parse_attributes(values)


def test_participant_manifest() -> None:
    manifest = actions.participant_manifest("welcome-v2", "bob", {"PLAN": "gold"}, "team")
    assert manifest == {
        "apiVersion": "journeys.dev/v1alpha1",
        "kind": "Participant",
        "metadata": {"name": "welcome-v2-bob", "namespace": "team"},
        "spec": {"journey": "welcome-v2", "profile": "bob", "attributes": {"PLAN": "gold"}},
    }


# --------------------------------------------------------------------------------------------
# New versions and duplicates
# --------------------------------------------------------------------------------------------


def test_new_version_copies_the_latest_with_fresh_metadata() -> None:
    latest = journey("welcome-v2", 2, state="closed", stopReason="x", phase="Closed")
    before = copy.deepcopy(latest)
    new = versions.new_version(
        latest, "welcome", actions.Edit(images={None: "step:2"}), NOW, "team"
    )

    assert latest == before  # the source is not touched
    assert new.name == "welcome-v3" and new.version == 3 and new.source == "welcome-v2"
    assert new.manifest["metadata"] == {"name": "welcome-v3", "namespace": "team"}
    assert "status" not in new.manifest
    spec = new.manifest["spec"]
    assert spec["family"] == "welcome" and spec["version"] == 3
    assert spec["state"] == "live" and "stopReason" not in spec
    assert spec["halt"] == {"policy": "Suspend"}
    assert spec["template"]["spec"]["template"]["spec"]["containers"][0]["image"] == "step:2"
    assert new.changes == ("image of container step: step:1 -> step:2",)
    assert new.live
    Journey.model_validate(new.manifest)  # what the API accepts


def test_new_version_leaves_out_an_end_that_has_passed() -> None:
    past = versions.new_version(
        journey("w-v1", 1, endAt="2026-01-01T00:00:00Z"), "w", actions.Edit(), NOW
    )
    assert "endAt" not in past.manifest["spec"]
    assert any("has passed" in change for change in past.changes)
    future = versions.new_version(
        journey("w-v1", 1, endAt="2027-01-01T00:00:00Z"), "w", actions.Edit(), NOW
    )
    assert future.manifest["spec"]["endAt"] == "2027-01-01T00:00:00Z"
    assert future.changes == ()


def test_new_version_applies_a_merge_patch() -> None:
    patch = {
        "metadata": {"labels": {"team": "growth"}},
        "spec": {"halt": {"policy": "Delete"}, "entry": {"maxParticipants": 10}, "drain": None},
    }
    new = versions.new_version(journey("w-v1", 1), "w", actions.Edit(patch=patch), NOW, "team")
    assert new.manifest["metadata"] == {
        "name": "w-v2",
        "namespace": "team",
        "labels": {"team": "growth"},
    }
    spec = new.manifest["spec"]
    assert spec["halt"] == {"policy": "Delete"}
    assert spec["entry"] == {"maxParticipants": 10}
    assert "drain" not in spec
    assert spec["version"] == 2


def test_a_patch_may_create_the_version_closed() -> None:
    new = versions.new_version(
        journey("w-v1", 1), "w", actions.Edit(patch={"spec": {"state": "closed"}}), NOW
    )
    assert not new.live


@pytest.mark.parametrize(
    "patch",
    [
        {"spec": {"version": 7}},
        {"spec": {"family": "other"}},
        {"metadata": {"name": "other"}},
        {"spec": {"version": None}},
    ],
)
def test_a_patch_cannot_change_what_makes_the_copy_the_next_version(
    patch: dict[str, Any],
) -> None:
    with pytest.raises(actions.ActionError, match=r"new-version.*duplicate"):
        versions.new_version(journey("w-v1", 1), "w", actions.Edit(patch=patch), NOW)


def test_a_patch_must_be_a_journey_patch() -> None:
    with pytest.raises(actions.ActionError, match="put spec fields under spec"):
        versions.new_version(journey("w-v1", 1), "w", actions.Edit(patch={"halt": {}}), NOW)


def test_merge_patch_follows_rfc_7386() -> None:
    target = {"a": "b", "c": {"d": "e", "f": "g"}, "l": [1, 2]}
    patch = {"a": "z", "c": {"f": None}, "l": [3], "n": {"x": None}}
    assert versions.merge_patch(target, patch) == {"a": "z", "c": {"d": "e"}, "l": [3], "n": {}}
    assert versions.merge_patch({"a": 1}, "replaced") == "replaced"


def test_duplicate_starts_a_new_family() -> None:
    new = versions.duplicate(
        journey("welcome-v4", 4, family="welcome"), "promo", actions.Edit(), NOW
    )
    assert new.name == "promo-v1"
    assert new.manifest["spec"]["family"] == "promo" and new.manifest["spec"]["version"] == 1
    Journey.model_validate(new.manifest)


@pytest.mark.parametrize("family", ["Promo", "promo_x", "-promo", "p" * 51, ""])
def test_duplicate_refuses_invalid_families(family: str) -> None:
    with pytest.raises(actions.ActionError, match="not a valid family"):
        versions.duplicate(journey("w-v1", 1), family, actions.Edit(), NOW)


def test_images() -> None:
    assert actions.parse_images(["step:2"]) == {None: "step:2"}
    assert actions.parse_images(["a=x:1", "b=y:2"]) == {"a": "x:1", "b": "y:2"}
    for bad in (["=x"], ["a="], ["x", "a=y"], ["a=x", "a=y"]):
        with pytest.raises(actions.ActionError):
            actions.parse_images(bad)


def test_images_of_several_containers_need_names() -> None:
    containers = [{"name": "a", "image": "a:1"}, {"name": "b", "image": "b:1"}]
    source = journey("w-v1", 1, containers=containers)
    with pytest.raises(actions.ActionError, match=r"exactly one container.*a, b"):
        versions.new_version(source, "w", actions.Edit(images={None: "x"}), NOW)
    with pytest.raises(actions.ActionError, match="no container named c"):
        versions.new_version(source, "w", actions.Edit(images={"c": "x"}), NOW)
    new = versions.new_version(source, "w", actions.Edit(images={"b": "b:2"}), NOW)
    pod = new.manifest["spec"]["template"]["spec"]["template"]["spec"]
    assert [c["image"] for c in pod["containers"]] == ["a:1", "b:2"]


# --------------------------------------------------------------------------------------------
# Families
# --------------------------------------------------------------------------------------------


def test_resolve_latest_by_family_or_by_its_latest_name() -> None:
    family, members, latest = reading.resolve_latest(FAMILY, "welcome", "team")
    assert family == "welcome"
    assert [m.name for m in members] == ["welcome-v1", "welcome-v2", "welcome-v3", "custom-name"]
    assert latest["metadata"]["name"] == "custom-name"
    assert reading.resolve_latest(FAMILY, "custom-name", "team")[0] == "welcome"
    assert reading.resolve_latest(FAMILY, "other-v9", "team")[0] == "other"


def test_resolve_latest_refuses_an_older_version_and_unknown_families() -> None:
    with pytest.raises(actions.ActionError, match="latest version is custom-name"):
        reading.resolve_latest(FAMILY, "welcome-v3", "team")
    with pytest.raises(actions.ActionError, match="no journey of family nope"):
        reading.resolve_latest(FAMILY, "nope", "team")


def test_a_new_version_closes_the_older_versions_still_accepting_entries() -> None:
    members = actions.family_members(FAMILY, "welcome")
    closed = reading.superseded_by_new(members, 5)
    # v3 is live; custom-name has no status yet but its spec says live; v1/v2 are over.
    assert [m.name for m in closed] == ["welcome-v3", "custom-name"]
    superseded = actions.JourneyView.of(journey("x-v1", 1, phase="Closed"))
    assert not superseded.accepts_entries  # spec says live, a newer version closed it


def test_inside_counts_active_and_pending_of_one_journey() -> None:
    def participant(journey_name: str, phase: str | None) -> dict[str, Any]:
        status = {"phase": phase} if phase else {}
        return {"spec": {"journey": journey_name}, "status": status}

    found = actions.inside(
        [
            participant("a", "Active"),
            participant("a", "Active"),
            participant("a", "Pending"),
            participant("a", None),
            participant("a", "Completed"),
            participant("a", "Halted"),
            participant("b", "Active"),
        ],
        "a",
    )
    assert found == actions.Inside(active=2, pending=2)
    assert found.total == 4


# --------------------------------------------------------------------------------------------
# Waiting
# --------------------------------------------------------------------------------------------


def test_parse_wait_for() -> None:
    assert actions.parse_wait_for("phase=finished") == actions.WaitFor("phase", "Finished")
    assert actions.parse_wait_for("condition=Ready") == actions.WaitFor(
        "condition", "Ready", "True"
    )
    assert actions.parse_wait_for("condition=Draining=false").status == "False"
    for bad in ("phase=Done", "phase", "delete", "condition=Ready=maybe", "jsonpath=x"):
        with pytest.raises(actions.ActionError, match="--for"):
            actions.parse_wait_for(bad)


@pytest.mark.parametrize(
    ("phase", "want", "done", "impossible"),
    [
        ("Finished", "Finished", True, False),
        ("Closed", "Finished", False, False),
        ("Live", "Stopped", False, False),
        (None, "Live", False, False),
        ("Stopped", "Finished", False, True),
        ("Finished", "Live", False, True),
        ("Closed", "Live", False, True),
    ],
)
def test_wait_outcome_for_phases(
    phase: str | None, want: str, done: bool, impossible: bool
) -> None:
    outcome = actions.wait_outcome(journey("w-v1", 1, phase=phase), actions.WaitFor("phase", want))
    assert outcome.done == done
    assert bool(outcome.impossible) == impossible


def test_wait_outcome_for_conditions_ignores_stale_ones() -> None:
    obj = journey("w-v1", 1)
    ready = {"type": "Ready", "status": "True", "observedGeneration": 2}
    obj["status"]["conditions"] = [ready]
    want = actions.WaitFor("condition", "ready")
    assert not actions.wait_outcome(obj, want).done  # generation 3 not observed yet
    ready["observedGeneration"] = 3
    assert actions.wait_outcome(obj, want).done
    assert not actions.wait_outcome(obj, actions.WaitFor("condition", "Ready", "False")).done
    assert not actions.wait_outcome(obj, actions.WaitFor("condition", "Halted")).done


def test_timeouts_are_go_durations() -> None:
    assert actions.parse_timeout("5m") == 300
    assert actions.parse_timeout("1h30m") == 5400
    with pytest.raises(actions.ActionError, match="--timeout"):
        actions.parse_timeout("5 minutes")


class FakeClient:
    """The KubeClient protocol over one journey, recording the writes it is asked for."""

    def __init__(self, obj: dict[str, Any], allowed: bool = True) -> None:
        self.namespace = "team"
        self.warnings: list[str] = []
        self.obj = obj
        self.allowed = allowed
        self.patches: list[tuple[dict[str, Any], bool]] = []
        self.asked: list[dict[str, str]] = []

    def get_journey(self, name: str) -> dict[str, Any]:
        return self.obj

    def list_journeys(self, all_namespaces: bool = False) -> list[dict[str, Any]]:
        return [self.obj]

    def list_participants(self) -> list[dict[str, Any]]:
        return [{"spec": {"journey": "w-v1"}, "status": {"phase": "Active"}}]

    def get_participant(self, name: str) -> dict[str, Any]:
        raise AssertionError("not used")

    def events(self, obj: Any) -> list[dict[str, Any]]:
        return []

    def patch_journey(self, name: str, patch: dict[str, Any], dry_run: bool) -> dict[str, Any]:
        self.patches.append((patch, dry_run))
        return self.obj

    def create(self, plural: str, manifest: dict[str, Any], dry_run: bool) -> dict[str, Any]:
        raise AssertionError("not used")

    def access_allowed(self, attributes: Any) -> bool:
        self.asked.append(dict(attributes))
        return self.allowed


def test_preview_dry_runs_the_ending_with_its_reason() -> None:
    fake = FakeClient(journey("w-v1", 1))
    preview = actions.preview_end(fake, "w-v1", "close", "spring campaign over")
    assert fake.patches == [
        ({"spec": {"state": "closed", "closeReason": "spring campaign over"}}, True)
    ]
    assert preview.inside == actions.Inside(active=1) and not preview.unchanged
    assert {a["verb"] for a in fake.asked} == {"patch", "close"}
    actions.end_journey(fake, "w-v1", "stop", "wrong audience")
    assert fake.patches[-1] == (
        {"spec": {"state": "stopped", "stopReason": "wrong audience"}},
        False,
    )


def test_preview_says_who_may_not_end_it_before_any_request() -> None:
    fake = FakeClient(journey("w-v1", 1), allowed=False)
    with pytest.raises(actions.ActionError, match="you may not stop this journey"):
        actions.preview_end(fake, "w-v1", "stop")
    assert fake.patches == []


def test_preview_of_an_ending_already_asked_for_sends_nothing() -> None:
    fake = FakeClient(journey("w-v1", 1, state="closed", phase="Closed"))
    assert actions.preview_end(fake, "w-v1", "close").unchanged
    assert fake.patches == [] and fake.asked == []
