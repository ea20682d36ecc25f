"""The Helm chart installs what `kubectl apply -k manifests/` installs (docs/packaging.md).

- Its generated parts are current, and `helm lint --strict` passes with default and other values.
- Rendered with default values it equals `kubectl kustomize manifests/` object by object, except
  for Helm's own labels and what a default value asks for (the CRDs' keep annotation; the
  namespace, which Helm creates); with replicas=2 and cert-manager it equals overlays/ha.
- Each value changes what it should; impossible combinations are refused, saying why.
- A real `helm install --wait` / `helm upgrade` / `helm uninstall` on the cluster, which leaves
  the CRDs in place. The webhook configurations it creates point at a Service with no server
  behind it, so they are removed in any case before the test ends.

helm is built from its Go module into the binary cache (hack/helm.py), once.
"""

from __future__ import annotations

import copy
import json
import subprocess
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from hack import chart as hack_chart
from hack import helm as hack_helm
from kubernetes import client
from kubernetes.client.rest import ApiException

from tests.integration.conftest import Kubectl
from tests.integration.support import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.timeout(900)]

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "charts" / "journeys-operator"
MANIFESTS = ROOT / "manifests"
NAMESPACE = "journeys-system"
HELM_LABELS = (
    "helm.sh/chart",
    "app.kubernetes.io/managed-by",
    "app.kubernetes.io/instance",
    "app.kubernetes.io/version",
)
Objects = dict[tuple[str, str], dict[str, Any]]


