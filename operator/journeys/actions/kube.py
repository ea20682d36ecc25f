"""The front ends' only contact with the API server: the user's own kubeconfig, thinly.

:class:`KubeClient` is the protocol the use cases need; :class:`UserClient` implements it with the
synchronous official client and the person's kubeconfig, so RBAC, the CEL rules, the webhooks and
the audit apply to that person (an async front end calls it from a thread). Every call goes
through :meth:`UserClient._call`, which turns the client's exceptions into an
:class:`~journeys.actions.errors.ActionError` carrying the server's own message (a refused
transition, a webhook's denial, a conflict), because that message is what tells the person what
to do. Writes collect the server's ``Warning`` headers (webhook warnings, deprecated fields) so
they are shown as kubectl shows them.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Final, Protocol, TypeVar

import urllib3
from kubernetes import client, config

from journeys.actions.errors import ActionError
from journeys.api import GROUP, JOURNEY_PLURAL, PARTICIPANT_PLURAL, VERSION

T = TypeVar("T")

#: Bounds each request, so a dead API server is an error instead of a hang.
REQUEST_TIMEOUT: Final = 30
MERGE_PATCH: Final = "application/merge-patch+json"
FIELD_MANAGER: Final = "kubectl-journey"
_SERVICE_ACCOUNT_NAMESPACE: Final = Path("/var/run/secrets/kubernetes.io/serviceaccount/namespace")
NOT_INSTALLED: Final = (
    f"the {GROUP} API is not installed in this cluster (no Journey or Participant resource): "
    "install the operator with kubectl apply -k manifests/ (or only its CRDs: "
    "kubectl apply -k manifests/crds/), then try again"
)
_DEFAULT_KUBECONFIG: Final = Path("~/.kube/config")
_WARNING: Final = re.compile(r'^\s*\d{3}\s+\S+\s+"((?:[^"\\]|\\.)*)"')


def server_error(status: int | None, reason: str | None, body: str | None) -> str:
    """The API server's refusal as kubectl prints it: ``Error from server (Reason): message``.

    The message of a ``Status`` body is kept verbatim (it is where CEL rules and webhooks say
    what to do instead); only line breaks are folded, so the error stays on one line.
    """
    try:
        parsed = json.loads(body or "")
    except ValueError:
        parsed = None
    if status == 404 and not isinstance(parsed, dict):
        # A missing object comes back as a Status; a bare "404 page not found" means the
        # server does not serve the resource at all: the CRDs are not installed.
        return NOT_INSTALLED
    if isinstance(parsed, dict) and parsed.get("message"):
        kind = parsed.get("reason") or reason or status
        message = str(parsed["message"])
    else:
        kind = f"{status} {reason}" if reason else status
        message = (body or "").strip() or "no details"
    return f"Error from server ({kind}): {' '.join(message.split())}"


def parse_warnings(values: list[str]) -> list[str]:
    """The texts of ``Warning: 299 - "text"`` headers (RFC 7234), unescaped."""
    found = []
    for value in values:
        match = _WARNING.match(value)
        text = match.group(1) if match else value
        found.append(re.sub(r"\\(.)", r"\1", text))
    return found


def _mapping(value: object) -> dict[str, Any]:
    """The custom objects API is typed as returning ``object``; it returns decoded JSON."""
    if not isinstance(value, dict):
        raise ActionError(f"unexpected answer from the API server: {value!r}")
    return value


class KubeClient(Protocol):
    """The API calls the use cases make, in one namespace (or all, for listing)."""

    namespace: str
    #: Warnings the server sent with the last write.
    warnings: list[str]

    def get_journey(self, name: str) -> dict[str, Any]: ...

    def list_journeys(self, all_namespaces: bool = False) -> list[dict[str, Any]]: ...

    def list_participants(self) -> list[dict[str, Any]]: ...

    def get_participant(self, name: str) -> dict[str, Any]: ...

    def events(self, obj: Mapping[str, Any]) -> list[dict[str, Any]]: ...

    def patch_journey(self, name: str, patch: dict[str, Any], dry_run: bool) -> dict[str, Any]: ...

    def create(self, plural: str, manifest: dict[str, Any], dry_run: bool) -> dict[str, Any]: ...

    def access_allowed(self, attributes: Mapping[str, str]) -> bool:
        """A SelfSubjectAccessReview's answer for ``resourceAttributes`` (kubectl auth can-i)."""
        ...


