"""No escalation through a journey; Close and Stop as permissions (docs/security.md).

Every user here is a ServiceAccount of the test's namespace, authenticated with nothing but a
TokenRequest token (no client certificate), bound to the shipped roles or to a Role of its own.
The admission policies are the generated ones that `make test` installs; most tests run no
operator and no webhook at all, so every refusal comes from the API server itself.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client, config
from kubernetes.client.rest import ApiException

from journeys.actions import UserClient
from journeys.actions.permissions import may, may_create_journeys, may_end
from journeys.api import policies
from journeys.webhooks.configurations import dev_configuration_name
from tests.integration.conftest import TEST_NAMESPACE_LABEL, Kubectl
from tests.integration.support import (
    GROUP,
    VERSION,
    Cluster,
    OperatorProcess,
    journey_manifest,
    participant_manifest,
    token_kubeconfig,
    wait_for,
    webhooks_answer,
)

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]

JOURNEY_RULES = [
    {
        "apiGroups": [GROUP],
        "resources": ["journeys", "participants"],
        "verbs": ["get", "list", "watch", "create", "patch"],
    }
]


@dataclass
class User:
    """A ServiceAccount of the test's namespace as a client of its own."""

    name: str
    namespace: str
    kubeconfig: Path
    api: client.ApiClient
    username: str = field(init=False)

    def __post_init__(self) -> None:
        self.username = f"system:serviceaccount:{self.namespace}:{self.name}"
        self.custom = client.CustomObjectsApi(self.api)

    def can_i(self, verb: str, resource: str, name: str = "", group: str = GROUP) -> bool:
        attributes = {"namespace": self.namespace, "verb": verb, "group": group}
        attributes |= {"resource": resource, "name": name}
        review = client.AuthorizationV1Api(self.api).create_self_subject_access_review(
            {"spec": {"resourceAttributes": attributes}}
        )
        return bool(review.status.allowed)

    def create(self, manifest: dict[str, Any], dry_run: bool = False) -> dict[str, Any]:
        plural = manifest["kind"].lower() + "s"
        return self.custom.create_namespaced_custom_object(  # type: ignore[no-any-return]
            GROUP, VERSION, self.namespace, plural, manifest, dry_run="All" if dry_run else None
        )

    def patch(self, name: str, body: dict[str, Any]) -> dict[str, Any]:
        return self.custom.patch_namespaced_custom_object(  # type: ignore[no-any-return]
            GROUP, VERSION, self.namespace, "journeys", name, body
        )

    def refused(self, call: Any, *args: Any, **kwargs: Any) -> str:
        """The API server's refusal of ``call(*args)``: it must be a 403."""
        with pytest.raises(ApiException) as refusal:
            call(*args, **kwargs)
        assert refusal.value.status == 403, refusal.value.body
        return str(json.loads(refusal.value.body)["message"])


class Users:
    """Makes token users in one namespace; RBAC is eventually consistent, so each user is
    returned once the authorizer answers for its bindings."""

    def __init__(self, api: client.ApiClient, namespace: str, admin: str, tmp: Path) -> None:
        self.namespace, self.admin, self.tmp = namespace, admin, tmp
        self.core = client.CoreV1Api(api)
        self.rbac = client.RbacAuthorizationV1Api(api)
        self.made: list[User] = []

    def make(
        self,
        name: str,
        *,
        cluster_roles: Sequence[str] = (),
        rules: list[dict[str, Any]] | None = None,
        ready: tuple[str, str, str] | None = None,
    ) -> User:
        """``ready``: a (verb, resource, group) the user must be allowed before it is returned."""
        ns = self.namespace
        self.core.create_namespaced_service_account(ns, {"metadata": {"name": name}})
        subject = [{"kind": "ServiceAccount", "name": name, "namespace": ns}]
        roles = [("ClusterRole", role) for role in cluster_roles]
        if rules is not None:
            self.rbac.create_namespaced_role(ns, {"metadata": {"name": name}, "rules": rules})
            roles.append(("Role", name))
        for kind, role in roles:
            self.rbac.create_namespaced_role_binding(
                ns,
                {
                    "metadata": {"name": f"{name}-{role}"},
                    "roleRef": {
                        "apiGroup": "rbac.authorization.k8s.io",
                        "kind": kind,
                        "name": role,
                    },
                    "subjects": subject,
                },
            )
        token = self.core.create_namespaced_service_account_token(
            name, ns, {"spec": {"expirationSeconds": 3600}}
        ).status.token
        path = self.tmp / f"{name}.kubeconfig"
        path.write_text(yaml.safe_dump(token_kubeconfig(self.admin, token, name)))
        path.chmod(0o600)
        user = User(name, ns, path, config.new_client_from_config(config_file=str(path)))
        self.made.append(user)
        if ready is not None:
            verb, resource, group = ready
            wait_for(f"{name}'s bindings", lambda: user.can_i(verb, resource, group=group), 30)
        return user

    def close(self) -> None:
        for user in self.made:
            user.api.close()


