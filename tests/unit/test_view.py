"""The operator's view without a cluster: phases with read-your-writes, capacity, one version
per profile, the close gate, and the views built from raw bodies."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from journeys.api import JourneyPhase, JourneyState, ParticipantPhase
from journeys.core.participants import JobFacts, JobOutcome, JourneyFacts
from journeys.view import (
    By,
    FamilyMember,
    ObjectIndex,
    OperatorState,
    ParticipantView,
    ViewStore,
    job_facts,
    participant_view,
)

NS = "team"
P = ParticipantPhase


def view(name: str, journey: str = "welcome-v1", profile: str | None = None, **kw: Any) -> Any:
    fields = {"phase": P.PENDING, "reason": "", "attributes": {}, "owned": True, "uid": name}
    fields.update(kw)
    return ParticipantView(NS, name, journey=journey, profile=profile or name, **fields)


def state_of(*views: ParticipantView, family: Iterable[FamilyMember] = ()) -> OperatorState:
    store = ViewStore()
    for v in views:
        store.participant(v.uid, v)
    for member in family:
        store.family.put(f"uid-{member.name}", {(NS, "welcome"): member})
    store.job("job-uid", (NS, "with-job"), JobFacts(JobOutcome.SUCCEEDED))
    return OperatorState(indexes=store.indexes)


def test_phase_of_prefers_our_own_write_until_the_watch_catches_up() -> None:
    pending = view("alice")
    state = state_of(pending)
    assert state.phase_of(pending) == P.PENDING
    state.remember_phase(pending.key, P.ACTIVE)
    assert state.phase_of(pending) == P.ACTIVE  # our write, not yet in the index
    state.remember_phase(pending.key, P.HALTED)
    assert state.phase_of(view("alice", phase=P.ACTIVE)) == P.HALTED  # a final write wins
    # A final phase in the index is never overridden: the participant cannot leave it.
    state.remember_phase(pending.key, P.ACTIVE)
    assert state.phase_of(view("alice", phase=P.COMPLETED)) == P.COMPLETED
    # Active in the index beats an older Pending of ours.
    state.remember_phase(pending.key, P.PENDING)
    assert state.phase_of(view("alice", phase=P.ACTIVE)) == P.ACTIVE


def test_the_watch_catching_up_forgets_our_write() -> None:
    alice = view("alice")
    state = state_of(alice)
    state.remember_phase(alice.key, P.ACTIVE)
    state.observe_participant(view("alice", phase=P.PENDING), deleted=False)
    assert state.written_phase == {alice.key: P.ACTIVE}  # the event is older than our write
    state.observe_participant(view("alice", phase=P.ACTIVE), deleted=False)
    assert state.written_phase == {}
    state.remember_phase(alice.key, P.ACTIVE)
    state.jobs_created.add(alice.key)
    state.observe_participant(alice, deleted=True)
    assert (state.written_phase, state.jobs_created) == ({}, set())


def test_inside_count_counts_active_and_admissions_in_flight_but_not_the_one_asking() -> None:
    active, pending, other = view("a", phase=P.ACTIVE), view("b"), view("c", journey="other-v1")
    state = state_of(active, pending, other, view("d", phase=P.COMPLETED))
    journey = (NS, "welcome-v1")
    assert state.inside_count(journey, excluding=pending.key) == 1
    state.remember_phase(pending.key, P.ACTIVE)  # admitted by us, index not caught up
    assert state.inside_count(journey, excluding=("x", "x")) == 2
    state.admitting[(NS, "e")] = view("e")
    assert state.inside_count(journey, excluding=("x", "x")) == 3
    assert state.inside_count(journey, excluding=(NS, "e")) == 2


def test_active_elsewhere_finds_the_profile_in_another_version_of_the_family() -> None:
    v1 = view("alice-1", journey="welcome-v1", profile="alice", phase=P.ACTIVE)
    done = view("bob-1", journey="welcome-v1", profile="bob", phase=P.COMPLETED)
    state = state_of(v1, done)
    family = ["welcome-v1", "welcome-v2"]
    entering = view("alice-2", journey="welcome-v2", profile="alice")
    assert state.active_elsewhere(entering, family) == "welcome-v1"
    assert state.active_elsewhere(entering, ["welcome-v2"]) is None  # another family
    assert (
        state.active_elsewhere(view("bob-2", journey="welcome-v2", profile="bob"), family) is None
    )
    # An admission in flight counts, even before anything is written.
    carol = view("carol-1", journey="welcome-v1", profile="carol")
    state.admitting[carol.key] = carol
    assert state.active_elsewhere(view("carol-2", "welcome-v2", "carol"), family) == "welcome-v1"
    holder = state.active_holder(entering, family)
    assert holder is not None and holder.name == "alice-1"


def test_the_close_gate_wins_over_facts_not_yet_recomputed() -> None:
    state = state_of(family=[FamilyMember("welcome-v1", 1, JourneyState.LIVE, JourneyPhase.LIVE)])
    facts = JourneyFacts(name="welcome-v1", phase=JourneyPhase.LIVE, max_participants=2)
    entering = view("alice")
    key = (NS, "welcome-v1")
    assert not state.gate_closed(key)
    assert state.entry_facts(entering, facts, "welcome", stopped=False).phase == JourneyPhase.LIVE
    state.close_gate(key)
    assert state.gate_closed(key)
    closed = state.entry_facts(entering, facts, "welcome", stopped=False)
    assert closed.phase == JourneyPhase.CLOSED
    stopped = state.entry_facts(entering, facts, "welcome", stopped=True)
    assert stopped.phase == JourneyPhase.STOPPED
    state.forget_journey(key)
    assert not state.gate_closed(key)


def test_newest_live_ignores_closed_and_older_versions() -> None:
    members = [
        FamilyMember("welcome-v1", 1, JourneyState.LIVE, JourneyPhase.CLOSED),
        FamilyMember("welcome-v2", 2, JourneyState.LIVE, None),
        FamilyMember("welcome-v3", 3, JourneyState.STOPPED, JourneyPhase.STOPPED),
    ]
    state = state_of(family=members)
    assert state.newest_live(NS, "welcome") == "welcome-v2"
    assert state.newest_live(NS, "welcome", above=2) is None


def test_counts_list_every_phase_of_every_namespace() -> None:
    state = state_of(view("a", phase=P.ACTIVE), view("b"))
    journeys, participants = state.counts()
    assert journeys == {}
    assert participants[(NS, "Active")] == 1 and participants[(NS, "Pending")] == 1
    assert participants[(NS, "Halted")] == 0
    assert set(participants) == {(NS, phase.value) for phase in P}


def test_a_job_created_by_us_is_known_before_the_index_has_it() -> None:
    state = state_of()
    assert state.job((NS, "with-job")) == JobFacts(JobOutcome.SUCCEEDED)
    assert state.job((NS, "new")) is None
    state.jobs_created.add((NS, "new"))
    assert state.job((NS, "new")) == JobFacts()


def test_views_from_raw_bodies() -> None:
    body = {
        "metadata": {"uid": "u1", "ownerReferences": [{"kind": "Journey", "name": "welcome-v1"}]},
        "spec": {"journey": "welcome-v1", "profile": "alice", "attributes": {"plan": "pro"}},
        "status": {"phase": "Bogus", "reason": "Admitted"},
    }
    built = participant_view(NS, "alice", body)
    assert (built.phase, built.owned, built.attributes) == (P.PENDING, True, {"plan": "pro"})
    assert job_facts({"suspend": True}, {}) == JobFacts(JobOutcome.RUNNING, suspended=True)
    failed = {"conditions": [{"type": "Failed", "status": "True"}]}
    assert job_facts({}, failed).outcome == JobOutcome.FAILED


def test_an_object_refiled_leaves_nothing_under_its_old_keys() -> None:
    index: ObjectIndex[str, int] = ObjectIndex()
    index.put("u1", {"a": 1, "b": 1})
    index.put("u2", {"a": 2})
    assert sorted(index.get("a")) == [1, 2] and index.get("b") == (1,)
    index.put("u1", {"c": 3})
    assert index.get("a") == (2,) and index.get("b") is None and index.get("c") == (3,)
    index.remove("u2")
    index.remove("unknown")
    assert list(index) == ["c"] and index.get("a", ()) == ()


def test_a_deletion_removes_the_object_from_every_index() -> None:
    store = ViewStore()
    alice = view("alice", profile="p-1")
    store.participant("u-alice", alice)
    store.job("u-job", (NS, "alice"), JobFacts())
    state = OperatorState(indexes=store.indexes)
    assert state.participant((NS, "alice")) == alice
    assert state.participants_of((NS, "welcome-v1")) == [alice]
    assert store.participants.get((By.PROFILE, NS, "p-1")) == (alice,)
    store.deleted("u-alice")
    store.deleted("u-job")
    assert state.participant((NS, "alice")) is None
    assert state.participants_of((NS, "welcome-v1")) == []
    assert state.job((NS, "alice")) is None
    assert list(store.participants) == [] and list(store.jobs) == []
