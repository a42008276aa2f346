"""Store-layer benchmarks (issue 3). Prints a Markdown table; ``--json FILE`` saves the numbers.

1. Bulk membership of 100,000 context keys on a local redis-server: ldtui's pipelined reader
   vs the official SDK's per-key ``get_membership``, same run. Target: >= 30x.
2. DynamoDB on a moto server: ldtui's BatchGetItem path vs the SDK's per-key GetItem, same run.
   Target: >= 8x.
3. Store statistics over 1,000,000 contexts on Redis vs a bare SCAN (COUNT 1000) enumerating the
   same keys, same run. Targets: <= 3.5x the time, memory growth < 50 MB.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ldtui.core.bigsegments import context_key_hash  # noqa: E402
from tests.servers import MotoServer, RedisServer  # noqa: E402
from tests.servers import redis_server_binary as redis_binary  # noqa: E402


def moto_version() -> str:
    from importlib.metadata import version

    return version("moto")


PREFIX = "bench"


def raw_fill(port: int, commands: list[bytes], chunk: int = 20_000) -> None:
    """Fast setup: hand-encoded commands on a plain socket (benchmark data only)."""
    with socket.create_connection(("127.0.0.1", port)) as s:
        for i in range(0, len(commands), chunk):
            part = commands[i : i + chunk]
            s.sendall(b"".join(part))
            need, got = len(part), 0
            buf = b""
            while got < need:
                buf += s.recv(1 << 20)
                got = buf.count(b"\r\n")


def sadd(key: bytes, member: bytes) -> bytes:
    return b"*3\r\n$4\r\nSADD\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n" % (len(key), key, len(member), member)


def fill_contexts(port: int, n: int, prefix: str = PREFIX) -> list[str]:
    keys = [f"user-{i}" for i in range(n)]
    p = prefix.encode()
    cmds = []
    for i, k in enumerate(keys):
        h = context_key_hash(k).encode()
        cmds.append(sadd(p + b":big_segment_include:" + h, b"seg-%d.g1" % (i % 5)))
        if i % 10 == 0:
            cmds.append(sadd(p + b":big_segment_exclude:" + h, b"seg-%d.g1" % ((i + 1) % 5)))
    raw_fill(port, cmds)
    return keys


async def bulk_rate(reader: Any, keys: list[str]) -> float:
    """Contexts per second through the reader's bulk path (every key has data)."""
    async with reader as r:
        await r.probe()  # connect outside the timing, as the SDK's pool is warm too
        t = time.perf_counter()
        result = await r.get_memberships([context_key_hash(k) for k in keys])
        dt = time.perf_counter() - t
        assert sum(1 for m in result.values() if m is not None) == len(keys)
        return len(keys) / dt


def bench_redis_membership(server: RedisServer, n: int, sdk_sample: int) -> dict[str, Any]:
    from ldclient.impl.integrations.redis.redis_big_segment_store import _RedisBigSegmentStore

    from ldtui.core.store_settings import RedisStore
    from ldtui.stores.redis_reader import RedisBigSegmentReader

    server.client().flushall()
    keys = fill_contexts(server.port, n)
    sdk = _RedisBigSegmentStore(server.url, PREFIX, {})
    sample = keys[:sdk_sample]
    t = time.perf_counter()
    for k in sample:  # the SDK's path: hash, then two SMEMBERS, per key
        sdk.get_membership(context_key_hash(k))
    sdk_rate = len(sample) / (time.perf_counter() - t)
    sdk.stop()

    rate = asyncio.run(bulk_rate(RedisBigSegmentReader(RedisStore(url=server.url), PREFIX), keys))
    return {"sdk_keys_per_s": sdk_rate, "ldtui_keys_per_s": rate, "ratio": rate / sdk_rate, "keys": n}


def bench_dynamodb_membership(n: int, sdk_sample: int) -> dict[str, Any]:
    from ldclient.impl.integrations.dynamodb.dynamodb_big_segment_store import (
        _DynamoDBBigSegmentStore,
    )

    from ldtui.core.store_settings import DynamoDBStore
    from ldtui.stores.dynamodb_reader import DynamoDBBigSegmentReader

    moto = MotoServer().start()
    try:
        table = moto.create_table("bench")
        keys = [f"user-{i}" for i in range(n)]
        client = moto.client()
        for i in range(0, n, 25):
            client.batch_write_item(
                RequestItems={
                    table: [
                        {
                            "PutRequest": {
                                "Item": {
                                    "namespace": {"S": "big_segments_user"},
                                    "key": {"S": context_key_hash(k)},
                                    "included": {"SS": ["seg.g1"]},
                                }
                            }
                        }
                        for k in keys[i : i + 25]
                    ]
                }
            )
        sdk = _DynamoDBBigSegmentStore(
            table, None, {"endpoint_url": moto.endpoint, "region_name": "us-east-1"}
        )
        sample = keys[:sdk_sample]
        t = time.perf_counter()
        for k in sample:
            sdk.get_membership(context_key_hash(k))
        sdk_rate = len(sample) / (time.perf_counter() - t)

        settings = DynamoDBStore(table=table, region="us-east-1", endpoint_url=moto.endpoint)
        rate = asyncio.run(bulk_rate(DynamoDBBigSegmentReader(settings), keys))
        return {"sdk_keys_per_s": sdk_rate, "ldtui_keys_per_s": rate, "ratio": rate / sdk_rate, "keys": n}
    finally:
        moto.stop()


