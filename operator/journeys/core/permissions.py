"""Which permissions a change of a journey needs, beyond RBAC's verb on the request (pure).

The same decision as the ValidatingAdmissionPolicies of :mod:`journeys.api.policies`, in Python,
for the webhook where the policy API is missing (it asks the authorizer with a
SubjectAccessReview) and for the front ends (they ask with a SelfSubjectAccessReview before a
confirmation dialog). Each guard of :data:`journeys.api.policies.GUARDS` has its predicate here;
a unit test keeps the two lists equal, and the guards are checked in the policy's order, so the
first refusal is the one the API server would give.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from journeys.api import JourneyState
from journeys.api.policies import GUARDS, Guard, Permission


@dataclass(frozen=True)
class Change:
    """One admission request on a journey, as the guards see it."""

    operation: str  # CREATE | UPDATE | DELETE
    old_spec: Mapping[str, Any]
    new_spec: Mapping[str, Any]


def _state(spec: Mapping[str, Any]) -> str:
    value = spec.get("state")
    return value if isinstance(value, str) else JourneyState.LIVE.value


def _text(value: Any) -> Any:
    """A field as the policy's ``.orValue('')`` sees it: absent is ``''``."""
    return "" if value is None else value


def _drain_timeout(spec: Mapping[str, Any]) -> Any:
    drain = spec.get("drain")
    return _text(drain.get("timeout")) if isinstance(drain, Mapping) else ""


def _becomes(state: JourneyState) -> Callable[[Change], bool]:
    def predicate(change: Change) -> bool:
        return (
            change.operation == "UPDATE"
            and _state(change.new_spec) == state.value
            and _state(change.old_spec) != state.value
        )

    return predicate


#: Guard key -> when a request needs that guard's permission (the CEL ``condition``).
PREDICATES: Final[Mapping[str, Callable[[Change], bool]]] = {
    "create": lambda change: change.operation == "CREATE",
    "close": _becomes(JourneyState.CLOSED),
    "stop": _becomes(JourneyState.STOPPED),
    "endAt": lambda change: (
        change.operation == "UPDATE"
        and _text(change.new_spec.get("endAt")) != _text(change.old_spec.get("endAt"))
    ),
    "drainTimeout": lambda change: (
        change.operation == "UPDATE"
        and _drain_timeout(change.new_spec) != _drain_timeout(change.old_spec)
    ),
}


@dataclass(frozen=True)
class Question:
    """What to ask the authorizer about one request, and what to answer if it says no."""

    guard: Guard
    namespace: str
    name: str

    @property
    def permission(self) -> Permission:
        return self.guard.permission

    def attributes(self) -> dict[str, str]:
        """``resourceAttributes`` of a (Self)SubjectAccessReview."""
        return resource_attributes(self.permission, self.namespace, self.name)

    def refusal(self, user: str) -> str:
        return self.guard.message(user=user, namespace=self.namespace, name=self.name)


def resource_attributes(permission: Permission, namespace: str, name: str = "") -> dict[str, str]:
    """The authorizer's attributes for ``permission`` in ``namespace`` (on ``name`` if named)."""
    attributes = {
        "namespace": namespace,
        "verb": permission.verb,
        "group": permission.group,
        "resource": permission.resource,
    }
    if permission.named and name:
        attributes["name"] = name
    return attributes


def questions(change: Change, namespace: str, name: str) -> tuple[Question, ...]:
    """The permissions ``change`` needs, in the policy's order (empty: RBAC's verb suffices)."""
    return tuple(
        Question(guard, namespace, name) for guard in GUARDS if PREDICATES[guard.key](change)
    )


def subject_access_review(question: Question, userinfo: Mapping[str, Any]) -> dict[str, Any]:
    """A SubjectAccessReview asking ``question`` about the admission request's user."""
    spec: dict[str, Any] = {
        "resourceAttributes": question.attributes(),
        "user": str(userinfo.get("username") or ""),
    }
    if userinfo.get("uid"):
        spec["uid"] = str(userinfo["uid"])
    groups: Sequence[Any] = userinfo.get("groups") or ()
    if groups:
        spec["groups"] = [str(g) for g in groups]
    extra: Mapping[str, Any] = userinfo.get("extra") or {}
    if extra:
        spec["extra"] = {str(k): [str(v) for v in values] for k, values in extra.items()}
    return {
        "apiVersion": "authorization.k8s.io/v1",
        "kind": "SubjectAccessReview",
        "spec": spec,
    }
