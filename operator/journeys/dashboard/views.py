"""What the pages show, as pure functions of the actions layer's views: no I/O, no HTML.

The numbers and the refusals come from :mod:`journeys.actions`; this module only turns them into
the words and rows a person reads (dialog texts, ages, the audit line, pages of participants, and
what went wrong when the cluster could not be read), so all of it is unit-tested without a server.
The templates escape every value (Jinja2 autoescape): nothing here builds markup.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, Literal
from urllib.parse import urlencode

import urllib3
from kubernetes.client import ApiException

from journeys.actions import ActionError, Ending, EndPreview, JourneyView
from journeys.api import JourneyPhase

ACTION_LABELS: Final[Mapping[Ending, str]] = {"close": "Close to new entries", "stop": "Stop"}
PHASES: Final = tuple(p.value for p in JourneyPhase)
PAGE_SIZE: Final = 50
NO_RESUME: Final = "This cannot be undone: to run it again, create a new version."


def plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def age(since: datetime | None, now: datetime) -> str:
    """kubectl's AGE: the largest unit or two (``45s``, ``12m``, ``5h3m``, ``3d``)."""
    if since is None:
        return "-"
    seconds = max(int((now - since).total_seconds()), 0)
    if seconds < 120:
        return f"{seconds}s"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes}m"
    hours = minutes // 60
    if hours < 24:
        return f"{hours}h{minutes % 60}m" if hours < 6 and minutes % 60 else f"{hours}h"
    return f"{hours // 24}d"


def when(moment: datetime | None) -> str:
    """A time as people read it in a table: UTC, to the second."""
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC") if moment else ""


def audit_line(view: JourneyView) -> str:
    """Who ended the journey, when and why, for everyone to see ("" while nobody did)."""
    parts = []
    if view.closed_at or view.closed_by:
        text = f"Closed by {view.closed_by or 'unknown'}"
        text += f" at {when(view.closed_at)}" if view.closed_at else ""
        text += f": {view.close_reason}" if view.close_reason else ""
        parts.append(text)
    if view.stopped_at or view.stopped_by:
        text = f"Stopped by {view.stopped_by or 'unknown'}"
        text += f" at {when(view.stopped_at)}" if view.stopped_at else ""
        text += f": {view.stop_reason}" if view.stop_reason else ""
        parts.append(text)
    if view.finished_at:
        parts.append(f"Finished at {when(view.finished_at)}")
    return "; ".join(parts)


# --------------------------------------------------------------------------------------------
# The list
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Filters:
    """The list's filters, from the query string; unknown phases are ignored, not an error."""

    family: str = ""
    phase: str = ""

    @classmethod
    def of(cls, query: Mapping[str, str]) -> Filters:
        phase = query.get("phase", "")
        return cls(family=query.get("family", "").strip(), phase=phase if phase in PHASES else "")

    def keep(self, view: JourneyView) -> bool:
        if self.family and view.family != self.family:
            return False
        return not self.phase or view.effective_phase == self.phase

    @property
    def active(self) -> bool:
        return bool(self.family or self.phase)

    @property
    def query(self) -> str:
        """The filters as a query string (``?family=...``), "" when there are none."""
        chosen = {k: v for k, v in (("family", self.family), ("phase", self.phase)) if v}
        return f"?{urlencode(chosen)}" if chosen else ""


@dataclass(frozen=True)
class Row:
    """One journey in the list."""

    view: JourneyView
    age: str
    audit: str
    endings: tuple[Ending, ...]


def rows(views: Iterable[JourneyView], filters: Filters, now: datetime) -> list[Row]:
    """The list's rows in the actions layer's order (newest version first in each family)."""
    return [Row(v, age(v.created, now), audit_line(v), v.endings) for v in views if filters.keep(v)]


def families(views: Iterable[JourneyView]) -> list[str]:
    return sorted({v.family for v in views})


# --------------------------------------------------------------------------------------------
# A journey
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Deadline:
    label: str
    at: str


def deadlines(view: JourneyView) -> list[Deadline]:
    """The drain deadline while Closed, and ``endAt`` while the journey can still run."""
    found = []
    drain = view.drain_deadline
    if drain is not None:
        found.append(Deadline("Drain runs out (those still inside are halted)", when(drain)))
    if view.end_at is not None and not view.is_final:
        found.append(Deadline("Stops by itself (spec.endAt)", when(view.end_at)))
    return found


@dataclass(frozen=True)
class ParticipantRow:
    name: str
    profile: str
    phase: str
    reason: str
    message: str
    job: str


@dataclass(frozen=True)
class Paged:
    rows: tuple[ParticipantRow, ...]
    page: int
    pages: int
    total: int

    @property
    def first(self) -> int:
        return (self.page - 1) * PAGE_SIZE + 1 if self.total else 0

    @property
    def last(self) -> int:
        return min(self.page * PAGE_SIZE, self.total)


def participant_row(obj: Mapping[str, Any]) -> ParticipantRow:
    spec = obj.get("spec") or {}
    status = obj.get("status") or {}
    return ParticipantRow(
        name=str((obj.get("metadata") or {}).get("name") or ""),
        profile=str(spec.get("profile") or ""),
        phase=str(status.get("phase") or "Pending"),
        reason=str(status.get("reason") or ""),
        message=str(status.get("message") or ""),
        job=str(status.get("job") or ""),
    )