class UserClient:
    """:class:`KubeClient` over the person's kubeconfig (or a pod's service account)."""

    def __init__(self, kubeconfig: str | None, context: str | None, namespace: str | None) -> None:
        api, default_namespace = _connect(kubeconfig, context)
        self.namespace = namespace or default_namespace
        self.custom = client.CustomObjectsApi(api)
        self.core = client.CoreV1Api(api)
        self.api = api
        self.host = str(api.configuration.host)
        #: Warnings the server sent with the last write.
        self.warnings: list[str] = []

    def _call(self, function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        try:
            return function(*args, _request_timeout=REQUEST_TIMEOUT, **kwargs)
        except client.ApiException as error:
            raise ActionError(server_error(error.status, error.reason, error.body)) from error
        except (urllib3.exceptions.HTTPError, OSError) as error:
            raise ActionError(f"cannot reach the API server at {self.host}: {error}") from error

    def _write(self, function: Callable[..., Any], *args: Any, **kwargs: Any) -> dict[str, Any]:
        data, _, headers = self._call(function, *args, **kwargs)
        self.warnings = parse_warnings(headers.getlist("Warning") if headers else [])
        return _mapping(data)

    # --- reads -------------------------------------------------------------------------------

    def get_journey(self, name: str) -> dict[str, Any]:
        return self._get(JOURNEY_PLURAL, name)

    def list_journeys(self, all_namespaces: bool = False) -> list[dict[str, Any]]:
        if all_namespaces:
            found = self._call(
                self.custom.list_cluster_custom_object, GROUP, VERSION, JOURNEY_PLURAL
            )
            return list(_mapping(found).get("items") or [])
        return self._list(JOURNEY_PLURAL)

    def _list(self, plural: str) -> list[dict[str, Any]]:
        found = self._call(
            self.custom.list_namespaced_custom_object, GROUP, VERSION, self.namespace, plural
        )
        return list(_mapping(found).get("items") or [])

    def list_participants(self) -> list[dict[str, Any]]:
        return self._list(PARTICIPANT_PLURAL)

    def get_participant(self, name: str) -> dict[str, Any]:
        return self._get(PARTICIPANT_PLURAL, name)

    def _get(self, plural: str, name: str) -> dict[str, Any]:
        found = self._call(
            self.custom.get_namespaced_custom_object, GROUP, VERSION, self.namespace, plural, name
        )
        return _mapping(found)

    def events(self, obj: Mapping[str, Any]) -> list[dict[str, Any]]:
        """Events about this very object (its uid, not an older one of the same name)."""
        metadata = obj.get("metadata") or {}
        selector = f"involvedObject.name={metadata.get('name')},involvedObject.kind={obj['kind']}"
        if metadata.get("uid"):
            selector += f",involvedObject.uid={metadata['uid']}"
        found = self._call(self.core.list_namespaced_event, self.namespace, field_selector=selector)
        serialize = self.api.sanitize_for_serialization
        return [_mapping(serialize(item)) for item in found.items]  # type: ignore[no-untyped-call]

    # --- writes ------------------------------------------------------------------------------

    def patch_journey(self, name: str, patch: dict[str, Any], dry_run: bool) -> dict[str, Any]:
        """A JSON merge patch of a Journey; ``dry_run`` runs every admission stage, stores none."""
        return self._write(
            self.custom.patch_namespaced_custom_object_with_http_info,
            GROUP,
            VERSION,
            self.namespace,
            JOURNEY_PLURAL,
            name,
            patch,
            dry_run="All" if dry_run else None,
            field_manager=FIELD_MANAGER,
            _content_type=MERGE_PATCH,
        )

    def create(self, plural: str, manifest: dict[str, Any], dry_run: bool) -> dict[str, Any]:
        return self._write(
            self.custom.create_namespaced_custom_object_with_http_info,
            GROUP,
            VERSION,
            self.namespace,
            plural,
            manifest,
            dry_run="All" if dry_run else None,
            field_manager=FIELD_MANAGER,
        )

    def access_allowed(self, attributes: Mapping[str, str]) -> bool:
        review = {"spec": {"resourceAttributes": dict(attributes)}}
        authorization = client.AuthorizationV1Api(self.api)
        answer = self._call(authorization.create_self_subject_access_review, review)
        return answer.status is not None and bool(answer.status.allowed)


def missing_kubeconfig(kubeconfig: str | None, environ: Mapping[str, str]) -> str | None:
    """Why no kubeconfig can be read, naming the files looked for as kubectl does, or None.

    ``--kubeconfig`` wins, then every file of ``$KUBECONFIG`` (a path list), then
    ``~/.kube/config``; only when none of them exists is there nothing to load.
    """
    if kubeconfig:
        if Path(kubeconfig).expanduser().exists():
            return None
        return f"--kubeconfig {kubeconfig}: no such file"
    listed = [p for p in environ.get("KUBECONFIG", "").split(os.pathsep) if p]
    if listed:
        if any(Path(p).expanduser().exists() for p in listed):
            return None
        return f"KUBECONFIG={environ['KUBECONFIG']}: no such file"
    if _DEFAULT_KUBECONFIG.expanduser().exists():
        return None
    return (
        f"no kubeconfig: KUBECONFIG is not set and {_DEFAULT_KUBECONFIG} does not exist "
        "(pass --kubeconfig PATH or set KUBECONFIG; for the local cluster: "
        "export KUBECONFIG=~/.cache/journeys/cluster/kubeconfig)"
    )


def _connect(kubeconfig: str | None, context: str | None) -> tuple[client.ApiClient, str]:
    """An API client and the default namespace, kubectl's way: ``--kubeconfig``, else
    ``$KUBECONFIG``, else ``~/.kube/config``; inside a pod without one, its service account."""
    in_pod = bool(os.environ.get("KUBERNETES_SERVICE_HOST")) and not (kubeconfig or context)
    missing = missing_kubeconfig(kubeconfig, os.environ)
    if missing and not in_pod:
        raise ActionError(missing)
    try:
        # The config loaders carry no annotations.
        api = config.new_client_from_config(  # type: ignore[no-untyped-call]
            config_file=kubeconfig, context=context
        )
        contexts, active = config.list_kube_config_contexts(  # type: ignore[no-untyped-call]
            config_file=kubeconfig
        )
    except (config.ConfigException, OSError) as error:
        if kubeconfig or context or not os.environ.get("KUBERNETES_SERVICE_HOST"):
            raise ActionError(f"cannot load the kubeconfig: {error}") from error
        configuration = client.Configuration()
        config.load_incluster_config(  # type: ignore[no-untyped-call]
            client_configuration=configuration
        )
        namespace = _SERVICE_ACCOUNT_NAMESPACE.read_text().strip() or "default"
        return client.ApiClient(configuration), namespace
    chosen = next((c for c in contexts if c.get("name") == context), active) if context else active
    namespace = ((chosen or {}).get("context") or {}).get("namespace") or "default"
    return api, str(namespace)
