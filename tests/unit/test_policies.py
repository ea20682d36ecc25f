"""The admission policies and roles: generated, complete, and decided the same way in Python.

The real API server evaluates the CEL (tests/integration/test_security.py); here: the committed
files are the generated ones, every guard has its Python mirror, the refusal templates render
to the same words in CEL and in Python, and the roles grant what docs/security.md says.
"""

from __future__ import annotations

import re
import string
from itertools import product
from pathlib import Path
from typing import Any

import pytest
import yaml

from journeys.actions import permissions as actions_permissions
from journeys.api import JourneyState, policies
from journeys.core import permissions
from journeys.core.permissions import Change, questions, subject_access_review
from journeys.runtime.kube import KubeError
from journeys.webhooks import access

ROOT = Path(__file__).resolve().parents[2]
MANIFESTS = ROOT / "manifests"
STATES = [s.value for s in JourneyState]


def test_the_committed_files_are_the_generated_ones() -> None:
    assert policies.check(MANIFESTS) == [], "run `make crds`"


def test_check_names_a_stale_file(tmp_path: Path) -> None:
    policies.write(tmp_path)
    assert policies.check(tmp_path) == []
    (tmp_path / "rbac/user-roles.yaml").write_text("# edited\n")
    assert policies.check(tmp_path) == ["rbac/user-roles.yaml"]
    assert policies.main(["--check", str(tmp_path)]) == 1


def test_the_generated_files_are_installed_by_kustomize() -> None:
    base = yaml.safe_load((MANIFESTS / "kustomization.yaml").read_text())["resources"]
    assert "policies" in base
    for relative in policies.FILES:
        folder, name = relative.split("/")
        kustomization = yaml.safe_load((MANIFESTS / folder / "kustomization.yaml").read_text())
        assert name in kustomization["resources"], relative


def test_every_guard_has_its_python_mirror() -> None:
    assert [g.key for g in policies.GUARDS] == list(permissions.PREDICATES)


def test_every_policy_is_bound_and_denies() -> None:
    objects = policies.policies()
    names = {o["metadata"]["name"] for o in objects if o["kind"] == "ValidatingAdmissionPolicy"}
    bindings = [o for o in objects if o["kind"] == "ValidatingAdmissionPolicyBinding"]
    assert {b["spec"]["policyName"] for b in bindings} == names
    assert all(b["spec"]["validationActions"] == ["Deny"] for b in bindings)
    for policy in (o for o in objects if o["kind"] == "ValidatingAdmissionPolicy"):
        assert policy["spec"]["failurePolicy"] == "Fail"
        declared = {v["name"] for v in policy["spec"].get("variables", [])}
        for validation in policy["spec"]["validations"]:
            used = set(re.findall(r"variables\.(\w+)", validation["expression"]))
            assert used <= declared, validation["expression"]


@pytest.mark.parametrize("guard", policies.GUARDS, ids=lambda g: g.key)
def test_the_refusal_renders_alike_in_cel_and_in_python(guard: policies.Guard) -> None:
    """Substituting the request's fields into the CEL concatenation gives the Python text."""
    fields = {"user": "system:serviceaccount:ns:marketing", "namespace": "ns", "name": "w-v1"}
    expression = policies.cel_message(guard.refusal)
    pieces = []
    for piece in expression.split(" + "):
        cel_field = {v: k for k, v in policies.CEL_FIELDS.items()}.get(piece)
        if cel_field is not None:
            pieces.append(fields[cel_field])
        else:
            assert piece.startswith("'") and piece.endswith("'"), piece
            pieces.append(piece[1:-1].replace("\\'", "'").replace("\\\\", "\\"))
    assert "".join(pieces) == guard.message(**fields)


@pytest.mark.parametrize("guard", policies.GUARDS, ids=lambda g: g.key)
def test_the_refusal_names_user_permission_namespace_and_the_way_to_ask(
    guard: policies.Guard,
) -> None:
    text = guard.message(user="alice", namespace="team-a", name="welcome-v1")
    assert "user alice" in text and "team-a" in text
    permission = guard.permission
    assert permission.verb in text and permission.resource in text
    asked = f"kubectl auth can-i {permission.verb} "
    target = "journeys/welcome-v1" if permission.named else f"{permission.resource}.batch"
    assert f"{asked}{target} -n team-a" in text
    fields = {f for _, f, _, _ in string.Formatter().parse(guard.refusal) if f}
    assert fields <= set(policies.CEL_FIELDS)


