"""Sharding by namespace hash: the hash, the ranges, the selector, and the echo check."""

from __future__ import annotations

import asyncio
import functools
import itertools
from collections.abc import Mapping
from typing import Any

import pytest

from journeys.runtime import sharding
from journeys.runtime.sharding import SPACE, Shard, ShardingRefused

# Computed with Go's hash/fnv New64a, which the API server uses for shardRange().
GO_FNV1A64 = {
    "": 0xCBF29CE484222325,
    "a": 0xAF63DC4C8601EC8C,
    "default": 0xEBADA5168620C5FE,
    "team-a": 0xDE90A3717D1252D6,
    "journeys-bench-0": 0x4C51074E3A5827FE,
    "kube-system": 0xDF65C7BC1D82B35E,
    "ünïcode": 0xB1B0D40350A25BEB,
}

COUNTS = (1, 2, 3, 4, 5, 7, 8, 16, 64, 1000)


@pytest.mark.parametrize(("text", "expected"), GO_FNV1A64.items())
def test_hash_matches_go(text: str, expected: int) -> None:
    assert sharding.fnv1a64(text) == expected


@pytest.mark.parametrize("count", COUNTS)
def test_ranges_tile_the_hash_space(count: int) -> None:
    shards = [Shard(i, count) for i in range(count)]
    assert shards[0].start == 0
    assert shards[-1].end == SPACE
    for left, right in itertools.pairwise(shards):
        assert left.end == right.start
    assert all(s.start < s.end for s in shards)
    sizes = {s.end - s.start for s in shards}
    assert max(sizes) - min(sizes) <= 1


@pytest.mark.parametrize("count", COUNTS)
def test_every_namespace_has_exactly_one_owner(count: int) -> None:
    shards = [Shard(i, count) for i in range(count)]
    for namespace in [*GO_FNV1A64, *(f"{i}-ns" for i in range(100))]:
        owners = [s.index for s in shards if s.owns(namespace)]
        assert owners == [sharding.shard_of(namespace, count)]
        assert owners == [_owner_of_hash(sharding.fnv1a64(namespace), count)]


@pytest.mark.parametrize("count", COUNTS)
def test_range_edges_belong_to_the_right_shard(count: int) -> None:
    """Hashes at and next to each boundary: start inclusive, end exclusive (as the server)."""
    for shard in (Shard(i, count) for i in range(count)):
        for hashed in (shard.start, shard.end - 1):
            assert _owner_of_hash(hashed, count) == shard.index
        if shard.end < SPACE:
            assert _owner_of_hash(shard.end, count) == shard.index + 1


def _owner_of_hash(hashed: int, count: int) -> int:
    """The one shard whose [start, end) holds ``hashed``, by search over the bounds."""
    owners = [i for i, (start, end) in enumerate(_bounds(count)) if start <= hashed < end]
    assert len(owners) == 1
    return owners[0]


@functools.cache
def _bounds(count: int) -> tuple[tuple[int, int], ...]:
    return tuple((s.start, s.end) for s in (Shard(i, count) for i in range(count)))


def test_names_differing_only_at_the_end_share_a_shard() -> None:
    """FNV-1a's last bytes barely reach the top bits: docs/scaling.md warns about it."""
    namespaces = [f"team-{i}" for i in range(8)]
    assert len({sharding.shard_of(ns, 4) for ns in namespaces}) == 1
    assert len({sharding.shard_of(f"{i}-team", 4) for i in range(8)}) > 1


def test_selector_is_spelled_as_the_server_echoes_it() -> None:
    assert Shard(0, 2).selector == (
        "shardRange(object.metadata.namespace, '0x0000000000000000', '0x8000000000000000')"
    )
    assert Shard(1, 2).selector == (
        "shardRange(object.metadata.namespace, '0x8000000000000000', '0x10000000000000000')"
    )
    assert Shard(0, 1).selector == (
        "shardRange(object.metadata.namespace, '0x0000000000000000', '0x10000000000000000')"
    )
    assert Shard(1, 3).selector == (
        "shardRange(object.metadata.namespace, '0x5555555555555555', '0xaaaaaaaaaaaaaaaa')"
    )


