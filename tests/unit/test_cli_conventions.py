"""kubectl's conventions in the plugin, without a cluster: flags, usage errors, -o, errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from journeys import actions
from journeys.actions.kube import NOT_INSTALLED, missing_kubeconfig, server_error
from journeys.cli import render
from journeys.cli.output import format_object, without_managed_fields
from journeys.cli.parser import parse_args
from tests.unit.journey_objects import FAMILY, NOW, journey


@pytest.mark.parametrize(
    "argv",
    [
        ["-o", "json", "list"],
        ["-A", "list"],
        ["list", "-A", "-o", "json"],
        ["-n", "team", "-o", "yaml", "status", "w-v1"],
    ],
)
def test_global_flags_go_before_or_after_the_command(argv: list[str]) -> None:
    args = parse_args(argv)
    assert args.command in {"list", "status"}
    if "-A" in argv:
        assert args.all_namespaces
    if "-o" in argv:
        assert args.output == argv[argv.index("-o") + 1]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["close", "w-v1", "--bogus"], "unrecognized arguments: --bogus"),
        (["close", "w-v1", "--timeout", "3", "--wait"], "--timeout"),
        (["close", "w-v1", "--timeout", "5m"], "--timeout applies to --wait"),
        (["enter", "w-v1", "bob", "--timeout", "5m"], "--timeout applies to --wait"),
        (["wait", "w-v1", "--for=phase=Done"], "unknown phase"),
        (["wait", "w-v1", "--for=delete"], "--for=delete"),
        (["wait", "w-v1", "--for=phase=Finished", "--timeout", "3"], "--timeout"),
        (["stop", "w-v1", "--dry-run=client"], "client is not offered"),
        (["stop", "w-v1", "--dry-run=maybe"], "--dry-run=server"),
        (["-A", "close", "w-v1"], "does not apply to close"),
        (["status", "w-v1", "-o", "wide"], "-o wide applies to list"),
    ],
)
def test_usage_errors_exit_2_with_the_commands_usage(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        parse_args(argv)
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert message in err
    assert f"usage: kubectl journey {argv[0] if argv[0] != '-A' else 'close'}" in err


def test_dry_run_spellings() -> None:
    assert parse_args(["close", "w-v1", "--dry-run"]).dry_run is True
    assert parse_args(["close", "w-v1", "--dry-run=server"]).dry_run is True
    assert parse_args(["close", "w-v1", "--dry-run=none"]).dry_run is False
    assert parse_args(["close", "w-v1"]).dry_run is False


def test_close_takes_a_reason_and_scripts_may_pass_yes_everywhere() -> None:
    assert parse_args(["close", "w-v1", "--reason", "spring campaign over"]).reason == (
        "spring campaign over"
    )
    assert parse_args(["duplicate", "w-v1", "--family", "p", "--yes"]).yes
    assert parse_args(["enter", "w-v1", "bob", "-y"]).yes


def test_output_hides_managed_fields_and_prints_names() -> None:
    obj = journey("w-v1", 1)
    assert "managedFields" in obj["metadata"]
    shown = json.loads(format_object(obj, "json"))
    assert "managedFields" not in shown["metadata"]
    assert shown["metadata"]["name"] == "w-v1" and shown["spec"] == obj["spec"]
    listing = {"kind": "List", "items": [obj, journey("w-v2", 2)]}
    assert all(
        "managedFields" not in i["metadata"]
        for i in yaml.safe_load(format_object(listing, "yaml"))["items"]
    )
    assert format_object(listing, "name") == (
        "journey.journeys.dev/w-v1\njourney.journeys.dev/w-v2"
    )
    assert "managedFields" in obj["metadata"]  # the object itself is not changed
    assert without_managed_fields("text") == "text"


def test_wide_list_shows_who_ended_and_why() -> None:
    stopped = journey("w-v1", 1, state="stopped", phase="Stopped")
    stopped["status"].update({"stoppedBy": "carol", "stopReason": "wrong audience"})
    views = [actions.JourneyView.of(o) for o in [stopped, *FAMILY[2:3]]]
    text = render.journeys_table(views, all_namespaces=False, now=NOW, wide=True)
    header, first = text.splitlines()[:2]
    assert header.split()[-3:] == ["ENDED-BY", "REASON", "SUPERSEDED-BY"]
    assert "carol" in first and "wrong audience" in first
    assert "ENDED-BY" not in render.journeys_table(views, all_namespaces=False, now=NOW)


def test_a_missing_api_says_how_to_install_it() -> None:
    assert server_error(404, "Not Found", "404 page not found") == NOT_INSTALLED
    assert "kubectl apply -k manifests/" in NOT_INSTALLED
    missing_object = json.dumps(
        {"kind": "Status", "reason": "NotFound", "message": 'journeys "x" not found'}
    )
    assert "(NotFound)" in server_error(404, "Not Found", missing_object)


def test_a_missing_kubeconfig_names_the_file(tmp_path: Path) -> None:
    there = tmp_path / "config"
    there.write_text("apiVersion: v1\n")
    assert missing_kubeconfig(str(there), {}) is None
    assert missing_kubeconfig("/tmp/nope-journeys", {}) == (
        "--kubeconfig /tmp/nope-journeys: no such file"
    )
    assert missing_kubeconfig(None, {"KUBECONFIG": "/a:/b"}) == "KUBECONFIG=/a:/b: no such file"
    assert missing_kubeconfig(None, {"KUBECONFIG": f"/a:{there}"}) is None


def test_gitops_tools_are_recognised_from_their_marks() -> None:
    plain = journey("w-v1", 1)
    assert actions.gitops_manager(plain) == ""
    argo = journey("w-v1", 1)
    argo["metadata"]["annotations"]["argocd.argoproj.io/tracking-id"] = "app:journeys.dev/x"
    assert actions.gitops_manager(argo) == "Argo CD"
    flux = journey("w-v1", 1)
    flux["metadata"]["managedFields"] = [{"manager": "kustomize-controller"}]
    assert actions.gitops_manager(flux) == "Flux"
    note = render.gitops_note(actions.JourneyView.of(flux), "Flux", "close")
    assert "differ from git" in note and "spec.state: closed" in note


@pytest.mark.parametrize(
    ("state", "phase", "endings"),
    [
        ("live", "Live", ("close", "stop")),
        ("live", None, ("close", "stop")),
        ("live", "Closed", ("stop",)),
        ("closed", "Closed", ("stop",)),
        ("closed", "Finished", ()),
        ("stopped", "Stopped", ()),
        ("live", "Stopped", ()),
    ],
)
def test_endings_offered_follow_the_phase(
    state: str, phase: str | None, endings: tuple[str, ...]
) -> None:
    assert actions.JourneyView.of(journey("w-v1", 1, state=state, phase=phase)).endings == endings


def test_an_ending_is_done_when_the_operator_says_so() -> None:
    closing = journey("w-v1", 1, state="closed", phase="Closed")
    assert not actions.ending_done("close", closing)
    assert actions.ending_done("close", journey("w-v1", 1, state="closed", phase="Finished"))
    stopped = journey("w-v1", 1, state="stopped", phase="Stopped")
    stopped["status"]["observedGeneration"] = 3
    assert not actions.ending_done("stop", stopped, generation=3)  # 2 still active
    stopped["status"]["participants"] = {"halted": 2}
    assert actions.ending_done("stop", stopped, generation=3)
    assert not actions.ending_done("stop", stopped, generation=4)  # our patch not seen yet
