"""The ldtui application: shell, themes, bindings, palette, errors. Screens live in screens/."""

from __future__ import annotations

import asyncio
import importlib
import os
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.notifications import SeverityLevel
from textual.screen import Screen
from textual.worker import Worker, WorkerState

from ldtui import __version__
from ldtui.ui.themes import DEFAULT_THEME, STATUS_DEFAULTS, load_themes, shipped_theme_dirs

if TYPE_CHECKING:
    # The REST client (httpx) and the models (pydantic) load after the first frame.
    from ldtui.api.client import RetryNotice
    from ldtui.services.backend import Backend
    from ldtui.services.integrations import IntegrationService


def describe_error(error: BaseException) -> str:
    """One readable sentence (or two) for a notification; never a traceback."""
    from ldtui.api.errors import ApiError
    from ldtui.config import ConfigError
    from ldtui.services.integrations import DraftInvalid
    from ldtui.stores.base import StoreError

    if isinstance(error, ApiError | ConfigError | StoreError | DraftInvalid | RuntimeError):
        return str(error)
    return f"{type(error).__name__}: {error}"


class LdtuiApp(App[None]):
    TITLE = "ldtui"
    SUB_TITLE = "big segment stores"
    CSS_PATH = "app.tcss"
    ENABLE_COMMAND_PALETTE = True
    BINDINGS = [
        Binding("q", "quit", "Quit", id="quit", tooltip="Leave ldtui"),
        Binding("f1", "help", "Help", id="help", tooltip="Show every key of this screen"),
    ]

    def __init__(
        self,
        backend: Backend | Callable[[], Backend],
        *,
        theme: str | None = None,
        auto_refresh: float = 0.0,
        keymap: dict[str, str] | None = None,
        user_theme_dirs: Iterable[Path] = (),
        clock: Callable[[], float] | None = None,
        blink: bool = True,
        animations: bool = False,
    ) -> None:
        super().__init__()
        # Animations off unless asked for (ui.animations, or TEXTUAL_ANIMATIONS set by hand):
        # over SSH every animated frame is bytes on a slow link. Set both ways: Textual's own
        # default was read from the environment when it was first imported.
        if "TEXTUAL_ANIMATIONS" not in os.environ:
            self.animation_level = "full" if animations else "none"
        self.blink = blink
        # A backend, or a function that makes one (config, token, client): run in a thread
        # after the first frame, so start-up shows the screen at once.
        self._backend: Backend | None = None
        self._backend_factory: Callable[[], Backend] | None = None
        if callable(backend):  # a Backend instance is not callable
            self._backend_factory = backend
        else:
            self._backend = backend
        self._clock = clock
        self.refresh_interval = auto_refresh
        self._keymap = keymap or {}
        self._theme_name = theme or DEFAULT_THEME
        self._theme_dirs = [*shipped_theme_dirs(), *user_theme_dirs]
        self.service: IntegrationService | None = None
        self._start_lock = asyncio.Lock()
        self._status_service: Any = None
        # Tests and snapshots give stores with a fixed answer; otherwise real readers.
        self.reader_factory: Any = None
        self.probe_timer: Any = None  # tests: a fixed clock for probe latencies
        self.last_refresh: float | None = None
        # The integrations of the list's last good refresh: the panel's targets while the API
        # does not answer.
        self.last_integrations: list[Any] = []
        # Set once the first frame is on screen (Textual's Ready): from then on the app can
        # be asked to exit from another thread without racing its own start-up.
        self.first_frame = threading.Event()
        self._notices = self._setup_themes()

    @property
    def backend(self) -> Backend:
        if self._backend is None:
            raise RuntimeError("not connected yet")
        return self._backend

    @property
    def connected(self) -> bool:
        return self._backend is not None

    def clock(self) -> float:
        if self._clock is not None:
            return self._clock()
        if self._backend is not None:
            return self._backend.clock()
        return time.time()

    # --- start-up ------------------------------------------------------------------------------

    def get_theme_variable_defaults(self) -> dict[str, str]:
        return dict(STATUS_DEFAULTS)

    def css_variables_cached(self) -> dict[str, str]:
        """The theme's CSS variables (status colours for cells), computed once per theme:
        generating them is a whole colour system, too dear for every row of every tick."""
        cached = getattr(self, "_css_variables_cache", None)
        if cached is None or cached[0] != self.theme:
            cached = (self.theme, self.get_css_variables())
            self._css_variables_cache = cached
        return cached[1]

    def _setup_themes(self) -> list[str]:
        """Register the shipped and user themes and pick the configured one, before the first
        frame (a theme change afterwards restyles every widget). Returns notices to show."""
        notices = []
        loaded = load_themes(self._theme_dirs)
        for theme in loaded.themes:
            self.register_theme(theme)
        notices += loaded.problems
        if self._theme_name not in self.available_themes:
            if self._theme_name != DEFAULT_THEME:
                notices.append(f"theme {self._theme_name!r} was not found; using {DEFAULT_THEME}")
            self._theme_name = DEFAULT_THEME
        self.theme = self._theme_name
        return notices

    def get_default_screen(self) -> Screen[Any]:
        # The first frame is the integrations screen itself, not a blank default screen.
        from ldtui.ui.screens.integrations import IntegrationsScreen

        return IntegrationsScreen()

    def on_ready(self) -> None:
        self.first_frame.set()

    def on_mount(self) -> None:
        # (A lost terminal, SIGHUP or SIGTERM is handled by the command line's Lifeline from
        # before the first frame: it asks this app to exit, and ends the process if it cannot.)
        for notice in self._notices:
            self.notify(notice, title="Theme", severity="warning", markup=False)
        if self._keymap:
            self.set_keymap(self._keymap)

    async def service_ready(self, progress: Callable[[str], None] | None = None) -> IntegrationService:
        """Start the backend once (read the config, resolve the token, or bring up the demo's
        stores). Heavy modules are imported in a thread, off the event loop."""
        async with self._start_lock:
            if self.service is None:
                if self._backend is None and self._backend_factory is not None:
                    if progress:
                        progress("reading configuration…")
                    self._backend = await asyncio.to_thread(self._backend_factory)
                services = await asyncio.to_thread(importlib.import_module, "ldtui.services.integrations")
                self.backend.on_retry = self._on_retry
                await self.backend.start(progress)
                self.service = services.IntegrationService(self.backend.client)
        return self.service

    async def status_service(self) -> Any:
        """The store-health service (after the backend is up), one for the session."""
        await self.service_ready()
        if self._status_service is None:
            from ldtui.config import Config, Settings
            from ldtui.services.status import StatusService

            config = self.backend.config
            if config is None:
                from pathlib import Path

                config = Config(settings=Settings(), file=Path("(none)"), file_exists=False)
                self.backend.config = config
            options: dict[str, Any] = {"reader_factory": self.reader_factory} if self.reader_factory else {}
            if self.probe_timer is not None:
                options["timer"] = self.probe_timer
            from ldtui.services.backend import ProfileBackend

            if isinstance(self.backend, ProfileBackend):
                # A real account: remember its environments' client-side IDs between runs.
                from ldtui.services.state import EnvironmentCache

                options["memory"] = EnvironmentCache.default(self.backend.base_url)
            self._status_service = StatusService(self.backend.client, config, clock=self.clock, **options)
        return self._status_service

    async def on_unmount(self) -> None:
        if self._status_service is not None:
            await self._status_service.aclose()
        if self._backend is not None:
            await self._backend.aclose()

    # --- help, palette -------------------------------------------------------------------------

    def action_help(self) -> None:
        from ldtui.ui.screens.help import HelpScreen

        self.push_screen(HelpScreen(self.screen))

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        # Every action of the current screen, as its footer lists them.
        for binding in getattr(screen, "BINDINGS", []):
            if isinstance(binding, Binding) and binding.description:
                action = binding.action

                def run(action: str = action, screen: Screen[Any] = screen) -> None:
                    self.call_later(screen.run_action, action)

                yield SystemCommand(binding.description, binding.tooltip or binding.description, run)

    # --- notifications, errors and retries ------------------------------------------------------

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = True,
    ) -> None:
        """Every notification (the app's, a screen's, a widget's) passes here: its text may hold
        an integration's name or a server's message, so control characters are spelled out
        (an OSC 52 in a name must not reach the terminal) and markup is never parsed."""
        from ldtui.core.text import literal, literal_lines

        super().notify(
            literal_lines(str(message)),
            title=literal(title),
            severity=severity,
            timeout=timeout,
            markup=False,
        )


    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        self.report_worker(event)

    def report_worker(self, event: Worker.StateChanged) -> None:
        """One place that turns every failed worker (the app's or a screen's) into a readable
        notification."""
        if event.state == WorkerState.ERROR and event.worker.error is not None:
            self.notify(
                describe_error(event.worker.error),
                title=event.worker.description or "Failed",
                severity="error",
                timeout=12,
                markup=False,
            )

    def _on_retry(self, notice: RetryNotice) -> None:
        """A rate-limit wait is worth a word (the next answer is seconds away, on purpose);
        retries of server errors are not (during an outage they would stack up as toasts: the
        status lines say what failed and when it is tried again)."""
        if notice.status == 429:
            message = f"Rate limited by LaunchDarkly; retrying in {notice.wait:.0f} s"
            self.notify(message, title="Retrying", severity="warning", timeout=max(3, notice.wait))

    @property
    def version(self) -> str:
        return __version__