@pytest.fixture
def users(
    api_client: client.ApiClient, namespace: str, kubeconfig_path: str, tmp_path: Path
) -> Iterator[Users]:
    made = Users(api_client, namespace, kubeconfig_path, tmp_path)
    yield made
    made.close()


@pytest.fixture(scope="session")
def enforced(api_client: client.ApiClient) -> None:
    """The generated policies are installed and the API server enforces them.

    `make test` installs them (hack/install_crds.py); a stale or missing copy fails here, once,
    instead of as a confusing refusal (or its absence) in every test. The API server loads a
    new policy asynchronously, so a probe waits for it to answer.
    """
    admission = client.AdmissionregistrationV1Api(api_client)
    for generated in policies.policies():
        name = generated["metadata"]["name"]
        if generated["kind"] == "ValidatingAdmissionPolicy":
            installed = api_client.sanitize_for_serialization(
                admission.read_validating_admission_policy(name)
            )
            key = "validations"
        else:
            installed = api_client.sanitize_for_serialization(
                admission.read_validating_admission_policy_binding(name)
            )
            key = "policyName"
        if installed["spec"].get(key) != generated["spec"][key]:
            pytest.fail(f"{name} on the cluster is stale: run `make install-crds`", pytrace=False)
    core = client.CoreV1Api(api_client)
    probe = f"it-policy-probe-{uuid.uuid4().hex[:6]}"
    core.create_namespace({"metadata": {"name": probe, "labels": {TEST_NAMESPACE_LABEL: "true"}}})
    try:
        custom = client.CustomObjectsApi(api_client)
        custom.create_namespaced_custom_object(
            GROUP, VERSION, probe, "journeys", journey_manifest("probe-v1")
        )
        # A user whom RBAC lets create and patch journeys, but not create Jobs.
        prober = "journeys-policy-probe"
        rbac = client.RbacAuthorizationV1Api(api_client)
        rbac.create_namespaced_role(probe, {"metadata": {"name": prober}, "rules": JOURNEY_RULES})
        rbac.create_namespaced_role_binding(
            probe,
            {
                "metadata": {"name": prober},
                "roleRef": {
                    "apiGroup": "rbac.authorization.k8s.io",
                    "kind": "Role",
                    "name": prober,
                },
                "subjects": [{"kind": "User", "name": prober}],
            },
        )
        impersonated = client.ApiClient(api_client.configuration)
        impersonated.set_default_header("Impersonate-User", prober)

        def refusing() -> bool:
            api = client.CustomObjectsApi(impersonated)
            answers = []
            for call, args in (
                (api.create_namespaced_custom_object, (journey_manifest("probe-v2", 2),)),
                (api.patch_namespaced_custom_object, ("probe-v1", {"spec": {"state": "closed"}})),
            ):
                try:
                    call(GROUP, VERSION, probe, "journeys", *args, dry_run="All")
                except ApiException as error:
                    answers.append("ValidatingAdmissionPolicy" in str(error.body))
            return answers == [True, True]

        wait_for("the admission policies to be enforced", refusing, 60)
        impersonated.close()
    finally:
        core.delete_namespace(probe, propagation_policy="Background")


def escalating_journey(name: str) -> dict[str, Any]:
    """A journey whose Job would run as the namespace's powerful ServiceAccount."""
    manifest = journey_manifest(name, delay="600s")
    manifest["spec"]["template"]["spec"]["template"]["spec"]["serviceAccountName"] = "powerful"
    return manifest


CREATE_REFUSAL = "may not create journeys in namespace {ns}: a journey's participants run as Jobs"


# --- No escalation through a journey -------------------------------------------------------------


