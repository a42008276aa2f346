"""The Redis reader and writer against a real redis-server."""

from __future__ import annotations

import asyncio
import contextlib
import re
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ldtui.core.bigsegments import BigSegmentPatch, Membership, context_key_hash
from ldtui.core.store_settings import RedisStore, StoreSettingError, parse_redis_url
from ldtui.stores.base import (
    StoreAuthenticationFailed,
    StoreDataError,
    StorePermissionDenied,
    StoreUnavailable,
)
from ldtui.stores.redis_reader import RedisBigSegmentReader
from ldtui.stores.resp import READ_COMMANDS, RespConnection, encode
from ldtui.stores.writers import RedisBigSegmentWriter
from tests.servers import RedisServer

pytestmark = pytest.mark.network


def reader(
    url: str, prefix: str | None = None, password: str | None = None, **kw: Any
) -> RedisBigSegmentReader:
    return RedisBigSegmentReader(RedisStore(url=url, **kw), prefix, password)


def patch(ref: str, version: str, previous: str, **changes: list[str]) -> BigSegmentPatch:
    hashed = {k: tuple(context_key_hash(x) for x in v) for k, v in changes.items()}
    return BigSegmentPatch("env", ref, version, previous, **hashed)


async def fill(url: str, prefix: str | None = None) -> None:
    w = RedisBigSegmentWriter.from_url(url, prefix)
    try:
        assert (
            await w.apply_patch(
                patch("seg.g1", "1", "", included_add=["alice", "bob", "ключ"], excluded_add=["carol"])
            )
        ).applied
        assert (await w.apply_patch(patch("seg.g1", "2", "1", excluded_add=["bob"]))).applied
        assert (await w.apply_patch(patch("other.seg.g2", "3", "2", included_add=["carol", "dave"]))).applied
        await w.set_synchronized_on(1_795_262_797_954)
    finally:
        await w.aclose()


# --- metadata ---------------------------------------------------------------------------------


async def test_metadata_missing_then_written(redis_url: str) -> None:
    async with reader(redis_url) as r:
        meta = await r.get_metadata()
        assert meta.synchronized_on is None and meta.cursor is None
        await fill(redis_url)
        meta = await r.get_metadata()
        assert meta.synchronized_on == 1_795_262_797_954 and meta.cursor == "3"


@pytest.mark.parametrize("value", [b"soon", b"", b"1.5"])
async def test_metadata_not_a_number_is_an_error(
    redis_server: RedisServer, redis_url: str, value: bytes
) -> None:
    redis_server.client().set("launchdarkly:big_segments_synchronized_on", value)
    async with reader(redis_url) as r:
        with pytest.raises(StoreDataError, match="not a whole number"):
            await r.get_metadata()


async def test_metadata_of_the_wrong_type(redis_server: RedisServer, redis_url: str) -> None:
    redis_server.client().sadd("launchdarkly:big_segments_synchronized_on", "x")
    async with reader(redis_url) as r:
        with pytest.raises(StoreDataError, match="not a string"):
            await r.get_metadata()


# --- membership -------------------------------------------------------------------------------


async def test_bulk_and_single_membership(redis_url: str) -> None:
    await fill(redis_url)
    keys = ["alice", "bob", "carol", "dave", "ключ", "nobody"]
    async with reader(redis_url) as r:
        result = await r.get_memberships([context_key_hash(k) for k in keys])
        by_key = {k: result[context_key_hash(k)] for k in keys}
        assert by_key["alice"] == Membership(included=frozenset({"seg.g1"}))
        assert by_key["bob"] == Membership(included=frozenset({"seg.g1"}), excluded=frozenset({"seg.g1"}))
        assert by_key["carol"] == Membership(
            included=frozenset({"other.seg.g2"}), excluded=frozenset({"seg.g1"})
        )
        assert by_key["ключ"] == Membership(included=frozenset({"seg.g1"}))
        assert by_key["nobody"] is None
        assert await r.get_membership(context_key_hash("dave")) == Membership(
            included=frozenset({"other.seg.g2"})
        )


