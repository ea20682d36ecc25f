"""bench.shards: the namespaces it spreads and the ratios it reports."""

from __future__ import annotations

from bench.shards import spread_namespaces, summarize

from journeys.runtime.sharding import shard_of


def test_namespaces_spread_evenly_over_four_and_two_shards() -> None:
    names = spread_namespaces("bench-shards-x")
    assert len(set(names)) == 8
    for shards in (4, 2):
        owners = [shard_of(name, shards) for name in names]
        assert all(owners.count(i) == 8 // shards for i in range(shards))


def test_ratios_are_to_the_one_replica_run() -> None:
    runs = [
        {"shards": 1, "entry_seconds": 40, "halt_seconds": 30,
         "entry_cpu_seconds": [20.0], "halt_cpu_seconds": [10.0]},
        {"shards": 2, "entry_seconds": 35, "halt_seconds": 28,
         "entry_cpu_seconds": [12.0, 10.0], "halt_cpu_seconds": [6.0, 5.0]},
    ]  # fmt: skip
    one, two = summarize(runs)
    assert one["largest_replica_entry_cpu_over_one"] == 1.0
    assert two["largest_replica_entry_cpu_over_one"] == 0.6
    assert two["largest_replica_halt_cpu_over_one"] == 0.6
    assert two["all_replicas_cpu_over_one"] == 1.1
