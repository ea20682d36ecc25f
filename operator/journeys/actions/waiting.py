"""Waiting for a journey: ``--for=phase=...`` / ``--for=condition=...`` and whether it is met.

Phases only move forward, so a wait that can never be met (Finished on a Stopped journey) says
so at once instead of running into its timeout.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from journeys.actions.errors import ActionError
from journeys.actions.journeys import JourneyView
from journeys.api import JourneyPhase, parse_duration
from journeys.core.lifecycle import phase_can_follow


@dataclass(frozen=True)
class WaitFor:
    """``--for=phase=Finished`` or ``--for=condition=Ready[=True]``."""

    kind: Literal["phase", "condition"]
    name: str
    status: str = "True"

    def __str__(self) -> str:
        if self.kind == "phase":
            return f"phase {self.name}"
        return f"condition {self.name}={self.status}"


def parse_wait_for(text: str) -> WaitFor:
    kind, _, rest = text.partition("=")
    if kind == "phase" and rest:
        for phase in JourneyPhase:
            if phase.value.lower() == rest.lower():
                return WaitFor("phase", phase.value)
        phases = ", ".join(p.value for p in JourneyPhase)
        raise ActionError(f"--for={text}: unknown phase {rest!r} (one of {phases})")
    if kind == "condition" and rest:
        name, sep, status = rest.partition("=")
        status = status if sep else "True"
        if status.lower() not in {"true", "false", "unknown"}:
            raise ActionError(f"--for={text}: a condition's status is True, False or Unknown")
        return WaitFor("condition", name, status.capitalize())
    raise ActionError(
        f"--for={text}: write --for=phase=PHASE (e.g. phase=Finished) or "
        "--for=condition=TYPE[=STATUS] (e.g. condition=Ready)"
    )


@dataclass(frozen=True)
class WaitOutcome:
    """``done``: the condition holds; ``impossible``: why it never will (stop waiting)."""

    done: bool = False
    impossible: str = ""


def wait_outcome(obj: Mapping[str, Any], want: WaitFor) -> WaitOutcome:
    """Whether ``obj`` satisfies ``want``, using the phase order to fail early: phases never
    move backwards, so waiting for Finished on a Stopped journey would only end in a timeout."""
    view = JourneyView.of(obj)
    if want.kind == "phase":
        if view.phase == want.name:
            return WaitOutcome(done=True)
        if view.phase and not phase_can_follow(JourneyPhase(view.phase), JourneyPhase(want.name)):
            return WaitOutcome(
                impossible=f"journey {view.name} is {view.phase}: it can never become "
                f"{want.name} (phases only move forward)"
            )
        return WaitOutcome()
    generation = (obj.get("metadata") or {}).get("generation")
    for found in (obj.get("status") or {}).get("conditions") or []:
        if str(found.get("type", "")).lower() != want.name.lower():
            continue
        observed = found.get("observedGeneration")
        current = observed is None or generation is None or observed >= generation
        return WaitOutcome(done=current and found.get("status") == want.status)
    return WaitOutcome()


def parse_timeout(text: str, option: str = "--timeout") -> float:
    """A Go duration (``30s``, ``5m``, ``1h30m``) in seconds, as kubectl's ``--timeout``."""
    try:
        return parse_duration(text).total_seconds()
    except ValueError as error:
        raise ActionError(f"{option}: {error}") from error
