"""Who may import whom inside ``journeys``: lower layers never import higher ones.

core (decisions, no I/O) < view (what the operator knows) < controllers and webhooks, which
never import each other's way up: webhooks read the view, never the controllers. runtime is
plumbing (API client, queues, metrics, peering, Kopf settings) and knows no journey rule. Only
``journeys.app`` wires them together.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "operator" / "journeys"

FORBIDDEN = {
    "core": (
        "kopf",
        "journeys.runtime",
        "journeys.view",
        "journeys.controllers",
        "journeys.webhooks",
    ),
    "view": ("kopf", "journeys.runtime", "journeys.controllers", "journeys.webhooks"),
    "runtime": ("journeys.core", "journeys.view", "journeys.controllers", "journeys.webhooks"),
    "webhooks": ("journeys.controllers", "journeys.app"),
    "controllers": ("journeys.webhooks", "journeys.app"),
}
#: The one adapter over a private Kopf module, and why, is in its docstring.
KOPF_PRIVATE_ADAPTER = PACKAGE / "runtime" / "kopf_namespaces.py"


def imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module)
    return found


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_a_layer_imports_nothing_above_it(layer: str) -> None:
    wrong = {
        f"{path.relative_to(PACKAGE)}: {module}"
        for path in (PACKAGE / layer).rglob("*.py")
        for module in imports(path)
        if any(module == f or module.startswith(f + ".") for f in FORBIDDEN[layer])
    }
    assert not wrong


def test_only_the_adapter_imports_kopf_private_modules() -> None:
    private = {
        str(path.relative_to(PACKAGE))
        for path in PACKAGE.rglob("*.py")
        if any(module.startswith("kopf._") for module in imports(path))
    }
    assert private == {str(KOPF_PRIVATE_ADAPTER.relative_to(PACKAGE))}


def test_importing_the_webhooks_registers_no_controller() -> None:
    """The controllers' Kopf handlers register at import: the webhooks must not import them."""
    probe = (
        "import sys, journeys.webhooks.handlers, journeys.webhooks.server, journeys.view; "
        "print(sorted(m for m in sys.modules if m.startswith('journeys.controllers')))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"
