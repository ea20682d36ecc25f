"""How Kopf is configured for this operator, and why each setting differs from its default."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any, cast

import kopf

from journeys.api import GROUP


class NoDiffBase(kopf.DiffBaseStorage):
    """A diff base that is never kept, because nothing here reads it.

    Kopf builds an object's "essence" (a deep copy of the body, then another one when cleaning
    it) on every watch event, for change-detecting handlers (``on.create``/``on.update``). This
    operator registers only ``on.event`` and index handlers, so those copies were pure cost: a
    tenth of the operator's CPU during an entry of thousands of participants (benchmarks.md).
    """

    def build(self, *, body: kopf.Body, extra_fields: Iterable[Any] | None = None) -> Any:
        return cast(Any, {})

    def fetch(self, *, body: kopf.Body) -> None:
        return None

    def store(self, *, body: kopf.Body, patch: kopf.Patch, essence: Any) -> None:
        return None


@kopf.on.startup()
def configure(settings: kopf.OperatorSettings, **_: object) -> None:
    """Kopf's own bookkeeping stays under the project's domain and out of the way."""
    settings.persistence.finalizer = f"{GROUP}/finalizer"
    settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(prefix=GROUP)
    settings.persistence.diffbase_storage = NoDiffBase()
    settings.posting.level = logging.INFO
    settings.watching.server_timeout = 300
    settings.watching.client_timeout = 330
    settings.networking.request_timeout = 60
    # Kopf keeps a worker per object, holding its last event body, until it has been idle this
    # long (default 5 s); at thousands of participants that alone was ~10 KB of RSS each.
    settings.queueing.idle_timeout = 0.5
    # Ride out a control-plane restart or upgrade (minutes) instead of giving up after ~1 min.
    settings.networking.error_backoffs = (1, 1, 2, 3, 5, 8, 13, 21, 30, 30, 30, 30, 30, 30)
