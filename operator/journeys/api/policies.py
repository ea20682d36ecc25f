"""Who may do what with journeys: admission policies and roles, generated like the CRDs.

Two rules close the gaps that RBAC on ``journeys`` alone leaves open:

- **No escalation through a journey.** A journey's template runs as Jobs that the operator
  creates, so creating a Journey requires permission to create Jobs in its namespace.
- **Close and Stop are permissions of their own**, custom verbs on ``journeys`` (as ``approve``
  on ``signers`` is for certificate signing requests): a change that ends a journey needs the
  verb, ``patch`` alone does not.

Both are checked by the API server itself, in ValidatingAdmissionPolicies whose CEL asks the
authorizer about the requesting user, so they hold while the operator and its webhook are down.
The webhook gives the same answer from a SubjectAccessReview where the policy API is missing
(:mod:`journeys.core.permissions` decides which permissions a request needs; the wording is here
once, as templates that render to CEL for the policy and to text for the webhook). The roles
that map the product's personas are generated from the same verbs. Usage::

    python -m journeys.api.policies --write manifests/   # regenerate (make crds)
    python -m journeys.api.policies --check manifests/   # exit 1 if the files are stale
"""

from __future__ import annotations

import string
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import yaml

from journeys.api import GROUP, JOURNEY_PLURAL, PARTICIPANT_PLURAL, VERSION, JourneyState
from journeys.api.cel import cel_string
from journeys.api.generated import generator_main, stale_files, write_files

__all__ = [
    "AUTHOR_POLICY",
    "CLOSE",
    "CLOSE_VERB",
    "ENDINGS_POLICY",
    "GUARDS",
    "JOB_CREATE",
    "STOP",
    "STOP_VERB",
    "Guard",
    "Permission",
    "check",
    "generated_files",
    "main",
    "policies",
    "roles",
    "write",
]

Manifest = dict[str, Any]

#: The custom verbs on ``journeys`` (RBAC accepts any verb; the authorizer checks them).
CLOSE_VERB: Final = "close"
STOP_VERB: Final = "stop"

AUTHOR_POLICY: Final = f"journey-authors.{GROUP}"
ENDINGS_POLICY: Final = f"journey-endings.{GROUP}"

_SECURITY_DOC: Final = "docs/security.md"
_PART_OF: Final = {"app.kubernetes.io/part-of": "journeys"}


@dataclass(frozen=True)
class Permission:
    """One authorizer question: may the user ``verb`` ``resource`` (in ``group``)?

    ``named`` asks about the request's own object (``journeys/welcome-v1``), so that a
    RoleBinding to a role with ``resourceNames`` can grant Stop for one journey.
    """

    verb: str
    group: str
    resource: str
    named: bool = False

    @property
    def spelled(self) -> str:
        """``create jobs.batch``, ``stop journeys.journeys.dev``: as RBAC and kubectl spell it."""
        return f"{self.verb} {self.resource}.{self.group}"


JOB_CREATE: Final = Permission("create", "batch", "jobs")
CLOSE: Final = Permission(CLOSE_VERB, GROUP, JOURNEY_PLURAL, named=True)
STOP: Final = Permission(STOP_VERB, GROUP, JOURNEY_PLURAL, named=True)


@dataclass(frozen=True)
class Guard:
    """A kind of change, the permission it needs, and the refusal when that is missing.

    ``condition`` is CEL over ``object``/``oldObject`` and the policy's variables; the pure
    mirror that the webhook uses is :func:`journeys.core.permissions.required_guards`.
    ``refusal`` is a :meth:`str.format` template over ``user``, ``namespace`` and ``name``;
    it renders to the policy's ``messageExpression`` and to the webhook's text alike.
    """

    key: str
    permission: Permission
    condition: str
    refusal: str

    def message(self, *, user: str, namespace: str, name: str) -> str:
        """The refusal for one request (what the webhook says)."""
        return self.refusal.format(user=user, namespace=namespace, name=name)


def _can_i(permission: Permission) -> str:
    """The command that answers the same question for oneself (a template, like the refusal)."""
    if permission.named:
        target = f"{permission.resource}/{{name}}"
    else:
        target = f"{permission.resource}.{permission.group}"
    return f"kubectl auth can-i {permission.verb} {target} -n {{namespace}}"


_CREATE_REFUSAL: Final = (
    "user {user} may not create journeys in namespace {namespace}: a journey's participants "
    "run as Jobs built from its template, so creating one (also with kubectl journey "
    f"new-version or duplicate) requires permission to {JOB_CREATE.spelled} in namespace "
    f"{{namespace}} ({_can_i(JOB_CREATE)}); see {_SECURITY_DOC}"
)