def test_a_journeys_only_user_cannot_create_jobs_through_a_journey(
    enforced: None, users: Users, cluster: Cluster, namespace: str
) -> None:
    """With no operator and no webhook running: the API server alone refuses."""
    users.make("powerful", cluster_roles=["edit"])
    marketing = users.make("marketing", rules=JOURNEY_RULES, ready=("create", "journeys", GROUP))
    assert not marketing.can_i("create", "jobs", group="batch")

    for dry_run in (True, False):
        message = marketing.refused(marketing.create, escalating_journey("promo-v1"), dry_run)
        assert message.startswith(
            'journeys.journeys.dev "promo-v1" is forbidden: ValidatingAdmissionPolicy '
            f"'{policies.AUTHOR_POLICY}' with binding '{policies.AUTHOR_POLICY}' denied request: "
        ), message
        expected = policies.GUARDS[0].message(user=marketing.username, namespace=namespace, name="")
        assert message.endswith(expected), message
        assert f"user {marketing.username} " in message
        assert CREATE_REFUSAL.format(ns=namespace) in message
        assert "create jobs.batch" in message
    assert not cluster.exists("journeys", "promo-v1")
    assert cluster.batch.list_namespaced_job(namespace).items == []

    author = users.make(
        "author", cluster_roles=[policies.AUTHOR_ROLE], ready=("create", "jobs", "batch")
    )
    created = author.create(escalating_journey("promo-v1"))
    assert created["metadata"]["name"] == "promo-v1"


def test_with_the_operator_entering_is_a_delegation_and_attributes_stay_data(
    enforced: None, users: Users, cluster: Cluster, namespace: str, kubectl: Kubectl
) -> None:
    """The operator and its webhooks run: the policy answers before them; an author's journey
    runs as its ServiceAccount for an enrolling application, with the participant's data as
    data."""
    users.make("powerful", cluster_roles=["edit"])
    marketing = users.make("marketing", rules=JOURNEY_RULES, ready=("create", "journeys", GROUP))
    author = users.make(
        "author", cluster_roles=[policies.AUTHOR_ROLE], ready=("create", "jobs", "batch")
    )
    enroller = users.make(
        "enroller", cluster_roles=[policies.ENROLLER_ROLE], ready=("create", "participants", GROUP)
    )
    with webhooks(cluster, kubectl):
        message = marketing.refused(marketing.create, escalating_journey("promo-v1"))
        assert f"'{policies.AUTHOR_POLICY}'" in message
        assert CREATE_REFUSAL.format(ns=namespace) in message

        manifest = escalating_journey("promo-v1")
        pod = manifest["spec"]["template"]["spec"]["template"]["spec"]
        pod["containers"][0]["env"] = [
            {"name": "SECRET", "value": "s3cr3t"},
            {"name": "JOURNEY_ATTR_MODE", "value": "safe"},
            {"name": "JOURNEY_PROFILE", "value": "spoofed"},
        ]
        author.create(manifest)
        wait_for("promo-v1 Live", lambda: _phase(cluster, "promo-v1") == "Live")
        entered = participant_manifest("promo-eve", "promo-v1", "$(SECRET)")
        entered["spec"]["attributes"] = {"MODE": "unsafe", "NAME": "$(SECRET)", "PRICE": "$$5"}
        enroller.create(entered)
        job = wait_for("the participant's Job", lambda: cluster.jobs("promo-v1"), 90)[0]
    pod_spec = job.spec.template.spec
    assert pod_spec.service_account_name == "powerful"  # the author's choice, by delegation
    env = [(e.name, e.value) for e in pod_spec.containers[0].env]
    assert len({name for name, _ in env}) == len(env), env  # each variable defined once
    values = dict(env)
    assert values["SECRET"] == "s3cr3t"
    assert values["JOURNEY_ATTR_MODE"] == "safe"  # the template's own wins over the attribute
    assert values["JOURNEY_PROFILE"] == "$$(SECRET)"  # the kubelet makes it the text $(SECRET)
    assert values["JOURNEY_ATTR_NAME"] == "$$(SECRET)"
    assert values["JOURNEY_ATTR_PRICE"] == "$$$$5"
    assert [n for n, _ in env][:2] == ["SECRET", "JOURNEY_ATTR_MODE"]


