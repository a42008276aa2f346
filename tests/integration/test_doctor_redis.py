"""``ldtui doctor`` on real redis-servers: a writer ACL missing SREM, an allkeys-* eviction
policy, cluster mode, TLS certificates valid and expired, four prefixes in one store, and only
read commands sent (unless --write-probe, which leaves nothing behind)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from ldtui.core.doctor import AclUser, Check, acl_reply_map, writer_probe_args
from ldtui.services.doctor import Credentials, DoctorService
from ldtui.services.inspect import DirectStore
from tests.servers import RedisServer, cluster_node
from tests.tls import TlsFiles, TlsTerminator

pytestmark = pytest.mark.network

WRITER_PASSWORD = "writer-pw-3f9c1e"


async def doctor(
    url: str,
    prefix: str = "p",
    *,
    writer: Credentials | None = None,
    write_probe: bool = False,
    client: Any = None,
    now: float | None = None,
) -> dict[str, Check]:
    service = DoctorService(
        client, None, write_probe=write_probe, environ={}, clock=lambda: now or time.time()
    )
    target = service.direct_target(DirectStore(kind="redis", redis_url=url, prefix=prefix), writer=writer)
    checks = await service.run([target])
    by_id = {c.id: c for c in checks}
    assert len(by_id) == len(checks), [c.id for c in checks]
    return by_id


def add_writer(server: RedisServer, *rules: str, name: str = "ldwriter") -> Credentials:
    with server.client() as c:
        c.execute_command("ACL", "SETUSER", name, "reset", "on", f">{WRITER_PASSWORD}", *rules)
    return Credentials(name, SecretStr(WRITER_PASSWORD), "$LD_WRITER")


ALL_BUT_SREM = ("~p:big_segment*", "+get", "+set", "+sadd", "+del", "+watch", "+ping", "+multi", "+exec")


async def test_a_writer_without_srem_fails_naming_srem(own_redis: RedisServer) -> None:
    writer = add_writer(own_redis, *ALL_BUT_SREM)
    checks = await doctor(own_redis.url, writer=writer)
    acl = checks["redis.writer_acl"]
    assert acl.result == "FAIL", acl
    assert "may not run SREM" in acl.found and "ACL DRYRUN" in acl.found
    assert acl.fix.startswith("ACL SETUSER ldwriter +srem")
    assert checks["redis.auth"].result == "WARN"  # the default user has no password here
    assert "the writer 'ldwriter' authenticates" in checks["redis.auth"].found


async def test_a_complete_writer_passes(own_redis: RedisServer) -> None:
    writer = add_writer(own_redis, *ALL_BUT_SREM, "+srem")
    checks = await doctor(own_redis.url, writer=writer)
    assert checks["redis.writer_acl"].result == "PASS", checks["redis.writer_acl"]


async def test_a_wrong_writer_password_fails_auth(own_redis: RedisServer) -> None:
    add_writer(own_redis, *ALL_BUT_SREM)
    checks = await doctor(own_redis.url, writer=Credentials("ldwriter", SecretStr("nope"), "$LD_WRITER"))
    assert checks["redis.auth"].result == "FAIL"
    assert "ldwriter" in checks["redis.auth"].found and "nope" not in checks["redis.auth"].found


async def test_the_write_probe_names_srem_and_leaves_nothing(own_redis: RedisServer) -> None:
    writer = add_writer(own_redis, *ALL_BUT_SREM)
    checks = await doctor(own_redis.url, writer=writer, write_probe=True)
    acl = checks["redis.writer_acl"]
    assert acl.result == "FAIL" and "SREM" in acl.found and "write probe" in acl.found
    with own_redis.client() as c:
        assert c.keys("*") == []  # the probe's string was deleted, its set emptied by SREM... or never filled


async def test_the_write_probe_of_a_complete_writer_passes_and_cleans_up(own_redis: RedisServer) -> None:
    writer = add_writer(own_redis, *ALL_BUT_SREM, "+srem")
    with own_redis.client() as c:
        c.set("p:big_segments_synchronized_on", str(int(time.time() * 1000)))
    checks = await doctor(own_redis.url, writer=writer, write_probe=True)
    assert checks["redis.writer_acl"].result == "PASS", checks["redis.writer_acl"]
    with own_redis.client() as c:
        assert c.keys("*") == [b"p:big_segments_synchronized_on"]


async def test_getuser_rules_evaluated_as_dryrun_answers(own_redis: RedisServer) -> None:
    """The Redis 6 fallback (ACL GETUSER evaluated by ldtui) agrees with Redis 7's ACL DRYRUN
    for users built from commands, categories, subtractions and key patterns."""
    users = {
        "a": (
            "~p:big_segment*",
            "-@all",
            "+get",
            "+set",
            "+sadd",
            "+srem",
            "+del",
            "+watch",
            "+ping",
            "+multi",
            "+exec",
        ),
        "b": ("~p:*", "+@all", "-srem", "-@dangerous"),
        "c": ("~other:*", "+@write", "+@read", "+@transaction", "+ping"),
        "d": ("%R~p:*", "+@all"),
        "e": ("allkeys", "+@set", "+@string", "-sadd"),
    }
    args = writer_probe_args("p")
    with own_redis.client() as c:
        for name, rules in users.items():
            c.execute_command("ACL", "SETUSER", name, "reset", "on", "nopass", *rules)
        for name in users:
            acl = AclUser.from_reply(acl_reply_map(c.execute_command("ACL", "GETUSER", name)))
            categories = {
                cat: frozenset(x.decode().lower() for x in c.execute_command("ACL", "CAT", cat))
                for cat in acl.categories()
            }
            ours = acl.answers(args, categories)
            for command, argv in args.items():
                dry = c.execute_command("ACL", "DRYRUN", name, *argv)
                assert (ours[command] is None) == (dry == b"OK"), (name, command, ours[command], dry)


async def test_allkeys_lru_fails(own_redis: RedisServer) -> None:
    with own_redis.client() as c:
        c.config_set("maxmemory-policy", "allkeys-lru")
    checks = await doctor(own_redis.url)
    assert checks["redis.eviction"].result == "FAIL"
    assert "allkeys-lru" in checks["redis.eviction"].found
    assert "noeviction" in checks["redis.eviction"].fix


async def test_volatile_policies_pass_and_memory_headroom_is_judged(own_redis: RedisServer) -> None:
    with own_redis.client() as c:
        c.config_set("maxmemory-policy", "volatile-lru")
        c.set("ballast", "x" * (16 << 20))  # connections' buffers are small beside it
    with own_redis.client() as c:  # (a new connection: the last one's 16 MiB query buffer is gone)
        used = int(c.info("memory")["used_memory"])
        c.config_set("maxmemory", str(int(used / 0.85)))
    checks = await doctor(own_redis.url)
    assert checks["redis.eviction"].result == "PASS"
    assert checks["redis.memory"].result == "WARN", checks["redis.memory"]
    with own_redis.client() as c:
        c.config_set("maxmemory", str(used * 10))
    assert (await doctor(own_redis.url))["redis.memory"].result == "PASS"


async def test_cluster_mode_fails(tmp_path: Path) -> None:
    node = cluster_node(tmp_path / "cluster")
    try:
        checks = await doctor(node.url)
    finally:
        node.stop()
    assert checks["redis.not_cluster"].result == "FAIL", checks["redis.not_cluster"]
    assert "Cluster" in checks["redis.not_cluster"].fix


async def test_tls_valid_certificate_passes(
    tls_redis: TlsTerminator, tls_files: TlsFiles, redis_url: str
) -> None:
    checks = await doctor(tls_redis.url() + f"?ssl_ca_certs={tls_files.ca}")
    assert checks["redis.tls"].result == "PASS", checks["redis.tls"]
    assert "days left" in checks["redis.tls"].found
    assert checks["redis.reachable"].result == "PASS"


async def test_tls_certificate_expiring_soon_warns(
    tls_redis: TlsTerminator, tls_files: TlsFiles, redis_url: str
) -> None:
    # The test certificate is valid for 90 days: 20 days before its end, it is expiring.
    checks = await doctor(tls_redis.url() + f"?ssl_ca_certs={tls_files.ca}")
    days = float(checks["redis.tls"].found.split(", ")[-1].split()[0])
    later = time.time() + (days - 20) * 86400
    checks = await doctor(tls_redis.url() + f"?ssl_ca_certs={tls_files.ca}", now=later)
    assert checks["redis.tls"].result == "WARN", checks["redis.tls"]
    assert "expires in" in checks["redis.tls"].found


async def test_tls_expired_certificate_fails(
    tls_redis_expired: TlsTerminator, tls_files: TlsFiles, redis_url: str
) -> None:
    checks = await doctor(tls_redis_expired.url() + f"?ssl_ca_certs={tls_files.ca}")
    assert checks["redis.tls"].result == "FAIL", checks["redis.tls"]
    assert "expired" in checks["redis.tls"].found
    assert checks["redis.writer_acl"].result == "SKIP"  # nothing more can be asked


async def test_tls_wrong_host_fails(
    tls_redis_wrong_host: TlsTerminator, tls_files: TlsFiles, redis_url: str
) -> None:
    checks = await doctor(tls_redis_wrong_host.url() + f"?ssl_ca_certs={tls_files.ca}")
    assert checks["redis.tls"].result == "FAIL"
    assert "host" in checks["redis.tls"].fix


def test_read_only_without_write_probe(own_redis: RedisServer) -> None:
    """Every command the doctor sent, counted by the server: reads and questions only."""
    import asyncio

    add_writer(own_redis, *ALL_BUT_SREM, "+srem")
    with own_redis.client() as c:
        c.set("p:big_segments_synchronized_on", "1")
        c.sadd("p:big_segment_include:x", "s.g1")
        c.config_resetstat()
    asyncio.run(doctor(own_redis.url, writer=Credentials("ldwriter", SecretStr(WRITER_PASSWORD), "x")))
    with own_redis.client() as c:
        stats = c.info("commandstats")
        sent = {name.removeprefix("cmdstat_") for name in stats}
        assert c.get("p:big_segments_synchronized_on") == b"1"
    questions = {"getrange", "srandmember", "scan", "type", "ping", "auth", "select", "hello", "info"}
    questions |= {"acl|dryrun", "acl|getuser", "acl|cat", "acl|whoami", "config|get", "config|resetstat"}
    assert sent <= questions, sent - questions
    assert {"getrange", "scan", "acl|dryrun", "info"} <= sent


async def test_four_prefixes_are_classified(
    redis_url: str, redis_server: RedisServer, served_emulator: Any, emulator_state: Any
) -> None:
    """One store holding an environment's prefix (written now), the default ``launchdarkly``
    (written now: two writers), an orphan (no environment), and the target's expected prefix
    with no data."""
    from ldtui.api.client import LaunchDarklyClient
    from ldtui.emulator.seed import DEFAULT_TOKEN

    envs = emulator_state.projects["default"].environments
    other, mine = envs["production"].id, envs["staging"].id
    now = int(time.time() * 1000)
    with redis_server.client() as c:
        c.set(f"{other}:big_segments_synchronized_on", str(now - 5_000))
        c.set("launchdarkly:big_segments_synchronized_on", str(now - 2_000))
        c.set("orphan-7:big_segments_synchronized_on", str(now - 3 * 86_400_000))
        for i in range(300):  # other keys the scan walks past
            c.set(f"noise:{i}", "x")
    async with LaunchDarklyClient(served_emulator.base_url, DEFAULT_TOKEN) as client:
        checks = await doctor(redis_url, prefix=mine, client=client)
    prefix, writers = checks["redis.prefix"], checks["store.writers"]
    assert prefix.result == "FAIL", prefix
    assert f"expected prefix {mine!r}" in prefix.found and "environment default/production" in prefix.found
    assert writers.result == "WARN", writers
    assert (
        "two writers" in writers.found and f"{other!r}" in writers.found and "'launchdarkly'" in writers.found
    )
    assert "prefix with no environment: 'orphan-7'" in writers.found
    assert "the default prefix" in writers.found
    assert checks["network.outbound"].result == "PASS"
    assert "52.21.152.96/32" in checks["network.outbound"].found  # the emulator's outboundAddresses


async def test_a_tls_url_to_a_plain_server_fails_redis_tls(own_redis: RedisServer) -> None:
    """rediss:// to a redis-server without TLS: the TCP port answers, the handshake does not (a
    plain Redis waits for a command line). That is redis.tls's FAIL, saying the server may not
    speak TLS; not only 'no connection' with every other check, redis.tls included, skipped as
    if the host could not be reached."""
    service = DoctorService(None, None, environ={}, clock=time.time)
    url = own_redis.url.replace("redis://", "rediss://", 1)
    target = service.direct_target(DirectStore(kind="redis", redis_url=url, prefix="p", timeout=1.0))
    checks = {c.id: c for c in await service.run([target])}
    tls = checks["redis.tls"]
    assert tls.result == "FAIL", tls
    assert "handshake" in tls.found
    assert "redis://" in tls.fix and "TLS" in tls.fix
    assert checks["redis.reachable"].result == "FAIL"
    assert "redis.tls" in checks["redis.reachable"].fix
    assert checks["redis.auth"].result == "SKIP" and "TLS" in checks["redis.auth"].found
