"""``kubectl journey dashboard`` end to end: the real command, the real cluster, a real browser.

Each test starts the installed command (``kubectl-journey dashboard --no-browser --port 0``) with
the test's kubeconfig, reads the URL it prints, and drives Debian's headless Chromium through
Playwright as a person would: pointing at rows, opening dialogs, typing a reason, pressing Esc.
The operator runs with its admission webhooks, so the audit names the kubeconfig's user. Every
wait is on a condition (Playwright's ``expect``, or :func:`wait_for` on the cluster), with bounds
generous enough for a loaded two-core machine. The screenshots of docs/dashboard.md are taken here.
"""

from __future__ import annotations

import base64
import http.client
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml
from hack.browser import CHROMIUM, CHROMIUM_FLAGS
from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright

from tests.integration.conftest import Kubectl
from tests.integration.support import (
    Cluster,
    OperatorProcess,
    as_from_a_terminal,
    journey_manifest,
    participant_manifest,
    wait_for,
)
from tests.integration.test_cli import webhooks  # noqa: F401 (the operator with its webhooks)

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]

PLUGIN = Path(sys.executable).with_name("kubectl-journey")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "images"
#: Playwright's waits (ms): a loaded two-core machine with a cluster, an operator and a browser.
UI_TIMEOUT = 30_000
expect.set_options(timeout=UI_TIMEOUT)


@dataclass
class Dashboard:
    """A running ``kubectl journey dashboard`` and the URL it printed (with the token)."""

    process: subprocess.Popen[str]
    url: str
    output: list[str]

    @property
    def origin(self) -> str:
        parts = urlsplit(self.url)
        return f"{parts.scheme}://{parts.netloc}"

    @property
    def port(self) -> int:
        return int(urlsplit(self.url).port or 0)

    @property
    def token(self) -> str:
        return self.url.split("token=", 1)[1]

    def interrupt(self) -> int:
        """Ctrl-C, as a person stops it; the exit code."""
        self.process.send_signal(signal.SIGINT)
        return self.process.wait(timeout=30)


def start_dashboard(kubeconfig: str, *args: str) -> Dashboard:
    process = subprocess.Popen(
        as_from_a_terminal([str(PLUGIN), "dashboard", "--no-browser", "--port", "0", *args]),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "KUBECONFIG": kubeconfig},
    )
    assert process.stdout is not None
    output: list[str] = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        output.append(line.rstrip("\n"))
        found = re.search(r"Open (http://\S+)", line)
        if found:
            return Dashboard(process, found.group(1), output)
    process.kill()
    raise AssertionError(f"the dashboard printed no URL: {output}")


@pytest.fixture
def dashboard(kubeconfig_path: str, namespace: str) -> Iterator[Dashboard]:
    running = start_dashboard(kubeconfig_path, "-n", namespace)
    yield running
    if running.process.poll() is None:
        running.interrupt()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    assert Path(CHROMIUM).is_file(), f"{CHROMIUM} is missing: make browser (Debian's chromium)"
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=list(CHROMIUM_FLAGS))
        yield launched
        launched.close()


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    """A fresh context per test (the browser itself runs on a fresh temporary profile that
    Playwright creates per launch): no cookie survives from another test's dashboard."""
    fresh = browser.new_context(viewport={"width": 1280, "height": 760})
    yield fresh
    fresh.close()


@pytest.fixture
def page(context: BrowserContext, dashboard: Dashboard) -> Page:
    opened = context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda error: errors.append(str(error)))
    opened.goto(dashboard.url)  # the token URL: exchanged for the cookie, then redirected
    assert "token=" not in opened.url
    expect(opened.locator("#live-status")).to_have_text("Live")
    opened.set_default_timeout(UI_TIMEOUT)
    return opened


def me(kubectl: Kubectl) -> str:
    return kubectl("auth", "whoami", "-o", "jsonpath={.status.userInfo.username}").stdout.strip()


def live(cluster: Cluster, name: str) -> bool:
    return (cluster.journey(name).get("status") or {}).get("phase") == "Live"


