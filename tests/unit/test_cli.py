"""The plugin's decisions without a cluster: names, manifests, parsing, dialogs, tables."""

from __future__ import annotations

import copy
import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from journeys.api.models import DNS_SUBDOMAIN_PATTERN, MAX_NAME_LENGTH, Journey
from journeys.cli import plan, render
from journeys.cli.client import parse_warnings, server_error
from journeys.cli.main import build_parser

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


# --------------------------------------------------------------------------------------------
# Participant names and attributes
# --------------------------------------------------------------------------------------------


def test_participant_name_is_journey_and_profile_when_that_is_a_valid_name() -> None:
    assert plan.participant_name("welcome-v1", "alice") == "welcome-v1-alice"


@pytest.mark.parametrize(
    "profile", ["Alice", "alice@example.com", "a_b", "-x-", "x" * 80, "ünïcode", "@@@"]
)
def test_participant_name_sanitizes_with_a_hash(profile: str) -> None:
    name = plan.participant_name("welcome-v1", profile)
    assert len(name) <= MAX_NAME_LENGTH
    assert re.fullmatch(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", name), name
    assert name.startswith("welcome-v1-")
    assert re.search(r"-[0-9a-f]{8}$", name)


def test_participant_names_are_deterministic_and_keep_lookalike_profiles_apart() -> None:
    assert plan.participant_name("j-v1", "Alice") == plan.participant_name("j-v1", "Alice")
    names = {plan.participant_name("j-v1", p) for p in ["alice", "Alice", "ALICE", "alice."]}
    assert len(names) == 4
    long_journey = "j" * 63
    assert plan.participant_name(long_journey, "a") != plan.participant_name(long_journey, "b")


@given(
    # Journey names are themselves valid names (the API server admitted the journey).
    journey_name=st.from_regex(DNS_SUBDOMAIN_PATTERN, fullmatch=True).filter(
        lambda name: len(name) <= MAX_NAME_LENGTH
    ),
    profile=st.text(min_size=1, max_size=300),
)
def test_participant_names_are_always_valid(journey_name: str, profile: str) -> None:
    name = plan.participant_name(journey_name, profile)
    assert len(name) <= MAX_NAME_LENGTH
    assert re.fullmatch(DNS_SUBDOMAIN_PATTERN, name), name


def test_attributes() -> None:
    assert plan.parse_attributes(["PLAN=gold", "url=a=b", "EMPTY="]) == {
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
    with pytest.raises(plan.PlanError, match=problem):
        plan.parse_attributes(values)


def test_participant_manifest() -> None:
    manifest = plan.participant_manifest("welcome-v2", "bob", {"PLAN": "gold"}, "team")
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
    new = plan.new_version(latest, "welcome", plan.Edit(images={None: "step:2"}), NOW, "team")

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
    past = plan.new_version(journey("w-v1", 1, endAt="2026-01-01T00:00:00Z"), "w", plan.Edit(), NOW)
    assert "endAt" not in past.manifest["spec"]
    assert any("has passed" in change for change in past.changes)
    future = plan.new_version(
        journey("w-v1", 1, endAt="2027-01-01T00:00:00Z"), "w", plan.Edit(), NOW
    )
    assert future.manifest["spec"]["endAt"] == "2027-01-01T00:00:00Z"
    assert future.changes == ()


def test_new_version_applies_a_merge_patch() -> None:
    patch = {
        "metadata": {"labels": {"team": "growth"}},
        "spec": {"halt": {"policy": "Delete"}, "entry": {"maxParticipants": 10}, "drain": None},
    }
    new = plan.new_version(journey("w-v1", 1), "w", plan.Edit(patch=patch), NOW, "team")
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
    new = plan.new_version(
        journey("w-v1", 1), "w", plan.Edit(patch={"spec": {"state": "closed"}}), NOW
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
    with pytest.raises(plan.PlanError, match=r"new-version.*duplicate"):
        plan.new_version(journey("w-v1", 1), "w", plan.Edit(patch=patch), NOW)


def test_a_patch_must_be_a_journey_patch() -> None:
    with pytest.raises(plan.PlanError, match="put spec fields under spec"):
        plan.new_version(journey("w-v1", 1), "w", plan.Edit(patch={"halt": {}}), NOW)


def test_merge_patch_follows_rfc_7386() -> None:
    target = {"a": "b", "c": {"d": "e", "f": "g"}, "l": [1, 2]}
    patch = {"a": "z", "c": {"f": None}, "l": [3], "n": {"x": None}}
    assert plan.merge_patch(target, patch) == {"a": "z", "c": {"d": "e"}, "l": [3], "n": {}}
    assert plan.merge_patch({"a": 1}, "replaced") == "replaced"


def test_duplicate_starts_a_new_family() -> None:
    new = plan.duplicate(journey("welcome-v4", 4, family="welcome"), "promo", plan.Edit(), NOW)
    assert new.name == "promo-v1"
    assert new.manifest["spec"]["family"] == "promo" and new.manifest["spec"]["version"] == 1
    Journey.model_validate(new.manifest)


@pytest.mark.parametrize("family", ["Promo", "promo_x", "-promo", "p" * 51, ""])
def test_duplicate_refuses_invalid_families(family: str) -> None:
    with pytest.raises(plan.PlanError, match="not a valid family"):
        plan.duplicate(journey("w-v1", 1), family, plan.Edit(), NOW)


def test_images() -> None:
    assert plan.parse_images(["step:2"]) == {None: "step:2"}
    assert plan.parse_images(["a=x:1", "b=y:2"]) == {"a": "x:1", "b": "y:2"}
    for bad in (["=x"], ["a="], ["x", "a=y"], ["a=x", "a=y"]):
        with pytest.raises(plan.PlanError):
            plan.parse_images(bad)


def test_images_of_several_containers_need_names() -> None:
    containers = [{"name": "a", "image": "a:1"}, {"name": "b", "image": "b:1"}]
    source = journey("w-v1", 1, containers=containers)
    with pytest.raises(plan.PlanError, match=r"exactly one container.*a, b"):
        plan.new_version(source, "w", plan.Edit(images={None: "x"}), NOW)
    with pytest.raises(plan.PlanError, match="no container named c"):
        plan.new_version(source, "w", plan.Edit(images={"c": "x"}), NOW)
    new = plan.new_version(source, "w", plan.Edit(images={"b": "b:2"}), NOW)
    pod = new.manifest["spec"]["template"]["spec"]["template"]["spec"]
    assert [c["image"] for c in pod["containers"]] == ["a:1", "b:2"]


# --------------------------------------------------------------------------------------------
# Families
# --------------------------------------------------------------------------------------------

FAMILY = [
    journey("welcome-v1", 1, phase="Finished"),
    journey("welcome-v2", 2, phase="Closed"),
    journey("welcome-v3", 3),
    journey("other-v9", 9),
    journey("custom-name", 4, family="welcome", phase=None),
]


def test_resolve_latest_by_family_or_by_its_latest_name() -> None:
    family, members, latest = plan.resolve_latest(FAMILY, "welcome", "team")
    assert family == "welcome"
    assert [m.name for m in members] == ["welcome-v1", "welcome-v2", "welcome-v3", "custom-name"]
    assert latest["metadata"]["name"] == "custom-name"
    assert plan.resolve_latest(FAMILY, "custom-name", "team")[0] == "welcome"
    assert plan.resolve_latest(FAMILY, "other-v9", "team")[0] == "other"


def test_resolve_latest_refuses_an_older_version_and_unknown_families() -> None:
    with pytest.raises(plan.PlanError, match="latest version is custom-name"):
        plan.resolve_latest(FAMILY, "welcome-v3", "team")
    with pytest.raises(plan.PlanError, match="no journey of family nope"):
        plan.resolve_latest(FAMILY, "nope", "team")


def test_a_new_version_closes_the_older_versions_still_accepting_entries() -> None:
    members = plan.family_members(FAMILY, "welcome")
    closed = plan.superseded_by_new(members, 5)
    # v3 is live; custom-name has no status yet but its spec says live; v1/v2 are over.
    assert [m.name for m in closed] == ["welcome-v3", "custom-name"]
    superseded = plan.JourneyView.of(journey("x-v1", 1, phase="Closed"))
    assert not superseded.accepts_entries  # spec says live, a newer version closed it


def test_inside_counts_active_and_pending_of_one_journey() -> None:
    def participant(journey_name: str, phase: str | None) -> dict[str, Any]:
        status = {"phase": phase} if phase else {}
        return {"spec": {"journey": journey_name}, "status": status}

    found = plan.inside(
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
    assert found == plan.Inside(active=2, pending=2)
    assert found.total == 4


# --------------------------------------------------------------------------------------------
# Waiting
# --------------------------------------------------------------------------------------------


def test_parse_wait_for() -> None:
    assert plan.parse_wait_for("phase=finished") == plan.WaitFor("phase", "Finished")
    assert plan.parse_wait_for("condition=Ready") == plan.WaitFor("condition", "Ready", "True")
    assert plan.parse_wait_for("condition=Draining=false").status == "False"
    for bad in ("phase=Done", "phase", "delete", "condition=Ready=maybe", "jsonpath=x"):
        with pytest.raises(plan.PlanError, match="--for"):
            plan.parse_wait_for(bad)


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
    outcome = plan.wait_outcome(journey("w-v1", 1, phase=phase), plan.WaitFor("phase", want))
    assert outcome.done == done
    assert bool(outcome.impossible) == impossible


def test_wait_outcome_for_conditions_ignores_stale_ones() -> None:
    obj = journey("w-v1", 1)
    ready = {"type": "Ready", "status": "True", "observedGeneration": 2}
    obj["status"]["conditions"] = [ready]
    want = plan.WaitFor("condition", "ready")
    assert not plan.wait_outcome(obj, want).done  # generation 3 not observed yet
    ready["observedGeneration"] = 3
    assert plan.wait_outcome(obj, want).done
    assert not plan.wait_outcome(obj, plan.WaitFor("condition", "Ready", "False")).done
    assert not plan.wait_outcome(obj, plan.WaitFor("condition", "Halted")).done


def test_timeouts_are_go_durations() -> None:
    assert plan.parse_timeout("5m") == 300
    assert plan.parse_timeout("1h30m") == 5400
    with pytest.raises(plan.PlanError, match="--timeout"):
        plan.parse_timeout("5 minutes")


# --------------------------------------------------------------------------------------------
# Dialogs
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("answer", "yes"),
    [("y\n", True), ("Y", True), ("yes", True), (" YES \n", True), ("", False), ("n", False)],
)
def test_only_yes_confirms(answer: str, yes: bool) -> None:
    assert render.is_yes(answer) == yes
    assert not render.is_yes("yep") and not render.is_yes("sure")


def test_close_dialog_says_who_continues() -> None:
    view = plan.JourneyView.of(journey("w-v1", 1))
    text = render.close_dialog(view, plan.Inside(active=3, pending=1), "2184h")
    assert "Close journey w-v1 to new entries" in text
    assert "no one new can enter" in text
    assert "4 participants inside (1 still pending) continue to the end of their path" in text
    assert "2184h" in text and "cannot be undone" in text
    one = render.close_dialog(view, plan.Inside(active=1), "1h")
    assert "1 participant inside continues to the end of its path" in one
    empty = render.close_dialog(view, plan.Inside(), "1h")
    assert "No participant is inside" in empty


def test_close_dialog_of_a_superseded_journey() -> None:
    obj = journey("w-v1", 1, phase="Closed")
    obj["status"]["supersededBy"] = "w-v2"
    text = render.close_dialog(plan.JourneyView.of(obj), plan.Inside(active=1), "1h")
    assert "already closed (superseded by w-v2)" in text


@pytest.mark.parametrize(
    ("policy", "effect"),
    [("Suspend", "Jobs are suspended"), ("Delete", "Jobs are deleted")],
)
def test_stop_dialog_says_who_is_halted_and_how(policy: str, effect: str) -> None:
    view = plan.JourneyView.of(journey("w-v1", 1))
    text = render.stop_dialog(view, plan.Inside(active=5, pending=2), policy, "wrong audience")
    assert "Stop journey w-v1 now" in text
    assert f"5 active participants will be halted at once (halt policy {policy}" in text
    assert effect in text
    assert "2 pending participants will be rejected (they have no Job yet)" in text
    assert "Reason recorded: wrong audience" in text
    assert "cannot be undone" in text
    assert "--reason" in render.stop_dialog(view, plan.Inside(), policy, "")


def test_new_version_dialog_says_it_closes_the_version_it_replaces() -> None:
    old = journey("w-v1", 1)
    new = plan.new_version(old, "w", plan.Edit(images={None: "step:2"}), NOW)
    text = render.new_version_dialog(new, [(plan.JourneyView.of(old), plan.Inside(active=3))])
    assert "Create journey w-v2 (version 2 of family w), copied from w-v1" in text
    assert "step:1 -> step:2" in text
    assert "w-v1 will be closed to new entries (superseded by w-v2)" in text
    assert "3 participants inside finish their path there" in text
    assert "No older version is live" in render.new_version_dialog(new, [])


# --------------------------------------------------------------------------------------------
# Tables, ages, status
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0s"),
        (-5, "0s"),
        (119, "119s"),
        (150, "2m30s"),
        (600, "10m"),
        (3 * 3600 + 120, "3h2m"),
        (9 * 3600, "9h"),
        (3 * 86400 + 3600, "3d1h"),
        (40 * 86400, "40d"),
        (800 * 86400, "2y70d"),
        (9 * 365 * 86400, "9y"),
    ],
)
def test_human_age(seconds: int, text: str) -> None:
    assert render.human_age(timedelta(seconds=seconds)) == text


def test_journeys_table() -> None:
    views = [plan.JourneyView.of(o) for o in FAMILY]
    text = render.journeys_table(views, all_namespaces=False, now=NOW)
    lines = text.splitlines()
    assert lines[0].split() == [
        "NAME",
        "FAMILY",
        "VERSION",
        "STATE",
        "PHASE",
        "ACTIVE",
        "COMPLETED",
        "FAILED",
        "HALTED",
        "REJECTED",
        "AGE",
    ]
    assert lines[1].split() == [
        "other-v9",
        "other",
        "9",
        "live",
        "Live",
        "2",
        "1",
        "0",
        "0",
        "0",
        "60m",
    ]
    assert lines[2].split()[:5] == ["welcome-v1", "welcome", "1", "live", "Finished"]
    assert lines[-1].split()[:5] == ["custom-name", "welcome", "4", "live", "-"]
    wide = render.journeys_table(views, all_namespaces=True, now=NOW)
    assert wide.splitlines()[0].startswith("NAMESPACE")
    assert wide.splitlines()[1].startswith("team ")


def test_status_text_shows_who_when_why_and_events() -> None:
    obj = journey("w-v1", 1, state="stopped", phase="Stopped")
    obj["status"].update(
        {
            "stoppedAt": "2026-11-27T11:50:00Z",
            "stoppedBy": "alice",
            "stopReason": "wrong audience",
            "conditions": [
                {
                    "type": "Ready",
                    "status": "True",
                    "reason": "StopRequested",
                    "message": "journey stopped",
                    "lastTransitionTime": "2026-11-27T11:50:00Z",
                }
            ],
        }
    )
    events = [
        {
            "type": "Warning",
            "reason": "StopRequested",
            "message": "halting 2",
            "lastTimestamp": "2026-11-27T11:50:00Z",
        },
        {
            "type": "Normal",
            "reason": "Live",
            "message": "live",
            "eventTime": "2026-11-27T11:00:00.123456Z",
        },
    ]
    members = [plan.JourneyView.of(obj), plan.JourneyView.of(journey("w-v2", 2))]
    text = render.status_text(obj, members, events, NOW)
    assert "Phase:         Stopped (StopRequested)" in text
    assert "Stopped:       2026-11-27T11:50:00Z by alice, reason: wrong audience" in text
    assert "Versions:      w-v1 (Stopped) <- this one, w-v2 (Live)" in text
    assert text.index("Live ") < text.index("halting 2")  # oldest event first
    assert "2 inside, 1 completed" in text


def test_progress_line() -> None:
    assert render.progress_line(journey("w-v1", 1, phase="Closed")) == (
        "w-v1: Closed: 2 inside, 1 completed, 0 failed, 0 halted, 0 rejected"
    )


# --------------------------------------------------------------------------------------------
# Server answers and arguments
# --------------------------------------------------------------------------------------------


def test_server_errors_keep_the_message_verbatim_on_one_line() -> None:
    body = json.dumps(
        {
            "kind": "Status",
            "status": "Failure",
            "reason": "Invalid",
            "code": 422,
            "message": 'Journey.journeys.dev "w-v1" is invalid: spec.state: Forbidden: no\nresume',
        }
    )
    assert server_error(422, "Unprocessable Entity", body) == (
        'Error from server (Invalid): Journey.journeys.dev "w-v1" is invalid: '
        "spec.state: Forbidden: no resume"
    )
    assert server_error(502, "Bad Gateway", "<html>oops</html>") == (
        "Error from server (502 Bad Gateway): <html>oops</html>"
    )
    assert server_error(500, None, "") == "Error from server (500): no details"


def test_warning_headers() -> None:
    assert parse_warnings(['299 - "stopping without \\"reason\\""', "plain"]) == [
        'stopping without "reason"',
        "plain",
    ]


@pytest.mark.parametrize(
    "argv",
    [
        ["-n", "team", "--context", "c", "close", "w-v1"],
        ["close", "w-v1", "-n", "team", "--context", "c"],
        ["--namespace", "other", "close", "-n", "team", "w-v1", "--context=c"],
    ],
)
def test_kubectl_flags_before_or_after_the_command(argv: list[str]) -> None:
    args = build_parser().parse_args(argv)
    assert (args.namespace, args.context, args.kubeconfig) == ("team", "c", None)
    assert args.name == "w-v1" and not args.yes and not args.dry_run


def test_arguments_of_each_command() -> None:
    parser = build_parser()
    args = parser.parse_args(
        ["stop", "w-v1", "--reason", "bad", "--yes", "--wait", "--timeout", "5m"]
    )
    assert (args.reason, args.yes, args.wait, args.timeout) == ("bad", True, True, 300)
    args = parser.parse_args(["new-version", "w", "--image", "a=x", "--image", "b=y", "-o", "json"])
    assert args.image == ["a=x", "b=y"] and args.output == "json"
    args = parser.parse_args(["enter", "w-v1", "bob", "--attr", "A=1", "--attr", "B=2"])
    assert (args.name, args.profile, args.attr) == ("w-v1", "bob", ["A=1", "B=2"])
    args = parser.parse_args(["wait", "w-v1", "--for=phase=Finished", "--timeout", "5m"])
    assert (args.for_, args.wait_timeout) == ("phase=Finished", "5m")
    args = parser.parse_args(["list", "-A"])
    assert args.all_namespaces and args.family is None
    with pytest.raises(SystemExit):
        parser.parse_args(["new-version", "w", "--image", "x", "-f", "p.yaml"])
    with pytest.raises(SystemExit):
        parser.parse_args(["duplicate", "w-v1"])  # --family is required
