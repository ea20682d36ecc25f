"""What the plugin shows: confirmation dialogs, tables, ``status``, progress lines.

Pure text from plain data, so the wording a person confirms is unit-tested as carefully as the
request that follows it. The dialogs follow the reference product's: say what will happen, to how
many participants, and whether it can be undone (it never can).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from journeys.actions import Inside, JourneyView, NewJourney, event_time
from journeys.api import format_timestamp, parse_timestamp, plural

YES_ANSWERS: Final = frozenset({"y", "yes"})
NO_RESUME: Final = (
    "This cannot be undone: a {what} journey never runs again (create a new version)."
)
RECENT_EVENTS: Final = 10
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)


def is_yes(answer: str) -> bool:
    """Only an explicit yes confirms; anything else, including an empty line, declines."""
    return answer.strip().lower() in YES_ANSWERS


def question(verb: str, name: str) -> str:
    return f"{verb} {name}? [y/N]: "


# --------------------------------------------------------------------------------------------
# Dialogs
# --------------------------------------------------------------------------------------------


def close_dialog(journey: JourneyView, who: Inside, drain_timeout: str, reason: str = "") -> str:
    """What closing does: entries end now, those inside finish, then the journey is Finished."""
    lines = [f"Close journey {journey.name} to new entries (namespace {journey.namespace})?"]
    if journey.effective_phase != "Live":
        lines.append(
            f"  - It is already {journey.effective_phase.lower()}"
            + (f" (superseded by {journey.superseded_by})" if journey.superseded_by else "")
            + ": closing records it in spec.state and in the audit trail."
        )
    else:
        lines.append("  - From now on no one new can enter it.")
    if who.total:
        lines.append(
            f"  - {_inside_text(who)} {_agree(who.total, 'continues', 'continue')} to the end "
            f"of {_agree(who.total, 'its', 'their')} path; when the last one leaves, the journey "
            f"is Finished. Whoever is still inside after the drain timeout ({drain_timeout}) is "
            "halted."
        )
    else:
        lines.append("  - No participant is inside: the journey will be Finished right away.")
    lines.append(_reason_line(reason))
    lines.append("  - " + NO_RESUME.format(what="closed"))
    return "\n".join(lines)


def stop_dialog(journey: JourneyView, who: Inside, policy: str, reason: str) -> str:
    """What stopping does: everyone inside is halted now, per the halt policy; no way back."""
    lines = [f"Stop journey {journey.name} now (namespace {journey.namespace})?"]
    if journey.effective_phase in {"Stopped", "Finished"}:
        lines.append(
            f"  - It is already {journey.effective_phase.lower()}: stopping records it in "
            "spec.state and in the audit trail."
        )
    if who.active:
        effect = (
            "their Jobs are deleted with their pods"
            if policy == "Delete"
            else "their Jobs are suspended, so their pods end and the Jobs stay for inspection"
        )
        lines.append(
            f"  - {plural(who.active, 'active participant')} will be halted at once "
            f"(halt policy {policy}: {effect})."
        )
    else:
        lines.append("  - No participant is active: nobody needs halting.")
    if who.pending:
        lines.append(
            f"  - {plural(who.pending, 'pending participant')} will be rejected "
            f"({_agree(who.pending, 'it has', 'they have')} no Job yet)."
        )
    lines.append("  - No one new can enter it.")
    lines.append(_reason_line(reason))
    lines.append("  - " + NO_RESUME.format(what="stopped"))
    return "\n".join(lines)


def gitops_note(journey: JourneyView, tool: str, ending: str) -> str:
    """The dialog's warning when a GitOps tool applies the journey from git."""
    state = "closed" if ending == "close" else "stopped"
    return (
        f"  - {journey.name} is applied from git by {tool}: this change makes the cluster differ "
        f"from git, and a sync that sets spec.state back is refused (no journey resumes). To do "
        f"it in git instead, set spec.state: {state} in its manifest and let {tool} apply it."
    )


def _reason_line(reason: str) -> str:
    if reason:
        return f"  - Reason recorded: {reason}"
    return "  - No reason given (--reason TEXT records why, for everyone to see)."


