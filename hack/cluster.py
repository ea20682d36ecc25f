#!/usr/bin/env python3
"""Build, start and stop the local Docker-free Kubernetes test cluster.

The integration tests need a real control plane, so this script builds pinned versions of etcd,
kube-apiserver, kube-controller-manager, kube-scheduler, kubectl and kwok from their Go modules
into a cache outside the repository, then runs them as detached processes on 127.0.0.1 with kwok
standing in for a kubelet (pods run and finish as hack/kwok/stages.yaml says).

    python3 hack/cluster.py build|up|down|reset|status|restart

Standard library only (plus the `openssl` command for certificates) so that it runs before any
virtual environment exists. See docs/local-cluster.md.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import hashlib
import json
import os
import re
import shlex
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
TOOLS = ROOT / "hack" / "tools"
KWOK_CONFIG = ROOT / "hack" / "kwok"

KUBERNETES_VERSION = "v1.36.3"
ETCD_VERSION = "v3.6.16"
KWOK_VERSION = "v0.8.0"
MIN_GO = (1, 26)

HOST = "127.0.0.1"
NODE_NAME = "kwok-node-0"
SERVICE_CIDR = "10.0.0.0/24"
POD_CIDR = "10.244.0.0/16"
NODE_IP = "10.243.0.1"
# Generous limits: the benchmarks create thousands of Jobs, each with a pod, in one go.
API_QPS, API_BURST = 200, 400
START_TIMEOUT = 180.0
STOP_GRACE = 10.0


def cache_dir() -> Path:
    """The binary cache and runtime directory: the one lookup (bench/ and the tests import it;
    the Makefile exports its JOURNEYS_CACHE_DIR with the same default)."""
    explicit = os.environ.get("JOURNEYS_CACHE_DIR")
    if explicit:
        return Path(explicit).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(xdg).expanduser() / "journeys"


BIN = cache_dir() / "bin"
LOGS = cache_dir() / "logs"
CLUSTER = cache_dir() / "cluster"
PKI = CLUSTER / "pki"
KUBECONFIG = CLUSTER / "kubeconfig"


class ClusterError(Exception):
    """A failure the user can act on; its message is the one sentence they see."""


def _port(variable: str, default: int) -> int:
    value = os.environ.get(variable, "")
    if not value:
        return default
    if not value.isdigit() or not 0 < int(value) < 65536:
        raise ClusterError(f"{variable}={value!r} is not a TCP port number: set it to 1-65535.")
    return int(value)


@dataclass(frozen=True)
class Ports:
    """Fixed, unusual defaults so that a second run finds the first; each one is overridable."""

    apiserver: int
    etcd: int
    etcd_peer: int
    controller_manager: int
    scheduler: int
    kwok: int

    @classmethod
    def from_env(cls) -> Ports:
        return cls(
            apiserver=_port("JOURNEYS_APISERVER_PORT", 16443),
            etcd=_port("JOURNEYS_ETCD_PORT", 12379),
            etcd_peer=_port("JOURNEYS_ETCD_PEER_PORT", 12380),
            controller_manager=_port("JOURNEYS_CONTROLLER_MANAGER_PORT", 16257),
            scheduler=_port("JOURNEYS_SCHEDULER_PORT", 16259),
            kwok=_port("JOURNEYS_KWOK_PORT", 16247),
        )

    def named(self) -> list[tuple[str, int, str]]:
        """(component, port, environment variable) for every listening port."""
        return [
            ("kube-apiserver", self.apiserver, "JOURNEYS_APISERVER_PORT"),
            ("etcd", self.etcd, "JOURNEYS_ETCD_PORT"),
            ("etcd (peer)", self.etcd_peer, "JOURNEYS_ETCD_PEER_PORT"),
            (
                "kube-controller-manager",
                self.controller_manager,
                "JOURNEYS_CONTROLLER_MANAGER_PORT",
            ),
            ("kube-scheduler", self.scheduler, "JOURNEYS_SCHEDULER_PORT"),
            ("kwok", self.kwok, "JOURNEYS_KWOK_PORT"),
        ]


def log(message: str) -> None:
    """Progress goes to stderr so that stdout carries only the `export KUBECONFIG=` line."""
    print(f"[cluster] {message}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------------------------
# build


@dataclass(frozen=True)
class Component:
    """A set of binaries built by one Go command; the stamp key says when it must be rebuilt."""

    name: str
    version: str
    binaries: tuple[str, ...]
    module_dir: Path | None  # wrapper module with the pins, or None for `go install pkg@version`
    args: tuple[str, ...]  # arguments after `go`; "{out}" is the output directory
    cold: str  # how long a build with empty Go caches took on 2 CPUs, to set expectations

    def stamp_key(self) -> str:
        digest = hashlib.sha256()
        for part in (self.name, self.version, *self.args, *self.binaries):
            digest.update(part.encode() + b"\0")
        if self.module_dir is not None:
            for name in ("go.mod", "go.sum"):
                digest.update((self.module_dir / name).read_bytes())
        return digest.hexdigest()

    def stamp_path(self) -> Path:
        return BIN / ".stamps" / self.name

    def is_built(self) -> bool:
        stamp = self.stamp_path()
        return (
            stamp.is_file()
            and stamp.read_text().strip() == self.stamp_key()
            and all((BIN / binary).is_file() for binary in self.binaries)
        )


def _version_ldflags() -> str:
    version = KUBERNETES_VERSION
    major, minor = version.lstrip("v").split(".")[:2]
    return " ".join(
        [
            "-s -w",
            f"-X k8s.io/component-base/version.gitVersion={version}",
            f"-X k8s.io/component-base/version.gitMajor={major}",
            f"-X k8s.io/component-base/version.gitMinor={minor}",
            "-X k8s.io/component-base/version.gitTreeState=clean",
            f"-X k8s.io/client-go/pkg/version.gitVersion={version}",
        ]
    )


KUBERNETES_BINARIES = ("kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubectl")
COMPONENTS = (
    Component(
        name="kubernetes",
        version=KUBERNETES_VERSION,
        binaries=KUBERNETES_BINARIES,
        module_dir=TOOLS / "kubernetes",
        args=(
            "build",
            "-trimpath",
            "-ldflags",
            _version_ldflags(),
            "-o",
            "{out}/",
            *(f"k8s.io/kubernetes/cmd/{binary}" for binary in KUBERNETES_BINARIES),
        ),
        cold="6-9 minutes",
    ),
    Component(
        name="etcd",
        version=ETCD_VERSION,
        binaries=("etcd",),
        module_dir=TOOLS / "etcd",
        args=(
            "build",
            "-trimpath",
            "-ldflags",
            "-s -w",
            "-o",
            "{out}/etcd",
            "go.etcd.io/etcd/server/v3",
        ),
        cold="1 minute",
    ),
    Component(
        name="kwok",
        version=KWOK_VERSION,
        binaries=("kwok",),
        module_dir=None,
        args=(
            "install",
            "-trimpath",
            "-ldflags",
            "-s -w",
            f"sigs.k8s.io/kwok/cmd/kwok@{KWOK_VERSION}",
        ),
        cold="2 minutes",
    ),
)


def check_go() -> str:
    """Return the `go` executable, or explain in one sentence how to get a recent enough one."""
    go = shutil.which("go")
    fix = (
        f"install Go {MIN_GO[0]}.{MIN_GO[1]} or newer and put it on PATH "
        "(or point KUBECONFIG at an existing cluster to skip the local one)."
    )
    if go is None:
        raise ClusterError(
            f"Go is needed to build the local cluster but `go` is not on PATH: {fix}"
        )
    result = subprocess.run(
        [go, "env", "GOVERSION"], capture_output=True, text=True, check=False, env=_go_env()
    )
    match = re.match(r"go(\d+)\.(\d+)", result.stdout.strip())
    if result.returncode != 0 or match is None:
        raise ClusterError(f"`{go} env GOVERSION` did not report a Go version: {fix}")
    found = (int(match[1]), int(match[2]))
    if found < MIN_GO:
        raise ClusterError(
            f"{result.stdout.strip()} is too old to build Kubernetes {KUBERNETES_VERSION}: {fix}"
        )
    return go


def _go_env() -> dict[str, str]:
    """Static binaries, as official builds are; no toolchain switching behind the user's back."""
    env = dict(os.environ)
    env["CGO_ENABLED"] = "0"
    env.setdefault("GOTOOLCHAIN", "local")
    return env