def _ending_refusal(permission: Permission, what: str, why: str) -> str:
    return (
        f"user {{user}} may not {what} journey {{name}} in namespace {{namespace}}: {why} "
        f"requires the verb {permission.verb} on {JOURNEY_PLURAL}.{GROUP} "
        f"({_can_i(permission)}); patch alone does not end a journey; see "
        f"{_SECURITY_DOC}"
    )


_CLOSED = cel_string(JourneyState.CLOSED.value)
_STOPPED = cel_string(JourneyState.STOPPED.value)

#: Every guarded change, in the order the policy checks them.
GUARDS: Final[tuple[Guard, ...]] = (
    Guard(
        "create",
        JOB_CREATE,
        "request.operation == 'CREATE'",
        _CREATE_REFUSAL,
    ),
    Guard(
        "close",
        CLOSE,
        f"variables.newState == {_CLOSED} && variables.oldState != {_CLOSED}",
        _ending_refusal(CLOSE, "close", "closing a journey"),
    ),
    Guard(
        "stop",
        STOP,
        f"variables.newState == {_STOPPED} && variables.oldState != {_STOPPED}",
        _ending_refusal(STOP, "stop", "stopping a journey"),
    ),
    Guard(
        "endAt",
        STOP,
        "variables.newEndAt != variables.oldEndAt",
        _ending_refusal(
            STOP, "change spec.endAt of", "spec.endAt stops the journey when it passes, so it"
        ),
    ),
    Guard(
        "drainTimeout",
        STOP,
        "variables.newDrainTimeout != variables.oldDrainTimeout",
        _ending_refusal(
            STOP,
            "change spec.drain.timeout of",
            "spec.drain.timeout decides when the participants still inside are halted, so it",
        ),
    ),
)

#: The policy's variables: the fields the guards compare, with the CRD's defaults.
_VARIABLES: Final = {
    "oldState": f"oldObject.spec.?state.orValue({cel_string(JourneyState.LIVE.value)})",
    "newState": f"object.spec.?state.orValue({cel_string(JourneyState.LIVE.value)})",
    "oldEndAt": "oldObject.spec.?endAt.orValue('')",
    "newEndAt": "object.spec.?endAt.orValue('')",
    "oldDrainTimeout": "oldObject.spec.?drain.?timeout.orValue('')",
    "newDrainTimeout": "object.spec.?drain.?timeout.orValue('')",
}

#: What the refusal templates' fields are in CEL.
CEL_FIELDS: Final = {
    "user": "request.userInfo.username",
    "namespace": "request.namespace",
    "name": "request.name",
}


def cel_message(template: str) -> str:
    """A :meth:`str.format` template as a CEL string expression over the admission request."""
    parts: list[str] = []
    for literal, field, _, _ in string.Formatter().parse(template):
        if literal:
            parts.append(cel_string(literal))
        if field is not None:
            parts.append(CEL_FIELDS[field])
    return " + ".join(parts)


def _authorizer(permission: Permission) -> str:
    check = (
        f"authorizer.group({cel_string(permission.group)})"
        f".resource({cel_string(permission.resource)})"
        ".namespace(request.namespace)"
    )
    if permission.named:
        check += ".name(request.name)"
    return f"{check}.check({cel_string(permission.verb)}).allowed()"


def _validation(guard: Guard) -> Manifest:
    return {
        "expression": f"!({guard.condition}) || {_authorizer(guard.permission)}",
        "messageExpression": cel_message(guard.refusal),
        "reason": "Forbidden",
    }


def _policy(name: str, description: str, operations: list[str], guards: list[Guard]) -> Manifest:
    spec: Manifest = {
        "failurePolicy": "Fail",
        "matchConstraints": {
            "resourceRules": [
                {
                    "apiGroups": [GROUP],
                    "apiVersions": [VERSION],
                    "operations": operations,
                    "resources": [JOURNEY_PLURAL],
                }
            ]
        },
        "validations": [_validation(guard) for guard in guards],
    }
    used = {v for v in _VARIABLES if any(f"variables.{v}" in g.condition for g in guards)}
    if used:
        spec["variables"] = [
            {"name": var, "expression": expr} for var, expr in _VARIABLES.items() if var in used
        ]
    return {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingAdmissionPolicy",
        "metadata": {
            "name": name,
            "labels": dict(_PART_OF),
            "annotations": {"journeys.dev/description": description},
        },
        "spec": spec,
    }


def _binding(policy: str) -> Manifest:
    return {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingAdmissionPolicyBinding",
        "metadata": {"name": policy, "labels": dict(_PART_OF)},
        "spec": {"policyName": policy, "validationActions": ["Deny"]},
    }


