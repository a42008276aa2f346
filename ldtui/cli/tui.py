"""``ldtui`` (no subcommand): the TUI, on a configured profile or on the demo world.

Only the UI settings are read before the first frame (``config_file.peek_ui``, no pydantic);
the configuration is validated, and the token resolved, right after, in a thread. From the
first line on, a ``Lifeline`` makes a lost terminal end ldtui and what it started.
"""

from __future__ import annotations

import argparse
import contextlib
import threading
from typing import TYPE_CHECKING

from ldtui.cli.exit_codes import ExitCode

if TYPE_CHECKING:
    from ldtui.config_file import UiStart
    from ldtui.services.backend import Backend
    from ldtui.ui.app import LdtuiApp


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--demo",
        action="store_true",
        help="open the TUI on a seeded emulator with local Redis and DynamoDB (no account needed)",
    )
    parser.add_argument(
        "--no-mouse",
        action="store_true",
        help="leave the mouse to the terminal (select and copy text); every action has a key",
    )
    parser.add_argument(
        "--read-only",
        action="store_true",
        help="change nothing: no create, edit, on/off or delete (also ui.read_only, and a "
        "profile's read_only = true)",
    )


def run(args: argparse.Namespace) -> ExitCode:
    import gc

    from ldtui.cli.lifeline import Lifeline

    with Lifeline() as life:
        if args.demo:
            # Before anything is started: if the end comes while a store is starting, the
            # watchdog still kills it.
            from ldtui.emulator.local_stores import stop_all

            life.last_resort.append(stop_all)
        from ldtui.config_file import peek_ui

        start = peek_ui(args.config)  # a ConfigError here is exit 78, from main
        app = make_app(args, start)
        life.graceful = lambda: _ask_to_exit(app, within=life.grace)
        # A terminal UI allocates short-lived strips and segments by the thousand each frame,
        # freed by reference counting: the collector's young generation is made larger so it
        # scans less often (about a third of the status panel's CPU went to collections).
        gc.set_threshold(10_000, 10, 10)
        app.run(mouse=start.ui.mouse and not args.no_mouse)
        return ExitCode(life.lost_code) if life.lost_code else ExitCode.OK


def make_app(args: argparse.Namespace, start: UiStart) -> LdtuiApp:
    from ldtui.config_file import config_dir
    from ldtui.services.state import state_dir

    demo, config_file, profile = args.demo, args.config, args.profile
    read_only = bool(getattr(args, "read_only", False)) or start.ui.read_only
    reason = "--read-only" if getattr(args, "read_only", False) else "ui.read_only" if read_only else ""

    def make_backend() -> Backend:
        from ldtui.config import load_config

        cfg = load_config(file=config_file)
        if demo:
            from ldtui.emulator.demo import DemoBackend

            return DemoBackend()
        from ldtui.services.backend import ProfileBackend

        return ProfileBackend(cfg, profile)

    from ldtui.ui.app import LdtuiApp

    return LdtuiApp(
        make_backend,
        theme=start.ui.theme,
        # The theme picked from the palette last time, unless the configuration names one.
        theme_configured="theme" in start.configured,
        # The demo's world changes by itself: refresh it unless configured otherwise.
        auto_refresh=start.ui.auto_refresh or (5.0 if demo else 0.0),
        keymap=start.keys,
        animations=start.ui.animations,
        user_theme_dirs=[config_dir() / "themes"],
        read_only=read_only,
        read_only_reason=reason,
        # The remembered theme and the audit trail.
        state_dir=state_dir(),
    )


def _ask_to_exit(app: LdtuiApp, *, within: float) -> None:
    """From the signal handler: ask the app to exit through its own shutdown (which stops
    the demo's stores), from another thread as Textual's API wants. Not before its first
    frame: an exit in the middle of mounting the first screen makes Textual itself fail (a
    widget's mount callback finds its children gone). If the first frame does not come in
    time, the lifeline's watchdog ends the process."""

    def ask() -> None:
        if not app.first_frame.wait(within):
            return
        with contextlib.suppress(Exception):
            app.call_from_thread(app.exit)

    threading.Thread(target=ask, name="ldtui-exit", daemon=True).start()
