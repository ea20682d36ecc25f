#!/usr/bin/env python3
"""Build the operator image with podman, and run it as the Deployment runs its pod.

    python3 hack/image.py build   # the Dockerfile on a local Debian bookworm base; prints the tag
    python3 hack/image.py ref     # the tag, without building

`run_flags` turns the Deployment's pod settings into `podman run` flags for the image test
(tests/integration/test_image.py).

No container registry is needed. The Dockerfile's `PYTHON_IMAGE` is the only thing that changes:
instead of pulling `python:3.11-slim-bookworm`, `mmdebstrap` makes a bookworm root file system
with Debian's Python 3.11 once (cached under $JOURNEYS_CACHE_DIR/image, keyed by its package list)
and `podman import` turns it into the base image. podman's layer cache does the rest, so an
unchanged tree builds in seconds. Users with Docker build the same Dockerfile as it is
(docs/packaging.md).

This machine's sandbox needs two podman settings, written into a private containers.conf (the
system one is left alone): the runc runtime (crun refuses hybrid cgroups) and no default ulimits
(raising RLIMIT_NPROC is forbidden). Standard library only.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

# Run as a script, hack/ is this file's directory, not a package on the path: add the root.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from hack import cluster

ROOT = cluster.ROOT
IMAGE_DIR = cluster.cache_dir() / "image"
CONTAINERS_CONF = IMAGE_DIR / "containers.conf"
RUNC = "/usr/sbin/runc"
CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"

SUITE = "bookworm"
# What python:3.11-slim-bookworm offers the Dockerfile: python with venv and pip (the build
# stage runs `python -m pip wheel`), CA certificates, and useradd/groupadd.
BASE_PACKAGES: tuple[str, ...] = ("python3", "python3-venv", "python3-pip", "python-is-python3")
BASE_PACKAGES += ("ca-certificates", "passwd")
# Documentation, manual pages and translations are dead weight in an image; licences stay.
DPKG_OPTIONS = (
    "path-exclude=/usr/share/doc/*",
    "path-include=/usr/share/doc/*/copyright",
    "path-exclude=/usr/share/man/*",
    "path-exclude=/usr/share/locale/*",
    "path-exclude=/usr/share/info/*",
)
NAME = "journeys-operator"


class ImageError(cluster.ClusterError):
    """A failure the user can act on; its message is the one sentence they see."""


def version() -> str:
    """The project's version (pyproject.toml), which is also the image tag."""
    match = re.search(r'^version\s*=\s*"([^"]+)"', (ROOT / "pyproject.toml").read_text(), re.M)
    if match is None:
        raise ImageError("pyproject.toml has no version line.")
    return match[1]


def image_ref() -> str:
    """The tag the manifests and the chart use (podman qualifies it as localhost/...)."""
    return f"localhost/{NAME}:{version()}"


def base_key() -> str:
    digest = hashlib.sha256("\0".join((SUITE, *BASE_PACKAGES, *DPKG_OPTIONS)).encode())
    return digest.hexdigest()[:12]


def base_ref() -> str:
    return f"localhost/journeys-python:3.11-{SUITE}-{base_key()}"


def podman_path() -> str:
    podman = shutil.which("podman")
    if podman is None:
        raise ImageError(
            "podman is not installed: `apt-get install -y podman runc mmdebstrap` (Debian), "
            "or build the Dockerfile with Docker (docs/packaging.md)."
        )
    return podman


def podman_env() -> dict[str, str]:
    IMAGE_DIR.mkdir(parents=True, exist_ok=True)
    text = '[containers]\ndefault_ulimits = []\n\n[engine]\nruntime = "runc"\n'
    if not CONTAINERS_CONF.is_file() or CONTAINERS_CONF.read_text() != text:
        CONTAINERS_CONF.write_text(text)
    return {**os.environ, "CONTAINERS_CONF": str(CONTAINERS_CONF)}


