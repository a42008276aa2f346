"""The checked bulk path keeps one store read in flight while it explains the window before:
never two at once, results in input order, and a stream closed early leaves no read behind."""

from __future__ import annotations

import asyncio
from typing import Any

from ldtui.core.bigsegments import Membership
from ldtui.core.key_input import hash_checked
from ldtui.services.inspect import Inspector
from ldtui.stores.base import BigSegmentStoreReader


class CountingReader:
    kind = "redis"
    prefix = "p"
    description = "counting reader"
    # The bulk path's call, as every store reader has it (answers in the order asked).
    memberships_in_order = BigSegmentStoreReader.memberships_in_order

    def __init__(self, included: set[str]) -> None:
        self.included = included
        self.in_flight = 0
        self.most = 0
        self.calls = 0
        self.cancelled = 0
        self.gate: asyncio.Event | None = None

    async def get_memberships(self, hashes: Any) -> dict[str, Any]:
        self.calls += 1
        self.in_flight += 1
        self.most = max(self.most, self.in_flight)
        try:
            await asyncio.sleep(0.001)
            if self.gate is not None:
                await self.gate.wait()
            member = Membership(included=frozenset({"seg.g1"}))
            return {h: (member if h in self.included else None) for h in hashes}
        except asyncio.CancelledError:
            self.cancelled += 1
            raise
        finally:
            self.in_flight -= 1

    async def aclose(self) -> None:
        return None


class Checked(list[str]):
    checked = True

    def windows(self, size: int) -> Any:
        for i in range(0, len(self), size):
            yield list(self[i : i + size])


async def test_one_read_in_flight_and_results_in_order() -> None:
    keys = Checked(f"user-{i}" for i in range(1_000))
    hashes = hash_checked(keys)
    reader = CountingReader(set(hashes[::3]))
    inspector = Inspector(reader, typed={"seg": 1})  # type: ignore[arg-type]
    seen: list[str] = []
    async for window in inspector.stream(keys, window=64):
        seen += [r.key for r in window]
        for r in window:
            verdict = r.answers[0].verdict
            assert verdict == ("included" if r.hash in reader.included else "no-data"), r.key
    assert seen == list(keys)
    assert reader.calls == -(-len(keys) // 64)
    assert reader.most == 1  # the next read is sent only once the one before has answered


async def test_closing_the_stream_cancels_the_read_ahead() -> None:
    keys = Checked(f"user-{i}" for i in range(200))
    reader = CountingReader(set())
    inspector = Inspector(reader, typed={"seg": 1})  # type: ignore[arg-type]
    stream = inspector.stream(keys, window=50)
    first = await stream.__anext__()
    assert len(first) == 50
    reader.gate = asyncio.Event()  # the read ahead now waits for ever
    await asyncio.sleep(0.01)
    await stream.aclose()
    assert reader.in_flight == 0 and reader.cancelled == 1
