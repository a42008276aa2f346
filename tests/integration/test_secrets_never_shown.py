"""Secrets never appear unmasked: seeded secret strings (an access token, Redis passwords in a
URL, in an environment variable and in a file, a wrong password, and one inside a URL that
cannot be parsed) are looked for in every output (stdout and stderr) of every command."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest

from ldtui.emulator.runtime import EmulatorRuntime, SyncSettings, ThreadedEmulator
from ldtui.emulator.seed import SeedOptions, build_state
from ldtui.emulator.syncer import Endpoints
from tests.servers import MotoServer, RedisServer

pytestmark = pytest.mark.network

TOKEN = "api-SEEDTOKEN-6f1c2a9e-0d7b-4c1e-9a55"
PASSWORD = "SEEDPASSWORD-redis-0987654321"
WRONG = "SEEDWRONGPASSWORD-1122334455"
MALFORMED = "SEEDMALFORMED-pass/word#1"
SEEDS = [TOKEN, PASSWORD, WRONG, MALFORMED]


def assert_no_secret(run: subprocess.CompletedProcess[str], what: str) -> None:
    out = run.stdout + run.stderr
    for seed in SEEDS:
        assert seed not in out, f"{what}: {seed!r} shown:\n{out[-3000:]}"
        # Nor a large piece of it (a redaction that keeps too much).
        assert seed[4:-4] not in out, f"{what}: part of {seed!r} shown:\n{out[-3000:]}"
    assert "Traceback" not in run.stderr, f"{what}:\n{run.stderr[-3000:]}"


@pytest.fixture(scope="module")
def secured_redis() -> Iterator[RedisServer]:
    server = RedisServer(args=("--requirepass", PASSWORD)).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def world(
    secured_redis: RedisServer, moto_server: MotoServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Any]:
    url = f"redis://:{PASSWORD}@127.0.0.1:{secured_redis.port}/0"
    state = build_state(SeedOptions(seed=777, contexts=40, extra_projects=0), tokens={TOKEN: "writer"})
    runtime = EmulatorRuntime(
        state,
        Endpoints(redis_url=url, dynamodb_endpoint=moto_server.endpoint, create_tables=True),
        SyncSettings(interval=0.2, change_every=0),
    )
    server = ThreadedEmulator(runtime).start()
    home = tmp_path_factory.mktemp("secrets")
    token_file = home / "token"
    token_file.write_text(TOKEN + "\n")
    password_file = home / "redis-password"
    password_file.write_text(PASSWORD + "\n")
    port = secured_redis.port
    config = home / "config.toml"
    config.write_text(
        f'profile = "emu"\n[profiles.emu]\nbase_url = "{server.base_url}"\ntoken_env = "SEED_TOKEN"\n'
        f'[profiles.from-file]\nbase_url = "{server.base_url}"\ntoken_file = "{token_file}"\n'
        f'[stores."default/production"]\ntype = "redis"\nurl = "{url}"\n'
        f'[stores."mobile-app/production/redis"]\ntype = "redis"\nurl = "redis://127.0.0.1:{port}/0"\n'
        f'password_env = "SEED_REDIS_PASSWORD"\n'
        f'[stores."relay/one"]\ntype = "redis"\nurl = "redis://127.0.0.1:{port}/0"\npassword_file = "{password_file}"\n'
        f'[stores."relay/wrong"]\ntype = "redis"\nurl = "redis://:{WRONG}@127.0.0.1:{port}/0"\n'
    )
    config.chmod(0o600)  # passwords inside URLs need a private file
    malformed = home / "malformed.toml"
    malformed.write_text(
        f'[profiles.emu]\nbase_url = "{server.base_url}"\ntoken_env = "SEED_TOKEN"\n'
        f'[stores."default/production"]\ntype = "redis"\nurl = "redis://reader:{MALFORMED}@cache:notaport/0"\n'
    )
    malformed.chmod(0o600)
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("LDTUI_")},
        "HOME": str(home),
        "SEED_TOKEN": TOKEN,
        "SEED_REDIS_PASSWORD": PASSWORD,
        "PYTHONUNBUFFERED": "1",
    }
    deadline = time.monotonic() + 60
    prod = state.projects["default"].environments["production"]
    with secured_redis.client(password=PASSWORD) as r:
        while not r.get(f"{prod.id}:big_segments_synchronized_on") and time.monotonic() < deadline:
            time.sleep(0.1)
    yield {
        "config": config,
        "malformed": malformed,
        "env": env,
        "redis": secured_redis,
        "url": url,
        "moto": moto_server,
    }
    server.stop()


def ldtui(world: Any, *args: str, config: str = "config") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ldtui", "--config", str(world[config]), *args],
        capture_output=True,
        text=True,
        env=world["env"],
        timeout=120,
    )


COMMANDS = [
    ["config"],
    ["config", "--json"],
    ["--profile", "from-file", "config"],
    ["status"],
    ["status", "--json"],
    [
        "inspect",
        "--integration",
        "default/production/redis",
        "--segment",
        "beta-testers",
        "alice@example.com",
    ],
    ["inspect", "--integration", "default/production/redis", "--segment", "beta-testers", "--json", "a", "b"],
    ["inspect", "--integration", "mobile-app/production/redis", "--segment", "beta-testers", "k"],
    ["hash", "alice@example.com", TOKEN],
]


@pytest.mark.parametrize("args", COMMANDS, ids=[" ".join(a)[:50] for a in COMMANDS])
def test_no_command_shows_a_secret(world: Any, args: list[str]) -> None:
    run = ldtui(world, *args)
    if args[0] != "hash":  # (hash prints the keys it is given, secrets or not)
        assert_no_secret(run, " ".join(args))
    assert run.returncode in (0, 1, 2, 3), run.stderr
    if args == ["config"]:
        assert "****" in run.stdout  # the secrets are there, masked


def test_direct_store_options_never_show_the_password(world: Any) -> None:
    port = world["redis"].port
    for url, extra in [
        (world["url"], []),
        (f"redis://:{WRONG}@127.0.0.1:{port}/0", []),
        (f"redis://127.0.0.1:{port}/0", ["--redis-password-env", "SEED_REDIS_PASSWORD"]),
        (f"redis://reader:{MALFORMED}@cache:notaport/0", []),
        (f"redis://:{PASSWORD}@127.0.0.1:1/0", []),  # nothing listens there
    ]:
        for out in ([], ["--json"]):
            run = ldtui(
                world,
                "inspect",
                "--store",
                "redis",
                "--redis-url",
                url,
                *extra,
                "--segment",
                "s=1",
                *out,
                "k",
            )
            assert_no_secret(run, f"inspect --redis-url {url[:12]}…")


def test_a_url_that_cannot_be_parsed_is_masked_whole(world: Any) -> None:
    for args in (["config"], ["config", "--json"], ["status"], ["status", "--json"]):
        run = ldtui(world, *args, config="malformed")
        assert_no_secret(run, " ".join(args) + " (malformed URL)")


def test_the_emulator_banner_masks_the_passwords_and_a_given_token(world: Any) -> None:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "ldtui",
            "emulator",
            "--port",
            "0",
            "--contexts",
            "20",
            "--token",
            TOKEN,
            "--redis-url",
            world["url"],
            "--dynamodb-endpoint",
            world["moto"].endpoint,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=world["env"],
    )
    try:
        banner = [proc.stdout.readline() for _ in range(6)]  # type: ignore[union-attr]
        assert banner[0].startswith("ldtui emulator: LaunchDarkly API at"), banner
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    run = subprocess.CompletedProcess(proc.args, proc.returncode, "".join(banner) + out, err)
    assert_no_secret(run, "emulator banner")
    assert f"127.0.0.1:{world['redis'].port}" in run.stdout and "****" in run.stdout
