"""``-o``: objects as data the way kubectl prints them.

``json`` and ``yaml`` leave out ``metadata.managedFields`` (kubectl hides them unless asked),
``name`` prints ``<kind>.<group>/<name>`` per object. A command prints one document: with
``--wait``, the object as it is at the end, not once before and once after.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import yaml

from journeys.api import GROUP


def without_managed_fields(obj: Any) -> Any:
    """The object (or a List's items) without ``metadata.managedFields``; others untouched."""
    if not isinstance(obj, Mapping):
        return obj
    result = dict(obj)
    if isinstance(result.get("items"), list):
        result["items"] = [without_managed_fields(item) for item in result["items"]]
    metadata = result.get("metadata")
    if isinstance(metadata, Mapping) and "managedFields" in metadata:
        result["metadata"] = {k: v for k, v in metadata.items() if k != "managedFields"}
    return result


def object_name(obj: Mapping[str, Any]) -> str:
    """kubectl's ``-o name`` form: ``journey.journeys.dev/welcome-v1``."""
    kind = str(obj.get("kind") or "").lower()
    return f"{kind}.{GROUP}/{(obj.get('metadata') or {}).get('name')}"


def format_object(obj: Any, output: str) -> str:
    """``obj`` (an object or a List) as ``output``: json, yaml or name."""
    if output == "name":
        items = obj.get("items") if isinstance(obj, Mapping) and "items" in obj else [obj]
        return "\n".join(object_name(item) for item in items or [])
    shown = without_managed_fields(obj)
    if output == "json":
        return json.dumps(shown, indent=4)
    return str(yaml.safe_dump(shown, sort_keys=False, default_flow_style=False)).rstrip()
