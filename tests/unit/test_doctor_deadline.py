"""The doctor's API deadline (services.doctor): the API's steps share one budget, what was
listed before it passed is kept, a step after it is not begun, and its default is three of the
client's timeouts. The API here is a fake whose slow call waits on an event nobody sets: the
deadline is the only thing that ends it (the emulator's latency is tested in
tests/integration/test_doctor_cli.py)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from ldtui.services.doctor import ApiDeadlinePassed, DoctorService


@dataclass
class Named:
    key: str
    id: str = ""


@dataclass
class SlowApi:
    """Projects ``fast`` and ``slow``: the second's environments never come."""

    deadline: float = 10.0
    asked: list[str] = field(default_factory=list)
    never: asyncio.Event = field(default_factory=asyncio.Event)

    async def iter_projects(self) -> AsyncIterator[Named]:
        for key in ("fast", "slow"):
            yield Named(key)

    async def list_environments(self, project: str) -> list[Named]:
        self.asked.append(f"environments {project}")
        if project == "slow":
            await self.never.wait()
        return [Named("production", f"id-{project}")]

    async def public_ip_list(self) -> Any:
        self.asked.append("public-ip-list")
        raise AssertionError("asked after the deadline")


async def test_what_was_listed_in_time_is_kept_and_the_rest_is_not_asked() -> None:
    api = SlowApi()
    service = DoctorService(api, None, environ={}, api_deadline=0.3, api_deadline_fix="--flag raises it")
    loop = asyncio.get_running_loop()
    started = loop.time()
    assert await service.environments() == {"id-fast": "fast/production"}
    assert 0.3 <= loop.time() - started < 5
    error = service._environments_error or ""
    assert error.startswith("the environments of 1 of 2 projects were listed, not all: ")
    assert "no answer within the doctor's API deadline of 0.3 s; --flag raises it" in error
    # Past the deadline, the next step is not begun and says why.
    outbound = await service.outbound()
    assert outbound.result == "SKIP"
    assert "not asked: the doctor's API deadline of 0.3 s had passed; --flag raises it" in outbound.found
    assert api.asked == ["environments fast", "environments slow"]


async def test_the_steps_share_one_budget() -> None:
    service = DoctorService(SlowApi(), None, environ={}, api_deadline=5.0)
    service.api_spent = 4.9  # the earlier steps' time
    loop = asyncio.get_running_loop()
    started = loop.time()
    with pytest.raises(ApiDeadlinePassed) as caught:
        async with service.api_window():
            await asyncio.Event().wait()
    assert loop.time() - started < 4  # what was left, not the whole deadline again
    assert caught.value.summary == (
        "no answer within the doctor's API deadline of 5 s; a longer timeout in the profile raises it"
    )
    assert service.api_spent >= 5.0


async def test_a_timeout_of_the_step_itself_is_not_the_deadline() -> None:
    service = DoctorService(SlowApi(), None, environ={}, api_deadline=60.0)
    with pytest.raises(TimeoutError) as caught:
        async with service.api_window():
            raise TimeoutError("the step's own")
    assert not isinstance(caught.value, ApiDeadlinePassed)


def test_the_default_is_three_of_the_clients_timeouts() -> None:
    assert DoctorService(SlowApi(deadline=4.0), None, environ={}).api_deadline == 12.0
    assert DoctorService(None, None, environ={}).api_deadline == 30.0
    assert DoctorService(SlowApi(), None, environ={}, api_deadline=2.5).api_deadline == 2.5
