"""Log output: readable lines for people, or one JSON object per line for log pipelines.

A JSON record has ``timestamp``, ``severity``, ``logger`` and ``message``; records Kopf writes
about an object also carry it as ``object`` (apiVersion, kind, namespace, name, uid), which Loki,
Elasticsearch or Cloud Logging can index without parsing the message.
"""

from __future__ import annotations

import argparse
import json
import logging
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class LogFormat(StrEnum):
    TEXT = "text"
    JSON = "json"


class JsonFormatter(logging.Formatter):
    """One JSON object per record."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "timestamp": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "severity": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        reference = getattr(record, "k8s_ref", None)  # set by Kopf's per-object loggers
        if reference:
            entry["object"] = reference
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--log-format",
        choices=[f.value for f in LogFormat],
        default=LogFormat.TEXT.value,
        help="'json': one JSON object per line with timestamp, severity, logger, message and "
        "the Kubernetes object concerned (default: text)",
    )


def configure(log_format: str, verbose: bool) -> None:
    """Set up the root logger once, before Kopf starts."""
    handler = logging.StreamHandler()
    if LogFormat(log_format) == LogFormat.JSON:
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter(TEXT_FORMAT))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    if not verbose:
        # Kopf logs every watch event it hands to a handler; at thousands of participants
        # that drowns what matters. Warnings and errors still get through.
        logging.getLogger("kopf.objects").setLevel(logging.WARNING)
