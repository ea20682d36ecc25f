"""Kopf wiring: watch events file what they show in the view and feed the work queues.

Handlers here decide nothing: they file the object's facts in the operator's own indexes
(``view.store``, not ``@kopf.index``: docs/scaling.md says why) and translate the event into
"look at this key again". The reconcilers read the view, ask the core, and write. Only
``on.event`` handlers are used, so Kopf adds no finalizers and no progress annotations to the
user's objects. The handlers are ``async`` although they never await: Kopf runs a sync
handler in its thread pool, and at thousands of participants those hand-offs were a large
share of the operator's CPU (docs/benchmarks.md). They register when this module is imported
(by ``journeys.app`` only); the manager they feed comes in Kopf's memo, which is the
application context built by ``journeys.app``.
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
from journeys.runtime import metrics
from journeys.view import job_facts, participant_view
from journeys.view.objects import family_key, family_member, journey_entry


class Operator(Protocol):
    """What the handlers need of Kopf's memo (``journeys.app.App``)."""

    @property
    def manager(self) -> Manager: ...


@kopf.on.event(GROUP, VERSION, JOURNEY_PLURAL)
async def journey_changed(
    *,
    type: str | None,
    namespace: str | None,
    name: str,
    uid: str,
    body: kopf.Body,
    spec: kopf.Spec,
    status: kopf.Status,
    memo: Operator,
    **_: Any,
) -> None:
    metrics.watch_event(JOURNEY_PLURAL)
    manager = memo.manager
    key = (namespace or "", name)
    if type == "DELETED":
        manager.store.deleted(uid)
    else:
        member = family_member(name, spec, status)
        manager.store.journey(uid, key, family_key(key[0], name, spec), journey_entry(body), member)
    if spec.get("state", JourneyState.LIVE.value) != JourneyState.LIVE.value:
        manager.state.close_gate(key)
    if manager.owns(key[0]):
        manager.journeys.add(key)


@kopf.on.event(GROUP, VERSION, PARTICIPANT_PLURAL)
async def participant_changed(
    *,
    type: str | None,
    namespace: str | None,
    name: str,
    uid: str,
    body: kopf.Body,
    memo: Operator,
    **_: Any,
) -> None:
    metrics.watch_event(PARTICIPANT_PLURAL)
    manager = memo.manager
    view = participant_view(namespace or "", name, body)
    state = manager.state
    deleted = type == "DELETED"
    if deleted:
        manager.store.deleted(uid)
    else:
        manager.store.participant(uid, view)
    state.observe_participant(view, deleted)
    if not manager.owns(view.namespace):
        return  # another shard's: in the view (for admission), not reconciled here
    if not deleted and state.phase_of(view) == ParticipantPhase.PENDING:
        manager.participants.add(view.key)
    manager.journeys.add((view.namespace, view.journey), manager.options.count_coalesce_seconds)


@kopf.on.event("batch", "v1", "jobs", labels={LABEL_PARTICIPANT: kopf.PRESENT})
async def job_changed(
    *,
    type: str | None,
    namespace: str | None,
    uid: str,
    labels: kopf.Labels,
    spec: kopf.Spec,
    status: kopf.Status,
    memo: Operator,
    **_: Any,
) -> None:
    metrics.watch_event("jobs")
    manager = memo.manager
    participant = (namespace or "", labels[LABEL_PARTICIPANT])
    if type == "DELETED":
        manager.store.deleted(uid)
    else:
        manager.store.job(uid, participant, job_facts(spec, status))
    manager.participants.add(participant)