async def test_bulk_lookup_across_many_windows(redis_url: str) -> None:
    keys = [f"user-{i}" for i in range(10_000)]
    w = RedisBigSegmentWriter.from_url(redis_url)
    await w.apply_patch(patch("big.g1", "1", "", included_add=keys[::3], excluded_add=keys[::5]))
    await w.aclose()
    async with reader(redis_url) as r:
        result = await r.get_memberships([context_key_hash(k) for k in keys] * 2)  # duplicates too
    assert len(result) == len(keys)
    for i, k in enumerate(keys):
        m = result[context_key_hash(k)]
        assert (m is not None and "big.g1" in m.included) == (i % 3 == 0)
        assert (m is not None and "big.g1" in m.excluded) == (i % 5 == 0)


async def test_custom_and_empty_prefix(redis_url: str) -> None:
    await fill(redis_url, "client-side-id-123")
    h = context_key_hash("alice")
    async with reader(redis_url, "client-side-id-123") as r:
        assert (await r.get_membership(h)) is not None
        assert (await r.get_metadata()).synchronized_on == 1_795_262_797_954
    async with reader(redis_url, "") as r:  # empty means the default, which is empty here
        assert r.prefix == "launchdarkly"
        assert await r.get_membership(h) is None


async def test_hash_with_slash_plus_equals(redis_url: str) -> None:
    key = "alice@example.com"  # /42YGfwOEr8NJIkuRZh+JJoo3Og2qFytYOKOqqjG2XY=
    h = context_key_hash(key)
    assert "/" in h and "+" in h and h.endswith("=")
    w = RedisBigSegmentWriter.from_url(redis_url)
    await w.apply_patch(patch("s.g1", "1", "", included_add=[key]))
    await w.aclose()
    async with reader(redis_url) as r:
        assert await r.get_membership(h) == Membership(included=frozenset({"s.g1"}))


async def test_string_where_a_set_is_expected(redis_server: RedisServer, redis_url: str) -> None:
    bad, good = context_key_hash("bad"), context_key_hash("good")
    c = redis_server.client()
    c.set(f"launchdarkly:big_segment_include:{bad}", "s.g1")
    c.sadd(f"launchdarkly:big_segment_include:{good}", "s.g1")
    async with reader(redis_url) as r:
        result = await r.get_memberships([bad, good])
        assert isinstance(result[bad], StoreDataError) and "not a set" in str(result[bad])
        assert result[good] == Membership(included=frozenset({"s.g1"}))
        with pytest.raises(StoreDataError):
            await r.get_membership(bad)
        # The connection is still good afterwards.
        assert await r.get_membership(good) is not None


async def test_db_index_from_url(redis_server: RedisServer) -> None:
    c = redis_server.client(db=3)
    c.flushdb()
    c.set("launchdarkly:big_segments_synchronized_on", "42")
    async with reader(f"redis://127.0.0.1:{redis_server.port}/3") as r:
        assert (await r.get_metadata()).synchronized_on == 42
    async with reader(f"redis://127.0.0.1:{redis_server.port}/?db=3") as r:
        assert (await r.get_metadata()).synchronized_on == 42
    c.flushdb()


# --- bounded reads ----------------------------------------------------------------------------


def net_output(redis_server: RedisServer) -> int:
    return int(redis_server.client().info("stats")["total_net_output_bytes"])


async def test_an_oversized_synchronized_on_is_not_read(redis_server: RedisServer, redis_url: str) -> None:
    c = redis_server.client()
    c.set("launchdarkly:big_segments_synchronized_on", b"1" * 5_000_000)
    async with reader(redis_url) as r:
        await r.probe()
        before = net_output(redis_server)
        for _ in range(3):  # every poll
            with pytest.raises(StoreDataError, match="holds more than 32 bytes"):
                await r.get_metadata()
    assert net_output(redis_server) - before < 10_000  # not 3 x 5 MB
    c.set("launchdarkly:big_segments_synchronized_on", b"1" * 32)  # the bound itself is read
    async with reader(redis_url) as r:
        assert (await r.get_metadata()).synchronized_on == int("1" * 32)
    c.set("launchdarkly:big_segments_synchronized_on", b"1" * 33)
    async with reader(redis_url) as r:
        with pytest.raises(StoreDataError, match="more than 32 bytes"):
            await r.get_metadata()