class Helm:
    def __init__(self, path: str, kubeconfig: str) -> None:
        self.path = path
        self.kubeconfig = kubeconfig

    def __call__(
        self, *args: str, check: bool = True, timeout: float = 300
    ) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [self.path, "--kubeconfig", self.kubeconfig, *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if check and result.returncode != 0:
            raise AssertionError(f"helm {' '.join(args)} failed: {result.stderr.strip()}")
        return result

    def template(self, *sets: str, namespace: str = NAMESPACE) -> Objects:
        out = self("template", "journeys", str(CHART), "-n", namespace, *_sets(sets)).stdout
        return index(yaml.safe_load_all(out))


def _sets(sets: tuple[str, ...]) -> list[str]:
    return [arg for value in sets for arg in ("--set", value)]


def index(documents: Any) -> Objects:
    return {(d["kind"], d["metadata"]["name"]): d for d in documents if d}


@pytest.fixture(scope="module")
def helm(kubeconfig_path: str) -> Helm:
    try:
        path = hack_helm.build()  # reused when the cached one is this pin
    except hack_helm.cluster.ClusterError as error:
        pytest.fail(str(error), pytrace=False)
    return Helm(str(path), kubeconfig_path)


@pytest.fixture(scope="module")
def kustomized(kubectl: Kubectl) -> Callable[[str], Objects]:
    def build(path: str = "") -> Objects:
        return index(yaml.safe_load_all(kubectl("kustomize", str(MANIFESTS / path)).stdout))

    return build


def without_helm_labels(obj: dict[str, Any]) -> dict[str, Any]:
    obj = copy.deepcopy(obj)
    labels = obj["metadata"].get("labels") or {}
    for key in HELM_LABELS:
        labels.pop(key, None)
    return obj


def without_keep(obj: dict[str, Any]) -> dict[str, Any]:
    obj = copy.deepcopy(obj)
    annotations = obj["metadata"].get("annotations") or {}
    assert annotations.pop("helm.sh/resource-policy", None) == "keep", obj["metadata"]
    if not annotations:
        obj["metadata"].pop("annotations", None)
    return obj


def assert_same_objects(chart: Objects, expected: Objects) -> None:
    assert sorted(chart) == sorted(expected), "the chart and manifests/ have different objects"
    for key, obj in expected.items():
        assert without_helm_labels(chart[key]) == obj, key


# --- files and lint ------------------------------------------------------------------------------


def test_the_generated_files_are_current() -> None:
    assert hack_chart.stale(hack_chart.expected()) == [], "run `make chart-sync`"


@pytest.mark.parametrize(
    "sets",
    [
        (),
        ("replicas=2", "webhook.certificate=cert-manager", "metrics.serviceMonitor.enabled=true"),
        ("webhook.enabled=false", "crds.install=false", "dashboard.enabled=true"),
    ],
)
def test_lint_strict(helm: Helm, sets: tuple[str, ...]) -> None:
    result = helm("lint", "--strict", str(CHART), *_sets(sets))
    assert "0 chart(s) failed" in result.stdout, result.stdout


# --- the same objects as manifests/ --------------------------------------------------------------


def test_default_values_render_the_objects_of_manifests(
    helm: Helm, kustomized: Callable[[str], Objects]
) -> None:
    chart, manifests = helm.template(), kustomized("")
    namespace = manifests.pop(("Namespace", NAMESPACE))  # Helm creates the release namespace
    for key, obj in list(chart.items()):
        if key[0] == "CustomResourceDefinition":  # crds.keep: true by default
            chart[key] = without_keep(obj)
    assert_same_objects(chart, manifests)

    created = helm.template("namespace.create=true")[("Namespace", NAMESPACE)]
    assert without_helm_labels(created) == namespace


def test_ha_values_render_the_objects_of_the_ha_overlay(
    helm: Helm, kustomized: Callable[[str], Objects]
) -> None:
    sets = ("replicas=2", "webhook.certificate=cert-manager", "crds.keep=false")
    chart, overlay = helm.template(*sets), kustomized("overlays/ha")
    overlay.pop(("Namespace", NAMESPACE))
    assert_same_objects(chart, overlay)


# --- values --------------------------------------------------------------------------------------


def deployment(objects: Objects) -> dict[str, Any]:
    return objects[("Deployment", "journeys-operator")]


def pod(objects: Objects) -> dict[str, Any]:
    return deployment(objects)["spec"]["template"]["spec"]  # type: ignore[no-any-return]


def args(objects: Objects) -> list[str]:
    return pod(objects)["containers"][0]["args"]  # type: ignore[no-any-return]


def kinds(objects: Objects) -> set[str]:
    return {kind for kind, _ in objects}


CHECKS: list[tuple[tuple[str, ...], Callable[[Objects], bool]]] = [
    (
        ("image.repository=registry.example/ops/journeys", "image.tag=1.2.3"),
        lambda o: pod(o)["containers"][0]["image"] == "registry.example/ops/journeys:1.2.3",
    ),
    (
        ("image.pullPolicy=Always",),
        lambda o: pod(o)["containers"][0]["imagePullPolicy"] == "Always",
    ),
    (
        ("image.pullSecrets[0].name=regcred",),
        lambda o: pod(o)["imagePullSecrets"] == [{"name": "regcred"}],
    ),
    (
        ("replicas=3", "webhook.certificate=cert-manager"),
        lambda o: deployment(o)["spec"]["replicas"] == 3,
    ),
    (("peering.lifetime=20",), lambda o: "--peering-lifetime=20" in args(o)),
    (("peering.name=",), lambda o: not any(a.startswith("--peering") for a in args(o))),
    (("crds.install=false",), lambda o: "CustomResourceDefinition" not in kinds(o)),
    (
        ("crds.keep=false",),
        lambda o: all(
            "annotations" not in obj["metadata"]
            for (kind, _), obj in o.items()
            if kind == "CustomResourceDefinition"
        ),
    ),
    (
        ("webhook.enabled=false",),
        lambda o: (
            "--admission=none" in args(o)
            and not {"ValidatingWebhookConfiguration", "MutatingWebhookConfiguration"} & kinds(o)
            and ("Service", "journeys-webhook") not in o
        ),
    ),
    (
        ("webhook.certificate=cert-manager",),
        lambda o: (
            "--webhook-cert-dir=/etc/journeys/webhook" in args(o)
            and {"Issuer", "Certificate"} <= kinds(o)
            and o[("ValidatingWebhookConfiguration", "journeys.dev")]["metadata"]["annotations"]
            == {"cert-manager.io/inject-ca-from": f"{NAMESPACE}/journeys-webhook"}
        ),
    ),
    (
        ("watchNamespaces={team-a,team-b}",),
        lambda o: args(o)[-2:] == ["--namespace=team-a", "--namespace=team-b"],
    ),
    (("logFormat=text",), lambda o: "--log-format=text" in args(o)),
    (
        ("metrics.enabled=false",),
        lambda o: (
            "--metrics-port=0" in args(o)
            and ("Service", "journeys-operator-metrics") not in o
            and "annotations" not in deployment(o)["spec"]["template"]["metadata"]
        ),
    ),
    (
        ("metrics.port=9100",),
        lambda o: (
            "--metrics-port=9100" in args(o)
            and o[("Service", "journeys-operator-metrics")]["spec"]["ports"][0]["port"] == 9100
        ),
    ),
    (
        ("metrics.serviceMonitor.enabled=true", "metrics.serviceMonitor.labels.release=prom"),
        lambda o: (
            o[("ServiceMonitor", "journeys-operator")]["metadata"]["labels"]["release"] == "prom"
        ),
    ),
    (
        ("dashboard.enabled=true",),
        lambda o: (
            json.loads(
                o[("ConfigMap", "journeys-operator-dashboard")]["data"]["journeys-operator.json"]
            )
            == json.loads((MANIFESTS / "dashboards" / "journeys-operator.json").read_text())
        ),
    ),
    (
        ("metrics.serviceMonitor.enabled=true", "metrics.serviceMonitor.interval=10s"),
        lambda o: (
            o[("ServiceMonitor", "journeys-operator")]["spec"]["endpoints"][0]["interval"] == "10s"
        ),
    ),
    (
        ("dashboard.enabled=true", "dashboard.labels.team=ops"),
        lambda o: (
            o[("ConfigMap", "journeys-operator-dashboard")]["metadata"]["labels"]["team"] == "ops"
        ),
    ),
    (("namespace.create=true",), lambda o: ("Namespace", NAMESPACE) in o),
    (
        ("resources.limits.memory=1Gi",),
        lambda o: pod(o)["containers"][0]["resources"]["limits"]["memory"] == "1Gi",
    ),
    (("nodeSelector.pool=ops",), lambda o: pod(o)["nodeSelector"] == {"pool": "ops"}),
    (
        ("tolerations[0].key=dedicated", "tolerations[0].operator=Exists"),
        lambda o: pod(o)["tolerations"] == [{"key": "dedicated", "operator": "Exists"}],
    ),
    (("affinity=null",), lambda o: "affinity" not in pod(o)),
    (("podDisruptionBudget.enabled=false",), lambda o: "PodDisruptionBudget" not in kinds(o)),
    (("networkPolicy.enabled=false",), lambda o: "NetworkPolicy" not in kinds(o)),
]


@pytest.mark.parametrize(("sets", "check"), CHECKS, ids=[" ".join(s) for s, _ in CHECKS])
def test_each_value_changes_what_it_should(
    helm: Helm, sets: tuple[str, ...], check: Callable[[Objects], bool]
) -> None:
    default, changed = helm.template(), helm.template(*sets)
    assert not holds(check, default), "the check holds with default values: it proves nothing"
    assert holds(check, changed)


def holds(check: Callable[[Objects], bool], objects: Objects) -> bool:
    """A check that looks for an object or field that is not there does not hold."""
    try:
        return check(objects)
    except KeyError:
        return False


def test_every_value_is_exercised() -> None:
    """Each documented value is changed by a check above."""
    covered = {s.split("=", 1)[0].split("[", 1)[0] for sets, _ in CHECKS for s in sets}
    text = (CHART / "values.yaml").read_text()
    for key, _ in hack_chart.documented_values(text):
        assert any(c == key or c.startswith(f"{key}.") for c in covered), key


@pytest.mark.parametrize(
    ("sets", "message"),
    [
        (("replicas=2",), "replicas > 1 needs webhook.certificate=cert-manager"),
        (("replicas=2", "webhook.certificate=cert-manager", "peering.name="), "needs peering.name"),
        (("watchNamespaces={team-*}",), "is a pattern: peering needs exact names"),
        (("logFormat=xml",), "at '/logFormat'"),
        (("webhook.certificate=vault",), "at '/webhook/certificate'"),
    ],
)
def test_impossible_values_are_refused(helm: Helm, sets: tuple[str, ...], message: str) -> None:
    result = helm("template", "journeys", str(CHART), *_sets(sets), check=False)
    assert result.returncode != 0
    assert message in result.stderr, result.stderr


# --- on the cluster ------------------------------------------------------------------------------


@pytest.fixture
def release_namespace(helm: Helm, kubectl: Kubectl) -> Iterator[str]:
    """A namespace for the release; afterwards the cluster is as it was before.

    The release adopts objects that exist already (the CRDs, and the admission policies and
    people's roles that `make install-crds` applies for other tests); uninstalling deletes
    all but the CRDs, so those are put back as they were.
    """
    name = f"it-chart-{uuid.uuid4().hex[:8]}"
    existing = {}
    for kind, obj_name in helm.template(namespace=name):
        found = kubectl("get", kind, obj_name, "-n", name, "-o", "json", "--ignore-not-found")
        if found.stdout.strip():
            existing[(kind, obj_name)] = _as_created(json.loads(found.stdout))
    yield name
    helm(
        "uninstall", "journeys", "-n", name, "--ignore-not-found", "--wait", "--timeout", "120s",
        check=False,
    )  # fmt: skip
    # Cluster-wide objects named like a real installation's: never leave them behind, least of
    # all webhook configurations whose Service has no server (every journey write would fail).
    kubectl(
        "delete", "validatingwebhookconfiguration,mutatingwebhookconfiguration", "journeys.dev",
        "--ignore-not-found",
    )  # fmt: skip
    for (kind, obj_name), obj in existing.items():
        if kubectl("get", kind, obj_name, "--ignore-not-found", "-o", "name").stdout.strip():
            continue  # kept (the CRDs)
        kubectl("create", "-f", "-", input=json.dumps(obj))
    kubectl("delete", "namespace", name, "--ignore-not-found", "--wait=false")


def _as_created(obj: dict[str, Any]) -> dict[str, Any]:
    """An object as it can be created again: without server-set fields and status."""
    metadata = obj["metadata"]
    for field in ("resourceVersion", "uid", "creationTimestamp", "generation", "managedFields"):
        metadata.pop(field, None)
    obj.pop("status", None)
    return obj


def test_install_upgrade_uninstall_keeps_the_crds(
    helm: Helm, kubectl: Kubectl, api_client: client.ApiClient, release_namespace: str
) -> None:
    ns = ("-n", release_namespace)
    # The CRDs and policies exist already (make install-crds, as an earlier `kubectl apply -k`
    # would have made them): the release adopts them, and takes over the fields that another
    # field manager applied.
    helm(
        "install", "journeys", str(CHART), *ns, "--create-namespace", "--take-ownership",
        "--force-conflicts", "--wait", "--timeout", "180s",
    )  # fmt: skip
    apps = client.AppsV1Api(api_client)
    operator = apps.read_namespaced_deployment("journeys-operator", release_namespace)
    assert operator.status.available_replicas == 1
    webhook = kubectl("get", "validatingwebhookconfiguration", "journeys.dev", "-o", "json")
    services = {
        w["clientConfig"]["service"]["namespace"] for w in json.loads(webhook.stdout)["webhooks"]
    }
    assert services == {release_namespace}

    helm(
        "upgrade", "journeys", str(CHART), *ns, "--reuse-values", "--set", "logFormat=text",
        "--wait", "--timeout", "180s",
    )  # fmt: skip
    wait_for(
        "the upgraded Deployment's args",
        lambda: (
            "--log-format=text"
            in apps.read_namespaced_deployment("journeys-operator", release_namespace)
            .spec.template.spec.containers[0]
            .args
        ),
    )
    assert json.loads(helm("status", "journeys", *ns, "-o", "json").stdout)["version"] == 2

    helm("uninstall", "journeys", *ns, "--wait", "--timeout", "120s")
    extensions = client.ApiextensionsV1Api(api_client)
    for crd in ("journeys.journeys.dev", "participants.journeys.dev", "kopfpeerings.kopf.dev"):
        extensions.read_custom_resource_definition(crd)  # still there: helm.sh/resource-policy
    with pytest.raises(ApiException) as gone:
        apps.read_namespaced_deployment("journeys-operator", release_namespace)
    assert gone.value.status == 404
    leftover = kubectl("get", "validatingwebhookconfiguration", "journeys.dev", check=False)
    assert leftover.returncode != 0 and "NotFound" in leftover.stderr
