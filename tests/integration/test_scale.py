"""Scale on the real cluster (docs/scaling.md): what the operator asks the API server for, that
it never answers admission from an incomplete view, and what the API server shards.

The operator runs as a ServiceAccount bound to the shipped ClusterRole without the right to list
or watch Jobs, so its first listing of Jobs cannot finish (Kopf retries it): every admission that
reads the view must be refused as retryable, readiness must say not ready, and Kopf's log of the
refused requests shows what the operator asks for. Granting the right lets the listing finish,
and the same entry is admitted.
"""

from __future__ import annotations

import asyncio
import re
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from bench.process import OperatorProcess
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from journeys.api import GROUP, LABEL_PARTICIPANT, VERSION
from journeys.runtime import sharding
from journeys.runtime.kube import Kube
from journeys.webhooks.configurations import dev_configuration_name
from tests.integration.conftest import TEST_NAMESPACE_LABEL, Kubectl
from tests.integration.support import (
    Cluster,
    journey_manifest,
    participant_manifest,
    token_kubeconfig,
    wait_for,
)
from tests.integration.test_install import find, free_port, rendered

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]

ACCOUNT = "journeys-operator"
RETRYABLE = "still loading its view of the cluster"


def without_jobs_reads(rules: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The role's rules with ``list`` and ``watch`` of Jobs taken out."""
    return [
        {**rule, "verbs": [v for v in rule["verbs"] if v not in {"list", "watch"}]}
        if "jobs" in rule["resources"] and "batch" in rule.get("apiGroups", [])
        else rule
        for rule in rules
    ]


class Account:
    """A ServiceAccount with a ClusterRole of its own, whose rules the test changes."""

    def __init__(self, api: client.ApiClient, namespace: str) -> None:
        self.rbac = client.RbacAuthorizationV1Api(api)
        self.core = client.CoreV1Api(api)
        self.namespace = namespace
        self.role = f"{ACCOUNT}-{namespace}"

    def create(self, rules: list[dict[str, Any]]) -> str:
        labels = {TEST_NAMESPACE_LABEL: "true"}
        account: Any = {"metadata": {"name": ACCOUNT}}
        role: Any = {"metadata": {"name": self.role, "labels": labels}, "rules": rules}
        binding: Any = {
            "metadata": {"name": self.role, "labels": labels},
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "ClusterRole",
                "name": self.role,
            },
            "subjects": [{"kind": "ServiceAccount", "name": ACCOUNT, "namespace": self.namespace}],
        }
        request: Any = {"spec": {"expirationSeconds": 3600}}
        self.core.create_namespaced_service_account(self.namespace, account)
        self.rbac.create_cluster_role(role)
        self.rbac.create_cluster_role_binding(binding)
        answer: Any = self.core.create_namespaced_service_account_token(
            ACCOUNT, self.namespace, request
        )
        return str(answer.status.token)

    def replace_rules(self, rules: list[dict[str, Any]]) -> None:
        self.rbac.patch_cluster_role(self.role, {"rules": rules})

    def delete(self) -> None:
        self.rbac.delete_cluster_role_binding(self.role)
        self.rbac.delete_cluster_role(self.role)


@pytest.fixture
def account(api_client: client.ApiClient, namespace: str) -> Iterator[Account]:
    found = Account(api_client, namespace)
    yield found
    found.delete()


def _health(port: int) -> int:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=10) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as error:
        return int(error.code)
    except OSError:
        return 0  # not serving yet


def test_no_answer_from_an_incomplete_view(
    cluster: Cluster,
    namespace: str,
    kubectl: Kubectl,
    kubeconfig_path: str,
    account: Account,
    api_client: client.ApiClient,
    tmp_path: Path,
) -> None:
    shipped = find(rendered(kubectl), "ClusterRole")["rules"]
    # --admission dev registers webhook configurations of its own name (the role names one).
    dev_webhooks = {
        "apiGroups": ["admissionregistration.k8s.io"],
        "resources": ["validatingwebhookconfigurations", "mutatingwebhookconfigurations"],
        "verbs": ["get", "list", "create", "patch", "update", "delete"],
    }
    token = account.create([*without_jobs_reads(shipped), dev_webhooks])
    config_path = tmp_path / "operator.kubeconfig"
    config_path.write_text(yaml.safe_dump(token_kubeconfig(kubeconfig_path, token, ACCOUNT)))
    cluster.create(journey_manifest("gate-v1", delay="2s"))
    port = free_port()
    operator = OperatorProcess(
        namespace,
        "--admission",
        "dev",
        "--liveness",
        f"http://127.0.0.1:{port}/healthz",
        env={"KUBECONFIG": str(config_path)},
    ).start()

    objects = client.CustomObjectsApi(api_client)

    def entry(name: str) -> ApiException | None:
        """A server-side dry run of an entry: the webhooks answer, nothing is stored."""
        body = participant_manifest(name, "gate-v1")
        try:
            objects.create_namespaced_custom_object(
                GROUP, VERSION, namespace, "participants", body, dry_run="All"
            )
        except ApiException as error:
            return error
        return None

    def refused_as_retryable() -> ApiException | None:
        error = entry("early")
        return error if error is not None and RETRYABLE in str(error.body) else None

    try:
        refused = wait_for("an entry refused during the first listing", refused_as_retryable, 90)
        assert refused.status == 503, refused
        assert "retry" in str(refused.body)
        assert _health(port) == 500  # not ready
        assert not cluster.participants()

        # What the operator asks for, from Kopf's log of the refused Jobs requests: only its
        # own Jobs (server-side label selection), as a streamed initial list on this server.
        log = operator.output()
        jobs_requests = re.findall(r"GET (\S+/apis/batch/v1/namespaces/[^/\s]+/jobs\?\S+)", log)
        assert jobs_requests, log[-3000:]
        assert all("labelSelector=journeys.dev%2Fparticipant" in r for r in jobs_requests)
        assert any("sendInitialEvents=true" in r for r in jobs_requests)

        account.replace_rules([*shipped, dev_webhooks])
        wait_for("the same entry admitted", lambda: entry("early") is None, timeout=120)
        assert _health(port) == 200
        cluster.create(participant_manifest("early", "gate-v1"))
        wait_for(
            "early Completed", lambda: cluster.phases().get("early") == "Completed", timeout=120
        )
    finally:
        operator.stop()
        kubectl(
            "delete", "validatingwebhookconfiguration,mutatingwebhookconfiguration",
            dev_configuration_name([namespace]), "--ignore-not-found", "--wait=false",
        )  # fmt: skip
        print(operator.output()[-4000:])  # shown by pytest only when the test failed


