"""Install (or update) the CRDs in ``crds/`` on the cluster of ``KUBECONFIG`` and wait until served.

Further files given after the directory (the admission policies and the people's roles, which
the tests exercise) are applied too, whatever their kinds. Uses server-side apply through the
Python client, so it needs no kubectl and works the same on the local cluster, kind, or any
cluster the kubeconfig points at.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import yaml
from kubernetes import client, config, dynamic
from kubernetes.client.exceptions import ApiException

FIELD_MANAGER = "journeys-install"


def install(directory: Path, timeout: float = 60.0) -> None:
    config.load_kube_config()
    api = client.ApiextensionsV1Api()
    names = []
    for path in sorted(directory.glob("*.yaml")):
        manifest = yaml.safe_load(path.read_text())
        name = manifest["metadata"]["name"]
        try:
            api.patch_custom_resource_definition(
                name,
                manifest,
                field_manager=FIELD_MANAGER,
                force=True,
                _content_type="application/apply-patch+yaml",
            )
        except ApiException as error:
            sys.exit(f"the API server refused {path}: {error.status} {error.body}")
        names.append(name)
    deadline = time.monotonic() + timeout
    for name in names:
        while not _established(api, name):
            if time.monotonic() > deadline:
                sys.exit(f"CRD {name} was not Established after {timeout:.0f}s")
            time.sleep(0.2)
    print(f"CRDs installed: {', '.join(names)}")


def _established(api: client.ApiextensionsV1Api, name: str) -> bool:
    crd = api.read_custom_resource_definition(name)
    return any(
        c.type == "Established" and c.status == "True"
        for c in ((crd.status.conditions if crd.status else None) or [])
    )


def apply(paths: list[Path]) -> None:
    """Server-side apply every object of ``paths`` (cluster-scoped or naming its namespace)."""
    config.load_kube_config()
    api = dynamic.DynamicClient(client.ApiClient())
    applied = []
    for path in paths:
        for manifest in (d for d in yaml.safe_load_all(path.read_text()) if d):
            resource = api.resources.get(api_version=manifest["apiVersion"], kind=manifest["kind"])
            try:
                api.server_side_apply(
                    resource,
                    body=manifest,
                    name=manifest["metadata"]["name"],
                    namespace=manifest["metadata"].get("namespace"),
                    field_manager=FIELD_MANAGER,
                    force_conflicts=True,
                )
            except ApiException as error:
                sys.exit(f"the API server refused {path}: {error.status} {error.body}")
            applied.append(f"{manifest['kind']}/{manifest['metadata']['name']}")
    print(f"Applied: {', '.join(applied)}")


if __name__ == "__main__":
    install(Path(sys.argv[1] if len(sys.argv) > 1 else "crds"))
    if len(sys.argv) > 2:
        apply([Path(arg) for arg in sys.argv[2:]])
