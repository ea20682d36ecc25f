"""Kopf admission handlers: read the operator's in-memory view, ask ``core.admission``, answer.

No API call is made while answering: the journey, its participants and its family come from the
same indexes and manager state the reconcilers use, which keeps an admission to a
dictionary lookup or two (and the operator and the webhook agreeing on every fact). The one
exception is the admission policies' check where the API server cannot run them
(:mod:`journeys.webhooks.access`: SubjectAccessReviews). Handlers have no side effects, so
dry-run requests are answered exactly like real ones.

The handlers are registered explicitly by :func:`register` (``--admission dev|cluster``), not at
import: Kopf refuses to start with admission handlers but no webhook server.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol, TypeVar

import kopf

from journeys.api import GROUP, VERSION, JourneyState, ObjectMeta, family_of, spec_state
from journeys.core.admission import (
    Effective,
    Sibling,
    Verdict,
    effective_from_status,
    journey_create_verdict,
    journey_delete_verdict,
    journey_update_verdict,
    participant_entry_verdict,
    phase_cause,
)
from journeys.core.mutations import Mutation, journey_mutation, participant_mutation
from journeys.core.participants import IN_FLIGHT_PHASES, JourneyFacts
from journeys.runtime import metrics
from journeys.runtime.completeness import INCOMPLETE
from journeys.runtime.kopf_namespaces import matches_any
from journeys.runtime.kube import Kube, KubeError
from journeys.view import Key, OperatorState, participant_view
from journeys.webhooks.access import AccessCheck, AccessChecks, webhook_checks
from journeys.webhooks.table import (
    MUTATE_JOURNEY,
    MUTATE_PARTICIPANT,
    VALIDATE_JOURNEY,
    VALIDATE_PARTICIPANT,
    WEBHOOKS,
    Webhook,
)

logger = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass
class AdmissionContext:
    """What the handlers need besides Kopf's kwargs and the operator's view.

    ``namespaces`` are the operator's ``--namespace`` patterns (empty: all): outside them the
    indexes know nothing, so the webhook has no opinion there. ``index_grace`` is how long after
    start-up a request waits for the view to be complete before it is refused; ``journey_grace``
    bounds the wait for a journey that was created a moment before its participants
    (``kubectl apply -f dir/``) to reach the index.
    ``access_checks`` says whether the webhook also checks the admission policies' permissions.
    """

    namespaces: tuple[str, ...] = ()
    index_grace: float = 3.0
    journey_grace: float = 2.0
    started: float = field(default_factory=time.monotonic)
    access_checks: AccessChecks = AccessChecks.AUTO
    _access: AccessCheck | None = field(default=None, init=False, repr=False)

    async def access(self, kube: Kube) -> AccessCheck:
        """The policies' check, resolved against the cluster on first use (discovery)."""
        if self._access is None:
            self._access = AccessCheck(kube, await webhook_checks(kube, self.access_checks))
        return self._access

    def serves(self, namespace: str | None) -> bool:
        if not self.namespaces:
            return True
        return namespace is not None and matches_any(namespace, self.namespaces)


class OperatorView(Protocol):
    """What the webhooks read of the operator (its manager); never its handlers or writes."""

    @property
    def state(self) -> OperatorState: ...
    @property
    def kube(self) -> Kube: ...
    @property
    def complete(self) -> bool: ...
    def journey_facts(self, key: Key) -> JourneyFacts | None: ...


class Admitting(Protocol):
    """What the handlers need of Kopf's memo (``journeys.app.App``)."""

    @property
    def manager(self) -> OperatorView: ...
    @property
    def admission(self) -> AdmissionContext: ...


@dataclass(frozen=True)
class Registration:
    """One admission handler as :func:`register` hands it to Kopf's public decorators."""

    webhook: Webhook
    fn: Any  # Any: Kopf's WebhookFn protocol lists every kwarg
    decorator: Callable[..., Any]  # kopf.on.mutate or kopf.on.validate
    options: Mapping[str, Any]  # the decorator's keyword arguments (but the registry)


def registrations() -> tuple[Registration, ...]:
    """What :func:`register` registers, one per entry of :data:`WEBHOOKS` (tests read this)."""
    functions: dict[Webhook, Any] = {
        MUTATE_JOURNEY: mutate_journey,
        VALIDATE_JOURNEY: validate_journey,
        MUTATE_PARTICIPANT: mutate_participant,
        VALIDATE_PARTICIPANT: validate_participant,
    }
    return tuple(
        Registration(
            webhook=webhook,
            fn=functions[webhook],
            decorator=kopf.on.mutate if webhook.mutating else kopf.on.validate,
            options={
                "id": webhook.id,
                "operations": list(webhook.operations),
                "ignore_failures": webhook.failure_policy == "Ignore",
            },
        )
        for webhook in WEBHOOKS
    )


