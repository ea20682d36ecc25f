"""Go/Kubernetes duration strings ("2184h", "1h30m", "500ms") as ``timedelta``.

Kubernetes users already write durations this way (``metav1.Duration``, ``--timeout``), so the
API speaks the same syntax rather than ISO 8601 or bare seconds. The grammar is Go's
``time.ParseDuration`` without the sign: durations in this API are timeouts, and a negative
timeout is always a mistake. ``DURATION_PATTERN`` is the same grammar as a regular expression for
the CRD, so the API server refuses what :func:`parse_duration` refuses.
"""

from __future__ import annotations

import re
from datetime import timedelta
from fractions import Fraction
from typing import Final

__all__ = [
    "DURATION_EXAMPLE",
    "DURATION_PATTERN",
    "MAX_DURATION",
    "UNITS",
    "format_duration",
    "parse_duration",
]

#: Nanoseconds per unit, as in Go's ``time`` package ("us" and "µs" are both microseconds).
UNITS: Final[dict[str, int]] = {
    "ns": 1,
    "us": 1_000,
    "µs": 1_000,  # U+00B5 MICRO SIGN
    "μs": 1_000,  # U+03BC GREEK SMALL LETTER MU
    "ms": 1_000_000,
    "s": 1_000_000_000,
    "m": 60 * 1_000_000_000,
    "h": 3600 * 1_000_000_000,
}

# A number is digits with an optional fraction, or a bare fraction (".5h"), exactly like Go.
_NUMBER = r"(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)"
_UNIT = r"(?:ns|us|µs|μs|ms|s|m|h)"

#: The accepted syntax, anchored, usable both by Python ``re`` and by the API server (RE2).
DURATION_PATTERN: Final[str] = rf"^(?:0|(?:{_NUMBER}{_UNIT})+)$"

#: The example every error message offers.
DURATION_EXAMPLE: Final[str] = "'2184h' (91 days), '90m', '1h30m', '45s' or '500ms'"

#: Go stores durations as int64 nanoseconds; longer ones do not exist in Kubernetes.
MAX_DURATION: Final[timedelta] = timedelta(microseconds=(2**63 - 1) // 1_000)

_MAX_NANOSECONDS: Final[int] = 2**63 - 1
_TOKEN = re.compile(rf"({_NUMBER})([^0-9.]*)")
_WHOLE = re.compile(DURATION_PATTERN)


def _invalid(text: str, problem: str) -> ValueError:
    return ValueError(
        f"invalid duration {text!r}: {problem}; write a Go duration such as {DURATION_EXAMPLE}"
    )


def parse_duration(text: str) -> timedelta:
    """Parse a Go duration string; sub-microsecond parts are rounded (``timedelta``'s resolution).

    Raises ``ValueError`` naming the problem (empty, sign, missing or unknown unit, overflow)
    and showing valid examples, because this text reaches users through admission errors.
    """
    if text == "":
        raise _invalid(text, "it is empty")
    if text == "0":
        return timedelta(0)
    if text[0] in "+-":
        raise _invalid(text, "a sign is not allowed, durations here are never negative")
    if text.strip() != text or any(c.isspace() for c in text):
        raise _invalid(text, "it contains spaces")

    total = Fraction(0)
    position = 0
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None:
            raise _invalid(text, f"expected a number at {text[position:]!r}")
        number, unit = match.group(1), match.group(2)
        if unit == "":
            raise _invalid(text, f"missing unit after {number!r} (use h, m, s, ms, us or ns)")
        if unit not in UNITS:
            hint = " (there is no day unit: 1 day is 24h)" if unit in ("d", "day", "days") else ""
            raise _invalid(text, f"unknown unit {unit!r}{hint}")
        total += Fraction(number) * UNITS[unit]
        position = match.end()

    # The tokenizer is more forgiving than the grammar; keep both in lock-step.
    if _WHOLE.match(text) is None:  # pragma: no cover - defensive, the loop refuses first
        raise _invalid(text, "it does not follow the duration syntax")
    if total > _MAX_NANOSECONDS:
        raise _invalid(text, "it is longer than the longest duration Kubernetes can hold (~292y)")
    # Rounding to microseconds may step one past the int64 limit; clamp to keep the invariant.
    return min(timedelta(microseconds=round(total / 1_000)), MAX_DURATION)


def format_duration(value: timedelta) -> str:
    """Format a non-negative ``timedelta`` as the shortest-to-read Go duration.

    Zero components are left out ("2184h", "1h30m", "1m500ms"), so the output reads like what a
    person writes and always parses back to the same ``timedelta``.
    """
    if value < timedelta(0):
        raise ValueError(f"cannot format a negative duration ({value}): durations are timeouts")
    if value > MAX_DURATION:
        raise ValueError(f"cannot format {value}: longer than Kubernetes durations go (~292y)")
    micros = value // timedelta(microseconds=1)
    if micros == 0:
        return "0s"
    hours, micros = divmod(micros, 3_600_000_000)
    minutes, micros = divmod(micros, 60_000_000)
    seconds, micros = divmod(micros, 1_000_000)
    millis, micros = divmod(micros, 1_000)
    parts = [(hours, "h"), (minutes, "m"), (seconds, "s"), (millis, "ms"), (micros, "us")]
    return "".join(f"{amount}{unit}" for amount, unit in parts if amount)
