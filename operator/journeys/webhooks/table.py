"""The admission webhooks: one table that the handlers, configurations and manifests all read."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

from journeys.api import GROUP, JOURNEY_PLURAL, PARTICIPANT_PLURAL

Operation = Literal["CREATE", "UPDATE", "DELETE", "CONNECT"]

#: Suffix of the webhooks' names in the configurations (names must be domains).
WEBHOOK_DOMAIN: Final = GROUP


@dataclass(frozen=True)
class Webhook:
    """One webhook: its Kopf handler id (also the URL path) and how the API server calls it.

    The participant webhooks see only CREATE (entry): the operator's own updates of a
    participant stay off the webhook's path. They ``Ignore`` failures: the operator re-checks
    every entry before it creates a Job, so while no webhook answers, entries wait as Pending
    (and are rejected if the journey closed meanwhile) instead of failing. The journey webhooks
    ``Fail``: the audit record and the deletion protection have no second line.
    """

    id: str
    mutating: bool
    plural: str
    operations: tuple[Operation, ...]
    failure_policy: Literal["Fail", "Ignore"]

    @property
    def name(self) -> str:
        return f"{self.id}.{WEBHOOK_DOMAIN}"


MUTATE_JOURNEY: Final = Webhook(
    "mutate-journey", True, JOURNEY_PLURAL, ("CREATE", "UPDATE"), "Fail"
)
VALIDATE_JOURNEY: Final = Webhook(
    "validate-journey", False, JOURNEY_PLURAL, ("CREATE", "UPDATE", "DELETE"), "Fail"
)
MUTATE_PARTICIPANT: Final = Webhook(
    "mutate-participant", True, PARTICIPANT_PLURAL, ("CREATE",), "Ignore"
)
VALIDATE_PARTICIPANT: Final = Webhook(
    "validate-participant", False, PARTICIPANT_PLURAL, ("CREATE",), "Ignore"
)
WEBHOOKS: Final = (MUTATE_JOURNEY, VALIDATE_JOURNEY, MUTATE_PARTICIPANT, VALIDATE_PARTICIPANT)
