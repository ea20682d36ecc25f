"""The operator's in-memory view of the cluster, shared by the controllers and the webhooks.

Neither Kopf handlers nor I/O live here: the controllers fill the view (``store``) from watch
events and their own writes; the webhooks only read it.
"""

from journeys.view.objects import family_member, job_facts, participant_view
from journeys.view.state import (
    By,
    FamilyMember,
    Index,
    Indexes,
    Key,
    OperatorState,
    ParticipantView,
    participant_index_keys,
)
from journeys.view.store import Completeness, ObjectIndex, ViewStore

__all__ = [
    "By",
    "Completeness",
    "FamilyMember",
    "Index",
    "Indexes",
    "Key",
    "ObjectIndex",
    "OperatorState",
    "ParticipantView",
    "ViewStore",
    "family_member",
    "job_facts",
    "participant_index_keys",
    "participant_view",
]
