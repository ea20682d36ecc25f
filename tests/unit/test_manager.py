"""The manager reconciles nothing until its view is complete and it leads (no cluster)."""

from __future__ import annotations

import asyncio
from typing import Any, cast

from journeys.api import ParticipantPhase
from journeys.controllers.manager import Manager, ManagerOptions
from journeys.runtime.kube import Kube
from journeys.view import ParticipantView

KEY = ("team", "alice")


class ListingKube:
    """Lists ``uids`` as the participants of the one namespace, nothing else."""

    def __init__(self, uids: list[str]) -> None:
        self.uids = uids
        self.lists = 0

    async def request(self, method: str, path: str, *_: Any, **__: Any) -> dict[str, Any]:
        self.lists += path.endswith("/participants")
        items = [{"metadata": {"uid": u}} for u in self.uids] if "participants" in path else []
        return {"items": items, "metadata": {}}

    async def close(self) -> None:
        return None


def view(uid: str) -> ParticipantView:
    return ParticipantView(
        "team", "alice", uid, "welcome-v1", "alice", ParticipantPhase.PENDING, "", {}, True
    )


async def until(condition: Any, seconds: float = 10.0) -> None:
    for _ in range(int(seconds / 0.01)):
        if condition():
            return
        await asyncio.sleep(0.01)


def test_queues_open_once_every_listed_object_is_in_the_view_and_it_leads() -> None:
    async def scenario() -> None:
        kube = ListingKube(["u-alice", "u-gone"])
        options = ManagerOptions(
            namespaces=("team",), completeness_poll_seconds=0.01, completeness_relist_seconds=0.1
        )
        manager = Manager(kube=cast(Kube, kube), options=options)
        reconciled: list[Any] = []

        async def record(key: Any) -> None:
            reconciled.append(key)

        manager.participant_reconciler = cast(Any, record)
        manager.start()  # leading: no peering
        manager.participants.add(KEY)  # a watch event during the listing
        manager.store.participant("u-alice", view("u-alice"))
        await asyncio.sleep(0.05)
        assert reconciled == [] and not manager.complete  # "u-gone" not seen yet
        kube.uids = ["u-alice"]  # deleted before the watch saw it: the next listing drops it
        await until(lambda: reconciled)
        assert manager.complete and kube.lists >= 2
        assert reconciled == [KEY]

        manager.pause()  # a standby from now on
        manager.participants.add(KEY)
        await asyncio.sleep(0.05)
        assert reconciled == [KEY]
        manager.resume()
        await until(lambda: len(reconciled) == 2)
        assert reconciled == [KEY, KEY]
        await manager.stop()

    asyncio.run(scenario())
