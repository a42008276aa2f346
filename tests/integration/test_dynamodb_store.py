"""The DynamoDB reader and writer against a moto server over HTTP."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from ldtui.core.bigsegments import BigSegmentPatch, Membership, context_key_hash
from ldtui.stores.base import StoreDataError, StorePermissionDenied, StoreUnavailable
from ldtui.stores.dynamodb_reader import DynamoDBBigSegmentReader, DynamoDBSettings
from ldtui.stores.writers import DynamoDBBigSegmentWriter
from tests.servers import MotoServer, free_port

pytestmark = pytest.mark.network


def reader(moto: MotoServer, table: str, prefix: str | None = None, **kw: Any) -> DynamoDBBigSegmentReader:
    settings = DynamoDBSettings(table=table, region="us-east-1", endpoint_url=moto.endpoint, **kw)
    return DynamoDBBigSegmentReader(settings, prefix)


def writer(moto: MotoServer, table: str, prefix: str | None = None) -> DynamoDBBigSegmentWriter:
    return DynamoDBBigSegmentWriter(moto.client(), table, prefix)


def patch(ref: str, version: str, previous: str, **changes: list[str]) -> BigSegmentPatch:
    hashed = {k: tuple(context_key_hash(x) for x in v) for k, v in changes.items()}
    return BigSegmentPatch("env", ref, version, previous, **hashed)


async def fill(moto: MotoServer, table: str, prefix: str | None = None) -> None:
    w = writer(moto, table, prefix)
    assert (await w.apply_patch(patch("seg.g1", "1", "", included_add=["alice", "bob", "ключ"], excluded_add=["carol"]))).applied
    assert (await w.apply_patch(patch("seg.g1", "2", "1", excluded_add=["bob"]))).applied
    assert (await w.apply_patch(patch("other.seg.g2", "3", "2", included_add=["carol", "dave"]))).applied
    await w.set_synchronized_on(1_795_262_797_954)


def put(moto: MotoServer, table: str, item: dict[str, Any]) -> None:
    moto.client().put_item(TableName=table, Item=item)


async def test_metadata_missing_then_written(moto_server: MotoServer, dynamodb_table: str) -> None:
    async with reader(moto_server, dynamodb_table) as r:
        assert (await r.get_metadata()).synchronized_on is None
        await fill(moto_server, dynamodb_table)
        meta = await r.get_metadata()
        assert meta.synchronized_on == 1_795_262_797_954 and meta.cursor == "3"


async def test_metadata_typed_s_reads_as_missing(moto_server: MotoServer, dynamodb_table: str) -> None:
    key = {"S": "big_segments_metadata"}
    put(moto_server, dynamodb_table, {"namespace": key, "key": key, "synchronizedOn": {"S": "1795262797954"}})
    async with reader(moto_server, dynamodb_table) as r:
        assert (await r.get_metadata()).synchronized_on is None


async def test_metadata_non_integer_number_is_an_error(moto_server: MotoServer, dynamodb_table: str) -> None:
    key = {"S": "big_segments_metadata"}
    put(moto_server, dynamodb_table, {"namespace": key, "key": key, "synchronizedOn": {"N": "1.5"}})
    async with reader(moto_server, dynamodb_table) as r:
        with pytest.raises(StoreDataError, match="not a whole number"):
            await r.get_metadata()


async def test_cursor_without_synchronized_on(moto_server: MotoServer, dynamodb_table: str) -> None:
    w = writer(moto_server, dynamodb_table)
    await w.apply_patch(patch("s.g1", "v1", "", included_add=["a"]))
    async with reader(moto_server, dynamodb_table) as r:
        meta = await r.get_metadata()
    assert meta.synchronized_on is None and meta.cursor == "v1"


async def test_bulk_and_single_membership(moto_server: MotoServer, dynamodb_table: str) -> None:
    await fill(moto_server, dynamodb_table)
    keys = ["alice", "bob", "carol", "dave", "ключ", "nobody"]
    async with reader(moto_server, dynamodb_table) as r:
        result = await r.get_memberships([context_key_hash(k) for k in keys])
        by_key = {k: result[context_key_hash(k)] for k in keys}
        assert by_key["alice"] == Membership(included=frozenset({"seg.g1"}))
        assert by_key["bob"] == Membership(included=frozenset({"seg.g1"}), excluded=frozenset({"seg.g1"}))
        assert by_key["carol"] == Membership(included=frozenset({"other.seg.g2"}), excluded=frozenset({"seg.g1"}))
        assert by_key["nobody"] is None
        assert await r.get_membership(context_key_hash("dave")) == Membership(included=frozenset({"other.seg.g2"}))


async def test_bulk_over_many_chunks_with_duplicates(moto_server: MotoServer, dynamodb_table: str) -> None:
    keys = [f"user-{i}" for i in range(450)]
    w = writer(moto_server, dynamodb_table, "pfx")
    await w.apply_patch(patch("big.g1", "1", "", included_add=keys[::3]))
    async with reader(moto_server, dynamodb_table, "pfx") as r:
        result = await r.get_memberships([context_key_hash(k) for k in keys] * 2)
    assert len(result) == 450
    for i, k in enumerate(keys):
        assert (result[context_key_hash(k)] is not None) == (i % 3 == 0)


async def test_unprocessed_keys_are_retried() -> None:
    """A client that returns half the keys unprocessed each time: the reader keeps asking."""
    calls: list[int] = []

    class FlakyClient:
        def batch_get_item(self, RequestItems: dict[str, Any]) -> dict[str, Any]:
            table, req = next(iter(RequestItems.items()))
            keys = req["Keys"]
            calls.append(len(keys))
            done, rest = keys[: len(keys) // 2 or 1], keys[len(keys) // 2 or 1 :]
            items = [{"key": k["key"], "included": {"SS": ["s.g1"]}} for k in done]
            out: dict[str, Any] = {"Responses": {table: items}}
            if rest:
                out["UnprocessedKeys"] = {table: {**req, "Keys": rest}}
            return out

        def close(self) -> None:
            pass

    sleeps: list[float] = []
    r = DynamoDBBigSegmentReader(
        DynamoDBSettings(table="t"), client_factory=lambda s: FlakyClient(), sleep=sleeps.append
    )
    hashes = [context_key_hash(str(i)) for i in range(8)]
    result = await r.get_memberships(hashes)
    assert all(result[h] == Membership(included=frozenset({"s.g1"})) for h in hashes)
    assert calls == [8, 4, 2, 1] and len(sleeps) == 3 and sleeps[0] < sleeps[-1] * 2

    class NeverClient(FlakyClient):
        def batch_get_item(self, RequestItems: dict[str, Any]) -> dict[str, Any]:
            table, req = next(iter(RequestItems.items()))
            return {"Responses": {table: []}, "UnprocessedKeys": RequestItems}

    r2 = DynamoDBBigSegmentReader(
        DynamoDBSettings(table="t", unprocessed_attempts=3), client_factory=lambda s: NeverClient(), sleep=lambda s: None
    )
    with pytest.raises(StoreUnavailable, match="unprocessed after 3 retries"):
        await r2.get_memberships(hashes)


async def test_items_holding_neither_set_and_wrong_types(moto_server: MotoServer, dynamodb_table: str) -> None:
    ns = {"S": "big_segments_user"}
    empty, wrong, good = (context_key_hash(k) for k in ("empty", "wrong", "good"))
    put(moto_server, dynamodb_table, {"namespace": ns, "key": {"S": empty}})
    put(moto_server, dynamodb_table, {"namespace": ns, "key": {"S": wrong}, "included": {"S": "s.g1"}})
    put(moto_server, dynamodb_table, {"namespace": ns, "key": {"S": good}, "excluded": {"SS": ["s.g1"]}})
    async with reader(moto_server, dynamodb_table) as r:
        result = await r.get_memberships([empty, wrong, good])
        assert result[empty] is None and result[wrong] is None  # as the SDK reads them
        assert result[good] == Membership(excluded=frozenset({"s.g1"}))
        stats = await r.statistics()
    assert stats.contexts == 1 and stats.anomalies == 1 and "not a string set" in stats.anomaly_examples[0]


async def test_statistics_paginated(moto_server: MotoServer, dynamodb_table: str) -> None:
    await fill(moto_server, dynamodb_table)
    seen = []
    async with reader(moto_server, dynamodb_table) as r:
        stats = await r.statistics(progress=seen.append, batch=2)
    assert stats.contexts == 5
    assert stats.included == {"seg.g1": 3, "other.seg.g2": 2}
    assert stats.excluded == {"seg.g1": 2}
    assert seen[-1].done == 5 and len(seen) >= 3
    assert all(0 <= b.done - a.done <= 2 for a, b in zip(seen, seen[1:], strict=False))


async def test_statistics_cancel(moto_server: MotoServer, dynamodb_table: str) -> None:
    w = writer(moto_server, dynamodb_table)
    await w.apply_patch(patch("s.g1", "1", "", included_add=[f"u{i}" for i in range(60)]))
    async with reader(moto_server, dynamodb_table) as r:
        calls = []

        def progress(p: object) -> None:
            calls.append(p)
            if len(calls) == 2:
                task.cancel()

        task = asyncio.ensure_future(r.statistics(progress=progress, batch=10))
        with pytest.raises(asyncio.CancelledError):
            await task
        assert len(calls) == 2


async def test_probe_and_missing_table(moto_server: MotoServer, dynamodb_table: str) -> None:
    async with reader(moto_server, dynamodb_table) as r:
        p = await r.probe()
        assert p.reachable and p.latency_ms is not None
    async with reader(moto_server, "no-such-table") as r:
        p = await r.probe()
        assert not p.reachable and "not found" in (p.error or "")
        with pytest.raises(StoreUnavailable, match="check the table name and the region"):
            await r.get_metadata()


async def test_server_down_and_timeouts() -> None:
    settings = DynamoDBSettings(table="t", region="us-east-1", endpoint_url=f"http://127.0.0.1:{free_port()}", timeout=0.5)
    async with DynamoDBBigSegmentReader(settings) as r:
        p = await asyncio.wait_for(r.probe(), 20)
        assert not p.reachable
        with pytest.raises(StoreUnavailable):
            await asyncio.wait_for(r.get_metadata(), 20)


async def test_assume_role_with_external_id(moto_server: MotoServer, dynamodb_table: str) -> None:
    await fill(moto_server, dynamodb_table)
    async with reader(
        moto_server, dynamodb_table,
        role_arn="arn:aws:iam::123456789012:role/ld-reader", external_id="6f1c2a9e-0d7b-4c1e-9a55-3f2e8b7d1c40",
    ) as r:
        assert (await r.get_metadata()).synchronized_on == 1_795_262_797_954


async def test_missing_aws_profile_is_a_clear_error(moto_server: MotoServer, dynamodb_table: str) -> None:
    async with reader(moto_server, dynamodb_table, aws_profile="nope") as r:
        with pytest.raises(StorePermissionDenied, match="aws_profile"):
            await r.get_metadata()


async def test_out_of_order_patch_skipped_whole(moto_server: MotoServer, dynamodb_table: str) -> None:
    w = writer(moto_server, dynamodb_table)
    assert (await w.apply_patch(patch("s.g1", "v1", "", included_add=["a"]))).applied
    out = await w.apply_patch(patch("s.g1", "v3", "v2", included_add=["b"], excluded_add=["a"]))
    assert not out.applied and "out of order" in out.reason
    async with reader(moto_server, dynamodb_table) as r:
        got = await r.get_memberships([context_key_hash("a"), context_key_hash("b")])
        assert got[context_key_hash("a")] == Membership(included=frozenset({"s.g1"}))
        assert got[context_key_hash("b")] is None
        assert (await r.get_metadata()).cursor == "v1"


async def test_include_and_exclude_same_hash_in_one_patch(moto_server: MotoServer, dynamodb_table: str) -> None:
    """A transaction may not touch one item twice: the writer merges the changes."""
    w = writer(moto_server, dynamodb_table)
    out = await w.apply_patch(patch("s.g1", "v1", "", included_add=["a"], excluded_add=["a"]))
    assert out.applied
    async with reader(moto_server, dynamodb_table) as r:
        assert await r.get_membership(context_key_hash("a")) == Membership(
            included=frozenset({"s.g1"}), excluded=frozenset({"s.g1"})
        )


async def test_large_patch_spans_several_transactions(moto_server: MotoServer, dynamodb_table: str) -> None:
    keys = [f"k{i}" for i in range(60)]
    w = writer(moto_server, dynamodb_table)
    assert (await w.apply_patch(patch("s.g1", "v1", "", included_add=keys))).applied
    assert (await w.apply_patch(patch("s.g1", "v2", "v1", included_remove=keys[:30]))).applied
    async with reader(moto_server, dynamodb_table) as r:
        stats = await r.statistics()
    # Removed memberships leave items with no set: not counted as contexts with data.
    assert stats.contexts == 30 and stats.included == {"s.g1": 30}


async def test_only_read_operations_are_called(moto_server: MotoServer, dynamodb_table: str) -> None:
    await fill(moto_server, dynamodb_table)
    called: list[str] = []

    def factory(settings: DynamoDBSettings) -> Any:
        from ldtui.stores.dynamodb_reader import _client_factory

        client = _client_factory(settings)
        client.meta.events.register("before-call.dynamodb.*", lambda model, **kw: called.append(model.name))
        return client

    settings = DynamoDBSettings(table=dynamodb_table, region="us-east-1", endpoint_url=moto_server.endpoint)
    async with DynamoDBBigSegmentReader(settings, client_factory=factory) as r:
        await r.probe()
        await r.get_metadata()
        await r.get_memberships([context_key_hash(k) for k in ("alice", "bob")])
        await r.get_membership(context_key_hash("alice"))
        await r.statistics()
        await r.describe_table()
    assert set(called) <= {"GetItem", "BatchGetItem", "Query", "DescribeTable"}
    assert {"GetItem", "BatchGetItem", "Query"} <= set(called)