def podman(
    *args: str, check: bool = True, capture: bool = True
) -> subprocess.CompletedProcess[str]:
    """One podman command with this machine's runtime settings."""
    command = [podman_path(), "--runtime", RUNC, *args]
    result = subprocess.run(
        command, env=podman_env(), text=True, capture_output=capture, check=False
    )
    if check and result.returncode != 0:
        detail = (result.stderr or "").strip()[-2000:]
        raise ImageError(f"`{shlex.join(command)}` failed (exit {result.returncode}): {detail}")
    return result


def log(message: str) -> None:
    print(f"[image] {message}", file=sys.stderr, flush=True)


def ensure_base() -> str:
    """The base image: imported from the cached tarball, which is made once with mmdebstrap."""
    ref = base_ref()
    if podman("image", "exists", ref, check=False).returncode == 0:
        return ref
    tarball = IMAGE_DIR / f"base-{SUITE}-{base_key()}.tar"
    if not tarball.is_file():
        mmdebstrap = shutil.which("mmdebstrap")
        if mmdebstrap is None:
            raise ImageError("mmdebstrap is not installed: `apt-get install -y mmdebstrap`.")
        log(f"making the {SUITE} base with mmdebstrap (about a minute): {tarball}")
        started = time.monotonic()
        partial = tarball.with_suffix(".partial.tar")
        command = [
            mmdebstrap,
            "--variant=minbase",
            f"--include={','.join(BASE_PACKAGES)}",
            *(f"--dpkgopt={option}" for option in DPKG_OPTIONS),
            SUITE,
            str(partial),
        ]
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            partial.unlink(missing_ok=True)
            raise ImageError(f"mmdebstrap failed: {result.stderr.strip()[-2000:]}")
        partial.replace(tarball)
        log(f"base made in {time.monotonic() - started:.0f}s")
    podman("import", "--change", 'CMD ["python3"]', str(tarball), ref)
    return ref


def build() -> str:
    """`podman build` of the unchanged Dockerfile on the local base; returns the image tag."""
    started = time.monotonic()
    base = ensure_base()
    ref = image_ref()
    log(f"building {ref} from the Dockerfile (PYTHON_IMAGE={base})")
    # The build stage downloads the dependencies' wheels: through the host's network, trusting
    # what the host trusts (a proxy's CA, where there is one).
    args = ["build", "--network=host"]
    if Path(CA_BUNDLE).is_file():
        args += ["--volume", f"{CA_BUNDLE}:{CA_BUNDLE}:ro"]
    args += [
        "--build-arg",
        f"PYTHON_IMAGE={base}",
        "--tag",
        ref,
        "--file",
        str(ROOT / "Dockerfile"),
        str(ROOT),
    ]
    result = podman(*args, capture=False, check=False)
    if result.returncode != 0:
        raise ImageError(f"podman build failed (exit {result.returncode}): see its output above.")
    log(f"built {ref} in {time.monotonic() - started:.0f}s ({size_mb(ref):.0f} MB)")
    return ref


def size_mb(ref: str) -> float:
    out = podman("image", "inspect", "--format", "{{.Size}}", ref).stdout.strip()
    return int(out) / 1e6


def _quantity_bytes(quantity: str) -> int:
    """A Kubernetes memory quantity (Mi, Gi, M, plain bytes) in bytes."""
    units = {"Ki": 1 << 10, "Mi": 1 << 20, "Gi": 1 << 30, "k": 10**3, "M": 10**6, "G": 10**9}
    match = re.fullmatch(r"(\d+)([A-Za-z]*)", quantity)
    if match is None or match[2] not in {"", *units}:
        raise ImageError(f"cannot translate the quantity {quantity!r}")
    return int(match[1]) * units.get(match[2], 1)