def new_version_dialog(new: NewJourney, superseded: Sequence[tuple[JourneyView, Inside]]) -> str:
    """What publishing a version does, including closing the one it replaces (supersession)."""
    spec = new.manifest["spec"]
    lines = [
        f"Create journey {new.name} (version {new.version} of family {spec['family']}), "
        f"copied from {new.source}?"
    ]
    lines.extend(f"  - {change}" for change in new.changes)
    if not new.live:
        lines.append(f"  - It is created {spec.get('state')}: it closes no other version.")
    else:
        lines.append(f"  - {new.name} is live and accepts entries as soon as it is created.")
        for old, who in superseded:
            lines.append(
                f"  - {old.name} will be closed to new entries (superseded by {new.name}); "
                f"{finish_there(who)}. It cannot be reopened."
            )
        if not superseded:
            lines.append("  - No older version is live: no other version is closed.")
    return "\n".join(lines)


def finish_there(who: Inside) -> str:
    """What happens to those inside a version that a newer one closes."""
    if not who.total:
        return "nobody is inside, so it finishes at once"
    verb, pronoun = _agree(who.total, "finishes", "finish"), _agree(who.total, "its", "their")
    return f"{_inside_text(who)} {verb} {pronoun} path there"


def _inside_text(who: Inside) -> str:
    text = plural(who.total, "participant") + " inside"
    if who.pending:
        text += f" ({who.pending} still pending)"
    return text


def _agree(count: int, singular: str, plural_form: str) -> str:
    return singular if count == 1 else plural_form


# --------------------------------------------------------------------------------------------
# Tables and status
# --------------------------------------------------------------------------------------------


