"""How the API server reaches the admission webhooks: TLS always, in three modes.

- ``none``: no webhooks (the CRD's CEL rules and the operator still hold the lifecycle).
- ``dev`` (``make run``, integration tests): Kopf's webhook server on 127.0.0.1 with a CA
  generated at start-up, and Validating/Mutating WebhookConfigurations that this process creates
  pointing at it, scoped to the namespaces it serves, and deletes again on a clean exit.
- ``cluster``: the server listens on all interfaces behind the ``journeys-webhook`` Service and
  the configurations come from ``manifests/webhooks`` (generated from :func:`configurations`).
  With ``--webhook-cert-dir`` the certificate is a mounted Secret (cert-manager); without it one
  is generated at start-up and its CA patched into the configurations' ``caBundle``.

The configurations are built here rather than by Kopf's ``settings.admission.managed``: Kopf's
have no ``namespaceSelector``, and a dev operator must neither block system namespaces nor
another test's namespace, even when it was killed and left its configurations behind.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import hashlib
import ipaddress
import logging
import os
import re
import shutil
import sys
import tempfile
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any, Final

import kopf
import yaml

from journeys.api.models import GROUP, VERSION
from journeys.runtime.kube import FIELD_MANAGER, Kube, KubeError
from journeys.webhooks.handlers import WEBHOOKS, AdmissionContext, Webhook, register

logger = logging.getLogger(__name__)

ADMISSION_API: Final = "/apis/admissionregistration.k8s.io/v1"
#: The configurations' name in a real cluster (``manifests/webhooks``).
CLUSTER_CONFIGURATION: Final = GROUP
SERVICE_NAME: Final = "journeys-webhook"
DEFAULT_NAMESPACE: Final = "journeys-system"
CLUSTER_PORT: Final = 9443
#: Never sent to the webhooks, whatever the operator watches.
SYSTEM_NAMESPACES: Final = ("kube-node-lease", "kube-public", "kube-system")
#: Label on configurations a dev operator created, for cleaning up after a killed one.
DEV_LABEL: Final = f"{GROUP}/admission"
TIMEOUT_SECONDS: Final = 10
_PLAIN_NAMESPACE = re.compile(r"\A[a-z0-9]([-a-z0-9]*[a-z0-9])?\Z")


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


def options_from(args: argparse.Namespace) -> AdmissionOptions:
    mode = AdmissionMode(args.admission or ("dev" if args.dev else "none"))
    default_port = CLUSTER_PORT if mode == AdmissionMode.CLUSTER else 0
    return AdmissionOptions(
        mode=mode,
        namespaces=tuple(args.namespace),
        port=args.webhook_port if args.webhook_port is not None else default_port,
        host=args.webhook_host,
        cert_dir=args.webhook_cert_dir,
    )


def install(
    options: AdmissionOptions, memo: kopf.Memo, registry: kopf.OperatorRegistry | None = None
) -> None:
    """Register the admission handlers and the start-up step that configures their server.

    Must run before ``kopf.run``: Kopf reads the handlers when it starts.
    """
    if options.mode == AdmissionMode.NONE:
        return
    register(registry)
    memo["admission"] = AdmissionContext(namespaces=options.namespaces)

    def configure_admission_server(settings: kopf.OperatorSettings, **_: Any) -> None:
        configure_admission(settings, options)

    kopf.on.startup(id="configure-admission", registry=registry)(configure_admission_server)


def configure_admission(settings: kopf.OperatorSettings, options: AdmissionOptions) -> None:
    """Point Kopf at a webhook server for ``options.mode`` (TLS in every mode)."""
    settings.admission.managed = None  # the configurations are ours, see the module docstring
    quiet_admission_logs()
    if options.mode == AdmissionMode.DEV:
        host = options.host or "127.0.0.1"
        addr = host if _is_loopback(host) else "0.0.0.0"  # a bridge address must reach it
        certs = CertificateFiles.generate([host])
        server = kopf.WebhookServer(
            addr=addr,
            host=host,
            port=options.port,
            certfile=certs.cert,
            pkeyfile=certs.key,
            cafile=certs.ca,
        )
        registrar: Registrar = DevRegistrar(options.configuration_name, options.namespaces)
        settings.admission.server = RegisteringServer(server, registrar, certs)
    elif options.mode == AdmissionMode.CLUSTER:
        namespace = os.environ.get("POD_NAMESPACE") or DEFAULT_NAMESPACE
        host = options.host or f"{SERVICE_NAME}.{namespace}.svc"
        if options.cert_dir is not None:
            ca = options.cert_dir / "ca.crt"
            server = kopf.WebhookServer(
                addr="0.0.0.0",  # behind the Service
                host=host,
                port=options.port,
                certfile=options.cert_dir / "tls.crt",
                pkeyfile=options.cert_dir / "tls.key",
                cafile=ca if ca.exists() else None,
            )
            settings.admission.server = server
        else:
            certs = CertificateFiles.generate(
                [host, f"{SERVICE_NAME}.{namespace}.svc.cluster.local"]
            )
            server = kopf.WebhookServer(
                addr="0.0.0.0",  # behind the Service
                host=host,
                port=options.port,
                certfile=certs.cert,
                pkeyfile=certs.key,
                cafile=certs.ca,
            )
            settings.admission.server = RegisteringServer(
                server, CaBundlePatcher(CLUSTER_CONFIGURATION), certs
            )


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


# --- The webhook configurations ------------------------------------------------------------------


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
    for kind, mutating in (
        ("ValidatingWebhookConfiguration", False),
        ("MutatingWebhookConfiguration", True),
    ):
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


# --- Serving -------------------------------------------------------------------------------------


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
                _configuration_path(configuration["kind"], self.name),
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
        for kind in ("ValidatingWebhookConfiguration", "MutatingWebhookConfiguration"):
            with contextlib.suppress(KubeError):
                await kube.request("DELETE", _configuration_path(kind, self.name))
        logger.info("Admission webhook configurations %s removed", self.name)


class CaBundlePatcher(Registrar):
    """Puts the CA of a certificate generated at start-up into the installed configurations."""

    def __init__(self, name: str) -> None:
        self.name = name

    async def serving(self, kube: Kube, client_config: kopf.WebhookClientConfig) -> None:
        ca_bundle = client_config.get("caBundle")
        for kind in ("ValidatingWebhookConfiguration", "MutatingWebhookConfiguration"):
            path = _configuration_path(kind, self.name)
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


# --- Certificates --------------------------------------------------------------------------------


@dataclass(frozen=True)
class CertificateFiles:
    """A CA and a serving certificate signed by it, in a private temporary directory."""

    directory: Path
    ca: Path
    cert: Path
    key: Path

    @classmethod
    def generate(cls, hostnames: Sequence[str], days: int = 365) -> CertificateFiles:
        """A fresh CA and serving certificate for ``hostnames`` (DNS names or IP addresses).

        Generated with ``cryptography`` rather than Kopf's built-in generator: that one needs
        ``certbuilder``/``oscrypto``, whose OpenSSL detection fails on OpenSSL 3.0.10 and later.
        """
        # Imported here: only generated certificates need it, not --admission none or cert-dir.
        from cryptography import x509  # noqa: PLC0415
        from cryptography.hazmat.primitives import hashes, serialization  # noqa: PLC0415
        from cryptography.hazmat.primitives.asymmetric import ec  # noqa: PLC0415
        from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID  # noqa: PLC0415

        now = datetime.now(UTC)
        valid_from, valid_to = now - timedelta(minutes=5), now + timedelta(days=days)
        ca_key = ec.generate_private_key(ec.SECP256R1())
        ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "journeys webhook CA")])
        ca_cert = (
            x509.CertificateBuilder()
            .subject_name(ca_name)
            .issuer_name(ca_name)
            .public_key(ca_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(valid_from)
            .not_valid_after(valid_to)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(_key_usage(cert_sign=True), critical=True)
            .sign(ca_key, hashes.SHA256())
        )
        key = ec.generate_private_key(ec.SECP256R1())
        names: list[x509.GeneralName] = []
        for hostname in hostnames:
            try:
                names.append(x509.IPAddress(ipaddress.ip_address(hostname)))
            except ValueError:
                names.append(x509.DNSName(hostname))
        cert = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hostnames[0])]))
            .issuer_name(ca_name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(valid_from)
            .not_valid_after(valid_to)
            .add_extension(x509.SubjectAlternativeName(names), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(_key_usage(cert_sign=False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .sign(ca_key, hashes.SHA256())
        )
        directory = Path(tempfile.mkdtemp(prefix="journeys-webhook-"))  # mode 0700
        files = cls(directory, directory / "ca.crt", directory / "tls.crt", directory / "tls.key")
        files.ca.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
        files.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        files.key.touch(mode=0o600)
        files.key.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        return files

    def remove(self) -> None:
        shutil.rmtree(self.directory, ignore_errors=True)


def _key_usage(*, cert_sign: bool) -> Any:
    from cryptography import x509  # noqa: PLC0415 (see CertificateFiles.generate)

    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=cert_sign,
        crl_sign=cert_sign,
        encipher_only=False,
        decipher_only=False,
    )


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def _configuration_path(kind: str, name: str) -> str:
    return f"{ADMISSION_API}/{kind.lower()}s/{name}"


# --- Manifests -----------------------------------------------------------------------------------

MANIFEST_FILE: Final = "webhook-configurations.yaml"


def manifest_text(namespace: str = DEFAULT_NAMESPACE) -> str:
    """``manifests/webhooks/webhook-configurations.yaml``: the cluster-mode configurations."""
    documents = configurations(
        CLUSTER_CONFIGURATION,
        service_client_config(namespace),
        namespace_selector(),
        labels={"app.kubernetes.io/name": "journeys-operator"},
    )
    header = (
        "# Generated by `python -m journeys.webhooks.serving --write manifests/webhooks`; "
        "do not edit.\n"
        "# caBundle is filled in by the operator (certificate generated at start-up) or by\n"
        "# cert-manager's CA injector (manifests/overlays/cert-manager). docs/admission.md.\n"
    )
    return header + yaml.safe_dump_all(documents, sort_keys=False, explicit_start=True)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Write or check the webhook manifests.")
    parser.add_argument("--write", type=Path, metavar="DIR", help="write the manifests into DIR")
    parser.add_argument("--check", type=Path, metavar="DIR", help="fail if DIR is out of date")
    args = parser.parse_args(argv)
    text = manifest_text()
    if args.write:
        (args.write / MANIFEST_FILE).write_text(text)
        return 0
    if args.check:
        current = (args.check / MANIFEST_FILE).read_text() if args.check.exists() else ""
        if current != text:
            print(f"{args.check / MANIFEST_FILE} is out of date: run --write", file=sys.stderr)
            return 1
        return 0
    sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
