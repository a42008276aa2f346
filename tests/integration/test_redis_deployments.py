"""Redis as it runs in production: servers answering with error words, slow drips, a Redis
Cluster, a Sentinel deployment failing over, unix sockets."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from ldtui.core.bigsegments import context_key_hash
from ldtui.core.store_settings import RedisStore
from ldtui.stores import resp
from ldtui.stores.base import (
    StoreAuthenticationFailed,
    StoreDataError,
    StoreError,
    StoreLoading,
    StoreNotSupported,
    StorePermissionDenied,
    StoreReadOnlyReplica,
    StoreServerError,
    StoreUnavailable,
)
from ldtui.stores.redis_reader import RedisBigSegmentReader
from tests.servers import FakeRedisServer, SentinelDeployment, UnixRedisServer, cluster_node, wait_for

pytestmark = pytest.mark.network

SYNC_KEY = "launchdarkly:big_segments_synchronized_on"


def reader(url: str, prefix: str | None = None, **kw: Any) -> RedisBigSegmentReader:
    return RedisBigSegmentReader(RedisStore(url=url, **kw), prefix)


def answering(word_reply: bytes, *, on: tuple[bytes, ...]) -> Callable[[list[bytes]], bytes]:
    """A server that answers the commands ``on`` with ``word_reply`` and the rest as an empty
    store would."""

    def respond(args: list[bytes]) -> bytes:
        name = args[0].upper()
        if name in on:
            return word_reply + b"\r\n"
        return {
            b"TYPE": b"+none\r\n",
            b"PING": b"+PONG\r\n",
            b"GETRANGE": b"$0\r\n\r\n",
            b"SRANDMEMBER": b"*0\r\n",
        }.get(name, b"-ERR unexpected\r\n")

    return respond


# The server's error words, what they become, and a piece of the fix each one's message gives.
WORDS = [
    (b"-LOADING Redis is loading the dataset in memory", StoreLoading, "loading:0"),
    (
        b"-BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.",
        StoreUnavailable,
        "SCRIPT KILL",
    ),
    (b"-MOVED 3999 127.0.0.1:6381", StoreNotSupported, "do not support Redis Cluster"),
    (b"-ASK 3999 127.0.0.1:6381", StoreNotSupported, "do not support Redis Cluster"),
    (b"-CLUSTERDOWN The cluster is down", StoreNotSupported, "do not support Redis Cluster"),
    (
        b"-READONLY You can't write against a read only replica.",
        StoreReadOnlyReplica,
        "point url at the master",
    ),
    (
        b"-MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.",
        StoreReadOnlyReplica,
        "fix replication",
    ),
    (b"-OOM command not allowed when used memory > 'maxmemory'.", StoreUnavailable, "maxmemory"),
    (
        b"-NOPERM User ldtui has no permissions to run the 'srandmember' command",
        StorePermissionDenied,
        "grant the ACL user +",
    ),
    (b"-NOPERM No permissions to access a key", StorePermissionDenied, "~launchdarkly:big_segment*"),
    (b"-NOAUTH Authentication required.", StoreAuthenticationFailed, "password_env or password_file"),
    (
        b"-WRONGPASS invalid username-password pair or user is disabled.",
        StoreAuthenticationFailed,
        "password",
    ),
    (b"-ERR unknown command 'SRANDMEMBER', with args beginning with: ", StoreServerError, "rename-command"),
    (b"-ERR something nobody expected", StoreServerError, "something nobody expected"),
]


@pytest.mark.parametrize(
    ("reply", "kind", "fix"), WORDS, ids=[w[0].split()[0].decode()[1:] + str(i) for i, w in enumerate(WORDS)]
)
async def test_error_words_are_typed_errors_never_a_wrong_type(
    fake_redis: Callable[..., FakeRedisServer], reply: bytes, kind: type[StoreError], fix: str
) -> None:
    word = reply.split()[0][1:].decode()
    server = fake_redis(answering(reply, on=(b"SRANDMEMBER", b"GETRANGE")))
    async with reader(server.url) as r:
        with pytest.raises(kind) as lookup:
            await r.get_memberships([context_key_hash("a"), context_key_hash("b")])
        with pytest.raises(kind) as single:
            await r.get_membership(context_key_hash("a"))
        with pytest.raises(kind) as metadata:
            await r.get_metadata()
    for info in (lookup, single, metadata):
        err = info.value
        assert type(err) is kind and err.code == word
        assert word in str(err) and fix in str(err)
        assert "is not a set" not in str(err) and "not a string" not in str(err)


@pytest.mark.parametrize(("reply", "kind", "fix"), [w for w in WORDS if not w[0].startswith(b"-NOPERM No")])
async def test_error_words_on_connect_fail_the_probe_clearly(
    fake_redis: Callable[..., FakeRedisServer], reply: bytes, kind: type[StoreError], fix: str
) -> None:
    server = fake_redis(answering(reply, on=(b"TYPE", b"PING")))
    async with reader(server.url) as r:
        p = await r.probe()
        with pytest.raises(kind):
            await r.get_metadata()
    assert not p.reachable and fix in (p.error or "")


async def test_a_wrong_type_is_still_the_contexts_own_problem(
    fake_redis: Callable[..., FakeRedisServer],
) -> None:
    server = fake_redis(
        answering(b"-WRONGTYPE Operation against a key holding the wrong kind of value", on=(b"SRANDMEMBER",))
    )
    async with reader(server.url) as r:
        result = await r.get_memberships([context_key_hash("a"), context_key_hash("b")])
    assert all(isinstance(v, StoreDataError) and "is not a set" in str(v) for v in result.values())


async def test_a_server_that_drips_cannot_hold_a_read(fake_redis: Callable[..., FakeRedisServer]) -> None:
    """One byte every 50 ms never trips a per-read timeout; the total deadline does."""
    server = fake_redis(answering(b"+PONG", on=()), drip=0.05)
    async with reader(server.url, timeout=0.3) as r:
        start = time.monotonic()
        p = await r.probe()
        assert not p.reachable and "no reply within 0.3 s" in (p.error or "")
        with pytest.raises(StoreUnavailable, match="no reply within 0.3 s"):
            await r.get_metadata()
        with pytest.raises(StoreUnavailable):
            await r.statistics()
    assert time.monotonic() - start < 3


async def test_a_reply_too_large_is_refused(
    fake_redis: Callable[..., FakeRedisServer], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(resp, "MAX_EXCHANGE_BYTES", 1 << 20)
    huge = b"$3000000\r\n" + b"1" * 3_000_000 + b"\r\n"
    server = fake_redis(lambda args: huge if args[0].upper() == b"GETRANGE" else answering(b"", on=())(args))
    async with reader(server.url) as r:
        with pytest.raises(StoreDataError, match="more than 1 MiB for one read"):
            await r.get_metadata()


async def test_replies_of_shapes_redis_never_sends(fake_redis: Callable[..., FakeRedisServer]) -> None:
    """A server that is not Redis (or a proxy gone wrong): errors, never a traceback."""
    odd = {
        b"SRANDMEMBER": b"*2\r\n:5\r\n*1\r\n$1\r\nx\r\n",  # an integer and an array as members
        b"GETRANGE": b"*1\r\n$1\r\n1\r\n",  # an array for a string
        b"SCAN": b"*2\r\n$1\r\n0\r\n*2\r\n:1\r\n$3\r\nabc\r\n",  # an integer as a key
    }
    server = fake_redis(lambda args: odd.get(args[0].upper()) or answering(b"", on=())(args))
    async with reader(server.url) as r:
        result = await r.get_memberships([context_key_hash("a"), context_key_hash("b")])
        assert all(
            isinstance(v, StoreDataError) and "not a set of strings" in str(v) for v in result.values()
        )
        with pytest.raises(StoreDataError, match="not a string"):
            await r.get_metadata()
        with pytest.raises(StoreDataError, match="not Redis's"):
            await r.statistics()


async def test_integer_replies_zero_and_false_like_stay_in_place(
    fake_redis: Callable[..., FakeRedisServer],
) -> None:
    """Replies are taken from the parser until it says "incomplete": a reply that equals
    hiredis's default marker for that (``:0`` == False) must be a reply like any other, in its
    place, or every later context would get its neighbour's sets."""
    a, b, c = (context_key_hash(k) for k in ("a", "b", "c"))

    def respond(args: list[bytes]) -> bytes:
        if args[0].upper() != b"SRANDMEMBER":
            return answering(b"", on=())(args)
        key = args[1]
        if key.endswith(b"_include:" + b.encode()):
            return b":0\r\n"  # not a set: this context's problem only
        if key.endswith(b"_include:" + c.encode()):
            return b"*1\r\n$4\r\nseg1\r\n"  # c's own ref, after b's zero
        return b"*0\r\n"

    server = fake_redis(respond)
    async with reader(server.url, timeout=2) as r:
        start = time.monotonic()
        result = await r.get_memberships([a, b, c])
    assert time.monotonic() - start < 1.5  # not waiting on a reply already read
    assert result[a] is None
    assert isinstance(result[b], StoreDataError) and "not a set" in str(result[b])
    got = result[c]
    assert not isinstance(got, StoreError) and got is not None and got.included == frozenset({"seg1"})


