"""The naming convention of versions: a journey ``<family>-v<N>`` is version N of ``<family>``.

The CRD has the same derivation in CEL (:mod:`journeys.api.cel`), so the API server, the
webhook, the operator and the plugin derive the same family from a name.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from journeys.api.limits import DNS_LABEL_PATTERN, MAX_FAMILY_LENGTH

_VERSION_SUFFIX = re.compile(r"-v[0-9]+\Z")
_DNS_LABEL = re.compile(DNS_LABEL_PATTERN)


def default_family(name: str) -> str:
    """The family a journey named ``name`` belongs to when ``spec.family`` is not set.

    ``welcome-v1`` -> ``welcome``; a name without a ``-v<digits>`` suffix is its own family.
    """
    return _VERSION_SUFFIX.sub("", name)


def effective_family(name: str, family: str | None = None) -> str:
    """The family the operator uses: ``spec.family`` when set, else the default from the name."""
    return family or default_family(name)


def is_valid_family(family: str) -> bool:
    """Whether ``family`` is a DNS label short enough to leave room for ``-v<N>``."""
    return len(family) <= MAX_FAMILY_LENGTH and _DNS_LABEL.fullmatch(family) is not None


def family_of(name: str, spec: Mapping[str, Any]) -> str | None:
    """:func:`effective_family` of a raw object (a request, a listed dict); ``None`` when
    ``spec.family`` is unset and the name gives no valid family (the CRD then refuses it)."""
    explicit = spec.get("family")
    if isinstance(explicit, str) and explicit:
        return explicit
    derived = effective_family(name)
    return derived if name and is_valid_family(derived) else None
