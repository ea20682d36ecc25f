"""manifests/overlays/sharded agrees with the base install and with the sharding rules."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from journeys.__main__ import parse_args
from journeys.runtime import sharding

MANIFESTS = Path(__file__).resolve().parents[2] / "manifests"
OVERLAY = MANIFESTS / "overlays" / "sharded"


def load(path: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d]


def statefulset() -> dict[str, Any]:
    (found,) = load(OVERLAY / "statefulset.yaml")
    return found


def arg(args: list[str], name: str) -> str:
    (value,) = [a.split("=", 1)[1] for a in args if a.startswith(f"{name}=")]
    return value


def test_the_overlay_installs_the_base_parts() -> None:
    base = load(MANIFESTS / "kustomization.yaml")[0]["resources"]
    overlay = load(OVERLAY / "kustomization.yaml")[0]["resources"]
    # The webhooks come in through ../cert-manager: one certificate for every pod.
    expected = [f"../../{p}" if p != "webhooks" else "../cert-manager" for p in base]
    assert [r for r in overlay if r.startswith("..")] == expected
    for local in (r for r in overlay if not r.startswith("..")):
        assert (OVERLAY / local).is_file(), local


def test_every_shard_has_a_standby() -> None:
    spec = statefulset()["spec"]
    shards = int(arg(spec["template"]["spec"]["containers"][0]["args"], "--shards"))
    assert shards >= 2
    assert spec["replicas"] == 2 * shards
    pods = [f"journeys-operator-{i}" for i in range(spec["replicas"])]
    owners = [sharding.shard_from(shards, None, pod) for pod in pods]
    assert sorted(o.index for o in owners if o is not None) == sorted(list(range(shards)) * 2)


def test_the_pod_template_is_the_deployments_plus_the_shard() -> None:
    """Hardening, probes, resources and env stay in step with manifests/operator."""
    (deployment,) = load(MANIFESTS / "operator" / "deployment.yaml")
    expected = copy.deepcopy(deployment["spec"]["template"])
    got = copy.deepcopy(statefulset()["spec"]["template"])
    container, base = got["spec"]["containers"][0], expected["spec"]["containers"][0]
    assert container["args"][: len(base["args"])] == base["args"]
    assert [a.split("=")[0] for a in container["args"][len(base["args"]) :]] == [
        "--shards",
        "--webhook-cert-dir",
    ]
    mount = {"name": "webhook-tls", "mountPath": arg(container["args"], "--webhook-cert-dir")}
    assert {**mount, "readOnly": True} in container["volumeMounts"]
    for part in (container, base):
        part.pop("args")
        part["volumeMounts"] = [m for m in part["volumeMounts"] if m["name"] != "webhook-tls"]
    got["spec"]["volumes"] = [v for v in got["spec"]["volumes"] if v["name"] != "webhook-tls"]
    assert got == expected


def test_the_statefulset_selects_what_the_webhook_service_selects() -> None:
    (service,) = load(MANIFESTS / "webhooks" / "service.yaml")
    labels = statefulset()["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= labels.items()
    (headless,) = load(OVERLAY / "service-headless.yaml")
    assert statefulset()["spec"]["serviceName"] == headless["metadata"]["name"]
    assert headless["spec"]["clusterIP"] == "None"


def test_the_operator_accepts_the_statefulsets_command_line(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    args = parse_args(statefulset()["spec"]["template"]["spec"]["containers"][0]["args"])
    monkeypatch.setenv("POD_NAME", "journeys-operator-3")
    assert sharding.options_from(args) == sharding.Shard(1, 2)