async def test_a_bulk_lookup_is_written_ahead_of_its_replies() -> None:
    """The reader puts several windows of commands on the wire before it waits for the first
    window's replies, so the server always has work queued while this process parses (or
    explains and writes). A server that answers nothing until it holds every set read of a
    lookup of 5 windows must get them all; a reader that waited would time out."""
    import hiredis

    from ldtui.stores import redis_reader

    contexts = 5 * redis_reader._WINDOW
    assert redis_reader._AHEAD + 1 >= 5
    held: list[bytes] = []

    async def handle(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        parser = hiredis.Reader()
        while data := await r.read(1 << 16):
            parser.feed(data)
            while (request := parser.gets()) is not False:
                if request[0].upper() != b"SRANDMEMBER":
                    w.write(answering(b"", on=())(request))
                    continue
                held.append(b"*0\r\n")
                if len(held) == 2 * contexts:  # every read of the lookup is here: answer them
                    w.write(b"".join(held))
            await w.drain()
        w.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        async with reader(f"redis://127.0.0.1:{port}/0", timeout=5) as r:
            result = await r.get_memberships([context_key_hash(f"k{i}") for i in range(contexts)])
        assert len(result) == contexts and all(v is None for v in result.values())
    finally:
        server.close()


# --- Redis Cluster ------------------------------------------------------------------------------


async def test_a_cluster_node_without_slots_is_refused(tmp_path: Path) -> None:
    node = cluster_node(tmp_path / "a")
    try:
        async with reader(node.url) as r:
            p = await r.probe()
            with pytest.raises(StoreNotSupported, match="CLUSTERDOWN") as info:
                await r.get_metadata()
        assert not p.reachable and "Redis Cluster" in (p.error or "")
        assert "do not support Redis Cluster" in str(info.value)
    finally:
        node.stop()


async def test_a_cluster_of_two_masters_is_recognised_by_moved(tmp_path: Path) -> None:
    """The reader asks TYPE of 16 keys whose slots are spread over the cluster's 16384 when it
    connects: some belong to the other master, which makes the node answer MOVED."""
    a, b = cluster_node(tmp_path / "a"), cluster_node(tmp_path / "b")
    try:
        ca, cb = a.client(), b.client()
        ca.execute_command("CLUSTER", "ADDSLOTS", *range(0, 8192))
        cb.execute_command("CLUSTER", "ADDSLOTS", *range(8192, 16384))
        ca.execute_command("CLUSTER", "MEET", "127.0.0.1", b.port)
        for c in (ca, cb):
            wait_for(lambda c=c: c.cluster("info")["cluster_state"] == "ok", 30, "the cluster to form")
        ca.set(SYNC_KEY, "1")  # whichever node it lands on, the reader must not use it
        async with reader(a.url) as r:
            with pytest.raises(StoreNotSupported, match="MOVED"):
                await r.get_memberships([context_key_hash("x")])
    finally:
        a.stop()
        b.stop()


async def test_a_single_node_cluster_holding_every_slot_reads_correctly(tmp_path: Path) -> None:
    """Documented limit: with every slot on one node no key is elsewhere, nothing says MOVED,
    and every read is right (the writers work there too)."""
    node = cluster_node(tmp_path / "a")
    try:
        c = node.client()
        c.execute_command("CLUSTER", "ADDSLOTS", *range(0, 16384))
        wait_for(lambda: c.cluster("info")["cluster_state"] == "ok", 30, "the cluster to come up")
        c.set(SYNC_KEY, "42")
        async with reader(node.url) as r:
            assert (await r.get_metadata()).synchronized_on == 42
    finally:
        node.stop()


def test_cluster_check_keys_cover_every_sixteenth_of_the_slots() -> None:
    import binascii

    from ldtui.stores.redis_reader import cluster_check_keys

    keys = cluster_check_keys(b"launchdarkly")
    assert len(keys) == 16 and all(k.startswith(b"launchdarkly:big_segment") for k in keys)
    slots = [binascii.crc_hqx(k[k.index(b"{") + 1 : k.index(b"}")], 0) % 16384 for k in keys]
    assert sorted(s // 1024 for s in slots) == list(range(16))


# --- Sentinel -----------------------------------------------------------------------------------


async def test_sentinel_names_the_master_and_the_new_one_after_a_failover(
    sentinel_deployment: SentinelDeployment,
) -> None:
    d = sentinel_deployment
    d.master.client().set(SYNC_KEY, "1")
    wait_for(lambda: d.replica.client().get(SYNC_KEY) == b"1", 30, "replication")
    async with reader(d.url) as r:
        assert (await r.get_metadata()).synchronized_on == 1
        assert f"(master 127.0.0.1:{d.master.port})" in r.description
        new_port = d.fail_over()
        assert new_port == d.replica.port
        d.replica.client().set(SYNC_KEY, "2")  # the promoted replica takes writes now
        deadline = time.monotonic() + 30
        while True:
            try:
                if (await r.get_metadata()).synchronized_on == 2:
                    break
            except StoreUnavailable:
                pass  # the old master's connection is gone; the next call asks the sentinel
            assert time.monotonic() < deadline, "the reader never reached the new master"
            await asyncio.sleep(0.1)
        assert f"(master 127.0.0.1:{new_port})" in r.description


async def test_sentinel_without_that_service(sentinel_deployment: SentinelDeployment) -> None:
    url = f"redis+sentinel://127.0.0.1:{sentinel_deployment.sentinel_port}/nope/0"
    async with reader(url) as r:
        with pytest.raises(StoreUnavailable, match="no sentinel names a master for 'nope'") as info:
            await r.get_metadata()
    assert "SENTINEL MASTERS" in str(info.value)


async def test_no_sentinel_reachable() -> None:
    from tests.servers import free_port

    async with reader(
        f"redis+sentinel://127.0.0.1:{free_port()},127.0.0.1:{free_port()}/mymaster", timeout=0.5
    ) as r:
        p = await asyncio.wait_for(r.probe(), 10)
    assert not p.reachable and "no sentinel names a master" in (p.error or "")


# --- unix sockets -------------------------------------------------------------------------------


async def test_unix_socket_with_a_database_number(unix_redis: UnixRedisServer) -> None:
    c = unix_redis.client(db=2)
    c.set(SYNC_KEY, "1795262797954")
    c.sadd("launchdarkly:big_segment_include:" + context_key_hash("alice"), "s.g1")
    async with reader(unix_redis.unix_url(db=2)) as r:
        assert (await r.probe()).reachable
        assert (await r.get_metadata()).synchronized_on == 1795262797954
        assert (await r.get_membership(context_key_hash("alice"))) is not None
        assert r.description.startswith(f"unix://{unix_redis.socket_path}?db=2")
    async with reader(f"unix://{unix_redis.socket_path}.missing") as r:
        p = await r.probe()
    assert not p.reachable and "socket path" in (p.error or "")
