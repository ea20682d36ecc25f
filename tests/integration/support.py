"""Helpers for the operator's integration tests: objects, waiting, and the operator process."""

from __future__ import annotations

import base64
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import yaml
from bench.process import OperatorProcess  # noqa: F401  (the tests' operator: bench runs it too)
from kubernetes import client
from kubernetes.client.rest import ApiException

from journeys.api import API_VERSION, GROUP, VERSION

T = TypeVar("T")

#: Runs argv[1:] with SIGINT at its default disposition, as a terminal would start it.
_DEFAULT_SIGINT = (
    "import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); "
    "os.execv(sys.argv[1], sys.argv[1:])"
)


def as_from_a_terminal(command: list[str]) -> list[str]:
    """``command`` started with SIGINT at its default, whatever this process inherited.

    A non-interactive shell starts background jobs (``make test &``, some CI runners) with SIGINT
    ignored; children inherit that, and a Python program started with SIGINT ignored never gets
    a KeyboardInterrupt. A test of what Ctrl-C does must not depend on how pytest was started.
    """
    return [sys.executable, "-c", _DEFAULT_SIGINT, *command]


def job_template(delay: str = "20s", fail: bool = False) -> dict[str, Any]:
    """A Job template whose pod runs ``delay`` on the kwok node, then succeeds (or fails)."""
    annotations = {"pod-complete.stage.kwok.x-k8s.io/delay": delay}
    if fail:
        annotations = {"pod-fail.stage.kwok.x-k8s.io/delay": delay}
    return {
        "spec": {
            "backoffLimit": 0,
            "template": {
                "metadata": {"annotations": annotations},
                "spec": {
                    "restartPolicy": "Never",
                    "containers": [{"name": "step", "image": "journeys/step:test"}],
                },
            },
        }
    }


def journey_manifest(
    name: str, version: int = 1, delay: str = "20s", **spec: Any
) -> dict[str, Any]:
    return {
        "apiVersion": API_VERSION,
        "kind": "Journey",
        "metadata": {"name": name},
        "spec": {"version": version, "template": job_template(delay), **spec},
    }


def participant_manifest(
    name: str, journey: str, profile: str | None = None, **attributes: str
) -> dict[str, Any]:
    return {
        "apiVersion": API_VERSION,
        "kind": "Participant",
        "metadata": {"name": name},
        "spec": {"journey": journey, "profile": profile or name, "attributes": attributes},
    }


class Cluster:
    """Thin synchronous access to the test cluster for assertions."""

    def __init__(self, api: client.ApiClient, namespace: str) -> None:
        self.namespace = namespace
        self.custom = client.CustomObjectsApi(api)
        self.batch = client.BatchV1Api(api)
        self.core = client.CoreV1Api(api)

    def create(self, manifest: dict[str, Any]) -> dict[str, Any]:
        plural = manifest["kind"].lower() + "s"
        return self.custom.create_namespaced_custom_object(  # type: ignore[no-any-return]
            GROUP, VERSION, self.namespace, plural, manifest
        )

    def get(self, plural: str, name: str) -> dict[str, Any]:
        return self.custom.get_namespaced_custom_object(  # type: ignore[no-any-return]
            GROUP, VERSION, self.namespace, plural, name
        )

    def patch_spec(self, plural: str, name: str, spec: dict[str, Any]) -> dict[str, Any]:
        return self.custom.patch_namespaced_custom_object(  # type: ignore[no-any-return]
            GROUP, VERSION, self.namespace, plural, name, {"spec": spec}
        )

    def journey(self, name: str) -> dict[str, Any]:
        return self.get("journeys", name)

    def participants(self) -> list[dict[str, Any]]:
        return self.custom.list_namespaced_custom_object(  # type: ignore[no-any-return]
            GROUP, VERSION, self.namespace, "participants"
        )["items"]

    def phases(self) -> dict[str, str]:
        return {
            p["metadata"]["name"]: (p.get("status") or {}).get("phase", "")
            for p in self.participants()
        }

    def jobs(self, journey: str | None = None) -> list[client.V1Job]:
        selector = f"journeys.dev/journey={journey}" if journey else "journeys.dev/participant"
        return self.batch.list_namespaced_job(  # type: ignore[no-any-return]
            self.namespace, label_selector=selector
        ).items

    def events(self, name: str) -> list[client.CoreV1Event]:
        return self.core.list_namespaced_event(  # type: ignore[no-any-return]
            self.namespace, field_selector=f"involvedObject.name={name}"
        ).items

    def exists(self, plural: str, name: str) -> bool:
        try:
            self.get(plural, name)
        except ApiException as error:
            if error.status == 404:
                return False
            raise
        return True


def wait_for(
    what: str, probe: Callable[[], T | None], timeout: float = 60.0, interval: float = 0.5
) -> T:
    """Poll ``probe`` until it returns something truthy; fail naming ``what`` and the last value."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = probe()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}; last value: {last!r}")


def eventually(what: str, missing: Callable[[], list[Any]], timeout: float = 60.0) -> None:
    """Wait until ``missing()`` is empty; on timeout name what is still missing."""
    left: list[Any] = []

    def done() -> bool:
        nonlocal left
        left = missing()
        return not left

    try:
        wait_for(what, done, timeout, interval=1.0)
    except AssertionError:
        raise AssertionError(
            f"timed out waiting for {what}; still missing: {left[:10]!r}"
        ) from None


def webhooks_answer(cluster: Cluster) -> bool:
    """Whether this namespace's admission webhooks answer: the mutating one fills in the family
    label on a server-side dry run (nothing is stored)."""
    try:
        probe = cluster.custom.create_namespaced_custom_object(
            GROUP, VERSION, cluster.namespace, "journeys", journey_manifest("probe-v1"),
            dry_run="All",
        )  # fmt: skip
    except ApiException:
        return False
    return bool((probe["metadata"].get("labels") or {}).get("journeys.dev/family") == "probe")


def wait_for_events(cluster: Cluster, name: str, *reasons: str, timeout: float = 60.0) -> None:
    """Wait until ``name`` has Events with these reasons: the operator posts them after the
    status write, so a phase seen in the status does not mean its Event is there yet."""
    wait_for(
        f"events {', '.join(reasons)} on {name}",
        lambda: set(reasons) <= {e.reason for e in cluster.events(name)},
        timeout,
    )


def token_kubeconfig(admin_path: str, token: str, user: str) -> dict[str, Any]:
    """The admin kubeconfig's API server and CA, with a bearer token as the only identity.

    No client certificate: the API server sees exactly the token's user (a ServiceAccount's).
    """
    admin = yaml.safe_load(Path(admin_path).read_text())
    context = next(c for c in admin["contexts"] if c["name"] == admin["current-context"])
    cluster = next(c for c in admin["clusters"] if c["name"] == context["context"]["cluster"])
    server = dict(cluster["cluster"])
    if "certificate-authority" in server:  # inline a CA given by path
        ca = Path(server.pop("certificate-authority")).read_bytes()
        server["certificate-authority-data"] = base64.b64encode(ca).decode()
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "cluster", "cluster": server}],
        "users": [{"name": user, "user": {"token": token}}],
        "contexts": [{"name": user, "context": {"cluster": "cluster", "user": user}}],
        "current-context": user,
    }
