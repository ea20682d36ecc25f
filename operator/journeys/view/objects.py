"""From the bodies Kopf hands over to the small immutable facts the view indexes."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from journeys.api import (
    JOURNEY_KIND,
    JourneyPhase,
    JourneyState,
    ParticipantPhase,
    effective_family,
    parse_enum,
)
from journeys.core.participants import JobFacts, JobOutcome
from journeys.view.state import FamilyMember, ParticipantView


def participant_view(namespace: str, name: str, body: Mapping[str, Any]) -> ParticipantView:
    spec = body.get("spec", {})
    status = body.get("status", {})
    owners = body.get("metadata", {}).get("ownerReferences") or []
    return ParticipantView(
        namespace=namespace,
        name=name,
        uid=body.get("metadata", {}).get("uid", ""),
        journey=spec.get("journey", ""),
        profile=spec.get("profile", ""),
        phase=parse_enum(ParticipantPhase, status.get("phase")) or ParticipantPhase.PENDING,
        reason=str(status.get("reason") or ""),
        attributes=dict(spec.get("attributes") or {}),
        owned=any(o.get("kind") == JOURNEY_KIND for o in owners),
    )


def family_member(name: str, spec: Mapping[str, Any], status: Mapping[str, Any]) -> FamilyMember:
    return FamilyMember(
        name=name,
        version=int(spec.get("version") or 1),
        state=parse_enum(JourneyState, spec.get("state")) or JourneyState.LIVE,
        phase=parse_enum(JourneyPhase, status.get("phase")),
    )


def family_key(namespace: str, name: str, spec: Mapping[str, Any]) -> tuple[str, str]:
    return (namespace, effective_family(name, spec.get("family")))


def journey_entry(body: Mapping[str, Any]) -> dict[str, Any]:
    """The journey's body as indexed: everything but ``managedFields`` (large, never read)."""
    metadata = {k: v for k, v in body.get("metadata", {}).items() if k != "managedFields"}
    return {**dict(body), "metadata": metadata}


def job_facts(spec: Mapping[str, Any], status: Mapping[str, Any]) -> JobFacts:
    """A Job's outcome from its final conditions (Complete or Failed)."""
    finished = {c.get("type") for c in status.get("conditions") or [] if c.get("status") == "True"}
    outcome = (
        JobOutcome.SUCCEEDED
        if "Complete" in finished
        else JobOutcome.FAILED
        if "Failed" in finished
        else JobOutcome.RUNNING
    )
    return JobFacts(outcome=outcome, suspended=bool(spec.get("suspend")))
