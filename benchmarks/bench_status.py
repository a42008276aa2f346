"""Status panel benchmark (issue 6): 200 integrations, each with a Redis store, polled every 5 s.

The app runs as its own process in tmux (the emulator and redis-server are separate, so their
work is not counted); psutil samples the app's CPU and RSS.
Targets: CPU while polling < 5% of one core averaged over 60 s; RSS growth < 5 MB over 10 min.

``--minutes N`` shortens the memory run (default 10)."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> int:
    import psutil

    from ldtui.emulator.local_stores import LocalRedis
    from ldtui.emulator.runtime import EmulatorRuntime, SyncSettings, ThreadedEmulator
    from ldtui.emulator.seed import DEFAULT_TOKEN, SeedOptions, add_redis_fleet, build_state
    from ldtui.emulator.syncer import Endpoints

    parser = argparse.ArgumentParser()
    parser.add_argument("--minutes", type=float, default=10)
    args = parser.parse_args()

    redis = LocalRedis().start()
    state = build_state(SeedOptions(contexts=20, extra_projects=0))
    stores = add_redis_fleet(state, 200, redis.url)
    server = ThreadedEmulator(
        EmulatorRuntime(state, Endpoints(redis_url=redis.url), SyncSettings(interval=5, change_every=0))
    ).start()
    cfg = Path(tempfile.mkdtemp()) / "config.toml"
    cfg.write_text(
        f'[profiles.bench]\nbase_url = "{server.base_url}"\ntoken_env = "BENCH_TOKEN"\n'
        "[status]\npoll_interval = 5\n" + stores
    )
    session = f"ldtui-status-bench-{os.getpid()}"
    env = {"LDTUI_CONFIG_FILE": str(cfg), "BENCH_TOKEN": DEFAULT_TOKEN, "TEXTUAL_ANIMATIONS": "none"}
    ldtui = str(Path(sys.executable).parent / "ldtui")
    subprocess.run(
        [
            "tmux",
            "new-session",
            "-d",
            "-s",
            session,
            "-x",
            "160",
            "-y",
            "50",
            "env",
            *[f"{k}={v}" for k, v in env.items()],
            ldtui,
        ],
        check=True,
    )
    try:
        time.sleep(4)
        subprocess.run(["tmux", "send-keys", "-t", session, "h"], check=True)
        # Warm-up: connections opened, and Textual's render caches filled to their (bounded)
        # sizes; growth is measured from there, where a leak would show.
        time.sleep(60)
        pane_pid = int(
            subprocess.run(
                ["tmux", "list-panes", "-t", session, "-F", "#{pane_pid}"], capture_output=True, text=True
            ).stdout.split()[0]
        )
        proc = psutil.Process(pane_pid)
        children = proc.children(recursive=True)
        app = next((c for c in [proc, *children] if "ldtui" in " ".join(c.cmdline())), proc)
        capture = ["tmux", "capture-pane", "-p", "-t", session]
        screen = subprocess.run(capture, capture_output=True, text=True).stdout
        assert "HEALTHY" in screen, screen
        rss0 = app.memory_info().rss
        cpu0 = sum(app.cpu_times()[:2])
        t0 = time.monotonic()
        time.sleep(60)
        cpu_pct = (sum(app.cpu_times()[:2]) - cpu0) / (time.monotonic() - t0) * 100
        remaining = max(0.0, args.minutes * 60 - 60)
        time.sleep(remaining)
        growth_mb = (app.memory_info().rss - rss0) / 1e6
        minutes = (time.monotonic() - t0) / 60
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True)
        server.stop()
        redis.stop()
    print(f"Date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}\n")
    print("| benchmark | ldtui | target | met |")
    print("|---|---|---|---|")
    print(
        f"| Status panel CPU, 200 targets every 5 s, 60 s average | {cpu_pct:.2f}% of one core | < 5% | "
        f"{'yes' if cpu_pct < 5 else 'NO'} |"
    )
    print(
        f"| Status panel memory growth over {minutes:.1f} min | {growth_mb:+.2f} MB | < 5 MB | "
        f"{'yes' if growth_mb < 5 else 'NO'} |"
    )
    return 0 if cpu_pct < 5 and growth_mb < 5 else 1


if __name__ == "__main__":
    sys.exit(main())
