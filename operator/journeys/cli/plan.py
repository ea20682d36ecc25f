"""What the plugin decides, as pure functions over plain dicts (the objects the API returns).

Nothing here talks to the cluster, so every rule the plugin adds on top of the API (how a new
version is derived from the latest, how a participant is named, what ``--attr`` and ``--for``
accept) is unit-tested without one. The server stays the authority: these functions prepare a
request and explain it; they never replace the API server's or the webhook's checks.
"""

from __future__ import annotations

import copy
import hashlib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final, Literal

from journeys.api.durations import parse_duration
from journeys.api.models import (
    API_VERSION,
    ATTRIBUTE_KEY_PATTERN,
    JOURNEY_KIND,
    MAX_ATTRIBUTE_KEY_LENGTH,
    MAX_ATTRIBUTE_VALUE_LENGTH,
    MAX_ATTRIBUTES,
    MAX_FAMILY_LENGTH,
    MAX_NAME_LENGTH,
    PARTICIPANT_KIND,
    JourneyPhase,
    JourneyState,
    default_family,
    is_valid_family,
)
from journeys.core.lifecycle import phase_can_follow


class PlanError(ValueError):
    """A request the plugin refuses before asking the server; the message says what to do."""


# --------------------------------------------------------------------------------------------
# Reading journeys
# --------------------------------------------------------------------------------------------

_PHASE_OF_STATE: Final = {
    JourneyState.LIVE.value: JourneyPhase.LIVE.value,
    JourneyState.CLOSED.value: JourneyPhase.CLOSED.value,
    JourneyState.STOPPED.value: JourneyPhase.STOPPED.value,
}
FINAL_PHASES: Final = frozenset({JourneyPhase.FINISHED.value, JourneyPhase.STOPPED.value})
COUNT_KEYS: Final = ("active", "completed", "failed", "halted", "rejected")


@dataclass(frozen=True)
class JourneyView:
    """The fields of a Journey object the plugin shows and reasons about.

    ``phase`` is ``status.phase`` as the operator wrote it ("" before it has seen the journey);
    :attr:`effective_phase` falls back to what ``spec.state`` implies, which is what a person
    means by "the journey is live" while the operator has not caught up.
    """

    name: str
    namespace: str
    family: str
    version: int
    state: str
    phase: str
    counts: Mapping[str, int]
    created: str = ""
    superseded_by: str = ""

    @classmethod
    def of(cls, obj: Mapping[str, Any]) -> JourneyView:
        metadata = obj.get("metadata") or {}
        spec = obj.get("spec") or {}
        status = obj.get("status") or {}
        name = str(metadata.get("name") or "")
        version = spec.get("version")
        counts = status.get("participants") or {}
        return cls(
            name=name,
            namespace=str(metadata.get("namespace") or ""),
            family=str(spec.get("family") or default_family(name)),
            version=version if isinstance(version, int) else 0,
            state=str(spec.get("state") or JourneyState.LIVE.value),
            phase=str(status.get("phase") or ""),
            counts={key: int(counts.get(key) or 0) for key in COUNT_KEYS},
            created=str(metadata.get("creationTimestamp") or ""),
            superseded_by=str(status.get("supersededBy") or ""),
        )

    @property
    def effective_phase(self) -> str:
        return self.phase or _PHASE_OF_STATE.get(self.state, "")

    @property
    def accepts_entries(self) -> bool:
        """Live by its spec and by the operator's view (a superseded one keeps state live)."""
        return self.state == JourneyState.LIVE.value and self.effective_phase == "Live"


def family_members(journeys: Iterable[Mapping[str, Any]], family: str) -> list[JourneyView]:
    """The versions of ``family``, oldest first."""
    views = [JourneyView.of(obj) for obj in journeys]
    return sorted((v for v in views if v.family == family), key=lambda v: (v.version, v.name))


