"""The API's shared helpers: one implementation each, used by the operator, webhook and plugin."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from journeys.api import (
    DEFAULT_DRAIN_TIMEOUT,
    DEFAULT_HALT_POLICY,
    DEFAULT_STATE,
    LEGAL_STATE_TRANSITIONS,
    NO_RESUME,
    STATE_TRANSITION_MESSAGE,
    HaltPolicy,
    JourneyPhase,
    JourneySpec,
    JourneyState,
    effective_family,
    format_timestamp,
    new_version_hint,
    parse_enum,
    parse_timestamp,
    plural,
    state_transition_refusal,
)
from journeys.api.generated import stale_files, write_files


@pytest.mark.parametrize(
    ("name", "family", "expected"),
    [
        ("welcome-v3", None, "welcome"),
        ("welcome-v3", "", "welcome"),
        ("welcome-v3", "hello", "hello"),
        ("welcome", None, "welcome"),
        ("a-v1-v2", None, "a-v1"),
    ],
)
def test_effective_family(name: str, family: str | None, expected: str) -> None:
    assert effective_family(name, family) == expected


def test_timestamps_are_written_in_utc_to_the_second() -> None:
    moment = datetime(2025, 1, 1, 2, 0, 5, 987654, tzinfo=timezone(timedelta(hours=2)))
    assert format_timestamp(moment) == "2025-01-01T00:00:05Z"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2025-01-01T00:00:05Z", datetime(2025, 1, 1, 0, 0, 5, tzinfo=UTC)),
        ("2025-01-01T02:00:05+02:00", datetime(2025, 1, 1, 0, 0, 5, tzinfo=UTC)),
        ("2025-01-01T00:00:05.5Z", datetime(2025, 1, 1, 0, 0, 5, 500000, tzinfo=UTC)),
        ("", None),
        (None, None),
        (17, None),
        ("yesterday", None),
    ],
)
def test_parse_timestamp(value: object, expected: datetime | None) -> None:
    assert parse_timestamp(value) == expected


def test_parse_and_format_round_trip() -> None:
    moment = datetime(2026, 11, 27, 12, 30, tzinfo=UTC)
    assert parse_timestamp(format_timestamp(moment)) == moment


@pytest.mark.parametrize(
    ("count", "text"), [(0, "0 participants"), (1, "1 participant"), (2, "2 participants")]
)
def test_plural(count: int, text: str) -> None:
    assert plural(count, "participant") == text


def test_parse_enum_takes_members_and_refuses_the_rest() -> None:
    assert parse_enum(JourneyPhase, "Closed") is JourneyPhase.CLOSED
    assert parse_enum(JourneyState, "closed") is JourneyState.CLOSED
    assert parse_enum(JourneyState, "Closed") is None  # wire values are case-sensitive
    assert parse_enum(JourneyState, None) is None
    assert parse_enum(HaltPolicy, 3) is None


@pytest.mark.parametrize(("old", "new"), list(itertools.product(JourneyState, repeat=2)))
def test_the_refusal_names_the_change_and_the_way_forward(
    old: JourneyState, new: JourneyState
) -> None:
    text = state_transition_refusal(old, new, "welcome")
    if (old, new) in LEGAL_STATE_TRANSITIONS:
        assert text is None
        return
    assert text is not None
    assert text.startswith(f"spec.state cannot go from {old.value} to {new.value}: ")
    assert text.endswith(new_version_hint("welcome"))
    if new == JourneyState.LIVE:
        assert f"a {old.value} journey cannot be resumed" in text
    else:
        assert f"a {old.value} journey stays {old.value}" in text


def test_the_cel_message_states_the_rule_and_the_way_forward() -> None:
    assert STATE_TRANSITION_MESSAGE.startswith(NO_RESUME)
    assert STATE_TRANSITION_MESSAGE.endswith(new_version_hint())
    assert new_version_hint() == "create a new version: kubectl journey new-version <family>"


def test_defaults_are_the_models_defaults() -> None:
    spec = JourneySpec.model_validate({"version": 1, "template": {"spec": {}}})
    assert spec.drain.timeout == DEFAULT_DRAIN_TIMEOUT == "2184h"
    assert spec.drain.timeout_duration == timedelta(days=91)
    assert spec.halt.policy is DEFAULT_HALT_POLICY is HaltPolicy.SUSPEND
    assert spec.state is DEFAULT_STATE is JourneyState.LIVE


def test_generated_files_are_written_and_found_stale(tmp_path: Path) -> None:
    files = {"a.yaml": "a: 1\n", "sub/b.yaml": "b: 2\n"}
    assert stale_files(tmp_path, files) == ["a.yaml", "sub/b.yaml"]
    assert write_files(tmp_path, files) == [tmp_path / "a.yaml", tmp_path / "sub" / "b.yaml"]
    assert stale_files(tmp_path, files) == []
    (tmp_path / "sub" / "b.yaml").write_text("b: 3\n", encoding="utf-8")
    assert stale_files(tmp_path, files) == ["sub/b.yaml"]
