"""Entering a journey: a Participant named after the journey and the profile, created once.

The same journey and profile always give the same participant name, so entering twice is refused
by the API server (AlreadyExists); the attributes are checked as the API checks them, so a typo
is refused with what to write instead before any request.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from typing import Any

from journeys.actions.errors import ActionError
from journeys.actions.kube import KubeClient
from journeys.api import (
    API_VERSION,
    ATTRIBUTE_KEY_PATTERN,
    MAX_ATTRIBUTE_KEY_LENGTH,
    MAX_ATTRIBUTE_VALUE_LENGTH,
    MAX_ATTRIBUTES,
    MAX_NAME_LENGTH,
    PARTICIPANT_KIND,
    PARTICIPANT_PLURAL,
)

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
            raise ActionError(f"--attr {value!r}: write KEY=VALUE (e.g. --attr PLAN=gold)")
        if len(key) > MAX_ATTRIBUTE_KEY_LENGTH or _ATTRIBUTE_KEY.fullmatch(key) is None:
            raise ActionError(
                f"--attr {value!r}: {key!r} is not an environment variable name (letters, digits "
                f"and '_', not starting with a digit, at most {MAX_ATTRIBUTE_KEY_LENGTH} "
                "characters)"
            )
        if key in attributes:
            raise ActionError(f"--attr {key} is given twice")
        if len(text) > MAX_ATTRIBUTE_VALUE_LENGTH:
            raise ActionError(
                f"--attr {key}: the value is longer than {MAX_ATTRIBUTE_VALUE_LENGTH} characters"
            )
        attributes[key] = text
    if len(attributes) > MAX_ATTRIBUTES:
        raise ActionError(f"at most {MAX_ATTRIBUTES} --attr are allowed, got {len(attributes)}")
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


def enter(
    client: KubeClient,
    journey: str,
    profile: str,
    attributes: Mapping[str, str],
    dry_run: bool = False,
) -> dict[str, Any]:
    """Create the participant of ``profile`` in ``journey``; returns it as the server stored it.

    A missing journey is named plainly (whether or not the webhook is installed), and a second
    entry of the same profile names the participant that already holds it.
    """
    manifest = participant_manifest(journey, profile, attributes, client.namespace)
    name = manifest["metadata"]["name"]
    client.get_journey(journey)
    try:
        return client.create(PARTICIPANT_PLURAL, manifest, dry_run=dry_run)
    except ActionError as error:
        if "(AlreadyExists)" in str(error):
            raise ActionError(
                f"{error}: profile {profile} has already entered journey {journey} as "
                f"participant {name} (kubectl get participant {name} -n {client.namespace})"
            ) from error
        raise