def enter(cluster: Cluster, journey: str, *profiles: str) -> None:
    for profile in profiles:
        cluster.create(participant_manifest(f"{journey}-{profile}", journey, profile))
    wait_for(
        f"{len(profiles)} participants Active in {journey}",
        lambda: (
            (cluster.journey(journey).get("status") or {}).get("participants", {}).get("active")
            == len(profiles)
        ),
        timeout=90,
    )


def mark_page(page: Page) -> None:
    """A marker that a reload would wipe: its presence later proves the page was not reloaded."""
    page.evaluate("window.__notReloaded = true")


def not_reloaded(page: Page) -> bool:
    return bool(page.evaluate("window.__notReloaded === true"))


def focus_in_dialog(page: Page) -> bool:
    return bool(
        page.evaluate("document.getElementById('confirm').contains(document.activeElement)")
    )


@pytest.mark.usefixtures("webhooks")
def test_list_quick_close_then_live_to_finished(
    cluster: Cluster, kubectl: Kubectl, dashboard: Dashboard, page: Page
) -> None:
    cluster.create(journey_manifest("welcome-v1", delay="25s"))
    wait_for("welcome-v1 Live", lambda: live(cluster, "welcome-v1"))
    # The list shows a new journey without a reload.
    mark_page(page)
    row = page.locator('tr[data-key$="/welcome-v1"]')
    expect(row).to_be_visible()
    enter(cluster, "welcome-v1", "alice", "bob")
    expect(row.locator(".inside")).to_have_text("2")

    close = row.get_by_role("button", name="Close to new entries")
    stop = row.get_by_role("button", name="Stop")
    page.mouse.move(1, 1)
    expect(close).to_be_hidden()
    row.hover()  # pointing at the row reveals its quick actions
    expect(close).to_be_visible()
    expect(stop).to_be_visible()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "dashboard-list.png"))
    page.mouse.move(1, 1)
    row.get_by_role("link", name="welcome-v1").focus()  # and so does keyboard focus
    expect(close).to_be_visible()

    # Esc changes nothing, and focus comes back to the button that opened the dialog.
    close.click()
    dialog = page.get_by_role("dialog", name="Close to new entries: welcome-v1")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("2 participants inside continue until they finish")
    expect(dialog).to_contain_text("cannot be undone")
    assert focus_in_dialog(page)
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(close).to_be_focused()
    assert cluster.journey("welcome-v1")["spec"]["state"] == "live"

    close.click()
    confirm = dialog.get_by_role("button", name="Close to new entries")
    expect(confirm).to_be_enabled()
    confirm.click()
    expect(dialog).to_be_hidden()
    journey = cluster.journey("welcome-v1")
    assert journey["spec"]["state"] == "closed"
    user = me(kubectl)
    wait_for(
        "closedBy in status",
        lambda: (cluster.journey("welcome-v1").get("status") or {}).get("closedBy") == user,
        timeout=60,
    )
    expect(row.locator(".phase")).to_have_text("Closed")
    expect(row).to_contain_text(f"Closed by {user}")
    expect(row.get_by_role("button", name="Close to new entries")).to_have_count(0)
    # The participants finish; the page follows without a reload.
    expect(row.locator(".phase")).to_have_text("Finished", timeout=150_000)
    expect(row.get_by_role("button", name="Stop")).to_have_count(0)
    assert not_reloaded(page)


