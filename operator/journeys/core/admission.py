"""What the validating webhooks decide: refusals and warnings, as pure functions.

The webhook shell (``journeys.webhooks``) gathers facts from the operator's in-memory view and
asks these functions; nothing here does I/O or knows Kopf. The lifecycle rules themselves are not
repeated: legal transitions come from the API table (the CRD's CEL rule is built from it too),
entry decisions from :func:`journeys.core.participants.entry_refusal` (the operator's own check),
so the API server, the webhook and the operator cannot drift apart. What this module adds is
what a person needs to act on a refusal: which journey, in which phase since when, and what to do
instead. What the mutating webhook changes is in :mod:`journeys.core.mutations`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Final

from journeys.api import (
    JourneyPhase,
    JourneyState,
    new_version_hint,
    parse_enum,
    parse_timestamp,
    plural,
    spec_state,
    state_transition_refusal,
)
from journeys.core.participants import JourneyFacts, ParticipantReason, entry_refusal

#: Control-plane users whose deletions are never refused: the namespace controller empties a
#: namespace being deleted (refusing would leave it Terminating forever), and the garbage
#: collector follows owner references someone else decided on. ``system:kube-controller-manager``
#: is their name when the controller manager runs without per-controller service accounts.
CONTROL_PLANE_DELETERS: Final = frozenset(
    {
        "system:serviceaccount:kube-system:namespace-controller",
        "system:serviceaccount:kube-system:generic-garbage-collector",
        "system:kube-controller-manager",
    }
)

_NAME_WITH_VERSION = re.compile(r"\A(?P<family>.+)-v(?P<version>[0-9]+)\Z")
_NOT_LIVE_REASONS: Final = frozenset(
    {
        ParticipantReason.JOURNEY_CLOSED,
        ParticipantReason.JOURNEY_STOPPED,
        ParticipantReason.JOURNEY_FINISHED,
    }
)


class AdmissionReason(StrEnum):
    """Machine-readable reasons of journey refusals (participant refusals reuse
    :class:`~journeys.core.participants.ParticipantReason`, as the operator does)."""

    NO_RESUME = "NoResume"
    ILLEGAL_TRANSITION = "IllegalTransition"
    VERSION_NOT_NEWER = "VersionNotNewer"
    NAME_MISMATCH = "NameMismatch"
    DELETION_PROTECTED = "DeletionProtected"


@dataclass(frozen=True)
class Refusal:
    """A refused request: the reason leads the message, so scripts can match on it."""

    reason: str
    message: str
    code: int = 403

    def __str__(self) -> str:
        return f"{self.reason}: {self.message}"


@dataclass(frozen=True)
class Verdict:
    """A validating decision: refused (with why) or allowed, with warnings for the user."""

    refusal: Refusal | None = None
    warnings: tuple[str, ...] = ()

    @property
    def allowed(self) -> bool:
        return self.refusal is None


@dataclass(frozen=True)
class Effective:
    """A journey's effective state as the operator sees it (``status.phase`` may lag it).

    ``cause`` says why, when the phase did not come from ``spec.state``: superseded by a
    newer version, or ``endAt`` passed. ``in_flight`` counts Pending or Active participants.
    """

    phase: JourneyPhase
    since: datetime | None = None
    cause: str = ""
    in_flight: int = 0

    def describe(self) -> str:
        """``closed since 2025-01-01T10:00:00+00:00 (superseded by welcome-v2)``."""
        text = self.phase.value.lower()
        if self.since is not None:
            text += f" since {self.since.isoformat()}"
        if self.cause:
            text += f" ({self.cause})"
        return text


@dataclass(frozen=True)
class Sibling:
    """Another version of the same family."""

    name: str
    version: int


def effective_from_status(state: JourneyState, status: Mapping[str, Any]) -> Effective:
    """The effective state from the object alone, for when the operator has not seen it yet."""
    phase = parse_enum(JourneyPhase, status.get("phase"))
    if phase is None:
        phase = {
            JourneyState.LIVE: JourneyPhase.LIVE,
            JourneyState.CLOSED: JourneyPhase.CLOSED,
            JourneyState.STOPPED: JourneyPhase.STOPPED,
        }[state]
    since_field = {
        JourneyPhase.CLOSED: "closedAt",
        JourneyPhase.STOPPED: "stoppedAt",
        JourneyPhase.FINISHED: "finishedAt",
    }.get(phase)
    since = parse_timestamp(status.get(since_field)) if since_field else None
    cause = f"superseded by {status['supersededBy']}" if status.get("supersededBy") else ""
    active = (status.get("participants") or {}).get("active") or 0
    return Effective(phase=phase, since=since, cause=cause, in_flight=int(active))


def phase_cause(
    phase: JourneyPhase,
    spec: Mapping[str, Any],
    status: Mapping[str, Any],
    newest_live: str | None,
) -> str:
    """Why a journey whose ``spec.state`` says live is not: a newer version, or ``endAt``."""
    if spec_state(spec) != JourneyState.LIVE or phase == JourneyPhase.LIVE:
        return ""
    if phase == JourneyPhase.STOPPED:
        return f"spec.endAt {spec['endAt']} passed" if spec.get("endAt") else ""
    by = status.get("supersededBy") or newest_live
    return f"superseded by {by}" if by else "superseded by a newer version"


# --- Journey UPDATE ------------------------------------------------------------------------------


def journey_update_verdict(
    name: str,
    family: str,
    old_spec: Mapping[str, Any],
    new_spec: Mapping[str, Any],
    effective: Effective,
) -> Verdict:
    """Refuse state changes that go backwards and attempts to revive an effectively ended journey.

    ``spec.state`` transitions are the API's table (also enforced by CEL, which has no words for
    the journey's phase). Beyond CEL: a journey stopped because ``endAt`` passed keeps
    ``spec.state: live``, so moving or removing ``endAt`` looks like a way to resume it; it is
    refused with the same way forward. Other changes to a journey that is no longer live while its
    spec still says live are allowed, with a warning that it stays where it is.
    """
    old_state = spec_state(old_spec)
    new_state = spec_state(new_spec)
    where = f"journey {name} is {effective.describe()}"
    refused = state_transition_refusal(old_state, new_state, family)
    if refused is not None:
        reason = (
            AdmissionReason.NO_RESUME
            if new_state == JourneyState.LIVE
            else AdmissionReason.ILLEGAL_TRANSITION
        )
        return Verdict(Refusal(reason, f"{where}; {refused}", code=422))
    warnings: list[str] = []
    if new_state == JourneyState.LIVE and effective.phase != JourneyPhase.LIVE:
        end_changed = old_spec.get("endAt") != new_spec.get("endAt")
        if effective.phase == JourneyPhase.STOPPED and end_changed:
            return Verdict(
                Refusal(
                    AdmissionReason.NO_RESUME,
                    f"{where}; moving or removing spec.endAt does not resume it: a stopped "
                    f"journey never runs again. To run it again, {new_version_hint(family)}",
                    code=422,
                )
            )
        if dict(old_spec) != dict(new_spec):
            warnings.append(
                f"{where} although spec.state says live: it stays "
                f"{effective.phase.value.lower()} (phases never move back). To run it again, "
                f"{new_version_hint(family)}"
            )
    if (
        new_state == JourneyState.STOPPED
        and old_state != JourneyState.STOPPED
        and not new_spec.get("stopReason")
    ):
        warnings.append(
            f"stopping journey {name} without spec.stopReason: the audit record will show no "
            "reason (kubectl journey stop --reason '...')"
        )
    return Verdict(warnings=tuple(warnings))


# --- Journey CREATE ------------------------------------------------------------------------------


def journey_create_verdict(
    name: str,
    family: str,
    version: int,
    siblings: Iterable[Sibling],
) -> Verdict:
    """Versions only go up within a family; the name ``<family>-v<N>`` must not contradict it.

    A name without the ``-v<N>`` suffix is allowed with an explanation; a name whose suffix or
    prefix says something else than the spec is refused, since tools (``kubectl journey
    new-version``) and people read the version from the name.
    """
    expected = f"{family}-v{version}"
    match = _NAME_WITH_VERSION.match(name)
    if match is not None:
        named_version = int(match["version"])
        if named_version != version:
            return Verdict(
                Refusal(
                    AdmissionReason.NAME_MISMATCH,
                    f"journey {name}: the name says version {named_version} but spec.version is "
                    f"{version}; versions are named <family>-v<N>: name it {expected}, or set "
                    f"spec.version: {named_version}",
                    code=422,
                )
            )
        if match["family"] != family:  # only when spec.family was set: it defaults to this
            return Verdict(
                Refusal(
                    AdmissionReason.NAME_MISMATCH,
                    f"journey {name}: the name says family {match['family']} but spec.family is "
                    f"{family}; versions are named <family>-v<N>: name it {expected}, or leave "
                    f"spec.family out (it defaults to {match['family']})",
                    code=422,
                )
            )
    others = [s for s in siblings if s.name != name]
    newest = max(others, key=lambda s: s.version, default=None)
    if newest is not None and newest.version >= version:
        following = newest.version + 1
        return Verdict(
            Refusal(
                AdmissionReason.VERSION_NOT_NEWER,
                f"journey {name} has spec.version {version}, but family {family} already has "
                f"version {newest.version} ({newest.name}): a new version must be newer than "
                f"every existing one. Create {family}-v{following} with spec.version {following} "
                f"(kubectl journey new-version {family})",
                code=409,
            )
        )
    if match is None:
        return Verdict(
            warnings=(
                f"journey {name} is version {version} of family {family} but is not named "
                f"<family>-v<N>; the convention ({expected}) is what kubectl journey new-version "
                "and people rely on to tell versions apart",
            )
        )
    return Verdict()


# --- Journey DELETE ------------------------------------------------------------------------------


def journey_delete_verdict(
    name: str,
    effective: Effective,
    username: str,
    namespace_terminating: bool = False,
    namespace: str = "",
) -> Verdict:
    """A journey may go once it is Stopped or Finished with nobody left inside.

    Deleting it removes its participants and their Jobs (owner references), so while it is
    live or draining that would silently end everyone's path. A namespace being deleted takes
    its journeys with it whatever their phase: refusing would leave it Terminating forever.
    The commands the refusal suggests run as printed and fit the journey's phase.
    """
    if namespace_terminating or username in CONTROL_PLANE_DELETERS:
        return Verdict()
    where = f"journey {name} is {effective.describe()}"
    inside = plural(effective.in_flight, "participant")
    ns = f" -n {namespace}" if namespace else ""
    stop = f"kubectl journey stop {name}{ns}"
    finished = f"kubectl journey wait {name}{ns} --for=phase=Finished --timeout 24h"
    if effective.phase == JourneyPhase.LIVE:
        way = (
            f"stop it first, or wait until it is Finished ({stop}; or kubectl journey close "
            f"{name}{ns}, then {finished})"
        )
        return Verdict(
            Refusal(
                AdmissionReason.DELETION_PROTECTED,
                f"{where}, with {inside} inside: a live journey cannot be deleted; {way}",
            )
        )
    if effective.phase == JourneyPhase.CLOSED:
        way = f"stop it first, or wait until it is Finished ({stop}; or {finished})"
        return Verdict(
            Refusal(
                AdmissionReason.DELETION_PROTECTED,
                f"{where}, with {inside} still inside: deleting it would end their paths; {way}",
            )
        )
    if effective.in_flight:
        return Verdict(
            Refusal(
                AdmissionReason.DELETION_PROTECTED,
                f"{where}, with {inside} still being halted: wait until that is "
                f"done (kubectl journey wait {name}{ns} --for=condition=Halted), then delete it",
            )
        )
    return Verdict()


# --- Participant CREATE: the entry gate ----------------------------------------------------------


def participant_entry_verdict(
    journey: str,
    namespace: str,
    facts: JourneyFacts | None,
    cause: str = "",
    newest_live: str | None = None,
) -> Verdict:
    """The operator's entry rule (:func:`entry_refusal`), with what the person can do instead.

    ``facts`` must carry ``entered`` and ``active_elsewhere`` as the operator computes them;
    ``None`` means the journey does not exist. ``cause`` explains a phase that did not come from
    ``spec.state`` (superseded, ``endAt`` passed); ``newest_live`` names the version to enter.
    """
    if facts is None:
        return Verdict(
            Refusal(
                ParticipantReason.JOURNEY_NOT_FOUND,
                f"journey {journey} does not exist in namespace {namespace}: create the Journey "
                f"first, or check spec.journey (kubectl get journeys -n {namespace})",
                code=404,
            )
        )
    action = entry_refusal(facts)
    if action is None:
        return Verdict()
    assert action.reason is not None
    message = action.message
    if action.reason in _NOT_LIVE_REASONS:
        details = [cause] if cause else []
        elsewhere = newest_live if newest_live and newest_live != journey else None
        if elsewhere:
            details.append(f"newest live version: {elsewhere}")
        if details:
            message += f" ({'; '.join(details)})"
    return Verdict(Refusal(action.reason, message))
