"""Ending a journey, the one implementation behind every front end: preview, then the change.

A preview sends the change with ``dryRun=All``: the API server runs its CEL rules and the
admission webhooks without storing anything, so a refused change is reported with the server's
message *before* anyone is asked to confirm it, and the numbers a dialog shows (who is inside)
come with it. The change itself is the same merge patch without the dry run.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from journeys.actions.errors import Forbidden
from journeys.actions.journeys import (
    STATE_OF_ENDING,
    Ending,
    Inside,
    JourneyView,
    gitops_manager,
    inside,
)
from journeys.actions.kube import KubeClient
from journeys.actions.permissions import ending_refusal, may_end
from journeys.api import JourneyPhase


@dataclass(frozen=True)
class EndPreview:
    """What ending ``journey`` would do, as the server answered a dry run of it.

    ``unchanged``: the journey already asks for that state, there is nothing to do (no request
    was sent). ``result`` is the object the dry run returned (the journey itself when unchanged).
    """

    ending: Ending
    journey: JourneyView
    inside: Inside
    reason: str
    unchanged: bool
    warnings: tuple[str, ...]
    result: Mapping[str, Any]
    #: The GitOps tool applying this journey from git, if any (see :func:`gitops_manager`).
    managed_by: str = ""


def end_patch(ending: Ending, reason: str = "") -> dict[str, Any]:
    """The merge patch of the journey's spec that asks for ``ending`` (and records why)."""
    spec: dict[str, Any] = {"state": STATE_OF_ENDING[ending].value}
    if reason:
        spec["stopReason" if ending == "stop" else "closeReason"] = reason
    return {"spec": spec}


def preview_end(client: KubeClient, name: str, ending: Ending, reason: str = "") -> EndPreview:
    """Dry-run ``ending`` of journey ``name``; a refusal raises the server's message.

    Whether the person holds the ending's own verb (``close`` or ``stop``) is asked first, so
    the answer is "you may not stop this journey", not a refused request after the dialog.
    """
    obj = client.get_journey(name)
    view = JourneyView.of(obj)
    if view.state == STATE_OF_ENDING[ending]:
        return EndPreview(ending, view, Inside(), reason, True, (), obj)
    if not may_end(client, ending, view.name):
        raise Forbidden(ending_refusal(ending, view.name, client.namespace))
    who = inside(client.list_participants(), view.name)
    result = client.patch_journey(view.name, end_patch(ending, reason), dry_run=True)
    warnings = tuple(client.warnings)
    return EndPreview(ending, view, who, reason, False, warnings, result, gitops_manager(obj))


def end_journey(client: KubeClient, name: str, ending: Ending, reason: str = "") -> dict[str, Any]:
    """Ask for ``ending`` of journey ``name`` for real; returns the journey as stored."""
    return client.patch_journey(name, end_patch(ending, reason), dry_run=False)


def ending_done(ending: Ending, obj: Mapping[str, Any], generation: int = 0) -> bool:
    """Whether what ``ending`` set in motion is over, as ``--wait`` and live pages tell it.

    A close is done when the journey is Finished (or Stopped after all); a stop when the
    operator has seen it (``observedGeneration`` at least the stopping patch's ``generation``),
    the journey is Stopped and nobody is active any more.
    """
    view = JourneyView.of(obj)
    if ending == "close":
        return view.is_final
    observed = int((obj.get("status") or {}).get("observedGeneration") or 0)
    return (
        view.phase == JourneyPhase.STOPPED and observed >= generation and not view.counts["active"]
    )
