"""Kopf's own ``--namespace`` pattern matcher, behind the one import of a private Kopf module.

Why private: Kopf's public API takes ``--namespace`` patterns (globs, commas, ``!`` negations)
but exposes no function that tells whether a namespace matches them. The webhooks must have no
opinion exactly where Kopf watches nothing, so they must match the way Kopf does; a copy of the
rules would drift from Kopf's. ``tests/unit/test_webhooks.py`` checks the behaviour and fails
when Kopf moves or changes this function.
"""

from __future__ import annotations

from collections.abc import Iterable

from kopf._cogs.structs.references import NamespaceName, match_namespace


def matches_any(namespace: str, patterns: Iterable[str]) -> bool:
    """Whether Kopf, run with these ``--namespace`` patterns, watches ``namespace``."""
    return any(match_namespace(NamespaceName(namespace), pattern) for pattern in patterns)
