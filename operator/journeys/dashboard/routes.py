"""The dashboard's routes: pages, their live fragments, the live stream, and the actions.

``GET /journeys`` and ``GET /journeys/{namespace}/{name}`` are whole pages; ``/parts/...`` are the
same pages' live parts, fetched again by the page when the live stream says its journeys
changed. ``POST .../preview`` dry-runs an ending and returns the dialog's content; ``POST .../end``
makes the change; ``POST .../new-version`` and ``.../duplicate`` create journeys. Every answer to
a POST is JSON: ``{"ok": true, ...}`` or ``{"ok": false, "error": "<the server's message>"}``.
"""

from __future__ import annotations

import json
import time
from importlib.resources import files
from typing import Any

from aiohttp import web

from journeys import actions
from journeys.actions import ActionError, KubeClient
from journeys.dashboard import views
from journeys.dashboard.app import (
    CLIENTS,
    HUB,
    JOURNEYS,
    SETTINGS,
    STARTED,
    STOPPING,
    TEMPLATES,
    call,
    ending_of,
    journey_page_data,
    new_edit,
    now,
    reason_of,
    render,
    visible,
)
from journeys.dashboard.security import secure

STATIC = files("journeys.dashboard") / "static"


def add(app: web.Application) -> None:
    app.router.add_get("/", index)
    app.router.add_get("/journeys", journey_list)
    app.router.add_get("/parts/journeys", journey_list)
    app.router.add_get("/journeys/{namespace}/{name}", journey_page)
    app.router.add_get("/parts/journeys/{namespace}/{name}", journey_page)
    app.router.add_post("/journeys/{namespace}/{name}/preview", preview)
    app.router.add_post("/journeys/{namespace}/{name}/end", end)
    app.router.add_post("/journeys/{namespace}/{name}/new-version", new_version)
    app.router.add_post("/journeys/{namespace}/{name}/duplicate", duplicate)
    app.router.add_get("/live", live)
    app.router.add_static("/static", str(STATIC), append_version=False)


def fragment(request: web.Request) -> bool:
    return request.path.startswith("/parts/")


async def index(request: web.Request) -> web.StreamResponse:
    raise web.HTTPFound("/journeys")


# --------------------------------------------------------------------------------------------
# Pages
# --------------------------------------------------------------------------------------------


async def journey_list(request: web.Request) -> web.Response:
    request[STARTED] = time.perf_counter()
    settings = request.app[SETTINGS]
    client = request.app[CLIENTS].first
    filters = views.Filters.of(request.query)
    template = "_list.html" if fragment(request) else "list.html"
    where = "" if settings.all_namespaces else settings.namespace
    try:
        found = await call(actions.list_journeys, client, settings.all_namespaces)
    except ActionError as error:
        problem = views.problem(error, "list", JOURNEYS, where)
        return render(request, template, problem.status, problem=problem, filters=filters)
    return render(
        request,
        template,
        problem=None,
        filters=filters,
        rows=views.rows(found, filters, now()),
        total=len(found),
        families=views.families(found),
    )


async def journey_page(request: web.Request) -> web.Response:
    request[STARTED] = time.perf_counter()
    namespace, name = request.match_info["namespace"], request.match_info["name"]
    if not visible(request.app[SETTINGS], namespace):
        raise web.HTTPNotFound(text=f"namespace {namespace} is not shown by this dashboard")
    try:
        page = int(request.query.get("page", "1"))
    except ValueError:
        page = 1
    client = request.app[CLIENTS].get(namespace)
    template = "_journey.html" if fragment(request) else "journey.html"
    try:
        data = await call(journey_page_data, client, name, page)
    except ActionError as error:
        problem = views.problem(error, "get", JOURNEYS, namespace)
        return render(request, template, problem.status, problem=problem, name=name, ns=namespace)
    return render(request, template, problem=None, name=name, ns=namespace, **data)


# --------------------------------------------------------------------------------------------
# Actions
# --------------------------------------------------------------------------------------------


def answer(status: int = 200, **body: Any) -> web.Response:
    response = web.json_response(body, status=status)
    secure(response)
    return response


