"""Every command block a user would copy from README.md and docs/*.md runs against the cluster.

A block is a fenced ``sh`` block. Each runs as one ``bash -e -o pipefail`` script, so the first
command that fails fails the test, with the script's trace. What a block may not do here, the doc
says where the reader sees it, in a shell comment this test reads:

- ``# not run by the doc test: REASON`` as the block's first line: the block is not run;
- ``COMMAND  # ... not run by the doc test: REASON`` after a command: that command is not run.

``<!-- doc-test: operator -->`` on the line above a block runs it with the operator going, as
``make run`` would (the doc says so in its text). The environment is a newcomer's shell after
the README: ``.venv/bin`` and the cluster's kubectl on ``PATH``, and ``~/.cache/journeys/cluster/
kubeconfig`` (also ``KUBECONFIG``) pointing at the test's namespace. A doc's blocks run in order,
as a reader follows it, in a scratch copy of the repository, so one that writes files
(``--write crds/``, a kustomization) changes nothing here; prompts are answered ``y``.
Namespaces the blocks create (``demo``) are deleted after the doc.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from hack.cluster import cache_dir

from tests.integration.conftest import Kubectl, find_kubectl
from tests.integration.support import Cluster, OperatorProcess, wait_for, webhooks_answer

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FENCE = re.compile(r"^```(?P<lang>[\w-]*)[^\n]*\n(?P<body>.*?)^```[ \t]*$", re.S | re.M)
SHELLS = {"sh", "bash", "shell"}
MARKER = re.compile(r"#.*\bnot run by the doc test\b:?\s*(?P<reason>.*)$", re.I)
OPERATOR = "<!-- doc-test: operator -->"
#: Left out of the scratch copy: caches, and the environment (linked instead: blocks use it).
NOT_COPIED = shutil.ignore_patterns(
    ".git", ".venv", ".mypy_cache", ".ruff_cache", ".pytest_cache", ".hypothesis", "__pycache__"
)
BLOCK_TIMEOUT = 90

pytestmark = pytest.mark.integration


@dataclass(frozen=True)
class Block:
    doc: Path
    line: int  # of the opening fence
    body: str
    with_operator: bool

    @property
    def id(self) -> str:
        return f"{self.doc.relative_to(ROOT)}:{self.line}"

    @property
    def skipped(self) -> str | None:
        """Why the whole block is not run, if its first line says so."""
        first = next((line for line in self.body.splitlines() if line.strip()), "")
        found = MARKER.search(first)
        if found is None or not first.lstrip().startswith("#"):
            return None
        return found["reason"].strip().rstrip(")").strip()

    def script(self) -> str:
        """The block as run: commands marked as not run become comments."""
        marked = {command for command, _ in self.marked_commands()}
        return (
            "\n".join(
                "\n".join(f"# (not run) {part}" for part in line.splitlines())
                if line in marked
                else line
                for line in _logical_lines(self.body)
            )
            + "\n"
        )

    def marked_commands(self) -> list[tuple[str, str]]:
        """(command, reason) of each command marked as not run."""
        marked = []
        for line in _logical_lines(self.body):
            found = MARKER.search(line.splitlines()[-1])
            if found and not line.lstrip().startswith("#"):
                marked.append((line, found["reason"].strip().rstrip(")").strip()))
        return marked


def _logical_lines(body: str) -> Iterator[str]:
    """Lines with their backslash continuations, so a marker covers the whole command."""
    pending: list[str] = []
    for line in body.splitlines():
        pending.append(line)
        if not line.endswith("\\"):
            yield "\n".join(pending)
            pending = []
    if pending:
        yield "\n".join(pending)


def blocks() -> list[Block]:
    found = []
    for doc in DOCS:
        text = doc.read_text()
        for match in FENCE.finditer(text):
            if match["lang"] not in SHELLS:
                continue
            before = text[: match.start()].rstrip("\n").rsplit("\n", 1)[-1]
            line = text.count("\n", 0, match.start()) + 1
            found.append(Block(doc, line, match["body"], before.strip() == OPERATOR))
    return found


RUNNABLE = [block for block in blocks() if block.skipped is None]


def test_every_block_runs_or_says_why() -> None:
    """No cluster needed: the markers are well formed, and most blocks do run."""
    assert RUNNABLE, "no runnable sh block found: has the fence syntax changed?"
    for block in blocks():
        reason = block.skipped
        assert reason is None or len(reason.split()) >= 2, f"{block.id}: say why it is not run"
        for command, why in block.marked_commands():
            assert len(why.split()) >= 2, f"{block.id}: say why `{command}` is not run"
        if block.skipped is None:
            script = block.script()
            assert any(
                line.strip() and not line.lstrip().startswith("#") for line in script.splitlines()
            ), f"{block.id}: every command is marked as not run: mark the block instead"
    for doc in DOCS:
        for number, line in enumerate(doc.read_text().splitlines(), 1):
            if "doc-test:" in line and line.strip() != OPERATOR:
                pytest.fail(f"{doc.relative_to(ROOT)}:{number}: unknown marker {line.strip()}")


@pytest.fixture
def scratch(tmp_path: Path) -> Path:
    """A copy of the repository to run one doc's blocks in, its .venv linked to the real one."""
    copy = tmp_path / "journeys"
    shutil.copytree(ROOT, copy, ignore=NOT_COPIED, symlinks=True)
    (copy / ".venv").symlink_to(ROOT / ".venv")
    return copy


