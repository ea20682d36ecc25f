"""The ``--admission`` and ``--webhook-*`` command-line options: how webhooks are served.

- ``none``: no webhooks (the CRD's CEL rules and the operator still hold the lifecycle).
- ``dev`` (``make run``, integration tests): Kopf's webhook server on 127.0.0.1 with a CA
  generated at start-up, and Validating/Mutating WebhookConfigurations that this process creates
  pointing at it, scoped to the namespaces it serves, and deletes again on a clean exit.
- ``cluster``: the server listens on all interfaces behind the ``journeys-webhook`` Service and
  the configurations come from ``manifests/webhooks`` (``journeys.webhooks.manifest``).
  With ``--webhook-cert-dir`` the certificate is a mounted Secret (cert-manager); without it one
  is generated at start-up and its CA patched into the configurations' ``caBundle``.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Final

from journeys.webhooks.access import AccessChecks
from journeys.webhooks.configurations import CLUSTER_CONFIGURATION, dev_configuration_name

CLUSTER_PORT: Final = 9443


class AdmissionMode(StrEnum):
    NONE = "none"
    DEV = "dev"
    CLUSTER = "cluster"


@dataclass(frozen=True)
class AdmissionOptions:
    """The ``--admission`` and ``--webhook-*`` options, resolved."""

    mode: AdmissionMode = AdmissionMode.NONE
    namespaces: tuple[str, ...] = ()
    port: int = 0
    host: str | None = None
    cert_dir: Path | None = None
    access_checks: AccessChecks = AccessChecks.AUTO

    @property
    def configuration_name(self) -> str:
        if self.mode == AdmissionMode.CLUSTER:
            return CLUSTER_CONFIGURATION
        return dev_configuration_name(self.namespaces)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("admission webhooks (docs/admission.md)")
    group.add_argument(
        "--admission",
        choices=[m.value for m in AdmissionMode],
        default=None,
        help="serve the validating and mutating webhooks: 'dev' on 127.0.0.1 with "
        "configurations this process registers, 'cluster' behind the journeys-webhook Service; "
        "default: 'dev' with --dev, else 'none'",
    )
    group.add_argument(
        "--webhook-port",
        type=int,
        default=None,
        help=f"port to serve on (dev: any free port; cluster: {CLUSTER_PORT})",
    )
    group.add_argument(
        "--webhook-host",
        default=None,
        help="host name or IP address the API server calls (dev: 127.0.0.1, e.g. the docker "
        "bridge address for kind; cluster: journeys-webhook.$POD_NAMESPACE.svc)",
    )
    group.add_argument(
        "--webhook-cert-dir",
        type=Path,
        default=None,
        help="cluster: directory with tls.crt and tls.key (and ca.crt), e.g. a mounted "
        "cert-manager Secret; without it a certificate is generated at start-up and its CA "
        "patched into the webhook configurations",
    )
    group.add_argument(
        "--access-checks",
        choices=[c.value for c in AccessChecks],
        default=AccessChecks.AUTO.value,
        help="who checks that creating a journey may create Jobs and that closing/stopping has "
        "its verb: 'auto' (default) the API server's admission policies, and the webhook "
        "where the API server has no policy API; 'webhook' the webhook too; 'policy' the "
        "policies only (docs/security.md)",
    )


def options_from(args: argparse.Namespace) -> AdmissionOptions:
    mode = AdmissionMode(args.admission or ("dev" if args.dev else "none"))
    default_port = CLUSTER_PORT if mode == AdmissionMode.CLUSTER else 0
    return AdmissionOptions(
        mode=mode,
        namespaces=tuple(args.namespace),
        port=args.webhook_port if args.webhook_port is not None else default_port,
        host=args.webhook_host,
        cert_dir=args.webhook_cert_dir,
        access_checks=AccessChecks(args.access_checks),
    )
