"""The ldtui application: shell, themes, bindings, palette, errors. Screens live in screens/."""

from __future__ import annotations

import asyncio
import importlib
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.filter import ANSIToTruecolor, LineFilter, Monochrome, NoColor
from textual.notifications import SeverityLevel
from textual.screen import Screen
from textual.worker import Worker, WorkerState

from ldtui import __version__
from ldtui.ui.keys import is_hidden
from ldtui.ui.themes import DEFAULT_THEME, STATUS_DEFAULTS, load_themes, shipped_theme_dirs

if TYPE_CHECKING:
    # The REST client (httpx) and the models (pydantic) load after the first frame.
    from ldtui.api.client import RetryNotice
    from ldtui.services.audit import AuditTrail
    from ldtui.services.backend import Backend
    from ldtui.services.integrations import IntegrationService

# A toast shows at most this many lines of text (its title included); the notification log
# (Ctrl+N) has every word.
TOAST_LINES = 4
NOTIFICATION_LOG = 500


@dataclass(frozen=True)
class Notice:
    """One notification, in full, for the log."""

    time: float  # the app's clock
    severity: str
    title: str
    message: str  # escaped already


def describe_error(error: BaseException) -> str:
    """One readable sentence (or two) for a notification; never a traceback."""
    from ldtui.api.errors import ApiError
    from ldtui.config import ConfigError
    from ldtui.services.integrations import DraftInvalid
    from ldtui.stores.base import StoreError

    if isinstance(error, ApiError | ConfigError | StoreError | DraftInvalid | RuntimeError):
        return str(error)
    return f"{type(error).__name__}: {error}"


def short_reason(error: BaseException) -> str:
    """A failure in a few words, for a status line ("HTTP 500", "timeout"); the notification
    and the log (Ctrl+N) have the whole message."""
    from ldtui.api.errors import NETWORK_ERROR, TIMEOUT, ApiError
    from ldtui.core.text import literal, truncate

    if isinstance(error, ApiError):
        if error.status is not None:
            return f"HTTP {error.status}"
        known = {TIMEOUT: "timeout", NETWORK_ERROR: "network error"}
        return known.get(error.code) or truncate(literal(error.code), 40)
    if isinstance(error, TimeoutError):
        return "timeout"
    if isinstance(error, OSError):
        return "network error"
    return truncate(literal(describe_error(error)), 40)