@contextlib.contextmanager
def webhooks(cluster: Cluster, kubectl: Kubectl, *extra: str) -> Iterator[OperatorProcess]:
    """The operator with its admission webhooks for the test's namespace, once they answer."""
    operator = OperatorProcess(cluster.namespace, "--admission", "dev", *extra).start()
    try:
        wait_for("the webhooks to answer", lambda: webhooks_answer(cluster), 60)
        yield operator
    finally:
        operator.stop()
        kubectl(
            "delete", "validatingwebhookconfiguration,mutatingwebhookconfiguration",
            dev_configuration_name([cluster.namespace]), "--ignore-not-found", "--wait=false",
        )  # fmt: skip
        print(operator.output()[-3000:])


def _phase(cluster: Cluster, name: str) -> str:
    return str((cluster.journey(name).get("status") or {}).get("phase", ""))


def test_new_version_and_duplicate_need_job_rights(
    enforced: None, users: Users, cluster: Cluster, namespace: str
) -> None:
    cluster.create(journey_manifest("welcome-v1"))
    marketing = users.make("marketing", rules=JOURNEY_RULES, ready=("create", "journeys", GROUP))
    author = users.make(
        "author", cluster_roles=[policies.AUTHOR_ROLE], ready=("create", "jobs", "batch")
    )
    plugin = Path(sys.executable).with_name("kubectl-journey")
    assert plugin.is_file(), f"{plugin} is missing: pip install -e '.[dev]'"

    def run(user: User, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(plugin), *args, "-n", namespace, "--yes"],
            input="",
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
            env={**os.environ, "KUBECONFIG": str(user.kubeconfig)},
        )

    for args in (("new-version", "welcome"), ("duplicate", "welcome-v1", "--family", "promo")):
        refused = run(marketing, *args)
        assert refused.returncode != 0, refused.stdout
        assert f"user {marketing.username} {CREATE_REFUSAL.format(ns=namespace)}" in (
            " ".join(refused.stderr.split())
        ), refused.stderr
    assert not cluster.exists("journeys", "welcome-v2")
    assert not cluster.exists("journeys", "promo-v1")
    assert not may_create_journeys(UserClient(str(marketing.kubeconfig), None, namespace))
    assert may_create_journeys(UserClient(str(author.kubeconfig), None, namespace))

    for args in (("new-version", "welcome"), ("duplicate", "welcome-v1", "--family", "promo")):
        done = run(author, *args)
        assert done.returncode == 0, done.stderr
    assert cluster.exists("journeys", "welcome-v2") and cluster.exists("journeys", "promo-v1")


# --- Close and Stop ------------------------------------------------------------------------------


