"""The operator's in-memory view of the cluster, shared by the controllers and the webhooks.

Neither Kopf handlers nor I/O live here: the controllers fill the view from Kopf's indexes and
their own writes; the webhooks only read it.
"""

from journeys.view.objects import family_member, indexes_from, job_facts, participant_view
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

__all__ = [
    "By",
    "FamilyMember",
    "Index",
    "Indexes",
    "Key",
    "OperatorState",
    "ParticipantView",
    "family_member",
    "indexes_from",
    "job_facts",
    "participant_index_keys",
    "participant_view",
]
