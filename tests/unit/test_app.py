"""The one wiring place: the application context built from the command line (no cluster)."""

from __future__ import annotations

import copy

import kopf
import pytest

from journeys import app
from journeys.__main__ import parse_args


def test_the_context_carries_every_option() -> None:
    args = parse_args(["--participant-concurrency", "7", "--metrics-port", "0", "--peering", "p"])
    built = app.build(args, kopf.OperatorRegistry())
    assert built.manager_options.participant_concurrency == 7
    assert not built.metrics_options.enabled
    assert built.peering_options.name == "p"
    assert built.admission_context is None  # no --admission, no --dev: no webhooks
    with pytest.raises(AssertionError):
        _ = built.admission
    with pytest.raises(AssertionError, match="manager starts"):
        _ = built.manager
    assert built.leading()  # no leadership started yet: nothing pauses the work


def test_webhooks_get_their_context_only_when_served() -> None:
    args = parse_args(["--admission", "dev", "--namespace", "team-a"])
    built = app.build(args, kopf.OperatorRegistry())
    assert built.admission.namespaces == ("team-a",)
    assert built.admission.serves("team-a") and not built.admission.serves("team-b")


def test_kopf_per_object_memos_are_the_one_context() -> None:
    """Kopf shallow-copies the memo for every object it sees; the copy must be the context."""
    built = app.build(parse_args([]), kopf.OperatorRegistry())
    assert copy.copy(built) is built