def test_close_and_stop_need_their_own_verbs(
    enforced: None, users: Users, cluster: Cluster, namespace: str, kubectl: Kubectl
) -> None:
    for name in ("one-v1", "two-v1", "three-v1"):
        cluster.create(journey_manifest(name, endAt="2099-01-01T00:00:00Z"))
    read = ("get", "journeys", GROUP)
    patcher = users.make(
        "patcher",
        rules=[{"apiGroups": [GROUP], "resources": ["journeys"], "verbs": ["get", "patch"]}],
        ready=read,
    )
    closer = users.make("closer", cluster_roles=[policies.CLOSER_ROLE], ready=read)
    stopper = users.make("stopper", cluster_roles=[policies.STOPPER_ROLE], ready=read)
    # Stop for one journey only, by name.
    one_only = users.make(
        "one-only",
        rules=[
            {"apiGroups": [GROUP], "resources": ["journeys"], "verbs": ["get", "patch"]},
            {
                "apiGroups": [GROUP],
                "resources": ["journeys"],
                "verbs": ["stop"],
                "resourceNames": ["one-v1"],
            },
        ],
        ready=read,
    )

    def state(user: User, name: str, value: str) -> dict[str, Any]:
        return user.patch(name, {"spec": {"state": value}})

    def refusal(guard: str, user: User, name: str) -> str:
        found = next(g for g in policies.GUARDS if g.key == guard)
        return found.message(user=user.username, namespace=namespace, name=name)

    # patch alone: labels and other fields yes, ending no.
    patcher.patch("one-v1", {"metadata": {"labels": {"team": "growth"}}})
    patcher.patch("one-v1", {"spec": {"entry": {"maxParticipants": 10}}})
    assert cluster.journey("one-v1")["metadata"]["labels"]["team"] == "growth"
    for guard, value, body in (
        ("close", "closed", None),
        ("stop", "stopped", None),
        ("endAt", None, {"spec": {"endAt": "2020-01-01T00:00:00Z"}}),
        ("drainTimeout", None, {"spec": {"drain": {"timeout": "1s"}}}),
    ):
        if body is None:
            message = patcher.refused(state, patcher, "one-v1", value)
        else:
            message = patcher.refused(patcher.patch, "one-v1", body)
        assert f"'{policies.ENDINGS_POLICY}'" in message
        assert message.endswith(refusal(guard, patcher, "one-v1")), message
    assert cluster.journey("one-v1")["spec"]["state"] == "live"

    # The closer closes, and may not stop (neither live nor closed journeys).
    assert closer.refused(state, closer, "two-v1", "stopped").endswith(
        refusal("stop", closer, "two-v1")
    )
    state(closer, "two-v1", "closed")
    assert closer.refused(state, closer, "two-v1", "stopped").endswith(
        refusal("stop", closer, "two-v1")
    )
    # The stopper stops, and may not close.
    assert stopper.refused(state, stopper, "three-v1", "closed").endswith(
        refusal("close", stopper, "three-v1")
    )
    state(stopper, "two-v1", "stopped")  # closed -> stopped
    state(stopper, "three-v1", "stopped")  # live -> stopped
    # A Role with resourceNames grants Stop for one journey.
    cluster.create(journey_manifest("four-v1"))
    assert one_only.refused(state, one_only, "four-v1", "stopped").endswith(
        refusal("stop", one_only, "four-v1")
    )
    state(one_only, "one-v1", "stopped")
    states = {n: cluster.journey(n)["spec"]["state"] for n in ("one-v1", "two-v1", "three-v1")}
    assert states == {"one-v1": "stopped", "two-v1": "stopped", "three-v1": "stopped"}

    # What the dialogs ask first, and what kubectl auth can-i answers.
    asked = {
        (user.name, ending, journey): may_end(
            UserClient(str(user.kubeconfig), None, namespace), ending, journey
        )
        for user in (patcher, closer, stopper, one_only)
        for ending in ("close", "stop")
        for journey in ("four-v1",)
    }
    assert asked == {
        ("patcher", "close", "four-v1"): False,
        ("patcher", "stop", "four-v1"): False,
        ("closer", "close", "four-v1"): True,
        ("closer", "stop", "four-v1"): False,
        ("stopper", "close", "four-v1"): False,
        ("stopper", "stop", "four-v1"): True,
        ("one-only", "close", "four-v1"): False,
        ("one-only", "stop", "four-v1"): False,
    }
    assert may(UserClient(str(one_only.kubeconfig), None, namespace), "stop", "one-v1")
    for user, verb, journey, answer in (
        (stopper, "stop", "four-v1", "yes"),
        (closer, "stop", "four-v1", "no"),
        (one_only, "stop", "one-v1", "yes"),
        (one_only, "stop", "four-v1", "no"),
        (closer, "close", "four-v1", "yes"),
    ):
        result = subprocess_kubectl(kubectl, user, "auth", "can-i", verb, f"journeys/{journey}")
        assert result.stdout.strip() == answer, (user.name, verb, journey, result)


def subprocess_kubectl(
    kubectl: Kubectl, user: User, *args: str
) -> subprocess.CompletedProcess[str]:
    """kubectl as ``user`` (its token kubeconfig); `can-i` exits 1 for "no"."""
    as_user = type(kubectl)(kubectl.path, str(user.kubeconfig))
    return as_user(*args, "-n", user.namespace, check=False)