def resolve_latest(
    journeys: Sequence[Mapping[str, Any]], target: str, namespace: str
) -> tuple[str, list[JourneyView], Mapping[str, Any]]:
    """The family named by ``target`` (a family, or the name of one of its versions), its
    versions, and the object of its latest version, from which a new version is copied.

    Naming a version that is not the latest is refused: a new version can only be made from the
    latest one, otherwise the changes made in between would silently be lost.
    """
    by_name = {str((obj.get("metadata") or {}).get("name")): obj for obj in journeys}
    named = by_name.get(target)
    family = JourneyView.of(named).family if named is not None else target
    members = family_members(journeys, family)
    if not members:
        raise PlanError(
            f"no journey of family {target} in namespace {namespace} "
            f"(kubectl journey list -n {namespace})"
        )
    latest = max(members, key=lambda v: v.version)
    if named is not None and JourneyView.of(named).name != latest.name:
        raise PlanError(
            f"{target} is version {JourneyView.of(named).version} of family {family}, but the "
            f"latest version is {latest.name} (version {latest.version}): a new version can only "
            f"be made from the latest one (kubectl journey new-version {family})"
        )
    return family, members, by_name[latest.name]


def superseded_by_new(members: Iterable[JourneyView], new_version: int) -> list[JourneyView]:
    """The versions a new live version closes: older ones still accepting entries."""
    return [m for m in members if m.version < new_version and m.accepts_entries]


# --------------------------------------------------------------------------------------------
# New versions and duplicates
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class NewJourney:
    """A Journey to create, where it came from, and what was changed on the way (for people)."""

    manifest: dict[str, Any]
    source: str
    changes: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        return str(self.manifest["metadata"]["name"])

    @property
    def version(self) -> int:
        return int(self.manifest["spec"]["version"])

    @property
    def live(self) -> bool:
        return bool(self.manifest["spec"].get("state", "live") == JourneyState.LIVE.value)


@dataclass(frozen=True)
class Edit:
    """How the copy differs from its source: container images, and a merge patch of the Journey.

    ``images`` maps a container name to its new image; the key ``None`` means "the only
    container" (``--image IMG``), a name comes from ``--image NAME=IMG``.
    """

    images: Mapping[str | None, str] = field(default_factory=dict)
    patch: Mapping[str, Any] | None = None


def new_version(
    latest: Mapping[str, Any], family: str, edit: Edit, now: datetime, namespace: str = ""
) -> NewJourney:
    """``<family>-v<N+1>`` copied from the latest version N of ``family``, then edited."""
    version = JourneyView.of(latest).version + 1
    return _copy(latest, family, version, edit, now, namespace)


def duplicate(
    source: Mapping[str, Any], family: str, edit: Edit, now: datetime, namespace: str = ""
) -> NewJourney:
    """Version 1 of a new family, ``<family>-v1``, copied from any version of any family."""
    if not is_valid_family(family):
        raise PlanError(
            f"{family!r} is not a valid family: a DNS label (lower-case letters, digits and '-', "
            f"starting and ending with a letter or digit) of at most {MAX_FAMILY_LENGTH} "
            "characters"
        )
    return _copy(source, family, 1, edit, now, namespace)


def _copy(
    source: Mapping[str, Any],
    family: str,
    version: int,
    edit: Edit,
    now: datetime,
    namespace: str,
) -> NewJourney:
    """A fresh Journey: the source's spec with a new family/version, live, and no history.

    Metadata starts empty on purpose: labels and annotations of the source belong to it (audit
    records, kubectl's last-applied configuration, a GitOps tool's tracking label that would
    make the tool prune the copy); ``-f`` adds what the new version should carry.
    """
    source_name = str((source.get("metadata") or {}).get("name") or "")
    spec = copy.deepcopy(dict(source.get("spec") or {}))
    changes: list[str] = []
    spec["family"] = family
    spec["version"] = version
    spec["state"] = JourneyState.LIVE.value
    spec.pop("stopReason", None)
    end_at = spec.get("endAt")
    if isinstance(end_at, str) and end_at and _parse_time(end_at) <= now:
        del spec["endAt"]
        changes.append(
            f"spec.endAt {end_at} of {source_name} has passed and is left out (the copy would "
            "stop at once); set a new one with -f"
        )
    name = f"{family}-v{version}"
    metadata: dict[str, Any] = {"name": name}
    if namespace:
        metadata["namespace"] = namespace
    manifest: dict[str, Any] = {
        "apiVersion": API_VERSION,
        "kind": JOURNEY_KIND,
        "metadata": metadata,
        "spec": spec,
    }
    if edit.images:
        changes.extend(set_images(spec.get("template") or {}, edit.images))
    if edit.patch is not None:
        manifest = apply_journey_patch(manifest, edit.patch)
        changes.append("applied the patch given with -f")
    return NewJourney(manifest=manifest, source=source_name, changes=tuple(changes))


