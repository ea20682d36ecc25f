"""``journeys-operator``: the one command that runs the operator: in a pod, tests, make run."""

from __future__ import annotations

import argparse
import logging
from collections.abc import Sequence

import kopf

import journeys.controllers.handlers  # noqa: F401  (importing registers the Kopf handlers)
from journeys.api.models import GROUP
from journeys.controllers.manager import ManagerOptions
from journeys.runtime import logs, metrics, peering
from journeys.webhooks import serving


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
    serving.add_arguments(parser)
    logs.add_arguments(parser)
    metrics.add_arguments(parser)
    peering.add_arguments(parser)
    return parser.parse_args(argv)


@kopf.on.startup()
def configure(settings: kopf.OperatorSettings, **_: object) -> None:
    """Kopf's own bookkeeping stays under the project's domain and out of the way."""
    settings.persistence.finalizer = f"{GROUP}/finalizer"
    settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(prefix=GROUP)
    settings.persistence.diffbase_storage = kopf.AnnotationsDiffBaseStorage(
        prefix=GROUP, key="last-handled-configuration"
    )
    settings.posting.level = logging.INFO
    settings.watching.server_timeout = 300
    settings.watching.client_timeout = 330
    settings.networking.request_timeout = 60
    # Kopf keeps a worker per object, holding its last event body, until it has been idle this
    # long (default 5 s); at thousands of participants that alone was ~10 KB of RSS each.
    settings.queueing.idle_timeout = 0.5
    # Ride out a control-plane restart or upgrade (minutes) instead of giving up after ~1 min.
    settings.networking.error_backoffs = (1, 1, 2, 3, 5, 8, 13, 21, 30, 30, 30, 30, 30, 30)


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)

    logs.configure(args.log_format, args.verbose)
    memo = kopf.Memo(
        manager_options=ManagerOptions(participant_concurrency=args.participant_concurrency)
    )
    serving.install(serving.options_from(args), memo)
    metrics.install(metrics.options_from(args), memo)
    peering.install(peering.options_from(args), memo)
    kopf.run(
        clusterwide=not args.namespace,
        namespaces=list(args.namespace),
        standalone=True,  # peering is ours: journeys.runtime.peering
        memo=memo,
        liveness_endpoint=("http://127.0.0.1:8080/healthz" if args.dev else args.liveness) or None,
    )


if __name__ == "__main__":
    main()
