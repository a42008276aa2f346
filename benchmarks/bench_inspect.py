"""Inspector benchmarks (issue 7). Prints a Markdown table; ``--json FILE`` saves the numbers.

1. ``ldtui inspect --keys-file F --json`` with 100,000 keys on a local redis-server, timed as a
   whole process (start-up, reading the file, hashing, the store, JSON on stdout), against the
   official SDK's per-key path (``get_membership`` per key, as an evaluation does) in the same
   run. Target: >= 20x the SDK's keys per second.
2. The TUI during a bulk run of 100,000 keys: keystroke latency (a key event posted to the
   focused input until the input holds the character), and the event loop's longest stall.
   Target: keystrokes under 100 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_stores import PREFIX, fill_contexts, machine, print_table  # noqa: E402

from ldtui.core.bigsegments import context_key_hash  # noqa: E402
from tests.servers import RedisServer  # noqa: E402

SEGMENTS = [f"--segment=seg-{i}=1" for i in range(5)]


def sdk_rate(server: RedisServer, keys: list[str]) -> float:
    from ldclient.impl.integrations.redis.redis_big_segment_store import _RedisBigSegmentStore

    sdk = _RedisBigSegmentStore(server.url, PREFIX, {})
    try:
        sdk.get_membership(context_key_hash(keys[0]))  # a warm connection pool
        t = time.perf_counter()
        for k in keys:  # the SDK's path: hash, then two SMEMBERS, per key
            sdk.get_membership(context_key_hash(k))
        return len(keys) / (time.perf_counter() - t)
    finally:
        sdk.stop()


def command_rate(server: RedisServer, keys_file: Path, n: int, runs: int) -> tuple[float, list[float]]:
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        out = subprocess.run(
            [
                sys.executable,
                "-m",
                "ldtui",
                "inspect",
                "--store",
                "redis",
                "--redis-url",
                server.url,
                "--prefix",
                PREFIX,
                *SEGMENTS,
                "--keys-file",
                str(keys_file),
                "--json",
            ],
            capture_output=True,
            check=True,
        ).stdout
        times.append(time.perf_counter() - t)
        doc = json.loads(out)
        assert len(doc["contexts"]) == n
        assert all(c["segments"] for c in doc["contexts"][:100])
    wall = statistics.median(times)
    return n / wall, times


async def tui_latency(server: RedisServer, keys: list[str]) -> dict[str, Any]:
    from textual import events

    from ldtui.core.store_settings import RedisStore
    from ldtui.services.inspect import Inspector
    from ldtui.stores.redis_reader import RedisBigSegmentReader
    from ldtui.ui.screens.inspector import BulkScreen
    from ldtui.ui.widgets.inputs import LdInput
    from tests.ui.harness import make_world, settle

    world = make_world()
    reader = RedisBigSegmentReader(RedisStore(url=server.url), PREFIX)
    inspector = Inspector(reader, typed={f"seg-{i}": 1 for i in range(5)})
    latencies: list[float] = []
    stalls: list[float] = []
    async with world.app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        bulk = BulkScreen(inspector, None)
        await world.app.push_screen(bulk)
        await settle(pilot)
        field = bulk.query_one("#bulk-path", LdInput)
        field.value = "keys.txt"
        field.focus()
        await pilot.pause()
        bulk.file_keys = keys
        started = time.perf_counter()
        bulk.action_run()
        loop = asyncio.get_running_loop()

        async def sampler() -> None:
            while bulk.running or time.perf_counter() - started < 0.5:
                t = loop.time()
                await asyncio.sleep(0.005)
                stalls.append((loop.time() - t - 0.005) * 1000)

        sampling = asyncio.create_task(sampler())
        await asyncio.sleep(0.05)
        while bulk.running:
            before = field.value
            t = time.perf_counter()
            world.app.post_message(events.Key("x", "x"))
            while field.value == before:
                await asyncio.sleep(0)
            latencies.append((time.perf_counter() - t) * 1000)
            await asyncio.sleep(0.03)
        await sampling
        await settle(pilot)
        run_s = time.perf_counter() - started
        assert len(bulk.results) == len(keys), len(bulk.results)
    await reader.aclose()
    latencies.sort()
    return {
        "keystrokes": len(latencies),
        "p50_ms": statistics.median(latencies),
        "p99_ms": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))],
        "max_ms": latencies[-1],
        "max_stall_ms": max(stalls),
        "run_s": run_s,
    }


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="smaller sizes, for a smoke run")
    parser.add_argument("--json", metavar="FILE")
    args = parser.parse_args()
    n, n_sdk, runs = (10_000, 2_000, 1) if args.quick else (100_000, 20_000, 3)
    server = RedisServer().start()
    try:
        server.client().flushall()
        keys = fill_contexts(server.port, n)
        with tempfile.TemporaryDirectory() as tmp:
            keys_file = Path(tmp) / "keys.txt"
            keys_file.write_text("\n".join(keys) + "\n", encoding="utf-8")
            sdk = sdk_rate(server, keys[:n_sdk])
            ours, times = command_rate(server, keys_file, n, runs)
        tui = asyncio.run(tui_latency(server, keys))
        version = server.version()
    finally:
        server.stop()
    ratio = ours / sdk
    rows = [
        (
            "`ldtui inspect --keys-file --json`, whole process",
            f"{n:,} keys",
            f"{ours:,.0f} keys/s (median of {runs}: {statistics.median(times):.2f} s)",
            f"SDK per-key {sdk:,.0f} keys/s",
            f"{ratio:.1f}x",
            ">= 20x",
            ratio >= 20,
        ),
        (
            "TUI keystroke latency during a bulk run",
            f"{n:,} keys, {tui['keystrokes']} keystrokes",
            f"p50 {tui['p50_ms']:.1f} ms, p99 {tui['p99_ms']:.1f} ms, max {tui['max_ms']:.1f} ms",
            f"longest loop stall {tui['max_stall_ms']:.1f} ms; run {tui['run_s']:.1f} s",
            "",
            "< 100 ms",
            tui["max_ms"] < 100,
        ),
    ]
    print(f"Machine: {machine()}")
    print(f"Redis: redis-server {version}; date {time.strftime('%Y-%m-%d')}")
    print()
    print_table(rows)
    if args.json:
        Path(args.json).write_text(
            json.dumps({"sdk": sdk, "ldtui": ours, "times": times, "tui": tui}, indent=2)
        )
    return 0 if all(r[-1] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
