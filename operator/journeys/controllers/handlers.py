"""Kopf wiring: indexes that mirror the cluster, and watch events that feed the work queues.

Handlers here decide nothing: they translate an event into "look at this key again". The
reconcilers read the indexes, ask the core, and write. Only ``on.event`` handlers are used, so
Kopf adds no finalizers and no progress annotations to the user's objects.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import kopf

from journeys.api.models import (
    GROUP,
    JOURNEY_KIND,
    JOURNEY_PLURAL,
    LABEL_PARTICIPANT,
    PARTICIPANT_PLURAL,
    VERSION,
    JourneyPhase,
    JourneyState,
    ParticipantPhase,
    default_family,
)
from journeys.controllers.manager import Manager, ManagerOptions
from journeys.controllers.state import (
    FamilyMember,
    Indexes,
    ParticipantView,
    participant_index_keys,
)
from journeys.core.participants import FINAL_PARTICIPANT_PHASES, JobFacts, JobOutcome
from journeys.runtime.kube import Kube

logger = logging.getLogger(__name__)


# --- indexes: the operator's in-memory view of the cluster -------------------------------------
#
# Index handlers are ``async`` although they never await: Kopf runs a sync handler in its thread
# pool, and at thousands of participants those thread hand-offs (several per watch event) were
# a large share of the operator's CPU (docs/benchmarks.md).


@kopf.index(GROUP, VERSION, JOURNEY_PLURAL)
async def journeys_index(
    *, namespace: str | None, name: str, body: kopf.Body, **_: Any
) -> dict[Any, Any]:
    metadata = {k: v for k, v in body.get("metadata", {}).items() if k != "managedFields"}
    return {(namespace, name): {**dict(body), "metadata": metadata}}


@kopf.index(GROUP, VERSION, JOURNEY_PLURAL)
async def family_index(
    *, namespace: str | None, name: str, spec: kopf.Spec, status: kopf.Status, **_: Any
) -> dict[Any, Any]:
    family = spec.get("family") or default_family(name)
    member = FamilyMember(
        name=name,
        version=int(spec.get("version") or 1),
        state=_enum(JourneyState, spec.get("state"), JourneyState.LIVE),
        phase=_enum(JourneyPhase, status.get("phase"), None),
    )
    return {(namespace, family): member}


def participant_view(namespace: str, name: str, body: kopf.Body) -> ParticipantView:
    """The participant's view; the handlers of one watch event share one (immutable) object."""
    last_body, last_view = _last_view
    if body is last_body and last_view.name == name and last_view.namespace == namespace:
        return last_view  # type: ignore[no-any-return]
    view = _participant_view(namespace, name, body)
    _last_view[:] = [body, view]
    return view


#: The last body seen and its view: Kopf calls the participants index and the event
#: handler one after the other with the same body object, so each event builds one view.
_last_view: list[Any] = [None, None]


def _participant_view(namespace: str, name: str, body: kopf.Body) -> ParticipantView:
    spec = body.get("spec", {})
    status = body.get("status", {})
    owners = body.get("metadata", {}).get("ownerReferences") or []
    return ParticipantView(
        namespace=namespace,
        name=name,
        uid=body.get("metadata", {}).get("uid", ""),
        journey=spec.get("journey", ""),
        profile=spec.get("profile", ""),
        phase=_enum(ParticipantPhase, status.get("phase"), ParticipantPhase.PENDING),
        reason=str(status.get("reason") or ""),
        attributes=dict(spec.get("attributes") or {}),
        owned=any(o.get("kind") == JOURNEY_KIND for o in owners),
    )


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


def job_facts(spec: kopf.Spec, status: kopf.Status) -> JobFacts:
    """A Job's outcome from its final conditions (Complete or Failed)."""
    finished = {c.get("type") for c in status.get("conditions") or [] if c.get("status") == "True"}
    outcome = (
        JobOutcome.SUCCEEDED
        if "Complete" in finished
        else JobOutcome.FAILED
        if "Failed" in finished
        else JobOutcome.RUNNING
    )
    return JobFacts(outcome=outcome, suspended=bool(spec.get("suspend")))


def _enum(kind: Any, value: Any, default: Any) -> Any:
    try:
        return kind(value)
    except ValueError:
        return default


def indexes_from(kwargs: Mapping[str, Any]) -> Indexes:
    """Kopf hands every ``@kopf.index`` to every resource handler, admission ones included."""
    return Indexes(
        journeys=kwargs["journeys_index"],
        family=kwargs["family_index"],
        participants=kwargs["participants_index"],
        jobs=kwargs["jobs_index"],
    )


# --- lifecycle of the operator process ----------------------------------------------------------


@kopf.on.startup()
async def start_manager(memo: kopf.Memo, **_: Any) -> None:
    options: ManagerOptions = memo.get("manager_options") or ManagerOptions()
    manager = Manager(kube=await Kube.connect(), options=options)
    memo["manager"] = manager
    manager.start()


@kopf.on.cleanup()
async def stop_manager(memo: kopf.Memo, **_: Any) -> None:
    manager: Manager | None = memo.get("manager")
    if manager is not None:
        await manager.stop()


# --- watch events: each only says which keys to look at again -----------------------------------


@kopf.on.event(GROUP, VERSION, JOURNEY_PLURAL)
async def journey_changed(
    *, namespace: str | None, name: str, spec: kopf.Spec, memo: kopf.Memo, **kwargs: Any
) -> None:
    manager: Manager = memo["manager"]
    manager.capture(indexes_from(kwargs))
    key = (namespace or "", name)
    if spec.get("state", JourneyState.LIVE.value) != JourneyState.LIVE.value:
        # Seen closed or stopped: from now on no Job is created for it, whatever else happens.
        manager.state.closed.add(key)
    manager.journeys.add(key)


@kopf.on.event(GROUP, VERSION, PARTICIPANT_PLURAL)
async def participant_changed(
    *,
    type: str,
    namespace: str | None,
    name: str,
    body: kopf.Body,
    memo: kopf.Memo,
    **kwargs: Any,
) -> None:
    manager: Manager = memo["manager"]
    manager.capture(indexes_from(kwargs))
    view = participant_view(namespace or "", name, body)
    state = manager.state
    if type == "DELETED":
        state.forget_participant(view.key)
    elif view.phase in FINAL_PARTICIPANT_PHASES or state.written_phase.get(view.key) == view.phase:
        # The watch caught up with our own write: the index alone is the truth again.
        state.written_phase.pop(view.key, None)
    if type != "DELETED" and state.phase_of(view) == ParticipantPhase.PENDING:
        manager.participants.add(view.key)
    manager.journeys.add((view.namespace, view.journey), manager.options.count_coalesce_seconds)


@kopf.on.event("batch", "v1", "jobs", labels={LABEL_PARTICIPANT: kopf.PRESENT})
async def job_changed(
    *, namespace: str | None, labels: kopf.Labels, memo: kopf.Memo, **kwargs: Any
) -> None:
    manager: Manager = memo["manager"]
    manager.capture(indexes_from(kwargs))
    manager.participants.add((namespace or "", labels[LABEL_PARTICIPANT]))
