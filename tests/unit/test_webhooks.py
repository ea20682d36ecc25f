"""The webhook shell without a cluster: registration, configurations, certificates, options."""

from __future__ import annotations

import argparse
import logging
import stat
from pathlib import Path

import kopf
import pytest
from cryptography import x509

from journeys.runtime.kopf_namespaces import matches_any
from journeys.webhooks import configurations, manifest, options, server
from journeys.webhooks.certificates import CertificateFiles
from journeys.webhooks.handlers import AdmissionContext, register, registrations
from journeys.webhooks.table import WEBHOOKS

ROOT = Path(__file__).resolve().parents[2]


def parse(*argv: str) -> options.AdmissionOptions:
    parser = argparse.ArgumentParser()
    parser.add_argument("--namespace", action="append", default=[])
    parser.add_argument("--dev", action="store_true")
    options.add_arguments(parser)
    return options.options_from(parser.parse_args(argv))


def test_admission_mode_follows_dev_unless_told() -> None:
    assert parse().mode == options.AdmissionMode.NONE
    assert parse("--dev").mode == options.AdmissionMode.DEV
    assert parse("--dev", "--admission", "none").mode == options.AdmissionMode.NONE
    cluster = parse("--admission", "cluster")
    assert (cluster.port, cluster.configuration_name) == (9443, "journeys.dev")
    dev = parse("--admission", "dev", "--namespace", "team-a")
    assert (dev.port, dev.configuration_name) == (0, "team-a.dev.journeys.dev")


def test_dev_configuration_names_are_per_scope() -> None:
    assert configurations.dev_configuration_name([]) == "dev.journeys.dev"
    assert configurations.dev_configuration_name(["it-x"]) == "it-x.dev.journeys.dev"
    globbed = configurations.dev_configuration_name(["team-*"])
    assert globbed.endswith(".dev.journeys.dev") and globbed != "dev.journeys.dev"
    assert configurations.dev_configuration_name(
        ["a", "b"]
    ) == configurations.dev_configuration_name(["b", "a"])


def test_system_namespaces_are_never_selected() -> None:
    system = {
        "key": "kubernetes.io/metadata.name",
        "operator": "NotIn",
        "values": ["kube-node-lease", "kube-public", "kube-system"],
    }
    assert configurations.namespace_selector() == {"matchExpressions": [system]}
    assert configurations.namespace_selector(["team-*"]) == {"matchExpressions": [system]}
    only = {"key": "kubernetes.io/metadata.name", "operator": "In", "values": ["a", "b"]}
    assert configurations.namespace_selector(["b", "a"]) == {"matchExpressions": [system, only]}


def test_configurations_cover_every_webhook() -> None:
    validating, mutating = configurations.configurations(
        "x.journeys.dev",
        configurations.url_client_config("https://127.0.0.1:1234/", "Q0E="),
        configurations.namespace_selector(["ns"]),
    )
    assert validating["kind"] == "ValidatingWebhookConfiguration"
    assert mutating["kind"] == "MutatingWebhookConfiguration"
    hooks = {hook["name"]: hook for hook in validating["webhooks"] + mutating["webhooks"]}
    assert set(hooks) == {webhook.name for webhook in WEBHOOKS}
    for webhook in WEBHOOKS:
        hook = hooks[webhook.name]
        assert hook["clientConfig"] == {
            "url": f"https://127.0.0.1:1234/{webhook.id}",
            "caBundle": "Q0E=",
        }
        assert hook["sideEffects"] == "None"  # so that --dry-run=server calls them
        assert hook["rules"][0]["operations"] == list(webhook.operations)
        assert hook["failurePolicy"] == webhook.failure_policy
    assert {hooks[w.name]["failurePolicy"] for w in WEBHOOKS if w.plural == "journeys"} == {"Fail"}


def test_manifests_are_generated_from_the_same_table() -> None:
    committed = ROOT / "manifests" / "webhooks" / manifest.MANIFEST_FILE
    assert committed.read_text() == manifest.manifest_text()
    assert manifest.main(["--check", str(committed.parent)]) == 0


