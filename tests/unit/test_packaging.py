"""The chart's generated parts and the image test's podman flags, without a cluster.

The rendered chart against `kubectl kustomize manifests/` and the running image are checked in
tests/integration/test_chart.py and test_image.py; here: the pure logic they rely on.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml
from hack import chart, image

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "charts" / "journeys-operator"
DEPLOYMENT = ROOT / "manifests" / "operator" / "deployment.yaml"


def deployment() -> dict[str, Any]:
    return yaml.safe_load(DEPLOYMENT.read_text())  # type: ignore[no-any-return]


# --- values.yaml and README.md -------------------------------------------------------------------


def test_the_readme_values_table_is_current() -> None:
    current = (CHART / "README.md").read_text()
    assert chart.readme(current, (CHART / "values.yaml").read_text()) == current, (
        "run `make chart-sync`"
    )


def test_every_value_is_documented() -> None:
    """Each top-level value, or every key under it, has a `# --` description."""
    text = (CHART / "values.yaml").read_text()
    documented = {key for key, _ in chart.documented_values(text)}
    for top in yaml.safe_load(text):
        assert top in documented or any(k.startswith(f"{top}.") for k in documented), top


def test_documented_values_follow_nesting_and_multiline_comments() -> None:
    text = """a:
  # -- First line
  # and the second.
  b: 1
  c: 2
# -- Top.
d:
  - x
"""
    assert list(chart.documented_values(text)) == [
        ("a.b", "First line and the second."),
        ("d", "Top."),
    ]
    table = chart.values_table(text)
    assert "| `a.b` | `1` | First line and the second. |" in table
    assert '| `d` | `["x"]` | Top. |' in table


# --- generated templates -------------------------------------------------------------------------


def test_a_generated_template_keeps_the_object_and_templates_only_namespace_and_labels() -> None:
    webhook = {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingWebhookConfiguration",
        "metadata": {
            "name": "journeys.dev",
            "labels": {
                "app.kubernetes.io/name": "journeys-operator",
                chart.KUSTOMIZE_LABEL: "journeys",
            },
        },
        "webhooks": [{"clientConfig": {"service": {"name": "s", "namespace": "journeys-system"}}}],
    }
    text = chart.template(webhook)
    assert text.startswith("{{- if .Values.webhook.enabled }}\n")
    assert text.rstrip().endswith("{{- end }}")
    assert "namespace: {{ .Release.Namespace }}" in text
    assert "journeys-system" not in text
    assert '{{- include "journeys.labels" . | nindent 4 }}' in text
    assert chart.KUSTOMIZE_LABEL not in text  # it comes from journeys.labels
    assert '{{- if eq .Values.webhook.certificate "cert-manager" }}' in text


def test_a_crd_is_annotated_keep_behind_its_value() -> None:
    crd = {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.example", "annotations": {"a": "b"}},
        "spec": {"group": "example"},
    }
    text = chart.template(crd)
    assert text.startswith("{{- if .Values.crds.install }}")
    assert "  annotations:\n    a: b\n    {{- if .Values.crds.keep }}\n" in text
    assert "    helm.sh/resource-policy: keep\n" in text


def test_helm_template_syntax_in_an_object_is_refused() -> None:
    role = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole",
        "metadata": {"name": "r", "annotations": {"note": "{{ not a template }}"}},
        "rules": [],
    }
    with pytest.raises(chart.cluster.ClusterError, match="escape it"):
        chart.template(role)


# --- podman flags from the Deployment ------------------------------------------------------------


def test_the_deployment_becomes_the_hardened_podman_flags() -> None:
    flags = image.run_flags(deployment(), "journeys-system")
    joined = " ".join(flags)
    assert "--user 65532:65532" in joined
    assert "--group-add 65532" in joined  # fsGroup
    assert "--read-only --read-only-tmpfs=false" in joined
    assert "--cap-drop=all" in flags
    assert "--security-opt no-new-privileges" in joined
    assert f"--tmpfs /tmp:rw,exec,mode=1777,size={16 << 20}" in joined
    assert f"--memory {512 << 20}" in joined
    assert "--cpus 1.0" in joined
    assert "--env POD_NAME=operator --env POD_NAMESPACE=journeys-system" in joined


def _with(change: dict[str, Any], container: bool = True) -> dict[str, Any]:
    changed = copy.deepcopy(deployment())
    pod = changed["spec"]["template"]["spec"]
    target = pod["containers"][0] if container else pod
    target["securityContext"] = {**target.get("securityContext", {}), **change}
    return changed


def test_the_container_security_context_wins_over_the_pod() -> None:
    flags = image.run_flags(_with({"runAsUser": 1000, "runAsGroup": 1001}), "ns")
    assert flags[:2] == ["--user", "1000:1001"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"privileged": True}, "cannot reproduce securityContext fields \\['privileged'\\]"),
        ({"seccompProfile": {"type": "Localhost"}}, "seccompProfile 'Localhost'"),
        ({"runAsUser": 0}, "runAsNonRoot with runAsUser 0"),
    ],
)
def test_settings_podman_cannot_reproduce_are_errors(change: dict[str, Any], message: str) -> None:
    with pytest.raises(image.ImageError, match=message):
        image.run_flags(_with(change), "ns")


def test_a_volume_other_than_an_in_memory_empty_dir_is_an_error() -> None:
    changed = deployment()
    changed["spec"]["template"]["spec"]["volumes"][0] = {"name": "tmp", "emptyDir": {}}
    with pytest.raises(image.ImageError, match="cannot reproduce volume 'tmp'"):
        image.run_flags(changed, "ns")


@pytest.mark.parametrize(
    ("quantity", "expected"),
    [("16Mi", 16 << 20), ("1Gi", 1 << 30), ("500M", 500 * 10**6), ("42", 42)],
)
def test_memory_quantities(quantity: str, expected: int) -> None:
    assert image._quantity_bytes(quantity) == expected


def test_the_base_image_name_changes_with_its_packages(monkeypatch: pytest.MonkeyPatch) -> None:
    before = image.base_ref()
    monkeypatch.setattr(image, "BASE_PACKAGES", (*image.BASE_PACKAGES, "curl"))
    assert image.base_ref() != before
