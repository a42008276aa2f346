"""Keys files are hostile input too: a FIFO would block, /dev/zero never ends, a binary file has
no line breaks. Each is refused clearly (exit 64 from ``ldtui inspect``, a message in the bulk
screen, both through ``services.inspect.read_keys_file``); stdin stays the way to stream."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from ldtui.cli import ExitCode, main
from ldtui.core.key_input import KeyInputError
from ldtui.services import inspect as service

# Keys are read before any store is contacted: this one is never reached.
STORE = ["inspect", "--store", "redis", "--redis-url", "redis://127.0.0.1:1/0", "--segment", "s=1"]


@pytest.fixture
def fifo(tmp_path: Path) -> Path:
    path = tmp_path / "keys.fifo"
    os.mkfifo(path)
    return path


@pytest.mark.parametrize("kind", ["device", "directory"])
def test_not_a_regular_file_is_a_usage_error(
    kind: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = "/dev/zero" if kind == "device" else str(tmp_path)
    assert main([*STORE, "--keys-file", path]) == ExitCode.USAGE
    err = capsys.readouterr().err
    assert f"{path} is a {kind}, not a regular file" in err and "--keys-file -" in err


def test_a_fifo_is_refused_without_waiting_for_a_writer(fifo: Path) -> None:
    run = subprocess.run(
        [sys.executable, "-m", "ldtui", *STORE, "--keys-file", str(fifo)],
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert run.returncode == ExitCode.USAGE and "is a FIFO" in run.stderr and "Traceback" not in run.stderr
    with pytest.raises(KeyInputError, match="is a FIFO"):  # the bulk screen's load
        service.read_keys_file(str(fifo))


def test_endless_stdin_ends_with_a_message() -> None:
    with open("/dev/zero", "rb") as zeros:
        run = subprocess.run(
            [sys.executable, "-m", "ldtui", *STORE, "--keys-file", "-"],
            stdin=zeros,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert run.returncode == ExitCode.USAGE, run.stderr
    assert "stdin, line 1 is longer than 4 MiB without a line break" in run.stderr


def test_stdin_streams_keys(capsys: pytest.CaptureFixture[str]) -> None:
    keys = service.read_keys_file("-", stdin=io.BytesIO(b" a\nb\n\nc\n"))
    assert keys == [" a", "b", "c"]
    with pytest.raises(KeyInputError, match="there is none to read here"):
        service.read_keys_file("-")


def test_a_long_line_across_chunks_names_its_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(service, "KEYS_FILE_LINE_LIMIT", 10)
    monkeypatch.setattr(service, "_CHUNK_BYTES", 4)
    assert service.read_keys_source(io.BytesIO(b"abc\n0123456789\nxy\n"), "f").count(b"\n") == 3
    with pytest.raises(KeyInputError, match="f, line 2 is longer"):
        service.read_keys_source(io.BytesIO(b"abc\n0123456789X\nxy\n"), "f")
    with pytest.raises(KeyInputError, match="f, line 3 is longer"):
        service.read_keys_source(io.BytesIO(b"a\nb\n" + b"z" * 11), "f")


def test_the_whole_is_capped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(service, "KEYS_FILE_LIMIT", 100)
    with pytest.raises(KeyInputError, match="larger than"):
        service.read_keys_source(io.BytesIO(b"y\n" * 51), "stdin")
    assert len(service.read_keys_source(io.BytesIO(b"y\n" * 50), "stdin")) == 100


class Endless(io.RawIOBase):
    """A stream that never ends (``yes`` on stdin), counting what was read from it."""

    def __init__(self, line: bytes) -> None:
        self.line, self.read_bytes = line, 0

    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        n = len(b)
        chunk = (self.line * (n // len(self.line) + 1))[:n]
        b[:n] = chunk
        self.read_bytes += n
        return n


def spools(tmp_path: Path) -> list[Path]:
    return sorted(tmp_path.glob("ldtui-keys-*"))


@pytest.mark.parametrize(
    ("line", "message"),
    [(b"\0", "stdin, line 1 is longer than"), (b"y\n", "stdin is larger than")],
)
def test_streamed_stdin_is_bounded_while_it_is_copied(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, line: bytes, message: str
) -> None:
    """``--keys-file -`` copies stdin to a temporary file to read it twice: an endless stream
    is refused while it is copied (a line too long as soon as it is seen; short lines at the
    cap), and the copy is removed, so a disk is never filled."""
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    monkeypatch.setattr(service, "KEYS_FILE_LINE_LIMIT", 1000)
    monkeypatch.setattr(service, "KEYS_STDIN_LIMIT", 50_000)
    monkeypatch.setattr(service, "_CHUNK_BYTES", 512)
    source = Endless(line)
    with pytest.raises(KeyInputError, match=message):
        service.open_keys("-", stdin=io.BufferedReader(source, 512))
    assert source.read_bytes < 60_000  # stopped at its bound, not at the end of the stream
    assert spools(tmp_path) == []


def test_a_bulk_run_leaves_the_collector_as_it_found_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A bulk run tunes the garbage collector for itself (a larger young generation, start-up
    frozen): a caller in the same process gets its own settings back, whatever the outcome."""
    import gc

    gc.unfreeze()  # another test in this process may have frozen its objects (the TUI does)
    before = gc.get_threshold()
    keys = tmp_path / "keys.txt"
    keys.write_text("a\nb\n")
    main([*STORE, "--keys-file", str(keys)])  # the store is unreachable: the run fails
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0
    assert "127.0.0.1:1" in capsys.readouterr().err