def table(headers: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    """kubectl's plain table: upper-case headers, columns padded, three spaces apart."""
    materialized = [list(headers), *[list(row) for row in rows]]
    widths = [max(len(row[i]) for row in materialized) for i in range(len(headers))]
    return "\n".join(
        "   ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in materialized
    )


_MINUTE, _HOUR, _DAY = 60, 3600, 86400
_YEAR = 365 * _DAY
#: kubectl's age steps: below ``limit`` seconds, print whole ``unit``s and, if given, the rest
#: in ``rest`` units ("5m30s", "3h12m", "4d"): precise when young, coarse when old.
_AGE_STEPS: Final[tuple[tuple[float, tuple[str, int], tuple[str, int] | None], ...]] = (
    (2 * _MINUTE, ("s", 1), None),
    (10 * _MINUTE, ("m", _MINUTE), ("s", 1)),
    (3 * _HOUR, ("m", _MINUTE), None),
    (8 * _HOUR, ("h", _HOUR), ("m", _MINUTE)),
    (48 * _HOUR, ("h", _HOUR), None),
    (8 * _DAY, ("d", _DAY), ("h", _HOUR)),
    (730 * _DAY, ("d", _DAY), None),
    (8 * _YEAR, ("y", _YEAR), ("d", _DAY)),
    (float("inf"), ("y", _YEAR), None),
)


def human_age(delta: timedelta) -> str:
    """Ages the way kubectl prints them: precise when young, coarse when old (5m, 3h12m, 4d)."""
    seconds = max(int(delta.total_seconds()), 0)
    _, (unit, size), rest = next(step for step in _AGE_STEPS if seconds < step[0])
    text = f"{seconds // size}{unit}"
    if rest is not None and (extra := seconds % size // rest[1]):
        text += f"{extra}{rest[0]}"
    return text


def age(timestamp: str | datetime | None, now: datetime) -> str:
    when = parse_timestamp(timestamp) if not isinstance(timestamp, datetime) else timestamp
    return human_age(now - when) if when else "<unknown>"


def journeys_table(
    views: Sequence[JourneyView], all_namespaces: bool, now: datetime, wide: bool = False
) -> str:
    """``list``; ``wide`` adds who ended each journey, why, and what superseded it."""
    headers = ["NAME", "FAMILY", "VERSION", "STATE", "PHASE", "ACTIVE", "COMPLETED"]
    headers += ["FAILED", "HALTED", "REJECTED", "AGE"]
    if wide:
        headers += ["ENDED-BY", "REASON", "SUPERSEDED-BY"]
    if all_namespaces:
        headers.insert(0, "NAMESPACE")
    ordered = sorted(views, key=lambda v: (v.namespace, v.family, v.version, v.name))
    rows = []
    for view in ordered:
        row = [view.name, view.family, str(view.version), view.state, view.phase or "-"]
        row += [str(view.counts[k]) for k in ("active", "completed", "failed", "halted")]
        row += [str(view.counts["rejected"]), age(view.created, now)]
        if wide:
            row += [
                view.stopped_by or view.closed_by or "-",
                view.stop_reason or view.close_reason or "-",
                view.superseded_by or "-",
            ]
        rows.append([view.namespace, *row] if all_namespaces else row)
    return table(headers, rows)


def counts_text(counts: Mapping[str, int]) -> str:
    return (
        f"{counts.get('active', 0)} inside, {counts.get('completed', 0)} completed, "
        f"{counts.get('failed', 0)} failed, {counts.get('halted', 0)} halted, "
        f"{counts.get('rejected', 0)} rejected"
    )


def progress_line(view: JourneyView) -> str:
    """One line per change while ``--wait`` follows a drain or a halt."""
    return f"{view.name}: {view.phase or 'Pending'}: {counts_text(view.counts)}"


def status_text(
    view: JourneyView,
    members: Sequence[JourneyView],
    events: Sequence[Mapping[str, Any]],
    now: datetime,
) -> str:
    """``kubectl journey status``: where the journey is, who put it there, when and why."""
    ready = next((c for c in view.conditions if c.get("type") == "Ready"), None)
    phase = view.phase or "(not yet seen by the operator)"
    if ready and ready.get("reason") and view.phase:
        phase += f" ({ready['reason']})"
    lines = [
        f"Name:          {view.name}",
        f"Namespace:     {view.namespace}",
        f"Family:        {view.family}, version {view.version}",
        f"State:         {view.state} (spec.state)",
        f"Phase:         {phase}",
        f"Participants:  {counts_text(view.counts)}",
    ]
    lines.extend(_audit_lines(view))
    settings = [f"halt policy {view.halt_policy}", f"drain timeout {view.drain_timeout}"]
    if view.max_participants:
        settings.append(f"capacity {view.max_participants}")
    if view.end_at:
        settings.append(f"ends at {format_timestamp(view.end_at)}")
    lines.append(f"Settings:      {', '.join(settings)}")
    if members:
        listed = ", ".join(
            f"{m.name} ({m.effective_phase or '-'}){' <- this one' if m.name == view.name else ''}"
            for m in members
        )
        lines.append(f"Versions:      {listed}")
    lines.append("Conditions:")
    if view.conditions:
        rows = [
            [
                str(c.get("type", "")),
                str(c.get("status", "")),
                str(c.get("reason", "")),
                age(c.get("lastTransitionTime"), now),
                str(c.get("message", "")),
            ]
            for c in view.conditions
        ]
        lines.extend(_indent(table(["TYPE", "STATUS", "REASON", "AGE", "MESSAGE"], rows)))
    else:
        lines.append("  <none>")
    lines.append("Events:")
    recent = sorted(events, key=lambda e: parse_timestamp(event_time(e)) or _EPOCH)[-RECENT_EVENTS:]
    if recent:
        rows = [
            [
                str(e.get("type", "")),
                str(e.get("reason", "")),
                age(event_time(e), now),
                str((e.get("source") or {}).get("component") or e.get("reportingComponent") or ""),
                str(e.get("message", "")),
            ]
            for e in recent
        ]
        lines.extend(_indent(table(["TYPE", "REASON", "AGE", "FROM", "MESSAGE"], rows)))
    else:
        lines.append("  <none>")
    return "\n".join(lines)


def _audit_lines(view: JourneyView) -> list[str]:
    lines = []
    if view.closed_at:
        lines.append(_ended("Closed:       ", view.closed_at, view.closed_by, view.close_reason))
    if view.superseded_by:
        lines.append(f"Superseded by: {view.superseded_by}")
    if view.stopped_at:
        lines.append(_ended("Stopped:      ", view.stopped_at, view.stopped_by, view.stop_reason))
    if view.finished_at:
        lines.append(f"Finished:      {format_timestamp(view.finished_at)}")
    return lines


def _ended(label: str, when: datetime, who: str, why: str) -> str:
    """The audit line of a close or a stop: when, by whom, and why."""
    by = f" by {who}" if who else ""
    reason = f", reason: {why}" if why else ""
    return f"{label} {format_timestamp(when)}{by}{reason}"


def _indent(text: str) -> list[str]:
    return ["  " + line for line in text.splitlines()]
