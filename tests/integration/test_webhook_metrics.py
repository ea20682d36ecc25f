"""Entries the admission webhook refuses are counted, once per refused request.

The Grafana panel "refused by reason" and the metric's own help text promise it: a refusal at
the door (the webhook) is as much a refused entry as a participant the operator marks Rejected.
A server-side dry run enters no one, so it is not counted.
"""

from __future__ import annotations

import pytest
from bench.process import free_port, sample, scrape
from kubernetes import client

from journeys.webhooks.configurations import dev_configuration_name
from tests.integration.conftest import Kubectl
from tests.integration.support import (
    Cluster,
    OperatorProcess,
    journey_manifest,
    participant_manifest,
    wait_for,
    webhooks_answer,
)

pytestmark = [pytest.mark.integration, pytest.mark.timeout(240)]

REFUSED = 5


def test_webhook_refusals_are_counted_once_each(
    cluster: Cluster, namespace: str, kubectl: Kubectl
) -> None:
    port = free_port()
    operator = OperatorProcess(namespace, "--admission", "dev", "--metrics-port", str(port)).start()
    try:
        wait_for("the webhooks to answer", lambda: webhooks_answer(cluster), 90)
        cluster.create(journey_manifest("shut-v1", state="closed"))
        wait_for(
            "shut-v1 Finished",
            lambda: (cluster.journey("shut-v1").get("status") or {}).get("phase") == "Finished",
            90,
        )
        for index in range(REFUSED):
            with pytest.raises(client.ApiException) as refused:
                cluster.create(participant_manifest(f"late-{index}", "shut-v1"))
            assert refused.value.status == 403
            assert "JourneyFinished" in str(refused.value.body)
        with pytest.raises(client.ApiException):
            cluster.custom.create_namespaced_custom_object(
                "journeys.dev", "v1alpha1", namespace, "participants",
                participant_manifest("dry", "shut-v1"), dry_run="All",
            )  # fmt: skip

        def counted() -> float | None:
            return sample(
                scrape(port),
                "journeys_entries_refused_total",
                namespace=namespace,
                reason="JourneyFinished",
                source="webhook",
            )

        wait_for("the refusals in the metrics", lambda: counted() is not None, 30)
        assert counted() == REFUSED
        assert cluster.participants() == []
    finally:
        operator.stop()
        kubectl(
            "delete", "validatingwebhookconfiguration,mutatingwebhookconfiguration",
            dev_configuration_name([namespace]), "--ignore-not-found", "--wait=false",
        )  # fmt: skip
        print(operator.output()[-3000:])
