#!/usr/bin/env python3
"""Build the pinned `helm` from its Go module into the local cluster's binary cache.

    python3 hack/helm.py build [--force]    # prints the binary's path; reused when up to date
    python3 hack/helm.py path               # the path, without building

Helm 4: Helm 3 had its last feature release in September 2026 and gets security fixes only until
February 2027; Helm 4 reads the same `apiVersion: v2` charts (so the chart also installs with a
Helm 3 that users may still run), applies server-side and waits on kstatus conditions, which the
operator's Deployment and the Journey status follow. docs/packaging.md.

It reuses hack/cluster.py's build machinery (stamps, logs, static `-trimpath` builds, atomic
moves into place), so helm is rebuilt only when its pin changes. Standard library only.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

# Run as a script, hack/ is this file's directory, not a package on the path: add the root.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from hack import cluster

HELM_VERSION = "v4.3.1"
HELM = cluster.Component(
    name="helm",
    version=HELM_VERSION,
    binaries=("helm",),
    module_dir=None,  # helm's go.mod has no replace directives: `go install pkg@version` works
    args=(
        "install",
        "-trimpath",
        "-ldflags",
        f"-s -w -X helm.sh/helm/v4/internal/version.version={HELM_VERSION} "
        "-X helm.sh/helm/v4/internal/version.gitTreeState=clean",
        f"helm.sh/helm/v4/cmd/helm@{HELM_VERSION}",
    ),
    cold="2-3 minutes",
)


def path() -> Path:
    return cluster.BIN / "helm"


def build(force: bool = False) -> Path:
    """Build unless the stamp says the cached binary is this pin; return its path."""
    if force or not HELM.is_built():
        go = cluster.check_go()
        cluster.BIN.mkdir(parents=True, exist_ok=True)
        cluster.LOGS.mkdir(parents=True, exist_ok=True)
        cluster._build_component(go, HELM)
    return path()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("command", choices=["build", "path"])
    parser.add_argument("--force", action="store_true", help="build: rebuild even if up to date")
    options = parser.parse_args(argv)
    try:
        print(build(options.force) if options.command == "build" else path())
    except cluster.ClusterError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