def register(registry: kopf.OperatorRegistry | None = None) -> None:
    """Register the admission handlers (explicitly: Kopf refuses them without a server)."""
    for entry in registrations():
        entry.decorator(GROUP, VERSION, entry.webhook.plural, registry=registry, **entry.options)(
            entry.fn
        )


# --- Journeys ------------------------------------------------------------------------------------


async def mutate_journey(
    *,
    operation: str,
    name: str,
    namespace: str | None,
    body: kopf.Body,
    old: kopf.Body | None,
    userinfo: kopf.UserInfo,
    patch: kopf.Patch,
    warnings: list[str],
    memo: Admitting,
    **kwargs: Any,
) -> None:
    """Defaults and the audit record; a backward state change is refused here already.

    The CRD's CEL rule runs after the mutating webhooks and before the validating ones, so a
    refusal only in the validating webhook would never be seen: CEL would answer first, without
    naming the journey's phase or the way forward.
    """
    context = memo.admission
    if not context.serves(namespace):
        return
    spec = _mapping(body.get("spec"))
    if operation == "UPDATE" and old is not None:
        verdict = await _journey_update(memo, kwargs, namespace or "", name, old, spec)
        _refuse(verdict)
    mutation = journey_mutation(
        operation,
        name,
        spec,
        _mapping(body.get("metadata")),
        _mapping(old.get("spec")) if old is not None else None,
        _mapping(old.get("metadata")) if old is not None else None,
        userinfo.get("username", ""),
        datetime.now(UTC),
    )
    _apply(mutation, patch, warnings)


async def validate_journey(
    *,
    operation: str,
    name: str,
    namespace: str | None,
    body: kopf.Body,
    old: kopf.Body | None,
    userinfo: kopf.UserInfo,
    warnings: list[str],
    memo: Admitting,
    **kwargs: Any,
) -> None:
    """Versions only go up; no resume; no deletion while anyone could still be inside."""
    context = memo.admission
    if not context.serves(namespace):
        return
    ns = namespace or ""
    spec = _mapping(body.get("spec"))
    if operation in {"CREATE", "UPDATE"}:
        access = await context.access(memo.manager.kube)
        old_spec = _mapping(old.get("spec")) if old is not None else {}
        refusal = await access.refusal(operation, ns, name, old_spec, spec, userinfo)
        if refusal is not None:
            raise kopf.AdmissionError(refusal, code=403)
    if operation == "CREATE":
        family = family_of(name, spec)
        version = spec.get("version")
        if family is None or not isinstance(version, int):
            return  # the CRD schema and its CEL rules explain these
        state = await _state(memo)
        siblings = [Sibling(m.name, m.version) for m in state.family_members(ns, family)]
        verdict = journey_create_verdict(name, family, version, siblings)
    elif operation == "UPDATE" and old is not None:
        verdict = await _journey_update(memo, kwargs, ns, name, old, spec)
    elif operation == "DELETE":
        manager = await _manager(memo)
        effective = _effective(manager, (ns, name), body)
        username = userinfo.get("username", "")
        verdict = journey_delete_verdict(name, effective, username, namespace=ns)
        if not verdict.allowed and await _namespace_terminating(manager, ns):
            verdict = journey_delete_verdict(name, effective, username, namespace_terminating=True)
    else:
        return
    _refuse(verdict)
    warnings.extend(verdict.warnings)


async def _journey_update(
    memo: Admitting,
    kwargs: dict[str, Any],
    namespace: str,
    name: str,
    old: kopf.Body,
    new_spec: Mapping[str, Any],
) -> Verdict:
    manager = await _manager(memo)
    old_spec = _mapping(old.get("spec"))
    family = family_of(name, old_spec) or name
    effective = _effective(manager, (namespace, name), old)
    return journey_update_verdict(name, family, old_spec, new_spec, effective)


async def _namespace_terminating(manager: OperatorView, namespace: str) -> bool:
    """Whether the namespace is being deleted: asked only before refusing a deletion (rare).

    The namespace controller's identity differs between clusters, its namespace's
    deletionTimestamp does not. A field-selected list needs only the ``list`` permission the
    operator has anyway (Kopf resolves ``--namespace`` globs with it).
    """
    query = {"fieldSelector": f"metadata.name={namespace}"}
    try:
        found = await manager.kube.request("GET", "/api/v1/namespaces", query=query)
    except KubeError as error:
        logger.warning("Cannot tell whether namespace %s is being deleted: %s", namespace, error)
        return False
    return any(item.get("metadata", {}).get("deletionTimestamp") for item in found["items"])


def _effective(manager: OperatorView, key: Key, body: Mapping[str, Any]) -> Effective:
    """The journey's phase as the reconcilers see it; its own status when they have not yet."""
    state = manager.state
    spec = _mapping(body.get("spec"))
    status = _mapping(body.get("status"))
    facts = manager.journey_facts(key)
    if facts is None:
        return effective_from_status(spec_state(spec), status)
    family = family_of(key[1], spec) or key[1]
    in_flight = sum(
        1 for view in state.participants_of(key) if state.phase_of(view) in IN_FLIGHT_PHASES
    )
    return Effective(
        phase=facts.phase,
        since=facts.since,
        cause=phase_cause(facts.phase, spec, status, state.newest_live(key[0], family)),
        in_flight=in_flight,
    )


