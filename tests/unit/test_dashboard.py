"""The dashboard without a cluster: its views, its security checks and its routes.

The routes run in a real aiohttp server on 127.0.0.1 over an in-memory client that implements the
actions layer's ``KubeClient`` protocol, so what is checked here is the dashboard's own part: who
gets in, what a page says, which actions it offers, and that refusals come back as the server's
message. The browser and the real API server are tests/integration/test_dashboard.py's job.
"""

from __future__ import annotations

import asyncio
import copy
import json
from collections.abc import AsyncIterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import urllib3
from aiohttp import ClientSession, CookieJar
from aiohttp.test_utils import TestServer, unused_port
from kubernetes.client import ApiException

from journeys.actions import ActionError, EndPreview, Inside, JourneyView
from journeys.dashboard import views
from journeys.dashboard.app import Clients, Settings
from journeys.dashboard.live import MAX_KEYS, Hub, Subscription
from journeys.dashboard.routes import STATIC
from journeys.dashboard.security import CSRF_HEADER, Guard, host_names, is_loopback
from journeys.dashboard.server import make_app
from tests.unit.journey_objects import journey

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


# --------------------------------------------------------------------------------------------
# An in-memory KubeClient
# --------------------------------------------------------------------------------------------


class FakeKube:
    """Journeys and participants of one namespace; ``refuse`` makes every write fail."""

    def __init__(self, journeys: list[dict[str, Any]], participants: int = 0) -> None:
        self.namespace = "team"
        self.warnings: list[str] = []
        self.journeys = {j["metadata"]["name"]: copy.deepcopy(j) for j in journeys}
        self.participants = [
            {
                "metadata": {"name": f"p-{i}"},
                "spec": {"journey": "welcome-v3", "profile": f"u{i}"},
                "status": {"phase": "Active" if i % 4 else "Pending", "job": f"p-{i}"},
            }
            for i in range(participants)
        ]
        self.patches: list[tuple[str, dict[str, Any], bool]] = []
        self.refuse: ActionError | None = None
        self.fail_reads: ActionError | None = None
        self.allowed = True
        self.reviews: list[Mapping[str, str]] = []

    def access_allowed(self, attributes: Mapping[str, str]) -> bool:
        self.reviews.append(attributes)
        return self.allowed

    def _read(self) -> None:
        if self.fail_reads is not None:
            raise self.fail_reads

    def get_journey(self, name: str) -> dict[str, Any]:
        self._read()
        if name not in self.journeys:
            raise _api_error(404, f'journeys.journeys.dev "{name}" not found')
        return copy.deepcopy(self.journeys[name])

    def list_journeys(self, all_namespaces: bool = False) -> list[dict[str, Any]]:
        self._read()
        return [copy.deepcopy(j) for j in self.journeys.values()]

    def list_participants(self) -> list[dict[str, Any]]:
        return copy.deepcopy(self.participants)

    def get_participant(self, name: str) -> dict[str, Any]:
        raise NotImplementedError

    def events(self, obj: Mapping[str, Any]) -> list[dict[str, Any]]:
        return [{"type": "Normal", "reason": "Live", "message": "journey is live", "count": 1}]

    def patch_journey(self, name: str, patch: dict[str, Any], dry_run: bool) -> dict[str, Any]:
        if self.refuse is not None:
            raise self.refuse
        self.patches.append((name, patch, dry_run))
        obj = copy.deepcopy(self.journeys[name])
        obj["spec"].update(patch["spec"])
        if not dry_run:
            self.journeys[name] = obj
        return obj

    def create(self, plural: str, manifest: dict[str, Any], dry_run: bool) -> dict[str, Any]:
        if not dry_run:
            self.journeys[manifest["metadata"]["name"]] = journey(
                manifest["metadata"]["name"], manifest["spec"]["version"]
            )
        return manifest


def _api_error(status: int, message: str) -> ActionError:
    cause = ApiException(status=status, reason="x")
    try:
        raise ActionError(f"Error from server: {message}") from cause
    except ActionError as error:
        return error