@pytest.mark.usefixtures("webhooks")
def test_stop_from_the_journey_page_with_a_reason(
    cluster: Cluster, dashboard: Dashboard, page: Page
) -> None:
    cluster.create(journey_manifest("promo-v1", delay="600s"))
    wait_for("promo-v1 Live", lambda: live(cluster, "promo-v1"))
    enter(cluster, "promo-v1", "ann", "ben")
    page.get_by_role("link", name="promo-v1").click()
    expect(page.locator("h1")).to_contain_text("promo-v1")
    mark_page(page)

    menu_button = page.get_by_role("button", name="Actions")
    menu_button.focus()
    page.keyboard.press("ArrowDown")
    items = page.get_by_role("menuitem")
    expect(items).to_have_text(["Close to new entries", "Stop", "New version", "Duplicate"])
    expect(items.first).to_be_focused()
    page.keyboard.press("Escape")
    expect(items.first).to_be_hidden()
    expect(menu_button).to_be_focused()

    menu_button.click()
    page.get_by_role("menuitem", name="Stop").click()
    dialog = page.get_by_role("dialog", name="Stop: promo-v1")
    expect(dialog).to_contain_text("2 active participants are halted now")
    expect(dialog).to_contain_text("suspended")
    expect(dialog).to_contain_text("cannot be undone")
    reason = "wrong audience <script>alert(1)</script>"
    dialog.get_by_label("Reason").fill(reason)
    page.screenshot(path=str(SCREENSHOTS / "dashboard-stop-dialog.png"))
    dialog.get_by_role("button", name="Stop", exact=True).click()
    expect(dialog).to_be_hidden()
    expect(menu_button).to_be_focused()

    expect(page.locator("#journey-phase")).to_have_text("Stopped", timeout=90_000)
    expect(page.locator("#audit-line")).to_contain_text(f": {reason}")  # as text, escaped
    expect(page.locator("#count-halted")).to_have_text("2", timeout=90_000)
    assert not_reloaded(page)
    assert cluster.journey("promo-v1")["spec"]["stopReason"] == reason
    jobs = cluster.jobs("promo-v1")
    assert len(jobs) == 2 and all(job.spec and job.spec.suspend for job in jobs)
    # Nothing more to end: only New version and Duplicate are left.
    menu_button.click()
    expect(page.get_by_role("menuitem")).to_have_text(["New version", "Duplicate"])


@pytest.mark.usefixtures("webhooks")
def test_a_refused_action_shows_the_servers_message_and_changes_nothing(
    cluster: Cluster, dashboard: Dashboard, page: Page
) -> None:
    cluster.create(journey_manifest("race-v1", delay="600s"))
    wait_for("race-v1 Live", lambda: live(cluster, "race-v1"))
    row = page.locator('tr[data-key$="/race-v1"]')
    row.hover()
    row.get_by_role("button", name="Close to new entries").click()
    dialog = page.get_by_role("dialog", name="Close to new entries: race-v1")
    confirm = dialog.get_by_role("button", name="Close to new entries")
    expect(confirm).to_be_enabled()  # the dry run passed
    # Someone else stops it while the dialog is open.
    cluster.patch_spec("journeys", "race-v1", {"state": "stopped"})
    confirm.click()
    alert = dialog.get_by_role("alert")
    expect(alert).to_contain_text("Error from server")
    expect(dialog).to_be_visible()
    assert cluster.journey("race-v1")["spec"]["state"] == "stopped"
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_be_hidden()
    assert cluster.journey("race-v1")["spec"]["state"] == "stopped"


# --------------------------------------------------------------------------------------------
# Security, over plain HTTP
# --------------------------------------------------------------------------------------------


def request(
    dashboard: Dashboard, method: str, path: str, headers: dict[str, str], body: str = ""
) -> http.client.HTTPResponse:
    connection = http.client.HTTPConnection("127.0.0.1", dashboard.port, timeout=30)
    connection.request(method, path, body=body or None, headers=headers)
    response = connection.getresponse()
    response.read()
    connection.close()
    return response


def listening_addresses(port: int) -> set[str]:
    """Local addresses of sockets listening on ``port`` (/proc/net/tcp and tcp6)."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            address, hex_port = fields[1].rsplit(":", 1)
            if int(hex_port, 16) == port and fields[3] == "0A":  # 0A: LISTEN
                found.add(address)
    return found


def kubeconfig_secrets(path: str) -> list[str]:
    """What must never reach a page: credentials, certificates and the server's address."""
    config = yaml.safe_load(Path(path).read_text())
    secrets: list[str] = []
    for entry in config.get("users") or []:
        for value in (entry.get("user") or {}).values():
            if isinstance(value, str) and len(value) > 16:
                secrets.append(value)
                if value.endswith("="):  # base64 PEM: also the decoded text's body
                    decoded = base64.b64decode(value).decode(errors="replace")
                    secrets.extend(line for line in decoded.splitlines() if len(line) > 40)
    for entry in config.get("clusters") or []:
        secrets.append(str((entry.get("cluster") or {}).get("server")))
    return [s for s in secrets if s]


