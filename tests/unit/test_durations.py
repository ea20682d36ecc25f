"""Go-style durations: the syntax users already write for Kubernetes, refused clearly otherwise."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from journeys.api import (
    DURATION_PATTERN,
    MAX_DURATION,
    format_duration,
    parse_duration,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2184h", timedelta(days=91)),
        ("90m", timedelta(minutes=90)),
        ("1h30m", timedelta(hours=1, minutes=30)),
        ("45s", timedelta(seconds=45)),
        ("500ms", timedelta(milliseconds=500)),
        ("1.5h", timedelta(hours=1, minutes=30)),
        ("0", timedelta(0)),
        ("0s", timedelta(0)),
        ("1.h", timedelta(hours=1)),
        (".5s", timedelta(milliseconds=500)),
        ("250us", timedelta(microseconds=250)),
        ("250µs", timedelta(microseconds=250)),
        ("1500ns", timedelta(microseconds=2)),  # rounded to timedelta's resolution
        ("1m1m", timedelta(minutes=2)),  # Go sums repeated units
        ("2562047h", timedelta(hours=2562047)),  # close to Go's int64 limit
    ],
)
def test_parses_go_durations(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "empty"),
        ("91d", "there is no day unit"),
        ("1w", "unknown unit 'w'"),
        ("1", "missing unit"),
        ("1h30", "missing unit after '30'"),
        ("-1h", "sign is not allowed"),
        ("+1h", "sign is not allowed"),
        ("1 h", "spaces"),
        (" 1h", "spaces"),
        ("h", "expected a number"),
        ("1..5h", "missing unit"),
        ("P1D", "expected a number"),
        ("2562048h", "longer than"),
    ],
)
def test_refuses_junk_with_a_reason_and_an_example(text: str, problem: str) -> None:
    with pytest.raises(ValueError) as caught:
        parse_duration(text)
    message = str(caught.value)
    assert problem in message
    assert "2184h" in message  # every message shows what to write instead
    assert repr(text) in message


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (timedelta(0), "0s"),
        (timedelta(days=91), "2184h"),
        (timedelta(hours=1, minutes=30), "1h30m"),
        (timedelta(minutes=1, milliseconds=500), "1m500ms"),
        (timedelta(microseconds=7), "7us"),
    ],
)
def test_formats_what_people_write(value: timedelta, text: str) -> None:
    assert format_duration(value) == text


def test_format_refuses_what_cannot_be_a_timeout() -> None:
    with pytest.raises(ValueError, match="negative"):
        format_duration(timedelta(seconds=-1))
    with pytest.raises(ValueError, match="longer"):
        format_duration(MAX_DURATION + timedelta(microseconds=1))


@given(st.timedeltas(min_value=timedelta(0), max_value=MAX_DURATION))
def test_format_then_parse_round_trips(value: timedelta) -> None:
    text = format_duration(value)
    assert re.fullmatch(DURATION_PATTERN, text)
    assert parse_duration(text) == value


@given(st.text(alphabet="0123456789.hmsunµ-+ d", max_size=12))
def test_the_crd_pattern_accepts_exactly_what_the_parser_accepts(text: str) -> None:
    """The API server (pattern) and the operator (parser) must refuse the same strings."""
    try:
        parse_duration(text)
        parsed = True
    except ValueError as error:
        parsed = "longer than" in str(error)  # syntax is fine, only the value is too large
    assert parsed == (re.fullmatch(DURATION_PATTERN, text) is not None)
