"""The Validating and Mutating WebhookConfigurations, built from the webhooks' table.

Built here rather than by Kopf's ``settings.admission.managed``: Kopf's have no
``namespaceSelector``, and a dev operator must neither block system namespaces nor another
test's namespace, even when it was killed and left its configurations behind.
"""

from __future__ import annotations

import copy
import hashlib
import re
from collections.abc import Callable, Sequence
from typing import Any, Final

from journeys.api import GROUP, VERSION
from journeys.webhooks.table import WEBHOOKS, Webhook

ADMISSION_API: Final = "/apis/admissionregistration.k8s.io/v1"
KINDS: Final = ("ValidatingWebhookConfiguration", "MutatingWebhookConfiguration")
#: The configurations' name in a real cluster (``manifests/webhooks``).
CLUSTER_CONFIGURATION: Final = GROUP
SERVICE_NAME: Final = "journeys-webhook"
DEFAULT_NAMESPACE: Final = "journeys-system"
#: Never sent to the webhooks, whatever the operator watches.
SYSTEM_NAMESPACES: Final = ("kube-node-lease", "kube-public", "kube-system")
#: Label on configurations a dev operator created, for cleaning up after a killed one.
DEV_LABEL: Final = f"{GROUP}/admission"
TIMEOUT_SECONDS: Final = 10
_PLAIN_NAMESPACE = re.compile(r"\A[a-z0-9]([-a-z0-9]*[a-z0-9])?\Z")


def dev_configuration_name(namespaces: Sequence[str]) -> str:
    """One name per set of served namespaces: a restarted dev operator replaces its own."""
    if not namespaces:
        return f"dev.{GROUP}"
    if len(namespaces) == 1 and _PLAIN_NAMESPACE.match(namespaces[0]):
        return f"{namespaces[0]}.dev.{GROUP}"
    digest = hashlib.sha256("\n".join(sorted(namespaces)).encode()).hexdigest()[:12]
    return f"ns-{digest}.dev.{GROUP}"


def namespace_selector(namespaces: Sequence[str] = ()) -> dict[str, Any]:
    """Never the system namespaces; only the served ones when they are plain names.

    Globs cannot be expressed as a label selector: then every other namespace is sent, and the
    handlers have no opinion on namespaces the operator does not serve.
    """
    expressions: list[dict[str, Any]] = [
        {
            "key": "kubernetes.io/metadata.name",
            "operator": "NotIn",
            "values": list(SYSTEM_NAMESPACES),
        }
    ]
    if namespaces and all(_PLAIN_NAMESPACE.match(ns) for ns in namespaces):
        expressions.append(
            {
                "key": "kubernetes.io/metadata.name",
                "operator": "In",
                "values": sorted(set(namespaces)),
            }
        )
    return {"matchExpressions": expressions}


def configurations(
    name: str,
    client_config: Callable[[Webhook], dict[str, Any]],
    selector: dict[str, Any],
    labels: dict[str, str] | None = None,
    annotations: dict[str, str] | None = None,
) -> list[dict[str, Any]]:
    """The Validating and the Mutating WebhookConfiguration for :data:`WEBHOOKS`.

    ``sideEffects: None`` lets ``kubectl apply --dry-run=server`` run them and show the same
    refusal; ``matchPolicy: Equivalent`` keeps them on when the API gains another version.
    """
    result = []
    for kind, mutating in zip(KINDS, (False, True), strict=True):
        metadata: dict[str, Any] = {"name": name}
        if labels:
            metadata["labels"] = dict(labels)
        if annotations:
            metadata["annotations"] = dict(annotations)
        webhooks = []
        for webhook in WEBHOOKS:
            if webhook.mutating != mutating:
                continue
            entry: dict[str, Any] = {
                "name": webhook.name,
                "admissionReviewVersions": ["v1"],
                "sideEffects": "None",
                "failurePolicy": webhook.failure_policy,
                "matchPolicy": "Equivalent",
                "timeoutSeconds": TIMEOUT_SECONDS,
                "namespaceSelector": copy.deepcopy(selector),
                "rules": [
                    {
                        "apiGroups": [GROUP],
                        "apiVersions": [VERSION],
                        "resources": [webhook.plural],
                        "operations": list(webhook.operations),
                        "scope": "Namespaced",
                    }
                ],
                "clientConfig": client_config(webhook),
            }
            if mutating:
                entry["reinvocationPolicy"] = "Never"
            webhooks.append(entry)
        result.append(
            {
                "apiVersion": "admissionregistration.k8s.io/v1",
                "kind": kind,
                "metadata": metadata,
                "webhooks": webhooks,
            }
        )
    return result


def url_client_config(url: str, ca_bundle: str | None) -> Callable[[Webhook], dict[str, Any]]:
    """Kopf routes ``<url>/<handler id>`` to that handler."""

    def build(webhook: Webhook) -> dict[str, Any]:
        config = {"url": f"{url.rstrip('/')}/{webhook.id}"}
        if ca_bundle:
            config["caBundle"] = ca_bundle
        return config

    return build


def service_client_config(
    namespace: str = DEFAULT_NAMESPACE,
) -> Callable[[Webhook], dict[str, Any]]:
    def build(webhook: Webhook) -> dict[str, Any]:
        service = {"name": SERVICE_NAME, "namespace": namespace, "port": 443}
        return {"service": {**service, "path": f"/{webhook.id}"}}

    return build


def configuration_path(kind: str, name: str) -> str:
    return f"{ADMISSION_API}/{kind.lower()}s/{name}"
