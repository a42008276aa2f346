"""The exporter's stores are probed on time while LaunchDarkly's API hangs. The list used to be
awaited before any store, for up to the round's deadline (30 s, each request retried after its
timeout): meanwhile no store was read, store_up froze at its last value, and a store that went
down was not seen. The list now runs beside the round; the known targets are probed after a
short grace, and what the list brings is taken up when it comes.

The API collector is not up while the list hangs: once the list has had no answer from the API
for the client's deadline of one request, ``collector_up{collector="api"}`` is 0 (published at
once, whatever the rounds are doing) and its last success keeps its true time; it is 1 again
when the list answers. A list that takes long but keeps being answered is not down."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import httpx

from ldtui.api.client import LaunchDarklyClient, RetryPolicy
from ldtui.core.health import Health
from ldtui.services.exporter import Collection, Snapshot
from ldtui.services.status import Target
from tests.unit.test_exporter_metrics import (
    NOW_MS,
    Clock,
    Service,
    collection,
    ids,
    status,
    target,
    unreachable,
)


class HangingList(Service):
    def __init__(self, targets: list[Target]) -> None:
        super().__init__(targets)
        self.gate: asyncio.Event | None = None
        self.lists = 0

    async def targets(self) -> list[Target]:
        self.lists += 1
        if self.gate is not None:
            await self.gate.wait()
        return await super().targets()


async def test_stores_are_probed_while_the_list_hangs() -> None:
    service = HangingList([target(1), target(2)])
    c, published = collection(service, clock := Clock())
    c.list_grace = 0.2
    await c.collect()
    assert ids(published[-1]) == ["integration-1", "integration-2"]
    # The API hangs; the store of integration-1 goes down.
    service.gate = asyncio.Event()
    service.answers["integration-1"] = status(target(1), Health.UNAVAILABLE, store=unreachable())
    clock.now += 5
    started = time.monotonic()
    await asyncio.wait_for(c.collect(), 5)
    assert time.monotonic() - started < 2  # the grace, not the list's deadline
    assert published[-1].readings[0].store_up == 0.0  # seen while the API hangs
    assert service.lists == 2
    # The next rounds do not ask again while that list is in flight; the stores keep coming.
    clock.now += 5
    await asyncio.wait_for(c.collect(), 5)
    assert service.lists == 2 and service.probed.count("integration-2") == 3
    # The list answers, with a new integration: taken up by the next round, and probed.
    service.listing = [target(2), target(3)]
    service.gate.set()
    await asyncio.sleep(0)
    clock.now += 5
    await asyncio.wait_for(c.collect(), 5)
    assert ids(published[-1]) == ["integration-2", "integration-3"]
    assert published[-1].collectors["api"].up


async def test_a_prompt_list_is_used_by_its_own_round() -> None:
    service = HangingList([target(1)])
    c, published = collection(service, clock := Clock())
    await c.collect()
    service.listing = [target(1), target(4)]
    clock.now += 5
    await c.collect()
    assert ids(published[-1]) == ["integration-1", "integration-4"]


async def test_stopping_cancels_a_list_in_flight() -> None:
    service = HangingList([target(1)])
    c, _published = collection(service, clock := Clock())
    c.list_grace = 0.1
    await c.collect()
    service.gate = asyncio.Event()
    clock.now += 5
    runner = asyncio.ensure_future(c.run())
    deadline = time.monotonic() + 5
    while c.rounds < 2:
        assert time.monotonic() < deadline
        await asyncio.sleep(0.05)
    listing = c.listing_task
    assert listing is not None and not listing.done()
    runner.cancel()
    await asyncio.gather(runner, return_exceptions=True)
    assert listing.cancelled()


async def until(what: str, condition: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"{what}: not within {timeout:g} s"
        await asyncio.sleep(0.01)


def api_up(published: list[Snapshot]) -> bool:
    return bool(published) and published[-1].collectors["api"].up


async def test_the_api_collector_is_down_while_the_list_hangs_past_its_deadline() -> None:
    service = HangingList([target(1)])
    published: list[Snapshot] = []
    notes: list[str] = []
    c = Collection(service, 5.0, publish=published.append, note=notes.append, api_deadline=1.0)  # type: ignore[arg-type]
    c.list_grace = 0.05
    await c.collect()
    assert api_up(published) and published[-1].collectors["api"].last_success == NOW_MS / 1000
    # The API hangs: a round goes on without the list after its grace, the API still up (the
    # list is not past its deadline yet); then, with no round running, it goes down by itself.
    service.gate = asyncio.Event()
    c.api_next_due = 0.0
    hung = time.monotonic()
    await asyncio.wait_for(c.collect(), 5)
    assert time.monotonic() - hung < 1.0 and api_up(published)
    await until("the API collector down", lambda: not api_up(published))
    assert time.monotonic() - hung >= 1.0  # not before the deadline
    down = published[-1]
    assert down.collectors["api"].last_success == NOW_MS / 1000  # its true time, not moved
    assert c.listing_task is not None and not c.listing_task.done()  # the list goes on
    assert notes == ["LaunchDarkly API: no answer for 1 s (its timeout); the stores are still probed"]
    # Rounds during the hang keep it down (and keep probing the stores).
    service.now += 30
    await asyncio.wait_for(c.collect(), 5)
    assert not api_up(published) and published[-1].rounds == 3 and service.probed.count("integration-1") == 3
    # The API answers: up again at once (no round needed), its last success now.
    service.gate.set()
    await until("the API collector up again", lambda: api_up(published))
    assert published[-1].collectors["api"].last_success == service.now
    assert notes[1:] == ["LaunchDarkly API answers again"]


async def test_an_api_hung_from_the_start_is_down_before_the_list_fails() -> None:
    """Nothing known to probe: the first round waits for the list, and the API collector is
    published down at its deadline meanwhile (no last success: it never had one)."""
    service = HangingList([target(1)])
    service.gate = asyncio.Event()
    published: list[Snapshot] = []
    c = Collection(service, 5.0, publish=published.append, api_deadline=0.2)  # type: ignore[arg-type]
    first = asyncio.ensure_future(c.collect())
    try:
        await until(
            "the API collector down", lambda: bool(published) and not published[-1].collectors["api"].up
        )
        assert published[-1].collectors["api"].last_success is None and published[-1].rounds == 0
        assert not first.done()
        service.gate.set()
        await asyncio.wait_for(first, 5)
        assert api_up(published) and ids(published[-1]) == ["integration-1"]
    finally:
        first.cancel()
        await asyncio.gather(first, return_exceptions=True)
        if c.listing_task is not None:
            c.listing_task.cancel()
            await asyncio.gather(c.listing_task, return_exceptions=True)


class ClientList(Service):
    """A list made of several requests through the real API client, each answered after
    ``delay`` by an HTTP transport (``None``: never answered)."""

    def __init__(self, targets: list[Target], requests: int, deadline: float) -> None:
        super().__init__(targets)
        self.requests = requests
        self.delay: float | None = 0.0
        body = {"_links": {"self": {"href": "/x"}}, "items": []}

        async def answer(request: httpx.Request) -> httpx.Response:
            if self.delay is None:
                await asyncio.Event().wait()
            await asyncio.sleep(self.delay or 0)
            return httpx.Response(200, json=body)

        self.client = LaunchDarklyClient(
            "http://api.test",
            "api-token",
            deadline=deadline,
            retry=RetryPolicy(backoff_base=1.0, jitter=0.0),  # a timeout is retried 1 s, then 2 s later
            transport=httpx.MockTransport(answer),
        )

    async def targets(self) -> list[Target]:
        for _ in range(self.requests):
            await self.client.list_integrations()
        return await super().targets()


async def test_a_long_list_that_keeps_being_answered_is_up_and_one_request_hung_is_down() -> None:
    service = ClientList([target(1)], requests=4, deadline=0.3)
    published: list[Snapshot] = []
    c = Collection(service, 5.0, publish=published.append, api_deadline=service.client.deadline)  # type: ignore[arg-type]
    c.list_grace = 0.05
    try:
        await c.collect()
        # Four requests of 0.2 s each: 0.8 s in all, past the deadline, but never 0.3 s unanswered.
        service.delay = 0.2
        c.api_next_due = 0.0
        started = time.monotonic()
        await c.collect()
        listing = c.listing_task
        assert listing is not None
        await asyncio.wait_for(listing, 5)
        assert time.monotonic() - started >= 0.8
        assert all(s.collectors["api"].up for s in published)
        await c.collect()  # takes up the list that ended beside the rounds
        # One request that is never answered: down at its deadline, long before the client
        # gives up (three attempts of 0.3 s, 1 s and 2 s apart).
        service.delay = None
        c.api_next_due = 0.0
        hung = time.monotonic()
        await c.collect()
        await until("the API collector down", lambda: not api_up(published))
        assert 0.3 <= time.monotonic() - hung < 1.2
        assert c.listing_task is not None and not c.listing_task.done()
    finally:
        if c.listing_task is not None:
            c.listing_task.cancel()
            await asyncio.gather(c.listing_task, return_exceptions=True)
        await service.client.aclose()
