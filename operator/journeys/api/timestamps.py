"""Kubernetes timestamps (metav1.Time): RFC 3339 in UTC with a "Z", to the second."""

from __future__ import annotations

from datetime import UTC, datetime


def format_timestamp(moment: datetime) -> str:
    """``moment`` as the API server writes times: ``2025-01-01T10:00:00Z`` (what
    ``format: date-time`` fields, kubectl and dashboards expect)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_timestamp(value: object) -> datetime | None:
    """An RFC 3339 time from an object or annotation; ``None`` when unset or not a time.

    Readers of raw objects use it where a bad value must not crash them (the schema, or the
    mutating webhook for annotations, is what refuses it).
    """
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