async def test_missing_and_empty_metadata_differ(redis_server: RedisServer, redis_url: str) -> None:
    """GETRANGE reads a missing key as "": TYPE tells them apart, as the SDK's GET does."""
    async with reader(redis_url) as r:
        assert (await r.get_metadata()).synchronized_on is None  # missing: stale, available
        redis_server.client().set("launchdarkly:big_segments_synchronized_on", b"")
        with pytest.raises(StoreDataError, match="not a whole number"):
            await r.get_metadata()
        redis_server.client().set("launchdarkly:big_segments_cursor", b"")
        redis_server.client().set("launchdarkly:big_segments_synchronized_on", b"5")
        meta = await r.get_metadata()
    assert meta.synchronized_on == 5 and meta.cursor == ""


async def test_a_long_cursor_is_cut(redis_server: RedisServer, redis_url: str) -> None:
    redis_server.client().set("launchdarkly:big_segments_cursor", b"c" * 100_000)
    async with reader(redis_url) as r:
        cursor = (await r.get_metadata()).cursor
    assert cursor is not None and cursor.endswith("…") and len(cursor) == 257


async def test_a_set_over_the_member_cap_is_unreadable_not_loaded(
    redis_server: RedisServer, redis_url: str
) -> None:
    huge, big, ok = context_key_hash("huge"), context_key_hash("big"), context_key_hash("ok")
    c = redis_server.client()
    members = [f"seg-{i}.g1" for i in range(100_000)]
    for i in range(0, len(members), 10_000):
        c.sadd(f"launchdarkly:big_segment_include:{huge}", *members[i : i + 10_000])
    c.sadd(f"launchdarkly:big_segment_exclude:{big}", *members[:101])
    c.sadd(f"launchdarkly:big_segment_include:{ok}", *members[:100])
    async with reader(redis_url, max_members=100) as r:
        await r.probe()
        before = net_output(redis_server)
        result = await r.get_memberships([huge, big, ok])
        assert net_output(redis_server) - before < 20_000  # 101 members at most per set, not 100,000
        assert isinstance(result[huge], StoreDataError)
        assert f"big_segment_include:{huge} has more than 100 members" in str(result[huge])
        assert isinstance(result[big], StoreDataError) and "exclude" in str(result[big])
        assert isinstance(result[ok], Membership) and len(result[ok].included) == 100
        with pytest.raises(StoreDataError, match="max_members"):
            await r.get_membership(huge)
        stats = await r.statistics()
    assert stats.contexts == 1 and stats.anomalies == 2
    assert all("has more than 100 members" in e for e in stats.anomaly_examples)
    assert stats.included == {m: 1 for m in members[:100]}
    async with reader(redis_url) as r:  # the default cap (10,000) reads the 101-member set
        assert isinstance((await r.get_memberships([big]))[big], Membership)


async def test_one_bad_context_in_big_windows_leaves_every_other_answer_right(
    redis_server: RedisServer, redis_url: str
) -> None:
    """Windows of sets in the schema are read at C speed; one context with a wrong type (or a
    member that is not text) sends its window down the per-context path. Either way every
    context gets its own answer, repeated hashes included."""
    c = redis_server.client()
    keys = [f"user-{i}" for i in range(10_000)]
    hashes = [context_key_hash(k) for k in keys]
    expected: dict[str, Any] = {}
    pipe = c.pipeline(transaction=False)
    for i, h in enumerate(hashes):
        inc = {f"seg-{i % 7}.g1"} if i % 3 else set()
        exc = {f"seg-{i % 5}.g2", "other.g1"} if i % 4 == 0 else set()
        if inc:
            pipe.sadd(f"launchdarkly:big_segment_include:{h}", *inc)
        if exc:
            pipe.sadd(f"launchdarkly:big_segment_exclude:{h}", *exc)
        expected[h] = Membership(frozenset(inc), frozenset(exc)) if inc or exc else None
    bad = hashes[7_777]
    pipe.delete(f"launchdarkly:big_segment_include:{bad}")
    pipe.set(f"launchdarkly:big_segment_include:{bad}", "not a set")
    pipe.execute()
    asked = hashes + hashes[:500]  # repeated keys
    async with reader(redis_url) as r:
        result = await r.get_memberships(asked)
        assert set(result) == set(hashes)
        assert isinstance(result[bad], StoreDataError) and "not a set" in str(result[bad])
        assert {h: v for h, v in result.items() if h != bad} == {
            h: v for h, v in expected.items() if h != bad
        }
        # The bulk path's answers in input order: one per hash asked, repeats included.
        ordered = await r.memberships_in_order(asked)
        assert len(ordered) == len(asked)
        assert isinstance(ordered[7_777], StoreDataError)
        assert [v for h, v in zip(asked, ordered, strict=True) if h != bad] == [
            expected[h] for h in asked if h != bad
        ]
        c.delete(f"launchdarkly:big_segment_include:{bad}")  # now every window is in the schema
        again = await r.get_memberships(asked)
        again_ordered = await r.memberships_in_order(asked)
    expected[bad] = None  # user-7777 has no exclude set (7,777 % 4 != 0), and now no include set
    assert again == expected
    assert again_ordered == [expected[h] for h in asked]


