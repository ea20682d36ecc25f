"""Generated bad manifests sent to the real API server, with the operator running.

Each one is either refused with a message that names the field, or accepted and then handled:
the journey gets a status (Ready, or Stalled with the reason), the participant gets a phase,
and the operator neither crashes nor retries one object forever.
"""

from __future__ import annotations

import itertools
import json
import string
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from kubernetes.client.rest import ApiException

from journeys.api import API_VERSION, GROUP, VERSION
from tests.integration.support import (
    Cluster,
    OperatorProcess,
    eventually,
    job_template,
    journey_manifest,
)

pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]

FIELD_PATH_HINTS = ("spec", "metadata", "Required value", "Unsupported value", "Invalid value")

odd_text = st.one_of(
    st.text(max_size=40),
    st.text(alphabet=st.characters(codec="utf-8"), min_size=1, max_size=20),
    st.just("🚀" * 10),
    st.just("x" * 5000),
    st.just(""),
    st.just("\u202eevil"),
)
any_json: st.SearchStrategy[Any] = st.recursive(
    # Only what JSON can carry: Infinity and NaN are not JSON, so no manifest holds them.
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | odd_text,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=6,
)
dns_name = st.from_regex(r"\A[a-z][a-z0-9-]{0,20}[a-z0-9]-v[1-9][0-9]?\Z")
names = st.one_of(
    dns_name,
    st.text(alphabet=string.printable, min_size=1, max_size=80),
    st.just("a" * 64 + "-v1"),
    st.just("Upper-v1"),
)
durations = st.one_of(
    st.sampled_from(["1h", "90m", "1h30m", "45s", "0", "2184h"]), odd_text, st.integers()
)
times = st.one_of(st.just("2031-01-01T00:00:00Z"), st.just("yesterday"), odd_text, st.integers())


