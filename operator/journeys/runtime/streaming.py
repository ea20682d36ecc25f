"""Whether the API server streams initial lists (``sendInitialEvents``, "WatchList").

A streamed start sends the existing objects as watch events, one at a time, ending with a
bookmark annotated ``k8s.io/initial-events-end``; a classic start decodes one list response
of every object at once, and the allocator keeps that peak (docs/scaling.md). Kubernetes 1.34+
streams by default; older servers, or ones with the ``WatchList`` gate off, refuse the request
or never send that bookmark. Kopf (``settings.watching.initial_streaming``) does not check, so
the operator asks once at start-up, on a selection that is empty by construction.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from typing import Final

logger = logging.getLogger(__name__)

INITIAL_EVENTS_END: Final = "k8s.io/initial-events-end"
#: Matches no object: the probe's stream holds only the closing bookmark.
NOTHING: Final = "journeys.dev/probe-matches-nothing=nothing"

#: GET a path with a query; returns the raw body (raises on an error status).
RawGetter = Callable[[str, dict[str, str]], Awaitable[bytes]]


def probe_query(seconds: int = 1) -> dict[str, str]:
    """The query Kopf sends for a streamed start, narrowed to nothing and to a second: the
    closing bookmark comes at once, but the body ends only when the server closes the watch."""
    return {
        "watch": "true",
        "sendInitialEvents": "true",
        "resourceVersionMatch": "NotOlderThan",
        "allowWatchBookmarks": "true",
        "labelSelector": NOTHING,
        "timeoutSeconds": str(seconds),
    }


def ends_initial_events(body: bytes) -> bool:
    """Whether a watch body holds the bookmark that closes a streamed initial list."""
    for line in body.splitlines():
        if not line.strip():
            continue
        try:
            event = json.loads(line)
        except ValueError:
            return False
        metadata = (event.get("object") or {}).get("metadata") or {}
        if (
            event.get("type") == "BOOKMARK"
            and (metadata.get("annotations") or {}).get(INITIAL_EVENTS_END) == "true"
        ):
            return True
    return False


async def supported(get: RawGetter, path: str) -> bool:
    """Ask the server once; any refusal or a stream without the closing bookmark means no."""
    try:
        body = await get(path, probe_query())
    except Exception as error:  # any failure means: list the classic way
        logger.info("initial lists are not streamed: the API server said %s", error)
        return False
    if ends_initial_events(body):
        return True
    logger.info("initial lists are not streamed: the API server sent no initial-events bookmark")
    return False