def policies() -> list[Manifest]:
    """The two policies and their bindings (every namespace)."""
    creating = [g for g in GUARDS if g.key == "create"]
    ending = [g for g in GUARDS if g.key != "create"]
    return [
        _policy(
            AUTHOR_POLICY,
            "Creating a Journey requires permission to create Jobs in its namespace.",
            ["CREATE"],
            creating,
        ),
        _binding(AUTHOR_POLICY),
        _policy(
            ENDINGS_POLICY,
            "Closing a Journey requires the verb close on it; stopping it (or changing what "
            "stops it: spec.endAt, spec.drain.timeout) requires the verb stop.",
            ["UPDATE"],
            ending,
        ),
        _binding(ENDINGS_POLICY),
    ]


# --- Roles ---------------------------------------------------------------------------------------

_READ: Final = ["get", "list", "watch"]
_WRITE: Final = ["create", "update", "patch", "delete", "deletecollection"]
_AGGREGATE: Final = "rbac.authorization.k8s.io/aggregate-to-"


def _rule(resources: list[str], verbs: list[str], group: str = GROUP) -> Manifest:
    return {"apiGroups": [group], "resources": resources, "verbs": verbs}


def _role(name: str, rules: list[Manifest], aggregate_to: Sequence[str] = ()) -> Manifest:
    labels = {**_PART_OF, **{f"{_AGGREGATE}{role}": "true" for role in aggregate_to}}
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole",
        "metadata": {"name": name, "labels": labels},
        "rules": rules,
    }


#: The ClusterRoles' names, for the docs and the tests.
VIEW_ROLE: Final = "journeys-view"
EDIT_ROLE: Final = "journeys-edit"
ENROLLER_ROLE: Final = "journeys-enroller"
CLOSER_ROLE: Final = "journeys-closer"
STOPPER_ROLE: Final = "journeys-stopper"
AUTHOR_ROLE: Final = "journeys-author"


def roles() -> list[Manifest]:
    """Aggregated roles (the cluster's view/edit/admin pick them up) and the personas' roles.

    Aggregation follows Kubernetes' own: what ``view`` gets, ``edit`` and ``admin`` get too;
    what ``edit`` gets, ``admin`` gets too. A persona role is bound with a RoleBinding in the
    namespaces where that person works.
    """
    both = [JOURNEY_PLURAL, PARTICIPANT_PLURAL]
    read = _rule(both, _READ)
    return [
        _role(VIEW_ROLE, [read], aggregate_to=("view", "edit", "admin")),
        # Namespace editors may already create Jobs and delete them: Close and Stop add
        # nothing they could not do otherwise.
        _role(
            EDIT_ROLE,
            [_rule(both, _WRITE), _rule([JOURNEY_PLURAL], [CLOSE_VERB, STOP_VERB])],
            aggregate_to=("edit", "admin"),
        ),
        _role(ENROLLER_ROLE, [read, _rule([PARTICIPANT_PLURAL], ["create"])]),
        _role(CLOSER_ROLE, [read, _rule([JOURNEY_PLURAL], ["patch", CLOSE_VERB])]),
        _role(STOPPER_ROLE, [read, _rule([JOURNEY_PLURAL], ["patch", STOP_VERB])]),
        _role(
            AUTHOR_ROLE,
            [
                read,
                _rule([JOURNEY_PLURAL], ["create", "update", "patch", "delete"]),
                # Authoring a journey is running its template as Jobs: said here, not implied.
                _rule(["jobs"], [*_READ, "create"], group="batch"),
            ],
        ),
    ]


# --- Files ---------------------------------------------------------------------------------------

_HEADER: Final = (
    "# Generated from operator/journeys/api/policies.py by `python -m journeys.api.policies "
    "--write manifests/`\n# (make crds). DO NOT EDIT: change the generator and regenerate. "
    f"{_SECURITY_DOC} explains them.\n"
)

#: Path under ``manifests/`` -> the objects in that file.
FILES: Final = {
    "policies/admission-policies.yaml": policies,
    "rbac/user-roles.yaml": roles,
}


def render(objects: Sequence[Mapping[str, Any]]) -> str:
    """The YAML text of a file of objects, stable across runs."""
    body = "".join(
        "---\n" + yaml.safe_dump(dict(obj), sort_keys=True, allow_unicode=True, width=100)
        for obj in objects
    )
    return _HEADER + body


def generated_files() -> dict[str, str]:
    """Path under ``manifests/`` -> content."""
    return {path: render(build()) for path, build in FILES.items()}


def write(manifests: Path) -> list[Path]:
    """Write every generated file under ``manifests``; returns the paths written."""
    return write_files(manifests, generated_files())


def check(manifests: Path) -> list[str]:
    """Paths under ``manifests`` that are missing or differ from the generated ones."""
    return stale_files(manifests, generated_files())


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: ``--write DIR`` or ``--check DIR`` (DIR is ``manifests/``)."""
    return generator_main(
        argv,
        prog="python -m journeys.api.policies",
        description="Generate the journeys.dev admission policies and roles.",
        what="policies and roles",
        files=generated_files,
    )


if __name__ == "__main__":
    sys.exit(main())
