"""The names of the journeys.dev API: group, version, kinds, and the labels and annotations.

Everything that spells a resource or a key on the wire takes it from here, so that a rename is
one edit (and the CRDs, webhook configurations and selectors follow).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

GROUP: Final = "journeys.dev"
VERSION: Final = "v1alpha1"
API_VERSION: Final = f"{GROUP}/{VERSION}"
#: `kubectl get journeys-all` lists both kinds. Not "journeys": kubectl expands categories before
#: resource names, so that category would make `kubectl get journeys` list Participants too.
CATEGORY: Final = "journeys-all"

JOURNEY_KIND: Final = "Journey"
JOURNEY_PLURAL: Final = "journeys"
JOURNEY_SINGULAR: Final = "journey"
JOURNEY_SHORT_NAME: Final = "jny"

PARTICIPANT_KIND: Final = "Participant"
PARTICIPANT_PLURAL: Final = "participants"
PARTICIPANT_SINGULAR: Final = "participant"
PARTICIPANT_SHORT_NAME: Final = "jp"


@dataclass(frozen=True)
class Resource:
    """The names of one kind, as a CRD (and kubectl) spells them."""

    kind: str
    plural: str
    singular: str
    short_name: str


JOURNEY_RESOURCE: Final = Resource(
    JOURNEY_KIND, JOURNEY_PLURAL, JOURNEY_SINGULAR, JOURNEY_SHORT_NAME
)
PARTICIPANT_RESOURCE: Final = Resource(
    PARTICIPANT_KIND, PARTICIPANT_PLURAL, PARTICIPANT_SINGULAR, PARTICIPANT_SHORT_NAME
)

LABEL_JOURNEY: Final = "journeys.dev/journey"
LABEL_FAMILY: Final = "journeys.dev/family"
LABEL_PARTICIPANT: Final = "journeys.dev/participant"
LABEL_VERSION: Final = "journeys.dev/version"

ANNOTATION_CLOSED_BY: Final = "journeys.dev/closed-by"
ANNOTATION_CLOSED_AT: Final = "journeys.dev/closed-at"
ANNOTATION_STOPPED_BY: Final = "journeys.dev/stopped-by"
ANNOTATION_STOPPED_AT: Final = "journeys.dev/stopped-at"
