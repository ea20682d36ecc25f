"""The use cases of journeys for every front end: one implementation, two faces (CLI, dashboard).

Preview and apply an ending (close, stop), new versions and duplicates, entering, and the "is it
done yet" rules of waiting, over a small client protocol (:class:`KubeClient`) and reading
journeys through the API models. Front ends parse arguments or forms, call these, and show the
result; the words a person confirms are theirs, the numbers and refusals come from here.
"""

from journeys.actions.ending import EndPreview, end_journey, end_patch, ending_done, preview_end
from journeys.actions.entry import enter, parse_attributes, participant_manifest, participant_name
from journeys.actions.errors import USAGE, ActionError, Forbidden
from journeys.actions.journeys import (
    FINAL_PHASES,
    Ending,
    Inside,
    JourneyView,
    event_time,
    events_of,
    family_members,
    family_of,
    get_journey,
    gitops_manager,
    inside,
    list_journeys,
    newest_first,
    participants_of,
)
from journeys.actions.kube import KubeClient, UserClient
from journeys.actions.permissions import (
    ending_refusal,
    may,
    may_create_journeys,
    may_end,
)
from journeys.actions.versions import (
    Edit,
    NewJourney,
    VersionPlan,
    create_journey,
    parse_images,
    plan_duplicate,
    plan_new_version,
)
from journeys.actions.waiting import WaitFor, parse_timeout, parse_wait_for, wait_outcome

__all__ = [
    "FINAL_PHASES",
    "USAGE",
    "ActionError",
    "Edit",
    "EndPreview",
    "Ending",
    "Forbidden",
    "Inside",
    "JourneyView",
    "KubeClient",
    "NewJourney",
    "UserClient",
    "VersionPlan",
    "WaitFor",
    "create_journey",
    "end_journey",
    "end_patch",
    "ending_done",
    "ending_refusal",
    "enter",
    "event_time",
    "events_of",
    "family_members",
    "family_of",
    "get_journey",
    "gitops_manager",
    "inside",
    "list_journeys",
    "may",
    "may_create_journeys",
    "may_end",
    "newest_first",
    "parse_attributes",
    "parse_images",
    "parse_timeout",
    "parse_wait_for",
    "participant_manifest",
    "participant_name",
    "participants_of",
    "plan_duplicate",
    "plan_new_version",
    "preview_end",
    "wait_outcome",
]
