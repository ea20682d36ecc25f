"""``python -m bench.dashboard``: the dashboard's figures on the current cluster.

    KUBECONFIG=~/.cache/journeys/cluster/kubeconfig .venv/bin/python -m bench.dashboard
    .venv/bin/python -m bench.dashboard --journeys 500 --participants 5000 --changes 10

Three figures, each measured on the real command (``kubectl-journey dashboard``) against the
operator on a namespace of its own (docs/dashboard.md, "Performance"):

- **list**: server time of ``GET /journeys`` with N journeys in the namespace (its
  ``Server-Timing`` header: the list call through the actions layer plus rendering), median and
  p95 of repeated requests; target < 300 ms at 500.
- **change**: from the PATCH of one journey's ``spec.state`` to the open list page (headless
  Chromium) showing the new state, without reload; target < 1 s.
- **halt**: the dashboard's RSS while a journey with P participants is stopped, with its journey
  page open and a second live stream counted here: notices are coalesced (a handful, not one per
  participant) and memory stays bounded.

Results go to ``bench-results/dashboard-<timestamp>.json`` and are printed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
from hack.browser import CHROMIUM, CHROMIUM_FLAGS
from playwright.async_api import Page, async_playwright

from bench.client import Api, ApiError, bounded, default_kubeconfig
from bench.objects import (
    journey_manifest,
    journeys_path,
    participant_manifest,
    participants_path,
)
from bench.process import ROOT, Operator

PLUGIN = Path(sys.executable).with_name("kubectl-journey")
SERVER_TIMING = re.compile(r"app;dur=([0-9.]+)")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.dashboard", description=__doc__)
    parser.add_argument("--journeys", type=int, default=500, help="journeys in the namespace")
    parser.add_argument("--requests", type=int, default=30, help="list requests timed")
    parser.add_argument("--changes", type=int, default=10, help="changes timed to the page")
    parser.add_argument("--participants", type=int, default=5000, help="participants halted")
    return parser.parse_args(argv)


class Dashboard:
    """``kubectl-journey dashboard`` as a child process, its URL, and its RSS."""

    def __init__(self, kubeconfig: Path, namespace: str) -> None:
        self.process = subprocess.Popen(
            [str(PLUGIN), "dashboard", "--no-browser", "--port", "0", "-n", namespace],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env={**os.environ, "KUBECONFIG": str(kubeconfig)},
        )
        assert self.process.stdout is not None
        self.url = ""
        for line in self.process.stdout:
            found = re.search(r"Open (http://\S+)", line)
            if found:
                self.url = found.group(1)
                break
        if not self.url:
            raise RuntimeError("the dashboard printed no URL")
        self.origin = self.url.split("/journeys", 1)[0]

    def rss_bytes(self) -> int:
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        raise RuntimeError("no VmRSS")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)


def load_journey(index: int) -> dict[str, Any]:
    manifest = journey_manifest(f"f{index:04d}-v1")
    manifest["spec"]["family"] = f"f{index:04d}"
    return manifest


async def wait_until(what: str, probe: Callable[[], Awaitable[bool]], seconds: float) -> None:
    try:
        async with asyncio.timeout(seconds):
            while not await probe():  # noqa: ASYNC110 (polling the API server is the point)
                await asyncio.sleep(1.0)
    except TimeoutError:
        raise TimeoutError(f"timed out after {seconds:.0f}s waiting for {what}") from None


async def shown(page: Page, selector: str, text: str, seconds: float) -> None:
    """Poll the page from here (every 10 ms): the page's CSP rightly forbids the eval that
    Playwright's wait_for_function would use."""
    async with asyncio.timeout(seconds):
        while (await page.text_content(selector) or "").strip() != text:  # noqa: ASYNC110
            await asyncio.sleep(0.01)


async def measure_list(
    session: aiohttp.ClientSession, dashboard: Dashboard, n: int
) -> dict[str, Any]:
    server, wall = [], []
    for _ in range(n):
        started = time.perf_counter()
        async with session.get(f"{dashboard.origin}/journeys") as response:
            html = await response.text()
            timing = SERVER_TIMING.search(response.headers.get("Server-Timing", ""))
        wall.append((time.perf_counter() - started) * 1000)
        assert timing is not None and response.status == 200
        server.append(float(timing.group(1)))
    return {
        "rows": html.count('class="journey-row"'),
        "server_ms_median": round(statistics.median(server), 1),
        "server_ms_p95": round(sorted(server)[int(len(server) * 0.95) - 1], 1),
        "server_ms_max": round(max(server), 1),
        "wall_ms_median": round(statistics.median(wall), 1),
    }


async def measure_changes(api: Api, page: Page, namespace: str, n: int) -> dict[str, Any]:
    """PATCH a journey's state, wait for the page to show it (polled every animation frame)."""
    latencies = []
    for index in range(n):
        name = f"f{index:04d}-v1"
        cell = f'tr[data-key="{namespace}/{name}"] .state-text'
        started = time.perf_counter()
        await api.request(
            "PATCH",
            journeys_path(namespace, name),
            {"spec": {"state": "closed"}},
            content_type="application/merge-patch+json",
        )
        await shown(page, cell, "closed", 30)
        latencies.append((time.perf_counter() - started) * 1000)
        await asyncio.sleep(0.5)  # let the operator's status write settle between samples
    return {
        "samples": len(latencies),
        "ms_median": round(statistics.median(latencies), 1),
        "ms_max": round(max(latencies), 1),
        "reloaded": await page.evaluate("window.__notReloaded !== true"),
    }


