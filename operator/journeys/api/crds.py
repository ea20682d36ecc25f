"""Generate the CustomResourceDefinitions in ``crds/`` from the pydantic models.

The CRDs are never edited by hand: the models are the source of truth, and a unit test fails when
the committed YAML differs from what this module generates. Usage::

    python -m journeys.api.crds --write crds/   # regenerate (make crds)
    python -m journeys.api.crds --check crds/   # exit 1 if the files are stale

Pydantic emits JSON Schema (draft 2020-12); the API server wants a *structural* OpenAPI v3
schema: every node typed, no ``$ref``, ``Optional`` spelled ``nullable: true`` rather than
``anyOf``, no titles. :func:`structural_schema` does that translation and refuses any keyword it
does not know, so a new pydantic feature can never slip an unsupported construct into a CRD.
"""

from __future__ import annotations

import copy
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final

import yaml
from pydantic import BaseModel

from journeys.api import (
    CATEGORY,
    GROUP,
    JOURNEY_RESOURCE,
    PARTICIPANT_RESOURCE,
    VERSION,
    Journey,
    Participant,
    Resource,
)
from journeys.api.generated import generator_main, stale_files, write_files

__all__ = [
    "CRD_FILES",
    "SchemaError",
    "check",
    "crd_for",
    "generated_files",
    "journey_crd",
    "main",
    "participant_crd",
    "render",
    "structural_schema",
    "write",
]

Schema = dict[str, Any]

HEADER: Final = (
    "# Generated from the models in operator/journeys/api/ by `python -m journeys.api.crds "
    "--write crds/`\n# (make crds). DO NOT EDIT: change the models and regenerate.\n"
)

#: Keywords that may appear in a structural schema node, copied through after recursion.
_VALUE_KEYWORDS: Final = frozenset(
    {
        "type",
        "description",
        "default",
        "enum",
        "format",
        "pattern",
        "minimum",
        "maximum",
        "exclusiveMinimum",
        "exclusiveMaximum",
        "minLength",
        "maxLength",
        "minItems",
        "maxItems",
        "minProperties",
        "maxProperties",
        "required",
        "nullable",
        "x-kubernetes-preserve-unknown-fields",
        "x-kubernetes-embedded-resource",
        "x-kubernetes-int-or-string",
        "x-kubernetes-list-type",
        "x-kubernetes-list-map-keys",
        "x-kubernetes-map-type",
        "x-kubernetes-validations",
    }
)
#: Keywords holding child schemas, converted recursively.
_NESTING_KEYWORDS: Final = frozenset({"properties", "items", "additionalProperties"})
#: JSON Schema keywords that carry nothing the API server needs.
_DROPPED_KEYWORDS: Final = frozenset({"title", "$schema"})


class SchemaError(ValueError):
    """The model produced a JSON Schema construct that has no structural equivalent."""


def _resolve_ref(ref: str, defs: Schema) -> Schema:
    prefix = "#/$defs/"
    if not ref.startswith(prefix) or ref[len(prefix) :] not in defs:
        raise SchemaError(f"unresolvable $ref {ref!r}")
    return copy.deepcopy(defs[ref[len(prefix) :]])


def _merge(base: Schema, override: Schema) -> Schema:
    """``override`` wins, except that CEL rules of both are kept (model rules + field rules)."""
    merged = {**base, **override}
    rules = base.get("x-kubernetes-validations", []) + override.get("x-kubernetes-validations", [])
    if rules:
        merged["x-kubernetes-validations"] = rules
    return merged


def _flatten(node: Schema, defs: Schema, path: str) -> Schema:
    """Inline ``$ref``/``allOf`` and turn ``anyOf [X, null]`` into ``X`` + ``nullable``."""
    node = dict(node)
    while True:
        if "$ref" in node:
            target = _resolve_ref(node.pop("$ref"), defs)
            node = _merge(target, node)
        elif "allOf" in node:
            parts = node.pop("allOf")
            if len(parts) != 1:
                raise SchemaError(f"{path}: allOf with {len(parts)} members is not supported")
            node = _merge(dict(parts[0]), node)
        elif "anyOf" in node:
            branches = node.pop("anyOf")
            others = [b for b in branches if b != {"type": "null"}]
            if len(others) == len(branches) or len(others) != 1:
                raise SchemaError(
                    f"{path}: anyOf/union types cannot be structural; only Optional[X] is allowed"
                )
            node = _merge(dict(others[0]), node)
            node["nullable"] = True
        else:
            return node


def _convert(node: Schema, defs: Schema, path: str) -> Schema:
    node = _flatten(node, defs, path)
    unknown = set(node) - _VALUE_KEYWORDS - _DROPPED_KEYWORDS - _NESTING_KEYWORDS
    if unknown:
        raise SchemaError(f"{path}: unsupported JSON Schema keywords {sorted(unknown)}")

    out: Schema = {}
    for key, value in node.items():
        if key in _DROPPED_KEYWORDS:
            continue
        if key == "properties":
            out[key] = {
                name: _convert(child, defs, f"{path}.{name}") for name, child in value.items()
            }
        elif key == "items":
            out[key] = _convert(value, defs, f"{path}[]")
        elif key == "additionalProperties":
            if value is True:
                if not node.get("x-kubernetes-preserve-unknown-fields"):
                    raise SchemaError(
                        f"{path}: an open object needs x-kubernetes-preserve-unknown-fields"
                    )
                continue  # preserve-unknown-fields says it; structural schemas forbid `true`
            if value is False:
                continue  # the API server prunes unknown fields anyway
            out[key] = _convert(value, defs, f"{path}.*")
        elif key == "default" and value is None:
            continue  # "absent" is the default of every nullable field
        elif key == "description":
            out[key] = " ".join(value.split())  # docstrings are wrapped; kubectl explain rewraps
        else:
            out[key] = copy.deepcopy(value)

    # Bound enum strings so CEL rules on them have a small estimated cost.
    enum = out.get("enum")
    if out.get("type") == "string" and enum and "maxLength" not in out:
        out["maxLength"] = max(len(str(v)) for v in enum)

    if "type" not in out and not out.get("x-kubernetes-preserve-unknown-fields"):
        raise SchemaError(f"{path}: every node of a structural schema needs a type")
    return out


