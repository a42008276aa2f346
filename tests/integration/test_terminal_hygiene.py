"""SSH hygiene: when the terminal goes away (SIGHUP), ldtui leaves cleanly and takes what it
started with it (the demo's redis-server and moto); the user's keymap applies."""

from __future__ import annotations

import os
import pty
import select
import signal
import subprocess
import sys
import time

import psutil
import pytest

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


def test_sighup_exits_cleanly_and_stops_the_demo_stores(tmp_path) -> None:  # type: ignore[no-untyped-def]
    master, slave = pty.openpty()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LDTUI_", "XDG_CONFIG"))}
    env.update({"TERM": "xterm-256color", "COLUMNS": "100", "LINES": "30", "HOME": str(tmp_path)})
    proc = subprocess.Popen([sys.executable, "-m", "ldtui", "--demo"], stdin=slave, stdout=slave, stderr=slave,
                            env=env, start_new_session=True)
    os.close(slave)
    try:
        out = read_until(master, b"Prod Redis store", 90)
        assert b"Prod Redis store" in out, out[-2000:]
        children = psutil.Process(proc.pid).children(recursive=True)
        assert children, "the demo should have started its stores"
        proc.send_signal(signal.SIGHUP)
        code = proc.wait(timeout=30)
        out += read_until(master, b"\x00never", 1)
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(master)
    assert code == 0
    assert b"Traceback" not in out
    gone, alive = psutil.wait_procs(children, timeout=15)
    assert not alive, [p.cmdline() for p in alive]


async def test_keymap_from_config_rebinds_by_id() -> None:
    from ldtui.ui.screens.inspector import InspectorScreen
    from ldtui.ui.screens.status import StatusScreen

    world = make_world(keymap={"inspect": "x", "health": "f5"})
    async with world.app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        await pilot.press("i")
        await settle(pilot)
        assert not isinstance(pilot.app.screen, InspectorScreen)
        await pilot.press("x")
        await settle(pilot)
        assert isinstance(pilot.app.screen, InspectorScreen)
        await pilot.press("escape")
        await settle(pilot)
        await pilot.press("f5")
        await settle(pilot)
        assert isinstance(pilot.app.screen, StatusScreen)
