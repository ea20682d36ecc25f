"""Whether this replica's view of the cluster is complete: admission answers only from one that is.

Kopf fills its indexes from a first listing of every watched resource and calls the first watch
handler only once all of them are complete; that call hands the indexes to the manager, and from
then on the view is complete for the life of the process. Kopf serves admission requests before
that. An entry admitted from a half-listed view could pass a capacity or one-version-per-profile
check it should fail, and a deletion could pass with participants still inside, so until then
those answers are refused as retryable (HTTP 503) and readiness says not ready.

Nothing to list produces no watch event at all, so a replica still waiting lists each watched
resource once, as Kopf does (its selectors, its namespaces), one item each: when all are empty,
the empty view is the complete one.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any, Final, Protocol

from journeys.runtime.kopf_namespaces import matches_any
from journeys.runtime.kopf_settings import WATCHED, Watched

INCOMPLETE: Final = (
    "This journeys-operator replica is still loading its view of the cluster (the first "
    "listing of journeys, participants and their Jobs), so it cannot check this request yet. "
    "Nothing was changed; retry in a few seconds."
)


class Requester(Protocol):
    """The part of ``journeys.runtime.kube.Kube`` used here."""

    async def request(
        self, method: str, path: str, body: Any = None, query: dict[str, str] | None = None
    ) -> dict[str, Any]: ...


async def nothing_to_list(
    kube: Requester, namespaces: Sequence[str] = (), watched: Sequence[Watched] = WATCHED
) -> bool:
    """Whether every watched resource is empty where the operator watches (``--namespace``).

    Any failure (a resource this replica may not list yet, the API server unreachable) means:
    not known to be empty; the callers refuse rather than wait on it.
    """
    try:
        return await _nothing_to_list(kube, namespaces, watched)
    except Exception:  # any failure means: not known to be empty
        return False


async def _nothing_to_list(
    kube: Requester, namespaces: Sequence[str], watched: Sequence[Watched]
) -> bool:
    scopes: list[str | None] = [None]
    if namespaces and not any(set(pattern) & set("*?[]!,") for pattern in namespaces):
        scopes = list(namespaces)
    elif namespaces:  # globs: the namespaces Kopf would resolve them to
        found = await kube.request("GET", "/api/v1/namespaces")
        names = [str(item["metadata"]["name"]) for item in found.get("items") or []]
        scopes = [name for name in names if matches_any(name, namespaces)]
    for resource in watched:
        for scope in scopes:
            page = await kube.request(
                "GET", resource.path(scope), query={**resource.query(), "limit": "1"}
            )
            if page.get("items"):
                return False
    return True


class QuietWhileLoading(logging.Filter):
    """Drops the error records a not-ready health probe causes, twice per probe and with a
    traceback from aiohttp: not being ready while listing is expected, not an error."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        while error is not None and INCOMPLETE not in str(error):
            error = error.__cause__
        return error is None and INCOMPLETE not in record.getMessage()


def quiet_while_loading() -> None:
    for name in ("aiohttp.server", "kopf.activities.probe"):
        logging.getLogger(name).addFilter(QuietWhileLoading())
