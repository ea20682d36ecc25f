"""Telling the API server where the webhooks are and whom to trust, each time Kopf's server
(re)starts: a dev operator registers its own configurations, a cluster one patches the CA."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Sequence

import kopf

from journeys.runtime.kube import FIELD_MANAGER, Kube, KubeError
from journeys.webhooks.certificates import CertificateFiles
from journeys.webhooks.configurations import (
    DEV_LABEL,
    KINDS,
    configuration_path,
    configurations,
    namespace_selector,
    url_client_config,
)

logger = logging.getLogger(__name__)


class Registrar:
    """What to do with the API server's view of the webhooks when the server (re)starts."""

    async def serving(self, kube: Kube, client_config: kopf.WebhookClientConfig) -> None:
        raise NotImplementedError

    async def stopped(self, kube: Kube) -> None:
        """Called on a clean exit."""


class DevRegistrar(Registrar):
    """Creates (or takes over) this process's configurations; deletes them on a clean exit."""

    def __init__(self, name: str, namespaces: Sequence[str]) -> None:
        self.name = name
        self.namespaces = tuple(namespaces)

    async def serving(self, kube: Kube, client_config: kopf.WebhookClientConfig) -> None:
        built = configurations(
            self.name,
            url_client_config(client_config.get("url") or "", client_config.get("caBundle")),
            namespace_selector(self.namespaces),
            labels={DEV_LABEL: "dev", "app.kubernetes.io/managed-by": FIELD_MANAGER},
        )
        for configuration in built:
            await kube.request(
                "PATCH",
                configuration_path(configuration["kind"], self.name),
                configuration,
                {"fieldManager": FIELD_MANAGER, "force": "true"},
                "application/apply-patch+yaml",
            )
        logger.info(
            "Admission webhooks at %s, registered as %s for %s",
            client_config["url"],
            self.name,
            ", ".join(self.namespaces) or "all namespaces but the system ones",
        )

    async def stopped(self, kube: Kube) -> None:
        for kind in KINDS:
            with contextlib.suppress(KubeError):
                await kube.request("DELETE", configuration_path(kind, self.name))
        logger.info("Admission webhook configurations %s removed", self.name)


class CaBundlePatcher(Registrar):
    """Puts the CA of a certificate generated at start-up into the installed configurations."""

    def __init__(self, name: str) -> None:
        self.name = name

    async def serving(self, kube: Kube, client_config: kopf.WebhookClientConfig) -> None:
        ca_bundle = client_config.get("caBundle")
        for kind in KINDS:
            path = configuration_path(kind, self.name)
            current = await kube.request("GET", path)
            ops = [
                {"op": "add", "path": f"/webhooks/{i}/clientConfig/caBundle", "value": ca_bundle}
                for i, _ in enumerate(current.get("webhooks") or [])
            ]
            if ops:
                await kube.request(
                    "PATCH",
                    path,
                    ops,
                    {"fieldManager": FIELD_MANAGER},
                    "application/json-patch+json",
                )
        logger.info("CA bundle patched into the webhook configurations %s", self.name)


class RegisteringServer:
    """Kopf's webhook server, plus telling the API server where it is and whom to trust.

    Kopf yields a client config (URL and CA bundle) each time the server (re)starts, e.g. after
    the certificate files changed; the registrar brings the API server's side up to date.
    """

    def __init__(
        self, server: kopf.WebhookServer, registrar: Registrar, certs: CertificateFiles
    ) -> None:
        self._server = server
        self._registrar = registrar
        self._certs = certs

    async def __call__(self, fn: kopf.WebhookFn) -> AsyncIterator[kopf.WebhookClientConfig]:
        kube = await Kube.connect(pool_size=2)
        registered = False
        try:
            async with self._server as server:
                async for client_config in server(fn):
                    await self._registrar.serving(kube, client_config)
                    registered = True
                    yield client_config
        finally:
            if registered:
                await self._registrar.stopped(kube)
            await kube.close()
            self._certs.remove()