def namespace_journeys() -> list[dict[str, Any]]:
    return [
        journey("welcome-v1", 1, phase="Finished", state="closed"),
        journey("welcome-v2", 2, phase="Closed", state="closed"),
        journey("welcome-v3", 3),
        stopped_by_someone(),
    ]


def stopped_by_someone() -> dict[str, Any]:
    """A stop reason is anyone's input: the pages must show it as text."""
    obj = journey("promo-v1", 1, phase="Stopped", state="stopped", stopReason="<b>oops</b>")
    obj["status"].update(stoppedBy="mallory", stopReason="<b>oops</b>")
    return obj


# --------------------------------------------------------------------------------------------
# Views
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(5, "5s"), (119, "119s"), (600, "10m"), (3 * 3600 + 300, "3h5m"), (7 * 3600, "7h"),
     (3 * 86400, "3d")],
)  # fmt: skip
def test_age_reads_like_kubectl(seconds: int, text: str) -> None:
    assert views.age(NOW - timedelta(seconds=seconds), NOW) == text
    assert views.age(None, NOW) == "-"


def test_audit_line_names_who_when_and_why() -> None:
    obj = journey("welcome-v1", 1, phase="Stopped", state="stopped")
    obj["status"].update(
        closedBy="alice",
        closedAt="2026-11-27T10:00:00Z",
        stoppedBy="bob",
        stoppedAt="2026-11-27T11:00:00Z",
        stopReason="wrong audience",
    )
    line = views.audit_line(JourneyView.of(obj))
    assert line == (
        "Closed by alice at 2026-11-27 10:00:00 UTC; "
        "Stopped by bob at 2026-11-27 11:00:00 UTC: wrong audience"
    )
    assert views.audit_line(JourneyView.of(journey("x-v1", 1))) == ""


def test_rows_keep_the_actions_order_and_offer_only_possible_endings() -> None:
    found = [JourneyView.of(j) for j in namespace_journeys()]
    rows = views.rows(found, views.Filters(), NOW)
    assert [(r.view.name, r.endings) for r in rows] == [
        ("welcome-v1", ()),
        ("welcome-v2", ("stop",)),
        ("welcome-v3", ("close", "stop")),
        ("promo-v1", ()),
    ]
    closed = views.Filters.of({"family": "welcome", "phase": "Closed"})
    assert [r.view.name for r in views.rows(found, closed, NOW)] == ["welcome-v2"]
    assert closed.query == "?family=welcome&phase=Closed"
    assert views.Filters.of({"phase": "Bogus"}) == views.Filters()
    assert views.Filters().query == ""


def preview(ending: str, active: int, pending: int, policy: str = "Suspend") -> EndPreview:
    obj = journey("welcome-v3", 3, halt={"policy": policy})
    view = JourneyView.of(obj)
    return EndPreview(ending, view, Inside(active, pending), "", False, ("a warning",), obj)  # type: ignore[arg-type]


def test_close_dialog_says_who_continues_and_that_it_cannot_be_undone() -> None:
    shown = views.dialog(preview("close", 3, 1))
    assert shown.title == "Close to new entries: welcome-v3"
    assert shown.button == "Close to new entries"
    assert shown.facts[0] == "No one new can enter this journey from now on."
    assert (
        "4 participants inside (3 active, 1 pending) continue until they finish" in (shown.facts[1])
    )
    assert "drain timeout (2184h)" in shown.facts[1]
    assert shown.facts[-1] == views.NO_RESUME and "cannot be undone" in views.NO_RESUME
    assert shown.warnings == ("a warning",)
    nobody = views.dialog(preview("close", 0, 0))
    assert "Finished right away" in nobody.facts[1]


@pytest.mark.parametrize(
    ("policy", "effect"),
    [("Suspend", "their Jobs are suspended"), ("Delete", "their Jobs are deleted")],
)
def test_stop_dialog_counts_halted_and_rejected(policy: str, effect: str) -> None:
    shown = views.dialog(preview("stop", 5, 2, policy))
    assert shown.button == "Stop"
    assert shown.facts[0].startswith(f"5 active participants are halted now: {effect}")
    assert f"(halt policy {policy})" in shown.facts[0]
    assert shown.facts[1] == "2 pending participants are rejected."
    assert shown.facts[-1] == views.NO_RESUME
    one = views.dialog(preview("stop", 1, 0, policy))
    assert one.facts[0].startswith("1 active participant is halted now")


