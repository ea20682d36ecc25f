"""Running the dashboard: the application, the listening socket, the watch, and a clean stop.

The socket is bound before the URL is printed, so the printed port is the real one (``--port 0``
picks a free one) and a browser never races the server. SIGINT (Ctrl-C) and SIGTERM end the live
streams, stop the watch thread and close the server; open pages then reconnect in vain.
"""

from __future__ import annotations

import asyncio
import signal
import socket
import webbrowser
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from journeys.dashboard import routes
from journeys.dashboard.app import (
    CLIENTS,
    GUARD,
    HUB,
    SETTINGS,
    STOPPING,
    TEMPLATES,
    Clients,
    Settings,
    templates,
)
from journeys.dashboard.live import Hub, JourneyWatch
from journeys.dashboard.security import ANY_ADDRESS, Guard, is_loopback


def make_app(settings: Settings, clients: Clients, guard: Guard, hub: Hub) -> web.Application:
    app = web.Application(middlewares=[guard.middleware()], client_max_size=64 * 1024)
    app[SETTINGS], app[CLIENTS], app[GUARD], app[HUB] = settings, clients, guard, hub
    app[TEMPLATES] = templates()
    app[STOPPING] = asyncio.Event()
    routes.add(app)
    return app


@dataclass(frozen=True)
class Launch:
    address: str
    port: int
    open_browser: bool


async def serve(
    launch: Launch,
    settings: Settings,
    clients: Clients,
    custom: Any,
    say: Callable[[str], None],
    warn: Callable[[str], None],
) -> None:
    """Serve until SIGINT/SIGTERM. ``custom`` is the user's CustomObjectsApi, for the watch."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    hub = Hub()
    runner: web.AppRunner | None = None
    watch: JourneyWatch | None = None
    try:
        sock = bind(launch.address, launch.port)
        port = int(sock.getsockname()[1])
        guard = Guard.for_address(launch.address, port)
        runner = web.AppRunner(
            make_app(settings, clients, guard, hub), handle_signals=False, access_log=None
        )
        await runner.setup()
        await web.SockSite(runner, sock).start()
        watched = None if settings.all_namespaces else settings.namespace
        watch = JourneyWatch(custom, watched, loop, hub)
        watch.start()
        if not is_loopback(launch.address):
            warn(
                f"Warning: the dashboard listens on {launch.address}, not only on this machine: "
                "anyone who can reach it and learns the URL acts on the cluster as you."
            )
        host = printable_host(launch.address)
        url = guard.url(f"{host}:{port}", "/journeys")
        where = "all namespaces" if settings.all_namespaces else f"namespace {settings.namespace}"
        say(f"Journeys dashboard for {where}, acting with your kubeconfig's credentials.")
        say(f"Open {url}")
        say("Press Ctrl-C to stop it.")
        if launch.open_browser:
            await asyncio.to_thread(webbrowser.open, url)
        await stop.wait()
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)
        if watch is not None:
            await asyncio.to_thread(watch.stop)
        if runner is not None:
            runner.app[STOPPING].set()
            await runner.cleanup()


def bind(address: str, port: int) -> socket.socket:
    """The listening socket (``port`` 0: any free one), bound before anything is printed."""
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((address.strip("[]"), port))
    except OSError:
        sock.close()
        raise
    sock.listen(128)
    sock.setblocking(False)
    return sock


def printable_host(address: str) -> str:
    """The host part of the printed URL: the machine's name when bound on every interface."""
    if address in ANY_ADDRESS:
        return socket.getfqdn().lower()
    return f"[{address}]" if ":" in address else address
