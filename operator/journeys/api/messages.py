"""What the API server (CEL), the webhooks and the plugin tell people, worded once.

A refusal says what is wrong and what to do instead. The no-resume refusal in particular comes
from here for every front: the CRD's CEL rule (:data:`STATE_TRANSITION_MESSAGE`, which has no
words for a journey's phase), the webhook and the plugin (:func:`state_transition_refusal`).
"""

from __future__ import annotations

from typing import Final

from journeys.api.limits import (
    MAX_ATTRIBUTE_KEY_LENGTH,
    MAX_FAMILY_LENGTH,
    MAX_NAME_LENGTH,
)
from journeys.api.names import LABEL_JOURNEY
from journeys.api.states import JourneyState, is_legal_state_transition


def plural(count: int, noun: str) -> str:
    """``1 participant``, ``2 participants``: the count with its noun."""
    return f"{count} {noun}{'' if count == 1 else 's'}"


def new_version_hint(family: str = "<family>") -> str:
    """The way forward whenever a journey cannot be changed or revived."""
    return f"create a new version: kubectl journey new-version {family}"


#: The rule behind every no-resume refusal.
NO_RESUME: Final = "a closed or stopped journey cannot be resumed"
STATE_ORDER: Final = "live -> closed, live -> stopped or closed -> stopped"

STATE_TRANSITION_MESSAGE: Final = (
    f"{NO_RESUME}: spec.state may only go {STATE_ORDER}; to run it again, {new_version_hint()}"
)


def state_transition_refusal(
    old: JourneyState, new: JourneyState, family: str = "<family>"
) -> str | None:
    """Why ``spec.state`` may not go from ``old`` to ``new`` and what to do instead, or ``None``
    when the change is legal."""
    if is_legal_state_transition(old, new):
        return None
    old, new = JourneyState(old), JourneyState(new)
    if new == JourneyState.LIVE:
        why = f"a {old.value} journey cannot be resumed"
    else:
        why = f"a {old.value} journey stays {old.value} (live -> closed -> stopped)"
    return (
        f"spec.state cannot go from {old.value} to {new.value}: {why}. "
        f"To run it again, {new_version_hint(family)}"
    )


FAMILY_IMMUTABLE_MESSAGE: Final = (
    "spec.family is immutable (it ties the versions of a journey together; it may only be "
    "filled in with its default, the name without -v<N>): to start a new family, duplicate "
    "the journey (kubectl journey duplicate)"
)
FAMILY_UNDERIVABLE_MESSAGE: Final = (
    "spec.family is not set and metadata.name without its -v<N> suffix is not a valid family "
    f"(a DNS label of at most {MAX_FAMILY_LENGTH} characters): set spec.family"
)
VERSION_IMMUTABLE_MESSAGE: Final = (
    "spec.version is immutable: to change the journey, create a new version "
    "(kubectl journey new-version <family>)"
)
TEMPLATE_IMMUTABLE_MESSAGE: Final = (
    "spec.template is immutable: participants keep the workload they entered with; to change "
    "the workload, create a new version (kubectl journey new-version <family>)"
)
JOURNEY_NAME_MESSAGE: Final = (
    f"metadata.name must be at most {MAX_NAME_LENGTH} characters: it is the value of the "
    f"{LABEL_JOURNEY} label on every participant's Job"
)
PARTICIPANT_NAME_MESSAGE: Final = (
    f"metadata.name must be at most {MAX_NAME_LENGTH} characters: the participant's Job is named "
    "after it, and Job names are limited to 63 characters"
)
PARTICIPANT_JOURNEY_IMMUTABLE_MESSAGE: Final = (
    "spec.journey is immutable: a participant belongs to one journey; to enter another journey, "
    "create a new Participant"
)
PARTICIPANT_PROFILE_IMMUTABLE_MESSAGE: Final = (
    "spec.profile is immutable: a participant is one profile's walk through a journey; for "
    "another profile, create a new Participant"
)
ATTRIBUTE_KEYS_MESSAGE: Final = (
    "spec.attributes keys must be environment variable names: letters, digits and '_', not "
    f"starting with a digit, at most {MAX_ATTRIBUTE_KEY_LENGTH} characters (e.g. PLAN, first_name)"
)

#: What the API server says of a malformed duration (``drain.timeout``): the form, not a regex.
DURATION_MESSAGE: Final = (
    "must be a Go duration: a number and a unit h, m, s, ms, us or ns, combinable, without "
    "spaces, e.g. 720h (30 days), 90m or 1h30m; there is no day unit (1 day is 24h)"
)
