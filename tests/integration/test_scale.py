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
from bench.process import OperatorProcess, free_port, sample, scrape
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
from tests.integration.test_install import (
    MANIFESTS,
    enter,
    find,
    rendered,
)

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


class Replica:
    """One operator pod of a sharded StatefulSet: its ordinal says its shard (modulo 2)."""

    def __init__(self, ordinal: int, namespaces: list[str]) -> None:
        first, *others = namespaces
        watch = [arg for ns in others for arg in ("--namespace", ns)]
        self.name = f"journeys-operator-{ordinal}"
        self.port = free_port()
        self.process = OperatorProcess(
            first,
            *watch,
            "--shards", "2",
            "--peering", "journeys",
            "--peering-lifetime", "6",
            "--metrics-port", str(self.port),
            # Shard 0's first leader halts one participant at a time: the kill lands mid-stop.
            *(("--participant-concurrency", "1") if ordinal == 0 else ()),
            env={"POD_NAME": self.name},
        )  # fmt: skip

    def leads(self) -> bool:
        return sample(scrape(self.port), "journeys_operator_leader") == 1

    def admitted(self) -> float:
        samples = scrape(self.port)
        return sum(
            value
            for (name, _), value in samples.items()
            if name == "journeys_entries_admitted_total"
        )


def test_a_shards_leader_killed_mid_stop_its_standby_finishes(
    api_client: client.ApiClient, namespaces: dict[str, int], kubectl: Kubectl
) -> None:
    """Two shards, each with a leader and a standby (per-shard peering): shard 0's leader is
    killed during a stop; its standby finishes that shard exactly, shard 1 goes on untouched."""
    count = 40  # per namespace: 80 per shard
    kubectl("apply", "-f", str(MANIFESTS / "peering" / "crds.yaml"))
    kubectl("wait", "--for=condition=Established", "crd/kopfpeerings.kopf.dev", "--timeout=30s")
    watched = list(namespaces)
    replicas = [Replica(ordinal, watched) for ordinal in range(4)]  # shards 0, 1, 0, 1
    clusters = {ns: Cluster(api_client, ns) for ns in namespaces}
    of_shard = {i: [ns for ns, shard in namespaces.items() if shard == i] for i in (0, 1)}
    try:
        for replica in replicas[:2]:  # the first of each shard leads
            replica.process.start()
            wait_for(f"{replica.name} to lead", replica.leads, 60)
        for replica in replicas[2:]:
            replica.process.start()
        leader0, leader1, standby0, standby1 = replicas
        wait_for("the standbys to serve metrics", lambda: bool(scrape(standby0.port)), 60)
        wait_for("the standbys to serve metrics", lambda: bool(scrape(standby1.port)), 60)
        assert not standby0.leads() and not standby1.leads()

        names: dict[str, list[str]] = {}
        for ns, cluster in clusters.items():
            cluster.create(journey_manifest("ha-v1", delay="600s"))
            names[ns] = enter(cluster, "ha-v1", count)

        def all_in(phase: str, shard: int | None = None) -> bool:
            return all(
                set(clusters[ns].phases().values()) == {phase}
                and len(clusters[ns].phases()) == count
                for ns in (of_shard[shard] if shard is not None else namespaces)
            )

        wait_for("every participant Active", lambda: all_in("Active"), 180, interval=1)
        assert (leader0.admitted(), leader1.admitted()) == (2 * count, 2 * count)
        assert (standby0.admitted(), standby1.admitted()) == (0, 0)
        jobs_before = {
            ns: {j.metadata.name: j.metadata.uid for j in c.jobs("ha-v1")}
            for ns, c in clusters.items()
        }

        for cluster in clusters.values():
            cluster.patch_spec("journeys", "ha-v1", {"state": "stopped"})

        def halted(shard: int) -> int:
            phases = [p for ns in of_shard[shard] for p in clusters[ns].phases().values()]
            return phases.count("Halted")

        wait_for("shard 0's stop under way", lambda: halted(0) > 0, 60, interval=0.1)
        leader0.process.kill()
        halted_at_kill = halted(0)
        assert halted_at_kill < 2 * count, "shard 0's leader finished the stop before the kill"

        wait_for("shard 0's standby to lead", standby0.leads, 60)
        wait_for("every participant Halted", lambda: all_in("Halted"), 180, interval=1)
        for ns, cluster in clusters.items():
            status = wait_for(
                f"exact counts in {ns}",
                lambda c=cluster: (
                    (s := c.journey("ha-v1").get("status") or {})
                    .get("participants", {})
                    .get("halted")
                    == count
                    and s
                ),
                60,
            )
            assert status["phase"] == "Stopped", ns
            assert status["participants"]["active"] == 0, ns
            jobs = cluster.jobs("ha-v1")
            # The same Jobs, one per participant, none created again by the standby.
            assert {j.metadata.name: j.metadata.uid for j in jobs} == jobs_before[ns], ns
            assert sorted(jobs_before[ns]) == sorted(names[ns]), ns
            assert all(j.spec.suspend for j in jobs), ns
            reporters = {
                e.reporting_instance
                for e in cluster.core.list_namespaced_event(ns).items
                if e.reporting_component == "journeys.dev/operator"
            }
            # Only the shard's own replicas wrote Events there; shard 1 never changed hands.
            expected = {leader0.name, standby0.name} if namespaces[ns] == 0 else {leader1.name}
            assert reporters and reporters <= expected, (ns, reporters)
        assert leader1.leads() and not standby1.leads()
        assert all(r.process.process and r.process.process.poll() is None for r in replicas[1:])
        print(f"shard 0 halted when its leader was killed: {halted_at_kill}/{2 * count}")
    finally:
        for replica in replicas:
            replica.process.stop()
            print(replica.name, replica.process.output()[-2000:])
