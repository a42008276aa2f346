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
from ldtui.ui.app import LdtuiApp
from tests.conftest import FakeClock

NOW = 1_795_000_000.0


@dataclass
class World:
    app: LdtuiApp
    state: EmulatorState
    clock: FakeClock
    sleeps: list[float]


def make_world(*, theme: str | None = None, token: str = DEFAULT_TOKEN, seed: int = 1, **app_kwargs: Any) -> World:
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
    return World(app, state, clock, sleeps)


def find(state: EmulatorState, name: str) -> Any:
    return next(i for i in state.integrations.values() if i.name == name)


async def settle(pilot: Any) -> None:
    """Let workers finish. A failed worker is the app's to report (that is what is tested)."""
    import contextlib

    from textual.worker import WorkerFailed

    for _ in range(3):
        await pilot.pause()
        with contextlib.suppress(WorkerFailed):
            await pilot.app.workers.wait_for_complete()
    await pilot.pause()
