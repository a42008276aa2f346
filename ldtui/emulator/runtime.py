"""The emulator put together: state, API app and syncer; served over HTTP by uvicorn, or used
in-process through ``httpx.ASGITransport`` (the demo and fast tests)."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from ldtui.emulator.app import Emulator
from ldtui.emulator.state import EmulatorState
from ldtui.emulator.syncer import Endpoints, Syncer


@dataclass(frozen=True)
class SyncSettings:
    interval: float = 1.0  # seconds between sync passes
    heartbeat_ms: int = 10_000  # synchronizedOn refresh without changes (the relay: 30 s)
    change_every: int = 5  # passes between membership changes; 0 = never
    retry_ms: int = 10_000  # after a failed sync, wait this long (the relay: 10 s)


class EmulatorRuntime:
    def __init__(
        self, state: EmulatorState, endpoints: Endpoints, sync: SyncSettings = SyncSettings()
    ) -> None:
        self.state = state
        self.api = Emulator(state)
        self.syncer = Syncer(
            state,
            endpoints,
            interval=sync.interval,
            heartbeat_ms=sync.heartbeat_ms,
            change_every=sync.change_every,
            retry_ms=sync.retry_ms,
        )

    def asgi_app(self, *, run_syncer: bool = True) -> Any:
        """The app; with ``run_syncer`` its lifespan runs the syncer beside it."""

        @contextlib.asynccontextmanager
        async def lifespan(app: Any) -> AsyncIterator[None]:
            if run_syncer:
                await self.syncer.start()
            try:
                yield
            finally:
                await self.syncer.stop()

        return self.api.app(lifespan=lifespan)

    def transport(self) -> Any:
        """In-process transport for ``LaunchDarklyClient(transport=...)``. httpx does not run
        lifespans: use ``async with runtime.syncing():`` to run the syncer."""
        import httpx

        return httpx.ASGITransport(app=self.api.app())

    @contextlib.asynccontextmanager
    async def syncing(self) -> AsyncIterator[EmulatorRuntime]:
        await self.syncer.start()
        try:
            yield self
        finally:
            await self.syncer.stop()


def bind_socket(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(128)
    sock.setblocking(False)
    return sock


class ThreadedEmulator:
    """Serve a runtime over real HTTP from a background thread (tests, scripts, screenshots)."""

    def __init__(
        self,
        runtime: EmulatorRuntime,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        run_syncer: bool = True,
    ) -> None:
        self.runtime = runtime
        self.sock = bind_socket(host, port)
        self.host = host
        self.port = self.sock.getsockname()[1]
        self.run_syncer = run_syncer
        self._server: Any = None
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> ThreadedEmulator:
        import uvicorn

        config = uvicorn.Config(
            self.runtime.asgi_app(run_syncer=self.run_syncer),
            log_level="warning",
            lifespan="on",
        )
        self._server = uvicorn.Server(config)
        started = threading.Event()

        def run() -> None:
            loop = asyncio.new_event_loop()
            asyncio.set_event_loop(loop)
            self._server.config.setup_event_loop = lambda: None

            async def serve() -> None:
                task = asyncio.create_task(self._server.serve(sockets=[self.sock]))
                while not self._server.started and not task.done():
                    await asyncio.sleep(0.01)
                started.set()
                await task

            loop.run_until_complete(serve())
            loop.close()

        # uvicorn installs signal handlers only in the main thread; here it must not.
        self._server.install_signal_handlers = lambda: None
        self._thread = threading.Thread(target=run, name="ldtui-emulator", daemon=True)
        self._thread.start()
        if not started.wait(15):
            raise RuntimeError("the emulator did not start")
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(15)
            self._thread = None
        self.sock.close()
