"""Inspector benchmarks (issues 7 and 17). Prints a Markdown table; ``--json FILE`` saves the
numbers.

1. ``ldtui inspect --keys-file F --jsonl`` with 1,000,000 keys on a local redis-server, timed as
   a whole process (start-up, the check pass over the file, hashing, the store, explanation,
   output to a file) with its peak RSS, against the official SDK's per-key path
   (``get_membership`` per key, as an evaluation does) in the same run: once as the machine is
   and once with a busy loop taking one core. Targets: >= 150,000 keys/s, >= 30x the SDK idle,
   >= 18x busy, peak RSS < 200 MB. The same with 10,000,000 keys (1,000,000 of them in the store)
   for memory: RSS < 200 MB.
2. Where the time goes: the phases of the same run timed in-process (start-up, check pass,
   decode and split, hashing, store reads, explanation and JSON Lines).
3. The TUI during a bulk run of 100,000 keys: keystroke latency (a key event posted to the
   focused input until the input holds the character), and the event loop's longest stall.
   Target: keystrokes under 100 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_stores import PREFIX, fill_contexts, machine, print_table  # noqa: E402

from ldtui.core.bigsegments import context_key_hash  # noqa: E402
from tests.servers import RedisServer  # noqa: E402

SEGMENTS = [f"--segment=seg-{i}=1" for i in range(5)]

# Runs a command with stdout to a file; prints its exit code, its own peak RSS (KiB) and the
# CPU seconds it used (user + system).
MEASURE = """
import resource, subprocess, sys
with open(sys.argv[1], "wb") as out:
    code = subprocess.run(sys.argv[2:], stdout=out).returncode
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
print(code, usage.ru_maxrss, usage.ru_utime + usage.ru_stime)
"""


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


def inspect_argv(server: RedisServer, keys_file: Path, fmt: str = "--jsonl") -> list[str]:
    return [
        sys.executable, "-m", "ldtui", "inspect", "--store", "redis", "--redis-url", server.url,
        "--prefix", PREFIX, *SEGMENTS, "--keys-file", str(keys_file), fmt,
    ]  # fmt: skip


def server_cpu(server: RedisServer) -> float:
    """CPU seconds redis-server has used so far (user + system)."""
    with server.client() as c:
        info = c.info("cpu")
    return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])


def command_run(server: RedisServer, keys_file: Path, n: int, out: Path) -> tuple[float, float, float, float]:
    """One whole-process run: (seconds, peak RSS in MB, ldtui's CPU seconds, redis-server's
    CPU seconds); the output is checked."""
    before = server_cpu(server)
    t = time.perf_counter()
    run = subprocess.run(
        [sys.executable, "-c", MEASURE, str(out), *inspect_argv(server, keys_file)],
        capture_output=True,
        text=True,
        check=True,
    )
    wall = time.perf_counter() - t
    redis_cpu = server_cpu(server) - before
    code, rss_kb, cpu = run.stdout.split()
    assert code == "0", run.stderr
    with out.open("rb") as f:
        first = json.loads(f.readline())
        lines = 1 + sum(1 for _ in f)
    assert lines == n and first["segments"], (lines, n)
    return wall, int(rss_kb) / 1024, float(cpu), redis_cpu


def _spin(stop: Any) -> None:
    while not stop.is_set():
        pass


@contextmanager
def busy_core() -> Iterator[None]:
    """A parallel busy loop taking one core for the duration."""
    stop = multiprocessing.Event()
    proc = multiprocessing.Process(target=_spin, args=(stop,), daemon=True)
    proc.start()
    try:
        yield
    finally:
        stop.set()
        proc.join(5)
        if proc.is_alive():
            proc.kill()


def loadavg() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "?"


def whole_process(
    server: RedisServer, keys: list[str], keys_file: Path, n_sdk: int, runs: int, tmp: Path
) -> dict[str, Any]:
    """Median of ``runs`` whole-process runs and the SDK's rate, interleaved in the same run."""
    walls, rss, sdks, cpus, redis_cpus = [], [], [], [], []
    for _ in range(runs):
        sdks.append(sdk_rate(server, keys[:n_sdk]))
        wall, peak, cpu, redis_cpu = command_run(server, keys_file, len(keys), tmp / "out.jsonl")
        walls.append(wall)
        rss.append(peak)
        cpus.append(cpu)
        redis_cpus.append(redis_cpu)
    wall = statistics.median(walls)
    sdk = statistics.median(sdks)
    rate = len(keys) / wall
    return {
        "wall_s": wall,
        "walls": walls,
        "rate": rate,
        "sdk": sdk,
        "ratio": rate / sdk,
        "rss_mb": max(rss),
        "cpu_s": statistics.median(cpus),
        "redis_cpu_s": statistics.median(redis_cpus),
        "load_before": loadavg(),
    }