def build(force: bool = False) -> None:
    """Build every component whose stamp is missing or stale; a warm second run does nothing."""
    pending = [c for c in COMPONENTS if force or not c.is_built()]
    if not pending:
        log(f"binaries are up to date in {BIN}")
        return
    go = check_go()
    BIN.mkdir(parents=True, exist_ok=True)
    LOGS.mkdir(parents=True, exist_ok=True)
    for component in pending:
        _build_component(go, component)


def _build_component(go: str, component: Component) -> None:
    build_log = LOGS / f"build-{component.name}.log"
    log(
        f"building {component.name} {component.version} ({', '.join(component.binaries)}); "
        f"about {component.cold} with empty Go caches; log: {build_log}"
    )
    started = time.monotonic()
    component.stamp_path().unlink(missing_ok=True)
    # Build next to the cache, then move into place: a running cluster keeps its old inode and an
    # interrupted build never leaves a half-written binary behind.
    with tempfile.TemporaryDirectory(dir=BIN, prefix=f".build-{component.name}-") as out:
        args = [arg.replace("{out}", out) for arg in component.args]
        env = _go_env()
        if component.module_dir is None:
            env["GOBIN"] = out
            env["GOFLAGS"] = " ".join(
                flag for flag in env.get("GOFLAGS", "").split() if not flag.startswith("-mod=")
            )
        cwd = component.module_dir or Path(out)
        with build_log.open("w") as sink:
            sink.write(f"$ cd {shlex.quote(str(cwd))} && {shlex.join(['go', *args])}\n")
            sink.flush()
            result = subprocess.run(
                [go, *args], cwd=cwd, env=env, stdout=sink, stderr=subprocess.STDOUT, check=False
            )
        if result.returncode != 0:
            raise ClusterError(
                f"Building {component.name} failed (exit {result.returncode}): "
                f"see {build_log} for the Go output."
            )
        for binary in component.binaries:
            os.replace(Path(out) / binary, BIN / binary)
    component.stamp_path().parent.mkdir(parents=True, exist_ok=True)
    component.stamp_path().write_text(component.stamp_key() + "\n")
    log(f"built {component.name} in {time.monotonic() - started:.0f}s")


