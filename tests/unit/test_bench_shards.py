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
         "entry_cpu_seconds": [20.0], "halt_cpu_seconds": [10.0],
         "entry_watch_events": [{"participants": 200, "jobs": 400, "journeys": 4}],
         "halt_watch_events": [{"participants": 100, "jobs": 200, "journeys": 4}]},
        {"shards": 2, "entry_seconds": 35, "halt_seconds": 28,
         "entry_cpu_seconds": [12.0, 10.0], "halt_cpu_seconds": [6.0, 5.0],
         "entry_watch_events": [{"participants": 200, "jobs": 220, "journeys": 4},
                                {"participants": 200, "jobs": 180, "journeys": 4}],
         "halt_watch_events": [{"participants": 100, "jobs": 90, "journeys": 4},
                               {"participants": 100, "jobs": 110, "journeys": 4}]},
    ]  # fmt: skip
    one, two = summarize(runs)
    assert one["largest_replica_entry_cpu_over_one"] == 1.0
    assert one["largest_replica_entry_events_over_one"] == 1.0
    assert two["largest_replica_entry_cpu_over_one"] == 0.6
    assert two["largest_replica_halt_cpu_over_one"] == 0.6
    assert two["all_replicas_cpu_over_one"] == 1.1
    # Jobs divide between the shards; every replica receives every participant event.
    assert two["largest_replica_job_events_over_one"] == 0.55
    assert two["largest_replica_participant_events_over_one"] == 1.0
    assert two["largest_replica_entry_events_over_one"] == round(424 / 604, 2)
    assert two["largest_replica_halt_events_over_one"] == round(214 / 304, 2)
