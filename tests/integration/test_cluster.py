"""The test cluster does what the operator's tests rely on.

Each test pins one behaviour of the control plane plus kwok: pods that run for as long as their
annotation says and then succeed or fail, Jobs that follow, garbage collection, deletion of running
pods, and CEL transition rules in CRDs. If one of these fails, fix the cluster before reading the
operator's failures.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any, TypeVar

import pytest
from kubernetes import client
from kubernetes.client.rest import ApiException

pytestmark = pytest.mark.integration

NODE_NAME = "kwok-node-0"
COMPLETE_DELAY = "pod-complete.stage.kwok.x-k8s.io/delay"
FAIL_DELAY = "pod-fail.stage.kwok.x-k8s.io/delay"
FAIL_EXIT_CODE = "pod-fail.stage.kwok.x-k8s.io/exit-code"

T = TypeVar("T")


def wait_for(what: str, probe: Callable[[], T | None], timeout: float = 60.0) -> T:
    """Poll probe() until it returns something truthy, which is returned."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(0.2)


def job_manifest(name: str, annotations: dict[str, str], **spec: Any) -> dict[str, Any]:
    """A one-pod Job whose pod behaviour on the kwok node is set by its annotations."""
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name},
        "spec": {
            "backoffLimit": 0,
            **spec,
            "template": {
                "metadata": {"annotations": annotations},
                "spec": {
                    "restartPolicy": "Never",
                    "containers": [{"name": "main", "image": "busybox"}],
                },
            },
        },
    }


def job_condition(batch: client.BatchV1Api, namespace: str, name: str, kind: str) -> bool:
    job = batch.read_namespaced_job_status(name, namespace)
    return any(c.type == kind and c.status == "True" for c in job.status.conditions or [])


def job_pods(core: client.CoreV1Api, namespace: str, name: str) -> list[client.V1Pod]:
    selector = f"batch.kubernetes.io/job-name={name}"
    return list(core.list_namespaced_pod(namespace, label_selector=selector).items)


@pytest.mark.timeout(60)
def test_the_kwok_node_is_ready(api_client: client.ApiClient) -> None:
    node = client.CoreV1Api(api_client).read_node(NODE_NAME)
    ready = [c.status for c in node.status.conditions if c.type == "Ready"]
    assert ready == ["True"]
    assert node.metadata.labels["type"] == "kwok"


@pytest.mark.timeout(90)
def test_a_job_pod_runs_for_its_annotated_delay_then_the_job_completes(
    api_client: client.ApiClient, namespace: str
) -> None:
    batch, core = client.BatchV1Api(api_client), client.CoreV1Api(api_client)
    started = time.monotonic()
    batch.create_namespaced_job(namespace, job_manifest("sleeper", {COMPLETE_DELAY: "5s"}))

    pod = wait_for(
        "the pod to run",
        lambda: next(
            (p for p in job_pods(core, namespace, "sleeper") if p.status.phase == "Running"), None
        ),
    )
    assert pod.spec.node_name == NODE_NAME
    wait_for("the Job to complete", lambda: job_condition(batch, namespace, "sleeper", "Complete"))
    elapsed = time.monotonic() - started

    assert elapsed >= 5.0, f"the Job completed after {elapsed:.1f}s, before its pod's 5s delay"
    [pod] = job_pods(core, namespace, "sleeper")
    assert pod.status.phase == "Succeeded"
    terminated = pod.status.container_statuses[0].state.terminated
    assert terminated.exit_code == 0
    # Timestamps have one-second resolution.
    assert (terminated.finished_at - terminated.started_at).total_seconds() >= 4


@pytest.mark.timeout(90)
def test_a_failing_pod_fails_its_job(api_client: client.ApiClient, namespace: str) -> None:
    batch, core = client.BatchV1Api(api_client), client.CoreV1Api(api_client)
    annotations = {FAIL_DELAY: "1s", FAIL_EXIT_CODE: "3"}
    batch.create_namespaced_job(namespace, job_manifest("crasher", annotations))

    wait_for("the Job to fail", lambda: job_condition(batch, namespace, "crasher", "Failed"))
    [pod] = job_pods(core, namespace, "crasher")
    assert pod.status.phase == "Failed"
    assert pod.status.container_statuses[0].state.terminated.exit_code == 3


