"""Kopf wiring: indexes that mirror the cluster, and watch events that feed the work queues.

Handlers here decide nothing: they translate an event into "look at this key again". The
reconcilers read the indexes, ask the core, and write. Only ``on.event`` handlers are used, so
Kopf adds no finalizers and no progress annotations to the user's objects. They register when
this module is imported (by ``journeys.app`` only); the manager they feed comes in Kopf's memo,
which is the application context built by ``journeys.app``.
"""

from __future__ import annotations

from typing import Any, Protocol

import kopf

from journeys.api import (
    GROUP,
    JOURNEY_PLURAL,
    LABEL_PARTICIPANT,
    PARTICIPANT_PLURAL,
    VERSION,
    JourneyState,
    ParticipantPhase,
)
from journeys.controllers.manager import Manager
from journeys.view import indexes_from, job_facts, participant_index_keys, participant_view
from journeys.view.objects import family_key, family_member, journey_entry


class Operator(Protocol):
    """What the handlers need of Kopf's memo (``journeys.app.App``)."""

    @property
    def manager(self) -> Manager: ...


# --- indexes: the operator's in-memory view of the cluster -------------------------------------
#
# Index handlers are ``async`` although they never await: Kopf runs a sync handler in its thread
# pool, and at thousands of participants those thread hand-offs (several per watch event) were
# a large share of the operator's CPU (docs/benchmarks.md).


@kopf.index(GROUP, VERSION, JOURNEY_PLURAL)
async def journeys_index(
    *, namespace: str | None, name: str, body: kopf.Body, **_: Any
) -> dict[Any, Any]:
    return {(namespace, name): journey_entry(body)}


@kopf.index(GROUP, VERSION, JOURNEY_PLURAL)
async def family_index(
    *, namespace: str | None, name: str, spec: kopf.Spec, status: kopf.Status, **_: Any
) -> dict[Any, Any]:
    return {family_key(namespace or "", name, spec): family_member(name, spec, status)}


@kopf.index(GROUP, VERSION, PARTICIPANT_PLURAL)
async def participants_index(
    *, namespace: str | None, name: str, body: kopf.Body, **_: Any
) -> dict[Any, Any]:
    view = participant_view(namespace or "", name, body)
    return dict.fromkeys(participant_index_keys(view), view)


@kopf.index("batch", "v1", "jobs", labels={LABEL_PARTICIPANT: kopf.PRESENT})
async def jobs_index(
    *, namespace: str | None, labels: kopf.Labels, status: kopf.Status, spec: kopf.Spec, **_: Any
) -> dict[Any, Any]:
    return {(namespace, labels[LABEL_PARTICIPANT]): job_facts(spec, status)}


# --- watch events: each only says which keys to look at again -----------------------------------


@kopf.on.event(GROUP, VERSION, JOURNEY_PLURAL)
async def journey_changed(
    *, namespace: str | None, name: str, spec: kopf.Spec, memo: Operator, **kwargs: Any
) -> None:
    manager = memo.manager
    manager.capture(indexes_from(kwargs))
    key = (namespace or "", name)
    if spec.get("state", JourneyState.LIVE.value) != JourneyState.LIVE.value:
        manager.state.close_gate(key)
    if manager.owns(key[0]):
        manager.journeys.add(key)


@kopf.on.event(GROUP, VERSION, PARTICIPANT_PLURAL)
async def participant_changed(
    *,
    type: str,
    namespace: str | None,
    name: str,
    body: kopf.Body,
    memo: Operator,
    **kwargs: Any,
) -> None:
    manager = memo.manager
    manager.capture(indexes_from(kwargs))
    view = participant_view(namespace or "", name, body)
    state = manager.state
    deleted = type == "DELETED"
    state.observe_participant(view, deleted)
    if not manager.owns(view.namespace):
        return  # another shard's: in the view (for admission), not reconciled here
    if not deleted and state.phase_of(view) == ParticipantPhase.PENDING:
        manager.participants.add(view.key)
    manager.journeys.add((view.namespace, view.journey), manager.options.count_coalesce_seconds)


@kopf.on.event("batch", "v1", "jobs", labels={LABEL_PARTICIPANT: kopf.PRESENT})
async def job_changed(
    *, namespace: str | None, labels: kopf.Labels, memo: Operator, **kwargs: Any
) -> None:
    manager = memo.manager
    manager.capture(indexes_from(kwargs))
    manager.participants.add((namespace or "", labels[LABEL_PARTICIPANT]))
