"""The thread that writes a bulk lookup's document: every byte in order, at most ``depth``
chunks waiting (memory stays flat however slow the reader), the stream's first error raised
in the caller, and no wait on a reader that stopped reading once the caller gives up."""

from __future__ import annotations

import io
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from ldtui.cli.output import OutputThread


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.001)


def test_every_chunk_arrives_in_order_through_a_file_descriptor(tmp_path: Path) -> None:
    path = tmp_path / "out.jsonl"
    chunks = [f'{{"n": {i}, "key": "ünï"}}\n' * (i % 7 + 1) for i in range(500)]
    with path.open("wb") as f, OutputThread(f.fileno()) as out:
        for c in chunks:
            assert out.write(c) == len(c)
        out.close()
        assert path.read_text(encoding="utf-8") == "".join(chunks)


class Stalled(io.RawIOBase):
    """A stream whose writes wait until released (a reader that has stopped reading)."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.release = threading.Event()
        self.data = bytearray()

    def writable(self) -> bool:
        return True

    def write(self, b: object) -> int:
        self.entered.set()
        self.release.wait(30)
        chunk = bytes(b)  # type: ignore[call-overload]
        self.data += chunk
        return len(chunk)


def test_a_stalled_reader_holds_at_most_depth_chunks_waiting() -> None:
    stream = Stalled()
    out = OutputThread(stream, depth=2)  # type: ignore[arg-type]
    written: list[int] = []
    most_pending = 0

    def produce() -> None:
        nonlocal most_pending
        for i in range(10):
            out.write(f"chunk {i}\n")
            written.append(i)
            most_pending = max(most_pending, out.pending)

    producer = threading.Thread(target=produce)
    producer.start()
    # One chunk in the stream, two queued: the producer blocks on the fourth, unless the queue
    # were unbounded, in which case it finishes all ten while the stream is stalled.
    wait_for(
        lambda: not producer.is_alive() or (stream.entered.is_set() and len(written) == 3),
        "the queue to fill",
    )
    assert producer.is_alive() and most_pending <= 2
    stream.release.set()
    producer.join(10)
    out.close()
    assert most_pending <= 2
    assert stream.data.decode() == "".join(f"chunk {i}\n" for i in range(10))


class Failing(io.RawIOBase):
    def __init__(self, after: int, error: OSError) -> None:
        self.after, self.error, self.writes = after, error, 0

    def writable(self) -> bool:
        return True

    def write(self, b: object) -> int:
        self.writes += 1
        if self.writes > self.after:
            raise self.error
        return len(bytes(b))  # type: ignore[call-overload]


@pytest.mark.parametrize(
    "error", [BrokenPipeError(32, "Broken pipe"), OSError(28, "No space left on device")]
)
def test_the_streams_error_is_raised_in_the_caller(error: OSError) -> None:
    stream = Failing(after=2, error=error)
    out = OutputThread(stream)  # type: ignore[arg-type]
    with pytest.raises(type(error)) as raised:
        for _ in range(1_000):  # the error comes back on a later write, or on close
            out.write("x" * 100)
        out.close()
    assert raised.value is error
    assert stream.writes == 3  # nothing more was tried after the failure


def test_giving_up_does_not_wait_for_a_reader_that_stopped_reading() -> None:
    stream = Stalled()
    start = time.monotonic()
    with pytest.raises(KeyboardInterrupt), OutputThread(stream, depth=1) as out:  # type: ignore[arg-type]
        out.write("first\n")
        wait_for(stream.entered.is_set, "the stream to be written")
        out.write("second\n")  # queued
        raise KeyboardInterrupt
    assert time.monotonic() - start < 5  # not stuck behind the stalled write
    stream.release.set()


def test_a_pipe_closed_by_its_reader_ends_as_a_broken_pipe() -> None:
    read_end, write_end = os.pipe()
    os.close(read_end)
    out = OutputThread(write_end)
    try:
        with pytest.raises(BrokenPipeError):
            for _ in range(100):
                out.write("line\n" * 1000)
            out.close()
    finally:
        os.close(write_end)


def test_a_text_stream_without_bytes_underneath_gets_no_thread() -> None:
    assert OutputThread.for_text(io.StringIO()) is None


def test_an_error_that_is_not_an_interrupt_still_writes_what_came_before(tmp_path: Path) -> None:
    """A store lost mid-run (an Exception, not Ctrl+C): the windows already explained are
    written, as a direct write would have written them, before the error goes on."""
    path = tmp_path / "out.jsonl"
    chunks = [f"line {i}\n" * 2000 for i in range(50)]
    with path.open("wb") as f:
        with pytest.raises(ValueError), OutputThread(f.fileno(), depth=2) as out:
            for c in chunks:
                out.write(c)
            raise ValueError("store unavailable")
        assert path.read_text(encoding="utf-8") == "".join(chunks)


def test_leaving_on_the_streams_own_error_writes_nothing_more() -> None:
    stream = Failing(after=1, error=OSError(28, "No space left on device"))
    with pytest.raises(OSError) as raised, OutputThread(stream, depth=4) as out:  # type: ignore[arg-type]
        for _ in range(1_000):
            out.write("x" * 100)
    assert raised.value is stream.error
    assert stream.writes == 2  # the failed write, and no other after it


class FailsSecond(Stalled):
    """Holds its first write until released, then fails the next one."""

    def write(self, b: object) -> int:
        if self.data:
            raise OSError(28, "No space left on device")
        return super().write(b)


def test_the_runs_error_goes_on_when_the_stream_fails_while_draining() -> None:
    stream = FailsSecond()

    class Released(OutputThread):
        def close(self) -> None:  # the stream goes on only once the run has failed
            stream.release.set()
            super().close()

    out = Released(stream, depth=8)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="store unavailable"), out:
        out.write("first\n")
        wait_for(stream.entered.is_set, "the first write")
        out.write("second\n")  # fails in the thread while the caller drains
        raise ValueError("store unavailable")
    assert stream.data == b"first\n"
