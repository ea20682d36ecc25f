"""New versions and duplicates: a new Journey copied from an existing one, then edited.

A new version can only be made from the latest one (``<family>-v<N+1>``); a duplicate starts a
new family (``<family>-v1``). The copy is planned without the cluster (what is copied, what an
edit changes, what it supersedes), then created through the client: first as a dry run, so the
server's verdict comes before any confirmation.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

from journeys.actions.errors import ActionError
from journeys.actions.journeys import (
    Inside,
    JourneyView,
    family_members,
    inside,
    resolve_latest,
    superseded_by_new,
)
from journeys.actions.kube import KubeClient
from journeys.api import (
    API_VERSION,
    JOURNEY_KIND,
    JOURNEY_PLURAL,
    MAX_FAMILY_LENGTH,
    JourneyState,
    is_valid_family,
)


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
        raise ActionError(
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
    view = JourneyView.of(source)
    source_name = view.name
    spec = copy.deepcopy(dict(source.get("spec") or {}))
    changes: list[str] = []
    spec["family"] = family
    spec["version"] = version
    spec["state"] = JourneyState.LIVE.value
    spec.pop("stopReason", None)
    if view.end_at is not None and view.end_at <= now:
        end_at = spec.pop("endAt")
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
        raise ActionError("the patch must be a mapping: a merge patch of the Journey (spec: ...)")
    unknown = sorted(set(patch) - _PATCHABLE)
    if unknown:
        raise ActionError(
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
            raise ActionError(
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
            raise ActionError(f"--image {value!r}: write IMAGE, or CONTAINER=IMAGE")
        if key in images:
            raise ActionError(f"--image is given twice for {key or 'the container'}")
        images[key] = image
    if None in images and len(images) > 1:
        raise ActionError(
            "--image IMAGE (no container name) cannot be combined with CONTAINER=IMAGE"
        )
    return images


def set_images(template: dict[str, Any], images: Mapping[str | None, str]) -> list[str]:
    """Set images in a JobTemplateSpec in place; returns one line per change for the dialog."""
    pod = ((template.get("spec") or {}).get("template") or {}).get("spec") or {}
    containers = [c for c in pod.get("containers") or [] if isinstance(c, dict)]
    init = [c for c in pod.get("initContainers") or [] if isinstance(c, dict)]
    if None in images:
        if len(containers) != 1:
            names = ", ".join(str(c.get("name")) for c in containers) or "none"
            raise ActionError(
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
            raise ActionError(f"--image: no container named {name} in spec.template (has {known})")
        changes.append(f"image of container {name}: {found.get('image', '(none)')} -> {image}")
        found["image"] = image
    return changes


@dataclass(frozen=True)
class VersionPlan:
    """A new version to create and the older live versions it will close (with who is inside)."""

    new: NewJourney
    closing: tuple[tuple[JourneyView, Inside], ...]


def plan_new_version(client: KubeClient, target: str, edit: Edit, now: datetime) -> VersionPlan:
    """``<family>-v<N+1>`` from the latest version of the family ``target`` names."""
    journeys = client.list_journeys()
    family, members, latest = resolve_latest(journeys, target, client.namespace)
    new = new_version(latest, family, edit, now, client.namespace)
    if not new.live:
        return VersionPlan(new, ())
    participants = client.list_participants()
    closing = tuple(
        (old, inside(participants, old.name)) for old in superseded_by_new(members, new.version)
    )
    return VersionPlan(new, closing)


def plan_duplicate(
    client: KubeClient, name: str, family: str, edit: Edit, now: datetime
) -> NewJourney:
    """``<family>-v1`` from journey ``name``; refused when the family exists already."""
    source = client.get_journey(name)
    existing = family_members(client.list_journeys(), family)
    if existing:
        names = ", ".join(m.name for m in existing)
        raise ActionError(
            f"family {family} already exists in namespace {client.namespace} ({names}): "
            f"to change it, create a new version (kubectl journey new-version {family})"
        )
    return duplicate(source, family, edit, now, client.namespace)


def create_journey(client: KubeClient, new: NewJourney, dry_run: bool) -> dict[str, Any]:
    """Create the planned journey (``dry_run``: every admission check, nothing stored)."""
    return client.create(JOURNEY_PLURAL, new.manifest, dry_run=dry_run)