def phases(server: RedisServer, keys_file: Path) -> dict[str, float]:
    """The run's phases, each timed in-process over the same file (seconds)."""
    t = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import ldtui.cli.inspect, ldtui.stores.redis_reader"], check=True)
    start_up = time.perf_counter() - t
    import gc

    # The collector as ldtui inspect sets it for a bulk run (this process holds the million
    # keys too: frozen, they are not scanned again and again).
    thresholds = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(50_000, 20, 20)
    try:
        return {"start-up (interpreter and imports)": start_up, **asyncio.run(_phases(server, keys_file))}
    finally:
        gc.set_threshold(*thresholds)
        gc.unfreeze()


async def _phases(server: RedisServer, keys_file: Path) -> dict[str, float]:
    from ldtui.core.key_input import hash_checked
    from ldtui.core.reports import JsonLinesReport
    from ldtui.core.store_settings import RedisStore
    from ldtui.services.inspect import Inspector, open_keys
    from ldtui.stores.redis_reader import RedisBigSegmentReader

    out: dict[str, float] = {}
    t = time.perf_counter()
    source = open_keys(str(keys_file))
    out["check pass (read, decode, check every line)"] = time.perf_counter() - t
    t = time.perf_counter()
    blocks = list(source.blocks())
    out["decode and split (second pass)"] = time.perf_counter() - t
    keys = [k for b in blocks for k in b]
    del blocks
    t = time.perf_counter()
    hashes = hash_checked(keys)
    out["hashing (SHA-256, base64)"] = time.perf_counter() - t
    reader = RedisBigSegmentReader(RedisStore(url=server.url), PREFIX)
    async with reader as r:
        await r.probe()
        t = time.perf_counter()
        for i in range(0, len(hashes), 100_000):
            await r.get_memberships(hashes[i : i + 100_000])
        out["store reads alone (pipelined SRANDMEMBER, parsed), waiting on the server"] = (
            time.perf_counter() - t
        )
    del keys, hashes
    reader = RedisBigSegmentReader(RedisStore(url=server.url), PREFIX)
    inspector = Inspector(reader, typed={f"seg-{i}": 1 for i in range(5)})
    writing = 0.0
    with tempfile.TemporaryFile("w", encoding="utf-8") as sink:  # a file, as the command writes
        writer = JsonLinesReport(sink.write)
        t = time.perf_counter()
        async for window in inspector.stream(source, total=source.count):
            w = time.perf_counter()
            writer.results(window)
            writing += time.perf_counter() - w
        whole = time.perf_counter() - t
    await inspector.aclose()
    out["JSON Lines written (within the stream below)"] = writing
    out["the whole stream in-process (decode, hashing, reads, explanation, JSON Lines; reads overlap)"] = (
        whole
    )
    return out


