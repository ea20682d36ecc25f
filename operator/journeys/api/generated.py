"""Files generated from the code (the CRDs, the admission policies and roles, the webhook
manifest): writing them, finding stale ones, and the ``--write DIR`` / ``--check DIR`` command
line their generators share, so that `make crds` and the tests that keep the committed files
current behave the same for each."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path


def write_files(root: Path, files: Mapping[str, str]) -> list[Path]:
    """Write each ``relative path -> text`` of ``files`` under ``root``; returns the paths."""
    written = []
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


def stale_files(root: Path, files: Mapping[str, str]) -> list[str]:
    """The relative paths of ``files`` that are missing under ``root`` or differ from it."""
    return [
        relative
        for relative, text in files.items()
        if not (root / relative).is_file() or (root / relative).read_text(encoding="utf-8") != text
    ]


def generator_main(
    argv: Sequence[str] | None,
    *,
    prog: str,
    description: str,
    what: str,
    files: Callable[[], Mapping[str, str]],
) -> int:
    """``prog --write DIR`` writes ``files()`` under DIR; ``prog --check DIR`` exits 1 when any
    is stale, saying how to regenerate. ``what`` names the files in messages ("CRDs")."""
    parser = argparse.ArgumentParser(prog=prog, description=description)
    action = parser.add_mutually_exclusive_group(required=True)
    action.add_argument("--write", metavar="DIR", type=Path, help=f"write the {what} to DIR")
    action.add_argument(
        "--check", metavar="DIR", type=Path, help=f"exit 1 if the {what} in DIR are stale"
    )
    args = parser.parse_args(argv)

    if args.write is not None:
        for path in write_files(args.write, files()):
            print(f"wrote {path}")
        return 0
    stale = stale_files(args.check, files())
    if stale:
        print(
            f"stale {what} in {args.check}: {', '.join(stale)}; "
            f"regenerate with: {prog} --write {args.check}",
            file=sys.stderr,
        )
        return 1
    print(f"{what} in {args.check} are up to date")
    return 0
