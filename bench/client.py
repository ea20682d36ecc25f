"""A lean async Kubernetes client for the benchmarks: aiohttp, plain JSON, bounded concurrency.

This is the "tuned async client" of the baselines: one keep-alive connection pool, no model
round-trips, requests issued by a fixed number of workers. It is deliberately independent of the
operator's own client (``journeys.runtime.kube``), so that a slow operator client would show up
as a worse ratio instead of being hidden in the baseline.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import ssl
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import aiohttp
import yaml
from hack.cluster import cache_dir

MERGE_PATCH = "application/merge-patch+json"
T = TypeVar("T")


@dataclass
class ApiError(Exception):
    """A refused request, with the API server's own message."""

    status: int
    message: str

    def __str__(self) -> str:
        return f"{self.status}: {self.message}"


def default_kubeconfig() -> Path:
    """``$KUBECONFIG``, else the local cluster's kubeconfig (hack/cluster.py)."""
    if os.environ.get("KUBECONFIG"):
        return Path(os.environ["KUBECONFIG"].split(os.pathsep)[0])
    return cache_dir() / "cluster" / "kubeconfig"


def _ssl_context(cluster: dict[str, Any], user: dict[str, Any]) -> ssl.SSLContext:
    context = ssl.create_default_context()
    if "certificate-authority-data" in cluster:
        ca = base64.b64decode(cluster["certificate-authority-data"]).decode()
        context.load_verify_locations(cadata=ca)
    elif "certificate-authority" in cluster:
        context.load_verify_locations(cafile=cluster["certificate-authority"])
    if cluster.get("insecure-skip-tls-verify"):
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    if "client-certificate-data" in user:
        # ssl wants files; they live only for the duration of this call.
        with tempfile.TemporaryDirectory(prefix="bench-tls-") as tmp:
            cert, key = Path(tmp) / "tls.crt", Path(tmp) / "tls.key"
            cert.write_bytes(base64.b64decode(user["client-certificate-data"]))
            key.write_bytes(base64.b64decode(user["client-key-data"]))
            key.chmod(0o600)
            context.load_cert_chain(cert, key)
    elif "client-certificate" in user:
        context.load_cert_chain(user["client-certificate"], user.get("client-key"))
    return context


class Api:
    """Plain-JSON requests to the API server of a kubeconfig's current context."""

    def __init__(self, kubeconfig: Path, pool: int = 256) -> None:
        data = yaml.safe_load(kubeconfig.read_text())
        contexts = {c["name"]: c["context"] for c in data["contexts"]}
        context = contexts[data["current-context"]]
        cluster = {c["name"]: c["cluster"] for c in data["clusters"]}[context["cluster"]]
        user = {u["name"]: u["user"] for u in data["users"]}[context["user"]]
        self.kubeconfig = kubeconfig
        self.server = cluster["server"].rstrip("/")
        self._headers = {"Accept": "application/json"}
        if user.get("token"):
            self._headers["Authorization"] = f"Bearer {user['token']}"
        self._ssl = _ssl_context(cluster, user)
        self._pool = pool
        self._session: aiohttp.ClientSession | None = None

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None:
            connector = aiohttp.TCPConnector(ssl=self._ssl, limit=self._pool)
            self._session = aiohttp.ClientSession(
                connector=connector, headers=self._headers, timeout=aiohttp.ClientTimeout(120)
            )
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        params: dict[str, str] | None = None,
        content_type: str = "application/json",
    ) -> dict[str, Any]:
        data = None if body is None else json.dumps(body).encode()
        headers = {"Content-Type": content_type} if data is not None else None
        async with self.session.request(
            method, self.server + path, data=data, params=params, headers=headers
        ) as response:
            raw = await response.read()
            if response.status >= 400:
                raise ApiError(response.status, raw[:300].decode(errors="replace"))
            payload: dict[str, Any] = json.loads(raw) if raw else {}
            return payload

    async def text(self, path: str) -> str:
        async with self.session.get(self.server + path) as response:
            if response.status >= 400:
                raise ApiError(response.status, (await response.text())[:300])
            return await response.text()

    async def list(
        self, path: str, selector: str | None = None
    ) -> tuple[list[dict[str, Any]], str]:
        """Every item under ``path`` (paged) and the list's resourceVersion, to watch from."""
        items: list[dict[str, Any]] = []
        params = {"limit": "2000"}
        if selector:
            params["labelSelector"] = selector
        while True:
            page = await self.request("GET", path, params=params)
            items += page.get("items") or []
            cont = page.get("metadata", {}).get("continue")
            if not cont:
                return items, str(page["metadata"]["resourceVersion"])
            params["continue"] = cont

    async def watch(
        self,
        path: str,
        resource_version: str,
        selector: str | None = None,
        server_timeout: int = 1800,
    ) -> AsyncIterator[tuple[str, dict[str, Any]]]:
        """(type, object) pairs from ``resource_version`` on, until the server ends the watch."""
        params = {
            "watch": "1",
            "resourceVersion": resource_version,
            "allowWatchBookmarks": "true",
            "timeoutSeconds": str(server_timeout),
        }
        if selector:
            params["labelSelector"] = selector
        async with self.session.get(
            self.server + path,
            params=params,
            timeout=aiohttp.ClientTimeout(total=None, sock_read=server_timeout + 30),
        ) as response:
            if response.status >= 400:
                raise ApiError(response.status, (await response.text())[:300])
            async for line in response.content:
                if line.strip():
                    event = json.loads(line)
                    yield event["type"], event["object"]

    # --- namespaces -----------------------------------------------------------------------

    async def create_namespace(self, name: str, labels: dict[str, str] | None = None) -> None:
        body = {"metadata": {"name": name, "labels": labels or {}}}
        await self.request("POST", "/api/v1/namespaces", body)

    async def delete_namespace(self, name: str, seconds: float = 900) -> float:
        """Delete the namespace and wait until it is gone; returns how long that took."""
        started = time.monotonic()
        deleted = False
        while time.monotonic() - started < seconds:
            try:  # tolerates an API server that is restarting (other tests on the cluster)
                if not deleted:
                    body = {"propagationPolicy": "Background"}
                    await self.request("DELETE", f"/api/v1/namespaces/{name}", body)
                    deleted = True
                await self.request("GET", f"/api/v1/namespaces/{name}")
            except ApiError as error:
                if error.status == 404:
                    return time.monotonic() - started
                raise
            except aiohttp.ClientConnectionError:
                pass
            await asyncio.sleep(1.0)
        raise TimeoutError(f"namespace {name} still exists after {seconds:.0f}s")


async def bounded(
    calls: Iterable[Callable[[], Awaitable[T]]], concurrency: int, retries: int = 5
) -> list[T]:
    """Run the calls with ``concurrency`` workers, in order; throttled calls are retried."""
    pending = list(enumerate(calls))
    results: list[Any] = [None] * len(pending)
    queue: asyncio.Queue[tuple[int, Callable[[], Awaitable[T]]]] = asyncio.Queue()
    for item in pending:
        queue.put_nowait(item)

    async def worker() -> None:
        while not queue.empty():
            index, call = queue.get_nowait()
            for attempt in range(retries + 1):
                try:
                    results[index] = await call()
                    break
                except ApiError as error:
                    if error.status not in {429, 500, 503, 504} or attempt == retries:
                        raise
                    await asyncio.sleep(0.1 * 2**attempt)

    await asyncio.gather(*(worker() for _ in range(max(1, concurrency))))
    return results
