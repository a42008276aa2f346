"""``ldtui status`` as monitoring runs it: every failure still prints one valid result with a
documented exit code, the stores are probed when the API is down, a hung API meets the whole
check's deadline, rate limiting is said, and ``--nagios`` speaks the plugin format."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from ldtui.emulator.runtime import EmulatorRuntime, SyncSettings, ThreadedEmulator
from ldtui.emulator.seed import DEFAULT_TOKEN, SeedOptions, build_state
from ldtui.emulator.syncer import Endpoints
from tests.servers import MotoServer, free_port, wait_for, wait_for_first_sync

pytestmark = pytest.mark.network
_seeds = iter(range(7000, 8000))


@pytest.fixture
def emulator(redis_url: str, moto_server: MotoServer) -> Iterator[ThreadedEmulator]:
    state = build_state(SeedOptions(seed=next(_seeds), contexts=30, extra_projects=0))
    runtime = EmulatorRuntime(
        state,
        Endpoints(redis_url=redis_url, dynamodb_endpoint=moto_server.endpoint, create_tables=True),
        SyncSettings(interval=0.2, change_every=0),
    )
    server = ThreadedEmulator(runtime).start()
    wait_for_first_sync(redis_url, state)
    yield server
    server.stop()


def write_config(tmp_path: Path, base_url: str, redis_url: str, prefix: str | None = None) -> Path:
    extra = f'prefix = "{prefix}"\n' if prefix else ""
    path = tmp_path / "config.toml"
    path.write_text(
        f'profile = "t"\n[profiles.t]\nbase_url = "{base_url}"\ntoken_env = "T_TOKEN"\ntimeout = 3\n'
        f'[stores."default/production"]\ntype = "redis"\nurl = "{redis_url}"\ntimeout = 2\n{extra}'
    )
    return path


def run_status(config: Path, *args: str, token: str = DEFAULT_TOKEN, home: Path, timeout: float = 90) -> Any:
    env = {**os.environ, "T_TOKEN": token, "XDG_STATE_HOME": str(home / "state"), "HOME": str(home)}
    return subprocess.run(
        [sys.executable, "-m", "ldtui", "--config", str(config), "status", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
    )


def document(run: Any) -> dict[str, Any]:
    lines = [line for line in run.stdout.splitlines() if line.strip()]
    assert len(lines) == 1, run.stdout + run.stderr  # one JSON document per round
    data = json.loads(lines[0])
    assert data["exitCode"] == run.returncode
    assert "Traceback" not in run.stderr
    return data


def test_an_unreachable_api_still_reports_the_stores(
    emulator: ThreadedEmulator, redis_url: str, tmp_path: Path
) -> None:
    """A dead port: the error says so, the configured store is probed under the prefix it was
    seen with in the last run (remembered), and the exit code is critical."""
    state = emulator.runtime.state
    config = write_config(tmp_path, emulator.base_url, redis_url)
    first = document(run_status(config, "--json", home=tmp_path))  # the API answers: remembered
    assert "error" not in first
    emulator.stop()  # the same account's API, now down (the syncer stops too: the data ages)
    dead = config
    run = run_status(dead, "--json", home=tmp_path)
    data = document(run)
    assert run.returncode == 2 and data["error"]["kind"] == "api" and data["error"]["status"] is None
    prod = next(t for t in data["targets"] if t["name"] == "Prod Redis store")
    env = state.projects["default"].environments["production"]
    assert prod["store"]["prefix"] == env.id and prod["store"]["available"] is True
    assert prod["verdict"] in ("HEALTHY", "STALE") and prod["store"]["synchronizedOn"]
    # Nothing remembered (another state directory) and no prefix configured: not probed.
    elsewhere = tmp_path / "fresh"
    elsewhere.mkdir()
    data = document(run_status(dead, "--json", home=elsewhere))
    store = next(t for t in data["targets"] if t["store"]["configKey"] == "stores.default/production")
    assert store["store"]["configured"] is False and "client-side ID" in store["reason"]
    # With the prefix configured it is probed even so.
    with_prefix = write_config(elsewhere, f"http://127.0.0.1:{free_port()}", redis_url, prefix=env.id)
    data = document(run_status(with_prefix, "--json", home=elsewhere))
    store = next(t for t in data["targets"] if t["store"]["configKey"] == "stores.default/production")
    assert store["verdict"] == "HEALTHY"


@pytest.mark.parametrize("fault", ["401", "500"])
def test_api_errors_print_one_document_with_the_error(
    fault: str, emulator: ThreadedEmulator, redis_url: str, tmp_path: Path
) -> None:
    config = write_config(tmp_path, emulator.base_url, redis_url)
    if fault == "500":
        emulator.runtime.state.faults.error_rate = 1.0
        run = run_status(config, "--json", home=tmp_path)
        emulator.runtime.state.faults.error_rate = 0.0
    else:
        run = run_status(config, "--json", token="api-wrong", home=tmp_path)
    data = document(run)
    assert run.returncode == 2
    assert data["error"] == {**data["error"], "kind": "api", "status": int(fault)}
    assert data["error"]["message"]
    assert "api-wrong" not in run.stdout + run.stderr


def test_a_hanging_api_meets_the_deadline(redis_url: str, tmp_path: Path) -> None:
    """A server that accepts and never answers: --timeout ends the check with exit 3 and what
    it has, not after every retry of every request."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        config = write_config(tmp_path, f"http://127.0.0.1:{listener.getsockname()[1]}", redis_url)
        started = time.monotonic()
        run = run_status(config, "--json", "--timeout", "2", home=tmp_path)
        elapsed = time.monotonic() - started
        data = document(run)
        assert run.returncode == 3 and data["error"]["kind"] == "timeout"
        assert elapsed < 15  # the process start, plus a 2 s deadline
    finally:
        stop.set()
        thread.join()
        for s in held:
            s.close()
        listener.close()


