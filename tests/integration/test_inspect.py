"""``ldtui inspect`` end to end: the emulator over HTTP with its syncer writing a real
redis-server and a moto server; bad input of every kind gives a message and exit 64, an
unreachable store exit 2, never a traceback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from ldtui.core.bigsegments import context_key_hash
from ldtui.emulator.runtime import EmulatorRuntime, SyncSettings, ThreadedEmulator
from ldtui.emulator.seed import DEFAULT_TOKEN, SeedOptions, build_state
from ldtui.emulator.syncer import Endpoints
from tests.servers import MotoServer, RedisServer

pytestmark = pytest.mark.network


def ldtui(
    *args: str, env: dict[str, str] | None = None, stdin: bytes | None = None
) -> subprocess.CompletedProcess[str]:
    run = subprocess.run(
        [sys.executable, "-m", "ldtui", *args],
        capture_output=True,
        env=env or dict(os.environ),
        input=stdin,
        timeout=120,
    )
    out = subprocess.CompletedProcess(run.args, run.returncode, run.stdout.decode(), run.stderr.decode())
    assert "Traceback" not in out.stderr, out.stderr
    return out


@pytest.fixture(scope="module")
def emulated(
    redis_server: RedisServer, moto_server: MotoServer, tmp_path_factory: pytest.TempPathFactory
) -> Any:
    state = build_state(SeedOptions(seed=4242, contexts=120, extra_projects=0))
    runtime = EmulatorRuntime(
        state,
        Endpoints(redis_url=redis_server.url, dynamodb_endpoint=moto_server.endpoint, create_tables=True),
        SyncSettings(interval=0.2, change_every=0),
    )
    server = ThreadedEmulator(runtime).start()
    path = tmp_path_factory.mktemp("inspect") / "config.toml"
    path.write_text(
        f'[profiles.emu]\nbase_url = "{server.base_url}"\ntoken_env = "EMU_TOKEN"\n'
        f'[stores."default/production"]\ntype = "redis"\nurl = "{redis_server.url}"\n'
        f'[stores."default/staging"]\ntype = "dynamodb"\ntable = "ld-big-segments-staging"\n'
        f'region = "us-east-1"\nendpoint_url = "{moto_server.endpoint}"\n'
    )
    env = {**os.environ, "EMU_TOKEN": DEFAULT_TOKEN}
    deadline = time.time() + 60
    prod = state.projects["default"].environments["production"]
    key = f"{prod.id}:big_segments_synchronized_on"
    while not redis_server.client().get(key) and time.time() < deadline:
        time.sleep(0.2)
    yield state, path, env
    server.stop()


def truth(state: Any, env_key: str, key: str, segment: str) -> str:
    seg = state.projects["default"].environments[env_key].segments[segment]
    if key in seg.included:
        return "included"
    if key in seg.excluded:
        return "excluded"
    return "no-data"


@pytest.mark.parametrize("env_key,kind", [("production", "redis"), ("staging", "dynamodb")])
def test_integration_resolves_store_prefix_and_generations(emulated: Any, env_key: str, kind: str) -> None:
    state, path, env = emulated
    segments = state.projects["default"].environments[env_key].segments
    keys = ["alice@example.com", "ключ-пользователя", *(f"user-{env_key}-{i:05d}" for i in range(40))]
    run = ldtui(
        "--config",
        str(path),
        "inspect",
        "--integration",
        f"default/{env_key}/{kind}",
        *(f"--segment={s}" for s in segments),
        "--json",
        *keys,
        env=env,
    )
    assert run.returncode == 0, run.stderr
    data = json.loads(run.stdout)
    client_side_id = state.projects["default"].environments[env_key].id
    assert data["store"]["kind"] == kind and data["store"]["prefix"] == client_side_id
    assert data["store"]["available"] is True and data["store"]["stale"] is False
    assert data["segmentGenerations"] == {k: s.generation for k, s in segments.items()}
    assert data["segmentGenerations"]["legacy-cohort"] == 3  # recreated twice
    for c in data["contexts"]:
        assert c["hash"] == context_key_hash(c["key"])
        for seg in segments:
            assert c["segments"][seg] == truth(state, env_key, c["key"], seg), (c["key"], seg)
        # Older generations of legacy-cohort linger: reported as orphaned, never as verdicts.
        assert all(o.startswith("legacy-cohort.g") and not o.endswith(".g3") for o in c["orphaned"])
    assert any(c["orphaned"] for c in data["contexts"])
    assert {"included", "excluded", "no-data"} <= {
        v for c in data["contexts"] for v in c["segments"].values()
    }
    assert DEFAULT_TOKEN not in run.stdout + run.stderr
    env_obj = state.projects["default"].environments[env_key]
    assert env_obj.api_key not in run.stdout


def test_discover_judges_every_segment_in_the_store(emulated: Any) -> None:
    state, path, env = emulated
    segments = state.projects["default"].environments["production"].segments
    run = ldtui(
        "--config",
        str(path),
        "inspect",
        "--integration",
        "default/production/redis",
        "--discover",
        "--json",
        "user-production-00003",
        env=env,
    )
    assert run.returncode == 0, run.stderr
    (context,) = json.loads(run.stdout)["contexts"]
    assert context["segments"] == {
        s: truth(state, "production", "user-production-00003", s) for s in segments
    }


def test_integration_without_a_store_connection_says_how_to_add_one(emulated: Any) -> None:
    _, path, env = emulated
    run = ldtui(
        "--config", str(path), "inspect", "--integration", "mobile-app/production/dynamodb", "k", env=env
    )
    assert run.returncode == 64
    assert '[stores."mobile-app/production"]' in run.stderr
    run = ldtui("--config", str(path), "inspect", "--integration", "default/nowhere/redis", "k", env=env)
    assert run.returncode == 64 and "no redis integration in default/nowhere" in run.stderr
    run = ldtui("--config", str(path), "inspect", "--integration", "default/production", "k", env=env)
    assert run.returncode == 64 and "PROJECT/ENVIRONMENT/KIND" in run.stderr


def test_text_output_explains_one_context(emulated: Any) -> None:
    state, path, env = emulated
    run = ldtui(
        "--config",
        str(path),
        "inspect",
        "--integration",
        "default/production/redis",
        "--segment",
        "legacy-cohort",
        "--segment",
        "beta-testers=1",
        "alice@example.com",
        env=env,
    )
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert lines[0].startswith("store     redis") and "HEALTHY" in lines[0]
    assert "hash      /42YGfwOEr8NJIkuRZh+JJoo3Og2qFytYOKOqqjG2XY=" in lines
    legacy = next(line for line in lines if line.startswith("legacy-cohort"))
    assert legacy.split()[1] == "3" and legacy.split()[2] == truth(
        state, "production", "alice@example.com", "legacy-cohort"
    )


def test_wrong_redis_type_is_reported_for_that_context_only(redis_server: RedisServer) -> None:
    r = redis_server.client()
    r.flushall()
    good, bad = "good-key", "bad-key"
    r.sadd(f"launchdarkly:big_segment_include:{context_key_hash(good)}", "seg.g1")
    r.set(f"launchdarkly:big_segment_include:{context_key_hash(bad)}", "not a set")
    r.set("launchdarkly:big_segments_synchronized_on", str(int(time.time() * 1000)))
    run = ldtui(
        "inspect",
        "--store",
        "redis",
        "--redis-url",
        redis_server.url,
        "--segment",
        "seg=1",
        "--json",
        good,
        bad,
    )
    # The store was read, but one context could not be judged (the SDK fails on it too): a
    # look is needed, exit 1, and stderr says why.
    assert run.returncode == 1, run.stderr
    assert "1 context could not be judged" in run.stderr
    by_key = {c["key"]: c for c in json.loads(run.stdout)["contexts"]}
    assert by_key[good]["segments"] == {"seg": "included"}
    assert "is not a set" in by_key[bad]["error"] and context_key_hash(bad) in by_key[bad]["error"]
    text = ldtui("inspect", "--store", "redis", "--redis-url", redis_server.url, "--segment", "seg=1", bad)
    assert "error     " in text.stdout and "is not a set" in text.stdout


def test_unreachable_store_exits_2(tmp_path: Path) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    run = ldtui("inspect", "--store", "redis", "--redis-url", f"redis://127.0.0.1:{port}/0", "--json", "k")
    assert run.returncode == 2
    data = json.loads(run.stdout)
    assert data["store"]["available"] is False and data["contexts"] == []
    assert "store unavailable" in run.stderr


def test_unreadable_synchronized_on_is_unavailable_like_the_sdk(redis_server: RedisServer) -> None:
    r = redis_server.client()
    r.flushall()
    r.set("launchdarkly:big_segments_synchronized_on", "yesterday")
    r.sadd(f"launchdarkly:big_segment_include:{context_key_hash('k')}", "seg.g1")
    run = ldtui(
        "inspect", "--store", "redis", "--redis-url", redis_server.url, "--segment", "seg=1", "--json", "k"
    )
    assert run.returncode == 2
    data = json.loads(run.stdout)
    # The SDK still uses the membership it read (STORE_ERROR status): so does the report.
    assert data["store"]["available"] is False and data["contexts"][0]["segments"] == {"seg": "included"}


BAD_INPUT = [
    (["k", "--keys-file", "KEYS"], b"a\n", "not both"),
    (["--keys-file", "KEYS"], b"ok\n\xff\xfebad\n", "line 2, column 1: byte 0xff is not valid UTF-8"),
    (
        ["--keys-file", "KEYS.csv"],
        b"id,email\n1,a@example.com\n",
        "no key column; the columns are 'id', 'email'",
    ),
    (["--keys-file", "KEYS.csv", "--key-column", "user"], b"id,email\n1,a\n", "no column 'user'"),
    (["--keys-file", "KEYS"], b"x" * 1_048_576 + b"\n", "line 1 is 1,048,576 bytes long"),
    (["--keys-file", "KEYS"], b"\n\n", "holds no keys"),
    ([""], None, "KEY 1 is empty: SDKs reject a context with an empty key"),
    (["--segment", "beta", "k"], None, "write beta=GENERATION"),
    (["--segment", "beta=three", "k"], None, "'three' is not a whole number"),
    (["--keys-file", "/nonexistent/keys.txt"], None, "cannot read /nonexistent/keys.txt"),
    ([], None, "no context keys"),
]


@pytest.mark.parametrize("args,content,message", BAD_INPUT, ids=[m.split(":")[0][:30] for *_, m in BAD_INPUT])
def test_bad_input_is_a_usage_error(
    tmp_path: Path, args: list[str], content: bytes | None, message: str
) -> None:
    args = list(args)
    for i, a in enumerate(args):
        if a.startswith("KEYS"):
            path = tmp_path / a.replace("KEYS", "keys")
            path.write_bytes(content or b"")
            args[i] = str(path)
    run = ldtui("inspect", "--store", "redis", "--redis-url", "redis://127.0.0.1:1/0", *args)
    assert run.returncode == 64
    assert message in run.stderr


def test_csv_column_and_stdin(redis_server: RedisServer, tmp_path: Path) -> None:
    r = redis_server.client()
    r.flushall()
    r.sadd(f"launchdarkly:big_segment_exclude:{context_key_hash('b, with comma')}", "seg.g2")
    csv_file = tmp_path / "export.csv"
    csv_file.write_text('id,user\n1,a\n2,"b, with comma"\n', encoding="utf-8")
    run = ldtui(
        "inspect",
        "--store",
        "redis",
        "--redis-url",
        redis_server.url,
        "--segment",
        "seg=2",
        "--keys-file",
        str(csv_file),
        "--key-column",
        "user",
        "--json",
    )
    assert run.returncode == 0
    contexts = json.loads(run.stdout)["contexts"]
    assert [c["key"] for c in contexts] == ["a", "b, with comma"]
    assert [c["segments"]["seg"] for c in contexts] == ["no-data", "excluded"]
    run = ldtui(
        "inspect",
        "--store",
        "redis",
        "--redis-url",
        redis_server.url,
        "--segment",
        "seg=2",
        "--keys-file",
        "-",
        "--json",
        stdin=b" a\nb, with comma\n",
    )
    assert [c["key"] for c in json.loads(run.stdout)["contexts"]] == [" a", "b, with comma"]


def test_hash_command() -> None:
    run = ldtui("hash", "user-1", "ключ", "--json")
    assert json.loads(run.stdout) == [
        {"key": "user-1", "hash": "xsKJ5J6cBbIUWGA4e3O8sY30P7CaHkpKlxPHbIi7VBs="},
        {"key": "ключ", "hash": "HeNqMq95jaDBrJKXYDoyDtj+VnzyHJF3ESpM6RTruL4="},
    ]
    text = ldtui("hash", "evil\x1b[31m")
    assert "\x1b" not in text.stdout and "\\x1b[31m" in text.stdout
    assert ldtui("hash", "").returncode == 64


def test_bad_connection_options_name_the_option() -> None:
    run = ldtui("inspect", "--store", "redis", "--redis-url", "http://cache:6379", "k")
    assert run.returncode == 64 and "--redis-url" in run.stderr and "redis://" in run.stderr
    run = ldtui("inspect", "--store", "redis", "--redis-url", "redis://127.0.0.1:1/0", "--timeout", "0", "k")
    assert run.returncode == 64 and "--timeout" in run.stderr
    run = ldtui("inspect", "--store", "dynamodb", "k")
    assert run.returncode == 64 and "--table" in run.stderr
    run = ldtui("inspect", "--store", "redis", "--redis-url", "redis://u:s3cret@cache:notaport/0", "k")
    assert (
        run.returncode == 64 and "--redis-url: invalid Redis URL" in run.stderr and "s3cret" not in run.stderr
    )


def test_a_closed_pipe_is_not_a_traceback() -> None:
    run = subprocess.run(
        f"{sys.executable} -m ldtui hash {' '.join(f'k{i}' for i in range(5000))} | head -1",
        shell=True,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.stdout.count("\n") == 1 and "Traceback" not in run.stderr and "BrokenPipe" not in run.stderr


@pytest.mark.parametrize("fmt", ["--jsonl", "--json", "--csv"])
def test_a_bulk_document_into_a_closed_pipe_ends_quietly(
    redis_server: RedisServer, tmp_path: Path, fmt: str
) -> None:
    """The document is written by a thread: a reader that leaves (``| head -c 1000``) is still
    a quiet exit 141, whichever write meets the closed pipe."""
    redis_server.client().flushall()
    keys = tmp_path / "keys.txt"
    keys.write_text("".join(f"user-{i}\n" for i in range(200_000)), encoding="utf-8")
    command = (
        f"{sys.executable} -m ldtui inspect --store redis --redis-url {redis_server.url} --segment seg=1 "
        f"--keys-file {keys} {fmt} | head -c 1000; s=${{PIPESTATUS[0]}}; echo; echo exit=$s"
    )
    run = subprocess.run(["bash", "-c", command], capture_output=True, timeout=120)
    shown, _, code = run.stdout.rpartition(b"\nexit=")
    assert len(shown) == 1000 and code == b"141\n", run.stdout[-300:]
    assert b"Traceback" not in run.stderr and b"BrokenPipe" not in run.stderr, run.stderr


@pytest.mark.parametrize("fmt", ["--jsonl", "--csv", ""])
def test_no_stdout_at_all_is_said_not_a_traceback(
    redis_server: RedisServer, tmp_path: Path, fmt: str
) -> None:
    """Started with stdout closed (``>&-``): Python gives no sys.stdout at all."""
    keys = tmp_path / "keys.txt"
    keys.write_text("a\nb\n", encoding="utf-8")
    command = (
        f"{sys.executable} -m ldtui inspect --store redis --redis-url {redis_server.url} --segment seg=1 "
        f"--keys-file {keys} {fmt} >&-"
    )
    run = subprocess.run(["bash", "-c", command], capture_output=True, text=True, timeout=60)
    assert run.returncode == 69, run.stderr
    assert (
        "cannot write the output: standard output is closed" in run.stderr and "Traceback" not in run.stderr
    )


def test_a_malformed_store_url_in_the_config_is_a_configuration_error(emulated: Any, tmp_path: Path) -> None:
    import re

    _, path, env = emulated
    broken = tmp_path / "config.toml"
    broken.write_text(re.sub(r'url = "redis://[^"]*"', 'url = "redis://cache:notaport/0"', path.read_text()))
    run = ldtui("--config", str(broken), "inspect", "--integration", "default/production/redis", "k", env=env)
    assert run.returncode == 78
    assert "stores.default/production" in run.stderr and "invalid Redis URL" in run.stderr


def test_launchdarkly_is_asked_beside_the_store_and_disagreement_is_said(
    emulated: Any, redis_server: RedisServer
) -> None:
    """With an API at hand, a lookup of a few contexts asks LaunchDarkly itself
    (getSegmentMembershipForContext): agreeing verdicts carry its word; a store that lags (a
    membership removed behind the writer's back) is marked DISAGREE, exit 2."""
    state, path, env = emulated
    seg = state.projects["default"].environments["production"].segments["beta-testers"]
    inside = sorted(seg.included)[0]
    outside = sorted(seg.excluded - seg.included)[0] if seg.excluded - seg.included else None
    keys = [inside, "nobody-at-all", *([outside] if outside else [])]
    run = ldtui(
        "--config",
        str(path),
        "inspect",
        "--integration",
        "default/production/redis",
        "--segment",
        "beta-testers",
        "--json",
        *keys,
        env=env,
    )
    assert run.returncode == 0, run.stderr
    by_key = {c["key"]: c for c in json.loads(run.stdout)["contexts"]}
    assert by_key[inside]["launchDarkly"]["beta-testers"] == "included" and by_key[inside]["disagree"] == []
    assert by_key["nobody-at-all"]["launchDarkly"]["beta-testers"] == "no-data"
    if outside:
        assert by_key[outside]["launchDarkly"]["beta-testers"] == "excluded"
    # The store loses the membership LaunchDarkly still has: DISAGREE.
    prod = state.projects["default"].environments["production"]
    set_key = f"{prod.id}:big_segment_include:{context_key_hash(inside)}"
    ref = f"beta-testers.g{seg.generation}"
    redis_server.client().srem(set_key, ref)
    try:
        run = ldtui(
            "--config",
            str(path),
            "inspect",
            "--integration",
            "default/production/redis",
            "--segment",
            "beta-testers",
            inside,
            env=env,
        )
    finally:
        redis_server.client().sadd(set_key, ref)  # the module's other tests see the store whole
    assert run.returncode == 2
    row = next(line for line in run.stdout.splitlines() if line.startswith("beta-testers"))
    assert "included DISAGREE" in row and "differ from LaunchDarkly's own word" in run.stderr


def test_an_unknown_segment_gets_a_row_and_exit_1(emulated: Any) -> None:
    state, path, env = emulated
    run = ldtui(
        "--config",
        str(path),
        "inspect",
        "--integration",
        "default/production/redis",
        "--segment",
        "no-such-seg",
        "--segment",
        "beta-testers",
        "--json",
        "alice@example.com",
        env=env,
    )
    assert run.returncode == 1, run.stderr
    (context,) = json.loads(run.stdout)["contexts"]
    assert context["segments"]["no-such-seg"] == "unknown-segment"
    assert context["segments"]["beta-testers"] in ("included", "excluded", "no-data")
    assert "segment no-such-seg" in run.stderr
    text = ldtui(
        "--config",
        str(path),
        "inspect",
        "--integration",
        "default/production/redis",
        "--segment",
        "no-such-seg",
        "alice@example.com",
        env=env,
    )
    assert text.returncode == 1
    row = next(line for line in text.stdout.splitlines() if line.startswith("no-such-seg"))
    assert "unknown-segment" in row and "no segment 'no-such-seg'" in row


def _bulk_argv(redis_server: RedisServer, keys: Path, fmt: str) -> list[str]:
    return [
        sys.executable, "-m", "ldtui", "inspect", "--store", "redis", "--redis-url", redis_server.url,
        "--segment", "seg=1", "--keys-file", str(keys), *([fmt] if fmt else []),
    ]  # fmt: skip


@pytest.mark.parametrize("fmt", ["--jsonl", "--json", "--csv", ""])
def test_ctrl_c_ends_a_bulk_run_whose_reader_stopped_reading(
    redis_server: RedisServer, tmp_path: Path, fmt: str
) -> None:
    """``ldtui inspect … | less``, then Ctrl+C: less ignores it and stops reading, ldtui
    must still exit at once (130), not when the pager quits."""
    import fcntl
    import signal
    import termios

    redis_server.client().flushall()
    keys = tmp_path / "keys.txt"
    keys.write_text("".join(f"user-{i}\n" for i in range(300_000)), encoding="utf-8")
    read_end, write_end = os.pipe()
    err = (tmp_path / "stderr").open("w+b")
    proc = subprocess.Popen(
        _bulk_argv(redis_server, keys, fmt),
        stdout=write_end,
        stderr=err,
        # As a shell's foreground job: SIGINT not ignored, whatever the test runner's is.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),  # noqa: PLW1509
    )
    os.close(write_end)
    try:
        queued = bytearray(4)
        deadline = time.monotonic() + 60
        while True:  # the pipe (about) full: ldtui's writes wait for a reader that never reads
            fcntl.ioctl(read_end, termios.FIONREAD, queued)
            if int.from_bytes(queued, sys.byteorder) > 60_000 or proc.poll() is not None:
                break
            assert time.monotonic() < deadline, "the pipe never filled"
            time.sleep(0.01)
        # ... and ldtui has stopped working: its CPU time stands still (blocked in a write).
        still, last = 0, None
        while still < 10:
            with open(f"/proc/{proc.pid}/stat") as stat:
                used = stat.read().rpartition(")")[2].split()[11:13]
            still, last = (still + 1 if used == last else 0), used
            assert time.monotonic() < deadline, "ldtui never waited for its reader"
            time.sleep(0.02)
        assert proc.poll() is None
        proc.send_signal(signal.SIGINT)
        try:
            code = proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            raise AssertionError("Ctrl+C did not end ldtui while its reader had stopped reading") from None
    finally:
        os.close(read_end)
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    err.seek(0)
    stderr = err.read().decode()
    assert code == 130, stderr
    assert "Traceback" not in stderr, stderr


@pytest.mark.parametrize("fmt", ["--jsonl", "--json", "--csv", ""])
def test_a_full_disk_is_a_message_not_a_traceback(
    redis_server: RedisServer, tmp_path: Path, fmt: str
) -> None:
    redis_server.client().flushall()
    keys = tmp_path / "keys.txt"
    keys.write_text("".join(f"user-{i}\n" for i in range(20_000)), encoding="utf-8")
    with open("/dev/full", "wb") as full:
        run = subprocess.run(
            _bulk_argv(redis_server, keys, fmt), stdout=full, stderr=subprocess.PIPE, timeout=120
        )
    stderr = run.stderr.decode()
    assert "Traceback" not in stderr and "Exception ignored" not in stderr, stderr
    assert run.returncode == 69, stderr
    assert "cannot write the output" in stderr and "No space left on device" in stderr, stderr


def test_one_context_to_a_full_disk_is_a_message_not_a_traceback(redis_server: RedisServer) -> None:
    argv = [sys.executable, "-m", "ldtui", "inspect", "--store", "redis", "--redis-url", redis_server.url]
    argv += ["--segment", "seg=1", *(f"--segment=s{i}=1" for i in range(300)), "alice"]  # a long table
    with open("/dev/full", "wb") as full:
        run = subprocess.run(argv, stdout=full, stderr=subprocess.PIPE, timeout=60)
    stderr = run.stderr.decode()
    assert run.returncode == 69 and "cannot write the output" in stderr and "Traceback" not in stderr, stderr


def test_a_store_lost_mid_run_still_ends_one_json_document(tmp_path: Path) -> None:
    """``--json`` is one document: when the store fails after some windows were written, the
    document is closed with the error and the tally so far (not left open, nor followed by a
    second document), and the exit code is 2."""
    from tests.servers import FakeRedisServer

    answered = 0

    def respond(args: list[bytes]) -> bytes:
        nonlocal answered
        command = args[0].upper()
        if command == b"TYPE":
            return b"+string\r\n" if args[1].endswith(b"synchronized_on") else b"+none\r\n"
        if command == b"GETRANGE":
            return (
                b"$13\r\n%d\r\n" % int(time.time() * 1000)
                if args[1].endswith(b"synchronized_on")
                else b"$0\r\n\r\n"
            )
        if command == b"SRANDMEMBER":
            answered += 1
            if answered > 2 * 40_000:  # two windows of 20,000 contexts answered, then it reloads
                return b"-LOADING Redis is loading the dataset in memory\r\n"
            return b"*0\r\n"
        return b"+OK\r\n"

    server = FakeRedisServer(respond).start()
    try:
        keys = tmp_path / "keys.txt"
        keys.write_text("".join(f"user-{i}\n" for i in range(100_000)), encoding="utf-8")
        run = ldtui(
            "inspect", "--store", "redis", "--redis-url", server.url, "--segment", "seg=1",
            "--keys-file", str(keys), "--json",
        )  # fmt: skip
    finally:
        server.stop()
    assert run.returncode == 2, run.stderr
    document = json.loads(run.stdout)  # one document, whole
    assert len(document["contexts"]) >= 20_000 and "loading" in document["error"].lower()
    assert document["tally"]["contexts"] == len(document["contexts"])
    assert "loading" in run.stderr.lower()
