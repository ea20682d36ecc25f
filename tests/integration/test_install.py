"""What a platform team installs, proved on the real cluster (docs/install.md).

- ``kubectl apply -k manifests/`` is accepted by the API server (server-side dry run).
- Least privilege: the operator, authenticated with a ServiceAccount token bound to exactly the
  shipped ClusterRole, runs every lifecycle path; a request outside the role is forbidden.
- High availability: of two peered replicas one reconciles; killed during a stop, the other
  finishes it.
- Metrics: the endpoint's series and values after a small lifecycle.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from bench.process import free_port, sample, scrape
from kubernetes import client, config
from kubernetes.client.rest import ApiException

from tests.integration.conftest import TEST_NAMESPACE_LABEL, Kubectl
from tests.integration.support import (
    Cluster,
    OperatorProcess,
    journey_manifest,
    participant_manifest,
    token_kubeconfig,
    wait_for,
    wait_for_events,
)

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]

MANIFESTS = Path(__file__).resolve().parents[2] / "manifests"
OPERATOR = "journeys-operator"


def rendered(kubectl: Kubectl) -> list[dict[str, Any]]:
    """The base as kustomize builds it (what `kubectl apply -k` sends)."""
    text = kubectl("kustomize", str(MANIFESTS)).stdout
    return [doc for doc in yaml.safe_load_all(text) if doc]


def find(documents: list[dict[str, Any]], kind: str, name: str = OPERATOR) -> dict[str, Any]:
    return next(d for d in documents if d["kind"] == kind and d["metadata"]["name"] == name)


def enter(cluster: Cluster, journey: str, count: int) -> list[str]:
    names = [f"{journey}-p{i}" for i in range(count)]
    for name in names:
        cluster.create(participant_manifest(name, journey))
    return names


def all_in(cluster: Cluster, names: list[str], phase: str) -> bool:
    phases = cluster.phases()
    return all(phases.get(n) == phase for n in names)


def phase_of(cluster: Cluster, journey: str) -> str:
    return str((cluster.journey(journey).get("status") or {}).get("phase", ""))


# --- (a) the manifests apply ---------------------------------------------------------------------


def test_manifests_apply_cleanly_server_side(
    kubectl: Kubectl, api_client: client.ApiClient, namespace: str
) -> None:
    """A dry run creates nothing, so the target namespace must exist for namespaced objects."""
    core = client.CoreV1Api(api_client)
    created = False
    try:
        core.read_namespace("journeys-system")
    except ApiException as error:
        if error.status != 404:
            raise
        core.create_namespace(
            {"metadata": {"name": "journeys-system", "labels": {TEST_NAMESPACE_LABEL: "true"}}}
        )
        created = True
    try:
        applied = kubectl("apply", "-k", str(MANIFESTS), "--dry-run=server")
        samples = kubectl(
            "apply", "-n", namespace, "-k", str(MANIFESTS / "samples"), "--dry-run=server"
        )
    finally:
        if created:
            core.delete_namespace("journeys-system")
    for expected in [
        "customresourcedefinition.apiextensions.k8s.io/journeys.journeys.dev",
        "customresourcedefinition.apiextensions.k8s.io/clusterkopfpeerings.kopf.dev",
        f"clusterrole.rbac.authorization.k8s.io/{OPERATOR}",
        f"deployment.apps/{OPERATOR}",
        f"poddisruptionbudget.policy/{OPERATOR}",
        f"networkpolicy.networking.k8s.io/{OPERATOR}",
        "validatingwebhookconfiguration.admissionregistration.k8s.io/journeys.dev",
    ]:
        assert expected in applied.stdout, applied.stdout
    assert "journey.journeys.dev/welcome-v1" in samples.stdout
    # The HA overlay needs cert-manager's CRDs to be applied; here it must at least build.
    ha = [
        d
        for d in yaml.safe_load_all(kubectl("kustomize", str(MANIFESTS / "overlays/ha")).stdout)
        if d
    ]
    assert find(ha, "Deployment")["spec"]["replicas"] == 2
    assert {"Issuer", "Certificate"} <= {d["kind"] for d in ha}


# --- (b) least privilege -------------------------------------------------------------------------


@pytest.fixture
def operator_kubeconfig(
    kubectl: Kubectl,
    api_client: client.ApiClient,
    namespace: str,
    kubeconfig_path: str,
    tmp_path: Path,
) -> Iterator[Path]:
    """A kubeconfig for a ServiceAccount bound to exactly the shipped ClusterRole's rules.

    The ServiceAccount lives in the test's namespace and the role gets a name of its own, so a
    real installation on the same cluster is never touched.
    """
    documents = rendered(kubectl)
    rules = find(documents, "ClusterRole")["rules"]
    role = f"{OPERATOR}-{namespace}"
    core = client.CoreV1Api(api_client)
    rbac = client.RbacAuthorizationV1Api(api_client)
    core.create_namespaced_service_account(namespace, {"metadata": {"name": OPERATOR}})
    labels = {TEST_NAMESPACE_LABEL: "true"}
    rbac.create_cluster_role({"metadata": {"name": role, "labels": labels}, "rules": rules})
    rbac.create_cluster_role_binding(
        {
            "metadata": {"name": role, "labels": labels},
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "ClusterRole",
                "name": role,
            },
            "subjects": [{"kind": "ServiceAccount", "name": OPERATOR, "namespace": namespace}],
        }
    )
    try:
        token = core.create_namespaced_service_account_token(
            OPERATOR, namespace, {"spec": {"expirationSeconds": 3600}}
        ).status.token
        path = tmp_path / "operator.kubeconfig"
        path.write_text(yaml.safe_dump(token_kubeconfig(kubeconfig_path, token, OPERATOR)))
        path.chmod(0o600)
        yield path
    finally:
        rbac.delete_cluster_role_binding(role)
        rbac.delete_cluster_role(role)


def test_operator_needs_nothing_beyond_its_role(
    cluster: Cluster, namespace: str, operator_kubeconfig: Path
) -> None:
    operator = OperatorProcess(namespace, env={"KUBECONFIG": str(operator_kubeconfig)}).start()
    try:
        cluster.create(journey_manifest("done-v1", delay="2s"))
        cluster.create(journey_manifest("drain-v1", delay="8s"))
        cluster.create(journey_manifest("suspend-v1", delay="600s"))
        cluster.create(journey_manifest("delete-v1", delay="600s", halt={"policy": "Delete"}))
        done = enter(cluster, "done-v1", 2)
        draining = enter(cluster, "drain-v1", 2)
        suspended = enter(cluster, "suspend-v1", 3)
        deleted = enter(cluster, "delete-v1", 3)
        wait_for(
            "long ones Active", lambda: all_in(cluster, draining + suspended + deleted, "Active")
        )

        cluster.patch_spec("journeys", "drain-v1", {"state": "closed"})
        cluster.patch_spec("journeys", "suspend-v1", {"state": "stopped"})
        cluster.patch_spec("journeys", "delete-v1", {"state": "stopped"})
        # Closed, or already Finished if its 8 s pods ended before the close on a slow machine.
        wait_for("drain-v1 closed", lambda: phase_of(cluster, "drain-v1") in {"Closed", "Finished"})
        cluster.create(participant_manifest("late", "drain-v1"))

        wait_for("entries Completed", lambda: all_in(cluster, done + draining, "Completed"), 90)
        wait_for("drain-v1 Finished", lambda: phase_of(cluster, "drain-v1") == "Finished", 60)
        wait_for("stops Halted", lambda: all_in(cluster, suspended + deleted, "Halted"), 60)
        wait_for("late entry Rejected", lambda: all_in(cluster, ["late"], "Rejected"))
        wait_for("Delete policy removed the Jobs", lambda: not cluster.jobs("delete-v1"), 60)
        assert all(job.spec.suspend for job in cluster.jobs("suspend-v1"))
        wait_for_events(cluster, "suspend-v1", "StopRequested")
        wait_for_events(cluster, "drain-v1", "CloseRequested", "Drained")
    finally:
        operator.stop()
        output = operator.output()
        print(output[-4000:])
    assert "Forbidden" not in output and "forbidden" not in output

    # Outside the role: the same identity may not list Secrets anywhere.
    as_operator = config.new_client_from_config(config_file=str(operator_kubeconfig))
    try:
        with pytest.raises(ApiException) as refused:
            client.CoreV1Api(as_operator).list_secret_for_all_namespaces()
        assert refused.value.status == 403
        reviews = client.AuthorizationV1Api(as_operator)
        allowed = {
            (verb, resource, name): reviews.create_self_subject_access_review(
                {"spec": {"resourceAttributes": _attributes(verb, resource, name)}}
            ).status.allowed
            for verb, resource, name in [
                ("patch", "validatingwebhookconfigurations", "journeys.dev"),
                ("patch", "validatingwebhookconfigurations", "someone-elses"),
                ("get", "secrets", ""),
                ("update", "journeys", ""),
                ("delete", "participants", ""),
            ]
        }
    finally:
        as_operator.close()
    assert allowed == {
        ("patch", "validatingwebhookconfigurations", "journeys.dev"): True,
        ("patch", "validatingwebhookconfigurations", "someone-elses"): False,
        ("get", "secrets", ""): False,
        ("update", "journeys", ""): False,
        ("delete", "participants", ""): False,
    }


def _attributes(verb: str, resource: str, name: str) -> dict[str, str]:
    group = {
        "validatingwebhookconfigurations": "admissionregistration.k8s.io",
        "journeys": "journeys.dev",
        "participants": "journeys.dev",
    }.get(resource, "")
    attributes = {"verb": verb, "group": group, "resource": resource}
    if name:
        attributes["name"] = name
    return attributes


# --- (c) high availability -----------------------------------------------------------------------


def test_one_replica_reconciles_and_the_other_finishes_a_stop(
    cluster: Cluster, namespace: str, kubectl: Kubectl
) -> None:
    count = 100
    kubectl("apply", "-f", str(MANIFESTS / "peering" / "crds.yaml"))
    kubectl("wait", "--for=condition=Established", "crd/kopfpeerings.kopf.dev", "--timeout=30s")
    ports = free_port(), free_port()
    peered = ("--peering", "journeys", "--peering-lifetime", "6")
    # The first replica halts one participant at a time, so that the kill lands mid-stop.
    first = OperatorProcess(
        namespace, *peered, "--metrics-port", str(ports[0]), "--participant-concurrency", "1"
    ).start()
    second: OperatorProcess | None = None
    try:
        wait_for("the first replica to lead", lambda: _leader(ports[0]) == 1, 60)
        second = OperatorProcess(namespace, *peered, "--metrics-port", str(ports[1])).start()
        wait_for("both replicas registered", lambda: len(_peers(kubectl, namespace)) == 2, 60)
        assert _leader(ports[1]) == 0

        cluster.create(journey_manifest("ha-v1", delay="600s"))
        names = enter(cluster, "ha-v1", count)
        wait_for("all Active", lambda: all_in(cluster, names, "Active"), 150)
        assert _admitted(ports[0], namespace) == count
        assert _admitted(ports[1], namespace) is None  # the standby admitted no one

        cluster.patch_spec("journeys", "ha-v1", {"state": "stopped"})
        wait_for(
            "the stop to be under way",
            lambda: any(p == "Halted" for p in cluster.phases().values()),
            60,
            interval=0.1,
        )
        first.kill()
        halted_at_kill = sum(p == "Halted" for p in cluster.phases().values())
        assert halted_at_kill < count, "the first replica finished the stop before the kill"

        wait_for("the second replica to lead", lambda: _leader(ports[1]) == 1, 60)
        wait_for("all Halted", lambda: all_in(cluster, names, "Halted"), 120)
        jobs = cluster.jobs("ha-v1")
        assert sorted(j.metadata.name for j in jobs) == sorted(names)  # none twice, none missing
        assert all(j.spec.suspend for j in jobs)
        print(f"halted when the leader was killed: {halted_at_kill}/{count}")
        assert "this replica leads" in second.output()
    finally:
        first.kill()
        if second is not None:
            second.stop()
            print(second.output()[-3000:])
        print(first.output()[-3000:])


def _leader(port: int) -> float | None:
    return sample(scrape(port), "journeys_operator_leader")


def _admitted(port: int, namespace: str) -> float | None:
    return sample(scrape(port), "journeys_entries_admitted_total", namespace=namespace)


def _peers(kubectl: Kubectl, namespace: str) -> dict[str, Any]:
    found = kubectl("get", "kopfpeering", "journeys", "-n", namespace, "-o", "yaml", check=False)
    if found.returncode != 0:
        return {}
    return dict((yaml.safe_load(found.stdout) or {}).get("status") or {})


# --- (d) metrics ---------------------------------------------------------------------------------


def test_metrics_after_a_small_lifecycle(cluster: Cluster, namespace: str) -> None:
    port = free_port()
    operator = OperatorProcess(namespace, "--metrics-port", str(port)).start()
    try:
        cluster.create(journey_manifest("done-v1", delay="2s"))
        cluster.create(journey_manifest("stop-v1", delay="600s"))
        cluster.create(journey_manifest("empty-v1"))
        completed = enter(cluster, "done-v1", 2)
        halted = enter(cluster, "stop-v1", 2)
        wait_for("Completed", lambda: all_in(cluster, completed, "Completed"), 90)
        wait_for("Active", lambda: all_in(cluster, halted, "Active"), 60)
        cluster.patch_spec("journeys", "stop-v1", {"state": "stopped"})
        cluster.patch_spec("journeys", "empty-v1", {"state": "closed"})
        wait_for("Halted", lambda: all_in(cluster, halted, "Halted"), 60)
        cluster.create(participant_manifest("late", "stop-v1"))
        wait_for("late entry Rejected", lambda: all_in(cluster, ["late"], "Rejected"))
        wait_for("empty-v1 Finished", lambda: phase_of(cluster, "empty-v1") == "Finished")

        def series(name: str, **labels: str) -> tuple[str, frozenset[tuple[str, str]]]:
            return name, frozenset(labels.items())

        ns = namespace
        expected = {
            **{
                series("journeys_journeys_by_phase", namespace=ns, phase=phase): count
                for phase, count in {"Live": 1, "Closed": 0, "Stopped": 1, "Finished": 1}.items()
            },
            **{
                series("journeys_participants_by_phase", namespace=ns, phase=phase): count
                for phase, count in {
                    "Pending": 0,
                    "Active": 0,
                    "Completed": 2,
                    "Halted": 2,
                    "Rejected": 1,
                }.items()
            },
            series("journeys_entries_admitted_total", namespace=ns): 4,
            series(
                "journeys_entries_refused_total",
                namespace=ns,
                reason="JourneyStopped",
                source="operator",
            ): 1,
            series("journeys_halt_duration_seconds_count", phase="Stopped"): 1,
            series("journeys_drain_duration_seconds_count", outcome="Drained"): 1,
            series("journeys_operator_leader"): 1,
        }
        samples: dict[Any, float] = {}
        last: dict[Any, float | None] = {}

        def caught_up() -> bool:
            """Every asserted series settles on its own schedule (gauges at scrape time,
            histograms when the reconciler sees a halt or drain end): wait for all of them."""
            nonlocal samples, last
            samples = scrape(port)
            last = {key: samples.get(key) for key in expected}
            return last == expected

        try:
            wait_for("the metrics to show the whole lifecycle", caught_up, 60)
        except AssertionError:
            assert last == expected  # names each series that did not get there
    finally:
        operator.stop()
        print(operator.output()[-3000:])

    assert sample(samples, "journeys_workqueue_depth", queue="participants") is not None
    for resource in ("journeys", "participants", "jobs"):
        assert (sample(samples, "journeys_watch_events_total", resource=resource) or 0) > 0
    assert not any(name == "journeys_reconcile_errors_total" for name, _ in samples)


def test_json_logs(namespace: str, cluster: Cluster) -> None:
    """Every line is one JSON object, and lines about a Kopf object name it."""
    operator = OperatorProcess(namespace, "--log-format", "json", "--verbose").start()
    try:
        cluster.create(journey_manifest("logged-v1"))
        wait_for("Live", lambda: phase_of(cluster, "logged-v1") == "Live")
    finally:
        operator.stop()
    lines = [line for line in operator.output().splitlines() if line.strip()]
    records = [json.loads(line) for line in lines]
    assert all(
        isinstance(r, dict) and {"timestamp", "severity", "logger", "message"} <= set(r)
        for r in records
    )
    assert any((r.get("object") or {}).get("name") == "logged-v1" for r in records), (
        "no record carries the journey as its object"
    )