# --------------------------------------------------------------------------------------------
# certificates and kubeconfig


def _openssl(*args: str) -> None:
    openssl = shutil.which("openssl")
    if openssl is None:
        raise ClusterError(
            "The `openssl` command is needed for the cluster's certificates: install it."
        )
    result = subprocess.run([openssl, *args], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise ClusterError(f"openssl {args[0]} failed: {result.stderr.strip()}")


def _new_key(path: Path) -> None:
    _openssl(
        "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", str(path)
    )
    path.chmod(0o600)


def _sign(name: str, subject: str, extensions: str) -> None:
    """Issue PKI/<name>.crt for a fresh key, signed by the cluster CA."""
    key, csr, crt = (PKI / f"{name}.{ext}" for ext in ("key", "csr", "crt"))
    _new_key(key)
    _openssl("req", "-new", "-key", str(key), "-subj", subject, "-out", str(csr))
    ext_file = PKI / f"{name}.ext"
    ext_file.write_text(extensions)
    _openssl(
        "x509", "-req", "-in", str(csr), "-CA", str(PKI / "ca.crt"), "-CAkey", str(PKI / "ca.key"),
        "-CAcreateserial", "-days", "3650", "-sha256", "-extfile", str(ext_file), "-out", str(crt),
    )  # fmt: skip
    csr.unlink()
    ext_file.unlink()


def ensure_pki() -> None:
    """CA, serving cert, admin client cert and service-account keys; kept across restarts."""
    wanted = ["ca.crt", "ca.key", "serving.crt", "serving.key", "admin.crt", "admin.key"]
    wanted += ["sa.key", "sa.pub"]
    if all((PKI / name).is_file() for name in wanted):
        return
    log("creating certificates")
    shutil.rmtree(PKI, ignore_errors=True)
    PKI.mkdir(parents=True, mode=0o700)
    _new_key(PKI / "ca.key")
    _openssl(
        "req", "-x509", "-new", "-key", str(PKI / "ca.key"), "-subj", "/CN=journeys-local-ca",
        "-days", "3650", "-sha256", "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign", "-out", str(PKI / "ca.crt"),
    )  # fmt: skip
    sans = [f"IP:{HOST}", "DNS:localhost", "IP:10.0.0.1", "DNS:kubernetes"]
    sans += ["DNS:kubernetes.default", "DNS:kubernetes.default.svc"]
    _sign(
        "serving",
        "/CN=kube-apiserver",
        "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n"
        f"extendedKeyUsage=serverAuth\nsubjectAltName={','.join(sans)}\n",
    )
    _sign(
        "admin",
        "/O=system:masters/CN=admin",
        "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n"
        "extendedKeyUsage=clientAuth\n",
    )
    _new_key(PKI / "sa.key")
    _openssl("pkey", "-in", str(PKI / "sa.key"), "-pubout", "-out", str(PKI / "sa.pub"))


def write_kubeconfig(ports: Ports) -> None:
    """An admin kubeconfig with the certificates inlined, so it can be copied anywhere."""

    def inline(name: str) -> str:
        return base64.b64encode((PKI / name).read_bytes()).decode()

    KUBECONFIG.write_text(
        f"""apiVersion: v1
kind: Config
clusters:
- name: journeys-local
  cluster:
    server: https://{HOST}:{ports.apiserver}
    certificate-authority-data: {inline("ca.crt")}
users:
- name: admin
  user:
    client-certificate-data: {inline("admin.crt")}
    client-key-data: {inline("admin.key")}
contexts:
- name: journeys-local
  context:
    cluster: journeys-local
    user: admin
current-context: journeys-local
"""
    )
    KUBECONFIG.chmod(0o600)


# --------------------------------------------------------------------------------------------
# talking to the running cluster


def _tls_context(verify: bool = True) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(PKI / "ca.crt"))
    context.load_cert_chain(str(PKI / "admin.crt"), str(PKI / "admin.key"))
    if not verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def _request(
    url: str,
    method: str = "GET",
    body: dict[str, Any] | None = None,
    timeout: float = 5.0,
    content_type: str = "application/json",
) -> tuple[int, bytes]:
    """One HTTP(S) call with the admin identity; (status, body), status 0 if unreachable."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method)
    if data is not None:
        request.add_header("Content-Type", content_type)
    context = _tls_context() if url.startswith("https:") else None
    try:
        with urllib.request.urlopen(request, timeout=timeout, context=context) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()
    except (OSError, ssl.SSLError):
        return 0, b""


def _api(ports: Ports, path: str) -> str:
    return f"https://{HOST}:{ports.apiserver}{path}"


def _ok(url: str) -> bool:
    return _request(url, timeout=2.0)[0] == 200


def _node_ready(ports: Ports) -> bool:
    status, body = _request(_api(ports, f"/api/v1/nodes/{NODE_NAME}"), timeout=2.0)
    if status != 200:
        return False
    conditions = json.loads(body).get("status", {}).get("conditions", [])
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


def _ensure_node(ports: Ports) -> None:
    """The fake node kwok manages: annotated for kwok's selector, roomy enough for 20k pods."""
    resources = {"cpu": "1000", "memory": "4Ti", "pods": "20000"}
    node = {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": NODE_NAME,
            "annotations": {"kwok.x-k8s.io/node": "fake", "node.alpha.kubernetes.io/ttl": "0"},
            "labels": {
                "type": "kwok",
                "kubernetes.io/hostname": NODE_NAME,
                "kubernetes.io/os": "linux",
                "kubernetes.io/arch": "amd64",
            },
        },
        "spec": {"podCIDR": POD_CIDR, "podCIDRs": [POD_CIDR]},
        "status": {"allocatable": resources, "capacity": resources},
    }
    status, body = _request(_api(ports, "/api/v1/nodes"), method="POST", body=node)
    if status not in (201, 409):
        raise ClusterError(f"Could not create node {NODE_NAME} (HTTP {status}): {body[:300]!r}")
    # Admission taints every new node not-ready; the node lifecycle controller, which would lift
    # the taint, is not run (it would also taint the node whenever kwok is slow to renew its lease).
    status, body = _request(
        _api(ports, f"/api/v1/nodes/{NODE_NAME}"),
        method="PATCH",
        body={"spec": {"taints": None}},
        content_type="application/merge-patch+json",
    )
    if status != 200:
        raise ClusterError(f"Could not untaint node {NODE_NAME} (HTTP {status}): {body[:300]!r}")


