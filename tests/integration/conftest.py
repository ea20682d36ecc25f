"""Fixtures for tests against a real cluster: the one `KUBECONFIG` names, never a mock.

`make test` starts the local cluster (hack/cluster.py) and sets KUBECONFIG; any other cluster
(kind, a remote one) works too. Fixtures for every integration test:

- `api_client`: a `kubernetes.client.ApiClient` for the cluster (one per session).
- `namespace`: a fresh namespace per test, deleted afterwards (without waiting for it to go).
- `kubectl`: runs kubectl against the cluster, `$JOURNEYS_CACHE_DIR/bin/kubectl` first, else PATH.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import uuid
from collections.abc import Iterator

import pytest
from hack.cluster import cache_dir
from kubernetes import client, config

from tests.integration.support import Cluster, OperatorProcess

TEST_NAMESPACE_LABEL = "journeys.dev/integration-test"


@pytest.fixture(scope="session")
def kubeconfig_path() -> str:
    """The cluster under test; failing here, once, is clearer than a connection error per test."""
    path = os.environ.get("KUBECONFIG", "")
    if not path:
        pytest.fail(
            "KUBECONFIG is not set: run `make test`, or set KUBECONFIG to a cluster's kubeconfig.",
            pytrace=False,
        )
    return path


@pytest.fixture(scope="session")
def api_client(kubeconfig_path: str) -> Iterator[client.ApiClient]:
    """An API client for the cluster in KUBECONFIG (its current context)."""
    api = config.new_client_from_config(config_file=kubeconfig_path)
    try:
        client.VersionApi(api).get_code(_request_timeout=10)
    except Exception as error:  # any failure here means the same thing to the reader
        pytest.fail(
            f"The cluster in KUBECONFIG={kubeconfig_path} does not answer ({error}): "
            "start it with `make cluster-up`, or fix KUBECONFIG.",
            pytrace=False,
        )
    yield api
    api.close()


@pytest.fixture
def namespace(api_client: client.ApiClient, request: pytest.FixtureRequest) -> Iterator[str]:
    """A namespace of its own for one test, named after it; deleted afterwards."""
    base = re.sub(r"[^a-z0-9-]+", "-", request.node.name.lower()).strip("-")[:40].strip("-")
    name = f"it-{base}-{uuid.uuid4().hex[:6]}"
    core = client.CoreV1Api(api_client)
    core.create_namespace(
        client.V1Namespace(
            metadata=client.V1ObjectMeta(name=name, labels={TEST_NAMESPACE_LABEL: "true"})
        )
    )
    yield name
    core.delete_namespace(name, propagation_policy="Background")


def find_kubectl() -> str:
    """The kubectl built with the local cluster (matching its version), else the one on PATH."""
    built = cache_dir() / "bin" / "kubectl"
    if built.is_file() and os.access(built, os.X_OK):
        return str(built)
    on_path = shutil.which("kubectl")
    if on_path is None:
        pytest.fail(
            f"kubectl is neither at {built} nor on PATH: run `make binaries`, or install kubectl.",
            pytrace=False,
        )
    return on_path


class Kubectl:
    """Runs kubectl against the cluster under test; `kubectl("get", "pods", "-n", ns)`."""

    def __init__(self, path: str, kubeconfig: str) -> None:
        self.path = path
        self.kubeconfig = kubeconfig

    def __call__(
        self, *args: str, input: str | None = None, check: bool = True, timeout: float = 60
    ) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [self.path, *args],
            input=input,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            env={**os.environ, "KUBECONFIG": self.kubeconfig},
        )
        if check and result.returncode != 0:
            raise AssertionError(
                f"kubectl {' '.join(args)} failed ({result.returncode}): {result.stderr.strip()}"
            )
        return result


@pytest.fixture(scope="session")
def kubectl(kubeconfig_path: str) -> Kubectl:
    """kubectl bound to the cluster under test."""
    return Kubectl(find_kubectl(), kubeconfig_path)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests that restart control-plane processes run last, so no other test shares their wake."""
    items.sort(key=lambda item: item.get_closest_marker("disruptive") is not None)


@pytest.fixture
def cluster(api_client: client.ApiClient, namespace: str) -> Cluster:
    """Journeys, participants and Jobs of this test's namespace."""
    return Cluster(api_client, namespace)


@pytest.fixture
def operator(namespace: str) -> Iterator[OperatorProcess]:
    """The real operator command, watching only this test's namespace, without webhooks."""
    process = OperatorProcess(namespace).start()
    yield process
    process.stop()
    print(process.output()[-4000:])  # pytest shows it only for a failed test
