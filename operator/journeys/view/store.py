"""The operator's own indexes of the cluster, filled from watch events, and when they are complete.

Kopf's ``@kopf.index`` parks every object's worker until the whole first listing is indexed,
and wakes all of them at every object indexed: at start-up that was quadratic in the number
of objects (2,000 participants took 16 s of CPU, 5,000 about two minutes) and held every
object's worker, with its body, at once (docs/scaling.md). So the watch handlers file what the
decisions need here, and completeness is decided here too: the view is complete once it has
received every object a listing at start-up found (or its deletion).
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Iterator, Mapping
from typing import Any, Generic, TypeVar

from journeys.core.participants import JobFacts
from journeys.view.state import (
    FamilyMember,
    Indexes,
    Key,
    ParticipantView,
    participant_index_keys,
)

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class ObjectIndex(Generic[K, V]):
    """Key -> the values of every object filed under it, each object known by its uid.

    Reads are those of ``view.state.Index`` (``get`` returns the values under a key, iterating
    gives the keys); only the watch handlers write, through :class:`ViewStore`.
    """

    def __init__(self) -> None:
        self._by_key: dict[K, dict[str, V]] = {}
        self._keys_of: dict[str, tuple[K, ...]] = {}

    def get(self, key: K, default: Any = None) -> Any:
        found = self._by_key.get(key)
        return tuple(found.values()) if found else default

    def __iter__(self) -> Iterator[K]:
        return iter(self._by_key)

    def __len__(self) -> int:
        return len(self._by_key)

    def put(self, uid: str, values: Mapping[K, V]) -> None:
        """File the object's current values, replacing what it had."""
        self.remove(uid)
        for key, value in values.items():
            self._by_key.setdefault(key, {})[uid] = value
        self._keys_of[uid] = tuple(values)

    def remove(self, uid: str) -> None:
        for key in self._keys_of.pop(uid, ()):
            bucket = self._by_key.get(key)
            if bucket is not None:
                bucket.pop(uid, None)
                if not bucket:
                    del self._by_key[key]


class Completeness:
    """Whether the view holds every object that existed when this replica started.

    Watch events may arrive before the start-up listing has finished: those are remembered
    until then. An object listed and then deleted before the watch saw it would be awaited
    forever, so the awaited set is narrowed by listing again (:meth:`narrow`).
    """

    def __init__(self) -> None:
        self._awaited: set[str] | None = None  # None: the start-up listing is not done
        self._early: set[str] = set()

    @property
    def complete(self) -> bool:
        return self._awaited is not None and not self._awaited

    @property
    def awaited(self) -> int:
        """Objects listed at start-up the view has not received yet (-1: not listed yet)."""
        return -1 if self._awaited is None else len(self._awaited)

    def observed(self, uid: str) -> None:
        if self._awaited is None:
            self._early.add(uid)
        else:
            self._awaited.discard(uid)

    def listed(self, uids: Iterable[str]) -> None:
        """The start-up listing's objects: complete once each has been observed."""
        self._awaited = set(uids) - self._early
        self._early = set()

    def narrow(self, existing: Iterable[str]) -> None:
        """Await only objects that still exist (a later listing's uids)."""
        if self._awaited is not None:
            self._awaited &= set(existing)


class ViewStore:
    """The four indexes the operator and the webhooks read, and their completeness."""

    def __init__(self) -> None:
        self.journeys: ObjectIndex[Key, dict[str, Any]] = ObjectIndex()
        self.family: ObjectIndex[Key, FamilyMember] = ObjectIndex()
        self.participants: ObjectIndex[Any, ParticipantView] = ObjectIndex()
        self.jobs: ObjectIndex[Key, JobFacts] = ObjectIndex()
        self.completeness = Completeness()
        self.indexes = Indexes(
            journeys=self.journeys,
            family=self.family,
            participants=self.participants,
            jobs=self.jobs,
        )

    def journey(
        self, uid: str, key: Key, family: Key, entry: dict[str, Any], member: FamilyMember
    ) -> None:
        self.journeys.put(uid, {key: entry})
        self.family.put(uid, {family: member})
        self.completeness.observed(uid)

    def participant(self, uid: str, view: ParticipantView) -> None:
        self.participants.put(uid, dict.fromkeys(participant_index_keys(view), view))
        self.completeness.observed(uid)

    def job(self, uid: str, participant: Key, facts: JobFacts) -> None:
        self.jobs.put(uid, {participant: facts})
        self.completeness.observed(uid)

    def deleted(self, uid: str) -> None:
        """An object of any of the three resources is gone (uids are unique in a cluster)."""
        for index in (self.journeys, self.family, self.participants, self.jobs):
            index.remove(uid)
        self.completeness.observed(uid)
