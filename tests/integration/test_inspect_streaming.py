"""``ldtui inspect --keys-file`` streams: two million keys through a real redis-server with
peak memory far below what holding them would take, in every output format; a bad line is
refused before anything is looked up; the counts come at the end."""

from __future__ import annotations

import json
import resource
import subprocess
import sys
from pathlib import Path

import pytest

from ldtui.core.bigsegments import context_key_hash
from tests.servers import RedisServer

pytestmark = pytest.mark.network

N = 2_000_000
RSS_LIMIT_MB = 200

MEASURE = """
import resource, subprocess, sys
with open(sys.argv[1], "wb") as out:
    code = subprocess.run(sys.argv[2:], stdout=out).returncode
print(code, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
"""


@pytest.fixture(scope="module")
def big_keys(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("keys") / "keys.txt"
    with path.open("w", encoding="utf-8") as f:
        for start in range(0, N, 100_000):
            f.write("".join(f"user-{i:08d}\n" for i in range(start, start + 100_000)))
    return path


def run_measured(tmp_path: Path, *args: str) -> tuple[int, float, Path]:
    """Run ldtui with stdout to a file; its exit code and peak RSS (MB, the child's own)."""
    out = tmp_path / "out"
    run = subprocess.run(
        [sys.executable, "-c", MEASURE, str(out), sys.executable, "-m", "ldtui", *args],
        capture_output=True,
        text=True,
        timeout=600,
    )
    code, rss_kb = run.stdout.split()
    assert "Traceback" not in run.stderr, run.stderr
    return int(code), int(rss_kb) / 1024, out


@pytest.fixture
def seeded(redis_url: str, redis_server: RedisServer) -> str:
    c = redis_server.client()
    c.set("launchdarkly:big_segments_synchronized_on", "1795262797954")
    pipe = c.pipeline(transaction=False)
    for i in range(0, N, 1000):
        pipe.sadd("launchdarkly:big_segment_include:" + context_key_hash(f"user-{i:08d}"), "seg.g1")
    pipe.execute()
    return redis_url


@pytest.mark.parametrize("fmt", ["--jsonl", "--json"])
def test_two_million_keys_stream_in_flat_memory(
    fmt: str, seeded: str, big_keys: Path, tmp_path: Path
) -> None:
    code, rss_mb, out = run_measured(
        tmp_path,
        "inspect",
        "--store",
        "redis",
        "--redis-url",
        seeded,
        "--segment",
        "seg=1",
        "--keys-file",
        str(big_keys),
        fmt,
    )
    assert code == 0
    assert rss_mb < RSS_LIMIT_MB, f"peak RSS {rss_mb:.0f} MB"
    if fmt == "--jsonl":
        lines = 0
        with out.open("rb") as f:
            first = json.loads(f.readline())
            for lines, _ in enumerate(f, start=2):  # noqa: B007
                pass
        assert lines == N and first["key"] == "user-00000000" and first["segments"] == {"seg": "included"}
    else:
        with out.open("rb") as f:
            head = f.read(200).decode()
            f.seek(-2000, 2)
            tail = f.read().decode()
        assert head.startswith('{"store": {"kind": "redis"') and tail.endswith("}\n")
        tally = json.loads("{" + tail[tail.rindex('"segmentGenerations"') :])["tally"]
        assert tally["contexts"] == N and tally["segments"]["seg"] == {
            "included": N // 1000,
            "no-data": N - N // 1000,
        }


def test_a_bad_line_is_refused_before_any_lookup(redis_server: RedisServer, tmp_path: Path) -> None:
    keys = tmp_path / "keys.txt"
    keys.write_bytes(b"".join(b"user-%08d\n" % i for i in range(50_000)) + b"bad \xff\n")
    before = redis_server.client().info("commandstats")
    code, _, out = run_measured(
        tmp_path,
        "inspect",
        "--store",
        "redis",
        "--redis-url",
        redis_server.url,
        "--segment",
        "seg=1",
        "--keys-file",
        str(keys),
        "--json",
    )
    after = redis_server.client().info("commandstats")
    assert code == 64 and out.read_bytes() == b""  # nothing half-written
    assert after.get("cmdstat_srandmember") == before.get("cmdstat_srandmember")  # nothing asked


def test_csv_output_and_counts_at_the_end(redis_server: RedisServer, tmp_path: Path) -> None:
    c = redis_server.client()
    c.flushall()
    c.sadd("launchdarkly:big_segment_exclude:" + context_key_hash("b, with comma"), "seg.g2")
    keys = tmp_path / "keys.txt"
    keys.write_text("a\nb, with comma\n", encoding="utf-8")
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "ldtui",
            "inspect",
            "--store",
            "redis",
            "--redis-url",
            redis_server.url,
            "--segment",
            "seg=2",
            "--keys-file",
            str(keys),
            "--csv",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.splitlines()[0] == "key,hash,seg,included,excluded,orphaned,error"
    assert run.stdout.splitlines()[2].startswith('"b, with comma",')
    assert "2 contexts, 1 with data, 0 errors; seg: 1 excluded, 1 no-data" in run.stderr


def test_rss_measurement_sees_a_big_child(tmp_path: Path) -> None:
    """The measuring wrapper reports the child's own peak (else the limit above would test
    nothing): a child that allocates 300 MB is seen as at least that."""
    out = tmp_path / "o"
    run = subprocess.run(
        [sys.executable, "-c", MEASURE, str(out), sys.executable, "-c", "x = bytearray(300 * 1024 * 1024)"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert int(run.stdout.split()[1]) / 1024 > 300
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss > 0


def _on_a_pty(argv: list[str]) -> tuple[int, bytes]:
    """Run a command with stdout on a pty (a terminal, as an operator's would be)."""
    import os
    import pty
    import select
    import time

    master, slave = pty.openpty()
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=slave, stderr=slave)
    os.close(slave)
    seen = b""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(master, 65536)
            except OSError:
                break  # the child closed its side
            if not chunk:
                break
            seen += chunk
        elif proc.poll() is not None:
            break
    os.close(master)
    return proc.wait(timeout=10), seen


@pytest.mark.parametrize("fmt", ["--csv", "--json", "--jsonl", None])
def test_a_hostile_key_reaches_a_terminal_spelled_out(
    redis_server: RedisServer, tmp_path: Path, fmt: str | None
) -> None:
    """Keys come from a file and are echoed back: on a terminal, in any format, an escape in
    a key (OSC 52 writing the clipboard, C1 CSI, a bidi override) is spelled out, never sent."""
    c = redis_server.client()
    c.flushall()
    evil = ["osc \x1b]52;c;ZWNobyBwd25lZA==\x07", "csi \u009b2J", "bidi \u202eabc", "bell \x07"]
    keys = tmp_path / "keys.txt"
    keys.write_text("\n".join(evil) + "\n", encoding="utf-8")
    argv = [sys.executable, "-m", "ldtui", "inspect", "--store", "redis", "--redis-url", redis_server.url]
    argv += ["--segment", "seg=1", "--keys-file", str(keys)] + ([fmt] if fmt else [])
    code, seen = _on_a_pty(argv)
    assert code == 0, seen
    text = seen.decode("utf-8")
    for raw in ("\x1b", "\u009b", "\u202e", "\x07"):
        assert raw not in text, (fmt, raw, text)
    assert "osc" in text and "csi" in text and "bidi" in text  # every key is there, readable
