"""rediss:// against a real redis-server behind TLS made by the fixtures (tests/tls.py): runs on
every machine, whether or not the redis-server found has TLS of its own."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from ldtui.core.bigsegments import context_key_hash
from ldtui.core.store_settings import RedisStore
from ldtui.stores.base import StoreUnavailable
from ldtui.stores.redis_reader import RedisBigSegmentReader
from tests.servers import RedisServer
from tests.tls import TlsFiles, TlsTerminator

pytestmark = pytest.mark.network


def reader(url: str, **kw: Any) -> RedisBigSegmentReader:
    return RedisBigSegmentReader(RedisStore(url=url, **kw))


@pytest.fixture
def seeded(redis_url: str, redis_server: RedisServer) -> None:
    c = redis_server.client()
    c.set("launchdarkly:big_segments_synchronized_on", "1795262797954")
    c.sadd("launchdarkly:big_segment_include:" + context_key_hash("alice"), "s.g1")


async def test_rediss_with_ca_file(tls_redis: TlsTerminator, tls_files: TlsFiles, seeded: None) -> None:
    async with reader(tls_redis.url(), ca_file=str(tls_files.ca)) as r:
        probe = await r.probe()
        assert probe.reachable, probe.error
        assert (await r.get_metadata()).synchronized_on == 1795262797954
        m = await r.get_membership(context_key_hash("alice"))
        assert m is not None and m.included == {"s.g1"}
    assert tls_redis.connections >= 1  # it really went through TLS


async def test_ca_file_from_the_url_parameter(
    tls_redis: TlsTerminator, tls_files: TlsFiles, seeded: None
) -> None:
    async with reader(tls_redis.url() + f"?ssl_ca_certs={tls_files.ca}") as r:
        assert (await r.get_metadata()).synchronized_on == 1795262797954


async def test_by_host_name(tls_redis: TlsTerminator, tls_files: TlsFiles, seeded: None) -> None:
    async with reader(tls_redis.url(host="localhost"), ca_file=str(tls_files.ca)) as r:
        assert (await r.get_metadata()).synchronized_on == 1795262797954


async def test_rediss_with_the_wrong_ca_fails_clearly(tls_redis: TlsTerminator, tls_files: TlsFiles) -> None:
    async with reader(tls_redis.url(), ca_file=str(tls_files.other_ca)) as r:
        with pytest.raises(StoreUnavailable, match="TLS handshake failed") as info:
            await r.get_metadata()
    assert "ca_file" in str(info.value) and info.value.code == "TLS"


async def test_the_system_cas_do_not_trust_a_private_ca(tls_redis: TlsTerminator) -> None:
    async with reader(tls_redis.url()) as r:
        p = await r.probe()
    assert not p.reachable and "TLS handshake failed: unable to get local issuer certificate" in (
        p.error or ""
    )
    assert "check ca_file" in (p.error or "")


async def test_an_expired_certificate_says_so(tls_redis_expired: TlsTerminator, tls_files: TlsFiles) -> None:
    async with reader(tls_redis_expired.url(), ca_file=str(tls_files.ca)) as r:
        with pytest.raises(StoreUnavailable, match="certificate has expired") as info:
            await r.get_metadata()
    assert "renew it on the server" in str(info.value)


async def test_a_certificate_for_another_host(
    tls_redis_wrong_host: TlsTerminator, tls_files: TlsFiles, seeded: None
) -> None:
    async with reader(tls_redis_wrong_host.url(), ca_file=str(tls_files.ca)) as r:
        with pytest.raises(StoreUnavailable, match="(?i)hostname mismatch|ip address mismatch") as info:
            await r.get_metadata()
    assert "check_hostname = false" in str(info.value)
    # Chain still verified, host name not: accepted with the option, or its URL twin.
    async with reader(tls_redis_wrong_host.url(), ca_file=str(tls_files.ca), check_hostname=False) as r:
        assert (await r.get_metadata()).synchronized_on == 1795262797954
    async with reader(
        tls_redis_wrong_host.url() + "?ssl_check_hostname=false", ca_file=str(tls_files.ca)
    ) as r:
        assert (await r.get_metadata()).synchronized_on == 1795262797954
    # ...but not with a CA that did not sign it.
    async with reader(tls_redis_wrong_host.url(), ca_file=str(tls_files.other_ca), check_hostname=False) as r:
        with pytest.raises(StoreUnavailable, match="TLS handshake failed"):
            await r.get_metadata()


async def test_ssl_cert_reqs_none_turns_verification_off(
    tls_redis_expired: TlsTerminator, seeded: None
) -> None:
    async with reader(tls_redis_expired.url() + "?ssl_cert_reqs=none") as r:
        assert (await r.get_metadata()).synchronized_on == 1795262797954


async def test_client_certificate_required(
    tls_redis_client_cert: TlsTerminator, tls_files: TlsFiles, seeded: None
) -> None:
    url = tls_redis_client_cert.url()
    async with reader(url, ca_file=str(tls_files.ca)) as r:
        with pytest.raises(StoreUnavailable) as info:
            await asyncio.wait_for(r.get_metadata(), 10)
    assert "client certificate" in str(info.value) and "cert_file" in str(info.value)
    async with reader(
        url,
        ca_file=str(tls_files.ca),
        cert_file=str(tls_files.client.cert),
        key_file=str(tls_files.client.key),
    ) as r:
        assert (await r.get_metadata()).synchronized_on == 1795262797954
    async with reader(
        url + f"?ssl_certfile={tls_files.client.cert}&ssl_keyfile={tls_files.client.key}",
        ca_file=str(tls_files.ca),
    ) as r:
        assert (await r.get_metadata()).synchronized_on == 1795262797954


async def test_a_client_certificate_the_server_does_not_trust(
    tls_redis_client_cert: TlsTerminator, tls_files: TlsFiles
) -> None:
    # The server certificate as a client certificate: signed by the CA, but not for clients.
    async with reader(
        tls_redis_client_cert.url(),
        ca_file=str(tls_files.ca),
        cert_file=str(tls_files.server.cert),
        key_file=str(tls_files.server.key),
    ) as r:
        p = await asyncio.wait_for(r.probe(), 10)
    assert not p.reachable and "the server refused the client certificate" in (p.error or "")


async def test_a_server_that_hangs_up_after_the_handshake(tls_files: TlsFiles) -> None:
    """No alert, just a closed connection (here: a TLS front whose backend is gone): the
    message says what that usually means over TLS."""
    from tests.servers import free_port

    front = TlsTerminator(free_port(), tls_files.server).start()
    try:
        async with reader(front.url(), ca_file=str(tls_files.ca)) as r:
            p = await asyncio.wait_for(r.probe(), 10)
    finally:
        front.stop()
    assert (
        not p.reachable
        and "hung up right after the TLS handshake" in (p.error or "")
        and "cert_file" in (p.error or "")
    )


async def test_unreadable_certificate_files_name_the_setting(
    tls_redis: TlsTerminator, tls_files: TlsFiles
) -> None:
    async with reader(tls_redis.url(), ca_file=str(tls_files.dir / "missing.pem")) as r:
        with pytest.raises(
            StoreUnavailable, match=r"cannot load the CA certificates \(ca_file or ssl_ca_certs\)"
        ):
            await r.get_metadata()
    async with reader(
        tls_redis.url(),
        ca_file=str(tls_files.ca),
        cert_file=str(tls_files.client.cert),
        key_file=str(tls_files.server.key),
    ) as r:
        with pytest.raises(
            StoreUnavailable, match=r"cannot load the client certificate \(cert_file, key_file\)"
        ):
            await r.get_metadata()


async def test_plain_redis_to_a_tls_port_does_not_hang(tls_redis: TlsTerminator) -> None:
    async with reader(f"redis://127.0.0.1:{tls_redis.port}/0", timeout=1) as r:
        probe = await asyncio.wait_for(r.probe(), 10)
    assert not probe.reachable


async def test_rediss_to_a_plain_port_says_so(redis_server: RedisServer) -> None:
    async with reader(f"rediss://127.0.0.1:{redis_server.port}/0", timeout=1) as r:
        p = await asyncio.wait_for(r.probe(), 10)
    assert not p.reachable and "TLS" in (p.error or "")
