"""What a participant's attributes and profile can reach in its Job's environment.

Whoever may create a Participant chooses its profile and attributes, nothing else of the Job: they
never replace the template's own variables nor the reserved JOURNEY_* ones, and a ``$(VAR)`` in
them stays text instead of being expanded by the kubelet into another variable's value.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from journeys.api import Journey, Participant
from journeys.core.jobs import build_job

RESERVED = {"JOURNEY_PROFILE", "JOURNEY_NAME", "JOURNEY_FAMILY", "JOURNEY_VERSION"}
RESERVED |= {"JOURNEY_PARTICIPANT"}


def job_env(
    template_env: list[dict[str, Any]], profile: str, attributes: dict[str, str]
) -> list[list[dict[str, Any]]]:
    """Each container's env (init containers first) for a template with ``template_env``."""
    container = {"name": "step", "image": "step:1", "env": template_env}
    journey = Journey.model_validate(
        {
            "metadata": {"name": "welcome-v1", "namespace": "team", "uid": "j"},
            "spec": {
                "version": 1,
                "template": {
                    "spec": {
                        "template": {
                            "spec": {
                                "initContainers": [{**container, "name": "init"}],
                                "containers": [container],
                            }
                        }
                    }
                },
            },
        }
    )
    participant = Participant.model_validate(
        {
            "metadata": {"name": "welcome-mallory", "namespace": "team", "uid": "p"},
            "spec": {"journey": "welcome-v1", "profile": profile, "attributes": attributes},
        }
    )
    pod = build_job(journey, participant)["spec"]["template"]["spec"]
    return [c["env"] for c in [*pod["initContainers"], *pod["containers"]]]


def expand(env: list[dict[str, Any]]) -> dict[str, str]:
    """The kubelet's expansion of ``env`` (documented in the Pod API: a ``$(NAME)`` of a variable
    defined earlier is replaced by its value, ``$$`` yields ``$``, anything else stays)."""
    resolved: dict[str, str] = {}

    def one(value: str) -> str:
        def replace(match: re.Match[str]) -> str:
            if match.group(0) == "$$":
                return "$"
            name = match.group(1)
            return resolved.get(name, match.group(0))

        return re.sub(r"\$\$|\$\(([A-Za-z_][A-Za-z0-9_]*)\)", replace, value)

    for item in env:
        value = item["value"] if "value" in item else f"<from {item['valueFrom']}>"
        resolved[item["name"]] = one(value)
    return resolved


TEMPLATE_ENV = [
    {"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "db", "key": "password"}}},
    {"name": "GREETING", "value": "hello"},
    {"name": "JOURNEY_ATTR_MODE", "value": "safe"},  # the template's own, in the attributes' space
    {"name": "JOURNEY_PROFILE", "value": "spoofed-by-the-author"},
]


@pytest.mark.parametrize("value", ["$(DB_PASSWORD)", "$(GREETING)", "a$$b", "$$(X)", "$5", "$"])
def test_attributes_and_profile_arrive_verbatim(value: str) -> None:
    for env in job_env(TEMPLATE_ENV, profile=value, attributes={"NAME": value}):
        seen = expand(env)
        assert seen["JOURNEY_PROFILE"] == value
        assert seen["JOURNEY_ATTR_NAME"] == value


def test_attributes_never_replace_the_templates_variables() -> None:
    attributes = {"MODE": "unsafe", "PLAN": "gold"}
    for env in job_env(TEMPLATE_ENV, profile="mallory", attributes=attributes):
        names = [item["name"] for item in env]
        assert len(names) == len(set(names)), names  # one definition each: no "last one wins"
        seen = expand(env)
        assert seen["JOURNEY_ATTR_MODE"] == "safe"
        assert seen["JOURNEY_ATTR_PLAN"] == "gold"
        assert seen["GREETING"] == "hello"
        assert seen["DB_PASSWORD"].startswith("<from")


def test_the_reserved_variables_are_the_operators() -> None:
    """Attribute keys are prefixed, so no key can name a reserved variable; the template's own
    JOURNEY_PROFILE gives way to the real profile."""
    keys = {name.removeprefix("JOURNEY_") for name in RESERVED}
    for env in job_env(TEMPLATE_ENV, profile="mallory", attributes=dict.fromkeys(keys, "x")):
        seen = expand(env)
        assert {
            "JOURNEY_PROFILE": "mallory",
            "JOURNEY_NAME": "welcome-v1",
            "JOURNEY_FAMILY": "welcome",
            "JOURNEY_VERSION": "1",
            "JOURNEY_PARTICIPANT": "welcome-mallory",
        }.items() <= seen.items()
        assert all(seen[f"JOURNEY_ATTR_{key}"] == "x" for key in keys)