def structural_schema(model: type[BaseModel], overrides: Schema | None = None) -> Schema:
    """The structural OpenAPI v3 schema of ``model`` (aliases, validation mode).

    ``overrides`` replaces top-level properties before conversion (see :func:`_root_schema`).
    """
    raw = model.model_json_schema(by_alias=True, mode="validation")
    defs = raw.pop("$defs", {})
    if overrides:
        raw["properties"] = {**raw["properties"], **overrides}
    return _convert(raw, defs, model.__name__)


#: The API server owns apiVersion, kind and metadata: a CRD may only restrict metadata.name.
#: ``metadata.name`` is declared (unrestricted) so the root CEL rule's fieldPath can point at it.
_ROOT_OVERRIDES: Final[Schema] = {
    "apiVersion": {
        "type": "string",
        "description": (
            "APIVersion defines the versioned schema of this representation of an object."
        ),
    },
    "kind": {
        "type": "string",
        "description": "Kind is a string value representing the REST resource this object is.",
    },
    "metadata": {"type": "object", "properties": {"name": {"type": "string"}}},
}


def _root_schema(model: type[BaseModel]) -> Schema:
    """The schema of a whole resource."""
    return structural_schema(model, _ROOT_OVERRIDES)


def _column(
    name: str,
    json_path: str,
    *,
    type_: str = "string",
    description: str = "",
    priority: int = 0,
) -> Schema:
    column: Schema = {"name": name, "type": type_, "jsonPath": json_path}
    if description:
        column["description"] = description
    if priority:
        column["priority"] = priority
    return column


def crd_for(model: type[BaseModel], names: Resource, columns: list[Schema]) -> Schema:
    """A v1 CustomResourceDefinition for one kind of this API."""
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {
            "name": f"{names.plural}.{GROUP}",
            "labels": {"app.kubernetes.io/part-of": "journeys"},
        },
        "spec": {
            "group": GROUP,
            "scope": "Namespaced",
            "names": {
                "kind": names.kind,
                "listKind": f"{names.kind}List",
                "plural": names.plural,
                "singular": names.singular,
                "shortNames": [names.short_name],
                "categories": [CATEGORY],
            },
            "versions": [
                {
                    "name": VERSION,
                    "served": True,
                    "storage": True,
                    "subresources": {"status": {}},
                    "additionalPrinterColumns": columns,
                    "schema": {"openAPIV3Schema": _root_schema(model)},
                }
            ],
        },
    }


def journey_crd() -> Schema:
    """The Journey CRD."""
    return crd_for(
        Journey,
        JOURNEY_RESOURCE,
        [
            _column("Family", ".spec.family", description="Journey across its versions"),
            _column("Version", ".spec.version", type_="integer", description="Version number"),
            _column("State", ".spec.state", description="Desired state"),
            _column("Phase", ".status.phase", description="Effective state"),
            _column(
                "Active",
                ".status.participants.active",
                type_="integer",
                description="Participants inside",
            ),
            _column("Age", ".metadata.creationTimestamp", type_="date"),
            _column(
                "Superseded-By",
                ".status.supersededBy",
                description="Newer version that closed this one",
                priority=1,
            ),
        ],
    )


def participant_crd() -> Schema:
    """The Participant CRD."""
    return crd_for(
        Participant,
        PARTICIPANT_RESOURCE,
        [
            _column("Journey", ".spec.journey", description="Journey entered"),
            _column("Profile", ".spec.profile", description="Profile id"),
            _column("Phase", ".status.phase", description="Where the participant is"),
            _column("Age", ".metadata.creationTimestamp", type_="date"),
            _column("Reason", ".status.reason", description="Why, in one word", priority=1),
            _column("Job", ".status.job", description="The participant's Job", priority=1),
        ],
    )


#: File name in ``crds/`` -> generator.
CRD_FILES: Final = {
    f"{GROUP}_{JOURNEY_RESOURCE.plural}.yaml": journey_crd,
    f"{GROUP}_{PARTICIPANT_RESOURCE.plural}.yaml": participant_crd,
}


def render(crd: Schema) -> str:
    """The YAML text of a CRD, stable across runs (sorted keys, fixed width)."""
    body = yaml.safe_dump(crd, sort_keys=True, allow_unicode=True, width=100)
    return HEADER + "---\n" + body


def generated_files() -> dict[str, str]:
    """File name -> content, for every CRD."""
    return {name: render(build()) for name, build in CRD_FILES.items()}


def write(directory: Path) -> list[Path]:
    """Write every CRD into ``directory``; returns the paths written."""
    return write_files(directory, generated_files())


def check(directory: Path) -> list[str]:
    """File names in ``directory`` that are missing or differ from the generated ones."""
    return stale_files(directory, generated_files())


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: ``--write DIR`` or ``--check DIR``."""
    return generator_main(
        argv,
        prog="python -m journeys.api.crds",
        description="Generate the journeys.dev CRDs from the pydantic models.",
        what="CRDs",
        files=generated_files,
    )


if __name__ == "__main__":
    sys.exit(main())
