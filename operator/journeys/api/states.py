"""The API's enumerations and the state machine of ``spec.state``.

The CRD's CEL transition rule is built from :data:`LEGAL_STATE_TRANSITIONS` and the lifecycle
core and the webhook check against it too, so the API server, the webhook and the operator
cannot drift apart.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Final, TypeVar


class JourneyState(StrEnum):
    """Desired state written by people (``spec.state``); lower case, like other spec enums."""

    LIVE = "live"
    CLOSED = "closed"
    STOPPED = "stopped"


class JourneyPhase(StrEnum):
    """Effective state observed by the operator (``status.phase``); CamelCase like Pod phases."""

    LIVE = "Live"
    CLOSED = "Closed"
    FINISHED = "Finished"
    STOPPED = "Stopped"


class HaltPolicy(StrEnum):
    """What halting does to a participant's Job."""

    SUSPEND = "Suspend"
    DELETE = "Delete"


class ParticipantPhase(StrEnum):
    """Where a participant is on its path."""

    PENDING = "Pending"
    ACTIVE = "Active"
    COMPLETED = "Completed"
    FAILED = "Failed"
    HALTED = "Halted"
    REJECTED = "Rejected"


#: Every legal (old, new) pair of ``spec.state``, including staying the same.
LEGAL_STATE_TRANSITIONS: Final[frozenset[tuple[JourneyState, JourneyState]]] = frozenset(
    {
        (JourneyState.LIVE, JourneyState.LIVE),
        (JourneyState.LIVE, JourneyState.CLOSED),
        (JourneyState.LIVE, JourneyState.STOPPED),
        (JourneyState.CLOSED, JourneyState.CLOSED),
        (JourneyState.CLOSED, JourneyState.STOPPED),
        (JourneyState.STOPPED, JourneyState.STOPPED),
    }
)


def is_legal_state_transition(old: JourneyState, new: JourneyState) -> bool:
    """Whether ``spec.state`` may change from ``old`` to ``new``."""
    return (JourneyState(old), JourneyState(new)) in LEGAL_STATE_TRANSITIONS


E = TypeVar("E", bound=StrEnum)


def parse_enum(kind: type[E], value: Any) -> E | None:
    """``value`` as a member of ``kind``, or ``None`` when it is not one (unset, unknown).

    For reading raw objects (webhook requests, index entries) where the schema, not this code,
    is the one to refuse an unknown value.
    """
    try:
        return kind(value)
    except ValueError:
        return None