def maybe(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(st.just(_MISSING), strategy)


_MISSING = object()
REFUSALS: list[str] = []
_UNIQUE = itertools.count()


def mostly(valid: st.SearchStrategy[Any], odd: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Usually a valid value, sometimes an odd one: so that some manifests get through."""
    return st.sampled_from(range(8)).flatmap(lambda roll: odd if roll == 0 else valid)


@st.composite
def journeys(draw: st.DrawFn) -> dict[str, Any]:
    spec_fields = {
        "version": mostly(
            st.integers(min_value=1, max_value=10**6),
            st.one_of(st.integers(min_value=-3, max_value=2**40), any_json),
        ),
        "state": mostly(
            st.sampled_from(["live", "closed", "stopped"]), st.one_of(st.just("LIVE"), any_json)
        ),
        "stopReason": maybe(mostly(st.just("wrong audience"), odd_text)),
        "endAt": maybe(mostly(st.just("2031-01-01T00:00:00Z"), times)),
        "drain": maybe(
            mostly(
                st.fixed_dictionaries({"timeout": st.sampled_from(["1h", "45s"])}),
                st.one_of(st.fixed_dictionaries({"timeout": durations}), any_json),
            )
        ),
        "halt": maybe(
            st.fixed_dictionaries({"policy": st.sampled_from(["Suspend", "Delete", "Pause"])})
        ),
        "entry": maybe(
            st.fixed_dictionaries(
                {"maxParticipants": mostly(st.integers(min_value=1, max_value=5), any_json)}
            )
        ),
        "family": maybe(mostly(st.just("fam"), odd_text)),
        "template": mostly(st.just(job_template("1s")), st.one_of(any_json, st.just({}))),
        "surprise": maybe(any_json),
    }
    spec = {k: draw(v) for k, v in spec_fields.items()}
    return {
        "apiVersion": API_VERSION,
        "kind": "Journey",
        "metadata": {"name": draw(mostly(dns_name, names))},
        "spec": {k: v for k, v in spec.items() if v is not _MISSING},
    }


@st.composite
def participants(draw: st.DrawFn) -> dict[str, Any]:
    spec = {
        "journey": draw(
            mostly(st.just("target-v1"), st.one_of(st.just("nowhere-v1"), odd_text, any_json))
        ),
        "profile": draw(
            mostly(
                st.text(alphabet=string.ascii_lowercase, min_size=1, max_size=9),
                st.one_of(odd_text, any_json),
            )
        ),
        "attributes": draw(
            maybe(
                mostly(
                    st.dictionaries(
                        st.from_regex(r"\A[A-Z_][A-Z0-9_]{0,10}\Z"), odd_text, max_size=5
                    ),
                    st.one_of(
                        st.dictionaries(odd_text, any_json, max_size=3),
                        st.just({f"K{i}": "v" for i in range(100)}),
                    ),
                )
            )
        ),
    }
    return {
        "apiVersion": API_VERSION,
        "kind": "Participant",
        "metadata": {"name": draw(mostly(dns_name, names))},
        "spec": {k: v for k, v in spec.items() if v is not _MISSING},
    }


def send(cluster: Cluster, manifest: dict[str, Any], plural: str, seen: list[str]) -> None:
    """Create it; a refusal must be a 4xx whose message points at what is wrong."""
    name = manifest["metadata"]["name"]
    if isinstance(name, str) and name.isascii() and name[:1].isalpha() and len(name) < 50:
        manifest["metadata"]["name"] = f"g{next(_UNIQUE)}-{name}"  # no clash between examples
    try:
        body = json.loads(json.dumps(manifest, allow_nan=False))  # what kubectl would send
        cluster.custom.create_namespaced_custom_object(
            GROUP, VERSION, cluster.namespace, plural, body
        )
    except ApiException as error:
        assert error.status in (400, 409, 422), (error.status, error.body)
        if error.status == 409:
            return  # the same generated name twice
        message = json.loads(error.body).get("message", "")
        assert any(hint in message for hint in FIELD_PATH_HINTS), message
        REFUSALS.append(message)
        return
    except ValueError:
        return  # the client refused to serialise it (e.g. a float too large): never sent
    seen.append(manifest["metadata"]["name"])


def test_generated_manifests_are_refused_clearly_or_handled(
    cluster: Cluster, operator: OperatorProcess
) -> None:
    cluster.create(journey_manifest("target-v1", delay="1s"))
    seen: dict[str, list[str]] = {"journeys": [], "participants": []}

    @settings(
        max_examples=120, deadline=None, database=None, suppress_health_check=list(HealthCheck)
    )
    @given(journey=journeys(), participant=participants())
    def check(journey: dict[str, Any], participant: dict[str, Any]) -> None:
        send(cluster, journey, "journeys", seen["journeys"])
        send(cluster, participant, "participants", seen["participants"])

    check()
    assert operator.process is not None

    def journeys_without_status() -> list[str]:
        missing = []
        for name in seen["journeys"]:
            status = cluster.journey(name).get("status") or {}
            types = {c["type"] for c in status.get("conditions", [])}
            if status.get("observedGeneration") is None or "Ready" not in types:
                missing.append(name)
        return missing

    def participants_without_phase() -> list[tuple[str, dict[str, Any]]]:
        missing = []
        for name in seen["participants"]:
            status = cluster.get("participants", name).get("status") or {}
            waiting = status.get("reason") == "JourneyNotFound"
            if not status.get("phase") or (status["phase"] == "Pending" and not waiting):
                missing.append((name, status))
        return missing

    eventually("a status on every accepted journey", journeys_without_status, 120)
    eventually("a phase on every accepted participant", participants_without_phase, 120)
    assert operator.process.poll() is None, "the operator crashed"
    log = operator.output()
    assert "failed (attempt 3)" not in log, "an object is being retried in a loop"
    assert seen["journeys"] and seen["participants"], "the generators should get some through"
    accepted = f"{len(seen['journeys'])} journeys, {len(seen['participants'])} participants"
    print(f"refused {len(REFUSALS)}; accepted {accepted}")