def _spec(state: str | None = None, **extra: Any) -> dict[str, Any]:
    spec: dict[str, Any] = dict(extra)
    if state is not None:
        spec["state"] = state
    return spec


def _verbs(change: Change) -> list[str]:
    return [q.permission.verb for q in questions(change, "ns", "w-v1")]


def test_creating_a_journey_needs_create_jobs_and_nothing_else() -> None:
    for state in STATES:
        change = Change("CREATE", {}, _spec(state, endAt="2030-01-01T00:00:00Z"))
        (question,) = questions(change, "ns", "w-v1")
        assert question.permission == policies.JOB_CREATE
        assert question.attributes() == {
            "namespace": "ns",
            "verb": "create",
            "group": "batch",
            "resource": "jobs",
        }


@pytest.mark.parametrize(("old", "new"), list(product([*STATES, None], repeat=2)))
def test_each_state_change_needs_its_verb(old: str | None, new: str | None) -> None:
    """Absent is live (the CRD's default), as in the policy's ``orValue('live')``."""
    effective_old, effective_new = old or "live", new or "live"
    expected = []
    if effective_new != effective_old and effective_new == "closed":
        expected = ["close"]
    if effective_new != effective_old and effective_new == "stopped":
        expected = ["stop"]
    assert _verbs(Change("UPDATE", _spec(old), _spec(new))) == expected


def test_what_else_ends_a_journey_needs_stop() -> None:
    live = _spec("live", endAt="2030-01-01T00:00:00Z", drain={"timeout": "24h"})
    assert _verbs(Change("UPDATE", live, {**live, "endAt": "2020-01-01T00:00:00Z"})) == ["stop"]
    assert _verbs(Change("UPDATE", live, {k: v for k, v in live.items() if k != "endAt"})) == [
        "stop"
    ]
    assert _verbs(Change("UPDATE", live, {**live, "drain": {"timeout": "0s"}})) == ["stop"]
    assert _verbs(Change("UPDATE", live, {**live, "drain": {}})) == ["stop"]
    # Closing and shortening the drain at once asks for both, close first (the policy's order).
    both = {**live, "state": "closed", "drain": {"timeout": "1s"}}
    assert _verbs(Change("UPDATE", live, both)) == ["close", "stop"]


def test_changes_that_end_nothing_need_no_verb() -> None:
    live = _spec("live", drain={"timeout": "24h"}, halt={"policy": "Suspend"})
    for changed in (
        {**live, "stopReason": "later"},
        {**live, "entry": {"maxParticipants": 10}},
        {**live, "halt": {"policy": "Delete"}},
        live,
    ):
        assert _verbs(Change("UPDATE", live, changed)) == []
    assert _verbs(Change("DELETE", live, live)) == []


def test_the_questions_name_the_journey_for_its_verbs() -> None:
    (question,) = questions(Change("UPDATE", _spec("live"), _spec("stopped")), "ns", "w-v1")
    assert question.attributes() == {
        "namespace": "ns",
        "verb": "stop",
        "group": "journeys.dev",
        "resource": "journeys",
        "name": "w-v1",
    }
    assert question.refusal("bob").startswith("user bob may not stop journey w-v1 in namespace ns")


def test_the_subject_access_review_carries_the_whole_user() -> None:
    (question,) = questions(Change("CREATE", {}, _spec()), "ns", "w-v1")
    review = subject_access_review(
        question,
        {
            "username": "system:serviceaccount:ns:app",
            "uid": "1234",
            "groups": ["system:serviceaccounts", "system:authenticated"],
            "extra": {"authentication.kubernetes.io/pod-name": ["app-0"]},
        },
    )
    assert review["kind"] == "SubjectAccessReview"
    assert review["spec"] == {
        "resourceAttributes": question.attributes(),
        "user": "system:serviceaccount:ns:app",
        "uid": "1234",
        "groups": ["system:serviceaccounts", "system:authenticated"],
        "extra": {"authentication.kubernetes.io/pod-name": ["app-0"]},
    }
    bare = subject_access_review(question, {"username": "alice"})
    assert bare["spec"] == {"resourceAttributes": question.attributes(), "user": "alice"}


