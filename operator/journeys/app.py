"""The one place where the operator is wired, as ``cmd/main.go`` is in a kubebuilder project.

:func:`build` turns the parsed command line into the application context :class:`App`, registers
every Kopf handler (the controllers' by importing them, the webhooks' explicitly) and the
start-up and clean-up steps that start the manager, metrics and leadership in order. The
context is Kopf's ``memo``: handlers read it through small protocols, so mypy checks each edge.
Kopf copies the memo per object once it has started; every field is set before that (at
start-up at the latest) and only ever mutated inside the objects it holds.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import kopf

import journeys.controllers.handlers
import journeys.runtime.kopf_settings  # noqa: F401  (registers how Kopf is configured)
from journeys.controllers.manager import Manager, ManagerOptions
from journeys.runtime import metrics, peering, sharding
from journeys.runtime.completeness import INCOMPLETE, quiet_while_loading
from journeys.runtime.kopf_settings import WATCHED
from journeys.runtime.kube import Kube
from journeys.runtime.sharding import Shard
from journeys.webhooks import server
from journeys.webhooks.handlers import AdmissionContext

if TYPE_CHECKING:
    from journeys.controllers.handlers import Operator
    from journeys.runtime.kopf_settings import Sharded
    from journeys.webhooks.handlers import Admitting
from journeys.webhooks.options import options_from as admission_options


@dataclass
class App:
    """Everything that lives as long as the operator process."""

    manager_options: ManagerOptions
    metrics_options: metrics.MetricsOptions
    peering_options: peering.PeeringOptions
    admission_context: AdmissionContext | None = None
    started: Manager | None = None
    leadership: peering.Leadership | None = None
    metrics_server: metrics.MetricsServer | None = None

    def __copy__(self) -> App:
        """The one context of the process, never a copy.

        Kopf gives every object it sees a shallow copy of the operator's memo: one per
        participant and per Job, for as long as the object exists (memory that grew with N),
        and each copy would miss what is set on the context after that object was first seen.
        """
        return self

    @property
    def manager(self) -> Manager:
        assert self.started is not None, "the manager starts before any handler is called"
        return self.started

    @property
    def admission(self) -> AdmissionContext:
        assert self.admission_context is not None, "admission handlers only with webhooks"
        return self.admission_context

    @property
    def shard(self) -> Shard | None:
        return self.manager_options.shard

    def leading(self) -> bool:
        return self.leadership is None or self.leadership.leading

    async def verify_shard(self) -> None:
        """Refuse to run sharded unless the API server applies the shard selector (its echo)."""
        if self.shard is None:
            return
        kube = await Kube.connect(pool_size=1)

        async def get(path: str, query: dict[str, str]) -> dict[str, Any]:
            return await kube.request("GET", path, query=query)

        sharded = {w.plural: w.path() for w in WATCHED if w.sharded}
        try:
            await sharding.verify(get, self.shard, sharded)
        except sharding.ShardingRefused as refused:
            raise kopf.PermanentError(str(refused)) from refused
        finally:
            await kube.close()

    async def start(self) -> None:
        """The manager first: leadership pauses or resumes its queues, metrics report it."""
        options = self.manager_options
        # One connection per reconcile worker, a few for the webhooks: each TLS connection
        # holds a 128 KiB read buffer, and a larger pool was filled (130 of 128 seen) for no
        # throughput (docs/benchmarks.md).
        pool = options.participant_concurrency + options.journey_concurrency + 8
        manager = Manager(kube=await Kube.connect(pool_size=pool), options=options)
        self.started = manager
        manager.start()
        if self.peering_options.name is not None:
            self.leadership = peering.Leadership(self.peering_options, manager)
            self.leadership.start()  # stands by until the peering objects say otherwise
        if self.metrics_options.enabled:
            collector = metrics.StateCollector(manager.snapshot, self.leading)
            self.metrics_server = metrics.MetricsServer(self.metrics_options, collector)
            await self.metrics_server.start()

    async def stop(self) -> None:
        """The work first; the peering entry last, so a standby takes over only then."""
        if self.started is not None:
            await self.started.stop()
        if self.metrics_server is not None:
            await self.metrics_server.stop()
        if self.leadership is not None:
            await self.leadership.stop()


def build(args: argparse.Namespace, registry: kopf.OperatorRegistry | None = None) -> App:
    """The application for these options, with its start-up and clean-up steps registered."""
    shard = sharding.options_from(args)
    peering_options = peering.options_from(args)
    if shard is not None and peering_options.name is not None:
        # Each shard elects its own leader among its replicas.
        peering_options = replace(peering_options, name=f"{peering_options.name}-{shard.name}")
    app = App(
        manager_options=ManagerOptions(
            participant_concurrency=args.participant_concurrency,
            shard=shard,
            namespaces=tuple(args.namespace),
        ),
        metrics_options=metrics.options_from(args),
        peering_options=peering_options,
    )
    app.admission_context = server.install(admission_options(args), registry)

    async def start_operator(**_: Any) -> None:
        await app.verify_shard()
        await app.start()

    async def stop_operator(**_: Any) -> None:
        await app.stop()

    async def view_complete(**_: Any) -> str:
        """Readiness (and liveness, after the start-up probe): the view is complete."""
        if app.started is None or not app.started.complete:
            raise kopf.PermanentError(INCOMPLETE)
        return "complete"

    kopf.on.startup(id="start-operator", registry=registry)(start_operator)
    kopf.on.cleanup(id="stop-operator", registry=registry)(stop_operator)
    kopf.on.probe(id="view", registry=registry)(view_complete)
    quiet_while_loading()
    return app


if TYPE_CHECKING:

    def _memo_edges(app: App) -> tuple[Operator, Admitting, Sharded]:
        """For mypy only: the context is what the controllers', webhooks' and settings' read."""
        return app, app, app
