"""What the operator knows between events: its indexes of the cluster plus its own writes.

The indexes (``view.store``) are filled from watch events, so they are the operator's view of
the cluster without listing. They lag our own writes by one watch event, so the state also
remembers what this process wrote (read-your-writes) and which journeys it has seen close:
once a journey is in ``closed``, no Job is ever created for it again by this process.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from enum import Enum, StrEnum
from typing import Any, Protocol

from journeys.api import JourneyPhase, JourneyState, ParticipantPhase
from journeys.core.participants import (
    FINAL_PARTICIPANT_PHASES,
    JobFacts,
    JourneyFacts,
)

Key = tuple[str, str]  # (namespace, name)

_PHASE_ORDER = {
    ParticipantPhase.PENDING: 0,
    ParticipantPhase.ACTIVE: 1,
}


class Index(Protocol):
    """How the view is read: key -> the values of every object under it (``view.store``)."""

    def get(self, key: Any, default: Any = None) -> Any: ...
    def __iter__(self) -> Iterator[Any]: ...


@dataclass(frozen=True, slots=True)
class ParticipantView:
    """The slice of a Participant the operator needs, small enough to index thousands."""

    namespace: str
    name: str
    uid: str
    journey: str
    profile: str
    phase: ParticipantPhase
    reason: str  # status.reason as last written ("" before the operator saw it)
    attributes: Mapping[str, str]
    owned: bool  # has an owner reference to its journey

    @property
    def key(self) -> Key:
        return (self.namespace, self.name)


@dataclass(frozen=True, slots=True)
class FamilyMember:
    name: str
    version: int
    state: JourneyState
    phase: JourneyPhase | None


@dataclass
class Indexes:
    """The four indexes of the view, filled by the watch handlers (``view.store``)."""

    journeys: Index  # (ns, name) -> journey body
    family: Index  # (ns, family) -> FamilyMember
    participants: Index  # participant_index_keys(view) -> ParticipantView
    jobs: Index  # (ns, participant) -> JobFacts


class By(Enum):
    """How the one participants index is keyed: each view is filed under all three."""

    NAME = "name"
    JOURNEY = "journey"
    PROFILE = "profile"


def participant_index_keys(view: ParticipantView) -> tuple[tuple[By, str, str], ...]:
    return (
        (By.NAME, view.namespace, view.name),
        (By.JOURNEY, view.namespace, view.journey),
        (By.PROFILE, view.namespace, view.profile),
    )


@dataclass
class OperatorState:
    indexes: Indexes | None = None
    journey_facts: dict[Key, JourneyFacts] = field(default_factory=dict)
    closed: set[Key] = field(default_factory=set)
    #: Phases this process wrote that the index may not show yet.
    written_phase: dict[Key, ParticipantPhase] = field(default_factory=dict)
    #: Participants whose Job this process created or found.
    jobs_created: set[Key] = field(default_factory=set)
    #: Admissions decided but not yet written: they count for capacity and profile checks.
    admitting: dict[Key, ParticipantView] = field(default_factory=dict)
    #: Journeys the operator cannot make progress on (e.g. a Job template the API server
    #: refuses), with the reason shown in their Stalled condition.
    stalled: dict[Key, str] = field(default_factory=dict)

    @property
    def ready(self) -> Indexes:
        assert self.indexes is not None, "the manager gives the state its indexes"
        return self.indexes

    # --- reads ------------------------------------------------------------------------------

    def journey_body(self, key: Key) -> dict[str, Any] | None:
        body: dict[str, Any] | None = _only(self.ready.journeys.get(key))
        return body

    def participant(self, key: Key) -> ParticipantView | None:
        view: ParticipantView | None = _only(self.ready.participants.get((By.NAME, *key)))
        return view

    def participant_keys(self) -> list[Key]:
        return [(ns, name) for by, ns, name in self.ready.participants if by is By.NAME]

    def participants_of(self, journey: Key) -> list[ParticipantView]:
        return list(self.ready.participants.get((By.JOURNEY, *journey)) or ())

    def job(self, key: Key) -> JobFacts | None:
        found: JobFacts | None = _only(self.ready.jobs.get(key))
        if found is None and key in self.jobs_created:
            return JobFacts()
        return found

    def phase_of(self, view: ParticipantView) -> ParticipantPhase:
        """The newest phase known: our own write wins until the watch catches up with it."""
        written = self.written_phase.get(view.key)
        if written is None or written == view.phase or view.phase in FINAL_PARTICIPANT_PHASES:
            return view.phase
        if written in FINAL_PARTICIPANT_PHASES:
            return written
        return max(written, view.phase, key=lambda p: _PHASE_ORDER.get(p, 2))

    def family_members(self, namespace: str, family: str) -> list[FamilyMember]:
        return list(self.ready.family.get((namespace, family)) or ())

    def inside_count(self, journey: Key, excluding: Key) -> int:
        """Participants inside ``journey`` now (capacity), counting admissions in flight."""
        inside = {
            view.key
            for view in self.participants_of(journey)
            if self.phase_of(view) == ParticipantPhase.ACTIVE
        }
        inside |= {k for k, v in self.admitting.items() if (v.namespace, v.journey) == journey}
        inside.discard(excluding)
        return len(inside)

    def active_elsewhere(self, view: ParticipantView, family_journeys: Iterable[str]) -> str | None:
        """The journey of the family in which this profile is already active, if any."""
        holder = self.active_holder(view, family_journeys)
        return None if holder is None else str(holder.journey)

    def active_holder(
        self, view: ParticipantView, family_journeys: Iterable[str]
    ) -> ParticipantView | None:
        """The other participant through which this profile is active in the family, if any."""
        journeys = set(family_journeys)
        others: list[ParticipantView] = [
            *(self.ready.participants.get((By.PROFILE, view.namespace, view.profile)) or ()),
            *self.admitting.values(),
        ]
        for other in others:
            if (
                other.key != view.key
                and other.profile == view.profile
                and other.namespace == view.namespace
                and other.journey in journeys
                and (other.key in self.admitting or self.phase_of(other) == ParticipantPhase.ACTIVE)
            ):
                return other
        return None

    def entry_facts(
        self, view: ParticipantView, facts: JourneyFacts, family: str, stopped: bool
    ) -> JourneyFacts:
        """The journey as it stands for one entry, for the operator and the webhook alike.

        A close this process has seen wins over facts not yet recomputed; capacity and the
        one-version-per-profile rule count admissions still in flight.
        """
        key = (view.namespace, view.journey)
        if key in self.closed and facts.phase == JourneyPhase.LIVE:
            facts = replace(facts, phase=JourneyPhase.STOPPED if stopped else JourneyPhase.CLOSED)
        members = [m.name for m in self.family_members(view.namespace, family)]
        holder = self.active_holder(view, members or [view.journey])
        return replace(
            facts,
            inside=(
                self.inside_count(key, excluding=view.key)
                if facts.max_participants is not None
                else 0
            ),
            active_elsewhere=None if holder is None else str(holder.journey),
            active_participant=None if holder is None else holder.name,
        )

    def newest_live(self, namespace: str, family: str, above: int = 0) -> str | None:
        """The newest live version of a family above version ``above``, if any."""
        live = [
            member
            for member in self.family_members(namespace, family)
            if member.version > above
            and member.state == JourneyState.LIVE
            and member.phase in (None, JourneyPhase.LIVE)
        ]
        return max(live, key=lambda m: m.version).name if live else None

    def counts(self) -> tuple[dict[tuple[str, str], int], dict[tuple[str, str], int]]:
        """Journeys and participants by (namespace, phase), every phase of a namespace listed."""
        journeys: Counter[tuple[str, str]] = Counter()
        for key in self.ready.journeys:
            body = self.journey_body(key) or {}
            journeys[(key[0], (body.get("status") or {}).get("phase") or "Unknown")] += 1
        participants: Counter[tuple[str, str]] = Counter()
        for key in self.participant_keys():
            view = self.participant(key)
            if view is not None:
                participants[(view.namespace, self.phase_of(view).value)] += 1
        return _with_zeros(journeys, JourneyPhase), _with_zeros(participants, ParticipantPhase)

    # --- the close gate ---------------------------------------------------------------------

    def close_gate(self, key: Key) -> None:
        """Seen closed or stopped: from now on this process creates no Job for the journey."""
        self.closed.add(key)

    def gate_closed(self, key: Key) -> bool:
        return key in self.closed

    # --- writes this process made -----------------------------------------------------------

    def remember_phase(self, key: Key, phase: ParticipantPhase) -> None:
        self.written_phase[key] = phase

    def observe_participant(self, view: ParticipantView, deleted: bool) -> None:
        """A watch event: once it shows our own write, the index alone is the truth again."""
        if deleted:
            self.forget_participant(view.key)
        elif (
            view.phase in FINAL_PARTICIPANT_PHASES or self.written_phase.get(view.key) == view.phase
        ):
            self.written_phase.pop(view.key, None)

    def forget_participant(self, key: Key) -> None:
        self.written_phase.pop(key, None)
        self.jobs_created.discard(key)
        self.admitting.pop(key, None)

    def forget_journey(self, key: Key) -> None:
        self.journey_facts.pop(key, None)
        self.stalled.pop(key, None)
        self.closed.discard(key)


def _with_zeros(
    counts: Counter[tuple[str, str]], phases: Iterable[StrEnum]
) -> dict[tuple[str, str], int]:
    """Every phase of every namespace seen, zeros included: alerts need the series to exist."""
    namespaces = {namespace for namespace, _ in counts}
    full = {(namespace, phase.value): 0 for namespace in namespaces for phase in phases}
    full.update(counts)
    return full


def _only(values: Any) -> Any:
    """An index keyed by (namespace, name) holds at most one value per key."""
    if not values:
        return None
    return next(iter(values))