def test_page_of_participants_is_clamped() -> None:
    items = [{"metadata": {"name": f"p{i}"}, "spec": {}} for i in range(120)]
    assert views.page_of(items, 1).rows[0].name == "p0"
    last = views.page_of(items, 99)
    assert (last.page, last.pages, last.first, last.last) == (3, 3, 101, 120)
    assert last.rows[0].phase == "Pending"  # no status yet
    assert views.page_of([], 1).total == 0


def test_problems_name_the_missing_permission_and_hide_the_server_address() -> None:
    forbidden = views.problem(_api_error(403, "nope"), "list", "journeys.journeys.dev", "team")
    assert forbidden.kind == "forbidden" and forbidden.status == 403
    assert forbidden.title == "You may not list journeys.journeys.dev in namespace team"
    assert "kubectl auth can-i list journeys.journeys.dev -n team" in forbidden.hint
    crds = views.problem(_api_error(404, "no such resource"), "list", "journeys", "")
    assert crds.kind == "crds-missing" and "kubectl apply -k manifests/" in crds.hint
    assert views.problem(_api_error(404, "x"), "get", "journeys", "t").kind == "not-found"
    try:
        raise ActionError("cannot reach the API server at https://10.1.2.3:6443") from (
            urllib3.exceptions.MaxRetryError(None, "/", "refused")  # type: ignore[arg-type]
        )
    except ActionError as error:
        away = views.problem(error, "list", "journeys", "team")
    assert away.kind == "unreachable" and "10.1.2.3" not in f"{away.title}{away.hint}{away.detail}"


# --------------------------------------------------------------------------------------------
# Security checks (pure)
# --------------------------------------------------------------------------------------------


def test_loopback_and_host_names() -> None:
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.0.2.2")
    assert host_names("127.0.0.1", 3100) == {
        "127.0.0.1:3100",
        "localhost:3100",
        "[::1]:3100",
    }
    assert host_names("192.0.2.2", 80) == {"192.0.2.2:80"}
    guard = Guard.for_address("127.0.0.1", 3100)
    assert guard.origin_ok("http://localhost:3100", "localhost:3100")
    assert not guard.origin_ok("http://evil.example", "localhost:3100")
    assert not guard.origin_ok("http://localhost:3100", "evil.example:3100")
    assert not guard.origin_ok("https://localhost:3100", "localhost:3100")
    assert not guard.origin_ok(None, "localhost:3100")
    assert guard.token != guard.session and len(guard.token) >= 40
    assert guard.cookie == "journeys-dashboard-3100"


# --------------------------------------------------------------------------------------------
# Live coalescing
# --------------------------------------------------------------------------------------------


def test_a_burst_of_changes_is_one_notice_and_memory_is_bounded() -> None:
    subscription = Subscription()
    for _ in range(5000):
        subscription.add("team/welcome-v3")
    assert subscription.take() == {"all": False, "journeys": ["team/welcome-v3"]}
    for i in range(MAX_KEYS + 50):
        subscription.add(f"team/j{i}")
    assert len(subscription.keys) == 0 and subscription.everything
    assert subscription.take() == {"all": True, "journeys": []}
    assert not subscription.ready.is_set()


async def test_notices_are_coalesced_per_window() -> None:
    hub = Hub()
    stopping = asyncio.Event()
    with hub.subscribe() as subscription:
        stream = hub.notices(subscription, stopping)
        for i in range(1000):
            hub.publish(f"team/j{i % 3}")
        first = await asyncio.wait_for(stream.__anext__(), 5)
        assert first.startswith("event: changed\n")
        assert json.loads(first.split("data: ", 1)[1]) == {
            "all": False,
            "journeys": ["team/j0", "team/j1", "team/j2"],
        }
        assert not subscription.ready.is_set()
    assert hub.subscriptions == set()


