"""Reading journeys the way every front end shows them: through the API models, one view each.

A :class:`JourneyView` is what a person needs of a Journey (what was asked, what is in effect,
the counts, the audit trail, the deadlines) with the models' defaults applied, so no front end
repeats a default or parses a Journey dict by hand.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, Literal

from pydantic import ValidationError

from journeys.actions.errors import ActionError
from journeys.actions.kube import KubeClient
from journeys.api import (
    Journey,
    JourneyPhase,
    JourneyState,
    ParticipantPhase,
    parse_duration,
)

Ending = Literal["close", "stop"]

#: What each ending asks of ``spec.state``.
STATE_OF_ENDING: Final[Mapping[Ending, JourneyState]] = {
    "close": JourneyState.CLOSED,
    "stop": JourneyState.STOPPED,
}
FINAL_PHASES: Final = frozenset({JourneyPhase.FINISHED, JourneyPhase.STOPPED})
COUNT_KEYS: Final = ("active", "completed", "failed", "halted", "rejected")
_PHASE_OF_STATE: Final = {
    JourneyState.LIVE: JourneyPhase.LIVE,
    JourneyState.CLOSED: JourneyPhase.CLOSED,
    JourneyState.STOPPED: JourneyPhase.STOPPED,
}


@dataclass(frozen=True)
class JourneyView:
    """The fields of a Journey the front ends show and reason about.

    ``phase`` is ``status.phase`` as the operator wrote it ("" before it has seen the journey);
    :attr:`effective_phase` falls back to what ``spec.state`` implies, which is what a person
    means by "the journey is live" while the operator has not caught up.
    """

    name: str
    namespace: str
    uid: str
    family: str
    version: int
    state: str
    phase: str
    counts: Mapping[str, int]
    created: datetime | None
    superseded_by: str
    closed_by: str
    closed_at: datetime | None
    close_reason: str
    stopped_by: str
    stopped_at: datetime | None
    stop_reason: str
    finished_at: datetime | None
    end_at: datetime | None
    drain_timeout: str
    halt_policy: str
    max_participants: int | None
    conditions: tuple[Mapping[str, Any], ...]

    @classmethod
    def of(cls, obj: Mapping[str, Any]) -> JourneyView:
        """The view of a Journey object as the API returns it (a dict of JSON).

        Conditions are shown as written, not validated: a condition this version of the models
        would refuse (from an older or newer operator) must not hide the whole journey.
        """
        status_fields = dict(obj.get("status") or {})
        conditions = status_fields.pop("conditions", None) or []
        try:
            journey = Journey.model_validate({**obj, "status": status_fields})
        except ValidationError as error:
            name = (obj.get("metadata") or {}).get("name", "?")
            raise ActionError(f"journey {name} cannot be read: {error}") from error
        spec, status, metadata = journey.spec, journey.status, journey.metadata
        counts = status.participants.model_dump()
        return cls(
            name=metadata.name or "",
            namespace=metadata.namespace or "",
            uid=metadata.uid or "",
            family=journey.family,
            version=spec.version,
            state=spec.state.value,
            phase=status.phase.value if status.phase else "",
            counts={key: int(counts[key]) for key in COUNT_KEYS},
            created=metadata.creation_timestamp,
            superseded_by=status.superseded_by or "",
            closed_by=status.closed_by or "",
            closed_at=status.closed_at,
            close_reason=status.close_reason or "",
            stopped_by=status.stopped_by or "",
            stopped_at=status.stopped_at,
            stop_reason=status.stop_reason or "",
            finished_at=status.finished_at,
            end_at=spec.end_at,
            drain_timeout=spec.drain.timeout,
            halt_policy=spec.halt.policy.value,
            max_participants=spec.entry.max_participants,
            conditions=tuple(c for c in conditions if isinstance(c, Mapping)),
        )

    @property
    def effective_phase(self) -> str:
        return self.phase or _PHASE_OF_STATE[JourneyState(self.state)].value

    @property
    def accepts_entries(self) -> bool:
        """Live by its spec and by the operator's view (a superseded one keeps state live)."""
        return self.state == JourneyState.LIVE and self.effective_phase == JourneyPhase.LIVE

    @property
    def is_final(self) -> bool:
        """Finished or Stopped: nothing will ever happen to it again."""
        return self.phase in FINAL_PHASES

    @property
    def endings(self) -> tuple[Ending, ...]:
        """The endings a person may still ask for: both while Live, Stop while draining."""
        if self.state == JourneyState.LIVE and self.effective_phase == JourneyPhase.LIVE:
            return ("close", "stop")
        if self.state != JourneyState.STOPPED and self.effective_phase in {
            JourneyPhase.LIVE,
            JourneyPhase.CLOSED,
        }:
            return ("stop",)
        return ()

    @property
    def drain_deadline(self) -> datetime | None:
        """When the drain runs out and whoever is still inside is halted (while Closed)."""
        if self.effective_phase != JourneyPhase.CLOSED or self.closed_at is None:
            return None
        return self.closed_at + parse_duration(self.drain_timeout)


@dataclass(frozen=True)
class Inside:
    """Participants of one journey that close or stop affects: Active, and Pending ones (no
    status yet counts as Pending: the operator has not seen them)."""

    active: int = 0
    pending: int = 0

    @property
    def total(self) -> int:
        return self.active + self.pending