STATS_CHILD = r"""
import asyncio, json, sys, time
sys.path.insert(0, sys.argv[3])
import redis
from ldtui.stores.redis_reader import RedisBigSegmentReader
from ldtui.core.store_settings import RedisStore

def rss_kb(field):
    for line in open("/proc/self/status"):
        if line.startswith(field):
            return int(line.split()[1])

url, prefix = sys.argv[1], sys.argv[2]
client = redis.Redis.from_url(url)
match = prefix + ":big_segment_*"

def bare_scan():
    t = time.perf_counter(); n = 0; cursor = 0
    while True:
        cursor, keys = client.scan(cursor, match=match, count=1000)
        n += len(keys)
        if cursor == 0:
            return n, time.perf_counter() - t

async def run():
    async with RedisBigSegmentReader(RedisStore(url=url), prefix) as r:
        await r.probe()
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")  # reset the peak RSS, so VmHWM measures the statistics runs only
        before = rss_kb("VmRSS:")
        times = []
        for _ in range(2):
            t = time.perf_counter()
            stats = await r.statistics(batch=1000)
            times.append(time.perf_counter() - t)
        return stats, min(times), before, rss_kb("VmHWM:")

# Best of two for each side: the first pass after a bulk load is slower for both (Redis is
# still rehashing its table).
n, scan_s = min((bare_scan() for _ in range(2)), key=lambda r: r[1])
stats, stats_s, before, peak = asyncio.run(run())
print(json.dumps({"keys": n, "scan_s": scan_s, "stats_s": stats_s, "contexts": stats.contexts,
                  "memory_growth_mb": (peak - before) / 1024}))
"""


def bench_statistics(server: RedisServer, n: int) -> dict[str, Any]:
    server.client().flushall()
    fill_contexts(server.port, n)
    out = subprocess.run(
        [sys.executable, "-c", STATS_CHILD, server.url, PREFIX, str(ROOT)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    data = json.loads(out)
    assert data["contexts"] == n, data
    data["ratio"] = data["stats_s"] / data["scan_s"]
    return data


def print_table(rows: list[tuple[Any, ...]]) -> None:
    """The Markdown table every benchmark prints: name, size, ldtui, baseline, ratio, target, met."""
    print("| benchmark | size | ldtui | baseline (same run) | ratio | target | met |")
    print("|---|---|---|---|---|---|---|")
    for name, size, ours, base, ratio, target, ok in rows:
        print(f"| {name} | {size} | {ours} | {base} | {ratio} | {target} | {'yes' if ok else 'NO'} |")


def machine() -> str:
    cpu = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, {platform.system()}"


def main() -> int:
    import logging

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's request log
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="smaller sizes, for a smoke run")
    parser.add_argument("--json", metavar="FILE")
    args = parser.parse_args()
    n_redis, n_sdk, n_ddb, n_ddb_sdk, n_stats = (
        (10_000, 2_000, 1_000, 200, 100_000) if args.quick else (100_000, 20_000, 5_000, 1_000, 1_000_000)
    )
    server = RedisServer().start()
    redis_version = server.version()
    try:
        redis_m = bench_redis_membership(server, n_redis, n_sdk)
        stats = bench_statistics(server, n_stats)
    finally:
        server.stop()
    ddb = bench_dynamodb_membership(n_ddb, n_ddb_sdk)

    rows = [
        (
            "Redis bulk membership",
            f"{n_redis:,} keys",
            f"{redis_m['ldtui_keys_per_s']:,.0f} keys/s",
            f"SDK per-key {redis_m['sdk_keys_per_s']:,.0f} keys/s",
            f"{redis_m['ratio']:.1f}x",
            ">= 30x",
            redis_m["ratio"] >= 30,
        ),
        (
            "DynamoDB bulk membership (moto)",
            f"{n_ddb:,} keys",
            f"{ddb['ldtui_keys_per_s']:,.0f} keys/s",
            f"SDK per-key GetItem {ddb['sdk_keys_per_s']:,.0f} keys/s",
            f"{ddb['ratio']:.1f}x",
            ">= 8x",
            ddb["ratio"] >= 8,
        ),
        (
            "Redis store statistics",
            f"{n_stats:,} contexts ({stats['keys']:,} keys)",
            f"{stats['stats_s']:.2f} s",
            f"bare SCAN {stats['scan_s']:.2f} s",
            f"{stats['ratio']:.2f}x",
            "<= 3.5x",
            stats["ratio"] <= 3.5,
        ),
        (
            "Redis statistics memory growth",
            f"{n_stats:,} contexts",
            f"{stats['memory_growth_mb']:.1f} MB",
            "",
            "",
            "< 50 MB",
            stats["memory_growth_mb"] < 50,
        ),
    ]
    print(f"Machine: {machine()}")
    print(f"redis-server {redis_version} ({redis_binary()}), moto {moto_version()}")
    print(f"Date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}\n")
    print_table(rows)
    if args.json:
        Path(args.json).write_text(
            json.dumps({"redis": redis_m, "dynamodb": ddb, "statistics": stats}, indent=2)
        )
    return 0 if all(r[-1] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
