"""End to end, in real time, in a real terminal: ``ldtui`` in tmux against ``ldtui emulator``
(its own redis-server and moto). Snapshots freeze one moment and time-travel tests move a fake
clock; this one lets the wall clock run, pauses LaunchDarkly's sync, and reads the panel off
the terminal while the age of the store's data grows."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from ldtui.emulator.seed import DEFAULT_TOKEN
from tests.servers import MotoServer, RedisServer

pytestmark = pytest.mark.network


def tmux_binary() -> str:
    found = shutil.which("tmux")
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("tmux is required in CI (.ci/run installs it)")
        pytest.skip("tmux is not installed (apt-get install tmux)")
    return found


def wait_until(what: str, condition: Callable[[], Any], timeout: float) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout} s; last value {value!r}")
        time.sleep(0.2)


class Tmux:
    """One tmux server of this test's own (-L), so nothing else's sessions are touched."""

    def __init__(self, binary: str, name: str) -> None:
        self.base = [binary, "-L", name]

    def run(self, *args: str) -> str:
        return subprocess.run(
            [*self.base, *args], check=True, capture_output=True, text=True, timeout=20
        ).stdout

    def screen(self) -> str:
        return self.run("capture-pane", "-p", "-t", "e2e")

    def kill(self) -> None:
        subprocess.run([*self.base, "kill-server"], capture_output=True, timeout=20)


@pytest.fixture
def emulator(own_redis: RedisServer, moto_server: MotoServer) -> Iterator[str]:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "ldtui",
            "emulator",
            "--port",
            "0",
            "--redis-url",
            own_redis.url,
            "--dynamodb-endpoint",
            moto_server.endpoint,
            "--create-tables",
            "--contexts",
            "200",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    assert proc.stdout is not None
    try:
        line = proc.stdout.readline()
        match = re.search(r"http://127\.0\.0\.1:(\d+)", line)
        assert match, line
        yield f"http://127.0.0.1:{match.group(1)}"
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def api(base: str, path: str, method: str = "GET", body: Any = None) -> Any:
    request = urllib.request.Request(
        base + path,
        method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": DEFAULT_TOKEN, "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read() or b"null")


def test_panel_age_matches_the_store_in_real_time(
    emulator: str, own_redis: RedisServer, tmp_path: Path
) -> None:
    tmux = Tmux(tmux_binary(), f"ldtui-e2e-{os.getpid()}")
    poll_interval = 1.0
    config = tmp_path / "config.toml"
    config.write_text(
        f'profile = "e2e"\n[profiles.e2e]\nbase_url = "{emulator}"\ntoken_env = "LDTUI_E2E_TOKEN"\n'
        f'[stores."default/production"]\ntype = "redis"\nurl = "{own_redis.url}"\n'
        f"[status]\npoll_interval = {poll_interval}\n"
    )
    envs = api(emulator, "/api/v2/projects/default/environments")["items"]
    prefix = next(e["_id"] for e in envs if e["key"] == "production")
    direct = redis.Redis.from_url(own_redis.url)
    command = (
        f"env -u COLUMNS -u LINES LDTUI_CONFIG_FILE={config} LDTUI_E2E_TOKEN={DEFAULT_TOKEN} HOME={tmp_path} TERM=xterm-256color "
        f"{sys.executable} -m ldtui"
    )
    try:
        tmux.run("new-session", "-d", "-s", "e2e", "-x", "200", "-y", "40", command)
        # Detached, a session takes the default size (80x24): make it wide enough for every
        # column of the panel.
        tmux.run("set-option", "-t", "e2e", "window-size", "manual")
        tmux.run("resize-window", "-t", "e2e", "-x", "200", "-y", "40")
        wait_until("the list", lambda: "Prod Redis store" in tmux.screen(), 60)
        tmux.run("send-keys", "-t", "e2e", "h")
        row = re.compile(r"Prod Redis store.*?synced (\d+)s ago")
        wait_until("the panel", lambda: row.search(tmux.screen()), 30)
        api(emulator, "/_emulator/faults", "PUT", {"sync_paused": True})
        paused = time.monotonic()
        # Let the data age (the writer is paused), then read the panel against Redis itself.
        time.sleep(6)  # real time is what this test is about: the age must grow on screen
        synchronized_on = int(direct.get(f"{prefix}:big_segments_synchronized_on"))

        def agrees() -> bool:
            found = row.search(tmux.screen())
            truth = time.time() - synchronized_on / 1000
            return found is not None and abs(int(found.group(1)) - truth) <= 1.5

        wait_until("the panel's age to match now - synchronizedOn", agrees, poll_interval + 2)
        # And it keeps ticking while nothing is written.
        first = int(row.search(tmux.screen()).group(1))  # type: ignore[union-attr]
        wait_until(
            "the age to tick", lambda: (m := row.search(tmux.screen())) and int(m.group(1)) >= first + 2, 5
        )
        assert time.monotonic() - paused < 60
        assert "Traceback" not in tmux.screen()
    finally:
        tmux.kill()
        direct.close()
