"""The install manifests agree with the code, and the HA and metrics decisions (no cluster).

The cluster-side proofs (dry-run apply, RBAC, HA, scraping) are in
tests/integration/test_install.py; here: what can be checked from the files alone.
"""

from __future__ import annotations

import argparse
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from journeys.api import crds
from journeys.api.models import JourneyStatus
from journeys.runtime import metrics, peering
from journeys.webhooks import serving
from tests.unit import journey_statuses as journeys

MANIFESTS = Path(__file__).resolve().parents[2] / "manifests"
NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def load(relative: str) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all((MANIFESTS / relative).read_text()) if d]


def test_the_crds_in_manifests_are_the_generated_ones() -> None:
    """`kubectl apply -k` reads no file outside manifests/, so the CRDs are copied there."""
    assert crds.check(MANIFESTS / "crds") == [], "run `make crds`"


def test_every_resource_of_the_base_exists() -> None:
    for entry in load("kustomization.yaml")[0]["resources"]:
        assert (MANIFESTS / entry / "kustomization.yaml").exists(), entry


def test_the_ha_overlay_installs_the_same_parts() -> None:
    base = load("kustomization.yaml")[0]["resources"]
    overlay = load("overlays/ha/kustomization.yaml")[0]["resources"]
    assert [f"../../{part}" for part in base] == [r for r in overlay if r.startswith("../../")]


def test_the_cluster_role_is_enumerated_and_keeps_off_secrets() -> None:
    (role,) = load("rbac/cluster-role.yaml")
    for rule in role["rules"]:
        for field in ("apiGroups", "resources", "verbs", "resourceNames"):
            assert "*" not in rule.get(field, []), rule
        assert "secrets" not in rule["resources"]
    webhooks = next(r for r in role["rules"] if "validatingwebhookconfigurations" in r["resources"])
    assert webhooks["resourceNames"] == [serving.CLUSTER_CONFIGURATION]
    writes = {
        resource
        for rule in role["rules"]
        for resource in rule["resources"]
        if set(rule["verbs"]) & {"update", "patch", "create", "delete"}
    }
    assert "journeys" not in writes  # the spec is the user's; only journeys/status is written


def test_the_deployment_is_hardened_and_matches_the_command_line() -> None:
    (deployment,) = load("operator/deployment.yaml")
    pod = deployment["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert deployment["spec"]["replicas"] == 1  # two in overlays/ha (one webhook certificate)
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault"
    security = container["securityContext"]
    assert security["readOnlyRootFilesystem"] is True
    assert security["allowPrivilegeEscalation"] is False
    assert security["capabilities"]["drop"] == ["ALL"]
    assert {"requests", "limits"} <= set(container["resources"])
    args = container["args"]
    assert "--peering=journeys-operator" in args
    assert f"--metrics-port={metrics.DEFAULT_PORT}" in args
    assert "--admission=cluster" in args
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert ports["webhook"] == serving.CLUSTER_PORT
    assert ports["metrics"] == metrics.DEFAULT_PORT
    for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
        assert container[probe]["httpGet"] == {"path": "/healthz", "port": "health"}
    assert "--liveness=http://0.0.0.0:8080/healthz" in args and ports["health"] == 8080


# --- peering: Kopf's rule ------------------------------------------------------------------------


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


# --- metrics: halt and drain clocks --------------------------------------------------------------


def status_of(make: Any) -> JourneyStatus:
    return JourneyStatus.model_validate(make()["status"])


def histogram_count(histogram: Any, **labels: str) -> float:
    for family in histogram.collect():
        for sample in family.samples:
            if sample.name.endswith("_count") and sample.labels == labels:
                return float(sample.value)
    return 0.0


def test_a_halt_is_timed_once_from_the_stop() -> None:
    key = ("halt-test", "welcome-v1")
    before = histogram_count(metrics.HALT_DURATION, phase="Stopped")
    halting, stopped = status_of(journeys.halting), status_of(journeys.stopped)
    metrics.journey_status(key, halting, NOW)
    metrics.journey_status(key, halting, NOW + timedelta(seconds=5))
    metrics.journey_status(key, stopped, NOW + timedelta(seconds=7))
    metrics.journey_status(key, stopped, NOW + timedelta(seconds=9))
    # A late entry after the stop is rejected (Pending counts as in flight): no second halt.
    metrics.journey_status(key, halting, NOW + timedelta(seconds=20))
    metrics.journey_status(key, stopped, NOW + timedelta(seconds=21))
    assert histogram_count(metrics.HALT_DURATION, phase="Stopped") == before + 1


def test_a_drain_is_timed_from_close_to_finish() -> None:
    key = ("drain-test", "welcome-v1")
    before = histogram_count(metrics.DRAIN_DURATION, outcome="Drained")
    metrics.journey_status(key, status_of(journeys.draining), NOW)
    metrics.journey_status(key, status_of(journeys.finished), NOW)
    metrics.journey_status(key, status_of(journeys.finished), NOW)
    assert histogram_count(metrics.DRAIN_DURATION, outcome="Drained") == before + 1
