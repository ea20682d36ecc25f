"""Whether this replica's view of the cluster is complete: admission answers only from one that is.

The watch handlers fill the view (``journeys.view.store``) from Kopf's first listing and the
watch after it. Kopf serves admission requests and calls handlers before that listing is over.
An entry admitted from a half-listed view could pass a capacity or one-version-per-profile
check it should fail, a deletion could pass with participants still inside, and a reconciler
could act on a journey whose participants are not all known yet. So at start-up the replica
lists every watched resource itself, exactly where and as Kopf watches it (namespaces, label
and shard selectors), by pages and metadata only; the view is complete once it has received
every object of that listing. Until then admission answers are refused as retryable (HTTP
503), readiness says not ready and the work queues do not start.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any, Final, Protocol

from journeys.runtime.kopf_namespaces import matches_any
from journeys.runtime.kopf_settings import WATCHED, Watched
from journeys.runtime.sharding import Shard

INCOMPLETE: Final = (
    "This journeys-operator replica is still loading its view of the cluster (the first "
    "listing of journeys, participants and their Jobs), so it cannot check this request yet. "
    "Nothing was changed; retry in a few seconds."
)
#: Objects per page of the start-up listing: bounded memory whatever the cluster's size.
PAGE: Final = 500
#: Only the objects' metadata (uids), not their bodies.
METADATA_ONLY: Final = "application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io"


class Requester(Protocol):
    """The part of ``journeys.runtime.kube.Kube`` used here."""

    async def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        query: dict[str, str] | None = None,
        content_type: str = ...,
        accept: str = ...,
    ) -> dict[str, Any]: ...


async def listed_uids(
    kube: Requester,
    namespaces: Sequence[str] = (),
    shard: Shard | None = None,
    watched: Sequence[Watched] = WATCHED,
) -> set[str]:
    """The uids of every object the operator watches, where it watches (``--namespace``)."""
    scopes: list[str | None] = [None]
    if namespaces and not any(set(pattern) & set("*?[]!,") for pattern in namespaces):
        scopes = list(namespaces)
    elif namespaces:  # globs: the namespaces Kopf would resolve them to
        found = await kube.request("GET", "/api/v1/namespaces")
        names = [str(item["metadata"]["name"]) for item in found.get("items") or []]
        scopes = [name for name in names if matches_any(name, namespaces)]
    uids: set[str] = set()
    for resource in watched:
        query = resource.query()
        if resource.sharded and shard is not None:
            query["shardSelector"] = shard.selector
        for scope in scopes:
            token = ""
            while True:
                paged = {**query, "limit": str(PAGE), **({"continue": token} if token else {})}
                page = await kube.request(
                    "GET", resource.path(scope), query=paged, accept=METADATA_ONLY
                )
                uids.update(str(item["metadata"]["uid"]) for item in page.get("items") or [])
                token = str((page.get("metadata") or {}).get("continue") or "")
                if not token:
                    break
    return uids


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
