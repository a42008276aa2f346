"""A deterministic app for screen tests and snapshots: seeded emulator in-process, statuses as
the syncer would have left them, a fixed clock, no cursor blink."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ldtui.emulator.runtime import EmulatorRuntime
from ldtui.emulator.seed import DEFAULT_TOKEN, SeedOptions, build_state, simulate_history
from ldtui.emulator.state import EmulatorState
from ldtui.emulator.syncer import Endpoints
from ldtui.services.backend import EmulatorBackend
from ldtui.stores.base import BigSegmentStoreReader
from ldtui.ui.app import LdtuiApp
from tests.conftest import FakeClock

NOW = 1_795_000_000.0


@dataclass
class World:
    app: LdtuiApp
    state: EmulatorState
    clock: FakeClock
    sleeps: list[float]


def make_world(
    *, theme: str | None = None, token: str = DEFAULT_TOKEN, seed: int = 1, **app_kwargs: Any
) -> World:
    clock = FakeClock(NOW)
    state = build_state(SeedOptions(seed=seed, contexts=60, extra_projects=22), clock=clock)
    simulate_history(state)
    sleeps: list[float] = []

    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)

    backend = EmulatorBackend(
        EmulatorRuntime(state, Endpoints()), token, clock=clock, client_options={"sleep": sleep}
    )
    app = LdtuiApp(backend, theme=theme, clock=clock, blink=False, **app_kwargs)
    app.probe_timer = lambda: 0.0  # every probe takes 0.0 ms: snapshots do not vary with load
    return World(app, state, clock, sleeps)


def find(state: EmulatorState, name: str) -> Any:
    return next(i for i in state.integrations.values() if i.name == name)


# The screens' poll loops run for as long as their screen: never "complete".
LOOP_GROUPS = {"list-poll", "status-poll", "inspector-freshness"}


async def settle(pilot: Any, timeout: float = 15.0) -> None:
    """Let workers finish, and every poll that runs or was asked for (a key press) end. A
    failed worker is the app's to report (that is what is tested). Waits for a condition with
    a deadline, never a fixed time."""
    import contextlib
    import time

    from textual.worker import WorkerFailed

    deadline = time.monotonic() + timeout
    for _ in range(3):
        await pilot.pause()
        others = [w for w in pilot.app.workers if w.group not in LOOP_GROUPS]
        if others:  # (an empty list means "every worker" to Textual)
            with contextlib.suppress(WorkerFailed):
                await pilot.app.workers.wait_for_complete(others)
        while time.monotonic() < deadline:
            loops = [s.loop for s in pilot.app.screen_stack if getattr(s, "loop", None) is not None]
            current = getattr(pilot.app.screen, "loop", None)
            first_done = current is None or current.state.polls > 0
            if first_done and not any(loop.busy for loop in loops):
                break
            await pilot.pause(0.02)
    await pilot.pause()


class FixedReader:
    """A store reader with a fixed answer (for snapshots: no real latency, no real clock)."""

    kind = "redis"
    # The bulk path's call, as every store reader has it (answers in the order asked).
    memberships_in_order = BigSegmentStoreReader.memberships_in_order

    def __init__(
        self,
        synchronized_on: int | None,
        *,
        reachable: bool = True,
        error: str | None = None,
        latency_ms: float = 0.4,
        cursor: str | None = "00000000000000000000002a",
    ) -> None:
        self.synchronized_on = synchronized_on
        self.reachable = reachable
        self.error = error
        self.latency_ms = latency_ms
        self.cursor = cursor
        self.prefix = ""

    @property
    def description(self) -> str:
        return "fixed"

    async def probe(self) -> Any:
        from ldtui.stores.base import Probe

        if not self.reachable:
            return Probe(False, None, "redis://10.0.0.7:6379/0: cannot connect: Connection refused")
        return Probe(True, self.latency_ms)

    async def get_metadata(self) -> Any:
        from ldtui.stores.base import Metadata, StoreDataError, StoreUnavailable

        if not self.reachable:
            raise StoreUnavailable("cannot connect: Connection refused", store="redis://10.0.0.7:6379/0")
        if self.error:
            raise StoreDataError(self.error)
        raw = None if self.synchronized_on is None else str(self.synchronized_on)
        return Metadata(self.synchronized_on, cursor=self.cursor, raw=raw)

    async def aclose(self) -> None:
        return None


def fixed_stores(world: World, answers: dict[str, FixedReader]) -> None:
    """Configure stores for environments ("project/env") and answer them with fixed readers."""
    from pathlib import Path

    from ldtui.config import Config, Settings

    stores = {key: {"type": "redis", "url": "redis://10.0.0.7:6379/0"} for key in answers}
    world.app.backend.config = Config(
        settings=Settings.model_validate({"stores": stores}), file=Path("(test)"), file_exists=False
    )
    by_store = {key: reader for key, reader in answers.items()}

    def factory(store: Any, prefix: str, password: Any) -> Any:
        for key, cfg in world.app.backend.config.settings.stores.items():
            if cfg is store:
                return by_store[key]
        raise KeyError(store)

    world.app.reader_factory = factory


class MemoryReader(FixedReader):
    """A store held in memory, filled by replaying an environment's patch log exactly as the
    relay applies it (so older generations linger as they do in real stores). Deterministic,
    for screen tests and snapshots; ``delay`` slows every read to test progress and cancel."""

    def __init__(
        self, env: Any, synchronized_on: int | None, *, prefix: str = "", delay: float = 0.0
    ) -> None:
        super().__init__(synchronized_on)
        self.prefix = prefix or env.id
        self.delay = delay
        self.sets: dict[str, tuple[set[str], set[str]]] = {}
        self.reads = 0
        for patch in env.patch_log:
            for h, sides in patch.net_changes().items():
                inc, exc = self.sets.setdefault(h, (set(), set()))
                for side, op in sides.items():
                    target = inc if side == "included" else exc
                    (target.add if op == "add" else target.discard)(patch.segment_id)

    async def get_memberships(self, hashes: Any) -> dict[str, Any]:
        import asyncio

        from ldtui.core.bigsegments import Membership

        self.reads += 1
        if self.delay:
            await asyncio.sleep(self.delay)
        out: dict[str, Any] = {}
        for h in hashes:
            inc, exc = self.sets.get(h, (set(), set()))
            out[h] = Membership(frozenset(inc), frozenset(exc)) if inc or exc else None
        return out

    async def statistics(self, *, progress: Any = None, batch: int = 1000) -> Any:
        import asyncio
        from collections import Counter

        from ldtui.stores.base import Progress, StoreStatistics

        stats = StoreStatistics()
        inc_c: Counter[str] = Counter()
        exc_c: Counter[str] = Counter()
        items = sorted(self.sets.items())
        for n, (_, (inc, exc)) in enumerate(items, start=1):
            if inc or exc:
                stats.contexts += 1
            inc_c.update(inc)
            exc_c.update(exc)
            if n % 20 == 0:
                if self.delay:
                    await asyncio.sleep(self.delay)
                if progress is not None:
                    progress(Progress(n, None, stats.contexts))
        stats.included, stats.excluded, stats.complete = dict(inc_c), dict(exc_c), True
        return stats


def memory_stores(world: World, when_ms: int, **options: Any) -> dict[str, MemoryReader]:
    """Every seeded Redis and DynamoDB environment of the demo as an in-memory store."""
    answers = {}
    for key in ("default/production", "default/staging", "mobile-app/production"):
        project, env = key.split("/")
        answers[key] = MemoryReader(world.state.projects[project].environments[env], when_ms, **options)
    fixed_stores(world, answers)  # type: ignore[arg-type]
    return answers


async def wait_until(pilot: Any, condition: Any, timeout: float = 15.0, what: str = "") -> None:
    """Let the app run until ``condition()`` holds, or fail after ``timeout`` seconds: for
    tests that race a worker or a timer, instead of a fixed pause that a busy machine outruns."""
    import time

    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"not within {timeout:g} s: {what or condition}"
        await pilot.pause(0.01)