async def count_notices(
    session: aiohttp.ClientSession, dashboard: Dashboard, seen: list[int], stop: asyncio.Event
) -> None:
    async with session.get(f"{dashboard.origin}/live", timeout=aiohttp.ClientTimeout()) as live:
        async for line in live.content:
            if line.startswith(b"event: changed"):
                seen[0] += 1
            if stop.is_set():
                return


async def measure_halt(
    api: Api,
    session: aiohttp.ClientSession,
    page: Page,
    dashboard: Dashboard,
    namespace: str,
    n: int,
) -> dict[str, Any]:
    journey = await api.request("POST", journeys_path(namespace), journey_manifest("halt-v1"))
    calls = [
        (
            lambda i=i: api.request(
                "POST", participants_path(namespace), participant_manifest(i, journey)
            )
        )
        for i in range(n)
    ]
    started = time.monotonic()
    await bounded(calls, concurrency=20)

    async def counts() -> dict[str, int]:
        obj = await api.request("GET", journeys_path(namespace, "halt-v1"))
        return dict((obj.get("status") or {}).get("participants") or {})

    async def all_active() -> bool:
        return (await counts()).get("active", 0) == n

    await wait_until(f"{n} participants active", all_active, max(300, n / 5))
    entered = time.monotonic() - started
    await page.goto(f"{dashboard.origin}/journeys/{namespace}/halt-v1")
    await page.wait_for_selector("#count-inside")
    seen = [0]
    stop = asyncio.Event()
    counter = asyncio.create_task(count_notices(session, dashboard, seen, stop))
    await asyncio.sleep(2)
    before = dashboard.rss_bytes()
    peak = before
    seen[0] = 0
    started = time.monotonic()
    await api.request(
        "PATCH",
        journeys_path(namespace, "halt-v1"),
        {"spec": {"state": "stopped"}},
        content_type="application/merge-patch+json",
    )
    while True:
        peak = max(peak, dashboard.rss_bytes())
        if (await counts()).get("halted", 0) == n:
            break
        if time.monotonic() - started > max(300, n / 5):
            raise TimeoutError("the halt did not finish")
        await asyncio.sleep(0.25)
    halted = time.monotonic() - started
    await shown(page, "#count-halted", str(n), 60)
    on_page = time.monotonic() - started
    stop.set()
    counter.cancel()
    return {
        "participants": n,
        "entry_s": round(entered, 1),
        "halt_s": round(halted, 1),
        "page_shows_all_halted_s": round(on_page, 1),
        "notices_during_halt": seen[0],
        "rss_mib_before": round(before / 2**20, 1),
        "rss_mib_peak": round(peak / 2**20, 1),
        "rss_mib_after": round(dashboard.rss_bytes() / 2**20, 1),
    }


async def run(args: argparse.Namespace) -> dict[str, Any]:
    kubeconfig = default_kubeconfig()
    api = Api(kubeconfig)
    namespace = f"bench-dashboard-{uuid.uuid4().hex[:6]}"
    await api.create_namespace(namespace, {"journeys.dev/benchmark": "true"})
    operator = Operator(namespace).start()
    dashboard: Dashboard | None = None
    results: dict[str, Any] = {"namespace": namespace, "journeys": args.journeys}
    try:
        calls = [
            (lambda i=i: api.request("POST", journeys_path(namespace), load_journey(i)))
            for i in range(args.journeys)
        ]
        await bounded(calls, concurrency=20)
        dashboard = await asyncio.to_thread(Dashboard, kubeconfig, namespace)
        jar = aiohttp.CookieJar(unsafe=True)
        async with aiohttp.ClientSession(cookie_jar=jar) as session:
            async with session.get(dashboard.url) as signed_in:
                assert signed_in.status == 200
            results["list"] = await measure_list(session, dashboard, args.requests)
            async with async_playwright() as playwright:
                browser = await playwright.chromium.launch(
                    executable_path=CHROMIUM, args=list(CHROMIUM_FLAGS)
                )
                page = await browser.new_page()
                await page.goto(dashboard.url)
                await page.wait_for_selector('#live-status[data-state="live"]')
                await page.evaluate("window.__notReloaded = true")
                results["change"] = await measure_changes(api, page, namespace, args.changes)
                if args.participants:
                    results["halt"] = await measure_halt(
                        api, session, page, dashboard, namespace, args.participants
                    )
                await browser.close()
    finally:
        print(f"results so far: {json.dumps(results)}", file=sys.stderr)
        if dashboard is not None:
            dashboard.stop()
        operator.stop()
        try:
            await api.delete_namespace(namespace)
        except (ApiError, TimeoutError) as error:
            print(f"namespace {namespace} not deleted: {error}", file=sys.stderr)
        await api.close()
    return results


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    results = asyncio.run(run(args))
    results["at"] = datetime.now(UTC).isoformat(timespec="seconds")
    out = ROOT / "bench-results" / f"dashboard-{datetime.now(UTC):%Y%m%dT%H%M%S}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))
    print(f"saved {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
