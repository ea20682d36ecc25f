"""Sharding by namespace over the API server's sharded list and watch (KEP-5866).

Shard I of N (``--shards N --shard-index I``) owns the namespaces whose 64-bit
FNV-1a hash falls in the I-th of N equal ranges of ``[0, 2**64)``, and asks the API server to
send it only those (``shardSelector=shardRange(object.metadata.namespace, ...)``). The ranges
of one N tile the hash space exactly, so every namespace has exactly one owner.

A server without the ``ShardedListAndWatch`` feature gate ignores the selector and sends
everything: a sharded replica would then act on other shards' namespaces. Lists of a server
that honoured it echo the selector back in ``metadata.shardInfo.selector``, so a replica must
check that echo on every resource it shards before it starts, and refuse to run sharded without
it (:func:`verify`). Kubernetes v1.36.3 echoes it for built-in resources (Jobs) but not for
custom resources, so the operator shards its Jobs on the server and its own work by namespace
(docs/scaling.md).

Everything here but :func:`verify` is pure, so that the hashing and the ranges are tested
exhaustively without a cluster.
"""

from __future__ import annotations

import argparse
import os
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final

FEATURE_GATE: Final = "ShardedListAndWatch"
#: The field the ranges hash: a namespace's journeys, participants and Jobs share one owner.
FIELD: Final = "object.metadata.namespace"
SPACE: Final = 2**64

_FNV_OFFSET: Final = 0xCBF29CE484222325
_FNV_PRIME: Final = 0x100000001B3
_MASK: Final = SPACE - 1
#: A StatefulSet pod's name ends in its ordinal.
_ORDINAL = re.compile(r"-(\d+)$")


def fnv1a64(text: str) -> int:
    """64-bit FNV-1a of the UTF-8 bytes, the hash the API server's shard ranges are over."""
    value = _FNV_OFFSET
    for byte in text.encode():
        value = ((value ^ byte) * _FNV_PRIME) & _MASK
    return value


def _hex(bound: int) -> str:
    """A bound as the API server writes it: 16 lowercase hex digits, or 2**64 with 17."""
    return "0x10000000000000000" if bound == SPACE else f"0x{bound:016x}"


@dataclass(frozen=True, slots=True)
class Shard:
    """One replica's slice of the hash space: ``[start, end)`` of ``count`` equal slices."""

    index: int
    count: int

    def __post_init__(self) -> None:
        if self.count < 1:
            raise ValueError(f"the number of shards must be at least 1, not {self.count}")
        if not 0 <= self.index < self.count:
            raise ValueError(
                f"the shard index must be in 0..{self.count - 1} for {self.count} shards, "
                f"not {self.index}"
            )

    @property
    def start(self) -> int:
        return self.index * SPACE // self.count

    @property
    def end(self) -> int:
        return (self.index + 1) * SPACE // self.count

    @property
    def selector(self) -> str:
        """The ``shardSelector`` query value, spelled exactly as the server echoes it back."""
        return f"shardRange({FIELD}, '{_hex(self.start)}', '{_hex(self.end)}')"

    @property
    def name(self) -> str:
        """Names this shard's peering object, so each shard elects its own leader."""
        return f"shard-{self.index}-of-{self.count}"

    def owns(self, namespace: str) -> bool:
        return self.start <= fnv1a64(namespace) < self.end


def shard_of(namespace: str, count: int) -> int:
    """The index of the shard of ``count`` that owns ``namespace``."""
    hashed = fnv1a64(namespace)
    # The largest i with i * SPACE // count <= hashed; floor division makes the bounds exact.
    index = hashed * count // SPACE
    while Shard(index, count).start > hashed:
        index -= 1
    while Shard(index, count).end <= hashed:
        index += 1
    return index


class ShardingRefused(Exception):
    """The API server did not apply the shard selector: running sharded would be unsafe."""


def check_echo(listing: Mapping[str, Any], shard: Shard, what: str) -> None:
    """Refuse unless a list response of ``what`` echoes ``shard``'s selector back."""
    echoed = (listing.get("metadata") or {}).get("shardInfo", {}).get("selector")
    if echoed == shard.selector:
        return
    if echoed is None:
        raise ShardingRefused(
            f"The API server ignored the shard selector on {what} (its list carries no "
            f"metadata.shardInfo): sharding needs the {FEATURE_GATE} feature gate (alpha in "
            f"Kubernetes 1.36, kube-apiserver --feature-gates={FEATURE_GATE}=true), and "
            f"Kubernetes 1.36 does not shard custom resources even with it. Run unsharded."
        )
    raise ShardingRefused(
        f"The API server applied the shard selector {echoed!r} to {what}, not the requested "
        f"{shard.selector!r}; refusing to run sharded ({FEATURE_GATE})."
    )


#: GET a path with a query; returns the parsed JSON (``Kube.request`` fits).
Getter = Callable[[str, dict[str, str]], Awaitable[Mapping[str, Any]]]


async def verify(get: Getter, shard: Shard, paths: Mapping[str, str]) -> None:
    """List each sharded resource once (one item) and check the server honoured the selector.

    ``paths`` maps a resource's name (for the message) to its cluster-wide list path.
    """
    for what, path in paths.items():
        listing = await get(path, {"shardSelector": shard.selector, "limit": "1"})
        check_echo(listing, shard, what)


# --- which shard a replica is -----------------------------------------------------------------


def shard_from(shards: int | None, index: int | None, pod_name: str | None = None) -> Shard | None:
    """The shard of ``--shards N --shard-index I``, or of a StatefulSet pod's ordinal (modulo N:
    2N pods give every shard a leader and a standby); None when running unsharded."""
    if shards is None:
        if index is not None:
            raise ValueError("--shard-index needs --shards")
        return None
    if index is None:
        match = _ORDINAL.search(pod_name or "")
        if match is None:
            raise ValueError(
                "--shards needs --shard-index, or POD_NAME ending in a StatefulSet ordinal"
            )
        index = int(match.group(1)) % max(shards, 1)
    return Shard(index, shards)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("sharding (docs/scaling.md)")
    group.add_argument(
        "--shards",
        type=int,
        default=None,
        metavar="N",
        help="split the namespaces between N replica groups by namespace hash, on the API "
        f"server's sharded list and watch (feature gate {FEATURE_GATE}); default: one shard",
    )
    group.add_argument(
        "--shard-index",
        type=int,
        default=None,
        metavar="I",
        help="this replica's shard, 0..N-1; default: the ordinal at the end of POD_NAME "
        "modulo N (a StatefulSet of 2N pods gives every shard a standby)",
    )


def options_from(args: argparse.Namespace) -> Shard | None:
    try:
        return shard_from(args.shards, args.shard_index, os.environ.get("POD_NAME"))
    except ValueError as error:
        raise SystemExit(str(error)) from error
