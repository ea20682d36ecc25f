"""Transition shim: the models moved into the modules of :mod:`journeys.api`; import from there.

Removed once every importer has switched (see /work/coord/status.md).
"""

from journeys.api import *  # noqa: F403
from journeys.api.cel import state_transition_rule as state_transition_rule  # noqa: PLC0414
