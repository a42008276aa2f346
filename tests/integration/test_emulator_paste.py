"""``ldtui emulator`` prints a configuration that works as pasted (a profile and every store
the syncer writes, with live ports), its control routes survive every injected fault, and the
context keys the README names are what the seeded data holds."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import tomllib
from pathlib import Path
from typing import Any

import httpx

from ldtui.emulator.seed import DEFAULT_TOKEN, SeedOptions, build_state


def read_config(
    proc: subprocess.Popen[str], stores: int, timeout: float = 60.0
) -> tuple[str, dict[str, Any]]:
    """The banner and the configuration, read until the configuration has ``stores`` stores."""
    import queue
    import threading

    assert proc.stdout is not None
    lines: queue.Queue[str] = queue.Queue()
    stdout = proc.stdout
    threading.Thread(target=lambda: [lines.put(line) for line in stdout], daemon=True).start()
    deadline = time.monotonic() + timeout
    text = ""
    while time.monotonic() < deadline:
        try:
            text += lines.get(timeout=max(0.01, deadline - time.monotonic()))
        except queue.Empty:
            break
        if "\n\n" in text:
            try:
                parsed = tomllib.loads(text.split("\n\n", 1)[1])
            except tomllib.TOMLDecodeError:
                continue
            found = parsed.get("stores", {})
            complete = all("url" in entry or "endpoint_url" in entry for entry in found.values())
            if len(found) == stores and complete:  # (each store's last line is its URL)
                return text, parsed
    raise AssertionError(f"no configuration with {stores} stores within {timeout:g} s:\n{text}")


def test_the_printed_configuration_works_as_pasted(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "ldtui", "emulator", "--port", "0", "--contexts", "100"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        text, config = read_config(proc, stores=4)
        api = text.splitlines()[0].rsplit(" ", 1)[1]
        assert config["profile"] == "emulator" and config["profiles"]["emulator"]["base_url"] == api
        stores = config["stores"]
        assert set(stores) == {
            "default/production",
            "default/staging",
            "mobile-app/production/redis",
            "mobile-app/production/dynamodb",
        }
        assert stores["mobile-app/production/dynamodb"]["region"] == "eu-west-1"
        assert stores["default/staging"]["table"] == "ld-big-segments-staging"
        assert f"export LDTUI_EMULATOR_TOKEN={DEFAULT_TOKEN}" in text
        assert "export AWS_ACCESS_KEY_ID=emulator" in text
        # Pasted as is, with the exports it names: every configured store is read (HEALTHY; the
        # seeded replica whose sync stopped ten minutes ago, STALE).
        (tmp_path / "config.toml").write_text(text.split("\n\n", 1)[1])
        env = {k: v for k, v in os.environ.items() if not k.startswith(("LDTUI_", "AWS_"))}
        env.update(
            {
                "LDTUI_EMULATOR_TOKEN": DEFAULT_TOKEN,
                "AWS_ACCESS_KEY_ID": "emulator",
                "AWS_SECRET_ACCESS_KEY": "emulator",
                "LDTUI_CONFIG_FILE": str(tmp_path / "config.toml"),
            }
        )
        deadline = time.monotonic() + 60
        while True:
            run = subprocess.run(
                [sys.executable, "-m", "ldtui", "status", "--json"],
                capture_output=True,
                text=True,
                env=env,
                timeout=60,
            )
            assert run.stdout.strip(), run.stderr
            document = json.loads(run.stdout)
            verdicts = {
                t["store"]["configKey"].removeprefix("stores."): t["verdict"]
                for t in document["targets"]
                if t["store"]["configured"]
            }
            expected = {key: "STALE" if key == "mobile-app/production/redis" else "HEALTHY" for key in stores}
            if verdicts == expected:
                break
            assert time.monotonic() < deadline, (verdicts, run.stderr)
            time.sleep(0.5)  # the syncer's first pass: polled again, with a deadline
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.communicate(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()


def test_the_control_routes_are_never_faulted(served_emulator: Any) -> None:
    headers = {"Authorization": DEFAULT_TOKEN, "LD-API-Version": "beta"}
    base = served_emulator.base_url
    with httpx.Client(base_url=base, headers=headers, timeout=10) as client:
        assert (
            client.put("/_emulator/faults", json={"error_rate": 1.0, "malformed_rate": 1.0}).status_code
            == 200
        )
        assert client.get("/api/v2/integration-capabilities/big-segment-store").status_code == 500
        for _ in range(20):  # every time, not by luck
            stats = client.get("/_emulator/stats")
            assert stats.status_code == 200 and isinstance(stats.json(), dict)
        off = client.put("/_emulator/faults", json={"error_rate": 0.0, "malformed_rate": 0.0})
        assert off.status_code == 200 and off.json()["error_rate"] == 0.0
        assert client.get("/api/v2/integration-capabilities/big-segment-store").status_code == 200


def test_the_context_keys_the_readme_names() -> None:
    """README, "The emulator": with the default seed and --contexts, in default/production."""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    env = build_state(SeedOptions(seed=1, contexts=5000)).environment("default", "production")
    segments = env.segments
    assert "user-production-00001" in segments["beta-testers"].included
    assert "user-production-00027" in segments["high-value-customers"].excluded
    assert "alice@example.com" in segments["legacy-cohort"].excluded
    assert not any("nobody@example.com" in s.included | s.excluded for s in segments.values())
    for key in ("user-production-00001", "user-production-00027", "alice@example.com", "nobody@example.com"):
        assert f"`{key}`" in readme