# --------------------------------------------------------------------------------------------
# processes


@dataclass(frozen=True)
class Process:
    """A detached cluster process: its binary, arguments and the readiness URL to poll."""

    name: str
    binary: str
    args: tuple[str, ...]
    health: str
    env: tuple[tuple[str, str], ...] = ()

    @property
    def pid_file(self) -> Path:
        return CLUSTER / f"{self.name}.pid"

    @property
    def log_file(self) -> Path:
        return CLUSTER / f"{self.name}.log"

    def start(self) -> subprocess.Popen[bytes]:
        """Start in its own session with output to its log, so it outlives this script."""
        with self.log_file.open("wb") as sink:
            process = subprocess.Popen(
                [str(BIN / self.binary), *self.args],
                cwd=CLUSTER,
                stdin=subprocess.DEVNULL,
                stdout=sink,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                env={**os.environ, **dict(self.env)},
            )
        self.pid_file.write_text(f"{process.pid}\n")
        return process


def _processes(ports: Ports) -> list[Process]:
    """The cluster in start order."""
    admin = str(KUBECONFIG)
    serving = (
        f"--tls-cert-file={PKI / 'serving.crt'}",
        f"--tls-private-key-file={PKI / 'serving.key'}",
    )
    etcd_url = f"http://{HOST}:{ports.etcd}"
    peer_url = f"http://{HOST}:{ports.etcd_peer}"
    controllers = [
        "job-controller",
        "cronjob-controller",
        "ttl-after-finished-controller",
        "garbage-collector-controller",
        "namespace-controller",
        "serviceaccount-controller",
        "serviceaccount-token-controller",
        "root-ca-certificate-publisher-controller",
        "clusterrole-aggregation-controller",
        "deployment-controller",
        "replicaset-controller",
        "statefulset-controller",
        "disruption-controller",
        "endpointslice-controller",
        "endpoints-controller",
        "pod-garbage-collector-controller",
        "resourcequota-controller",
    ]
    return [
        Process(
            name="etcd",
            binary="etcd",
            args=(
                "--name=journeys",
                f"--data-dir={CLUSTER / 'etcd-data'}",
                f"--listen-client-urls={etcd_url}",
                f"--advertise-client-urls={etcd_url}",
                f"--listen-peer-urls={peer_url}",
                f"--initial-advertise-peer-urls={peer_url}",
                f"--initial-cluster=journeys={peer_url}",
                "--unsafe-no-fsync=true",
                "--quota-backend-bytes=8589934592",
                "--log-level=warn",
            ),
            health=f"{etcd_url}/health",
        ),
        Process(
            name="kube-apiserver",
            binary="kube-apiserver",
            args=(
                f"--etcd-servers={etcd_url}",
                f"--bind-address={HOST}",
                f"--advertise-address={HOST}",
                f"--secure-port={ports.apiserver}",
                *serving,
                f"--cert-dir={PKI}",
                f"--client-ca-file={PKI / 'ca.crt'}",
                "--authorization-mode=RBAC",
                f"--service-account-issuer=https://{HOST}:{ports.apiserver}",
                f"--service-account-key-file={PKI / 'sa.pub'}",
                f"--service-account-signing-key-file={PKI / 'sa.key'}",
                f"--service-cluster-ip-range={SERVICE_CIDR}",
                "--allow-privileged=true",
                # The `kubernetes` Service cannot point at a loopback address; no pod needs it.
                "--endpoint-reconciler-type=none",
                "--max-requests-inflight=1000",
                "--max-mutating-requests-inflight=500",
                "--profiling=false",
                # Alpha in 1.36 (KEP-5866): the operator's --shards run on sharded list/watch.
                "--feature-gates=ShardedListAndWatch=true",
            ),
            health=_api(ports, "/readyz"),
        ),
        Process(
            name="kube-controller-manager",
            binary="kube-controller-manager",
            args=(
                f"--kubeconfig={admin}",
                f"--bind-address={HOST}",
                f"--secure-port={ports.controller_manager}",
                *serving,
                "--leader-elect=false",
                f"--controllers={','.join(controllers)}",
                "--use-service-account-credentials=false",
                f"--service-account-private-key-file={PKI / 'sa.key'}",
                f"--root-ca-file={PKI / 'ca.crt'}",
                f"--cluster-signing-cert-file={PKI / 'ca.crt'}",
                f"--cluster-signing-key-file={PKI / 'ca.key'}",
                f"--kube-api-qps={API_QPS}",
                f"--kube-api-burst={API_BURST}",
                "--concurrent-job-syncs=20",
                "--concurrent-gc-syncs=30",
                "--concurrent-ttl-after-finished-syncs=10",
                "--concurrent-cron-job-syncs=10",
                "--profiling=false",
            ),
            health=f"https://{HOST}:{ports.controller_manager}/healthz",
        ),
        Process(
            name="kube-scheduler",
            binary="kube-scheduler",
            args=(
                f"--config={CLUSTER / 'kube-scheduler.yaml'}",
                f"--bind-address={HOST}",
                f"--secure-port={ports.scheduler}",
                *serving,
            ),
            health=f"https://{HOST}:{ports.scheduler}/healthz",
        ),
        Process(
            name="kwok",
            binary="kwok",
            args=(
                f"--kubeconfig={admin}",
                f"--config={KWOK_CONFIG / 'kwok.yaml'}",
                f"--config={KWOK_CONFIG / 'stages.yaml'}",
                "--manage-all-nodes=false",
                "--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake",
                f"--server-address={HOST}:{ports.kwok}",
                f"--cidr={POD_CIDR}",
                f"--node-ip={NODE_IP}",
                "--node-lease-duration-seconds=40",
            ),
            health=f"http://{HOST}:{ports.kwok}/healthz",
            # kwok otherwise also reads ~/.kwok/kwok.yaml; keep the cluster independent of it.
            env=(("KWOK_WORKDIR", str(CLUSTER / "kwok")),),
        ),
    ]


