"""The official SDK is the judge: on the same store, ldtui's verdicts and store status must equal
what ``launchdarkly-server-sdk`` evaluates.

The store is filled with ldtui's writer (relay-style patches). For each segment, a flag whose
only rule is ``segmentMatch``; each segment's own rule matches contexts with ``ruleMatch=true``.
Evaluating every context with ``ruleMatch`` false and true tells the SDK's verdict apart:
member both times = included; never = excluded (or no generation); only with the rule = no data.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ldtui.core.bigsegments import (
    BigSegmentPatch,
    Verdict,
    context_key_hash,
    explain,
    store_status,
)
from ldtui.core.store_settings import DynamoDBStore, RedisStore
from ldtui.stores.base import BigSegmentStoreReader, StoreError
from ldtui.stores.dynamodb_reader import DynamoDBBigSegmentReader
from ldtui.stores.redis_reader import RedisBigSegmentReader
from ldtui.stores.writers import DynamoDBBigSegmentWriter, RedisBigSegmentWriter
from tests.servers import MotoServer, RedisServer

pytestmark = pytest.mark.network

CONTEXT_KEYS = [
    *(f"user-{i}" for i in range(30)),
    "alice@example.com",  # hash has / + =
    "ключ",
    "😀 emoji",
    "key with spaces",
    "x" * 300,
]
# Current generations, as the flag data has them. "legacy" has none (older schema).
SEGMENTS: dict[str, int | None] = {"beta": 1, "regen": 2, "dotted.key": 5, "legacy": None, "empty": 3}
STALE_AFTER_S = 120


def patches() -> list[BigSegmentPatch]:
    k = CONTEXT_KEYS
    h = context_key_hash

    def p(
        ref: str, n: int, inc: list[str] = (), exc: list[str] = (), inc_rm: list[str] = ()
    ) -> BigSegmentPatch:  # type: ignore[assignment]
        return BigSegmentPatch(
            "env",
            ref,
            str(n),
            str(n - 1) if n > 1 else "",
            included_add=tuple(map(h, inc)),
            excluded_add=tuple(map(h, exc)),
            included_remove=tuple(map(h, inc_rm)),
        )

    return [
        p("beta.g1", 1, inc=k[0:12], exc=k[8:16]),  # 8-11 in both: include wins
        p("regen.g1", 2, inc=k[10:20]),  # the old generation: orphaned, ignored
        p("regen.g2", 3, inc=k[15:25], exc=[k[30]]),
        p("dotted.key.g5", 4, inc=[k[30], k[31], k[32], k[33], k[34]], exc=k[0:3]),
        p("legacy.g1", 5, inc=k[0:5]),  # the segment has no generation: never consulted
        p("beta.g1", 6, inc_rm=k[0:2]),  # removed again
    ]


def flag_data() -> dict[str, Any]:
    flags, segments = {}, {}
    for key, gen in SEGMENTS.items():
        seg: dict[str, Any] = {
            "key": key,
            "version": 1,
            "unbounded": True,
            "included": [],
            "excluded": [],
            "rules": [
                {
                    "id": "r",
                    "clauses": [{"attribute": "ruleMatch", "op": "in", "values": [True], "negate": False}],
                }
            ],
            "salt": "s",
            "deleted": False,
        }
        if gen is not None:
            seg["generation"] = gen
        segments[key] = seg
        flags[f"flag-{key}"] = {
            "key": f"flag-{key}",
            "version": 1,
            "on": True,
            "variations": [False, True],
            "fallthrough": {"variation": 0},
            "offVariation": 0,
            "salt": "s",
            "deleted": False,
            "targets": [],
            "prerequisites": [],
            "rules": [
                {
                    "id": "m",
                    "variation": 1,
                    "clauses": [{"attribute": "key", "op": "segmentMatch", "values": [key], "negate": False}],
                }
            ],
        }
    return {"flags": flags, "segments": segments}


def sdk_verdicts(store: Any, data_file: Path) -> tuple[dict[tuple[str, str], str], tuple[bool, bool]]:
    from ldclient import Context, LDClient
    from ldclient.config import BigSegmentsConfig, Config
    from ldclient.integrations import Files

    client = LDClient(
        Config(
            "sdk-key-for-tests",
            update_processor_class=Files.new_data_source(paths=[str(data_file)]),
            send_events=False,
            diagnostic_opt_out=True,
            big_segments=BigSegmentsConfig(store=store, stale_after=STALE_AFTER_S),
        ),
        start_wait=10,
    )
    try:
        assert client.is_initialized()
        out = {}
        for key in CONTEXT_KEYS:
            for seg in SEGMENTS:
                member = [
                    client.variation(f"flag-{seg}", Context.builder(key).set("ruleMatch", rm).build(), None)
                    for rm in (False, True)
                ]
                assert None not in member, (key, seg)
                out[(key, seg)] = {
                    (True, True): "member",
                    (False, False): "not-member",
                    (False, True): "rules-decide",
                }[tuple(member)]  # type: ignore[index]
        status = client.big_segment_store_status_provider.status
        return out, (status.available, status.stale)
    finally:
        client.close()


OUR_TO_SDK = {
    Verdict.INCLUDED: "member",
    Verdict.EXCLUDED: "not-member",
    Verdict.NOT_CONFIGURED: "not-member",
    Verdict.NO_DATA: "rules-decide",
}


async def ldtui_verdicts(
    reader: BigSegmentStoreReader,
) -> tuple[dict[tuple[str, str], str], tuple[bool, bool], dict[str, Any]]:
    memberships = await reader.get_memberships([context_key_hash(k) for k in CONTEXT_KEYS])
    out: dict[tuple[str, str], str] = {}
    detail = {}
    for key in CONTEXT_KEYS:
        verdicts, orphans = explain(memberships[context_key_hash(key)], SEGMENTS)  # type: ignore[arg-type]
        detail[key] = (verdicts, orphans)
        for v in verdicts:
            out[(key, v.segment_key)] = OUR_TO_SDK[v.verdict]
    try:
        meta = await reader.get_metadata()
        status = store_status(
            synchronized_on=meta.synchronized_on,
            now_ms=int(time.time() * 1000),
            stale_after_ms=STALE_AFTER_S * 1000,
        )
    except StoreError as exc:
        status = store_status(synchronized_on=None, now_ms=0, error=str(exc))
    return out, (status.available, status.stale), detail


METADATA = {
    "fresh": lambda now: now - 10_000,
    "stale": lambda now: now - 300_000,
    "missing": lambda now: None,
    "unreadable": lambda now: "unreadable",
}


@pytest.fixture(scope="module")
def data_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("flags") / "flags.json"
    path.write_text(json.dumps(flag_data()))
    return path


# --- Redis ------------------------------------------------------------------------------------


@pytest.fixture(
    scope="module", params=[None, "5f0c8a1e2b3d4c5e6f708192"], ids=["default-prefix", "client-side-id-prefix"]
)
def filled_redis(
    request: pytest.FixtureRequest, redis_server: RedisServer
) -> Iterator[tuple[RedisServer, str | None]]:
    import asyncio

    prefix = request.param
    redis_server.client().flushall()

    async def fill() -> None:
        w = RedisBigSegmentWriter.from_url(redis_server.url, prefix)
        for p in patches():
            assert (await w.apply_patch(p)).applied
        await w.aclose()

    asyncio.run(fill())
    yield redis_server, prefix


@pytest.mark.parametrize("metadata", list(METADATA))
async def test_redis_matches_the_sdk(
    filled_redis: tuple[RedisServer, str | None], data_file: Path, metadata: str
) -> None:
    from ldclient.integrations import Redis

    server, prefix = filled_redis
    key = f"{prefix or 'launchdarkly'}:big_segments_synchronized_on"
    value = METADATA[metadata](int(time.time() * 1000))
    if value is None:
        server.client().delete(key)
    else:
        server.client().set(key, str(value))
    store = Redis.new_big_segment_store(url=server.url, prefix=prefix or "launchdarkly")
    sdk, sdk_status = sdk_verdicts(store, data_file)
    async with RedisBigSegmentReader(RedisStore(url=server.url), prefix) as reader:
        ours, our_status, detail = await ldtui_verdicts(reader)
    assert ours == sdk
    assert our_status == sdk_status
    expected_status = {
        "fresh": (True, False),
        "stale": (True, True),
        "missing": (True, True),
        "unreadable": (False, False),
    }
    assert our_status == expected_status[metadata]
    check_scenario_shape(ours, detail)


# --- DynamoDB ---------------------------------------------------------------------------------


@pytest.fixture(
    scope="module", params=[None, "5f0c8a1e2b3d4c5e6f708192"], ids=["no-prefix", "client-side-id-prefix"]
)
def filled_dynamodb(
    request: pytest.FixtureRequest, moto_server: MotoServer
) -> tuple[MotoServer, str, str | None]:
    import asyncio

    prefix = request.param
    table = moto_server.create_table(f"conformance-{'p' if prefix else 'np'}")

    async def fill() -> None:
        w = DynamoDBBigSegmentWriter(moto_server.client(), table, prefix)
        for p in patches():
            assert (await w.apply_patch(p)).applied

    asyncio.run(fill())
    return moto_server, table, prefix


@pytest.mark.parametrize("metadata", list(METADATA))
async def test_dynamodb_matches_the_sdk(
    filled_dynamodb: tuple[MotoServer, str, str | None], data_file: Path, metadata: str
) -> None:
    from ldclient.integrations import DynamoDB

    moto, table, prefix = filled_dynamodb
    ns = f"{prefix}:big_segments_metadata" if prefix else "big_segments_metadata"
    key = {"namespace": {"S": ns}, "key": {"S": ns}}
    value = METADATA[metadata](int(time.time() * 1000))
    if value is None:
        moto.client().update_item(TableName=table, Key=key, UpdateExpression="REMOVE synchronizedOn")
    else:
        n = "1.5" if value == "unreadable" else str(value)
        moto.client().update_item(
            TableName=table,
            Key=key,
            UpdateExpression="SET synchronizedOn = :t",
            ExpressionAttributeValues={":t": {"N": n}},
        )
    store = DynamoDB.new_big_segment_store(
        table, prefix, dynamodb_opts={"endpoint_url": moto.endpoint, "region_name": "us-east-1"}
    )
    sdk, sdk_status = sdk_verdicts(store, data_file)
    settings = DynamoDBStore(table=table, region="us-east-1", endpoint_url=moto.endpoint)
    async with DynamoDBBigSegmentReader(settings, prefix) as reader:
        ours, our_status, detail = await ldtui_verdicts(reader)
    assert ours == sdk
    assert our_status == sdk_status
    check_scenario_shape(ours, detail)


def check_scenario_shape(ours: dict[tuple[str, str], str], detail: dict[str, Any]) -> None:
    """The data exercises every case (so agreement above is not vacuous)."""
    k = CONTEXT_KEYS
    assert ours[(k[0], "beta")] == "rules-decide"  # included, then removed again
    assert ours[(k[9], "beta")] == "member"  # in both sets: include wins
    assert ours[(k[13], "beta")] == "not-member"  # excluded
    assert ours[(k[12], "regen")] == "rules-decide"  # only in the old generation
    assert ours[(k[18], "regen")] == "member"
    assert ours[(k[31], "dotted.key")] == "member"
    assert ours[(k[0], "legacy")] == "not-member"  # no generation: never a member
    assert ours[(k[29], "empty")] == "rules-decide"
    _, orphans = detail[k[12]]
    assert [o.ref for o in orphans] == ["regen.g1"]
    assert {"member", "not-member", "rules-decide"} == set(ours.values())


# --- the inspector (issue 7): the same engine as the screens and `ldtui inspect` ---------------

SDK_WORD = {
    "included": "member",
    "excluded": "not-member",
    "not-configured": "not-member",
    "no-data": "rules-decide",
}


async def inspector_verdicts(reader: BigSegmentStoreReader) -> tuple[dict[tuple[str, str], str], Any]:
    """Through ``Inspector``, with the generations coming from a segments-API stand-in that
    answers from the flag data (so "legacy", without a generation, is exercised too)."""
    from ldtui.core.explain import SegmentInfo
    from ldtui.services.inspect import Inspector

    async def lookup(key: str) -> SegmentInfo:
        if key not in SEGMENTS:
            return SegmentInfo(key, None, exists=False)
        return SegmentInfo(key, SEGMENTS[key])

    inspector = Inspector(reader, typed=dict.fromkeys(SEGMENTS), lookup=lookup)
    results = await inspector.inspect(CONTEXT_KEYS)
    out = {(r.key, a.segment_key): SDK_WORD[a.verdict] for r in results for a in r.answers}
    return out, {r.key: r for r in results}


def cli_verdicts(store_args: list[str], capsys: pytest.CaptureFixture[str], tmp_path: Path) -> dict[str, Any]:
    """Through the headless command, keys from a file, generations typed."""
    from ldtui.__main__ import main

    keys = tmp_path / "keys.txt"
    keys.write_text("\n".join(CONTEXT_KEYS) + "\n", encoding="utf-8")
    segs = [f"--segment={k}={g}" for k, g in SEGMENTS.items() if g is not None]
    capsys.readouterr()
    code = main(["inspect", *store_args, *segs, "--keys-file", str(keys), "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0
    return out


def fresh_redis_metadata(server: RedisServer, prefix: str | None) -> None:
    server.client().set(
        f"{prefix or 'launchdarkly'}:big_segments_synchronized_on", str(int(time.time() * 1000))
    )


async def test_redis_inspector_matches_the_sdk(
    filled_redis: tuple[RedisServer, str | None], data_file: Path
) -> None:
    from ldclient.integrations import Redis

    server, prefix = filled_redis
    fresh_redis_metadata(server, prefix)
    sdk, _ = sdk_verdicts(
        Redis.new_big_segment_store(url=server.url, prefix=prefix or "launchdarkly"), data_file
    )
    async with RedisBigSegmentReader(RedisStore(url=server.url), prefix) as reader:
        ours, results = await inspector_verdicts(reader)
    assert ours == sdk
    assert [o.ref for o in results[CONTEXT_KEYS[12]].orphaned] == ["regen.g1"]
    assert results[CONTEXT_KEYS[0]].verdict_of("legacy") == "not-configured"
    assert results["alice@example.com"].hash == "/42YGfwOEr8NJIkuRZh+JJoo3Og2qFytYOKOqqjG2XY="


def test_redis_inspect_command_matches_the_sdk(
    filled_redis: tuple[RedisServer, str | None],
    data_file: Path,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    from ldclient.integrations import Redis

    server, prefix = filled_redis
    fresh_redis_metadata(server, prefix)
    sdk, _ = sdk_verdicts(
        Redis.new_big_segment_store(url=server.url, prefix=prefix or "launchdarkly"), data_file
    )
    args = ["--store", "redis", "--redis-url", server.url, *(["--prefix", prefix] if prefix else [])]
    out = cli_verdicts(args, capsys, tmp_path)
    assert out["store"] == {
        "kind": "redis",
        "prefix": prefix or "launchdarkly",
        "synchronizedOn": out["store"]["synchronizedOn"],
        "ageSeconds": out["store"]["ageSeconds"],
        "stale": False,
        "available": True,
    }
    ours = {(c["key"], s): SDK_WORD[v] for c in out["contexts"] for s, v in c["segments"].items()}
    assert ours == {k: v for k, v in sdk.items() if k[1] != "legacy"}
    by_key = {c["key"]: c for c in out["contexts"]}
    assert by_key[CONTEXT_KEYS[12]]["orphaned"] == ["regen.g1"]
    assert by_key["ключ"]["hash"] == "HeNqMq95jaDBrJKXYDoyDtj+VnzyHJF3ESpM6RTruL4="
    # "legacy" was not named: its refs are reported, neither judged nor called orphaned.
    assert by_key[CONTEXT_KEYS[0]]["unresolved"] == ["legacy.g1"]
    assert "legacy" not in by_key[CONTEXT_KEYS[0]]["segments"]


async def test_dynamodb_inspector_matches_the_sdk(
    filled_dynamodb: tuple[MotoServer, str, str | None], data_file: Path
) -> None:
    from ldclient.integrations import DynamoDB

    moto, table, prefix = filled_dynamodb
    store = DynamoDB.new_big_segment_store(
        table, prefix, dynamodb_opts={"endpoint_url": moto.endpoint, "region_name": "us-east-1"}
    )
    sdk, _ = sdk_verdicts(store, data_file)
    settings = DynamoDBStore(table=table, region="us-east-1", endpoint_url=moto.endpoint)
    async with DynamoDBBigSegmentReader(settings, prefix) as reader:
        ours, results = await inspector_verdicts(reader)
    assert ours == sdk
    assert [o.ref for o in results[CONTEXT_KEYS[12]].orphaned] == ["regen.g1"]


def test_dynamodb_inspect_command_matches_the_sdk(
    filled_dynamodb: tuple[MotoServer, str, str | None],
    data_file: Path,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    from ldclient.integrations import DynamoDB

    moto, table, prefix = filled_dynamodb
    ns = f"{prefix}:big_segments_metadata" if prefix else "big_segments_metadata"
    moto.client().update_item(
        TableName=table,
        Key={"namespace": {"S": ns}, "key": {"S": ns}},
        UpdateExpression="SET synchronizedOn = :t",
        ExpressionAttributeValues={":t": {"N": str(int(time.time() * 1000))}},
    )
    store = DynamoDB.new_big_segment_store(
        table, prefix, dynamodb_opts={"endpoint_url": moto.endpoint, "region_name": "us-east-1"}
    )
    sdk, _ = sdk_verdicts(store, data_file)
    args = ["--store", "dynamodb", "--table", table, "--region", "us-east-1", "--endpoint-url", moto.endpoint]
    out = cli_verdicts([*args, *(["--prefix", prefix] if prefix else [])], capsys, tmp_path)
    assert out["store"]["available"] is True and out["store"]["stale"] is False
    assert out["store"]["prefix"] == (prefix or "")
    ours = {(c["key"], s): SDK_WORD[v] for c in out["contexts"] for s, v in c["segments"].items()}
    assert ours == {k: v for k, v in sdk.items() if k[1] != "legacy"}