# --- Roles ---------------------------------------------------------------------------------------


def _grants(role: str) -> set[tuple[str, str, str]]:
    found = next(r for r in policies.roles() if r["metadata"]["name"] == role)
    return {
        (group, resource, verb)
        for rule in found["rules"]
        for group in rule["apiGroups"]
        for resource in rule["resources"]
        for verb in rule["verbs"]
    }


J, P = ("journeys.dev", "journeys"), ("journeys.dev", "participants")


def test_the_personas_get_exactly_their_verbs() -> None:
    def on(target: tuple[str, str], *verbs: str) -> set[tuple[str, str, str]]:
        return {(*target, verb) for verb in verbs}

    read = on(J, "get", "list", "watch") | on(P, "get", "list", "watch")
    assert _grants(policies.ENROLLER_ROLE) == read | on(P, "create")
    assert _grants(policies.CLOSER_ROLE) == read | on(J, "patch", "close")
    assert _grants(policies.STOPPER_ROLE) == read | on(J, "patch", "stop")
    assert _grants(policies.AUTHOR_ROLE) == (
        read
        | on(J, "create", "update", "patch", "delete")
        | on(("batch", "jobs"), "get", "list", "watch", "create")
    )
    assert _grants(policies.VIEW_ROLE) == read
    edit = _grants(policies.EDIT_ROLE)
    assert on(J, "close", "stop", "create", "patch", "delete") | on(P, "create") <= edit
    assert not any(resource.endswith("/status") for _, resource, _ in edit)


def test_aggregation_follows_kubernetes_own_roles() -> None:
    labels = {r["metadata"]["name"]: r["metadata"]["labels"] for r in policies.roles()}
    prefix = "rbac.authorization.k8s.io/aggregate-to-"

    def aggregated(role: str) -> set[str]:
        return {k.removeprefix(prefix) for k in labels[role] if k.startswith(prefix)}

    assert aggregated(policies.VIEW_ROLE) == {"view", "edit", "admin"}
    assert aggregated(policies.EDIT_ROLE) == {"edit", "admin"}
    for persona in (
        policies.ENROLLER_ROLE,
        policies.CLOSER_ROLE,
        policies.STOPPER_ROLE,
        policies.AUTHOR_ROLE,
    ):
        assert aggregated(persona) == set(), persona


def test_the_docs_table_lists_every_role() -> None:
    doc = (ROOT / "docs/security.md").read_text(encoding="utf-8")
    for role in policies.roles():
        assert f"`{role['metadata']['name']}`" in doc


# --- The webhook's side, where the policy API is missing -----------------------------------------


class FakeKube:
    """Answers discovery and SubjectAccessReviews; records the reviews asked."""

    def __init__(self, allowed: set[str], served: bool = True) -> None:
        self.allowed, self.served = allowed, served
        self.reviews: list[dict[str, Any]] = []

    async def request(self, method: str, path: str, body: Any = None) -> dict[str, Any]:
        if path == access.POLICY_API:
            if not self.served:
                raise KubeError(404, "NotFound", "the server could not find the resource")
            return {"resources": [{"name": "validatingadmissionpolicies"}]}
        assert (method, path) == ("POST", access.REVIEWS)
        self.reviews.append(body)
        verb = body["spec"]["resourceAttributes"]["verb"]
        return {"status": {"allowed": verb in self.allowed}}


USER = {"username": "system:serviceaccount:ns:marketing", "groups": ["system:authenticated"]}


async def test_the_webhook_asks_only_where_the_policy_api_is_missing() -> None:
    served, missing = FakeKube(set()), FakeKube(set(), served=False)
    assert await access.webhook_checks(served, access.AccessChecks.AUTO) is False
    assert await access.webhook_checks(missing, access.AccessChecks.AUTO) is True
    assert await access.webhook_checks(served, access.AccessChecks.WEBHOOK) is True
    assert await access.webhook_checks(missing, access.AccessChecks.POLICY) is False