# --------------------------------------------------------------------------------------------
# The server
# --------------------------------------------------------------------------------------------


class Dashboard:
    """A real server on 127.0.0.1 and a session that signed in with the launch's token."""

    def __init__(self, server: TestServer, guard: Guard, kube: FakeKube) -> None:
        self.server, self.guard, self.kube = server, guard, kube
        self.origin = f"http://127.0.0.1:{guard.port}"
        self.session = ClientSession(cookie_jar=CookieJar(unsafe=True))  # an IP host

    def url(self, path: str) -> str:
        return f"{self.origin}{path}"

    async def sign_in(self) -> None:
        response = await self.session.get(
            self.url(f"/journeys?token={self.guard.token}"), allow_redirects=False
        )
        assert response.status == 303

    async def post(self, path: str, body: Any, **headers: str) -> tuple[int, Any]:
        sent = {"Origin": self.origin, CSRF_HEADER: self.guard.csrf, **headers}
        sent = {k: v for k, v in sent.items() if v}
        response = await self.session.post(self.url(path), json=body, headers=sent)
        if response.content_type == "application/json":
            return response.status, await response.json()
        return response.status, await response.text()


@pytest.fixture
async def dashboard() -> AsyncIterator[Dashboard]:
    kube = FakeKube(namespace_journeys(), participants=8)
    port = unused_port()
    guard = Guard.for_address("127.0.0.1", port)
    app = make_app(Settings("team"), Clients(kube, lambda ns: kube), guard, Hub())
    server = TestServer(app, host="127.0.0.1", port=port)
    await server.start_server()
    running = Dashboard(server, guard, kube)
    yield running
    await running.session.close()
    await server.close()


async def test_every_request_needs_the_session_and_the_token_becomes_a_strict_cookie(
    dashboard: Dashboard,
) -> None:
    session = dashboard.session
    for path in ("/journeys", "/journeys/team/welcome-v3", "/static/dashboard.js", "/live"):
        response = await session.get(dashboard.url(path))
        assert response.status == 401, path
        assert response.headers["Content-Security-Policy"].startswith("default-src 'none'")
    wrong = await session.get(dashboard.url("/journeys?token=guess"), allow_redirects=False)
    assert wrong.status == 401

    exchange = await session.get(
        dashboard.url(f"/journeys?phase=Live&token={dashboard.guard.token}"), allow_redirects=False
    )
    assert exchange.status == 303
    assert exchange.headers["Location"] == "/journeys?phase=Live"
    cookie = exchange.headers["Set-Cookie"]
    assert cookie.startswith(f"{dashboard.guard.cookie}={dashboard.guard.session};")
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/" in cookie
    assert dashboard.guard.token not in cookie

    page = await session.get(dashboard.url("/journeys"))
    assert page.status == 200
    assert page.headers["Referrer-Policy"] == "no-referrer"
    assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]
    assert "'unsafe-inline'" not in page.headers["Content-Security-Policy"]
    assert "Access-Control-Allow-Origin" not in page.headers
    assert page.headers["Server-Timing"].startswith("app;dur=")
    html = await page.text()
    assert "<script>" not in html and 'src="/static/dashboard.js"' in html
    assert dashboard.guard.csrf in html  # the page's CSRF token, in its meta tag


async def test_another_host_header_is_refused(dashboard: Dashboard) -> None:
    await dashboard.sign_in()
    rebound = await dashboard.session.get(
        dashboard.url("/journeys"), headers={"Host": "attacker.example:80"}
    )
    assert rebound.status == 421


async def test_posts_need_csrf_and_our_origin(dashboard: Dashboard) -> None:
    await dashboard.sign_in()
    path, body = "/journeys/team/welcome-v3/end", {"ending": "stop"}
    assert (await dashboard.post(path, body, **{CSRF_HEADER: ""}))[0] == 403
    assert (await dashboard.post(path, body, **{CSRF_HEADER: "0" * 64}))[0] == 403
    assert (await dashboard.post(path, body, Origin="http://evil.example"))[0] == 403
    assert (await dashboard.post(path, body, Origin=""))[0] == 403
    assert dashboard.kube.patches == []  # nothing reached the cluster
    options = await dashboard.session.options(dashboard.url(path), headers={"Origin": "http://x"})
    assert options.status == 405 and "Access-Control-Allow-Origin" not in options.headers
    status, answer = await dashboard.post(path, body)
    assert (status, answer["ok"]) == (200, True)
    assert dashboard.kube.patches == [("welcome-v3", {"spec": {"state": "stopped"}}, False)]


