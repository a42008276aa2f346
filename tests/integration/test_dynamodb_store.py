"""The DynamoDB reader and writer against a moto server over HTTP."""

from __future__ import annotations

import asyncio
import functools
import threading
import time
from typing import Any

import pytest

from ldtui.core.bigsegments import BigSegmentPatch, Membership, context_key_hash
from ldtui.core.store_settings import DynamoDBStore
from ldtui.stores.base import StoreDataError, StorePermissionDenied, StoreThrottled, StoreUnavailable
from ldtui.stores.dynamodb_reader import DynamoDBBigSegmentReader, dynamodb_client, role_session
from ldtui.stores.writers import DynamoDBBigSegmentWriter
from tests.servers import MotoServer, free_port

pytestmark = pytest.mark.network


def reader(moto: MotoServer, table: str, prefix: str | None = None, **kw: Any) -> DynamoDBBigSegmentReader:
    store = DynamoDBStore(table=table, region="us-east-1", endpoint_url=moto.endpoint, **kw)
    return DynamoDBBigSegmentReader(store, prefix)


def writer(moto: MotoServer, table: str, prefix: str | None = None) -> DynamoDBBigSegmentWriter:
    return DynamoDBBigSegmentWriter(moto.client(), table, prefix)


def patch(ref: str, version: str, previous: str, **changes: list[str]) -> BigSegmentPatch:
    hashed = {k: tuple(context_key_hash(x) for x in v) for k, v in changes.items()}
    return BigSegmentPatch("env", ref, version, previous, **hashed)


async def fill(moto: MotoServer, table: str, prefix: str | None = None) -> None:
    w = writer(moto, table, prefix)
    assert (
        await w.apply_patch(
            patch("seg.g1", "1", "", included_add=["alice", "bob", "ключ"], excluded_add=["carol"])
        )
    ).applied
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
        assert by_key["carol"] == Membership(
            included=frozenset({"other.seg.g2"}), excluded=frozenset({"seg.g1"})
        )
        assert by_key["nobody"] is None
        assert await r.get_membership(context_key_hash("dave")) == Membership(
            included=frozenset({"other.seg.g2"})
        )


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

    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)

    r = DynamoDBBigSegmentReader(
        DynamoDBStore(table="tbl"), client_factory=lambda s: FlakyClient(), sleep=sleep
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
        DynamoDBStore(table="tbl"),
        client_factory=lambda s: NeverClient(),
        sleep=sleep,
        unprocessed_attempts=3,
    )
    with pytest.raises(StoreThrottled, match="unprocessed after 3 retries") as info:
        await r2.get_memberships(hashes)
    assert isinstance(info.value, StoreUnavailable) and "read capacity" in str(info.value)


async def test_items_holding_neither_set_and_wrong_types(
    moto_server: MotoServer, dynamodb_table: str
) -> None:
    ns = {"S": "big_segments_user"}
    empty, wrong, good = (context_key_hash(k) for k in ("empty", "wrong", "good"))
    put(moto_server, dynamodb_table, {"namespace": ns, "key": {"S": empty}})
    put(moto_server, dynamodb_table, {"namespace": ns, "key": {"S": wrong}, "included": {"S": "s.g1"}})
    put(moto_server, dynamodb_table, {"namespace": ns, "key": {"S": good}, "excluded": {"SS": ["s.g1"]}})
    async with reader(moto_server, dynamodb_table) as r:
        result = await r.get_memberships([empty, wrong, good])
        assert result[empty] is None
        # Not in the schema: the context's own error, as Redis gives for a wrong type (the SDK
        # reads such an attribute as absent, which would hide the problem).
        assert isinstance(result[wrong], StoreDataError)
        assert "included is of type S, not a string set" in str(result[wrong]) and wrong in str(result[wrong])
        assert result[good] == Membership(excluded=frozenset({"s.g1"}))
        with pytest.raises(StoreDataError, match="not a string set"):
            await r.get_membership(wrong)
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
    settings = DynamoDBStore(
        table="tbl", region="us-east-1", endpoint_url=f"http://127.0.0.1:{free_port()}", timeout=0.5
    )
    async with DynamoDBBigSegmentReader(settings) as r:
        p = await asyncio.wait_for(r.probe(), 20)
        assert not p.reachable
        with pytest.raises(StoreUnavailable):
            await asyncio.wait_for(r.get_metadata(), 20)