class LdtuiApp(App[None]):
    TITLE = "ldtui"
    SUB_TITLE = "big segment stores"
    CSS_PATH = "app.tcss"
    ENABLE_COMMAND_PALETTE = True
    BINDINGS = [
        Binding("q", "quit", "Quit", id="quit", tooltip="Leave ldtui"),
        Binding("f1", "help", "Help", id="help", tooltip="Show every key of this screen"),
        Binding(
            "ctrl+n",
            "notifications",
            "Messages",
            id="notifications",
            show=False,
            tooltip="Every notification of this session, in full",
        ),
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
        read_only: bool = False,
        read_only_reason: str = "",
        state_dir: Path | None = None,
        theme_configured: bool = False,
    ) -> None:
        """``state_dir``: where the chosen theme is remembered and the audit trail written
        (``None``: nothing is remembered or written; tests and snapshots). ``theme`` wins over
        the remembered theme when ``theme_configured`` (the configuration set it)."""
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
        self._ldtui_keymap = keymap or {}
        self.state_dir = state_dir
        self._read_only = read_only
        self.read_only_reason = read_only_reason if read_only else ""
        self.notices: deque[Notice] = deque(maxlen=NOTIFICATION_LOG)
        self._audit_failure_said = False
        self._no_color_filters: tuple[int, list[LineFilter]] | None = None
        remembered = None if theme_configured else self._remembered_theme()
        self._theme_name = remembered or theme or DEFAULT_THEME
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
    def keymap(self) -> dict[str, str]:
        """The configured remapping ([keys]: binding id -> keys)."""
        return dict(self._ldtui_keymap)

    @property
    def read_only(self) -> bool:
        """Nothing is created, edited, switched or deleted: ``--read-only``, ``ui.read_only``,
        or the profile's ``read_only``."""
        return self._read_only

    def set_read_only(self, reason: str) -> None:
        """Turn read-only on (a profile's ``read_only``, known once the configuration is
        read): the write keys leave every key bar, F1 and the palette."""
        if self._read_only:
            return
        self._read_only = True
        self.read_only_reason = reason
        self._update_title()
        for screen in self.screen_stack:
            screen.refresh_bindings()

    def refuse_write(self, what: str) -> bool:
        """True (and a word on screen) when the session is read-only."""
        if not self.read_only:
            return False
        self.notify(
            f"Read-only session ({self.read_only_reason}): nothing can be {what}.",
            title="Read-only",
            severity="warning",
            timeout=6,
        )
        return True

    def show_connection(self) -> None:
        """The header says which account this is: the profile and its URL."""
        self.sub_title = self.default_sub_title  # safe-text: default_sub_title escapes

    @property
    def default_sub_title(self) -> str:
        if self.connected:
            from ldtui.core.text import literal

            return f"{literal(self.backend.label)} · {literal(self.backend.base_url)}"
        return type(self).SUB_TITLE

    def _update_title(self) -> None:
        # safe-text: ldtui's own title
        self.title = f"{type(self).TITLE} · READ-ONLY" if self.read_only else type(self).TITLE

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

    # --- the theme remembered, the palette's themes, NO_COLOR ----------------------------------

    def _remembered_theme(self) -> str | None:
        if self.state_dir is None:
            return None
        from ldtui.services.preferences import Preferences

        return Preferences(self.state_dir).theme

    def _remember_theme(self, theme: Any) -> None:
        if self.state_dir is None:
            return
        from ldtui.services.preferences import Preferences

        name = getattr(theme, "name", None)
        if isinstance(name, str):
            Preferences(self.state_dir).remember_theme(name)

    @property
    def ldtui_themes(self) -> list[str]:
        """ldtui's themes (shipped, then the user's own): what the palette offers."""
        return [t.name for t in load_themes(self._theme_dirs).themes if t.name in self.available_themes]

    def search_themes(self) -> None:
        """The palette's Theme command: ldtui's themes only (the shipped ones and the user's
        own; each defines the status colours). Textual's own themes still work from
        ``ui.theme``."""
        from textual.command import CommandPalette

        from ldtui.ui.themes import LdThemeProvider

        self.push_screen(CommandPalette(providers=[LdThemeProvider], placeholder="Search for themes…"))

    def get_line_filters(self) -> Sequence[LineFilter]:
        """NO_COLOR, for every theme: Textual chooses its no-colour filter once, from its own
        default theme, before ldtui's theme is set, and an ANSI theme then renders its
        "default" colours as black on black. Here every colour (ANSI ones through the
        terminal palette first) becomes a grey of its own brightness, whatever the theme."""
        filters = super().get_line_filters()
        if not self.no_color:
            return filters
        ansi = self.ansi_theme
        if self._no_color_filters is None or self._no_color_filters[0] != id(ansi):
            self._no_color_filters = (id(ansi), [ANSIToTruecolor(ansi), Monochrome()])
        kept = [f for f in filters if not isinstance(f, ANSIToTruecolor | Monochrome | NoColor)]
        return [*self._no_color_filters[1], *kept]

    def get_default_screen(self) -> Screen[Any]:
        # The first frame is the integrations screen itself, not a blank default screen.
        from ldtui.ui.screens.integrations import IntegrationsScreen

        return IntegrationsScreen()

    def on_ready(self) -> None:
        self.first_frame.set()

    def on_mount(self) -> None:
        # (A lost terminal, SIGHUP or SIGTERM is handled by the command line's Lifeline from
        # before the first frame: it asks this app to exit, and ends the process if it cannot.)
        self._update_title()
        for notice in self._notices:
            self.notify(notice, title="Theme", severity="warning", markup=False)
        if self._ldtui_keymap:
            self.set_keymap(self._ldtui_keymap)
        # A theme chosen from the palette is the next session's too (unless configured).
        self.theme_changed_signal.subscribe(self, self._remember_theme)

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
                profile_read_only = getattr(self.backend, "read_only", False)
                if profile_read_only is True:
                    self.set_read_only(f"profile {self.backend.label}: read_only = true")
                self.service = services.IntegrationService(
                    self.backend.client,
                    audit=self._audit_trail(),
                    read_only=self.read_only,
                    read_only_why=self.read_only_reason,
                )
        return self.service

    def _audit_trail(self) -> AuditTrail | None:
        """Every write of this session, appended to the audit file in the state directory."""
        if self.state_dir is None:
            return None
        from ldtui.services.audit import FILE_NAME, AuditLog, AuditTrail

        return AuditTrail(
            AuditLog(self.state_dir / FILE_NAME, clock=self.clock),
            profile=self.backend.label,
            base_url=self.backend.base_url,
            on_write_failure=self._audit_failed,
        )

    @property
    def audit_path(self) -> Path | None:
        from ldtui.services.audit import FILE_NAME

        return self.state_dir / FILE_NAME if self.state_dir is not None else None

    def _audit_failed(self, why: str) -> None:
        """Said once a session: the change itself went ahead."""
        if self._audit_failure_said:
            return
        self._audit_failure_said = True
        self.notify(
            f"The audit trail {why}; changes are still sent, but not recorded there.",
            title="Audit trail",
            severity="warning",
            timeout=15,
        )

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

        if isinstance(self.screen, HelpScreen):
            return
        self.push_screen(HelpScreen(self.screen))

    def action_notifications(self) -> None:
        from ldtui.ui.screens.notifications import NotificationsScreen

        if not isinstance(self.screen, NotificationsScreen):
            self.push_screen(NotificationsScreen())

    def action_audit(self) -> None:
        from ldtui.ui.screens.audit import AuditScreen

        if not isinstance(self.screen, AuditScreen):
            self.push_screen(AuditScreen(self.audit_path))

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        from ldtui.ui.keys import screen_bindings

        # Every action of the current screen, as F1 lists them (the write actions not in a
        # read-only session).
        for binding in screen_bindings(screen):
            if not binding.description or binding.action.startswith("app.") or is_hidden(self, binding):
                continue
            if binding.action in {"quit", "help"}:
                continue  # Textual's palette has its own Quit and Keys
            action = binding.action
            namespace: Any = self if binding in self.BINDINGS else screen

            def run(action: str = action, namespace: Any = namespace) -> None:
                self.call_later(namespace.run_action, action)

            yield SystemCommand(binding.description, binding.tooltip or binding.description, run)
        if not screen.is_modal:
            yield SystemCommand("Audit trail", "Every change ldtui sent, and the answer", self.action_audit)

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

        text, heading = literal_lines(str(message)), literal(title)
        self.notices.append(Notice(self.clock(), severity, heading, text))
        super().notify(
            self._toast_text(text, heading),
            title=heading,
            severity=severity,
            timeout=timeout,
            markup=False,
        )

    def _toast_text(self, text: str, title: str) -> str:
        """At most ``TOAST_LINES`` lines (the title is one): a long message is cut, and says
        where the rest is. Lines are counted as the toast wraps them (60 cells wide, at most
        half the terminal, less its border and padding)."""
        from rich.text import Text

        width = max(10, min(60, self.size.width // 2) - 4)
        room = TOAST_LINES - (1 if title else 0)
        lines = Text(text).wrap(self.console, width)
        if len(lines) <= room:
            return text
        more = "… (Ctrl+N: in full)"
        kept = [line.plain.rstrip() for line in lines[:room]]
        last = kept[-1]
        if len(last) + len(more) > width:
            last = last[: max(0, width - len(more))].rstrip()
        kept[-1] = last + more
        return "\n".join(kept)

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