async def tui_latency(server: RedisServer, keys: list[str]) -> dict[str, Any]:
    """Keystrokes into the bulk screen while it streams a keys file (loaded as a person loads
    it: checked whole, then read a window at a time), and the event loop's longest stall."""
    from textual import events

    from ldtui.core.store_settings import RedisStore
    from ldtui.services.inspect import Inspector
    from ldtui.stores.redis_reader import RedisBigSegmentReader
    from ldtui.ui.screens.inspector import BulkScreen
    from ldtui.ui.widgets.inputs import LdInput
    from tests.ui.harness import make_world, settle, wait_until

    world = make_world()
    reader = RedisBigSegmentReader(RedisStore(url=server.url), PREFIX)
    inspector = Inspector(reader, typed={f"seg-{i}": 1 for i in range(5)})
    latencies: list[float] = []
    stalls: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        keys_file = Path(tmp) / "keys.txt"
        keys_file.write_text("".join(k + "\n" for k in keys), encoding="utf-8")
        async with world.app.run_test(size=(120, 36)) as pilot:
            await settle(pilot)
            bulk = BulkScreen(inspector, None)
            await world.app.push_screen(bulk)
            await settle(pilot)
            field = bulk.query_one("#bulk-path", LdInput)
            field.value = str(keys_file)
            field.focus()
            bulk.action_load()
            await wait_until(
                pilot, lambda: bulk.source is not None, timeout=120, what="the keys file checked"
            )
            started = time.perf_counter()
            bulk.action_run()
            loop = asyncio.get_running_loop()

            def finished() -> bool:
                return bulk.spool is not None and bulk.spool.finished

            async def sampler() -> None:
                while not finished() or time.perf_counter() - started < 0.5:
                    t = loop.time()
                    await asyncio.sleep(0.005)
                    stalls.append((loop.time() - t - 0.005) * 1000)

            sampling = asyncio.create_task(sampler())
            await wait_until(pilot, lambda: bulk.running or finished(), what="the run starts")
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
            assert finished() and bulk.tally is not None and bulk.tally.contexts == len(keys), bulk.tally
            assert len(bulk.rows) == min(len(keys), 1_000)
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
    parser.add_argument("--no-ten-million", action="store_true", help="skip the 10,000,000-key memory run")
    args = parser.parse_args()
    n, n_sdk, runs, n_tui = (20_000, 2_000, 1, 10_000) if args.quick else (1_000_000, 20_000, 3, 100_000)
    big = 0 if args.quick or args.no_ten_million else 10_000_000
    server = RedisServer().start()
    results: dict[str, Any] = {}
    try:
        server.client().flushall()
        keys = fill_contexts(server.port, n)
        with tempfile.TemporaryDirectory() as tmp_name:
            tmp = Path(tmp_name)
            keys_file = tmp / "keys.txt"
            keys_file.write_text("\n".join(keys) + "\n", encoding="utf-8")
            results["idle"] = whole_process(server, keys, keys_file, n_sdk, runs, tmp)
            with busy_core():
                results["busy"] = whole_process(server, keys, keys_file, n_sdk, runs, tmp)
            results["phases"] = phases(server, keys_file)
            if big:
                big_file = tmp / "big.txt"
                with big_file.open("w", encoding="utf-8") as f:
                    f.writelines(k + "\n" for k in keys)
                    for start in range(n, big, 100_000):
                        f.write("".join(f"user-{i}\n" for i in range(start, min(big, start + 100_000))))
                wall, peak, _, _ = command_run(server, big_file, big, tmp / "big.jsonl")
                results["ten_million"] = {"wall_s": wall, "rate": big / wall, "rss_mb": peak}
        results["tui"] = asyncio.run(tui_latency(server, keys[:n_tui]))
        version = server.version()
    finally:
        server.stop()
    idle, busy, tui = results["idle"], results["busy"], results["tui"]
    rows = [
        (
            "`ldtui inspect --keys-file --jsonl`, whole process, machine as it is",
            f"{n:,} keys",
            f"{idle['rate']:,.0f} keys/s (median of {runs}: {idle['wall_s']:.2f} s); "
            f"peak RSS {idle['rss_mb']:.0f} MB; CPU ldtui {idle['cpu_s']:.2f} s, "
            f"redis-server {idle['redis_cpu_s']:.2f} s",
            f"SDK per-key {idle['sdk']:,.0f} keys/s",
            f"{idle['ratio']:.1f}x",
            ">= 150k keys/s, >= 30x idle, RSS < 200 MB",
            idle["rate"] >= 150_000 and idle["ratio"] >= 30 and idle["rss_mb"] < 200,
        ),
        (
            "the same with a busy loop on one core",
            f"{n:,} keys",
            f"{busy['rate']:,.0f} keys/s (median of {runs}: {busy['wall_s']:.2f} s); "
            f"peak RSS {busy['rss_mb']:.0f} MB; CPU ldtui {busy['cpu_s']:.2f} s, "
            f"redis-server {busy['redis_cpu_s']:.2f} s",
            f"SDK per-key {busy['sdk']:,.0f} keys/s",
            f"{busy['ratio']:.1f}x",
            ">= 150k keys/s, >= 18x busy",
            busy["rate"] >= 150_000 and busy["ratio"] >= 18,
        ),
    ]
    if "ten_million" in results:
        tm = results["ten_million"]
        rows.append(
            (
                "`ldtui inspect --keys-file --jsonl`, memory",
                f"{big:,} keys ({n:,} in the store)",
                f"peak RSS {tm['rss_mb']:.0f} MB; {tm['rate']:,.0f} keys/s ({tm['wall_s']:.1f} s)",
                "",
                "",
                "RSS < 200 MB",
                tm["rss_mb"] < 200,
            )
        )
    rows.append(
        (
            "TUI keystroke latency during a bulk run",
            f"{n_tui:,} keys, {tui['keystrokes']} keystrokes",
            f"p50 {tui['p50_ms']:.1f} ms, p99 {tui['p99_ms']:.1f} ms, max {tui['max_ms']:.1f} ms",
            f"longest loop stall {tui['max_stall_ms']:.1f} ms; run {tui['run_s']:.1f} s",
            "",
            "< 100 ms",
            tui["max_ms"] < 100,
        )
    )
    print(f"Machine: {machine()}; load average before the runs {idle['load_before']}")
    print(f"Redis: redis-server {version}; date {time.strftime('%Y-%m-%d')}")
    print()
    print_table(rows)
    print()
    print(f"Where the time goes ({n:,} keys, in-process, seconds):")
    print()
    print("| phase | seconds |")
    print("|---|---|")
    for name, secs in results["phases"].items():
        print(f"| {name} | {secs:.2f} |")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return 0 if all(r[-1] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