def refused(error: ActionError) -> web.Response:
    """403 when RBAC said no before anything was sent; 409 for the server's refusals."""
    return answer(403 if isinstance(error, actions.Forbidden) else 409, ok=False, error=str(error))


async def body_of(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise web.HTTPBadRequest(text="the body must be JSON") from error
    if not isinstance(body, dict):
        raise web.HTTPBadRequest(text="the body must be a JSON object")
    return body


def client_of(request: web.Request) -> KubeClient:
    namespace = request.match_info["namespace"]
    if not visible(request.app[SETTINGS], namespace):
        raise web.HTTPNotFound(text=f"namespace {namespace} is not shown by this dashboard")
    return request.app[CLIENTS].get(namespace)


async def preview(request: web.Request) -> web.Response:
    """The dialog's content, from a server-side dry run (a refusal is the server's message).

    Whether the user may end the journey at all is asked first (a SelfSubjectAccessReview), so
    a dialog that cannot succeed says so instead of offering its button.
    """
    client = client_of(request)
    name = request.match_info["name"]
    try:
        body = await body_of(request)
        ending, reason = ending_of(body), reason_of(body)
        async with request.app[CLIENTS].lock(client.namespace):
            found = await call(actions.preview_end, client, name, ending, reason)
    except ActionError as error:
        return refused(error)
    shown = views.dialog(found)
    html = request.app[TEMPLATES].get_template("_dialog.html").render(dialog=shown)
    return answer(ok=True, html=html, button=shown.button, unchanged=shown.unchanged)


async def end(request: web.Request) -> web.Response:
    client = client_of(request)
    name = request.match_info["name"]
    try:
        body = await body_of(request)
        ending, reason = ending_of(body), reason_of(body)
        async with request.app[CLIENTS].lock(client.namespace):
            result = await call(actions.end_journey, client, name, ending, reason)
            warnings = list(client.warnings)
    except ActionError as error:
        return refused(error)
    return answer(ok=True, name=result["metadata"]["name"], warnings=warnings)


async def new_version(request: web.Request) -> web.Response:
    """``dry_run`` first answers with what would happen; the second call creates it."""
    client = client_of(request)
    name = request.match_info["name"]
    try:
        body = await body_of(request)
        dry_run = bool(body.get("dryRun"))
        async with request.app[CLIENTS].lock(client.namespace):
            plan = await call(actions.plan_new_version, client, name, new_edit(), now())
            await call(actions.create_journey, client, plan.new, dry_run)
    except ActionError as error:
        return refused(error)
    closing = [
        f"{old.name} is closed to new entries; {views.plural(who.total, 'participant')} "
        "inside finish there."
        for old, who in plan.closing
    ]
    return answer(ok=True, name=plan.new.name, source=plan.new.source, closing=closing)


async def duplicate(request: web.Request) -> web.Response:
    client = client_of(request)
    name = request.match_info["name"]
    try:
        body = await body_of(request)
        family = body.get("family")
        if not isinstance(family, str) or not family.strip():
            raise ActionError("name the new family (a DNS label, e.g. welcome-spring)")
        dry_run = bool(body.get("dryRun"))
        async with request.app[CLIENTS].lock(client.namespace):
            new = await call(
                actions.plan_duplicate, client, name, family.strip(), new_edit(), now()
            )
            await call(actions.create_journey, client, new, dry_run)
    except ActionError as error:
        return refused(error)
    return answer(ok=True, name=new.name, source=new.source)


# --------------------------------------------------------------------------------------------
# Live
# --------------------------------------------------------------------------------------------


async def live(request: web.Request) -> web.StreamResponse:
    """Server-sent events: ``changed`` with the keys of changed journeys, coalesced."""
    hub = request.app[HUB]
    response = web.StreamResponse(
        headers={"Content-Type": "text/event-stream", "X-Accel-Buffering": "no"}
    )
    secure(response)
    await response.prepare(request)
    with hub.subscribe() as subscription:
        if hub.status:
            subscription.status = hub.status
            subscription.ready.set()
        try:
            await response.write(b"retry: 2000\n\n")
            async for notice in hub.notices(subscription, request.app[STOPPING]):
                await response.write(notice.encode())
        except ConnectionResetError:  # the page went away (aiohttp's error is one of these)
            pass
    return response