def run_flags(deployment: Mapping[str, Any], namespace: str) -> list[str]:
    """`podman run` flags that give the container what the Deployment gives its pod.

    Security (user, group, read-only root, capabilities, no new privileges, seccomp), the
    writable volumes, resource limits, the grace period and the downward-API environment.
    Anything this function does not know how to reproduce is an error, so a new setting in the
    Deployment fails the image test instead of being silently left out.
    """
    pod = deployment["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    flags = _security_flags(
        {**(pod.get("securityContext") or {}), **(container.get("securityContext") or {})}
    )
    flags += _volume_flags(pod, container)
    limits = (container.get("resources") or {}).get("limits") or {}
    if "memory" in limits:
        flags += ["--memory", str(_quantity_bytes(str(limits["memory"])))]
    if "cpu" in limits:
        cpu = str(limits["cpu"])
        flags += ["--cpus", str(int(cpu[:-1]) / 1000 if cpu.endswith("m") else float(cpu))]
    flags += ["--stop-timeout", str(pod.get("terminationGracePeriodSeconds", 30))]
    downward = {"metadata.name": container["name"], "metadata.namespace": namespace}
    for variable in container.get("env") or []:
        if "value" in variable:
            flags += ["--env", f"{variable['name']}={variable['value']}"]
        else:
            field = variable["valueFrom"]["fieldRef"]["fieldPath"]
            flags += ["--env", f"{variable['name']}={downward[field]}"]
    return flags


def _security_flags(context: Mapping[str, Any]) -> list[str]:
    """The pod's securityContext merged with the container's (which wins), as podman flags."""
    security = dict(context)
    user, group = security.pop("runAsUser", None), security.pop("runAsGroup", None)
    if user is None:
        raise ImageError("the Deployment sets no runAsUser: the image test needs one")
    if security.pop("runAsNonRoot", False) and int(user) == 0:
        raise ImageError("runAsNonRoot with runAsUser 0")
    flags = ["--user", f"{user}:{group if group is not None else user}"]
    fs_group = security.pop("fsGroup", None)
    if fs_group is not None:
        flags += ["--group-add", str(fs_group)]
    seccomp = (security.pop("seccompProfile", None) or {}).get("type", "RuntimeDefault")
    if seccomp == "Unconfined":
        flags += ["--security-opt", "seccomp=unconfined"]
    elif seccomp != "RuntimeDefault":  # podman's default profile is the runtime default
        raise ImageError(f"cannot reproduce seccompProfile {seccomp!r}")
    if security.pop("allowPrivilegeEscalation", True) is False:
        flags += ["--security-opt", "no-new-privileges"]
    if security.pop("readOnlyRootFilesystem", False):
        # Without --read-only-tmpfs=false podman would add writable /tmp, /run and /var/tmp.
        flags += ["--read-only", "--read-only-tmpfs=false"]
    capabilities = security.pop("capabilities", None) or {}
    flags += [f"--cap-drop={c.lower()}" for c in capabilities.get("drop", [])]
    flags += [f"--cap-add={c.lower()}" for c in capabilities.get("add", [])]
    if security:
        raise ImageError(f"cannot reproduce securityContext fields {sorted(security)}")
    return flags


def _volume_flags(pod: Mapping[str, Any], container: Mapping[str, Any]) -> list[str]:
    """In-memory emptyDirs become tmpfs mounts of the same size; anything else is an error."""
    volumes = {volume["name"]: volume for volume in pod.get("volumes") or []}
    flags: list[str] = []
    for mount in container.get("volumeMounts") or []:
        volume = volumes[mount["name"]]
        empty_dir = volume.get("emptyDir")
        if empty_dir is None or empty_dir.get("medium") != "Memory":
            raise ImageError(f"cannot reproduce volume {mount['name']!r}: {volume}")
        options = ["rw", "exec", "mode=1777"]
        if "sizeLimit" in empty_dir:
            options.append(f"size={_quantity_bytes(str(empty_dir['sizeLimit']))}")
        flags += ["--tmpfs", f"{mount['mountPath']}:{','.join(options)}"]
    return flags


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("command", choices=["build", "ref"])
    options = parser.parse_args(argv)
    try:
        if options.command == "build":
            print(build())
        else:
            print(image_ref())
    except cluster.ClusterError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
