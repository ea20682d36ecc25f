"""The CRDs: generated from the models, structural, complete, and refusing what the design refuses.

A real API server checks these too (``kubectl apply --dry-run=server -f crds/``, integration tests);
these tests catch the same mistakes without one.
"""

from __future__ import annotations

import re
import types
import typing
from collections.abc import Iterator
from itertools import product
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import BaseModel, Field

from journeys.api import (
    LEGAL_STATE_TRANSITIONS,
    STATE_TRANSITION_MESSAGE,
    Journey,
    JourneyState,
    Participant,
    crds,
)
from journeys.api.cel import state_transition_rule

CRDS_DIR = Path(__file__).resolve().parents[2] / "crds"
Schema = dict[str, Any]


def committed(name: str) -> Schema:
    loaded: Schema = yaml.safe_load((CRDS_DIR / name).read_text(encoding="utf-8"))
    return loaded


JOURNEY_FILE = "journeys.dev_journeys.yaml"
PARTICIPANT_FILE = "journeys.dev_participants.yaml"


def schema_of(crd: Schema) -> Schema:
    schema: Schema = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    return schema


def walk(node: Schema, path: str = "") -> Iterator[tuple[str, Schema]]:
    """Every schema node with its path."""
    yield path, node
    for name, child in node.get("properties", {}).items():
        yield from walk(child, f"{path}.{name}")
    if isinstance(node.get("items"), dict):
        yield from walk(node["items"], f"{path}[]")
    if isinstance(node.get("additionalProperties"), dict):
        yield from walk(node["additionalProperties"], f"{path}.*")


def rules_at(schema: Schema, path: str) -> list[Schema]:
    rules: list[Schema] = dict(walk(schema))[path].get("x-kubernetes-validations", [])
    return rules


# --- generated, never hand-edited ----------------------------------------------------------------


def test_committed_crds_are_what_the_models_generate() -> None:
    stale = crds.check(CRDS_DIR)
    assert stale == [], (
        f"{stale} differ from the models: run `python -m journeys.api.crds --write crds/`"
    )


def test_the_command_line_writes_and_checks(tmp_path: Path, capsys: Any) -> None:
    assert crds.main(["--check", str(tmp_path)]) == 1
    assert "stale" in capsys.readouterr().err
    assert crds.main(["--write", str(tmp_path)]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(crds.CRD_FILES)
    assert crds.main(["--check", str(tmp_path)]) == 0
    (tmp_path / JOURNEY_FILE).write_text("# edited by hand\n", encoding="utf-8")
    assert crds.main(["--check", str(tmp_path)]) == 1


# --- the shape of each CRD -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("file", "kind", "plural", "short"),
    [
        (JOURNEY_FILE, "Journey", "journeys", "jny"),
        (PARTICIPANT_FILE, "Participant", "participants", "jp"),
    ],
)
def test_crd_metadata(file: str, kind: str, plural: str, short: str) -> None:
    crd = committed(file)
    assert crd["apiVersion"] == "apiextensions.k8s.io/v1"
    assert crd["metadata"]["name"] == f"{plural}.journeys.dev"
    spec = crd["spec"]
    assert spec["group"] == "journeys.dev"
    assert spec["scope"] == "Namespaced"
    assert spec["names"]["kind"] == kind
    assert spec["names"]["plural"] == plural
    assert spec["names"]["shortNames"] == [short]
    assert spec["names"]["categories"] == ["journeys-all"]  # not a plural: see CATEGORY
    [version] = spec["versions"]
    assert (version["name"], version["served"], version["storage"]) == ("v1alpha1", True, True)
    assert version["subresources"] == {"status": {}}


def columns(file: str) -> dict[str, tuple[str, str, int]]:
    version = committed(file)["spec"]["versions"][0]
    return {
        c["name"].upper(): (c["jsonPath"], c["type"], c.get("priority", 0))
        for c in version["additionalPrinterColumns"]
    }


