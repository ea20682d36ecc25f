"""Peering: which replica leads, by Kopf's rule (priority, liveness, `kopf freeze`), no cluster.

The cluster-side proof (a standby taking over) is in tests/integration/test_install.py.
"""

from __future__ import annotations

import argparse
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from journeys.runtime import peering

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def entry(priority: int, seen_ago: float = 1, lifetime: int = 60) -> dict[str, Any]:
    seen = NOW - timedelta(seconds=seen_ago)
    return {"priority": priority, "lifetime": lifetime, "lastseen": seen.isoformat()}


@pytest.mark.parametrize(
    ("others", "expected"),
    [
        ({}, True),
        ({"older": entry(-100)}, False),  # priority -100 > -200: the other leads
        ({"younger": entry(-300)}, True),
        ({"twin": entry(-200)}, False),  # equal priorities pause both, as in Kopf
        ({"older-but-dead": entry(-100, seen_ago=61)}, True),
        ({"freeze": entry(100, seen_ago=10, lifetime=3600)}, False),  # `kopf freeze`
    ],
)
def test_a_replica_leads_when_no_live_peer_outranks_it(
    others: dict[str, Any], expected: bool
) -> None:
    peers = {"me": entry(-200), **others}
    assert peering.leads(peers, "me", -200, NOW) is expected


def test_dead_peers_are_the_ones_past_their_lifetime() -> None:
    peers = {"alive": entry(1), "dead": entry(2, seen_ago=120), "junk": "?"}
    assert sorted(peering.dead_peers(peers, NOW)) == ["dead", "junk"]


def test_the_default_priority_makes_the_oldest_replica_lead() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--namespace", action="append", default=[])
    peering.add_arguments(parser)
    options = peering.options_from(parser.parse_args(["--peering", "p"]))
    assert abs(options.priority + time.time() * 1000) < 60_000  # minus the start time in ms
    explicit = peering.options_from(parser.parse_args(["--peering", "p", "--priority", "5"]))
    assert explicit.priority == 5
    with pytest.raises(SystemExit):
        peering.options_from(parser.parse_args(["--peering", "p", "--namespace", "team-*"]))