def test_security_of_the_server(
    cluster: Cluster,
    operator: OperatorProcess,
    dashboard: Dashboard,
    page: Page,
    kubeconfig_path: str,
) -> None:
    cluster.create(journey_manifest("safe-v1", delay="600s"))
    wait_for("safe-v1 Live", lambda: live(cluster, "safe-v1"))
    host = {"Host": f"127.0.0.1:{dashboard.port}"}
    # Loopback only, by default: no socket listens on any other address.
    assert urlsplit(dashboard.url).hostname == "127.0.0.1"
    assert listening_addresses(dashboard.port) == {"0100007F"}  # 127.0.0.1

    # Nothing from the kubeconfig reaches a page (the session is the browser's).
    page.reload()
    expect(page.locator('tr[data-key$="/safe-v1"]')).to_be_visible()
    pages = [page.content()]
    page.get_by_role("link", name="safe-v1").click()
    expect(page.locator("h1")).to_contain_text("safe-v1")
    pages.append(page.content())
    for secret in kubeconfig_secrets(kubeconfig_path):
        assert all(secret not in html for html in pages), "a kubeconfig value is on a page"

    # Without the session cookie: 401, for pages and for actions.
    assert request(dashboard, "GET", "/journeys", host).status == 401
    path = f"/journeys/{cluster.namespace}/safe-v1/end"
    body = '{"ending": "stop"}'
    json_post = {**host, "Content-Type": "application/json", "Origin": dashboard.origin}
    assert request(dashboard, "POST", path, json_post, body).status == 401

    # With the cookie (from the printed token) but without the CSRF token, or from elsewhere.
    exchange = request(dashboard, "GET", f"/journeys?token={dashboard.token}", host)
    assert exchange.status == 303
    cookie = exchange.getheader("Set-Cookie", "").split(";", 1)[0]
    signed_in = {**json_post, "Cookie": cookie}
    assert request(dashboard, "POST", path, signed_in, body).status == 403
    csrf = re.search(r'name="csrf-token" content="([^"]+)"', pages[0])
    assert csrf is not None
    other_origin = {**signed_in, "X-CSRF-Token": csrf.group(1), "Origin": "http://evil.example"}
    assert request(dashboard, "POST", path, other_origin, body).status == 403
    rebound = {**signed_in, "X-CSRF-Token": csrf.group(1), "Host": "evil.example"}
    assert request(dashboard, "POST", path, rebound, body).status == 421
    assert cluster.journey("safe-v1")["spec"]["state"] == "live"  # nothing got through

    # Ctrl-C stops it cleanly.
    assert dashboard.interrupt() == 0
    assert dashboard.process.stdout is not None
    assert "dashboard stopped" in dashboard.process.stdout.read()


def test_empty_namespace_says_how_to_start(dashboard: Dashboard, page: Page) -> None:
    empty = page.locator('[data-problem="empty"]')
    expect(empty).to_contain_text("No journeys in namespace")
    expect(empty).to_contain_text("kubectl apply")


def test_named_dashboard_outside_loopback_warns(kubeconfig_path: str, namespace: str) -> None:
    """Another address only when asked, with a warning (0.0.0.0 is bound; nothing is sent to
    any address but loopback)."""
    running = start_dashboard(kubeconfig_path, "-n", namespace, "--address", "0.0.0.0")
    try:
        assert any("Warning: the dashboard listens on 0.0.0.0" in line for line in running.output)
    finally:
        assert running.interrupt() == 0
