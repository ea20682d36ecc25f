"""What the mutating webhook changes: defaults that need the name, and the audit record.

Pure, like :mod:`journeys.core.admission` (the validating decisions). A mutation is returned as a
merge patch (``None`` removes a key), which the webhook shell hands to Kopf (Kopf turns it into
the JSON patch of the admission response).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

from journeys.api import (
    ANNOTATION_CLOSED_AT,
    ANNOTATION_CLOSED_BY,
    ANNOTATION_STOPPED_AT,
    ANNOTATION_STOPPED_BY,
    JOURNEY_KIND,
    LABEL_FAMILY,
    LABEL_JOURNEY,
    LABEL_VERSION,
    JourneyState,
    ObjectMeta,
    family_of,
    format_timestamp,
    is_legal_state_transition,
    spec_state,
)
from journeys.core.jobs import journey_owner_reference

#: The audit annotations the mutating webhook owns: who closed or stopped a journey, and when.
AUDIT_ANNOTATIONS: Final = (
    ANNOTATION_CLOSED_BY,
    ANNOTATION_CLOSED_AT,
    ANNOTATION_STOPPED_BY,
    ANNOTATION_STOPPED_AT,
)


@dataclass(frozen=True)
class Mutation:
    """What the mutating webhook changes (a merge patch) and tells (warnings)."""

    patch: dict[str, Any] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()


def journey_mutation(
    operation: str,
    name: str,
    spec: Mapping[str, Any],
    metadata: Mapping[str, Any],
    old_spec: Mapping[str, Any] | None,
    old_metadata: Mapping[str, Any] | None,
    username: str,
    now: datetime,
) -> Mutation:
    """Defaults that need the name, and the audit record of who closed or stopped, and when.

    - ``spec.family`` defaults to the name without ``-v<N>`` (the same function as the CRD's
      CEL), and the ``journeys.dev/family`` / ``journeys.dev/version`` labels mirror the
      immutable family and version so that ``kubectl get jny -l journeys.dev/family=...`` works.
    - The audit annotations are written only here: set when ``spec.state`` changes (or a
      journey is created closed or stopped), kept as they were otherwise. A request that tries
      to write, change or remove them gets them back as recorded, with a warning.
    """
    patch: dict[str, Any] = {}
    warnings: list[str] = []

    family = family_of(name, spec)
    if family is not None and not spec.get("family"):
        patch.setdefault("spec", {})["family"] = family

    labels = dict(metadata.get("labels") or {})
    wanted_labels: dict[str, str] = {}
    if family is not None:
        wanted_labels[LABEL_FAMILY] = family
    if isinstance(spec.get("version"), int):
        wanted_labels[LABEL_VERSION] = str(spec["version"])
    label_patch = {k: v for k, v in wanted_labels.items() if labels.get(k) != v}

    annotations = dict(metadata.get("annotations") or {})
    recorded = _recorded_audit(old_metadata) if operation == "UPDATE" else {}
    old_state = spec_state(old_spec) if operation == "UPDATE" and old_spec is not None else None
    # What was recorded once is never rewritten.
    wanted_audit = {**_audit_for(old_state, spec_state(spec), username, now), **recorded}
    annotation_patch: dict[str, str | None] = {}
    for key in AUDIT_ANNOTATIONS:
        wanted = wanted_audit.get(key)
        if annotations.get(key) != wanted:
            annotation_patch[key] = wanted
    tampered = sorted(k for k in annotation_patch if k in annotations or k in recorded)
    if tampered:
        warnings.append(
            f"{', '.join(tampered)} {'is' if len(tampered) == 1 else 'are'} the audit record, "
            "written only by the journeys admission webhook: kept as recorded"
        )

    if label_patch or annotation_patch:
        meta: dict[str, Any] = patch.setdefault("metadata", {})
        if label_patch:
            meta["labels"] = label_patch
        if annotation_patch:
            meta["annotations"] = annotation_patch
    return Mutation(patch=patch, warnings=tuple(warnings))


def participant_mutation(
    spec: Mapping[str, Any], metadata: Mapping[str, Any], journey: ObjectMeta | None
) -> Mutation:
    """The ``journeys.dev/journey`` label, so that a journey's participants can be selected,
    and, when the journey exists, the owner reference to it.

    Setting the reference in the creation itself saves the operator a metadata write per
    entry (a third of its writes when admitting; benchmarks.md). Owner references given in the
    request are kept; the operator adds the journey's own when it is missing.
    """
    patch: dict[str, Any] = {}
    journey_name = spec.get("journey")
    labels = metadata.get("labels") or {}
    if isinstance(journey_name, str) and journey_name and labels.get(LABEL_JOURNEY) != journey_name:
        patch["labels"] = {LABEL_JOURNEY: journey_name}
    owners = list(metadata.get("ownerReferences") or [])
    if (
        journey is not None
        and journey.uid
        and journey.name == journey_name
        and not any(isinstance(o, Mapping) and o.get("kind") == JOURNEY_KIND for o in owners)
    ):
        patch["ownerReferences"] = [*owners, journey_owner_reference(journey)]
    return Mutation(patch={"metadata": patch} if patch else {})


def _audit_for(
    old: JourneyState | None, new: JourneyState, username: str, now: datetime
) -> dict[str, str]:
    """The annotations a change of ``spec.state`` from ``old`` (None: creation) records."""
    if old == new or (old is not None and not is_legal_state_transition(old, new)):
        return {}
    who = username or "system:anonymous"
    when = format_timestamp(now)
    if new == JourneyState.CLOSED:
        return {ANNOTATION_CLOSED_BY: who, ANNOTATION_CLOSED_AT: when}
    if new == JourneyState.STOPPED:
        return {ANNOTATION_STOPPED_BY: who, ANNOTATION_STOPPED_AT: when}
    return {}


def _recorded_audit(metadata: Mapping[str, Any] | None) -> dict[str, str]:
    annotations = (metadata or {}).get("annotations") or {}
    return {k: str(annotations[k]) for k in AUDIT_ANNOTATIONS if annotations.get(k)}
