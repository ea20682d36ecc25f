"""``journeys-operator``: the one command that runs the operator: in a pod, tests, make run."""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Callable, Sequence
from typing import TypeVarTuple, Unpack

import kopf

from journeys import app
from journeys.controllers.manager import ManagerOptions
from journeys.runtime import logs, metrics, peering, sharding
from journeys.webhooks import options as admission


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="journeys-operator",
        description="Run the journeys operator against the cluster of the current kubeconfig "
        "(or the in-cluster service account).",
    )
    parser.add_argument(
        "-n",
        "--namespace",
        action="append",
        default=[],
        help="watch only this namespace (repeatable; globs like 'team-*' work); "
        "default: all namespaces",
    )
    parser.add_argument(
        "--participant-concurrency",
        type=int,
        default=ManagerOptions.participant_concurrency,
        help="participants handled at once (bounds API writes during a stop or an entry storm)",
    )
    parser.add_argument(
        "--liveness",
        default="http://0.0.0.0:8080/healthz",
        help="health endpoint for liveness/readiness probes ('' to serve none)",
    )
    parser.add_argument("--verbose", action="store_true", help="debug logging")
    parser.add_argument(
        "--dev",
        action="store_true",
        help="development mode (make run): health endpoint on 127.0.0.1 only, and the "
        "admission webhooks served on 127.0.0.1 (unless --admission says otherwise)",
    )
    admission.add_arguments(parser)
    logs.add_arguments(parser)
    metrics.add_arguments(parser)
    peering.add_arguments(parser)
    sharding.add_arguments(parser)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)

    logs.configure(args.log_format, args.verbose)
    memo = app.build(args)
    with asyncio.Runner(loop_factory=FirstSignalLoop) as runner:  # as kopf.run's asyncio.run
        kopf.run(
            loop=runner.get_loop(),
            clusterwide=not args.namespace,
            namespaces=list(args.namespace),
            standalone=True,  # peering is ours: journeys.runtime.peering
            memo=memo,
            liveness_endpoint=("http://127.0.0.1:8080/healthz" if args.dev else args.liveness)
            or None,
        )


Ts = TypeVarTuple("Ts")


class FirstSignalLoop(asyncio.SelectorEventLoop):
    """An event loop whose signal handlers act on the first delivery of their signal only.

    Kopf stops on SIGINT or SIGTERM by resolving a future in a signal handler. A repeated signal
    (``make run`` stopped through its process group: make forwards the SIGTERM the operator got
    already; a second Ctrl-C) resolved it again, and asyncio logged an InvalidStateError
    traceback in the middle of a clean shutdown. After the first one the stop is under way.
    """

    def add_signal_handler(
        self, sig: int, callback: Callable[[Unpack[Ts]], object], *args: *Ts
    ) -> None:
        delivered = False

        def first(*call_args: *Ts) -> None:
            nonlocal delivered
            if not delivered:
                delivered = True
                callback(*call_args)

        super().add_signal_handler(sig, first, *args)


if __name__ == "__main__":
    main()
