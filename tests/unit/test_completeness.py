"""Completeness of the view: the start-up listing (where, with which selectors, by pages) and
when the view holds all of it."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest

from journeys.runtime.completeness import (
    INCOMPLETE,
    METADATA_ONLY,
    PAGE,
    QuietWhileLoading,
    listed_uids,
)
from journeys.runtime.kube import KubeError
from journeys.runtime.sharding import Shard
from journeys.view import Completeness


class FakeKube:
    """Answers lists from ``objects`` (path -> uids), by pages, and records every request."""

    def __init__(self, objects: dict[str, list[str]], namespaces: tuple[str, ...] = ()) -> None:
        self.objects = objects
        self.namespaces = namespaces
        self.asked: list[tuple[str, dict[str, str]]] = []

    async def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        query: dict[str, str] | None = None,
        content_type: str = "application/json",
        accept: str = "application/json",
    ) -> dict[str, Any]:
        assert method == "GET"
        query = dict(query or {})
        self.asked.append((path, query))
        if path == "/api/v1/namespaces":
            return {"items": [{"metadata": {"name": n}} for n in self.namespaces]}
        assert accept == METADATA_ONLY  # uids only, never the bodies
        if path not in self.objects and "*" in self.objects:
            raise KubeError(403, "Forbidden", "jobs is forbidden")
        uids = self.objects.get(path, [])
        start = int(query.get("continue") or 0)
        end = start + int(query["limit"])
        page = {"items": [{"metadata": {"uid": uid}} for uid in uids[start:end]], "metadata": {}}
        if end < len(uids):
            page["metadata"]["continue"] = str(end)
        return page


def test_cluster_wide_lists_each_resource_with_its_selector() -> None:
    kube = FakeKube({})
    assert asyncio.run(listed_uids(kube)) == set()
    limit = {"limit": str(PAGE)}
    assert kube.asked == [
        ("/apis/journeys.dev/v1alpha1/journeys", limit),
        ("/apis/journeys.dev/v1alpha1/participants", limit),
        ("/apis/batch/v1/jobs", {"labelSelector": "journeys.dev/participant", **limit}),
    ]


def test_every_page_is_listed() -> None:
    uids = [f"p{i}" for i in range(2 * PAGE + 3)]
    kube = FakeKube({"/apis/journeys.dev/v1alpha1/namespaces/a/participants": uids})
    assert asyncio.run(listed_uids(kube, ("a",))) == set(uids)
    pages = [q for path, q in kube.asked if path.endswith("/participants")]
    assert [q.get("continue") for q in pages] == [None, str(PAGE), str(2 * PAGE)]


def test_a_sharded_replica_lists_its_shard_of_jobs_only() -> None:
    shard = Shard(1, 2)
    kube = FakeKube({})
    asyncio.run(listed_uids(kube, ("a",), shard))
    selectors = {path.rsplit("/", 1)[1]: q.get("shardSelector") for path, q in kube.asked}
    assert selectors == {"journeys": None, "participants": None, "jobs": shard.selector}


def test_exact_namespaces_are_listed_without_resolving_them() -> None:
    kube = FakeKube({})
    asyncio.run(listed_uids(kube, ("a",)))
    assert [path for path, _ in kube.asked] == [
        "/apis/journeys.dev/v1alpha1/namespaces/a/journeys",
        "/apis/journeys.dev/v1alpha1/namespaces/a/participants",
        "/apis/batch/v1/namespaces/a/jobs",
    ]


def test_globs_are_resolved_as_kopf_does() -> None:
    kube = FakeKube(
        {"/apis/journeys.dev/v1alpha1/namespaces/other/journeys": ["x"]}, ("team-a", "other")
    )
    assert asyncio.run(listed_uids(kube, ("team-*",))) == set()
    listed = {path.split("/namespaces/")[1].split("/")[0] for path, _ in kube.asked[1:]}
    assert listed == {"team-a"}


def test_a_refused_list_raises() -> None:
    with pytest.raises(KubeError):
        asyncio.run(listed_uids(FakeKube({"*": []})))


def test_complete_once_every_listed_object_was_received() -> None:
    completeness = Completeness()
    assert not completeness.complete and completeness.awaited == -1
    completeness.observed("early")  # a watch event before the listing finished
    completeness.listed({"early", "a", "b"})
    assert completeness.awaited == 2 and not completeness.complete
    completeness.observed("a")
    completeness.observed("new")  # created after the listing: not awaited
    assert completeness.awaited == 1
    completeness.observed("b")
    assert completeness.complete


def test_nothing_listed_is_complete_at_once() -> None:
    completeness = Completeness()
    completeness.listed(set())
    assert completeness.complete


def test_an_object_deleted_before_the_watch_saw_it_is_not_awaited_forever() -> None:
    completeness = Completeness()
    completeness.listed({"a", "gone"})
    completeness.observed("a")
    completeness.narrow({"a", "other"})  # listed again: "gone" no longer exists
    assert completeness.complete


def _record(message: str, error: BaseException | None = None) -> logging.LogRecord:
    info = (type(error), error, None) if error is not None else None
    return logging.LogRecord("aiohttp.server", logging.ERROR, __file__, 1, message, (), info)


def test_not_ready_probes_are_not_logged_as_errors() -> None:
    quiet = QuietWhileLoading()
    cause = RuntimeError(INCOMPLETE)
    chained = RuntimeError("One or more handlers failed.")
    chained.__cause__ = cause
    assert not quiet.filter(_record("Error handling request", chained))
    assert not quiet.filter(_record(f"Activity 'view' failed permanently: {INCOMPLETE}"))
    assert quiet.filter(_record("Error handling request", RuntimeError("something else")))
    assert quiet.filter(_record("Error handling request"))
