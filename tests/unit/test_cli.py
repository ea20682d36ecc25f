"""The plugin without a cluster: dialogs, tables, status text, server answers, arguments."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from journeys import actions
from journeys.actions import versions
from journeys.actions.kube import parse_warnings, server_error
from journeys.cli import render
from journeys.cli.parser import build_parser
from tests.unit.journey_objects import FAMILY, NOW, journey

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
    view = actions.JourneyView.of(journey("w-v1", 1))
    text = render.close_dialog(view, actions.Inside(active=3, pending=1), "2184h")
    assert "Close journey w-v1 to new entries" in text
    assert "no one new can enter" in text
    assert "4 participants inside (1 still pending) continue to the end of their path" in text
    assert "2184h" in text and "cannot be undone" in text
    one = render.close_dialog(view, actions.Inside(active=1), "1h")
    assert "1 participant inside continues to the end of its path" in one
    empty = render.close_dialog(view, actions.Inside(), "1h")
    assert "No participant is inside" in empty


def test_close_dialog_of_a_superseded_journey() -> None:
    obj = journey("w-v1", 1, phase="Closed")
    obj["status"]["supersededBy"] = "w-v2"
    text = render.close_dialog(actions.JourneyView.of(obj), actions.Inside(active=1), "1h")
    assert "already closed (superseded by w-v2)" in text


@pytest.mark.parametrize(
    ("policy", "effect"),
    [("Suspend", "Jobs are suspended"), ("Delete", "Jobs are deleted")],
)
def test_stop_dialog_says_who_is_halted_and_how(policy: str, effect: str) -> None:
    view = actions.JourneyView.of(journey("w-v1", 1))
    text = render.stop_dialog(view, actions.Inside(active=5, pending=2), policy, "wrong audience")
    assert "Stop journey w-v1 now" in text
    assert f"5 active participants will be halted at once (halt policy {policy}" in text
    assert effect in text
    assert "2 pending participants will be rejected (they have no Job yet)" in text
    assert "Reason recorded: wrong audience" in text
    assert "cannot be undone" in text
    assert "--reason" in render.stop_dialog(view, actions.Inside(), policy, "")


def test_new_version_dialog_says_it_closes_the_version_it_replaces() -> None:
    old = journey("w-v1", 1)
    new = versions.new_version(old, "w", actions.Edit(images={None: "step:2"}), NOW)
    text = render.new_version_dialog(new, [(actions.JourneyView.of(old), actions.Inside(active=3))])
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
    views = [actions.JourneyView.of(o) for o in FAMILY]
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
    members = [actions.JourneyView.of(obj), actions.JourneyView.of(journey("w-v2", 2))]
    text = render.status_text(actions.JourneyView.of(obj), members, events, NOW)
    assert "Phase:         Stopped (StopRequested)" in text
    assert "Stopped:       2026-11-27T11:50:00Z by alice, reason: wrong audience" in text
    assert "Versions:      w-v1 (Stopped) <- this one, w-v2 (Live)" in text
    assert text.index("Live ") < text.index("halting 2")  # oldest event first
    assert "2 inside, 1 completed" in text


def test_progress_line() -> None:
    assert render.progress_line(actions.JourneyView.of(journey("w-v1", 1, phase="Closed"))) == (
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