def _scheduler_config() -> str:
    return f"""apiVersion: kubescheduler.config.k8s.io/v1
kind: KubeSchedulerConfiguration
clientConnection:
  kubeconfig: {KUBECONFIG}
  qps: {API_QPS}
  burst: {API_BURST}
leaderElection:
  leaderElect: false
"""


def _read_pid(process: Process) -> int | None:
    try:
        return int(process.pid_file.read_text().strip())
    except (OSError, ValueError):
        return None


def _command_line(pid: int) -> list[str]:
    """argv of a live process (empty if gone or a zombie); /proc where there is one, else ps."""
    if Path("/proc/self").exists():
        try:
            raw = Path(f"/proc/{pid}/cmdline").read_bytes()
            return [arg for arg in raw.decode(errors="replace").split("\0") if arg]
        except OSError:
            return []
    result = subprocess.run(
        ["ps", "-p", str(pid), "-o", "command="], capture_output=True, text=True, check=False
    )
    return result.stdout.split()


def _running_pid(process: Process) -> int | None:
    """The pid from the pid file if that process is still ours (pids get reused)."""
    pid = _read_pid(process)
    if pid is None:
        return None
    argv = _command_line(pid)
    return pid if argv and argv[0] == str(BIN / process.binary) else None


def _stop(processes: Iterable[Process], grace: float) -> list[str]:
    """SIGTERM, then SIGKILL after the grace period; returns the names that would not die."""
    alive: dict[str, tuple[Process, int]] = {}
    for process in processes:
        pid = _running_pid(process)
        if pid is None:
            process.pid_file.unlink(missing_ok=True)
            continue
        alive[process.name] = (process, pid)
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    # Wait out the grace period, SIGKILL whatever is left, then give that a moment to take effect.
    for sig, wait in ((signal.SIGKILL, grace), (None, 5.0)):
        deadline = time.monotonic() + wait
        while alive and time.monotonic() < deadline:
            for name, (process, _) in list(alive.items()):
                if _running_pid(process) is None:
                    process.pid_file.unlink(missing_ok=True)
                    del alive[name]
            time.sleep(0.1)
        if sig is not None:
            for _, pid in alive.values():
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, sig)
    return sorted(alive)


