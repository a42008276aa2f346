"""Exporter benchmark (issue 18): 500 targets (the emulator seeded with 500 integrations, each
with a Redis store on one redis-server), collected every 5 s and scraped as Prometheus would.

Three processes: the fleet (the emulator with its syncer, and redis-server), ``ldtui exporter``,
and this one, the scraper; so neither the fleet's work nor the scraper's is counted, and
neither competes with the scraper for its interpreter. psutil samples the exporter's CPU and
RSS.
Targets: scrape latency p99 < 50 ms; the exporter's CPU < 5% of one core averaged over 60 s
while collecting every 5 s and scraped every 5 s; RSS growth < 5 MB over 10 minutes.

``--minutes N`` shortens the memory run (default 10); ``--targets N`` changes the fleet.
Scrapes ask as Prometheus 2 does (OpenMetrics first, gzip); the latency is measured on every
scrape of the CPU and memory phases, plus a burst of 300 scrapes 0.1 s apart (over rounds
and between them)."""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

ACCEPT = (
    "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,"
    "text/plain;version=0.0.4;q=0.5,*/*;q=0.1"
)


def scrape(client: Any, url: str, latencies: list[float]) -> bytes:
    started = time.perf_counter()
    response = client.get(url, headers={"Accept": ACCEPT, "Accept-Encoding": "gzip"})
    body: bytes = response.content  # decompressed, as Prometheus would read it
    latencies.append(time.perf_counter() - started)
    response.raise_for_status()
    return body


def healthy_targets(body: bytes) -> int:
    return len(re.findall(rb'^ldtui_big_segments_verdict\{[^}]*verdict="HEALTHY"\} 1\.0$', body, re.M))