async def test_anomalies_name_the_right_key_with_mixed_key_lengths(
    redis_server: RedisServer, redis_url: str
) -> None:
    """Keys of several lengths are encoded grouped by length; the replies come back in that
    order, and the anomaly must name the key that is wrong."""
    c = redis_server.client()
    for i in range(20):
        c.sadd("launchdarkly:big_segment_include:" + context_key_hash(f"u{i}"), "s.g1")
    c.set("launchdarkly:big_segment_include:short-junk", "not a set")
    c.sadd("launchdarkly:big_segment_include:a-longer-junk-key-that-is-a-set", "t.g1")
    async with reader(redis_url) as r:
        stats = await r.statistics(batch=1000)
    assert stats.anomalies == 1
    assert stats.anomaly_examples == ["launchdarkly:big_segment_include:short-junk is not a set"]
    assert stats.contexts == 21 and stats.included == {"s.g1": 20, "t.g1": 1}


def test_encode_many_returns_the_order_it_encoded() -> None:
    from ldtui.stores.redis_reader import _encode_many

    payload, order = _encode_many(b"*2\r\n$4\r\nTYPE\r\n", [b"aa", b"b", b"cc", b"d"])
    assert order == [b"aa", b"cc", b"b", b"d"]
    assert [p.split(b"\r\n")[0] for p in payload.split(b"*2\r\n$4\r\nTYPE\r\n$")[1:]] == [
        b"2",
        b"2",
        b"1",
        b"1",
    ]
    assert payload.count(b"TYPE") == 4 and payload.index(b"cc") < payload.index(b"\r\nb\r\n")


# --- probe, failures, timeouts ----------------------------------------------------------------


async def test_probe_reports_latency(redis_url: str) -> None:
    async with reader(redis_url) as r:
        p = await r.probe()
    assert p.reachable and p.latency_ms is not None and 0 <= p.latency_ms < 1000 and p.error is None


async def test_server_down(own_redis: RedisServer) -> None:
    url = own_redis.url
    own_redis.stop()
    async with reader(url) as r:
        p = await r.probe()
        assert not p.reachable and "cannot connect" in (p.error or "")
        with pytest.raises(StoreUnavailable, match="cannot connect"):
            await r.get_metadata()
        with pytest.raises(StoreUnavailable):
            await r.get_memberships([context_key_hash("x")])


async def test_restart_reconnects(own_redis: RedisServer) -> None:
    async with reader(own_redis.url) as r:
        assert (await r.probe()).reachable
        own_redis.stop()
        assert not (await r.probe()).reachable
        own_redis.start()
        assert (await r.probe()).reachable
        assert (await r.get_metadata()).synchronized_on is None