def test_the_shard_echo_is_checked_against_the_api_server() -> None:
    """What docs/scaling.md states of v1.36.3 with ShardedListAndWatch on: Jobs are sharded and
    the selector echoed; custom resources are not, and a sharded replica must refuse them."""
    shard = sharding.Shard(1, 4)

    async def check() -> None:
        kube = await Kube.connect(pool_size=2)
        try:

            async def get(path: str, query: dict[str, str]) -> dict[str, Any]:
                return await kube.request("GET", path, query=query)

            await sharding.verify(get, shard, {"jobs": "/apis/batch/v1/jobs"})
            participants = {"participants": "/apis/journeys.dev/v1alpha1/participants"}
            with pytest.raises(sharding.ShardingRefused, match="ShardedListAndWatch"):
                await sharding.verify(get, shard, participants)
        finally:
            await kube.close()

    asyncio.run(check())


@pytest.fixture
def namespaces(api_client: client.ApiClient) -> Iterator[dict[str, int]]:
    """Four namespaces, two owned by each of two shards: name -> shard index."""
    core = client.CoreV1Api(api_client)
    base = f"it-shard-{uuid.uuid4().hex[:5]}"
    found: dict[str, int] = {}
    for i in range(200):
        name = f"{i}-{base}"  # a leading counter spreads FNV-1a hashes (docs/scaling.md)
        index = sharding.shard_of(name, 2)
        if list(found.values()).count(index) < 2:
            found[name] = index
        if len(found) == 4:
            break
    labels = {TEST_NAMESPACE_LABEL: "true"}
    for name in found:
        core.create_namespace(
            client.V1Namespace(metadata=client.V1ObjectMeta(name=name, labels=labels))
        )
    yield found
    for name in found:
        core.delete_namespace(name, propagation_policy="Background")


def test_two_shards_split_the_namespaces(
    api_client: client.ApiClient, namespaces: dict[str, int]
) -> None:
    """Each shard reconciles only its namespaces; together they close and stop everything."""
    first, *others = namespaces
    watch = [arg for ns in others for arg in ("--namespace", ns)]
    operators = [
        OperatorProcess(
            first, *watch, "--shards", "2", "--shard-index", str(i), env={"POD_NAME": f"shard-{i}"}
        ).start()
        for i in range(2)
    ]
    clusters = {ns: Cluster(api_client, ns) for ns in namespaces}
    try:
        for cluster in clusters.values():
            cluster.create(journey_manifest("close-v1", delay="10s"))
            cluster.create(journey_manifest("stop-v1", delay="600s"))
            for i in range(3):
                cluster.create(participant_manifest(f"c{i}", "close-v1"))
                cluster.create(participant_manifest(f"s{i}", "stop-v1"))

        def all_active() -> bool:
            return all(
                set(c.phases().values()) <= {"Active", "Completed"} and len(c.phases()) == 6
                for c in clusters.values()
            )

        wait_for("every participant Active", all_active, timeout=120)
        for cluster in clusters.values():
            cluster.patch_spec("journeys", "close-v1", {"state": "closed"})
            cluster.patch_spec("journeys", "stop-v1", {"state": "stopped"})

        def counts(cluster: Cluster, journey: str) -> dict[str, Any]:
            status = cluster.journey(journey).get("status") or {}
            return {"phase": status.get("phase"), **(status.get("participants") or {})}

        def ended() -> bool:
            return all(
                counts(c, "close-v1")["phase"] == "Finished"
                and counts(c, "stop-v1")["phase"] == "Stopped"
                and counts(c, "stop-v1").get("halted") == 3
                for c in clusters.values()
            )

        wait_for("every journey Finished or Stopped", ended, timeout=180)
        for ns, cluster in clusters.items():
            closed, stopped = counts(cluster, "close-v1"), counts(cluster, "stop-v1")
            assert (closed["completed"], closed["active"], closed["halted"]) == (3, 0, 0), ns
            assert (stopped["halted"], stopped["active"], stopped["completed"]) == (3, 0, 0), ns
            jobs = [
                str(job.to_dict()["metadata"]["labels"][LABEL_PARTICIPANT])
                for job in cluster.jobs()
            ]
            assert sorted(jobs) == sorted(cluster.phases()), ns  # one Job each, none twice
            reporters = {
                e.reporting_instance
                for e in cluster.core.list_namespaced_event(ns).items
                if e.reporting_component == "journeys.dev/operator"
            }
            assert reporters == {f"shard-{namespaces[ns]}"}, ns
        assert all(o.process is not None and o.process.poll() is None for o in operators)
    finally:
        for operator in operators:
            operator.stop()
            print(operator.output()[-3000:])  # shown by pytest only when the test failed
