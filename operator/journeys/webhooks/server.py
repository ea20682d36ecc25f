"""Kopf's webhook server for each ``--admission`` mode (TLS in every mode), and its logs."""

from __future__ import annotations

import ipaddress
import logging
import os
from collections.abc import Sequence
from typing import Any

import kopf

from journeys.webhooks.certificates import CertificateFiles
from journeys.webhooks.configurations import (
    CLUSTER_CONFIGURATION,
    DEFAULT_NAMESPACE,
    SERVICE_NAME,
)
from journeys.webhooks.handlers import AdmissionContext, register
from journeys.webhooks.options import AdmissionMode, AdmissionOptions
from journeys.webhooks.registrars import (
    CaBundlePatcher,
    DevRegistrar,
    RegisteringServer,
    Registrar,
)

#: Behind the Service (cluster), or reachable on a bridge address (dev with --webhook-host).
ALL_INTERFACES = "0.0.0.0"


def install(
    options: AdmissionOptions, registry: kopf.OperatorRegistry | None = None
) -> AdmissionContext | None:
    """Register the admission handlers and the start-up step that configures their server.

    Must run before ``kopf.run``: Kopf reads the handlers when it starts. Returns what the
    handlers need at run time (None when no webhooks are served).
    """
    if options.mode == AdmissionMode.NONE:
        return None
    register(registry)

    def configure_admission_server(settings: kopf.OperatorSettings, **_: Any) -> None:
        configure_admission(settings, options)

    kopf.on.startup(id="configure-admission", registry=registry)(configure_admission_server)
    return AdmissionContext(namespaces=options.namespaces, access_checks=options.access_checks)


def configure_admission(settings: kopf.OperatorSettings, options: AdmissionOptions) -> None:
    """Point Kopf at a webhook server for ``options.mode``.

    The configurations are ours, not Kopf's (``settings.admission.managed``): see
    ``journeys.webhooks.configurations``.
    """
    settings.admission.managed = None
    quiet_admission_logs()
    settings.admission.server = admission_server(options)


def admission_server(options: AdmissionOptions) -> kopf.WebhookServer | RegisteringServer:
    if options.mode == AdmissionMode.DEV:
        host = options.host or "127.0.0.1"
        addr = host if _is_loopback(host) else ALL_INTERFACES
        registrar = DevRegistrar(options.configuration_name, options.namespaces)
        return _generated(addr, host, options.port, [host], registrar)
    assert options.mode == AdmissionMode.CLUSTER, "no server without webhooks"
    namespace = os.environ.get("POD_NAMESPACE") or DEFAULT_NAMESPACE
    host = options.host or f"{SERVICE_NAME}.{namespace}.svc"
    if options.cert_dir is not None:
        ca = options.cert_dir / "ca.crt"
        return kopf.WebhookServer(
            addr=ALL_INTERFACES,
            host=host,
            port=options.port,
            certfile=options.cert_dir / "tls.crt",
            pkeyfile=options.cert_dir / "tls.key",
            cafile=ca if ca.exists() else None,
        )
    hostnames = [host, f"{SERVICE_NAME}.{namespace}.svc.cluster.local"]
    return _generated(
        ALL_INTERFACES, host, options.port, hostnames, CaBundlePatcher(CLUSTER_CONFIGURATION)
    )


def _generated(
    addr: str, host: str, port: int, hostnames: Sequence[str], registrar: Registrar
) -> RegisteringServer:
    """A server with a certificate generated now, whose CA the registrar tells the API server."""
    certs = CertificateFiles.generate(hostnames)
    server = kopf.WebhookServer(
        addr=addr, host=host, port=port, certfile=certs.cert, pkeyfile=certs.key, cafile=certs.ca
    )
    return RegisteringServer(server, registrar, certs)


class _RefusalIsNotAnError(logging.Filter):
    """Kopf logs a refused admission as an ERROR of the handler; it is the webhook working.

    Only refusals (``AdmissionError``, which Kopf reports as "failed permanently"): a handler
    that crashed stays an ERROR, with its traceback.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        message = str(record.msg)
        if (
            record.levelno == logging.ERROR
            and message.startswith("Webhook '")
            and "failed permanently" in message
        ):
            record.levelno, record.levelname = logging.INFO, logging.getLevelName(logging.INFO)
        return True


def quiet_admission_logs() -> None:
    """One log line per refusal (INFO), none per admitted request (aiohttp's access log)."""
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    objects = logging.getLogger("kopf.objects")
    if not any(isinstance(f, _RefusalIsNotAnError) for f in objects.filters):
        objects.addFilter(_RefusalIsNotAnError())


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"