async def test_the_webhook_refuses_with_the_policys_words() -> None:
    kube = FakeKube(allowed={"close"})
    check = access.AccessCheck(kube, enabled=True)
    refused = await check.refusal("CREATE", "ns", "promo-v1", {}, {"state": "live"}, USER)
    assert refused == policies.GUARDS[0].message(user=USER["username"], namespace="ns", name="")
    assert kube.reviews[0]["spec"]["user"] == USER["username"]
    assert kube.reviews[0]["spec"]["groups"] == USER["groups"]

    live, closed = {"state": "live"}, {"state": "closed"}
    assert await check.refusal("UPDATE", "ns", "w-v1", live, closed, USER) is None
    stopped = await check.refusal("UPDATE", "ns", "w-v1", live, {"state": "stopped"}, USER)
    assert stopped is not None and stopped.startswith(f"user {USER['username']} may not stop")
    asked = len(kube.reviews)
    assert await check.refusal("UPDATE", "ns", "w-v1", live, live, USER) is None
    assert len(kube.reviews) == asked  # nothing to ask: no review sent


async def test_a_disabled_check_asks_nothing() -> None:
    kube = FakeKube(set())
    check = access.AccessCheck(kube, enabled=False)
    assert await check.refusal("CREATE", "ns", "promo-v1", {}, {}, USER) is None
    assert kube.reviews == []


def test_the_operator_may_ask_the_authorizer_and_nothing_more_for_it() -> None:
    """The webhook's reviews need ``create subjectaccessreviews``, which grants no access."""
    (role,) = yaml.safe_load_all((MANIFESTS / "rbac/cluster-role.yaml").read_text())
    reviews = [r for r in role["rules"] if "authorization.k8s.io" in r["apiGroups"]]
    assert reviews == [
        {
            "apiGroups": ["authorization.k8s.io"],
            "resources": ["subjectaccessreviews"],
            "verbs": ["create"],
        }
    ]


# --- The front ends' question --------------------------------------------------------------------


class FakeClient:
    """A KubeClient that answers access reviews from a set of allowed (verb, resource, name)."""

    namespace = "team-a"

    def __init__(self, allowed: set[tuple[str, str, str]]) -> None:
        self.allowed = allowed
        self.asked: list[dict[str, str]] = []

    def access_allowed(self, attributes: dict[str, str]) -> bool:
        self.asked.append(dict(attributes))
        key = (attributes["verb"], attributes["resource"], attributes.get("name", ""))
        return key in self.allowed


def test_may_end_needs_patch_and_the_endings_verb_on_that_journey() -> None:
    closer = FakeClient({("patch", "journeys", "w-v1"), ("close", "journeys", "w-v1")})
    assert actions_permissions.may_end(closer, "close", "w-v1")
    assert not actions_permissions.may_end(closer, "stop", "w-v1")
    assert not actions_permissions.may_end(closer, "close", "other-v1")
    assert closer.asked[0] == {
        "namespace": "team-a",
        "verb": "patch",
        "group": "journeys.dev",
        "resource": "journeys",
        "name": "w-v1",
    }
    verb_only = FakeClient({("stop", "journeys", "w-v1")})
    assert not actions_permissions.may_end(verb_only, "stop", "w-v1")
    assert actions_permissions.may(verb_only, "stop", "w-v1")


def test_may_create_journeys_needs_jobs_too() -> None:
    journeys_only = FakeClient({("create", "journeys", "")})
    assert not actions_permissions.may_create_journeys(journeys_only)
    author = FakeClient({("create", "journeys", ""), ("create", "jobs", "")})
    assert actions_permissions.may_create_journeys(author)
    assert {"group": "batch", "resource": "jobs"}.items() <= author.asked[-1].items()


def test_the_front_ends_refusal_says_what_is_missing_and_how_to_ask() -> None:
    text = actions_permissions.ending_refusal("stop", "w-v1", "team-a")
    assert text.startswith("you may not stop this journey: ")
    assert "kubectl auth can-i stop journeys/w-v1 -n team-a" in text
