"""The package's layers import only downwards, so each can be read and tested on its own.

``api`` <- ``core`` <- ``view`` <- ``webhooks``/``controllers``, with ``runtime`` (the plumbing)
knowing only the API's names; the front ends (``cli``, ``dashboard``) go through ``actions`` and
never reach the operator's insides; ``app`` wires the operator, ``__main__`` runs it. A new
import that crosses a layer fails here, naming the module and what it imported.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Final

import journeys

PACKAGE: Final = Path(journeys.__file__).parent
OPERATOR: Final = frozenset({"api", "core", "view", "runtime", "webhooks", "controllers"})
#: Which top-level parts of ``journeys`` each part may import (besides itself).
ALLOWED: Final[dict[str, frozenset[str]]] = {
    "__init__": frozenset(),
    "api": frozenset(),
    "core": frozenset({"api"}),
    "view": frozenset({"api", "core"}),
    "runtime": frozenset({"api"}),
    "webhooks": frozenset({"api", "core", "view", "runtime"}),
    "controllers": frozenset({"api", "core", "view", "runtime"}),
    "actions": frozenset({"api", "core"}),
    "dashboard": frozenset({"api", "actions"}),
    "cli": frozenset({"api", "actions", "dashboard"}),
    "app": OPERATOR,
    "__main__": OPERATOR | {"app"},
}


def imported_parts(path: Path) -> Iterator[tuple[str, str]]:
    """(module imported, top-level part of journeys it belongs to) for each journeys import."""
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            names = (
                [f"journeys.{a.name}" for a in node.names]
                if node.module == "journeys"
                else [node.module]
            )
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        else:
            continue
        for name in names:
            if name.startswith("journeys."):
                yield name, name.split(".")[1]


def part_of(path: Path) -> str:
    relative = path.relative_to(PACKAGE).parts
    return relative[0] if len(relative) > 1 else relative[0].removesuffix(".py")


def test_every_part_is_known() -> None:
    parts = {part_of(p) for p in PACKAGE.rglob("*.py")}
    assert parts <= set(ALLOWED), f"add {sorted(parts - set(ALLOWED))} to ALLOWED with its layer"


def test_layers_import_only_downwards() -> None:
    crossings = []
    for path in sorted(PACKAGE.rglob("*.py")):
        part = part_of(path)
        for module, target in imported_parts(path):
            if target != part and target not in ALLOWED[part]:
                crossings.append(f"{path.relative_to(PACKAGE)} imports {module}")
    assert crossings == []


#: The one module allowed to use Kopf's private API, which wraps it (its docstring says why).
KOPF_ADAPTER: Final = "runtime/kopf_namespaces.py"


def test_no_private_kopf_imports_outside_one_adapter() -> None:
    users = [
        str(path.relative_to(PACKAGE))
        for path in PACKAGE.rglob("*.py")
        if any(
            (isinstance(n, ast.ImportFrom) and (n.module or "").startswith("kopf._"))
            or (isinstance(n, ast.Import) and any(a.name.startswith("kopf._") for a in n.names))
            for n in ast.walk(ast.parse(path.read_text()))
        )
    ]
    assert set(users) <= {KOPF_ADAPTER}


def test_the_decisions_and_the_view_know_nothing_of_kopf() -> None:
    """The core and the view are plain Python: tested without Kopf, a cluster or a loop."""
    users = [
        str(path.relative_to(PACKAGE))
        for layer in ("api", "core", "view")
        for path in (PACKAGE / layer).rglob("*.py")
        for node in ast.walk(ast.parse(path.read_text()))
        if (
            isinstance(node, ast.Import) and any(a.name.split(".")[0] == "kopf" for a in node.names)
        )
        or (isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "kopf")
    ]
    assert users == []


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


def test_no_module_is_above_450_lines() -> None:
    long = {
        str(p.relative_to(PACKAGE)): n
        for p in PACKAGE.rglob("*.py")
        if (n := len(p.read_text().splitlines())) > 450
    }
    assert long == {}