async def test_without_a_cookie_a_post_is_401_even_with_a_csrf_token(dashboard: Dashboard) -> None:
    status, _ = await dashboard.post("/journeys/team/welcome-v3/end", {"ending": "stop"})
    assert status == 401
    assert dashboard.kube.patches == []


async def test_list_page_rows_actions_and_escaping(dashboard: Dashboard) -> None:
    await dashboard.sign_in()
    html = await (await dashboard.session.get(dashboard.url("/journeys"))).text()
    newest_first = ("welcome-v3", "welcome-v2", "welcome-v1")
    order = [html.index(f'data-key="team/{name}"') for name in newest_first]
    assert order == sorted(order)
    live_row = html[html.index('data-key="team/welcome-v3"') :].split("</tr>", 1)[0]
    assert 'data-action="close"' in live_row and 'data-action="stop"' in live_row
    draining = html[html.index('data-key="team/welcome-v2"') :].split("</tr>", 1)[0]
    assert 'data-action="close"' not in draining and 'data-action="stop"' in draining
    stopped = html[html.index('data-key="team/promo-v1"') :].split("</tr>", 1)[0]
    assert "data-action" not in stopped
    assert "&lt;b&gt;oops&lt;/b&gt;" in html and "<b>oops</b>" not in html

    filtered = await (
        await dashboard.session.get(dashboard.url("/parts/journeys?phase=Live"))
    ).text()
    assert "welcome-v3" in filtered and "welcome-v2" not in filtered
    assert "<html" not in filtered  # a fragment for live refresh


async def test_journey_page_shows_status_family_and_paged_participants(
    dashboard: Dashboard,
) -> None:
    await dashboard.sign_in()
    page = await dashboard.session.get(dashboard.url("/journeys/team/welcome-v3"))
    html = await page.text()
    assert page.status == 200
    assert 'role="menu"' in html and 'aria-haspopup="menu"' in html
    for item in ("Close to new entries", "Stop", "New version", "Duplicate"):
        assert f">{item}</button>" in html
    assert html.index("welcome-v3</a>") < html.index("welcome-v2</a>")  # newest version first
    assert "p-7" in html and "1\u20138 of 8" in html
    assert 'data-watch="team/welcome-v1 team/welcome-v2 team/welcome-v3"' in html
    old = await (await dashboard.session.get(dashboard.url("/journeys/team/welcome-v2"))).text()
    assert ">New version</button>" not in old  # only from the latest version
    missing = await dashboard.session.get(dashboard.url("/journeys/team/nope"))
    assert missing.status == 404 and "Not found" in await missing.text()
    elsewhere = await dashboard.session.get(dashboard.url("/journeys/other/welcome-v3"))
    assert elsewhere.status == 404  # not -A: other namespaces are not shown


async def test_preview_has_the_dry_run_numbers_and_refusals_are_the_servers_words(
    dashboard: Dashboard,
) -> None:
    await dashboard.sign_in()
    status, answer = await dashboard.post(
        "/journeys/team/welcome-v3/preview", {"ending": "close", "reason": ""}
    )
    assert status == 200 and answer["button"] == "Close to new entries"
    assert "8 participants inside (6 active, 2 pending)" in answer["html"]
    assert "cannot be undone" in answer["html"]
    assert dashboard.kube.patches == [("welcome-v3", {"spec": {"state": "closed"}}, True)]

    dashboard.kube.refuse = ActionError("Error from server (Invalid): a stopped journey stays so")
    status, answer = await dashboard.post("/journeys/team/welcome-v3/end", {"ending": "close"})
    assert status == 409
    assert answer == {
        "ok": False,
        "error": "Error from server (Invalid): a stopped journey stays so",
    }
    assert dashboard.kube.journeys["welcome-v3"]["spec"]["state"] == "live"
    status, answer = await dashboard.post("/journeys/team/welcome-v3/end", {"ending": "resume"})
    assert status == 409 and "unknown action" in answer["error"]