_PATCHABLE: Final = frozenset({"apiVersion", "kind", "metadata", "spec"})


def apply_journey_patch(manifest: Mapping[str, Any], patch: Mapping[str, Any]) -> dict[str, Any]:
    """Apply a JSON merge patch (RFC 7386) of the Journey, keeping name, family and version.

    Those three are what makes the copy the next version (or the first of a new family); a patch
    that changes them asks for something else, which is refused with the command that does it.
    """
    if not isinstance(patch, Mapping):
        raise PlanError("the patch must be a mapping: a merge patch of the Journey (spec: ...)")
    unknown = sorted(set(patch) - _PATCHABLE)
    if unknown:
        raise PlanError(
            f"the patch is a merge patch of the whole Journey, {', '.join(unknown)} is not one of "
            "its top-level fields: put spec fields under spec: (e.g. spec: {halt: {policy: "
            "Delete}})"
        )
    patched = merge_patch(manifest, {k: v for k, v in patch.items() if k in {"metadata", "spec"}})
    assert isinstance(patched, dict)
    for path, old, new in (
        ("metadata.name", manifest["metadata"]["name"], patched["metadata"].get("name")),
        ("spec.family", manifest["spec"]["family"], patched["spec"].get("family")),
        ("spec.version", manifest["spec"]["version"], patched["spec"].get("version")),
    ):
        if new != old:
            raise PlanError(
                f"the patch changes {path} to {new!r}, but the copy must be {old!r}: for the next "
                "version use kubectl journey new-version, for a new family kubectl journey "
                "duplicate --family"
            )
    patched["metadata"].pop("namespace", None)
    if manifest["metadata"].get("namespace"):
        patched["metadata"]["namespace"] = manifest["metadata"]["namespace"]
    return patched


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386: mappings merge key by key, ``null`` removes a key, anything else replaces."""
    if not isinstance(patch, Mapping):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, Mapping) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def parse_images(values: Sequence[str]) -> dict[str | None, str]:
    """``--image IMG`` (the only container) or ``--image NAME=IMG`` (repeatable)."""
    images: dict[str | None, str] = {}
    for value in values:
        container, sep, image = value.rpartition("=")
        key = container if sep else None
        if not image or (sep and not container):
            raise PlanError(f"--image {value!r}: write IMAGE, or CONTAINER=IMAGE")
        if key in images:
            raise PlanError(f"--image is given twice for {key or 'the container'}")
        images[key] = image
    if None in images and len(images) > 1:
        raise PlanError("--image IMAGE (no container name) cannot be combined with CONTAINER=IMAGE")
    return images


def set_images(template: dict[str, Any], images: Mapping[str | None, str]) -> list[str]:
    """Set images in a JobTemplateSpec in place; returns one line per change for the dialog."""
    pod = ((template.get("spec") or {}).get("template") or {}).get("spec") or {}
    containers = [c for c in pod.get("containers") or [] if isinstance(c, dict)]
    init = [c for c in pod.get("initContainers") or [] if isinstance(c, dict)]
    if None in images:
        if len(containers) != 1:
            names = ", ".join(str(c.get("name")) for c in containers) or "none"
            raise PlanError(
                f"--image IMAGE needs exactly one container in spec.template, it has {names}: "
                "write --image CONTAINER=IMAGE"
            )
        images = {containers[0].get("name"): images[None]}
    changes = []
    by_name = {c.get("name"): c for c in [*init, *containers]}
    for name, image in images.items():
        found = by_name.get(name)
        if found is None:
            known = ", ".join(str(n) for n in by_name) or "none"
            raise PlanError(f"--image: no container named {name} in spec.template (has {known})")
        changes.append(f"image of container {name}: {found.get('image', '(none)')} -> {image}")
        found["image"] = image
    return changes


def _parse_time(text: str) -> datetime:
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as error:
        raise PlanError(f"spec.endAt {text!r} is not an RFC 3339 time") from error


# --------------------------------------------------------------------------------------------
# Entering
# --------------------------------------------------------------------------------------------

_NOT_IN_NAME = re.compile(r"[^a-z0-9-]+")
_ATTRIBUTE_KEY = re.compile(ATTRIBUTE_KEY_PATTERN)


def participant_name(journey: str, profile: str) -> str:
    """``<journey>-<profile>``, made a DNS label of at most 63 characters, deterministically.

    The same journey and profile always give the same name, so entering twice is refused by
    the API server (AlreadyExists) instead of creating a second participant. When the profile is
    not usable as is (upper case, '@', too long), a short hash of the original keeps two
    profiles that sanitize alike (``Alice`` and ``alice``) apart.
    """
    slug = _NOT_IN_NAME.sub("-", profile.lower()).strip("-")
    base = f"{journey}-{slug}" if slug else journey
    if slug == profile and len(base) <= MAX_NAME_LENGTH:
        return base
    digest = hashlib.sha256(f"{journey}\0{profile}".encode()).hexdigest()[:8]
    room = MAX_NAME_LENGTH - len(digest) - 1
    return f"{base[:room].rstrip('-.')}-{digest}"


def parse_attributes(values: Sequence[str]) -> dict[str, str]:
    """``--attr KEY=VALUE`` (repeatable) as the participant's attributes, checked like the API."""
    attributes: dict[str, str] = {}
    for value in values:
        key, sep, text = value.partition("=")
        if not sep:
            raise PlanError(f"--attr {value!r}: write KEY=VALUE (e.g. --attr PLAN=gold)")
        if len(key) > MAX_ATTRIBUTE_KEY_LENGTH or _ATTRIBUTE_KEY.fullmatch(key) is None:
            raise PlanError(
                f"--attr {value!r}: {key!r} is not an environment variable name (letters, digits "
                f"and '_', not starting with a digit, at most {MAX_ATTRIBUTE_KEY_LENGTH} "
                "characters)"
            )
        if key in attributes:
            raise PlanError(f"--attr {key} is given twice")
        if len(text) > MAX_ATTRIBUTE_VALUE_LENGTH:
            raise PlanError(
                f"--attr {key}: the value is longer than {MAX_ATTRIBUTE_VALUE_LENGTH} characters"
            )
        attributes[key] = text
    if len(attributes) > MAX_ATTRIBUTES:
        raise PlanError(f"at most {MAX_ATTRIBUTES} --attr are allowed, got {len(attributes)}")
    return attributes


