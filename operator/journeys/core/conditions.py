"""metav1.Condition bookkeeping shared by every status the operator writes.

kstatus (Flux) and Argo CD read ``Ready``, ``Reconciling`` and ``Stalled`` together with
``observedGeneration``; keeping ``lastTransitionTime`` stable when nothing changed is what lets
dashboards show for how long a condition has held.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from journeys.api import Condition

TRUE = "True"
FALSE = "False"


def condition(
    type_: str,
    status: bool,
    reason: str,
    message: str,
    generation: int | None,
    now: datetime,
) -> Condition:
    """A fresh condition; :func:`merge_conditions` keeps the old transition time if it held."""
    return Condition(
        type=type_,
        status=TRUE if status else FALSE,
        reason=reason,
        message=message,
        last_transition_time=now,
        observed_generation=generation,
    )


def merge_conditions(
    previous: Iterable[Condition], desired: Iterable[Condition]
) -> list[Condition]:
    """The desired conditions, each keeping its previous transition time if its status held."""
    before = {c.type: c for c in previous}
    merged = []
    for wanted in desired:
        old = before.get(wanted.type)
        held = old is not None and old.status == wanted.status
        merged.append(
            wanted.model_copy(update={"last_transition_time": old.last_transition_time})
            if held and old is not None
            else wanted
        )
    return merged


def find_condition(conditions: Iterable[Condition], type_: str) -> Condition | None:
    """The condition of that type, if the list has one (a list-map keyed by type)."""
    return next((c for c in conditions if c.type == type_), None)
