"""Field types of the API with their validation: what a value must look like, with messages for
people (instead of pydantic's regex dump) and the JSON schema the CRD gets for it."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime, Field, PlainSerializer

from journeys.api import cel
from journeys.api.durations import DURATION_PATTERN, parse_duration
from journeys.api.limits import (
    ATTRIBUTE_KEY_PATTERN,
    DNS_LABEL_PATTERN,
    DNS_SUBDOMAIN_PATTERN,
    MAX_ATTRIBUTE_KEY_LENGTH,
    MAX_ATTRIBUTE_VALUE_LENGTH,
    MAX_DURATION_LENGTH,
    MAX_FAMILY_LENGTH,
    MAX_NAME_LENGTH,
)
from journeys.api.messages import ATTRIBUTE_KEYS_MESSAGE
from journeys.api.timestamps import format_timestamp

_DNS_LABEL = re.compile(DNS_LABEL_PATTERN)
_DNS_SUBDOMAIN = re.compile(DNS_SUBDOMAIN_PATTERN)
_ATTRIBUTE_KEY = re.compile(ATTRIBUTE_KEY_PATTERN)


def _pattern_validator(pattern: re.Pattern[str], what: str, example: str) -> AfterValidator:
    """A validator with a message for people, instead of pydantic's regex dump."""

    def check(value: str) -> str:
        if pattern.fullmatch(value) is None:  # fullmatch: no trailing newline
            raise ValueError(f"{value!r} is not {what} (e.g. {example!r})")
        return value

    return AfterValidator(check)


def _check_duration(value: str) -> str:
    parse_duration(value)  # raises ValueError with an example
    return value


def check_attribute_keys(value: dict[str, str]) -> dict[str, str]:
    """Attribute keys become environment variable names; refuse those that cannot."""
    bad = sorted(
        key
        for key in value
        if len(key) > MAX_ATTRIBUTE_KEY_LENGTH or _ATTRIBUTE_KEY.fullmatch(key) is None
    )
    if bad:
        raise ValueError(f"{ATTRIBUTE_KEYS_MESSAGE}; not valid: {', '.join(map(repr, bad))}")
    return value


#: An RFC 3339 time; must carry a time zone, serialised in UTC with "Z".
Timestamp = Annotated[
    AwareDatetime, PlainSerializer(format_timestamp, return_type=str, when_used="json")
]

Family = Annotated[
    str,
    Field(max_length=MAX_FAMILY_LENGTH, json_schema_extra={"pattern": DNS_LABEL_PATTERN}),
    _pattern_validator(
        _DNS_LABEL,
        "a DNS label (lower-case letters, digits and '-', starting and ending "
        "with a letter or digit)",
        "welcome",
    ),
]

JourneyName = Annotated[
    str,
    Field(
        min_length=1,
        max_length=MAX_NAME_LENGTH,
        json_schema_extra={"pattern": DNS_SUBDOMAIN_PATTERN},
    ),
    _pattern_validator(
        _DNS_SUBDOMAIN,
        "a Kubernetes object name (lower-case letters, digits, '-' and '.')",
        "welcome-v1",
    ),
]

DurationString = Annotated[
    str,
    Field(
        min_length=1,
        max_length=MAX_DURATION_LENGTH,
        json_schema_extra={
            "pattern": DURATION_PATTERN,
            "x-kubernetes-validations": [cel.duration()],
        },
    ),
    AfterValidator(_check_duration),
]

AttributeValue = Annotated[str, Field(max_length=MAX_ATTRIBUTE_VALUE_LENGTH)]
