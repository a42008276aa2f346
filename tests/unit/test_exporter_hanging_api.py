"""The exporter's stores are probed on time while LaunchDarkly's API hangs. The list used to be
awaited before any store, for up to the round's deadline (30 s, each request retried after its
timeout): meanwhile no store was read, store_up froze at its last value, and a store that went
down was not seen. The list now runs beside the round; the known targets are probed after a
short grace, and what the list brings is taken up when it comes."""

from __future__ import annotations

import asyncio
import time

from ldtui.core.health import Health
from ldtui.services.status import Target
from tests.unit.test_exporter_metrics import Clock, Service, collection, ids, status, target, unreachable


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
