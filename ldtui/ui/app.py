"""The ldtui application: shell, themes, bindings, palette, errors. Screens live in screens/."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.screen import Screen
from textual.worker import Worker, WorkerState

from ldtui import __version__
from ldtui.api.client import RetryNotice
from ldtui.api.errors import ApiError
from ldtui.services.backend import Backend
from ldtui.services.integrations import IntegrationService
from ldtui.ui.themes import DEFAULT_THEME, STATUS_DEFAULTS, load_themes, shipped_theme_dirs


def describe_error(error: BaseException) -> str:
    """One readable sentence (or two) for a notification; never a traceback."""
    from ldtui.config import ConfigError
    from ldtui.services.integrations import DraftInvalid
    from ldtui.stores.base import StoreError

    if isinstance(error, ApiError | ConfigError | StoreError | DraftInvalid):
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
        backend: Backend,
        *,
        theme: str | None = None,
        auto_refresh: float = 0.0,
        keymap: dict[str, str] | None = None,
        user_theme_dirs: Iterable[Path] = (),
        clock: Callable[[], float] | None = None,
        blink: bool = True,
    ) -> None:
        super().__init__()
        self.blink = blink
        self.backend = backend
        self.clock = clock or backend.clock
        self.refresh_interval = auto_refresh
        self._keymap = keymap or {}
        self._theme_name = theme or DEFAULT_THEME
        self._theme_dirs = [*shipped_theme_dirs(), *user_theme_dirs]
        self.service: IntegrationService | None = None
        self._start_lock = asyncio.Lock()
        self.last_refresh: float | None = None
        backend.on_retry = self._on_retry

    # --- start-up ------------------------------------------------------------------------------

    def get_theme_variable_defaults(self) -> dict[str, str]:
        return dict(STATUS_DEFAULTS)

    def on_mount(self) -> None:
        loaded = load_themes(self._theme_dirs)
        for theme in loaded.themes:
            self.register_theme(theme)
        for problem in loaded.problems:
            self.notify(problem, title="Theme skipped", severity="warning", markup=False)
        if self._theme_name in self.available_themes:
            self.theme = self._theme_name
        else:
            if self._theme_name != DEFAULT_THEME:
                self.notify(
                    f"theme {self._theme_name!r} was not found; using {DEFAULT_THEME}",
                    severity="warning",
                    markup=False,
                )
            self.theme = DEFAULT_THEME
        if self._keymap:
            self.set_keymap(self._keymap)
        from ldtui.ui.screens.integrations import IntegrationsScreen

        self.push_screen(IntegrationsScreen())

    async def service_ready(self, progress: Callable[[str], None] | None = None) -> IntegrationService:
        """Start the backend once (resolve the token, or bring up the demo's stores)."""
        async with self._start_lock:
            if self.service is None:
                await self.backend.start(progress)
                self.service = IntegrationService(self.backend.client)
        return self.service

    async def on_unmount(self) -> None:
        await self.backend.aclose()

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

    # --- errors and retries --------------------------------------------------------------------

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
        if notice.status == 429:
            message = f"Rate limited by LaunchDarkly; retrying in {notice.wait:.0f} s"
        else:
            message = f"{notice.reason}; retrying in {notice.wait:.1f} s"
        self.notify(message, title="Retrying", severity="warning", timeout=max(3, notice.wait), markup=False)

    @property
    def version(self) -> str:
        return __version__