def participant_manifest(
    journey: str, profile: str, attributes: Mapping[str, str], namespace: str = ""
) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": participant_name(journey, profile)}
    if namespace:
        metadata["namespace"] = namespace
    return {
        "apiVersion": API_VERSION,
        "kind": PARTICIPANT_KIND,
        "metadata": metadata,
        "spec": {"journey": journey, "profile": profile, "attributes": dict(attributes)},
    }


# --------------------------------------------------------------------------------------------
# Who is inside
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Inside:
    """Participants of one journey that close or stop affects: Active, and Pending ones (no
    status yet counts as Pending: the operator has not seen them)."""

    active: int = 0
    pending: int = 0

    @property
    def total(self) -> int:
        return self.active + self.pending


def inside(participants: Iterable[Mapping[str, Any]], journey: str) -> Inside:
    active = pending = 0
    for obj in participants:
        if (obj.get("spec") or {}).get("journey") != journey:
            continue
        phase = (obj.get("status") or {}).get("phase") or "Pending"
        if phase == "Active":
            active += 1
        elif phase == "Pending":
            pending += 1
    return Inside(active=active, pending=pending)


# --------------------------------------------------------------------------------------------
# Waiting
# --------------------------------------------------------------------------------------------


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
        raise PlanError(f"--for={text}: unknown phase {rest!r} (one of {phases})")
    if kind == "condition" and rest:
        name, sep, status = rest.partition("=")
        status = status if sep else "True"
        if status.lower() not in {"true", "false", "unknown"}:
            raise PlanError(f"--for={text}: a condition's status is True, False or Unknown")
        return WaitFor("condition", name, status.capitalize())
    raise PlanError(
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
        raise PlanError(f"{option}: {error}") from error