@pytest.fixture
def silent_server() -> Iterator[int]:
    """Accepts connections and never answers."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    conns: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        sock.settimeout(0.1)
        while not stop.is_set():
            with contextlib.suppress(OSError):
                conns.append(sock.accept()[0])

    t = threading.Thread(target=accept, daemon=True)
    t.start()
    yield sock.getsockname()[1]
    stop.set()
    t.join()
    for c in conns:
        c.close()
    sock.close()


async def test_timeouts_never_hang(silent_server: int) -> None:
    url = f"redis://127.0.0.1:{silent_server}/0"
    async with reader(url, timeout=0.3) as r:
        p = await asyncio.wait_for(r.probe(), 5)
        assert not p.reachable
        with pytest.raises(StoreUnavailable, match="no reply within 0.3 s"):
            await asyncio.wait_for(r.get_metadata(), 5)
        with pytest.raises(StoreUnavailable):
            await asyncio.wait_for(r.statistics(), 5)


# --- statistics -------------------------------------------------------------------------------


async def test_statistics_counts(redis_url: str) -> None:
    await fill(redis_url)
    seen = []
    async with reader(redis_url) as r:
        stats = await r.statistics(progress=seen.append, batch=2)
    # alice, bob, ключ, carol, dave have data; carol only via exclude of seg and include of other.
    assert stats.contexts == 5
    assert stats.included == {"seg.g1": 3, "other.seg.g2": 2}
    assert stats.excluded == {"seg.g1": 2}
    assert stats.complete and stats.anomalies == 0
    assert seen and seen[-1].done == 7 and seen[-1].contexts == 5


async def test_statistics_exclude_only_contexts_and_anomalies(
    redis_server: RedisServer, redis_url: str
) -> None:
    c = redis_server.client()
    c.sadd("launchdarkly:big_segment_exclude:" + context_key_hash("x"), "s.g1")
    c.set("launchdarkly:big_segment_include:" + context_key_hash("y"), "oops")
    c.set("launchdarkly:big_segments_synchronized_on", "1")
    c.sadd("unrelated:big_segment_include:" + context_key_hash("z"), "s.g1")
    async with reader(redis_url) as r:
        stats = await r.statistics()
    assert stats.contexts == 1 and stats.excluded == {"s.g1": 1} and stats.included == {}
    assert stats.anomalies == 1 and "is not a set" in stats.anomaly_examples[0]


async def test_statistics_prefix_with_glob_characters(redis_url: str) -> None:
    await fill(redis_url, "we*ird[1]")
    await fill(redis_url, "weXird1")
    async with reader(redis_url, "we*ird[1]") as r:
        stats = await r.statistics()
    assert stats.contexts == 5


async def test_statistics_can_be_cancelled(redis_url: str) -> None:
    keys = [f"u{i}" for i in range(20_000)]
    w = RedisBigSegmentWriter.from_url(redis_url)
    await w.apply_patch(patch("s.g1", "1", "", included_add=keys))
    await w.aclose()
    async with reader(redis_url) as r:
        calls = []

        def progress(p: object) -> None:
            calls.append(p)
            if len(calls) == 3:
                task.cancel()

        task = asyncio.ensure_future(r.statistics(progress=progress, batch=100))
        with pytest.raises(asyncio.CancelledError):
            await task
        assert len(calls) == 3
        # The reader is usable again after a cancel.
        assert (await r.get_metadata()).synchronized_on is None


async def test_server_killed_mid_scan(own_redis: RedisServer) -> None:
    keys = [f"u{i}" for i in range(20_000)]
    w = RedisBigSegmentWriter.from_url(own_redis.url)
    await w.apply_patch(patch("s.g1", "1", "", included_add=keys))
    await w.aclose()
    async with reader(own_redis.url) as r:

        def progress(p: object) -> None:
            if own_redis.proc is not None:
                own_redis.stop()

        with pytest.raises(StoreUnavailable):
            await r.statistics(progress=progress, batch=100)


# --- writer -----------------------------------------------------------------------------------


async def test_out_of_order_patch_is_skipped_whole(redis_server: RedisServer, redis_url: str) -> None:
    w = RedisBigSegmentWriter.from_url(redis_url)
    try:
        assert (await w.apply_patch(patch("s.g1", "v1", "", included_add=["a"]))).applied
        out = await w.apply_patch(patch("s.g1", "v3", "v2", included_add=["b"], excluded_add=["a"]))
        assert not out.applied and "out of order" in out.reason
        c = redis_server.client()
        assert c.get("launchdarkly:big_segments_cursor") == b"v1"
        assert not c.exists("launchdarkly:big_segment_include:" + context_key_hash("b"))
        assert not c.exists("launchdarkly:big_segment_exclude:" + context_key_hash("a"))
        assert c.get("launchdarkly:big_segments_lock") == b""
        assert (await w.apply_patch(patch("s.g1", "v2", "v1", included_remove=["a"]))).applied
        # Removing the last member deletes the set, as Redis does.
        assert not c.exists("launchdarkly:big_segment_include:" + context_key_hash("a"))
    finally:
        await w.aclose()


async def test_synchronized_on_written_as_decimal_ms(redis_server: RedisServer, redis_url: str) -> None:
    w = RedisBigSegmentWriter.from_url(redis_url, "p")
    when = await w.set_synchronized_on()
    await w.aclose()
    assert redis_server.client().get("p:big_segments_synchronized_on") == str(when).encode()
    assert redis_server.client().type("p:big_segments_synchronized_on") == b"string"


# --- least privilege and read-only by construction --------------------------------------------

READER_ACL = ("-@all", "+getrange", "+srandmember", "+scan", "+type", "+ping")


async def test_reader_works_under_a_least_privilege_acl_user(
    redis_server: RedisServer, redis_url: str
) -> None:
    """The README's ACL line is enough for everything the reader does; another prefix is
    refused with the key pattern to grant, not a command."""
    await fill(redis_url, "env1")
    admin = redis_server.client()
    admin.execute_command(
        "ACL", "SETUSER", "ldreader", "reset", "on", ">reader-pass-123", "~env1:big_segment*", *READER_ACL
    )
    try:
        url = f"redis://ldreader:reader-pass-123@127.0.0.1:{redis_server.port}/0"
        async with reader(url, "env1") as r:
            assert (await r.probe()).reachable
            assert (await r.get_metadata()).synchronized_on == 1_795_262_797_954
            assert await r.get_membership(context_key_hash("alice")) is not None
            assert (await r.statistics()).contexts == 5
        async with reader(url, "env2") as r:
            with pytest.raises(StorePermissionDenied) as info:
                await r.get_metadata()
        text = str(info.value)
        assert "grant the key pattern ~env2:big_segment*" in text and "grant +" not in text
        assert "reader-pass-123" not in text
    finally:
        admin.execute_command("ACL", "DELUSER", "ldreader")


async def test_key_pattern_hint_escapes_glob_characters(redis_server: RedisServer, redis_url: str) -> None:
    admin = redis_server.client()
    admin.execute_command(
        "ACL", "SETUSER", "narrow", "reset", "on", ">narrow-pass-123", "~other:*", *READER_ACL
    )
    try:
        url = f"redis://narrow:narrow-pass-123@127.0.0.1:{redis_server.port}/0"
        async with reader(url, "we*ird") as r:
            with pytest.raises(StorePermissionDenied, match=r"~we\\\*ird:big_segment\*"):
                await r.get_memberships([context_key_hash("a"), context_key_hash("b")])
    finally:
        admin.execute_command("ACL", "DELUSER", "narrow")


async def test_refused_command_fails_clearly(redis_server: RedisServer, redis_url: str) -> None:
    """A user without +scan and +ping: lookups work, statistics and the probe name the command."""
    await fill(redis_url)
    admin = redis_server.client()
    admin.execute_command(
        "ACL",
        "SETUSER",
        "lookuponly",
        "reset",
        "on",
        ">pw-lookup-123",
        "~launchdarkly:big_segment*",
        "-@all",
        "+getrange",
        "+srandmember",
        "+type",
    )
    try:
        url = f"redis://lookuponly:pw-lookup-123@127.0.0.1:{redis_server.port}/0"
        async with reader(url) as r:
            assert await r.get_membership(context_key_hash("alice")) is not None
            with pytest.raises(StorePermissionDenied) as info:
                await r.statistics()
            assert "SCAN refused" in str(info.value) and "+scan" in str(info.value)
            p = await r.probe()
            assert not p.reachable and "PING refused" in (p.error or "") and "+ping" in (p.error or "")
    finally:
        admin.execute_command("ACL", "DELUSER", "lookuponly")


async def test_the_sdks_acl_is_not_enough_and_says_what_to_grant(
    redis_server: RedisServer, redis_url: str
) -> None:
    """An ACL made for the SDK (+get +smembers) refuses ldtui's bounded reads: the error names
    the command to add."""
    admin = redis_server.client()
    admin.execute_command(
        "ACL",
        "SETUSER",
        "sdkonly",
        "reset",
        "on",
        ">pw-sdkonly-123",
        "~launchdarkly:big_segment*",
        "-@all",
        "+get",
        "+smembers",
    )
    try:
        async with reader(f"redis://sdkonly:pw-sdkonly-123@127.0.0.1:{redis_server.port}/0") as r:
            with pytest.raises(
                StorePermissionDenied, match=r"TYPE refused by Redis ACL.*grant the ACL user \+type"
            ):
                await r.get_metadata()
    finally:
        admin.execute_command("ACL", "DELUSER", "sdkonly")


async def test_wrong_password(redis_server: RedisServer) -> None:
    admin = redis_server.client()
    admin.execute_command("ACL", "SETUSER", "u1", "reset", "on", ">right-password", "~*", "+@all")
    try:
        async with reader(f"redis://u1@127.0.0.1:{redis_server.port}/0", password="wrong-password") as r:
            with pytest.raises(StoreAuthenticationFailed, match="authentication failed") as info:
                await r.get_metadata()
            assert "wrong-password" not in str(info.value) and info.value.code == "WRONGPASS"
    finally:
        admin.execute_command("ACL", "DELUSER", "u1")


async def test_a_password_for_a_server_without_one(redis_url: str) -> None:
    async with reader(redis_url, password="not-needed-123") as r:
        with pytest.raises(StoreAuthenticationFailed, match="the server has no password") as info:
            await r.get_metadata()
    assert "remove password_env" in str(info.value) and "not-needed-123" not in str(info.value)


async def test_only_read_commands_reach_the_server(redis_server: RedisServer, redis_url: str) -> None:
    await fill(redis_url)
    admin = redis_server.client()
    admin.config_resetstat()
    async with reader(redis_url) as r:
        await r.probe()
        await r.get_metadata()
        await r.get_memberships([context_key_hash(k) for k in ("alice", "bob", "x")])
        await r.get_membership(context_key_hash("alice"))
        await r.statistics()
    stats = admin.info("commandstats")
    used = {name.removeprefix("cmdstat_").upper() for name in stats}
    used -= {"INFO", "CONFIG|RESETSTAT", "CONFIG"}
    assert used == {"GETRANGE", "SRANDMEMBER", "SCAN", "TYPE", "PING"}, used
    assert used == {c.decode() for c in READ_COMMANDS}
    conn = RespConnection(parse_redis_url(redis_url))
    with pytest.raises(ValueError, match="not a read command"):
        await conn.pipeline([encode(b"SET", b"k", b"v")])
    with pytest.raises(ValueError):
        await conn.pipeline([encode(b"flushall")])
    await conn.close()


def test_readme_lists_exactly_the_commands_sent() -> None:
    """README "Reading the stores" names the commands and the ACL line; both match the allowlist."""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    section = readme[readme.index("## Reading the stores") :]
    section = section[: section.index("\n## ", 4)]
    sent = re.search(r"ldtui only ever sends `([A-Z ]+)` to Redis", section)
    assert sent is not None
    assert set(sent.group(1).split()) == {c.decode() for c in READ_COMMANDS}
    acl = re.search(r"ACL SETUSER ldtui on >PASSWORD (~\S+) -@all ((?:\+\w+ ?)+)", section)
    assert acl is not None and acl.group(1) == "~<prefix>:big_segment*"
    assert {a.removeprefix("+").upper() for a in acl.group(2).split()} == {c.decode() for c in READ_COMMANDS}


def test_settings_never_show_the_password() -> None:
    s = RedisStore(url="rediss://user:s3cr3t-pass@redis.example.com:6380/2").endpoint()
    assert s.tls and s.port == 6380 and s.db == 2 and s.username == "user"
    assert s.password is not None and s.password.get_secret_value() == "s3cr3t-pass"
    assert "s3cr3t" not in s.description and "s3cr3t" not in repr(s)
    assert s.description == "rediss://user@redis.example.com:6380/2"
    r = RedisBigSegmentReader(RedisStore(url="redis://user:s3cr3t-pass@h:6379/0"), "p", "from-env-pass")
    assert r.endpoint.password is not None and r.endpoint.password.get_secret_value() == "from-env-pass"
    assert "s3cr3t" not in r.description and "from-env" not in r.description


@pytest.mark.parametrize(
    "url", ["http://h", "redis://h:notaport", "redis://h/abc", "unix://", "redis://h?nope=1"]
)
def test_bad_urls(url: str) -> None:
    with pytest.raises(StoreSettingError):
        parse_redis_url(url)