def test_journey_printer_columns() -> None:
    shown = {name: col for name, col in columns(JOURNEY_FILE).items() if col[2] == 0}
    assert shown == {
        "FAMILY": (".spec.family", "string", 0),
        "VERSION": (".spec.version", "integer", 0),
        "STATE": (".spec.state", "string", 0),
        "PHASE": (".status.phase", "string", 0),
        "ACTIVE": (".status.participants.active", "integer", 0),
        "AGE": (".metadata.creationTimestamp", "date", 0),
    }
    assert list(shown) == ["FAMILY", "VERSION", "STATE", "PHASE", "ACTIVE", "AGE"]


def test_participant_printer_columns() -> None:
    found = columns(PARTICIPANT_FILE)
    assert [n for n, c in found.items() if c[2] == 0] == ["JOURNEY", "PROFILE", "PHASE", "AGE"]
    assert found["REASON"] == (".status.reason", "string", 1)


def test_printer_columns_point_at_fields_that_exist() -> None:
    for file in (JOURNEY_FILE, PARTICIPANT_FILE):
        paths = {path for path, _ in walk(schema_of(committed(file)))}
        for json_path, _, _ in columns(file).values():
            if json_path != ".metadata.creationTimestamp":
                assert json_path in paths, f"{file}: column {json_path} is not in the schema"


# --- structural schema ---------------------------------------------------------------------------

FORBIDDEN = {"$ref", "$defs", "anyOf", "oneOf", "allOf", "not", "title", "definitions"}


@pytest.mark.parametrize("file", [JOURNEY_FILE, PARTICIPANT_FILE])
def test_schema_is_structural(file: str) -> None:
    for path, node in walk(schema_of(committed(file))):
        assert not FORBIDDEN & set(node), f"{path}: {FORBIDDEN & set(node)}"
        assert "type" in node or node.get("x-kubernetes-preserve-unknown-fields"), path
        assert node.get("additionalProperties", {}) not in (True, False), path
        if "default" in node:
            assert node["default"] is not None, path
        if node.get("x-kubernetes-list-type") == "map":
            required = node["items"].get("required", [])
            assert set(node["x-kubernetes-list-map-keys"]) <= set(required), path


@pytest.mark.parametrize("file", [JOURNEY_FILE, PARTICIPANT_FILE])
def test_metadata_is_left_to_the_api_server(file: str) -> None:
    metadata = schema_of(committed(file))["properties"]["metadata"]
    assert metadata == {"type": "object", "properties": {"name": {"type": "string"}}}


@pytest.mark.parametrize("file", [JOURNEY_FILE, PARTICIPANT_FILE])
def test_spec_values_are_bounded(file: str) -> None:
    """Bounded sizes keep CEL cost estimates low and objects small."""
    spec = schema_of(committed(file))["properties"]["spec"]
    for path, node in walk(spec, ".spec"):
        if node.get("x-kubernetes-preserve-unknown-fields"):
            continue
        kind = node.get("type")
        if kind == "string" and node.get("format") != "date-time":
            assert "maxLength" in node, path
        if kind == "array":
            assert "maxItems" in node, path
        if kind == "object" and "additionalProperties" in node:
            assert "maxProperties" in node, path


def test_conditions_are_a_list_map_keyed_by_type() -> None:
    conditions = schema_of(committed(JOURNEY_FILE))["properties"]["status"]["properties"][
        "conditions"
    ]
    assert conditions["x-kubernetes-list-type"] == "map"
    assert conditions["x-kubernetes-list-map-keys"] == ["type"]
    assert conditions["items"]["properties"]["lastTransitionTime"]["format"] == "date-time"


def test_template_is_an_open_object_with_a_spec() -> None:
    template = schema_of(committed(JOURNEY_FILE))["properties"]["spec"]["properties"]["template"]
    assert template["type"] == "object"
    assert template["x-kubernetes-preserve-unknown-fields"] is True
    assert template["x-kubernetes-embedded-resource"] is False
    assert template["required"] == ["spec"]


