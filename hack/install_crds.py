"""Install (or update) the CRDs in ``crds/`` on the cluster of ``KUBECONFIG`` and wait until served.

Uses server-side apply through the Python client, so it needs no kubectl and works the same on
the local cluster, kind, or any cluster the kubeconfig points at.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import yaml
from kubernetes import client, config
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


if __name__ == "__main__":
    install(Path(sys.argv[1] if len(sys.argv) > 1 else "crds"))