def stop_all(ports: Ports, quiet: bool = False) -> None:
    """Stop clients first so that they do not spin on a vanished API server, etcd last."""
    processes = {p.name: p for p in _processes(ports)}
    stuck: list[str] = []
    for group in (
        ("kwok", "kube-scheduler", "kube-controller-manager"),
        ("kube-apiserver",),
        ("etcd",),
    ):
        targets = [processes[name] for name in group]
        running = [p.name for p in targets if _running_pid(p) is not None]
        if running and not quiet:
            log(f"stopping {', '.join(running)}")
        stuck += _stop(targets, STOP_GRACE)
    if stuck:
        raise ClusterError(
            f"Could not stop {', '.join(stuck)}: kill the pids in {CLUSTER}/*.pid by hand."
        )


def _wait(
    what: str, check: Callable[[], bool], started: list[tuple[Process, subprocess.Popen[bytes]]]
) -> None:
    """Poll until check() holds, failing fast (with the log to read) if a process has died."""
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        for process, handle in started:
            if handle.poll() is not None:
                raise ClusterError(
                    f"{process.name} exited with code {handle.returncode} while waiting for "
                    f"{what}: see {process.log_file}."
                )
        if check():
            return
        if time.monotonic() > deadline:
            culprit = started[-1][0]
            raise ClusterError(
                f"Timed out after {START_TIMEOUT:.0f}s waiting for {what}: see the logs in "
                f"{CLUSTER} (start with {culprit.log_file})."
            )
        time.sleep(0.2)