def test_defaults_and_formats() -> None:
    spec = schema_of(committed(JOURNEY_FILE))["properties"]["spec"]
    properties = spec["properties"]
    assert spec["required"] == ["version", "template"]
    assert properties["state"]["default"] == "live"
    assert properties["state"]["enum"] == ["live", "closed", "stopped"]
    assert properties["drain"]["properties"]["timeout"]["default"] == "2184h"
    assert properties["drain"]["properties"]["timeout"]["pattern"]
    assert properties["halt"]["properties"]["policy"]["default"] == "Suspend"
    assert properties["entry"]["properties"]["maxParticipants"]["minimum"] == 1
    assert properties["entry"]["properties"]["maxParticipants"]["nullable"] is True
    assert properties["endAt"]["format"] == "date-time"
    assert properties["endAt"]["nullable"] is True
    assert properties["family"]["maxLength"] == 50
    # nested objects default to {} so the API server fills in their own defaults
    assert properties["drain"]["default"] == {}


# --- every model field is in the schema, and nothing else ----------------------------------------


def _model_of(annotation: Any) -> type[BaseModel] | None:
    """The pydantic model inside ``X``, ``X | None``, ``list[X]``, ``Annotated[X, ...]``."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _model_of(typing.get_args(annotation)[0])
    if origin in (list, typing.Union, types.UnionType):
        for arg in typing.get_args(annotation):
            found = _model_of(arg)
            if found is not None:
                return found
    return None


def _compare(model: type[BaseModel], node: Schema, path: str) -> list[str]:
    if node.get("type") == "array":
        node = node["items"]
    problems = []
    aliases = {(field.alias or name): field for name, field in model.model_fields.items()}
    in_schema = set(node.get("properties", {}))
    problems += [f"{path}.{a}: in the model, not in the schema" for a in aliases.keys() - in_schema]
    problems += [f"{path}.{a}: in the schema, not in the model" for a in in_schema - aliases.keys()]
    for alias, field in aliases.items():
        child = _model_of(field.annotation)
        if child is not None and alias in in_schema and alias != "metadata":
            problems += _compare(child, node["properties"][alias], f"{path}.{alias}")
    return problems


@pytest.mark.parametrize(
    ("model", "file"), [(Journey, JOURNEY_FILE), (Participant, PARTICIPANT_FILE)]
)
def test_schema_and_model_have_the_same_fields(model: type[BaseModel], file: str) -> None:
    assert _compare(model, schema_of(committed(file)), model.__name__) == []


# --- CEL: what the API server refuses by itself --------------------------------------------------

_CEL_TOKEN = re.compile(r"\s*(oldSelf|self|true|false|==|&&|\|\||\bin\b|\(|\)|\[|\]|,|'[a-z]+')")


def evaluate_transition_rule(rule: str, old: str, new: str) -> bool:
    """A tiny evaluator for the subset of CEL the state transition rule uses.

    The rule is tokenised and every token must belong to that subset; it is then evaluated as the
    equivalent Python expression (same precedence: ``==``/``in`` over ``&&`` over ``||``).
    """
    position, python = 0, []
    translate = {"&&": "and", "||": "or", "true": "True", "false": "False"}
    while position < len(rule):
        match = _CEL_TOKEN.match(rule, position)
        assert match is not None, f"unexpected CEL at {rule[position:]!r}"
        token = match.group(1)
        python.append(translate.get(token, token))
        position = match.end()
    result = eval(" ".join(python), {"__builtins__": {}}, {"self": new, "oldSelf": old})
    assert isinstance(result, bool)
    return result


def test_the_transition_rule_is_built_from_the_table() -> None:
    [rule] = rules_at(schema_of(committed(JOURNEY_FILE)), ".spec.state")
    assert rule["rule"] == state_transition_rule(LEGAL_STATE_TRANSITIONS)
    assert rule["message"] == STATE_TRANSITION_MESSAGE
    assert "cannot be resumed" in rule["message"]
    assert "new version" in rule["message"]


@pytest.mark.parametrize(("old", "new"), list(product(JourneyState, repeat=2)))
def test_the_api_server_allows_exactly_the_legal_transitions(
    old: JourneyState, new: JourneyState
) -> None:
    [rule] = rules_at(schema_of(committed(JOURNEY_FILE)), ".spec.state")
    legal = (old, new) in {
        ("live", "live"),
        ("live", "closed"),
        ("live", "stopped"),
        ("closed", "closed"),
        ("closed", "stopped"),
        ("stopped", "stopped"),
    }
    assert evaluate_transition_rule(rule["rule"], old.value, new.value) is legal


@pytest.mark.parametrize(
    "table",
    [
        frozenset(),
        frozenset({(JourneyState.LIVE, JourneyState.CLOSED)}),
        LEGAL_STATE_TRANSITIONS - {(JourneyState.STOPPED, JourneyState.STOPPED)},
        frozenset(product(JourneyState, repeat=2)),
    ],
)
def test_the_rule_builder_follows_any_table(
    table: frozenset[tuple[JourneyState, JourneyState]],
) -> None:
    rule = state_transition_rule(table)
    for old, new in product(JourneyState, repeat=2):
        assert evaluate_transition_rule(rule, old.value, new.value) is ((old, new) in table)


@pytest.mark.parametrize(
    ("file", "path", "says"),
    [
        (JOURNEY_FILE, ".spec.version", "create a new version"),
        (JOURNEY_FILE, ".spec.template", "create a new version"),
        (PARTICIPANT_FILE, ".spec.journey", "create a new Participant"),
        (PARTICIPANT_FILE, ".spec.profile", "create a new Participant"),
    ],
)
def test_immutable_fields(file: str, path: str, says: str) -> None:
    [rule] = rules_at(schema_of(committed(file)), path)
    assert rule["rule"] == "self == oldSelf"
    assert "immutable" in rule["message"]
    assert says in rule["message"]


def test_family_may_only_be_filled_in_with_its_default() -> None:
    root_rules = rules_at(schema_of(committed(JOURNEY_FILE)), "")
    family_rules = [r for r in root_rules if r.get("fieldPath") == ".spec.family"]
    immutable = next(r for r in family_rules if "oldSelf" in r["rule"])
    # the effective family (spec.family, or the name without -v<N>) of old and new must match
    assert "has(self.spec.family)" in immutable["rule"]
    assert "has(oldSelf.spec.family)" in immutable["rule"]
    assert "lastIndexOf('-v')" in immutable["rule"]
    assert "duplicate" in immutable["message"]


@pytest.mark.parametrize("file", [JOURNEY_FILE, PARTICIPANT_FILE])
def test_names_are_limited_to_63_characters(file: str) -> None:
    root_rules = rules_at(schema_of(committed(file)), "")
    assert any(r["rule"] == "self.metadata.name.size() <= 63" for r in root_rules)


def test_attribute_keys_are_checked_by_the_api_server() -> None:
    attributes = dict(walk(schema_of(committed(PARTICIPANT_FILE))))[".spec.attributes"]
    assert attributes["maxProperties"] == 64
    assert attributes["additionalProperties"]["maxLength"] == 4096
    [rule] = attributes["x-kubernetes-validations"]
    assert "k.size() <= 63" in rule["rule"]
    assert "^[A-Za-z_][A-Za-z0-9_]*$" in rule["rule"]


def test_docs_quote_every_refusal_message() -> None:
    docs = (CRDS_DIR.parent / "docs" / "api.md").read_text(encoding="utf-8")
    for file in (JOURNEY_FILE, PARTICIPANT_FILE):
        for path, node in walk(schema_of(committed(file))):
            for rule in node.get("x-kubernetes-validations", []):
                assert rule["message"] in docs, f"docs/api.md lacks the message of {path}"


# --- the converter refuses what it cannot express ------------------------------------------------


class _Union(BaseModel):
    value: int | str = Field(description="either")


class _Open(BaseModel):
    value: dict[str, Any] = Field(description="open without preserve-unknown-fields")


class _Fine(BaseModel):
    """Docstring, wrapped
    over lines."""

    value: int | None = Field(default=None, ge=1, description="optional")


def test_converter_refuses_unions() -> None:
    with pytest.raises(crds.SchemaError, match="union"):
        crds.structural_schema(_Union)


def test_converter_refuses_open_objects_without_preserve_unknown_fields() -> None:
    with pytest.raises(crds.SchemaError, match="preserve-unknown-fields"):
        crds.structural_schema(_Open)


def test_converter_turns_optional_into_nullable() -> None:
    schema = crds.structural_schema(_Fine)
    assert schema["description"] == "Docstring, wrapped over lines."
    assert schema["properties"]["value"] == {
        "type": "integer",
        "minimum": 1,
        "nullable": True,
        "description": "optional",
    }
