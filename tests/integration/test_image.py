"""The operator image, built from the Dockerfile and run the way the Deployment runs it.

`hack/image.py` builds the unchanged Dockerfile with podman on a local Debian base (cached), and
`run_flags` turns the Deployment of `kubectl kustomize manifests/` into podman flags: user and
group 65532, read-only root file system, an in-memory /tmp of the same size, every capability
dropped, no new privileges, the same limits. A setting it cannot reproduce fails the test. The
container runs on the host network against the cluster under test with a kubeconfig mounted
read-only, and serves the admission webhooks (dev mode: configurations scoped to this module's
own namespace, removed afterwards whatever happens) from inside the container.

Skipped, saying why, only where podman is not installed; `.ci/run` installs it and sets
JOURNEYS_REQUIRE_IMAGE_TESTS=1, which turns that skip into a failure.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from bench.process import free_port
from hack import image as hack_image
from kubernetes import client

from tests.integration.conftest import TEST_NAMESPACE_LABEL, Kubectl
from tests.integration.support import (
    Cluster,
    journey_manifest,
    participant_manifest,
    wait_for,
    webhooks_answer,
)
from tests.integration.test_install import find, rendered

pytestmark = [pytest.mark.integration, pytest.mark.timeout(900)]

UID = 65532
OPERATOR_NAME = "journeys-operator"
KUBECONFIG_MOUNT = Path("/etc/journeys/kubeconfig")
PEERING_CRDS = Path(__file__).resolve().parents[2] / "manifests" / "peering" / "crds.yaml"


@pytest.fixture(scope="module")
def image() -> str:
    """The image tag, built now (seconds when podman's cache and the base tarball are warm)."""
    if shutil.which("podman") is None:
        reason = "podman is not installed: apt-get install -y podman runc mmdebstrap"
        if os.environ.get("JOURNEYS_REQUIRE_IMAGE_TESTS"):
            pytest.fail(f"{reason} (JOURNEYS_REQUIRE_IMAGE_TESTS is set)", pytrace=False)
        pytest.skip(reason)
    try:
        return hack_image.build()
    except hack_image.ImageError as error:
        pytest.fail(str(error), pytrace=False)


@dataclass
class Container:
    name: str
    namespace: str
    health_port: int

    def pid(self) -> int:
        state = hack_image.podman("inspect", "--format", "{{.State.Pid}}", self.name).stdout
        return int(state.strip())

    def logs(self) -> str:
        result = hack_image.podman("logs", self.name, check=False)
        return result.stdout + result.stderr

    def running(self) -> bool:
        state = hack_image.podman("inspect", "--format", "{{.State.Running}}", self.name)
        return state.stdout.strip() == "true"


@pytest.fixture(scope="module")
def container(
    image: str, kubectl: Kubectl, api_client: client.ApiClient, kubeconfig_path: str
) -> Iterator[Container]:
    """The image running with the Deployment's settings, its webhooks answering."""
    namespace = f"it-image-{uuid.uuid4().hex[:8]}"
    core = client.CoreV1Api(api_client)
    core.create_namespace(
        {"metadata": {"name": namespace, "labels": {TEST_NAMESPACE_LABEL: "true"}}}
    )
    kubectl("apply", "-f", str(PEERING_CRDS))  # the Deployment peers (--peering)
    deployment = find(rendered(kubectl), "Deployment", OPERATOR_NAME)
    (spec,) = deployment["spec"]["template"]["spec"]["containers"]
    health_port = free_port()
    args = [_local(arg, health_port) for arg in spec["args"]]
    args += [
        f"--namespace={namespace}",
        "--webhook-host=127.0.0.1",
        f"--webhook-port={free_port()}",
    ]
    workdir = Path(tempfile.mkdtemp(prefix="journeys-image-test-"))
    kubeconfig = workdir / "kubeconfig"
    shutil.copyfile(kubeconfig_path, kubeconfig)
    kubeconfig.chmod(0o644)  # readable by UID 65532; the directory is root's alone
    name = f"journeys-image-test-{uuid.uuid4().hex[:8]}"
    flags = hack_image.run_flags(deployment, namespace)
    try:
        hack_image.podman(
            "run", "--detach", "--name", name, "--network=host", *flags,
            "--volume", f"{kubeconfig}:{KUBECONFIG_MOUNT}:ro",
            "--env", f"KUBECONFIG={KUBECONFIG_MOUNT}",
            image, *args,
        )  # fmt: skip
        running = Container(name, namespace, health_port)
        try:
            wait_for("the health endpoint", lambda: _health(health_port) == 200, timeout=120)
            cluster = Cluster(api_client, namespace)
            wait_for("the webhooks to answer", lambda: webhooks_answer(cluster), timeout=120)
        except AssertionError:
            print(running.logs()[-6000:])
            raise
        yield running
        print(running.logs()[-6000:])  # pytest shows it only when a test failed
    finally:
        # SIGTERM first: a clean exit removes the webhook configurations itself.
        hack_image.podman("stop", "--time", "20", name, check=False)
        hack_image.podman("rm", "--force", name, check=False)
        _remove_dev_configurations(kubectl, namespace)
        core.delete_namespace(namespace, propagation_policy="Background")
        shutil.rmtree(workdir, ignore_errors=True)


def _local(arg: str, health_port: int) -> str:
    """The Deployment's arguments, changed only where a pod and a host-network container differ.

    Its webhooks sit behind a Service the local API server cannot reach (no kube-proxy), so
    they run in dev mode on 127.0.0.1; host networking shares ports with the machine, so the
    health and metrics endpoints take free ones.
    """
    if arg == "--admission=cluster":
        return "--admission=dev"
    if arg.startswith("--liveness="):
        return f"--liveness=http://127.0.0.1:{health_port}/healthz"
    if arg.startswith("--metrics-port="):
        return f"--metrics-port={free_port()}"
    return arg


def _health(port: int) -> int:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as response:
            return int(response.status)
    except OSError:
        return 0


def _remove_dev_configurations(kubectl: Kubectl, namespace: str) -> None:
    """This namespace's dev configurations (named after it), were the container killed."""
    for kind in ("validatingwebhookconfiguration", "mutatingwebhookconfiguration"):
        names = kubectl("get", kind, "-l", "journeys.dev/admission=dev", "-o", "name").stdout
        for ref in names.split():
            if ref.split("/", 1)[1].startswith(f"{namespace}."):
                kubectl("delete", ref, "--ignore-not-found", "--wait=false")


def test_the_health_endpoint_answers(container: Container) -> None:
    assert _health(container.health_port) == 200
    assert container.running()


def test_the_process_runs_as_65532_without_capabilities(container: Container) -> None:
    status = dict(
        line.split(":", 1)
        for line in Path(f"/proc/{container.pid()}/status").read_text().splitlines()
    )
    assert status["Uid"].split() == [str(UID)] * 4
    assert status["Gid"].split() == [str(UID)] * 4
    assert int(status["CapEff"], 16) == 0
    assert int(status["CapBnd"], 16) == 0
    assert status["NoNewPrivs"].strip() == "1"


def test_the_webhook_refuses_a_resume(container: Container, kubectl: Kubectl) -> None:
    ns = ("-n", container.namespace)
    kubectl("apply", *ns, "-f", "-", input=yaml.safe_dump(journey_manifest("resume-v1")))
    kubectl(
        "patch", *ns, "journey", "resume-v1", "--type=merge", "-p", '{"spec":{"state":"closed"}}'
    )
    wait_for(
        "resume-v1 to be Finished",
        lambda: (
            kubectl("get", *ns, "journey", "resume-v1", "-o", "jsonpath={.status.phase}").stdout
            == "Finished"
        ),
        timeout=120,
    )
    refused = kubectl(
        "patch", *ns, "journey", "resume-v1", "--type=merge", "-p", '{"spec":{"state":"live"}}',
        check=False,
    )  # fmt: skip
    assert refused.returncode != 0
    assert 'admission webhook "mutate-journey.journeys.dev" denied the request' in refused.stderr
    assert "NoResume: journey resume-v1 is finished since" in refused.stderr


def test_a_participant_gets_its_job(container: Container, api_client: client.ApiClient) -> None:
    cluster = Cluster(api_client, container.namespace)
    cluster.create(journey_manifest("entry-v1", delay="5s"))
    cluster.create(participant_manifest("entry-alice", "entry-v1", profile="alice"))
    jobs = wait_for("the participant's Job", lambda: cluster.jobs("entry-v1"), timeout=120)
    assert [job.metadata.labels["journeys.dev/participant"] for job in jobs] == ["entry-alice"]
    wait_for(
        "entry-alice to complete",
        lambda: cluster.phases().get("entry-alice") == "Completed",
        timeout=180,
    )


def test_nothing_is_written_outside_tmp(container: Container) -> None:
    """The root file system is read-only; the generated webhook certificate is in /tmp."""
    changed = json.loads(hack_image.podman("diff", "--format", "json", container.name).stdout)
    # The runtime makes the mount point of the kubeconfig (and so touches /etc): not the process.
    mount_points = {str(p) for p in (KUBECONFIG_MOUNT, *KUBECONFIG_MOUNT.parents)}
    written = {kind: set(paths) - mount_points for kind, paths in (changed or {}).items()}
    assert all(not paths for paths in written.values()), written
    listing = hack_image.podman("exec", container.name, "ls", "/tmp").stdout.split()
    assert any(entry.startswith("journeys-webhook-") for entry in listing), listing
    write = hack_image.podman(
        "exec", container.name, "python", "-c", "open('/opt/journeys/probe', 'w')", check=False
    )
    assert write.returncode != 0
    assert "Read-only file system" in write.stderr
    assert "Traceback" not in container.logs()
