"""May this person do it? Asked before a confirmation dialog, not after it fails.

Close and Stop are verbs of their own on ``journeys`` (:mod:`journeys.api.policies`): the API
server refuses a ``patch`` that ends a journey without them. The front ends ask first, with a
SelfSubjectAccessReview (the question ``kubectl auth can-i stop journeys/NAME`` asks), and say
"you may not stop this journey" instead of asking for a confirmation that cannot succeed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from journeys.actions.journeys import Ending
from journeys.actions.kube import KubeClient
from journeys.api import GROUP, JOURNEY_PLURAL
from journeys.api.policies import CLOSE, JOB_CREATE, STOP, Permission
from journeys.core.permissions import resource_attributes

#: The permission each ending needs besides ``patch``.
ENDING_PERMISSIONS: Final[Mapping[Ending, Permission]] = {"close": CLOSE, "stop": STOP}
_PATCH: Final = Permission("patch", GROUP, JOURNEY_PLURAL, named=True)
_CREATE: Final = Permission("create", GROUP, JOURNEY_PLURAL)


def may(client: KubeClient, verb: str, journey_name: str) -> bool:
    """Whether the client's user may ``verb`` (close, stop, patch, ...) journey ``journey_name``."""
    permission = Permission(verb, GROUP, JOURNEY_PLURAL, named=True)
    return client.access_allowed(resource_attributes(permission, client.namespace, journey_name))


def may_end(client: KubeClient, ending: Ending, journey_name: str) -> bool:
    """Whether the user may both send the change (``patch``) and end the journey that way."""
    return all(
        client.access_allowed(resource_attributes(p, client.namespace, journey_name))
        for p in (_PATCH, ENDING_PERMISSIONS[ending])
    )


def may_create_journeys(client: KubeClient) -> bool:
    """Whether the user may create journeys (new versions, duplicates) in the namespace.

    Creating one also needs ``create`` on Jobs there: its participants run as Jobs.
    """
    return all(
        client.access_allowed(resource_attributes(p, client.namespace))
        for p in (_CREATE, JOB_CREATE)
    )


def ending_refusal(ending: Ending, journey_name: str, namespace: str) -> str:
    """What a front end says instead of asking, when :func:`may_end` is False."""
    verb = ENDING_PERMISSIONS[ending].verb
    return (
        f"you may not {ending} this journey: {ending} needs the verbs patch and {verb} on "
        f"{JOURNEY_PLURAL}.{GROUP} for {journey_name} in namespace {namespace} (kubectl auth "
        f"can-i {verb} {JOURNEY_PLURAL}/{journey_name} -n {namespace}); ask whoever grants roles "
        "in the namespace (docs/security.md)"
    )
