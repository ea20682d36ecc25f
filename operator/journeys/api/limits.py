"""Limits and patterns of the API, shared by the Python validators and the CRD's schema and CEL
rules, so that the operator and the API server refuse the same input."""

from __future__ import annotations

from typing import Final

#: Label values are limited to 63 characters; journey and participant names end up in labels,
#: and a participant's Job is named after the participant.
MAX_NAME_LENGTH: Final = 63
#: Leaves room for "-v<N>" so that "<family>-v<N>" still fits in 63 characters.
MAX_FAMILY_LENGTH: Final = 50
MAX_VERSION: Final = 2**31 - 1
MAX_STOP_REASON_LENGTH: Final = 1024
MAX_PROFILE_LENGTH: Final = 253
MAX_ATTRIBUTES: Final = 64
MAX_ATTRIBUTE_KEY_LENGTH: Final = 63
MAX_ATTRIBUTE_VALUE_LENGTH: Final = 4096
MAX_CONDITIONS: Final = 32
MAX_DURATION_LENGTH: Final = 64

DNS_LABEL_PATTERN: Final = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
DNS_SUBDOMAIN_PATTERN: Final = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
ATTRIBUTE_KEY_PATTERN: Final = r"^[A-Za-z_][A-Za-z0-9_]*$"
#: The trailing "-v<N>" that :func:`journeys.api.default_family` strips (RE2 and Python agree).
VERSION_SUFFIX_PATTERN: Final = r"-v[0-9]+$"
# metav1.Condition's own patterns, so a status the operator builds is one the API server takes.
CONDITION_TYPE_PATTERN: Final = (
    r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?"
    r"(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$"
)
CONDITION_REASON_PATTERN: Final = r"^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$"