async def test_a_user_who_may_not_stop_is_told_before_any_dry_run(dashboard: Dashboard) -> None:
    await dashboard.sign_in()
    dashboard.kube.allowed = False
    status, answer = await dashboard.post("/journeys/team/welcome-v3/preview", {"ending": "stop"})
    assert status == 403 and answer["ok"] is False
    assert answer["error"].startswith("you may not stop this journey")
    assert {r.get("verb") for r in dashboard.kube.reviews} >= {"patch"}
    assert dashboard.kube.patches == []


async def test_new_version_and_duplicate_go_through_the_actions(dashboard: Dashboard) -> None:
    await dashboard.sign_in()
    status, answer = await dashboard.post("/journeys/team/welcome-v3/new-version", {"dryRun": True})
    assert status == 200 and answer["name"] == "welcome-v4"
    assert answer["closing"] == [
        "welcome-v3 is closed to new entries; 8 participants inside finish there."
    ]
    assert "welcome-v4" not in dashboard.kube.journeys
    status, answer = await dashboard.post("/journeys/team/welcome-v2/new-version", {})
    assert status == 409 and "latest version is welcome-v3" in answer["error"]
    status, answer = await dashboard.post(
        "/journeys/team/welcome-v3/duplicate", {"family": "spring"}
    )
    assert (status, answer["name"]) == (200, "spring-v1")
    assert "spring-v1" in dashboard.kube.journeys
    status, answer = await dashboard.post(
        "/journeys/team/welcome-v3/duplicate", {"family": "promo"}
    )
    assert status == 409 and "family promo already exists" in answer["error"]


@pytest.mark.parametrize(
    ("error", "kind", "words"),
    [
        (403, "forbidden", "You may not list journeys.journeys.dev in namespace team"),
        (404, "crds-missing", "The Journey API is not installed in this cluster"),
    ],
)
async def test_list_problems(dashboard: Dashboard, error: int, kind: str, words: str) -> None:
    await dashboard.sign_in()
    dashboard.kube.fail_reads = _api_error(error, "refused")
    page = await dashboard.session.get(dashboard.url("/journeys"))
    html = await page.text()
    assert page.status == error
    assert f'data-problem="{kind}"' in html and words in html


async def test_no_journeys_yet_says_how_to_create_one(dashboard: Dashboard) -> None:
    await dashboard.sign_in()
    dashboard.kube.journeys.clear()
    html = await (await dashboard.session.get(dashboard.url("/journeys"))).text()
    assert 'data-problem="empty"' in html and "kubectl apply -k manifests/samples/" in html


def test_static_files_are_packaged() -> None:
    assert {p.name for p in STATIC.iterdir()} >= {"dashboard.js", "dashboard.css"}


async def test_all_namespaces_shows_them_and_makes_a_client_per_namespace() -> None:
    kube = FakeKube(namespace_journeys())
    other = FakeKube([journey("spring-v1", 1)])
    other.namespace = "other"
    made: list[str] = []

    def factory(namespace: str) -> FakeKube:
        made.append(namespace)
        return other

    port = unused_port()
    guard = Guard.for_address("127.0.0.1", port)
    app = make_app(Settings("team", all_namespaces=True), Clients(kube, factory), guard, Hub())
    server = TestServer(app, host="127.0.0.1", port=port)
    await server.start_server()
    running = Dashboard(server, guard, kube)
    try:
        await running.sign_in()
        listing = await (await running.session.get(running.url("/journeys"))).text()
        assert '<th scope="col">Namespace</th>' in listing and "All namespaces" in listing
        page = await running.session.get(running.url("/journeys/other/spring-v1"))
        assert page.status == 200 and made == ["other"]
        await running.session.get(running.url("/journeys/other/spring-v1"))
        assert made == ["other"]  # one client per namespace, kept
    finally:
        await running.session.close()
        await server.close()