@pytest.mark.parametrize("count", COUNTS)
def test_selector_bounds_are_what_the_server_parses(count: int) -> None:
    """16 lowercase hex digits, or exactly 0x10000000000000000 for 2**64 (the server's rule)."""
    for shard in (Shard(i, count) for i in range(count)):
        inner = shard.selector.removeprefix(f"shardRange({sharding.FIELD}, ").removesuffix(")")
        start, end = (part.strip("'") for part in inner.split(", "))
        for bound in (start, end):
            digits = bound.removeprefix("0x")
            assert digits == digits.lower()
            assert len(digits) == 16 or bound == "0x10000000000000000"
        assert (int(start, 16), int(end, 16)) == (shard.start, shard.end)


@pytest.mark.parametrize(("index", "count"), [(0, 0), (-1, 2), (2, 2), (5, 3)])
def test_impossible_shards_are_refused(index: int, count: int) -> None:
    with pytest.raises(ValueError, match="shard"):
        Shard(index, count)


def test_peering_names_differ_per_shard() -> None:
    assert {Shard(i, 4).name for i in range(4)} == {f"shard-{i}-of-4" for i in range(4)}


def test_echoed_selector_passes() -> None:
    shard = Shard(1, 4)
    sharding.check_echo({"metadata": {"shardInfo": {"selector": shard.selector}}}, shard, "jobs")


def test_missing_echo_names_the_feature_gate() -> None:
    with pytest.raises(ShardingRefused, match="ShardedListAndWatch") as refused:
        sharding.check_echo(
            {"metadata": {"resourceVersion": "5"}, "items": []}, Shard(0, 2), "jobs"
        )
    assert "jobs" in str(refused.value)


def test_a_different_echo_is_refused() -> None:
    with pytest.raises(ShardingRefused, match="not the requested"):
        sharding.check_echo(
            {"metadata": {"shardInfo": {"selector": Shard(0, 4).selector}}}, Shard(0, 2), "jobs"
        )


def test_verify_lists_each_resource_with_the_selector() -> None:
    shard = Shard(0, 2)
    asked: list[tuple[str, dict[str, str]]] = []

    async def get(path: str, query: dict[str, str]) -> Mapping[str, Any]:
        asked.append((path, query))
        echoed = {"shardInfo": {"selector": shard.selector}} if "jobs" not in path else {}
        return {"metadata": echoed}

    paths = {
        "participants": "/apis/journeys.dev/v1alpha1/participants",
        "jobs": "/apis/batch/v1/jobs",
    }
    with pytest.raises(ShardingRefused, match="on jobs"):
        asyncio.run(sharding.verify(get, shard, paths))
    assert asked == [(p, {"shardSelector": shard.selector, "limit": "1"}) for p in paths.values()]


def test_no_shards_means_unsharded() -> None:
    assert sharding.shard_from(None, None, "journeys-operator-3") is None


def test_explicit_index() -> None:
    assert sharding.shard_from(4, 2) == Shard(2, 4)


@pytest.mark.parametrize(
    ("pod", "expected"),
    [("journeys-operator-0", 0), ("journeys-operator-3", 1), ("journeys-operator-5", 1)],
)
def test_index_from_the_statefulset_ordinal(pod: str, expected: int) -> None:
    """2N pods: ordinals i and i+N are the two replicas (leader and standby) of shard i."""
    assert sharding.shard_from(2, None, pod) == Shard(expected, 2)


def test_index_without_an_ordinal_is_refused() -> None:
    with pytest.raises(ValueError, match="POD_NAME"):
        sharding.shard_from(2, None, "laptop")


def test_index_without_shards_is_refused() -> None:
    with pytest.raises(ValueError, match="--shards"):
        sharding.shard_from(None, 1)