#: How GitOps tools mark what they manage: field managers, and tracking labels/annotations.
_GITOPS_MANAGERS: Final = (
    ("argocd", "Argo CD"),
    ("kustomize-controller", "Flux"),
    ("helm-controller", "Flux"),
)
_GITOPS_MARKS: Final = (
    ("argocd.argoproj.io/tracking-id", "Argo CD"),
    ("kustomize.toolkit.fluxcd.io/name", "Flux"),
    ("helm.toolkit.fluxcd.io/name", "Flux"),
)


def gitops_manager(obj: Mapping[str, Any]) -> str:
    """The GitOps tool that applies this object from git ("" when none is seen).

    A change made beside such a tool makes the cluster differ from git: the tool reports the
    journey out of sync, and a self-healing sync would try to put git's ``spec.state`` back
    (which the API server refuses, as no journey resumes). The way to end it is then in git.
    """
    metadata = obj.get("metadata") or {}
    marks = {**(metadata.get("labels") or {}), **(metadata.get("annotations") or {})}
    for key, tool in _GITOPS_MARKS:
        if key in marks:
            return tool
    for entry in metadata.get("managedFields") or []:
        manager = str((entry or {}).get("manager") or "")
        for prefix, tool in _GITOPS_MANAGERS:
            if manager.startswith(prefix):
                return tool
    return ""


def inside(participants: Iterable[Mapping[str, Any]], journey: str) -> Inside:
    """Count who is inside ``journey`` among participant objects (of its namespace)."""
    active = pending = 0
    for obj in participants:
        if (obj.get("spec") or {}).get("journey") != journey:
            continue
        phase = (obj.get("status") or {}).get("phase") or ParticipantPhase.PENDING
        if phase == ParticipantPhase.ACTIVE:
            active += 1
        elif phase == ParticipantPhase.PENDING:
            pending += 1
    return Inside(active=active, pending=pending)


def family_members(journeys: Iterable[Mapping[str, Any]], family: str) -> list[JourneyView]:
    """The versions of ``family``, oldest first."""
    views = [JourneyView.of(obj) for obj in journeys]
    return sorted((v for v in views if v.family == family), key=lambda v: (v.version, v.name))


def newest_first(views: Iterable[JourneyView]) -> list[JourneyView]:
    """Families by namespace and name, and within a family the newest version first."""
    return sorted(views, key=lambda v: (v.namespace, v.family, -v.version, v.name))


def list_journeys(
    client: KubeClient, all_namespaces: bool = False, family: str | None = None
) -> list[JourneyView]:
    """The journeys of the client's namespace (or all), newest version first in each family."""
    views = [JourneyView.of(obj) for obj in client.list_journeys(all_namespaces=all_namespaces)]
    return newest_first(v for v in views if family is None or v.family == family)


def get_journey(client: KubeClient, name: str) -> JourneyView:
    return JourneyView.of(client.get_journey(name))


def family_of(client: KubeClient, journey: JourneyView) -> list[JourneyView]:
    """Every version of the journey's family in its namespace, oldest first."""
    return family_members(client.list_journeys(), journey.family)


def participants_of(client: KubeClient, journey: str) -> list[dict[str, Any]]:
    """The participant objects of one journey, by name."""
    found = [
        p for p in client.list_participants() if (p.get("spec") or {}).get("journey") == journey
    ]
    return sorted(found, key=lambda p: str((p.get("metadata") or {}).get("name")))


def events_of(client: KubeClient, obj: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Events about this very object, oldest first."""
    return sorted(client.events(obj), key=event_time)


def event_time(event: Mapping[str, Any]) -> str:
    """When an Event last happened: core/v1 fields first, then events.k8s.io's, then creation
    (RFC 3339 strings of one form, so they sort as times)."""
    return str(
        event.get("lastTimestamp")
        or event.get("eventTime")
        or (event.get("metadata") or {}).get("creationTimestamp")
        or ""
    )


def resolve_latest(
    journeys: Sequence[Mapping[str, Any]], target: str, namespace: str
) -> tuple[str, list[JourneyView], Mapping[str, Any]]:
    """The family named by ``target`` (a family, or the name of one of its versions), its
    versions, and the object of its latest version, from which a new version is copied.

    Naming a version that is not the latest is refused: a new version can only be made from the
    latest one, otherwise the changes made in between would silently be lost.
    """
    by_name = {str((obj.get("metadata") or {}).get("name")): obj for obj in journeys}
    named = by_name.get(target)
    named_view = JourneyView.of(named) if named is not None else None
    family = named_view.family if named_view is not None else target
    members = family_members(journeys, family)
    if not members:
        raise ActionError(
            f"no journey of family {target} in namespace {namespace} "
            f"(kubectl journey list -n {namespace})"
        )
    latest = max(members, key=lambda v: v.version)
    if named_view is not None and named_view.name != latest.name:
        raise ActionError(
            f"{target} is version {named_view.version} of family {family}, but the "
            f"latest version is {latest.name} (version {latest.version}): a new version can only "
            f"be made from the latest one (kubectl journey new-version {family})"
        )
    return family, members, by_name[latest.name]


def superseded_by_new(members: Iterable[JourneyView], new_version: int) -> list[JourneyView]:
    """The versions a new live version closes: older ones still accepting entries."""
    return [m for m in members if m.version < new_version and m.accepts_entries]
