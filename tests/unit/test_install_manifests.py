"""The install manifests agree with the code (no cluster).

The cluster-side proofs (dry-run apply, RBAC, HA, scraping) are in
tests/integration/test_install.py; here: what can be checked from the files alone.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from journeys.api import crds
from journeys.runtime import metrics
from journeys.webhooks.configurations import CLUSTER_CONFIGURATION
from journeys.webhooks.options import CLUSTER_PORT

MANIFESTS = Path(__file__).resolve().parents[2] / "manifests"


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
    assert webhooks["resourceNames"] == [CLUSTER_CONFIGURATION]
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
    assert ports["webhook"] == CLUSTER_PORT
    assert ports["metrics"] == metrics.DEFAULT_PORT
    for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
        assert container[probe]["httpGet"] == {"path": "/healthz", "port": "health"}
    assert "--liveness=http://0.0.0.0:8080/healthz" in args and ports["health"] == 8080