def page_of(participants: Sequence[Mapping[str, Any]], page: int) -> Paged:
    """One page of participants (1-based; out-of-range pages are clamped)."""
    pages = max((len(participants) + PAGE_SIZE - 1) // PAGE_SIZE, 1)
    page = min(max(page, 1), pages)
    chosen = participants[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
    return Paged(tuple(participant_row(p) for p in chosen), page, pages, len(participants))


@dataclass(frozen=True)
class EventRow:
    type: str
    reason: str
    message: str
    count: int
    at: str


def event_rows(events: Iterable[Mapping[str, Any]], limit: int = 20) -> list[EventRow]:
    """The most recent events first (the actions layer gives them oldest first)."""
    found = [
        EventRow(
            type=str(e.get("type") or ""),
            reason=str(e.get("reason") or ""),
            message=str(e.get("message") or e.get("note") or ""),
            count=int(e.get("count") or 1),
            at=str(e.get("lastTimestamp") or e.get("eventTime") or ""),
        )
        for e in events
    ]
    return found[::-1][:limit]


# --------------------------------------------------------------------------------------------
# The confirmation dialog
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Dialog:
    """The confirmation dialog's content: the title, what will happen, the button's name."""

    title: str
    button: str
    facts: tuple[str, ...]
    warnings: tuple[str, ...]
    unchanged: bool


def dialog(preview: EndPreview) -> Dialog:
    """The dialog for ending a journey, with the numbers the server's dry run gave back."""
    journey, who = preview.journey, preview.inside
    label = ACTION_LABELS[preview.ending]
    if preview.unchanged:
        state = "closed" if preview.ending == "close" else "stopped"
        return Dialog(
            title=f"{label}: {journey.name}",
            button=label,
            facts=(f"Journey {journey.name} is already {state}: there is nothing to do.",),
            warnings=preview.warnings,
            unchanged=True,
        )
    facts: list[str] = []
    if preview.ending == "close":
        facts.append("No one new can enter this journey from now on.")
        if who.total:
            facts.append(
                f"{_inside(who)} {'continues' if who.total == 1 else 'continue'} until "
                f"{'it finishes' if who.total == 1 else 'they finish'}. The journey is Finished "
                f"when the last one is done, or when its drain timeout ({journey.drain_timeout}) "
                "runs out: whoever is still inside then is halted."
            )
        else:
            facts.append("No participant is inside: the journey is Finished right away.")
    else:
        if who.active:
            effect = (
                "their Jobs are deleted"
                if journey.halt_policy == "Delete"
                else "their Jobs are suspended and kept for inspection"
            )
            facts.append(
                f"{plural(who.active, 'active participant')} "
                f"{'is' if who.active == 1 else 'are'} halted now: {effect} "
                f"(halt policy {journey.halt_policy})."
            )
        else:
            facts.append("No participant is active: nobody needs to be halted.")
        if who.pending:
            facts.append(
                f"{plural(who.pending, 'pending participant')} "
                f"{'is' if who.pending == 1 else 'are'} rejected."
            )
        facts.append("No one new can enter this journey from now on.")
    facts.append(NO_RESUME)
    return Dialog(
        title=f"{label}: {journey.name}",
        button=label,
        facts=tuple(facts),
        warnings=preview.warnings,
        unchanged=False,
    )


def _inside(who: Any) -> str:
    parts = [f"{who.active} active"] if who.active else []
    if who.pending:
        parts.append(f"{who.pending} pending")
    detail = f" ({', '.join(parts)})" if who.active and who.pending else ""
    return f"{plural(who.total, 'participant')} inside{detail}"


# --------------------------------------------------------------------------------------------
# When the cluster cannot be read
# --------------------------------------------------------------------------------------------

ProblemKind = Literal["crds-missing", "unreachable", "forbidden", "not-found", "error"]


@dataclass(frozen=True)
class Problem:
    """What went wrong, in words a newcomer acts on; ``detail`` is the server's own message."""

    kind: ProblemKind
    title: str
    hint: str
    detail: str = ""
    status: int = 502


def problem(error: ActionError, verb: str, resource: str, where: str) -> Problem:
    """Classify a failed read by what the client library raised (the ActionError's cause).

    ``verb`` and ``resource`` are what the dashboard was doing (``list``, ``journeys.journeys.dev``)
    so a 403 says which permission is missing; ``where`` is the namespace ("" for all).
    The unreachable case shows no server address: it comes from the kubeconfig.
    """
    cause = error.__cause__
    scope = f"in namespace {where}" if where else "in all namespaces"
    if isinstance(cause, ApiException):
        if cause.status == 403:
            return Problem(
                "forbidden",
                f"You may not {verb} {resource} {scope}",
                f"Your kubeconfig's user needs the RBAC verb {verb!r} on {resource} {scope}; "
                "ask a cluster admin, or check with kubectl auth can-i "
                f"{verb} {resource}" + (f" -n {where}" if where else " -A") + ".",
                str(error),
                403,
            )
        if cause.status == 404 and verb == "list":
            return Problem(
                "crds-missing",
                "The Journey API is not installed in this cluster",
                "Install the operator and its CRDs first: kubectl apply -k manifests/ "
                "(see docs/install.md).",
                str(error),
                404,
            )
        if cause.status == 404:
            return Problem("not-found", "Not found", "It may have been deleted.", str(error), 404)
    if isinstance(cause, urllib3.exceptions.HTTPError | OSError):
        return Problem(
            "unreachable",
            "The API server does not answer",
            "Check that the cluster is up and that your kubeconfig's current context is the "
            "right one (kubectl cluster-info). This page retries by itself.",
            "",
            503,
        )
    return Problem("error", "The cluster refused the request", "", str(error), 502)
