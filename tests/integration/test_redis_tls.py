"""rediss:// with a CA file, against a real redis-server listening with TLS only."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from ldtui.stores.base import StoreUnavailable
from ldtui.stores.redis_reader import RedisBigSegmentReader
from ldtui.stores.resp import RedisSettings
from tests.servers import free_port, redis_server_binary

pytestmark = pytest.mark.network


def make_certs(d: Path) -> None:
    def run(*args: str) -> None:
        subprocess.run(["openssl", *args], cwd=d, check=True, capture_output=True)

    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=ldtui test CA",
        "-keyout", "ca.key", "-out", "ca.crt")
    run("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1", "-keyout", "server.key", "-out", "server.csr")
    (d / "ext.cnf").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    run("x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
        "-days", "2", "-extfile", "ext.cnf", "-out", "server.crt")
    # A second CA that did not sign the server certificate.
    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=other CA",
        "-keyout", "other.key", "-out", "other.crt")


@pytest.fixture(scope="module")
def tls_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, Path]]:
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    d = tmp_path_factory.mktemp("tls")
    make_certs(d)
    port = free_port()
    proc = subprocess.Popen(
        [redis_server_binary(), "--port", "0", "--tls-port", str(port), "--bind", "127.0.0.1",
         "--tls-cert-file", str(d / "server.crt"), "--tls-key-file", str(d / "server.key"),
         "--tls-ca-cert-file", str(d / "ca.crt"), "--tls-auth-clients", "no", "--save", ""],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 15
    while proc.poll() is None and time.monotonic() < deadline:  # until it listens, or exits
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.05)
    if proc.poll() is not None:
        out = proc.stdout.read().decode(errors="replace") if proc.stdout else ""
        pytest.skip(f"this redis-server has no TLS support ({out.strip().splitlines()[-1] if out.strip() else 'exited'})")
    yield port, d
    proc.kill()
    proc.wait()


async def test_rediss_with_ca_file(tls_redis: tuple[int, Path]) -> None:
    port, d = tls_redis
    settings = RedisSettings.from_url(f"rediss://127.0.0.1:{port}/0", ca_file=str(d / "ca.crt"))
    async with RedisBigSegmentReader(settings) as r:
        probe = await r.probe()
        assert probe.reachable, probe.error
        assert (await r.get_metadata()).synchronized_on is None


async def test_rediss_with_the_wrong_ca_fails_clearly(tls_redis: tuple[int, Path]) -> None:
    port, d = tls_redis
    settings = RedisSettings.from_url(f"rediss://127.0.0.1:{port}/0", ca_file=str(d / "other.crt"))
    async with RedisBigSegmentReader(settings) as r:
        with pytest.raises(StoreUnavailable, match="TLS handshake failed") as info:
            await r.get_metadata()
    assert "ca_file" in str(info.value)


async def test_plain_redis_to_a_tls_port_does_not_hang(tls_redis: tuple[int, Path]) -> None:
    port, _ = tls_redis
    async with RedisBigSegmentReader(RedisSettings.from_url(f"redis://127.0.0.1:{port}/0", timeout=1)) as r:
        probe = await r.probe()
    assert not probe.reachable
