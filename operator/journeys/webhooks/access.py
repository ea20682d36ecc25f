"""The admission policies' answer from the webhook, where the API server has no policy API.

The ValidatingAdmissionPolicies of :mod:`journeys.api.policies` (no escalation through a
journey; Close and Stop as verbs) are the enforcement: they hold with the operator down. A
cluster without ``admissionregistration.k8s.io/v1`` ValidatingAdmissionPolicies (before 1.30,
or the API turned off) cannot run them, so there the validating webhook asks the same questions
(:mod:`journeys.core.permissions`) with SubjectAccessReviews about the request's user and gives
the same refusal. A review that fails raises: the webhook's ``failurePolicy: Fail`` then refuses
the change rather than letting it through unchecked.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Final

from journeys.core.permissions import Change, questions, subject_access_review
from journeys.runtime.kube import Kube, KubeError

logger = logging.getLogger(__name__)

POLICY_API: Final = "/apis/admissionregistration.k8s.io/v1"
POLICY_RESOURCE: Final = "validatingadmissionpolicies"
REVIEWS: Final = "/apis/authorization.k8s.io/v1/subjectaccessreviews"


class AccessChecks(StrEnum):
    """``--access-checks``: who checks the policies' permissions."""

    AUTO = "auto"  # the webhook, only where the API server cannot run the policies
    WEBHOOK = "webhook"  # the webhook too, wherever it runs
    POLICY = "policy"  # the policies only


async def policy_api_served(kube: Kube) -> bool:
    """Whether the API server serves ValidatingAdmissionPolicies (discovery)."""
    try:
        found = await kube.request("GET", POLICY_API)
    except KubeError as error:
        if error.status == 404:
            return False
        raise
    return any(r.get("name") == POLICY_RESOURCE for r in found.get("resources") or [])


async def webhook_checks(kube: Kube, setting: AccessChecks) -> bool:
    """Whether the webhook asks the authorizer, for ``setting`` on this cluster."""
    if setting == AccessChecks.AUTO:
        served = await policy_api_served(kube)
        if not served:
            logger.info(
                "The API server has no ValidatingAdmissionPolicy API: the webhook checks who "
                "may create, close and stop journeys (docs/security.md)."
            )
        return not served
    return setting == AccessChecks.WEBHOOK


@dataclass(frozen=True)
class AccessCheck:
    """The webhook's side of the policies (``enabled`` from :func:`webhook_checks`)."""

    kube: Kube
    enabled: bool

    async def refusal(
        self,
        operation: str,
        namespace: str,
        name: str,
        old_spec: Mapping[str, Any],
        new_spec: Mapping[str, Any],
        userinfo: Mapping[str, Any],
    ) -> str | None:
        """The first refusal the policies would give this request, or None."""
        if not self.enabled:
            return None
        for question in questions(Change(operation, old_spec, new_spec), namespace, name):
            review = subject_access_review(question, userinfo)
            answer = await self.kube.request("POST", REVIEWS, body=review)
            if not (answer.get("status") or {}).get("allowed"):
                return question.refusal(str(userinfo.get("username") or ""))
        return None