def _check_ports_free(ports: Ports, only: Iterable[str]) -> None:
    """The ports of the processes named in ``only`` (about to start) must be free."""
    starting = set(only)
    for component, port, variable in ports.named():
        if component.split(" ")[0] not in starting:
            continue
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind((HOST, port))
            except OSError:
                raise ClusterError(
                    f"Port {port} for {component} on {HOST} is already taken by another process: "
                    "if it is an old local cluster run `make cluster-down`, otherwise choose a "
                    f"free port with {variable}=<port>."
                ) from None


def fingerprint(ports: Ports) -> str:
    """What the cluster runs (binaries, kwok stages, flags), to tell when it is out of date."""
    digest = hashlib.sha256()
    for component in COMPONENTS:
        digest.update(component.stamp_key().encode())
    for path in sorted(KWOK_CONFIG.glob("*.yaml")):
        digest.update(path.read_bytes())
    digest.update(json.dumps([p.args for p in _processes(ports)]).encode())
    digest.update(_scheduler_config().encode())
    return digest.hexdigest()


FINGERPRINT = CLUSTER / "fingerprint"


def is_current(ports: Ports) -> bool:
    """Whether the running cluster was started with this checkout's binaries, stages and flags."""
    return FINGERPRINT.is_file() and FINGERPRINT.read_text().strip() == fingerprint(ports)


def is_healthy(ports: Ports) -> bool:
    """Every process of ours alive, the API server ready and the kwok node Ready."""
    if not KUBECONFIG.is_file() or not (PKI / "admin.key").is_file():
        return False
    if any(_running_pid(p) is None for p in _processes(ports)):
        return False
    return _ok(_api(ports, "/readyz")) and _node_ready(ports)


def print_export() -> None:
    print(f"export KUBECONFIG={KUBECONFIG}", flush=True)


def up() -> None:
    """Reuse a healthy cluster; otherwise start only what is down, keeping etcd's data.

    Processes start in dependency order (etcd, the API server, then its clients). One that is
    running is left alone unless it stays unhealthy once everything it depends on is up: an API
    server whose etcd was down recovers by itself. Data is wiped only by `down` and `reset`.
    """
    ports = Ports.from_env()
    if is_healthy(ports):
        log(f"reusing the running cluster (API server https://{HOST}:{ports.apiserver})")
        if not is_current(ports):
            # A restart empties etcd under whoever uses the cluster, so it is never implicit.
            log(
                "note: it was started with other binaries, kwok stages or flags; run "
                "`make cluster-reset` to apply them (this empties the cluster)"
            )
        print_export()
        return
    started_at = time.monotonic()
    build()
    processes = _processes(ports)
    running = {p.name for p in processes if _running_pid(p) is not None}
    down_now = [p.name for p in processes if p.name not in running]
    _check_ports_free(ports, only=down_now)
    CLUSTER.mkdir(parents=True, exist_ok=True)
    (CLUSTER / "kwok").mkdir(exist_ok=True)
    ensure_pki()
    write_kubeconfig(ports)
    (CLUSTER / "kube-scheduler.yaml").write_text(_scheduler_config())
    if running:
        log(f"starting what is down ({', '.join(down_now) or 'none'}); the data is kept")
    else:
        FINGERPRINT.write_text(fingerprint(ports) + "\n")

    started: list[tuple[Process, subprocess.Popen[bytes]]] = []

    def launch(process: Process) -> None:
        log(f"starting {process.name} (log: {process.log_file})")
        started.append((process, process.start()))
        _wait(f"{process.name} to be healthy", lambda: _ok(process.health), started)

    default_namespace = _api(ports, "/api/v1/namespaces/default")
    try:
        for process in processes:
            if process.name in running:
                if _settles(process):
                    continue
                log(f"{process.name} is running but not healthy: restarting it")
                if _stop([process], STOP_GRACE):
                    raise ClusterError(
                        f"Could not stop {process.name}: kill the pid in {process.pid_file} "
                        "by hand."
                    )
            launch(process)
            if process.name == "kube-apiserver":
                _wait("the default namespace", lambda: _ok(default_namespace), started)
                _ensure_node(ports)
        _wait(f"node {NODE_NAME} to be Ready", lambda: _node_ready(ports), started)
        default_sa = _api(ports, "/api/v1/namespaces/default/serviceaccounts/default")
        _wait("the default ServiceAccount", lambda: _ok(default_sa), started)
    except BaseException:
        with contextlib.suppress(ClusterError):
            stop_all(ports, quiet=True)
        raise
    log(
        f"cluster ready in {time.monotonic() - started_at:.1f}s (API server https://{HOST}:{ports.apiserver})"
    )
    print_export()


