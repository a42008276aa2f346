"""When the terminal goes away, ldtui goes too, with everything it started.

A terminal can vanish at any moment: SSH drops, ``tmux kill-session``, a closed window. The
kernel then sends SIGHUP (or a supervisor SIGTERM), or, for a process that is not the
terminal's foreground job, nothing at all: reads and writes just fail. Before this module, a
hang-up in the first second of ``ldtui --demo`` could leave the process running with nobody
to see it (one spun at 80% CPU reading an endless end-of-file).

``Lifeline`` covers every moment from the first line of ``main`` on:

- SIGHUP and SIGTERM are handled from the start. Before the app runs, the handler unwinds the
  main thread (``TerminalLost``, a ``SystemExit``), so ``finally`` blocks stop what was
  started; once the app runs, ``graceful`` asks it to exit through its own shutdown.
- A thread watches the terminal itself (``poll`` for POLLHUP on stdin/stdout), so a closed pty
  counts as a hang-up even when no signal comes.
- Whatever then hangs (a thread starting a store, a terminal write that blocks), a watchdog
  runs the ``last_resort`` hooks (kill the children) and ends the process ``grace`` seconds
  after the loss: within 2 s, always.

Started under ``nohup`` (SIGHUP ignored), SIGHUP stays ignored, as the convention wants; a
program that ``needs_terminal`` (the TUI) still ends when its terminal closes, as if sent
SIGTERM, and one that does not (the emulator) keeps serving.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import sys
import termios
import threading
from collections.abc import Callable
from types import FrameType, TracebackType
from typing import Any

HANDLED = (signal.SIGHUP, signal.SIGTERM)
# Leave the alternate screen, show the cursor; mouse, focus, paste and kitty key reporting off.
RESET_SEQUENCES = (
    b"\x1b[?1049l\x1b[?25h\x1b[?1000l\x1b[?1002l\x1b[?1003l\x1b[?1006l\x1b[?1015l"
    b"\x1b[?1004l\x1b[?2004l\x1b[<u"
)


class TerminalLost(SystemExit):
    """Raised in the main thread when the terminal is lost before the app has started."""


class Lifeline:
    def __init__(self, *, grace: float = 1.2, needs_terminal: bool = True) -> None:
        self.grace = grace
        self.needs_terminal = needs_terminal
        # Called (in the main thread, from the signal handler) to start an orderly exit;
        # None: raise TerminalLost there instead.
        self.graceful: Callable[[], None] | None = None
        # Called by the watchdog just before the process ends, from its own thread.
        self.last_resort: list[Callable[[], None]] = []
        self.lost_code: int | None = None
        self._previous: dict[int, object] = {}
        self._stop = threading.Event()
        self._monitor: threading.Thread | None = None
        self._tty_modes: list[Any] | None = None

    # --- setup -----------------------------------------------------------------------------

    def __enter__(self) -> Lifeline:
        if threading.current_thread() is not threading.main_thread():
            return self  # signals can only be handled by the main thread (in-process tests)
        hangups_ignored = signal.getsignal(signal.SIGHUP) == signal.SIG_IGN
        for signum in HANDLED:
            if signum == signal.SIGHUP and hangups_ignored:
                continue  # nohup: the person asked for hangups to be ignored
            self._previous[signum] = signal.signal(signum, self._on_signal)
        fds = [fd for fd in (0, 1) if _is_tty(fd)]
        if 0 in fds:
            with contextlib.suppress(termios.error, OSError):
                self._tty_modes = termios.tcgetattr(0)  # to give the terminal back on a hard exit
        if fds and (self.needs_terminal or not hangups_ignored):
            closed = signal.SIGTERM if hangups_ignored else signal.SIGHUP
            self._monitor = threading.Thread(
                target=self._watch, args=(fds, closed), name="ldtui-terminal-watch", daemon=True
            )
            self._monitor.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stop.set()
        if self.lost_code is not None:
            return  # keep handling signals until the watchdog ends the process
        for signum, previous in self._previous.items():
            with contextlib.suppress(ValueError, TypeError):
                signal.signal(signum, previous)  # type: ignore[arg-type]

    # --- losing the terminal ---------------------------------------------------------------

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        if self.lost_code is not None:
            return  # already leaving; the watchdog has the last word
        self.lost_code = 128 + signum
        threading.Thread(target=self._watchdog, name="ldtui-watchdog", daemon=True).start()
        if self.graceful is not None:
            self.graceful()
            return
        raise TerminalLost(self.lost_code)

    def _watch(self, fds: list[int], closed: signal.Signals) -> None:
        poller = select.poll()
        for fd in fds:
            poller.register(fd, 0)  # no events asked: POLLHUP/POLLERR/POLLNVAL still report
        while not self._stop.is_set():
            try:
                events = poller.poll(250)
            except OSError:
                return
            if events and self.lost_code is None:
                # Deliver it as the kernel would, so one path handles every loss.
                os.kill(os.getpid(), closed)
                return

    def _watchdog(self) -> None:
        threading.Event().wait(self.grace)
        for hook in self.last_resort:
            with contextlib.suppress(Exception):
                hook()
        self._give_the_terminal_back()
        with contextlib.suppress(Exception):
            sys.stderr.flush()
        os._exit(self.lost_code or 1)

    def _give_the_terminal_back(self) -> None:
        """Before a hard exit (the app could not restore it): the terminal's modes as they were,
        the main screen, the cursor, no mouse or key reporting. Harmless if it is gone."""
        if self._tty_modes is None:
            return
        with contextlib.suppress(termios.error, OSError):
            termios.tcsetattr(0, termios.TCSANOW, self._tty_modes)
        with contextlib.suppress(OSError):
            os.set_blocking(1, False)  # a terminal that stopped reading must not hold the exit
            os.write(1, RESET_SEQUENCES)


def _is_tty(fd: int) -> bool:
    try:
        return os.isatty(fd)
    except OSError:
        return False