# --- Participants --------------------------------------------------------------------------------


async def mutate_participant(
    *,
    namespace: str | None,
    body: kopf.Body,
    patch: kopf.Patch,
    warnings: list[str],
    memo: Admitting,
    **kwargs: Any,
) -> None:
    context = memo.admission
    if not context.serves(namespace):
        return
    spec = _mapping(body.get("spec"))
    journey_meta = None
    if isinstance(spec.get("journey"), str):
        state = await _state(memo)
        journey_body = state.journey_body((namespace or "", spec["journey"]))
        if journey_body is not None:
            journey_meta = ObjectMeta.model_validate(journey_body.get("metadata") or {})
    mutation = participant_mutation(spec, _mapping(body.get("metadata")), journey_meta)
    _apply(mutation, patch, warnings)


async def validate_participant(
    *,
    name: str,
    namespace: str | None,
    body: kopf.Body,
    memo: Admitting,
    **kwargs: Any,
) -> None:
    """The entry gate: the operator's own entry check, answered before the object exists."""
    context = memo.admission
    if not context.serves(namespace):
        return
    ns = namespace or ""
    journey = _mapping(body.get("spec")).get("journey")
    if not isinstance(journey, str) or not journey:
        return  # the CRD schema requires it
    manager = await _manager(memo)
    key = (ns, journey)
    dryrun = bool(kwargs.get("dryrun"))
    journey_body = await _wait_for_journey(manager.state, key, context.journey_grace)
    if journey_body is None:
        _refuse_entry(participant_entry_verdict(journey, ns, None), ns, dryrun)
        return
    facts = manager.journey_facts(key)
    if facts is None:
        return  # a journey the operator cannot read: it reports that on the journey itself
    state = manager.state
    spec = _mapping(journey_body.get("spec"))
    family = family_of(journey, spec) or journey
    view = participant_view(ns, name, body)
    stopped = spec.get("state") == JourneyState.STOPPED.value
    checked = state.entry_facts(view, facts, family, stopped)
    newest = state.newest_live(ns, family)
    cause = phase_cause(facts.phase, spec, _mapping(journey_body.get("status")), newest)
    verdict = participant_entry_verdict(journey, ns, checked, cause=cause, newest_live=newest)
    _refuse_entry(verdict, ns, dryrun)


async def _wait_for_journey(
    state: OperatorState, key: Key, grace: float
) -> Mapping[str, Any] | None:
    """The journey's body from the index, allowing a just-created journey to arrive.

    Only a miss waits: the hit path, which is every real entry, stays a lookup.
    """
    return await _poll(lambda: state.journey_body(key), time.monotonic() + grace, 0.02)


async def _poll(probe: Callable[[], T | None], deadline: float, interval: float) -> T | None:
    """``probe()`` once it is not None, or its last answer at ``deadline`` (monotonic)."""
    while True:
        found = probe()
        if found is not None or time.monotonic() >= deadline:
            return found
        await asyncio.sleep(interval)


# --- The operator's view -------------------------------------------------------------------------


async def _manager(memo: Admitting) -> OperatorView:
    """The operator's view, once it is complete; until then a retryable refusal (503).

    Kopf serves admissions while the first listing is still filling the view. A request in
    between waits up to ``index_grace`` after start-up, then is refused
    (:mod:`journeys.runtime.completeness`).
    """
    manager = memo.manager
    if not manager.complete:
        context = memo.admission
        deadline = context.started + context.index_grace
        await _poll(lambda: manager.complete or None, deadline, 0.05)
        if not manager.complete:
            raise kopf.AdmissionError(INCOMPLETE, code=503)
    return manager


async def _state(memo: Admitting) -> OperatorState:
    return (await _manager(memo)).state


# --- Answers -------------------------------------------------------------------------------------


def _refuse_entry(verdict: Verdict, namespace: str, dryrun: bool) -> None:
    """Refuse an entry, counted once per refused request (a dry run enters no one)."""
    if verdict.refusal is not None and not dryrun:
        metrics.entry_refused(namespace, str(verdict.refusal.reason), source="webhook")
    _refuse(verdict)


def _refuse(verdict: Verdict) -> None:
    if verdict.refusal is not None:
        raise kopf.AdmissionError(str(verdict.refusal), code=verdict.refusal.code)


def _apply(mutation: Mutation, patch: kopf.Patch, warnings: list[str]) -> None:
    """Kopf turns the merge patch into the JSON patch of the admission response."""
    for key, value in mutation.patch.items():
        patch[key] = value
    warnings.extend(mutation.warnings)


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}
