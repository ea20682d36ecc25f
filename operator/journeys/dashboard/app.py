"""What the dashboard's handlers share: the application's keys, rendering, worker-thread calls.

Every cluster call goes through :mod:`journeys.actions` with the user's own client, in a worker
thread (``asyncio.to_thread``): the client is synchronous and the event loop serves every page
and every live stream. Pages are rendered by Jinja2 with autoescape on, so text from the cluster
(a stop reason is anyone's input) is always escaped. Actions are POSTs with a JSON body; the
security middleware has checked the session, the Origin and the CSRF token before they run.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final, TypeVar

import jinja2
from aiohttp import web

from journeys import actions
from journeys.actions import ActionError, Edit, Ending, JourneyView, KubeClient
from journeys.api import GROUP, JOURNEY_PLURAL
from journeys.dashboard import views
from journeys.dashboard.live import Hub, key
from journeys.dashboard.security import Guard, secure

T = TypeVar("T")
JOURNEYS: Final = f"{JOURNEY_PLURAL}.{GROUP}"
ENDINGS: Final[tuple[Ending, ...]] = ("close", "stop")
MAX_REASON: Final = 1024


@dataclass
class Settings:
    """What the launch chose: the namespace (or all of them)."""

    namespace: str
    all_namespaces: bool = False


@dataclass
class Clients:
    """One client per namespace: the actions act in their client's namespace."""

    first: KubeClient
    factory: Callable[[str], KubeClient]
    by_namespace: dict[str, KubeClient] = field(default_factory=dict)
    locks: dict[str, asyncio.Lock] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.by_namespace[self.first.namespace] = self.first

    def get(self, namespace: str) -> KubeClient:
        if namespace not in self.by_namespace:
            self.by_namespace[namespace] = self.factory(namespace)
        return self.by_namespace[namespace]

    def lock(self, namespace: str) -> asyncio.Lock:
        """Writes in one namespace one at a time: a client keeps the last write's warnings."""
        return self.locks.setdefault(namespace, asyncio.Lock())


SETTINGS: Final = web.AppKey("settings", Settings)
CLIENTS: Final = web.AppKey("clients", Clients)
GUARD: Final = web.AppKey("guard", Guard)
HUB: Final = web.AppKey("hub", Hub)
TEMPLATES: Final = web.AppKey("templates", jinja2.Environment)
STOPPING: Final = web.AppKey("stopping", asyncio.Event)
#: When the handler started (``Server-Timing`` covers the cluster calls and the rendering).
STARTED: Final = web.RequestKey("started", float)


def templates() -> jinja2.Environment:
    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("journeys.dashboard", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.globals.update(labels=views.ACTION_LABELS, phases=views.PHASES, key=key)
    return environment


# --------------------------------------------------------------------------------------------
# Helpers the handlers share
# --------------------------------------------------------------------------------------------


async def call(function: Callable[..., T], *args: Any) -> T:
    """A synchronous actions call, off the event loop."""
    return await asyncio.to_thread(function, *args)


def render(request: web.Request, template: str, status: int = 200, **context: Any) -> web.Response:
    """A page or fragment, with the CSRF token and the time it took (``Server-Timing``)."""
    started = request.get(STARTED, time.perf_counter())
    settings = request.app[SETTINGS]
    page = (
        request.app[TEMPLATES]
        .get_template(template)
        .render(
            csrf=request.app[GUARD].csrf,
            namespace=settings.namespace,
            all_namespaces=settings.all_namespaces,
            **context,
        )
    )
    elapsed = (time.perf_counter() - started) * 1000
    response = web.Response(
        text=page,
        status=status,
        content_type="text/html",
        headers={"Server-Timing": f"app;dur={elapsed:.1f}"},
    )
    secure(response)
    return response


def now() -> datetime:
    return datetime.now(UTC)


def visible(settings: Settings, namespace: str) -> bool:
    """Pages outside the launch's namespace exist only with ``-A``."""
    return settings.all_namespaces or namespace == settings.namespace


def reason_of(body: Mapping[str, Any]) -> str:
    reason = body.get("reason", "")
    if not isinstance(reason, str) or len(reason) > MAX_REASON:
        raise ActionError(f"a reason is text of at most {MAX_REASON} characters")
    return reason.strip()


def ending_of(body: Mapping[str, Any]) -> Ending:
    ending = body.get("ending")
    for known in ENDINGS:
        if ending == known:
            return known
    raise ActionError("unknown action: the page asks for close or stop")


def journey_page_data(client: KubeClient, name: str, page: int) -> dict[str, Any]:
    """Everything a journey page shows, in one worker-thread call."""
    obj = client.get_journey(name)
    view = JourneyView.of(obj)
    family = actions.family_of(client, view)
    participants = actions.participants_of(client, name)
    events = actions.events_of(client, obj)
    return {
        "view": view,
        "audit": views.audit_line(view),
        "deadlines": views.deadlines(view),
        "family": family[::-1],
        "latest": max((m.version for m in family), default=view.version) == view.version,
        "participants": views.page_of(participants, page),
        "events": views.event_rows(events),
        "created": views.when(view.created),
        "watch": [key(m.namespace, m.name) for m in family],
    }


def new_edit() -> Edit:
    """The dashboard copies as is; changes are made afterwards with kubectl (GitOps)."""
    return Edit()
