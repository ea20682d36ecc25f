"""Detecting streamed initial lists: the closing bookmark, refusals, and silence."""

from __future__ import annotations

import asyncio
import json

from journeys.runtime import streaming


def _event(kind: str, annotations: dict[str, str] | None = None) -> bytes:
    metadata = {"resourceVersion": "42", "annotations": annotations or {}}
    return json.dumps({"type": kind, "object": {"kind": "Job", "metadata": metadata}}).encode()


END = _event("BOOKMARK", {streaming.INITIAL_EVENTS_END: "true"})


def _supported(body: bytes | Exception) -> tuple[bool, list[dict[str, str]]]:
    asked: list[dict[str, str]] = []

    async def get(path: str, query: dict[str, str]) -> bytes:
        asked.append(query)
        if isinstance(body, Exception):
            raise body
        return body

    return asyncio.run(streaming.supported(get, "/apis/batch/v1/jobs")), asked


def test_the_closing_bookmark_means_streamed() -> None:
    found, asked = _supported(END + b"\n" + _event("BOOKMARK") + b"\n")
    assert found
    assert asked == [streaming.probe_query()]
    assert asked[0]["sendInitialEvents"] == "true"
    assert asked[0]["labelSelector"] == streaming.NOTHING


def test_a_refusal_means_classic_lists() -> None:
    assert _supported(RuntimeError("422 Invalid: resourceVersionMatch is forbidden"))[0] is False


def test_a_stream_without_the_bookmark_means_classic_lists() -> None:
    assert _supported(b"")[0] is False
    assert _supported(_event("BOOKMARK") + b"\n")[0] is False
    assert _supported(_event("ADDED", {streaming.INITIAL_EVENTS_END: "true"}))[0] is False


def test_garbage_means_classic_lists() -> None:
    assert not streaming.ends_initial_events(b"<html>proxy error</html>")
