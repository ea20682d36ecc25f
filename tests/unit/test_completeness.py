"""The empty-view check: the lists it makes, where, and what any failure means."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from journeys.runtime.completeness import INCOMPLETE, QuietWhileLoading, nothing_to_list
from journeys.runtime.kube import KubeError


class FakeKube:
    """Answers lists from ``objects`` (path -> item count) and records every request."""

    def __init__(self, objects: dict[str, int], namespaces: tuple[str, ...] = ()) -> None:
        self.objects = objects
        self.namespaces = namespaces
        self.asked: list[tuple[str, dict[str, str]]] = []

    async def request(
        self, method: str, path: str, body: Any = None, query: dict[str, str] | None = None
    ) -> dict[str, Any]:
        assert method == "GET"
        self.asked.append((path, dict(query or {})))
        if path == "/api/v1/namespaces":
            return {"items": [{"metadata": {"name": n}} for n in self.namespaces]}
        if path not in self.objects and self.objects.get("*") == -1:
            raise KubeError(403, "Forbidden", "jobs is forbidden")
        return {"items": [{}] * self.objects.get(path, 0)}


def test_cluster_wide_lists_each_resource_once_with_its_selector() -> None:
    kube = FakeKube({})
    assert asyncio.run(nothing_to_list(kube))
    assert kube.asked == [
        ("/apis/journeys.dev/v1alpha1/journeys", {"limit": "1"}),
        ("/apis/journeys.dev/v1alpha1/participants", {"limit": "1"}),
        ("/apis/batch/v1/jobs", {"labelSelector": "journeys.dev/participant", "limit": "1"}),
    ]


def test_any_object_means_wait_for_kopf() -> None:
    kube = FakeKube({"/apis/batch/v1/namespaces/b/jobs": 1})
    assert not asyncio.run(nothing_to_list(kube, ("a", "b")))


def test_exact_namespaces_are_listed_without_resolving_them() -> None:
    kube = FakeKube({})
    assert asyncio.run(nothing_to_list(kube, ("a",)))
    assert [path for path, _ in kube.asked] == [
        "/apis/journeys.dev/v1alpha1/namespaces/a/journeys",
        "/apis/journeys.dev/v1alpha1/namespaces/a/participants",
        "/apis/batch/v1/namespaces/a/jobs",
    ]


def test_globs_are_resolved_as_kopf_does() -> None:
    kube = FakeKube(
        {"/apis/journeys.dev/v1alpha1/namespaces/other/journeys": 1}, ("team-a", "other")
    )
    assert asyncio.run(nothing_to_list(kube, ("team-*",)))
    listed = {path.split("/namespaces/")[1].split("/")[0] for path, _ in kube.asked[1:]}
    assert listed == {"team-a"}


def test_a_refused_list_is_not_known_to_be_empty() -> None:
    assert not asyncio.run(nothing_to_list(FakeKube({"*": -1})))


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