def test_a_hanging_api_leaves_time_for_the_stores(redis_server: Any, redis_url: str, tmp_path: Path) -> None:
    """An API that accepts and never answers (each request retried after its timeout) used to
    take the whole --timeout: no store was probed, "0 of ? targets answered". The API gets the
    part of --timeout the stores do not need (their timeout plus a second); then the stores
    are probed without it, and the document says the API gave no answer."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    with redis_server.client() as c:
        c.set("pfx:big_segments_synchronized_on", str(int(time.time() * 1000)))
    try:
        config = write_config(
            tmp_path, f"http://127.0.0.1:{listener.getsockname()[1]}", redis_url, prefix="pfx"
        )
        started = time.monotonic()
        run = run_status(config, "--json", "--timeout", "8", home=tmp_path)
        elapsed = time.monotonic() - started
        data = document(run)
        assert elapsed < 8 + 10  # the process start, plus the 8 s deadline
        assert data["error"]["kind"] == "timeout"
        assert "LaunchDarkly" in data["error"]["message"], data["error"]
        (store,) = data["targets"]
        assert store["verdict"] == "HEALTHY" and store["store"]["prefix"] == "pfx", store
        assert run.returncode == 3  # out of time for the API, nothing worse in the stores
    finally:
        stop.set()
        thread.join()
        for s in held:
            s.close()
        listener.close()


def test_rate_limiting_is_said_on_stderr(emulator: ThreadedEmulator, redis_url: str, tmp_path: Path) -> None:
    limits = emulator.runtime.state.rate_limits
    limits.routes["list"], limits.retry_after = 1, True
    limits.window_ms = 15_000  # the second process starts well inside the window, even on a busy machine
    config = write_config(tmp_path, emulator.base_url, redis_url)
    spent = httpx.get(
        f"{emulator.base_url}/api/v2/integration-capabilities/big-segment-store",
        headers={"Authorization": DEFAULT_TOKEN, "LD-API-Version": "beta"},
    )
    assert spent.status_code == 200  # the window's one request, spent here
    run = run_status(config, "--json", home=tmp_path)
    data = document(run)
    assert "rate limited by LaunchDarkly, retrying in" in run.stderr
    assert data["targets"]


def test_watch_survives_an_api_outage(emulator: ThreadedEmulator, redis_url: str, tmp_path: Path) -> None:
    """--watch prints a round for each interval, API errors or not, and keeps going."""
    config = write_config(tmp_path, emulator.base_url, redis_url)
    env = {**os.environ, "T_TOKEN": DEFAULT_TOKEN, "XDG_STATE_HOME": str(tmp_path / "state")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "ldtui", "--config", str(config), "status", "--json", "--watch", "0.3"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert proc.stdout is not None
    try:
        kinds = []
        emulator.runtime.state.faults.error_rate = 1.0
        while len(kinds) < 6:
            doc = json.loads(proc.stdout.readline())
            kinds.append(doc.get("error", {}).get("kind"))
            if len(kinds) == 3:
                emulator.runtime.state.faults.error_rate = 0.0
        assert "api" in kinds and kinds[-1] is None  # failed rounds, then a good one
        assert proc.poll() is None  # still watching
    finally:
        emulator.runtime.state.faults.error_rate = 0.0
        proc.terminate()
        proc.wait(timeout=20)


PERF = re.compile(r"'((?:[^']|'')+)'=([-0-9.]+)([a-zA-Z%]*);([^;]*);([^;]*);([^;]*);([^; ]*)")


def parse_plugin_output(line: str) -> tuple[str, str, list[dict[str, str]]]:
    """A monitoring-plugin line, read the way a plugin framework reads it."""
    head, _, perf = line.partition(" | ")
    state = head.split(" - ", 1)[0].rsplit(" ", 1)[1]
    items = [
        {
            "label": m[0].replace("''", "'"),
            "value": m[1],
            "unit": m[2],
            "warn": m[3],
            "crit": m[4],
            "min": m[5],
        }
        for m in PERF.findall(perf)
    ]
    assert len(items) == len(perf.split("=")) - 1, perf  # every item parsed
    return state, head, items


def test_nagios_output_is_a_plugin_line_with_perfdata(
    emulator: ThreadedEmulator, redis_url: str, tmp_path: Path
) -> None:
    config = write_config(tmp_path, emulator.base_url, redis_url)
    run = run_status(config, "--nagios", home=tmp_path)
    assert len(run.stdout.splitlines()) == 1
    state, head, perf = parse_plugin_output(run.stdout.strip())
    assert head.startswith("BIG SEGMENTS ")
    # Payments is failing per LaunchDarkly: critical, as the exit code says.
    assert state == "CRITICAL" and run.returncode == 2
    age = next(p for p in perf if p["label"] == "default/production redis age")
    assert (
        age["unit"] == "s"
        and float(age["value"]) < 60
        and (age["warn"], age["crit"], age["min"]) == ("~:120", "~:300", "0")
    )
    # A store older than the warning range: WARNING at least (here the verdicts are worse).
    run = run_status(config, "--nagios", "-w", "~:0.001", "-c", "~:1000", home=tmp_path)
    state, _, perf = parse_plugin_output(run.stdout.strip())
    assert next(p for p in perf if p["label"] == "default/production redis age")["warn"] == "~:0.001"
    bad = run_status(config, "--nagios", "-w", "20:10", home=tmp_path)
    assert bad.returncode == 64 and "above the end" in bad.stderr


def test_reader_selects_the_threshold(emulator: ThreadedEmulator, redis_url: str, tmp_path: Path) -> None:
    config = write_config(tmp_path, emulator.base_url, redis_url)
    data = document(run_status(config, "--json", "--reader", "relay", home=tmp_path))
    prod = next(t for t in data["targets"] if t["name"] == "Prod Redis store")
    assert {r["name"] for r in prod["readers"]} == {"sdk", "relay"}
    bad = run_status(config, "--json", "--reader", "nobody", home=tmp_path)
    assert bad.returncode == 64 and "--reader: unknown reader 'nobody'" in bad.stderr


def test_watch_follows_a_sentinel_failover(
    emulator: ThreadedEmulator, sentinel_deployment: Any, tmp_path: Path
) -> None:
    """``status --watch`` on a store behind a Sentinel: the master dies, the rounds say the
    store is unavailable (never a traceback, never a stopped watch), and once the sentinel
    has promoted the replica the probe reads the new master, with no restart."""
    d = sentinel_deployment
    key = "failover:big_segments_synchronized_on"
    d.master.client().set(key, str(int(time.time() * 1000)))
    config = write_config(tmp_path, emulator.base_url, d.url, prefix="failover")
    env = {**os.environ, "T_TOKEN": DEFAULT_TOKEN, "XDG_STATE_HOME": str(tmp_path / "state")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "ldtui", "--config", str(config), "status", "--json", "--watch", "0.3"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert proc.stdout is not None

    def prod() -> dict[str, Any]:
        line = proc.stdout.readline()  # type: ignore[union-attr]
        assert line, proc.stderr.read() if proc.stderr else ""
        doc = json.loads(line)
        return next(t for t in doc["targets"] if t["store"]["configKey"] == "stores.default/production")

    try:
        first = prod()
        assert first["store"]["available"] is True and f":{d.master.port})" in first["store"]["endpoint"]
        new_port = d.fail_over()
        promoted = int(time.time() * 1000)
        wait_for(lambda: _set(d.replica.client(), key, promoted), 30, "the promoted replica to take writes")
        seen: list[dict[str, Any]] = []
        deadline = time.monotonic() + 60
        while not seen or seen[-1]["store"]["synchronizedOn"] != promoted:
            assert time.monotonic() < deadline, [s["store"] for s in seen[-3:]]
            seen.append(prod())
        assert f":{new_port})" in seen[-1]["store"]["endpoint"] and seen[-1]["verdict"] == "HEALTHY"
        assert proc.poll() is None  # still watching
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    assert "Traceback" not in (proc.stderr.read() if proc.stderr else "")


def _set(client: Any, key: str, value: int) -> bool:
    import redis as redis_py

    try:
        client.set(key, str(value))
        return True
    except redis_py.ReadOnlyError:
        return False  # not promoted yet
