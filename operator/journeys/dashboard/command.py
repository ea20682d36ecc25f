"""``kubectl journey dashboard``: its flags, and the run that serves until Ctrl-C.

The command line's own client (the user's kubeconfig, ``-n``/``--context``/``--kubeconfig``) is
the dashboard's client: the dashboard adds no credentials of its own and never runs inside the
operator. With ``-A`` it makes one client per namespace it is asked about, from the same
kubeconfig and context.
"""

from __future__ import annotations

import argparse
import asyncio
from typing import Final, Protocol

from journeys.actions import ActionError, KubeClient, UserClient
from journeys.dashboard.app import Clients, Settings
from journeys.dashboard.server import Launch, serve

HELP: Final = "serve the journeys dashboard on this machine (a browser page; Ctrl-C stops it)"
DEFAULT_ADDRESS: Final = "127.0.0.1"
DEFAULT_PORT: Final = 3100


class Output(Protocol):
    def out(self, text: str) -> None: ...

    def err(self, text: str) -> None: ...


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--address",
        default=DEFAULT_ADDRESS,
        help=f"address to listen on (default {DEFAULT_ADDRESS}: this machine only; any other "
        "address is reachable by others and prints a warning)",
    )
    parser.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT}; 0: any)"
    )
    parser.add_argument(
        "--no-browser", action="store_true", help="print the URL only, do not open a browser"
    )


def run(args: argparse.Namespace, kube: KubeClient, io: Output) -> int:
    """Serve until interrupted; 0 after Ctrl-C. A port in use is an error, said plainly."""
    settings = Settings(namespace=kube.namespace, all_namespaces=args.all_namespaces)

    def client_for(namespace: str) -> KubeClient:
        return UserClient(args.kubeconfig, args.context, namespace)

    custom = getattr(kube, "custom", None)
    if custom is None:
        raise ActionError("the dashboard needs the kubeconfig client (live updates watch with it)")
    launch = Launch(args.address, args.port, open_browser=not args.no_browser)
    try:
        asyncio.run(serve(launch, settings, Clients(kube, client_for), custom, io.out, io.err))
    except OSError as error:
        raise ActionError(
            f"cannot listen on {args.address}:{args.port}: {error.strerror or error} "
            "(another dashboard? pick another --port)"
        ) from error
    io.err("dashboard stopped")
    return 0