def test_the_manifest_can_be_written_elsewhere(tmp_path: Path) -> None:
    """The Helm chart reuses the generator: any file path, any Service namespace."""
    target = tmp_path / "webhooks.yaml"
    assert manifest.main(["--write", str(target), "--namespace", "team-ops"]) == 0
    assert target.read_text() == manifest.manifest_text("team-ops")
    assert "namespace: team-ops" in target.read_text()
    assert manifest.main(["--check", str(target), "--namespace", "team-ops"]) == 0
    assert manifest.main(["--check", str(target)]) == 1  # another namespace
    assert manifest.main(["--check", str(tmp_path / "missing.yaml")]) == 1


def test_handlers_are_registered_from_the_table(monkeypatch: pytest.MonkeyPatch) -> None:
    """What reaches Kopf's public decorators, recorded by replacing them (no private API)."""
    calls: list[tuple[str, tuple[object, ...], dict[str, object], object]] = []

    def recording(kind: str) -> object:
        def decorator(*args: object, **kwargs: object) -> object:
            def take(fn: object) -> object:
                calls.append((kind, args, kwargs, fn))
                return fn

            return take

        return decorator

    monkeypatch.setattr(kopf.on, "mutate", recording("mutate"))
    monkeypatch.setattr(kopf.on, "validate", recording("validate"))
    registry = kopf.OperatorRegistry()
    register(registry)
    by_id = {kwargs["id"]: (kind, args, kwargs, fn) for kind, args, kwargs, fn in calls}
    assert len(calls) == len(by_id) == len(WEBHOOKS)
    expected = {entry.webhook.id: entry.fn for entry in registrations()}
    for webhook in WEBHOOKS:
        kind, args, kwargs, fn = by_id[webhook.id]
        assert kind == ("mutate" if webhook.mutating else "validate")
        assert args == ("journeys.dev", "v1alpha1", webhook.plural)
        assert kwargs["registry"] is registry
        assert kwargs["operations"] == list(webhook.operations)
        assert kwargs["ignore_failures"] == (webhook.failure_policy == "Ignore")
        assert fn is expected[webhook.id]


def test_kopf_accepts_the_registrations() -> None:
    register(kopf.OperatorRegistry())  # Kopf's own checks of the options, on a fresh registry


def test_generated_certificate_is_signed_by_its_ca(tmp_path: Path) -> None:
    files = CertificateFiles.generate(["127.0.0.1", "journeys-webhook.ns.svc"])
    try:
        ca = x509.load_pem_x509_certificate(files.ca.read_bytes())
        cert = x509.load_pem_x509_certificate(files.cert.read_bytes())
        cert.verify_directly_issued_by(ca)
        names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        assert [str(ip) for ip in names.get_values_for_type(x509.IPAddress)] == ["127.0.0.1"]
        assert names.get_values_for_type(x509.DNSName) == ["journeys-webhook.ns.svc"]
        assert stat.S_IMODE(files.key.stat().st_mode) == 0o600
        assert stat.S_IMODE(files.directory.stat().st_mode) == 0o700
    finally:
        files.remove()
    assert not files.directory.exists()


@pytest.mark.parametrize(
    ("patterns", "namespace", "served"),
    [
        ((), "anything", True),
        (("team-a",), "team-a", True),
        (("team-a",), "team-b", False),
        (("team-*",), "team-b", True),
        (("team-*, !team-x",), "team-x", False),
        (("team-a",), None, False),
    ],
)
def test_context_serves_what_kopf_watches(
    patterns: tuple[str, ...], namespace: str | None, served: bool
) -> None:
    assert AdmissionContext(namespaces=patterns).serves(namespace) == served


def test_the_kopf_namespace_adapter_matches_like_kopf() -> None:
    """Fails when Kopf moves or changes its private matcher (runtime/kopf_namespaces.py)."""
    assert matches_any("team-a", ["team-*"])
    assert not matches_any("team-x", ["team-*,!team-x"])
    assert not matches_any("other", ["team-a", "team-b"])


def test_refusals_are_logged_as_info_not_errors(caplog: pytest.LogCaptureFixture) -> None:
    server.quiet_admission_logs()
    with caplog.at_level(logging.INFO, logger="kopf.objects"):
        logging.getLogger("kopf.objects").error("Webhook 'validate-journey' failed permanently: x")
        logging.getLogger("kopf.objects").error("Handler 'other' failed permanently: y")
        logging.getLogger("kopf.objects").error("Webhook 'x' failed with an exception: z")
    levels = [record.levelname for record in caplog.records]
    assert levels == ["INFO", "ERROR", "ERROR"]
