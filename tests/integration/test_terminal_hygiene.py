"""SSH hygiene: when the terminal goes away (SIGHUP, SIGTERM, a closed pty), at any moment of
start-up or after, ldtui leaves within 2 s and takes what it started with it (the demo's
redis-server and moto); the user's keymap applies."""

from __future__ import annotations

import contextlib
import fcntl
import os
import pty
import select
import signal
import subprocess
import sys
import termios
import threading
import time
from typing import Any

import psutil
import pytest

from ldtui.cli import ExitCode
from ldtui.ui.widgets.table import LdTable
from tests.ui.harness import make_world, settle

pytestmark = pytest.mark.network


def read_until(fd: int, marker: bytes, timeout: float) -> bytes:
    seen = b""
    deadline = time.time() + timeout
    while time.time() < deadline and marker not in seen:
        ready, _, _ = select.select([fd], [], [], 0.2)
        if ready:
            try:
                seen += os.read(fd, 65536)
            except OSError:
                break
    return seen


def become_subreaper() -> None:
    """Orphans of our descendants become our children (Linux), so whatever ldtui leaves
    behind is found however it was started, and never mixed up with another test's."""
    import ctypes

    pr_set_child_subreaper = 36
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(pr_set_child_subreaper, 1)


class Demo:
    """``ldtui --demo`` on a pty of its own; ``survivors`` are the processes it started that
    are still running (ldtui itself apart)."""

    def __init__(self, tmp_path: Any, *, controlling_tty: bool = False, nohup: bool = False) -> None:
        become_subreaper()
        me = psutil.Process()
        self.before = {p.pid for p in me.children(recursive=True)}
        self.master, slave = pty.openpty()
        env = {k: v for k, v in os.environ.items() if not k.startswith(("LDTUI_", "XDG_CONFIG"))}
        env.update(
            {
                "TERM": "xterm-256color",
                "COLUMNS": "100",
                "LINES": "30",
                "HOME": str(tmp_path),
            }
        )

        def as_a_terminal_starts_it() -> None:
            # Hangups as a terminal's job gets them, whatever the test runner's (nohup?) are.
            signal.signal(signal.SIGHUP, signal.SIG_IGN if nohup else signal.SIG_DFL)
            if controlling_tty:  # as a login shell's job: closing the pty sends SIGHUP
                fcntl.ioctl(0, termios.TIOCSCTTY, 0)

        self.started = time.monotonic()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "ldtui", "--demo"],
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env=env,
            start_new_session=True,
            preexec_fn=as_a_terminal_starts_it,
        )
        os.close(slave)
        self.output = bytearray()
        self.master_open = True
        # Drain the terminal as a terminal would: a full pty would block the app's writes.
        self.reader = threading.Thread(target=self._drain, daemon=True)
        self.reader.start()

    def _drain(self) -> None:
        while self.master_open:
            try:
                ready, _, _ = select.select([self.master], [], [], 0.05)
                if ready:
                    self.output += os.read(self.master, 65536)
            except (OSError, ValueError):
                return

    def wait_for(self, text: bytes, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.output:
            assert time.monotonic() < deadline, bytes(self.output[-2000:])
            assert self.proc.poll() is None, bytes(self.output[-2000:])
            time.sleep(0.05)

    def close_terminal(self) -> None:
        self.master_open = False
        self.reader.join(timeout=5)
        os.close(self.master)

    def survivors(self) -> list[psutil.Process]:
        found = []
        for p in psutil.Process().children(recursive=True):
            if p.pid in self.before or p.pid == self.proc.pid:
                continue
            try:
                if p.status() == psutil.STATUS_ZOMBIE:
                    with contextlib.suppress(ChildProcessError):
                        os.waitpid(p.pid, os.WNOHANG)  # an orphan handed to us: reap it
                    continue
            except psutil.NoSuchProcess:
                continue
            found.append(p)
        return found

    def wait_gone(self, since: float, within: float) -> float:
        """Seconds from ``since`` until ldtui and every process it started are gone."""
        deadline = since + within + 5  # look a little longer, to report how late it was
        code = None
        while time.monotonic() < deadline:
            code = self.proc.poll()
            if code is not None and not self.survivors():
                return time.monotonic() - since
            time.sleep(0.02)
        alive = [p.cmdline() for p in self.survivors() if p.is_running()]
        raise AssertionError(f"still running after {within + 5:.0f} s (ldtui exit {code}): {alive}")

    def cleanup(self) -> None:
        if self.master_open:
            self.close_terminal()
        for p in self.survivors():
            with contextlib.suppress(psutil.Error):
                p.kill()
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=10)


FIRST_FRAME = -1.0  # "after the first frame, with the demo's stores running"
LOST = [
    # (how, seconds after the start or FIRST_FRAME)
    ("sighup", 0.0),
    ("sighup", 0.5),
    ("sighup", 1.5),
    ("sighup", FIRST_FRAME),
    ("sigterm", 0.8),
    ("sigterm", FIRST_FRAME),
    ("close", 0.3),
    ("close", 1.2),
    ("close", FIRST_FRAME),
    ("close-controlling", 1.0),
    # Under nohup SIGHUP stays ignored, but a TUI whose terminal closed still leaves.
    ("close-nohup", FIRST_FRAME),
]


@pytest.mark.parametrize("how,moment", LOST, ids=[f"{h}-{'frame' if m < 0 else m}" for h, m in LOST])
def test_a_lost_terminal_ends_ldtui_and_what_it_started(tmp_path: Any, how: str, moment: float) -> None:
    demo = Demo(tmp_path, controlling_tty=how == "close-controlling", nohup=how == "close-nohup")
    try:
        if moment == FIRST_FRAME:
            demo.wait_for(b"Prod Redis store", 90)
            assert any("redis-server" in " ".join(p.cmdline()) for p in demo.survivors()), "no store started?"
        else:
            time.sleep(max(0.0, demo.started + moment - time.monotonic()))
        lost = time.monotonic()
        if how == "sighup":
            demo.proc.send_signal(signal.SIGHUP)
        elif how == "sigterm":
            demo.proc.send_signal(signal.SIGTERM)
        else:
            demo.close_terminal()
        elapsed = demo.wait_gone(lost, within=2.0)
        assert elapsed < 2.0, f"took {elapsed:.2f} s"
        if how.startswith("sig"):
            assert b"Traceback" not in demo.output, bytes(demo.output[-3000:])
        if moment == FIRST_FRAME and how == "sighup":
            assert demo.proc.returncode == ExitCode.HANGUP
        if moment == FIRST_FRAME and how in ("sigterm", "close-nohup"):
            assert demo.proc.returncode == ExitCode.TERMINATED
    finally:
        demo.cleanup()


async def test_keymap_from_config_rebinds_by_id() -> None:
    from ldtui.ui.screens.inspector import InspectorScreen
    from ldtui.ui.screens.status import StatusScreen

    world = make_world(keymap={"inspect": "x", "health": "f5"})
    async with world.app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        await pilot.press("i")
        await settle(pilot)
        assert not isinstance(pilot.app.screen, InspectorScreen)
        # "i" is no binding now: it started a type-ahead search of the list, which a letter
        # pressed within a second extends. Let that second pass (the table's own clock).
        table = pilot.app.screen.query_one(LdTable)
        table.type_ahead_clock = lambda: time.monotonic() + 60
        await pilot.press("x")
        await settle(pilot)
        assert isinstance(pilot.app.screen, InspectorScreen)
        await pilot.press("escape")
        await settle(pilot)
        await pilot.press("f5")
        await settle(pilot)
        assert isinstance(pilot.app.screen, StatusScreen)