SETTLE_TIMEOUT = 30.0


def _settles(process: Process) -> bool:
    """Whether a running process is, or becomes within SETTLE_TIMEOUT, healthy."""
    deadline = time.monotonic() + SETTLE_TIMEOUT
    while not _ok(process.health):
        if time.monotonic() > deadline or _running_pid(process) is None:
            return False
        time.sleep(0.5)
    return True


def down() -> None:
    """Stop every process and wipe etcd's data; the binary cache and certificates stay."""
    stop_all(Ports.from_env())
    shutil.rmtree(CLUSTER / "etcd-data", ignore_errors=True)
    log("cluster stopped; its data is removed")


def reset() -> None:
    """An empty cluster: `down`, then `up`."""
    down()
    up()


def restart(name: str, pause: float) -> None:
    """Stop one component, keep it down for ``pause`` seconds, start it again with its data.

    Used by the reliability tests: an API server or etcd restart under a running operator.
    """
    ports = Ports.from_env()
    processes = {p.name: p for p in _processes(ports)}
    if name not in processes:
        raise ClusterError(f"No component {name!r}: choose one of {', '.join(processes)}.")
    process = processes[name]
    if _stop([process], STOP_GRACE):
        raise ClusterError(f"Could not stop {name}: kill the pid in {process.pid_file} by hand.")
    log(f"{name} stopped; starting it again in {pause:.1f}s")
    time.sleep(pause)
    started = [(process, process.start())]
    _wait(f"{name} to be healthy", lambda: _ok(process.health), started)
    _wait("kube-apiserver /readyz", lambda: _ok(_api(ports, "/readyz")), started)
    log(f"{name} restarted")


def status() -> int:
    """Print each process and the API server's health; exit 0 only if the cluster is usable."""
    ports = Ports.from_env()
    for process in _processes(ports):
        pid = _running_pid(process)
        state = f"running (pid {pid})" if pid else "stopped"
        print(f"{process.name:24} {state:22} {process.log_file}")
    healthy = is_healthy(ports)
    current = "" if is_current(ports) else " (started with other binaries, stages or flags)"
    print(f"{'cluster':24} {'healthy' if healthy else 'not healthy'}{current}")
    if healthy:
        print_export()
    return 0 if healthy else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("command", choices=["build", "up", "down", "reset", "status", "restart"])
    parser.add_argument("component", nargs="?", help="restart: which process (e.g. etcd)")
    parser.add_argument("--force", action="store_true", help="build: rebuild even if up to date")
    parser.add_argument(
        "--pause", type=float, default=3.0, help="restart: seconds to stay down (default 3)"
    )
    options = parser.parse_args(argv)
    try:
        if options.command == "build":
            build(force=options.force)
        elif options.command == "up":
            up()
        elif options.command == "down":
            down()
        elif options.command == "reset":
            reset()
        elif options.command == "restart":
            if not options.component:
                parser.error("restart needs a component, e.g. `restart kube-apiserver`")
            restart(options.component, options.pause)
        else:
            return status()
    except ClusterError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