def counting_session(calls: list[dict[str, Any]]) -> Any:
    """A boto3 session that records every AssumeRole request its clients send."""
    import boto3

    session = boto3.session.Session(region_name="us-east-1")
    session.events.register(
        "provide-client-params.sts.AssumeRole", lambda params, **kw: calls.append(dict(params))
    )
    return session


ROLE = "arn:aws:iam::123456789012:role/ld-reader"


async def test_assume_role_with_external_id(
    moto_server: MotoServer, dynamodb_table: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # AssumeRole goes to STS (here moto's), never to the table's endpoint_url.
    monkeypatch.setenv("AWS_ENDPOINT_URL_STS", moto_server.endpoint)
    await fill(moto_server, dynamodb_table)
    calls: list[dict[str, Any]] = []
    store = DynamoDBStore(
        table=dynamodb_table,
        region="us-east-1",
        endpoint_url=moto_server.endpoint,
        role_arn=ROLE,
        external_id="6f1c2a9e-0d7b-4c1e-9a55-3f2e8b7d1c40",
    )
    factory = functools.partial(dynamodb_client, session=counting_session(calls))
    async with DynamoDBBigSegmentReader(store, client_factory=factory) as r:
        assert (await r.get_metadata()).synchronized_on == 1_795_262_797_954
    assert len(calls) == 1
    assert calls[0]["RoleArn"] == ROLE and calls[0]["ExternalId"] == "6f1c2a9e-0d7b-4c1e-9a55-3f2e8b7d1c40"
    assert calls[0]["RoleSessionName"] == "ldtui" and calls[0]["DurationSeconds"] == 3600


async def test_assumed_role_credentials_refresh_before_they_expire(
    moto_server: MotoServer, dynamodb_table: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Credentials of a 15-minute role session are inside botocore's refresh window from the
    start, so each call finds them expiring and assumes the role again: the same client keeps
    working past the credentials' expiry, without a restart. An hour-long session is not
    refreshed needlessly."""
    monkeypatch.setenv("AWS_ENDPOINT_URL_STS", moto_server.endpoint)
    await fill(moto_server, dynamodb_table)
    store = DynamoDBStore(
        table=dynamodb_table, region="us-east-1", endpoint_url=moto_server.endpoint, role_arn=ROLE
    )
    short: list[dict[str, Any]] = []
    factory = functools.partial(dynamodb_client, session=counting_session(short), role_seconds=900)
    async with DynamoDBBigSegmentReader(store, client_factory=factory) as r:
        for _ in range(3):
            assert (await r.get_metadata()).synchronized_on == 1_795_262_797_954
    assert len(short) >= 3  # refreshed for every call (botocore may look more than once per call)

    long: list[dict[str, Any]] = []
    factory = functools.partial(dynamodb_client, session=counting_session(long))
    async with DynamoDBBigSegmentReader(store, client_factory=factory) as r:
        for _ in range(3):
            await r.get_metadata()
    assert len(long) == 1

    session = role_session(store, counting_session([]), seconds=900)
    first = session.get_credentials().get_frozen_credentials().access_key
    assert session.get_credentials().get_frozen_credentials().access_key != first


async def test_assume_role_refused_names_the_permission(monkeypatch: pytest.MonkeyPatch) -> None:
    from botocore.exceptions import ClientError

    def factory(store: DynamoDBStore) -> Any:
        raise ClientError(
            {"Error": {"Code": "AccessDenied", "Message": "not authorized to perform sts:AssumeRole"}},
            "AssumeRole",
        )

    r = DynamoDBBigSegmentReader(DynamoDBStore(table="tbl", role_arn=ROLE), client_factory=factory)
    with pytest.raises(StorePermissionDenied, match="sts:AssumeRole on the role"):
        await r.get_metadata()


class ThrottlingClient:
    """A real (moto) client whose first ``n`` calls are throttled with ``code``."""

    def __init__(self, client: Any, n: int, code: str = "ProvisionedThroughputExceededException") -> None:
        self.client, self.n, self.code, self.calls = client, n, code, 0

    def _maybe_throttle(self, operation: str) -> None:
        from botocore.exceptions import ClientError

        self.calls += 1
        if self.calls <= self.n:
            raise ClientError(
                {"Error": {"Code": self.code, "Message": "Rate of requests exceeds the allowed throughput."}},
                operation,
            )

    def get_item(self, **kw: Any) -> Any:
        self._maybe_throttle("GetItem")
        return self.client.get_item(**kw)

    def batch_get_item(self, **kw: Any) -> Any:
        self._maybe_throttle("BatchGetItem")
        return self.client.batch_get_item(**kw)

    def close(self) -> None:
        self.client.close()


@pytest.mark.parametrize(
    "code", ["ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded"]
)
async def test_throttling_is_retried_with_backoff(
    moto_server: MotoServer, dynamodb_table: str, code: str
) -> None:
    await fill(moto_server, dynamodb_table)
    store = DynamoDBStore(table=dynamodb_table, region="us-east-1", endpoint_url=moto_server.endpoint)
    sleeps: list[float] = []

    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)

    client = ThrottlingClient(dynamodb_client(store), 3, code)
    async with DynamoDBBigSegmentReader(store, client_factory=lambda s: client, sleep=sleep) as r:
        assert (await r.get_metadata()).synchronized_on == 1_795_262_797_954
        assert len(sleeps) == 3 and sleeps[0] < sleeps[2]
        client.calls, client.n = 0, 2
        result = await r.get_memberships([context_key_hash(k) for k in ("alice", "bob", "nobody")])
    assert result[context_key_hash("alice")] == Membership(included=frozenset({"seg.g1"}))
    assert result[context_key_hash("nobody")] is None


async def test_persistent_throttling_is_reported_as_such(
    moto_server: MotoServer, dynamodb_table: str
) -> None:
    store = DynamoDBStore(table=dynamodb_table, region="us-east-1", endpoint_url=moto_server.endpoint)

    async def sleep(seconds: float) -> None:
        pass

    client = ThrottlingClient(dynamodb_client(store), 10**6)
    async with DynamoDBBigSegmentReader(
        store, client_factory=lambda s: client, sleep=sleep, throttle_attempts=4
    ) as r:
        with pytest.raises(StoreThrottled) as info:
            await r.get_memberships([context_key_hash(k) for k in ("a", "b")])
        p = await r.probe()
    err = info.value
    assert err.code == "ProvisionedThroughputExceededException" and client.calls >= 5
    assert "BatchGetItem throttled (ProvisionedThroughputExceededException) 5 times" in str(err)
    assert "read capacity" in str(err)
    assert not p.reachable and "throttled" in (p.error or "")


async def test_unprocessed_keys_stop_at_the_deadline() -> None:
    class NeverClient:
        calls = 0

        def batch_get_item(self, RequestItems: dict[str, Any]) -> dict[str, Any]:
            NeverClient.calls += 1
            table = next(iter(RequestItems))
            return {"Responses": {table: []}, "UnprocessedKeys": RequestItems}

        def close(self) -> None:
            pass

    r = DynamoDBBigSegmentReader(
        DynamoDBStore(table="tbl"),
        client_factory=lambda s: NeverClient(),
        unprocessed_attempts=1000,
        deadline=0.5,
    )
    start = time.monotonic()
    with pytest.raises(StoreThrottled, match="left 2 keys unprocessed"):
        await r.get_memberships([context_key_hash("a"), context_key_hash("b")])
    assert time.monotonic() - start < 3 and 1 < NeverClient.calls < 100


async def test_a_call_that_hangs_meets_its_deadline() -> None:
    release = threading.Event()

    class HangingClient:
        def get_item(self, **kw: Any) -> Any:
            release.wait(10)
            return {}

        def close(self) -> None:
            pass

    r = DynamoDBBigSegmentReader(
        DynamoDBStore(table="tbl"), client_factory=lambda s: HangingClient(), deadline=0.3
    )
    start = time.monotonic()
    try:
        with pytest.raises(StoreUnavailable, match=r"GetItem: no answer within 0.3 s"):
            await r.get_metadata()
        assert time.monotonic() - start < 2
    finally:
        release.set()


async def test_parallelism_bounds_the_calls_in_flight() -> None:
    lock = threading.Lock()
    state = {"now": 0, "max": 0}
    hashes = [context_key_hash(str(i)) for i in range(1000)]  # ten chunks

    class SlowClient:
        def batch_get_item(self, RequestItems: dict[str, Any]) -> dict[str, Any]:
            with lock:
                state["now"] += 1
                state["max"] = max(state["max"], state["now"])
            time.sleep(0.05)
            with lock:
                state["now"] -= 1
            return {"Responses": {next(iter(RequestItems)): []}}

        def close(self) -> None:
            pass

    for parallelism in (1, 3):
        state["max"] = 0
        r = DynamoDBBigSegmentReader(
            DynamoDBStore(table="tbl", parallelism=parallelism), client_factory=lambda s: SlowClient()
        )
        result = await r.get_memberships(hashes)
        assert len(result) == 1000 and all(v is None for v in result.values())
        assert state["max"] <= parallelism
    assert state["max"] >= 2  # with 3 allowed, chunks really overlapped


async def test_sets_over_the_member_cap_are_not_loaded(moto_server: MotoServer, dynamodb_table: str) -> None:
    ns = {"S": "big_segments_user"}
    big, small = context_key_hash("big"), context_key_hash("small")
    put(
        moto_server,
        dynamodb_table,
        {"namespace": ns, "key": {"S": big}, "included": {"SS": [f"s{i}.g1" for i in range(5)]}},
    )
    put(
        moto_server,
        dynamodb_table,
        {"namespace": ns, "key": {"S": small}, "included": {"SS": ["s.g1", "t.g1"]}},
    )
    async with reader(moto_server, dynamodb_table, max_members=3) as r:
        result = await r.get_memberships([big, small])
        stats = await r.statistics()
    assert isinstance(result[big], StoreDataError) and "more than 3 members" in str(result[big])
    assert result[small] == Membership(included=frozenset({"s.g1", "t.g1"}))
    assert stats.contexts == 1 and stats.anomalies == 1 and stats.included == {"s.g1": 1, "t.g1": 1}


async def test_a_long_cursor_is_cut(moto_server: MotoServer, dynamodb_table: str) -> None:
    key = {"S": "big_segments_metadata"}
    put(
        moto_server,
        dynamodb_table,
        {"namespace": key, "key": key, "synchronizedOn": {"N": "5"}, "lastVersion": {"S": "v" * 10_000}},
    )
    async with reader(moto_server, dynamodb_table) as r:
        meta = await r.get_metadata()
    assert meta.synchronized_on == 5 and meta.cursor is not None and len(meta.cursor) == 257


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


async def test_include_and_exclude_same_hash_in_one_patch(
    moto_server: MotoServer, dynamodb_table: str
) -> None:
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

    def factory(settings: DynamoDBStore) -> Any:
        from ldtui.stores.dynamodb_reader import dynamodb_client

        client = dynamodb_client(settings)
        client.meta.events.register("before-call.dynamodb.*", lambda model, **kw: called.append(model.name))
        return client

    settings = DynamoDBStore(table=dynamodb_table, region="us-east-1", endpoint_url=moto_server.endpoint)
    async with DynamoDBBigSegmentReader(settings, client_factory=factory) as r:
        await r.probe()
        await r.get_metadata()
        await r.get_memberships([context_key_hash(k) for k in ("alice", "bob")])
        await r.get_membership(context_key_hash("alice"))
        await r.statistics()
        await r.describe_table()
    assert set(called) <= {"GetItem", "BatchGetItem", "Query", "DescribeTable"}
    assert {"GetItem", "BatchGetItem", "Query"} <= set(called)
