"""The CRDs' CEL rules (``x-kubernetes-validations``), generated from the same tables, patterns
and messages as the Python validators, so that the API server refuses what the operator does
even while the webhook or the operator is down.

Each function returns one rule entry; the models attach them to the fields they guard.
"""

from __future__ import annotations

from typing import Final

from pydantic.config import JsonDict

from journeys.api import messages
from journeys.api.durations import DURATION_PATTERN
from journeys.api.limits import (
    ATTRIBUTE_KEY_PATTERN,
    DNS_LABEL_PATTERN,
    MAX_ATTRIBUTE_KEY_LENGTH,
    MAX_FAMILY_LENGTH,
    MAX_NAME_LENGTH,
    VERSION_SUFFIX_PATTERN,
)
from journeys.api.states import LEGAL_STATE_TRANSITIONS, JourneyState

_FORBIDDEN: Final = "FieldValueForbidden"


def cel_string(text: str) -> str:
    """A CEL single-quoted string literal."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def rule(
    expression: str,
    message: str,
    *,
    field_path: str | None = None,
    reason: str | None = None,
    message_expression: str | None = None,
) -> JsonDict:
    """One ``x-kubernetes-validations`` entry."""
    entry: JsonDict = {"rule": expression, "message": message}
    if message_expression is not None:
        entry["messageExpression"] = message_expression
    if field_path is not None:
        entry["fieldPath"] = field_path
    if reason is not None:
        entry["reason"] = reason
    return entry


def duration() -> JsonDict:
    """A Go duration, refused with a message that shows the form (the schema's pattern alone
    makes the API server print the regular expression)."""
    return rule(f"self.matches({cel_string(DURATION_PATTERN)})", messages.DURATION_MESSAGE)


def immutable(message: str) -> JsonDict:
    """The field may be set once, never changed."""
    return rule("self == oldSelf", message, reason=_FORBIDDEN)


def name_length(message: str) -> JsonDict:
    """``metadata.name`` short enough for a label value (the API server allows 253)."""
    return rule(
        f"self.metadata.name.size() <= {MAX_NAME_LENGTH}", message, field_path=".metadata.name"
    )


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


def state_transition() -> JsonDict:
    """No resume: ``spec.state`` only moves forward, with the no-resume message."""
    return rule(
        state_transition_rule(),
        messages.STATE_TRANSITION_MESSAGE,
        reason=_FORBIDDEN,
        message_expression=(
            "'spec.state cannot change from ' + oldSelf + ' to ' + self + ': ' + "
            + cel_string(messages.STATE_TRANSITION_MESSAGE)
        ),
    )


def _derived_family(obj: str) -> str:
    """CEL for :func:`journeys.api.default_family` of ``<obj>.metadata.name``."""
    name = f"{obj}.metadata.name"
    return (
        f"({name}.matches('{VERSION_SUFFIX_PATTERN}') ? "
        f"{name}.substring(0, {name}.lastIndexOf('-v')) : {name})"
    )


def _effective_family(obj: str) -> str:
    """CEL for :func:`journeys.api.effective_family` of ``<obj>``."""
    return f"(has({obj}.spec.family) ? {obj}.spec.family : {_derived_family(obj)})"


def family_derivable() -> JsonDict:
    """Without ``spec.family``, the name must give a valid family."""
    derived = _derived_family("self")
    return rule(
        f"has(self.spec.family) || ({derived}.size() <= {MAX_FAMILY_LENGTH} && "
        f"{derived}.matches('{DNS_LABEL_PATTERN}'))",
        messages.FAMILY_UNDERIVABLE_MESSAGE,
        field_path=".spec.family",
    )


def family_immutable() -> JsonDict:
    """The effective family never changes (filling in its default is no change)."""
    return rule(
        f"{_effective_family('self')} == {_effective_family('oldSelf')}",
        messages.FAMILY_IMMUTABLE_MESSAGE,
        field_path=".spec.family",
        reason=_FORBIDDEN,
    )


def attribute_keys() -> JsonDict:
    """Attribute keys are environment variable names."""
    return rule(
        f"self.all(k, k.size() <= {MAX_ATTRIBUTE_KEY_LENGTH} && "
        f"k.matches('{ATTRIBUTE_KEY_PATTERN}'))",
        messages.ATTRIBUTE_KEYS_MESSAGE,
    )