@pytest.mark.timeout(90)
def test_deleting_an_owner_garbage_collects_its_dependents(
    api_client: client.ApiClient, namespace: str
) -> None:
    core = client.CoreV1Api(api_client)
    owner = core.create_namespaced_config_map(namespace, {"metadata": {"name": "owner"}})
    reference = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "name": "owner",
        "uid": owner.metadata.uid,
    }
    core.create_namespaced_config_map(
        namespace, {"metadata": {"name": "dependent", "ownerReferences": [reference]}}
    )

    core.delete_namespaced_config_map("owner", namespace)

    def dependent_gone() -> bool:
        try:
            core.read_namespaced_config_map("dependent", namespace)
        except ApiException as error:
            return error.status == 404
        return False

    wait_for("the dependent ConfigMap to be collected", dependent_gone)


@pytest.mark.timeout(90)
def test_deleting_a_job_removes_its_running_pod(
    api_client: client.ApiClient, namespace: str
) -> None:
    batch, core = client.BatchV1Api(api_client), client.CoreV1Api(api_client)
    batch.create_namespaced_job(namespace, job_manifest("doomed", {COMPLETE_DELAY: "1h"}))
    wait_for(
        "the pod to run",
        lambda: [p for p in job_pods(core, namespace, "doomed") if p.status.phase == "Running"],
    )

    batch.delete_namespaced_job("doomed", namespace, propagation_policy="Background")

    wait_for("the pod to be deleted", lambda: not job_pods(core, namespace, "doomed"))


@pytest.mark.timeout(90)
def test_suspending_a_job_deletes_its_running_pod(
    api_client: client.ApiClient, namespace: str
) -> None:
    batch, core = client.BatchV1Api(api_client), client.CoreV1Api(api_client)
    batch.create_namespaced_job(namespace, job_manifest("paused", {COMPLETE_DELAY: "1h"}))
    wait_for(
        "the pod to run",
        lambda: [p for p in job_pods(core, namespace, "paused") if p.status.phase == "Running"],
    )

    batch.patch_namespaced_job("paused", namespace, {"spec": {"suspend": True}})

    wait_for(
        "the Job to be suspended", lambda: job_condition(batch, namespace, "paused", "Suspended")
    )
    wait_for("the pod to be deleted", lambda: not job_pods(core, namespace, "paused"))


@pytest.mark.timeout(90)
def test_a_crd_transition_rule_refuses_a_forbidden_update(
    api_client: client.ApiClient, namespace: str
) -> None:
    extensions = client.ApiextensionsV1Api(api_client)
    custom = client.CustomObjectsApi(api_client)
    group, suffix = "clustertest.journeys.dev", uuid.uuid4().hex[:8]
    plural, kind = f"widgets{suffix}", f"Widget{suffix}"
    message = "spec.size may not decrease"
    extensions.create_custom_resource_definition(
        {
            "apiVersion": "apiextensions.k8s.io/v1",
            "kind": "CustomResourceDefinition",
            "metadata": {"name": f"{plural}.{group}"},
            "spec": {
                "group": group,
                "scope": "Namespaced",
                "names": {"plural": plural, "singular": plural, "kind": kind},
                "versions": [
                    {
                        "name": "v1",
                        "served": True,
                        "storage": True,
                        "schema": {
                            "openAPIV3Schema": {
                                "type": "object",
                                "properties": {
                                    "spec": {
                                        "type": "object",
                                        "properties": {"size": {"type": "integer"}},
                                        "x-kubernetes-validations": [
                                            {
                                                "rule": "self.size >= oldSelf.size",
                                                "message": message,
                                            }
                                        ],
                                    }
                                },
                            }
                        },
                    }
                ],
            },
        }
    )
    try:

        def create() -> dict[str, Any] | None:
            body = {"apiVersion": f"{group}/v1", "kind": kind, "metadata": {"name": "w"}}
            try:
                return custom.create_namespaced_custom_object(  # type: ignore[no-any-return]
                    group, "v1", namespace, plural, {**body, "spec": {"size": 2}}
                )
            except ApiException as error:
                if error.status == 404:  # the new type is not served yet
                    return None
                raise

        wait_for("the CRD to be served", create, timeout=30)
        custom.patch_namespaced_custom_object(
            group, "v1", namespace, plural, "w", {"spec": {"size": 3}}
        )

        with pytest.raises(ApiException) as refused:
            custom.patch_namespaced_custom_object(
                group, "v1", namespace, plural, "w", {"spec": {"size": 1}}
            )
        assert refused.value.status == 422
        assert message in str(refused.value.body)
        stored = custom.get_namespaced_custom_object(group, "v1", namespace, plural, "w")
        assert stored["spec"]["size"] == 3
    finally:
        extensions.delete_custom_resource_definition(f"{plural}.{group}")