def fleet(targets: int) -> None:
    """The emulator seeded with ``targets`` integrations, each with a Redis store on one
    redis-server, its syncer writing them every 5 s; says where on stdout, then serves until
    stdin closes."""
    from ldtui.emulator.local_stores import LocalRedis
    from ldtui.emulator.runtime import EmulatorRuntime, SyncSettings, ThreadedEmulator
    from ldtui.emulator.seed import SeedOptions, add_redis_fleet, build_state
    from ldtui.emulator.syncer import Endpoints

    redis = LocalRedis().start()
    state = build_state(SeedOptions(contexts=20, extra_projects=0))
    state.integrations.clear()  # only the benchmark's fleet
    stores = add_redis_fleet(state, targets, redis.url)
    server = ThreadedEmulator(
        EmulatorRuntime(state, Endpoints(redis_url=redis.url), SyncSettings(interval=5, change_every=0))
    ).start()
    try:
        print(json.dumps({"base_url": server.base_url, "stores": stores}), flush=True)
        sys.stdin.read()
    finally:
        server.stop()
        redis.stop()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--minutes", type=float, default=10, help="length of the memory run (default 10)")
    parser.add_argument("--targets", type=int, default=500, help="integrations, each with a Redis store")
    parser.add_argument("--fleet", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.fleet:
        fleet(args.targets)
        return 0
    the_fleet = subprocess.Popen(
        [sys.executable, __file__, "--fleet", "--targets", str(args.targets)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert the_fleet.stdout is not None and the_fleet.stdin is not None
    try:
        where = json.loads(the_fleet.stdout.readline())
        result = measure(args, where["base_url"], where["stores"])
    finally:
        the_fleet.stdin.close()
        the_fleet.wait(30)
    p99, cpu_pct, growth_mb = result
    return 0 if p99 < 50 and cpu_pct < 5 and growth_mb < 5 else 1


def measure(args: argparse.Namespace, base_url: str, stores: str) -> tuple[float, float, float]:
    import httpx
    import psutil

    from ldtui.emulator.local_stores import free_port
    from ldtui.emulator.seed import DEFAULT_TOKEN

    home = Path(tempfile.mkdtemp(prefix="ldtui-bench-exporter-"))
    cfg = home / "config.toml"
    cfg.write_text(
        f'[profiles.bench]\nbase_url = "{base_url}"\ntoken_env = "BENCH_TOKEN"\n'
        "[status]\npoll_interval = 5\n" + stores
    )
    port = free_port()
    url = f"http://127.0.0.1:{port}/metrics"
    env = {**os.environ, "BENCH_TOKEN": DEFAULT_TOKEN, "XDG_STATE_HOME": str(home / "state")}
    log = (home / "exporter.log").open("wb")
    exporter = subprocess.Popen(
        [sys.executable, "-m", "ldtui", "--config", str(cfg), "exporter", "--listen", f"127.0.0.1:{port}"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log,
    )
    latencies: list[float] = []
    burst: list[float] = []
    try:
        proc = psutil.Process(exporter.pid)
        with httpx.Client(timeout=10) as client:
            deadline = time.monotonic() + 120
            while True:  # until every target is collected and HEALTHY
                try:
                    if healthy_targets(scrape(client, url, [])) == args.targets:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline or exporter.poll() is not None:
                    raise SystemExit(
                        f"the exporter did not report {args.targets} HEALTHY targets in time; "
                        f"its log: {home / 'exporter.log'}"
                    )
                time.sleep(0.5)
            # Warm-up: connections opened, the format asked for rendered ahead, caches full.
            for _ in range(6):
                scrape(client, url, [])
                time.sleep(5)
            rss0 = proc.memory_info().rss
            cpu0 = sum(proc.cpu_times()[:2])
            t0 = time.monotonic()
            for _ in range(12):  # 60 s, scraped every 5 s
                scrape(client, url, latencies)
                time.sleep(5)
            cpu_pct = (sum(proc.cpu_times()[:2]) - cpu0) / (time.monotonic() - t0) * 100
            for _ in range(300):  # 30 s of scrapes 0.1 s apart: during rounds and between them
                scrape(client, url, burst)
                time.sleep(0.1)
            body = b""
            while time.monotonic() - t0 < args.minutes * 60:
                body = scrape(client, url, latencies)
                time.sleep(5)
            body = scrape(client, url, latencies)
            assert healthy_targets(body) == args.targets
            growth_mb = (proc.memory_info().rss - rss0) / 1e6
            minutes = (time.monotonic() - t0) / 60
    finally:
        exporter.terminate()
        try:
            exporter.wait(20)
        except subprocess.TimeoutExpired:
            exporter.kill()
        log.close()
    every = sorted(latencies + burst)
    p50 = statistics.median(every) * 1000
    p99 = percentile(every, 0.99) * 1000
    burst_p99 = percentile(sorted(burst), 0.99) * 1000
    size = len(body) / 1e6
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    print(f"Date: {when}; load average at the end {os.getloadavg()[0]:.2f}\n")
    print("| benchmark | ldtui | target | met |")
    print("|---|---|---|---|")
    print(
        f"| Exporter scrape latency, {args.targets} targets ({len(every)} scrapes of {size:.1f} MB "
        f"OpenMetrics, gzip) | p50 {p50:.1f} ms, p99 {p99:.1f} ms (burst of 300: p99 {burst_p99:.1f} ms), "
        f"max {every[-1] * 1000:.1f} ms | p99 < 50 ms | {'yes' if p99 < 50 else 'NO'} |"
    )
    print(
        f"| Exporter CPU, {args.targets} targets every 5 s, scraped every 5 s, 60 s average | "
        f"{cpu_pct:.2f}% of one core | < 5% | {'yes' if cpu_pct < 5 else 'NO'} |"
    )
    print(
        f"| Exporter memory growth over {minutes:.1f} min | {growth_mb:+.2f} MB | < 5 MB | "
        f"{'yes' if growth_mb < 5 else 'NO'} |"
    )
    return p99, cpu_pct, growth_mb


def percentile(ordered: list[float], q: float) -> float:
    """The nearest-rank percentile of sorted values."""
    return ordered[max(0, min(len(ordered) - 1, math.ceil(q * len(ordered)) - 1))]


if __name__ == "__main__":
    sys.exit(main())