def test_the_aggregated_roles_give_namespace_users_what_the_docs_say(
    enforced: None, users: Users, cluster: Cluster, namespace: str
) -> None:
    """The cluster's own edit and view roles, bound in the namespace; their journey rules come
    from the aggregation controller, so wait until it has filled them in."""
    editor = users.make("editor", cluster_roles=["edit"])
    viewer = users.make("viewer", cluster_roles=["view"])
    admin = users.make("admin", cluster_roles=["admin"])
    wait_for("edit to aggregate journeys-edit", lambda: editor.can_i("stop", "journeys"), 60)
    wait_for("view to aggregate journeys-view", lambda: viewer.can_i("list", "journeys"), 60)
    wait_for("admin to aggregate journeys-edit", lambda: admin.can_i("stop", "journeys"), 60)

    def answers(user: User) -> dict[tuple[str, str], bool]:
        return {
            (verb, resource): user.can_i(verb, resource)
            for verb, resource in [
                ("list", "journeys"),
                ("list", "participants"),
                ("create", "journeys"),
                ("create", "participants"),
                ("close", "journeys"),
                ("stop", "journeys"),
                ("delete", "journeys"),
                ("patch", "journeys/status"),
            ]
        }

    everything = {key: True for key in answers(editor)} | {("patch", "journeys/status"): False}
    assert answers(editor) == everything
    assert answers(admin) == everything
    assert answers(viewer) == {key: key[0] == "list" for key in everything}

    # And what it allows, for real: an editor may create Jobs, so a journey; and end it.
    editor.create(journey_manifest("edited-v1"))
    editor.patch("edited-v1", {"spec": {"state": "closed"}})
    editor.patch("edited-v1", {"spec": {"state": "stopped"}})
    assert cluster.journey("edited-v1")["spec"]["state"] == "stopped"
    message = viewer.refused(viewer.patch, "edited-v1", {"metadata": {"labels": {"a": "b"}}})
    assert "cannot patch resource" in message


# --- Where the policy API is missing -------------------------------------------------------------


@pytest.fixture
def outside_the_policies(api_client: client.ApiClient, namespace: str) -> Iterator[None]:
    """The policies' bindings leave this test's namespace out, as on a cluster that cannot run
    them; restored afterwards (only this namespace is ever left out)."""
    admission = client.AdmissionregistrationV1Api(api_client)
    bindings = [p["metadata"]["name"] for p in policies.policies() if "Binding" in p["kind"]]
    originals = {}
    for name in bindings:
        found = admission.read_validating_admission_policy_binding(name)
        original = api_client.sanitize_for_serialization(found.spec).get("matchResources")
        originals[name] = original
        selector = {
            "matchExpressions": [
                {"key": "kubernetes.io/metadata.name", "operator": "NotIn", "values": [namespace]}
            ]
        }
        value = {**(original or {}), "namespaceSelector": selector}
        admission.patch_validating_admission_policy_binding(
            name, [{"op": "add", "path": "/spec/matchResources", "value": value}]
        )
    try:
        yield
    finally:
        for name, original in originals.items():
            restore = (
                {"op": "remove", "path": "/spec/matchResources"}
                if original is None
                else {"op": "add", "path": "/spec/matchResources", "value": original}
            )
            admission.patch_validating_admission_policy_binding(name, [restore])


def test_where_the_policies_cannot_run_the_webhook_gives_the_same_answer(
    enforced: None,
    users: Users,
    cluster: Cluster,
    namespace: str,
    kubectl: Kubectl,
    outside_the_policies: None,
) -> None:
    marketing = users.make("marketing", rules=JOURNEY_RULES, ready=("create", "journeys", GROUP))
    cluster.create(journey_manifest("one-v1"))

    def unchecked() -> bool:
        try:
            marketing.create(escalating_journey("promo-v1"), dry_run=True)
        except ApiException as error:
            assert "ValidatingAdmissionPolicy" in str(error.body), error.body
            return False
        return True

    wait_for("the policies to leave the namespace out", unchecked, 60)

    with webhooks(cluster, kubectl, "--access-checks", "webhook"):
        webhook = 'admission webhook "validate-journey.journeys.dev" denied the request: '
        for dry_run in (True, False):
            message = marketing.refused(marketing.create, escalating_journey("promo-v1"), dry_run)
            create = policies.GUARDS[0].message(
                user=marketing.username, namespace=namespace, name=""
            )
            assert message == webhook + create, message
        assert not cluster.exists("journeys", "promo-v1")

        marketing.patch("one-v1", {"metadata": {"labels": {"team": "growth"}}})
        for guard, value in (("close", "closed"), ("stop", "stopped")):
            message = marketing.refused(marketing.patch, "one-v1", {"spec": {"state": value}})
            found = next(g for g in policies.GUARDS if g.key == guard)
            text = found.message(user=marketing.username, namespace=namespace, name="one-v1")
            assert message == webhook + text, message
        assert cluster.journey("one-v1")["spec"]["state"] == "live"
        cluster.patch_spec("journeys", "one-v1", {"state": "stopped"})  # the admin may
