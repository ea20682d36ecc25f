"""The few Kubernetes writes the operator makes, over ``kubernetes.aio`` without model round-trips.

The generated client turns every response into typed models; for thousands of Job writes
during a stop that costs more than the request itself, so this wrapper sends and receives plain
JSON through the same async ``ApiClient`` (same auth, TLS and connection pool).
"""

from __future__ import annotations

import json
import logging
import os
import socket
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from kubernetes.aio import client, config

from journeys.api import API_VERSION, GROUP

MERGE_PATCH = "application/merge-patch+json"
FIELD_MANAGER = "journeys-operator"
#: Names the replica in its Events (the pod, when run in one).
REPORTING_INSTANCE = (os.environ.get("POD_NAME") or socket.gethostname())[:128]
logger = logging.getLogger(__name__)


@dataclass
class KubeError(Exception):
    """A refused request, with the API server's own message."""

    status: int
    reason: str
    message: str

    def __str__(self) -> str:
        return f"{self.status} {self.reason}: {self.message}"

    @property
    def is_permanent(self) -> bool:
        """A refusal that the same request will meet again (not a conflict, throttling or 5xx)."""
        return 400 <= self.status < 500 and self.status not in {408, 409, 429}


class Kube:
    """Plain-JSON requests to the API server on one shared async connection pool."""

    def __init__(self, api: client.ApiClient) -> None:
        self._api = api

    @classmethod
    async def connect(cls, pool_size: int = 128) -> Kube:
        """In-cluster credentials when running in a pod, else the current kubeconfig."""
        configuration = client.Configuration()
        try:
            config.load_incluster_config(client_configuration=configuration)
        except config.ConfigException:
            await config.load_kube_config(client_configuration=configuration)
        configuration.connection_pool_maxsize = pool_size
        # Like Kopf's own session (settings.networking.trust_env defaults to False): with
        # trust_env, aiohttp looks up proxy variables and reads ~/.netrc (in a thread) on
        # every request: a visible share of the operator's CPU during a stop (benchmarks.md).
        configuration.client_session_kwargs = {"trust_env": False}
        return cls(client.ApiClient(configuration))

    async def close(self) -> None:
        await self._api.close()

    async def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        query: dict[str, str] | None = None,
        content_type: str = "application/json",
        accept: str = "application/json",
    ) -> dict[str, Any]:
        data = await self.raw(method, path, body, query, content_type, accept)
        payload: dict[str, Any] = json.loads(data) if data else {}
        return payload

    async def raw(
        self,
        method: str,
        path: str,
        body: Any = None,
        query: dict[str, str] | None = None,
        content_type: str = "application/json",
        accept: str = "application/json",
    ) -> bytes:
        """The response body as sent: a watch's is one JSON event per line."""
        headers = {"Accept": accept}
        if body is not None:
            headers["Content-Type"] = content_type
        params = [(k, v) for k, v in (query or {}).items()]
        _method, url, header_params, serialized_body, _ = await self._api.param_serialize(
            method=method,
            resource_path=path,
            query_params=params,
            header_params=headers,
            body=body,
            auth_settings=["BearerToken"],
        )
        response = await self._api.call_api(method, url, header_params, serialized_body)
        data: bytes = await response.read()
        if response.status >= 400:
            payload: dict[str, Any] = json.loads(data) if data.startswith(b"{") else {}
            raise KubeError(
                response.status,
                str(payload.get("reason") or response.reason),
                str(payload.get("message") or data[:500]),
            )
        return data

    # --- Jobs -------------------------------------------------------------------------------

    async def create_job(self, manifest: dict[str, Any]) -> bool:
        """Create the Job; False when one of that name exists already (created before)."""
        namespace = manifest["metadata"]["namespace"]
        try:
            await self.request(
                "POST",
                f"/apis/batch/v1/namespaces/{namespace}/jobs",
                manifest,
                {"fieldManager": FIELD_MANAGER},
            )
        except KubeError as error:
            if error.status == 409:
                return False
            raise
        return True

    async def get_job(self, namespace: str, name: str) -> dict[str, Any] | None:
        try:
            return await self.request("GET", f"/apis/batch/v1/namespaces/{namespace}/jobs/{name}")
        except KubeError as error:
            if error.status == 404:
                return None
            raise

    async def suspend_job(self, namespace: str, name: str) -> None:
        """Suspend the Job: the Job controller removes its pods, the Job itself is kept."""
        await self._ignore_missing(
            "PATCH",
            f"/apis/batch/v1/namespaces/{namespace}/jobs/{name}",
            {"spec": {"suspend": True}},
        )

    async def delete_job(self, namespace: str, name: str) -> None:
        """Delete the Job; its pods go with it (background propagation)."""
        await self._ignore_missing(
            "DELETE",
            f"/apis/batch/v1/namespaces/{namespace}/jobs/{name}",
            {"propagationPolicy": "Background"},
        )

    # --- Events -----------------------------------------------------------------------------

    async def post_event(
        self, involved: dict[str, Any], reason: str, message: str, warning: bool = False
    ) -> None:
        """Record a core/v1 Event about ``involved``; best effort, a lost Event is only logged."""
        metadata = involved.get("metadata", {})
        namespace = metadata.get("namespace") or "default"
        now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        event = {
            "metadata": {
                "generateName": f"{metadata.get('name', 'journeys')}.",
                "namespace": namespace,
            },
            "involvedObject": {
                "apiVersion": involved.get("apiVersion"),
                "kind": involved.get("kind"),
                "name": metadata.get("name"),
                "namespace": namespace,
                "uid": metadata.get("uid"),
            },
            "type": "Warning" if warning else "Normal",
            "reason": reason,
            "message": message[:1024],
            "source": {"component": FIELD_MANAGER},
            "reportingComponent": f"{GROUP}/operator",
            "reportingInstance": REPORTING_INSTANCE,
            "firstTimestamp": now[:19] + "Z",
            "lastTimestamp": now[:19] + "Z",
            "eventTime": now,
            "action": reason,
            "count": 1,
        }
        try:
            await self.request("POST", f"/api/v1/namespaces/{namespace}/events", event)
        except (KubeError, OSError) as error:
            logger.warning(
                "could not record Event %s for %s: %s", reason, metadata.get("name"), error
            )

    # --- journeys.dev objects ---------------------------------------------------------------

    async def patch_status(
        self, plural: str, namespace: str, name: str, status: dict[str, Any]
    ) -> None:
        """Merge-patch the status subresource (never the spec the user owns)."""
        await self._ignore_missing(
            "PATCH", f"{_custom_path(plural, namespace, name)}/status", {"status": status}
        )

    async def patch_metadata(
        self, plural: str, namespace: str, name: str, metadata: dict[str, Any]
    ) -> None:
        await self._ignore_missing(
            "PATCH", _custom_path(plural, namespace, name), {"metadata": metadata}
        )

    async def _ignore_missing(self, method: str, path: str, body: dict[str, Any]) -> None:
        """Writes to an object that is gone are moot: its owner was deleted meanwhile."""
        content_type = MERGE_PATCH if method == "PATCH" else "application/json"
        try:
            await self.request(
                method,
                path,
                body,
                {"fieldManager": FIELD_MANAGER} if method == "PATCH" else None,
                content_type,
            )
        except KubeError as error:
            if error.status != 404:
                raise


def _custom_path(plural: str, namespace: str, name: str) -> str:
    return f"/apis/{API_VERSION}/namespaces/{namespace}/{plural}/{name}"