@pytest.fixture
def shell_env(
    kubeconfig_path: str, namespace: str, kubectl: Kubectl, tmp_path: Path, scratch: Path
) -> dict[str, str]:
    """A newcomer's environment after the README, pointed at the test's namespace."""
    home = tmp_path / "home"
    config = home / ".cache" / "journeys" / "cluster" / "kubeconfig"
    config.parent.mkdir(parents=True)
    shutil.copyfile(kubeconfig_path, config)
    config.chmod(0o600)
    kubectl("config", "set-context", "--current", f"--namespace={namespace}",
            f"--kubeconfig={config}")  # fmt: skip
    path = [str(scratch / ".venv" / "bin"), str(Path(find_kubectl()).parent), os.environ["PATH"]]
    return {
        **os.environ,
        "HOME": str(home),
        "KUBECONFIG": str(config),
        "JOURNEYS_CACHE_DIR": str(cache_dir()),  # the cluster's real cache, whatever HOME says
        "PATH": os.pathsep.join(path),
        "PS4": "+ ",
    }


def _namespaces(kubectl: Kubectl) -> set[str]:
    listed = kubectl("get", "namespaces", "-o", "jsonpath={.items[*].metadata.name}").stdout
    return set(listed.split())


def _run(block: Block, env: dict[str, str], cwd: Path) -> str | None:
    """Run one block; what went wrong, or None."""
    try:
        result = subprocess.run(
            ["bash", "-e", "-o", "pipefail", "-x", "-c", block.script()],
            cwd=cwd,
            env=env,
            input="y\n" * 10,
            capture_output=True,
            text=True,
            timeout=BLOCK_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired as timeout:
        return f"{block.id} did not end within {BLOCK_TIMEOUT}s; output so far:\n{timeout.stderr}"
    print(f"--- {block.id}\n{result.stderr}{result.stdout}")  # shown with -s or on failure
    if result.returncode == 0:
        return None
    return (
        f"{block.id} failed (exit {result.returncode}); the block as run:\n{block.script()}"
        f"--- output:\n{result.stdout}--- trace and errors:\n{result.stderr}"
    )


DOCS_WITH_BLOCKS = sorted({block.doc for block in RUNNABLE})


@pytest.mark.parametrize("doc", DOCS_WITH_BLOCKS, ids=lambda doc: str(doc.relative_to(ROOT)))
def test_doc_commands_run_as_written(
    doc: Path,
    shell_env: dict[str, str],
    scratch: Path,
    kubectl: Kubectl,
    cluster: Cluster,
    namespace: str,
) -> None:
    """A doc's blocks in order, as a reader follows it: files and cluster objects carry over
    from one block to the next (shell variables do not). Every failing block is reported."""
    operator: OperatorProcess | None = None
    before = _namespaces(kubectl)
    failures = []
    try:
        for block in (b for b in RUNNABLE if b.doc == doc):
            if block.with_operator and operator is None:  # `make run` in another terminal
                operator = OperatorProcess(namespace, "--dev").start()
                wait_for("the webhooks to answer", lambda: webhooks_answer(cluster))
            failure = _run(block, shell_env, scratch)
            if failure:
                failures.append(failure)
    finally:
        if operator is not None:
            operator.stop()
        for name in sorted(_namespaces(kubectl) - before):  # `kubectl create namespace demo`
            kubectl("delete", "namespace", name, "--wait=true", "--timeout=60s", timeout=90)
    assert not failures, "\n\n".join(failures)
