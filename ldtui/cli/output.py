"""What every command prints the same way: errors on stderr, always through ``literal`` (a
message may quote a file name, a key or a server's text)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import queue
import sys
import threading
from typing import TYPE_CHECKING, BinaryIO, TextIO

from ldtui.core.text import literal, literal_lines

if TYPE_CHECKING:
    from ldtui.config_file import ConfigError


def error(prog: str, message: object) -> None:
    """``prog: message`` on stderr, control characters spelled out."""
    # safe-text: prog is a command's own name
    print(f"{prog}: {literal_lines(str(message))}", file=sys.stderr)


def say_config_error(exc: ConfigError) -> None:
    print(f"ldtui: configuration error: {literal_lines(str(exc))}", file=sys.stderr)


def note(prog: str, message: object) -> None:
    print(f"{prog}: {literal(message)}", file=sys.stderr)  # safe-text: prog is a command's own name


# How long a wait for the writing thread goes before it looks whether the caller was cancelled.
_POLL_S = 0.05


def _stop_if_cancelled() -> None:
    """Raise CancelledError when the running asyncio task is being cancelled (the first
    Ctrl+C under ``asyncio.run``, which then ends the run as KeyboardInterrupt)."""
    try:
        task = asyncio.current_task()
    except RuntimeError:  # no event loop in this thread
        return
    if task is not None and task.cancelling():
        raise asyncio.CancelledError


class OutputThread:
    """Text for a stream, written by a thread: the kernel's copy of a bulk lookup's output (a
    quarter of a gigabyte for a million contexts in JSON Lines) runs beside the lookup rather
    than inside it.

    At most ``depth`` chunks wait to be written (a chunk is one window of results: memory stays
    flat). The first error the stream raises (a closed pipe, a full disk) is raised again by
    the next ``write``, or by ``close``, which waits until every chunk is written. Use it as a
    context manager: leaving on an error of the caller's (a store lost mid-run) writes what is
    queued first; leaving on an interrupt (Ctrl+C, a cancelled task) or after the stream failed
    drops it and does not wait for a reader that has stopped reading; the exception goes on.

    Given a file descriptor, the thread writes with ``os.write``, never through the stream's
    buffered object, whose lock a thread left blocked would hold at interpreter exit.
    """

    def __init__(
        self,
        sink: int | BinaryIO,
        *,
        encoding: str = "utf-8",
        errors: str = "strict",
        depth: int = 2,
    ) -> None:
        self._sink = sink
        self._encoding, self._errors = encoding, errors
        self._queue: queue.Queue[bytes | None] = queue.Queue(depth)
        self._error: BaseException | None = None
        self._failed = False  # the stream raised (its error may have been raised already)
        self._dropping = False
        self._thread = threading.Thread(target=self._run, name="ldtui-output", daemon=True)
        self._thread.start()

    @classmethod
    def for_text(cls, stream: TextIO) -> OutputThread | None:
        """A thread for a text stream (flushed first, so nothing is reordered): its file
        descriptor, else its bytes underneath; None when it has neither, or when the stream
        would translate newlines (not POSIX)."""
        raw = getattr(stream, "buffer", None)
        if raw is None or os.linesep != "\n":
            return None
        stream.flush()
        encoding, errors = stream.encoding or "utf-8", stream.errors or "strict"
        try:
            fd = stream.fileno()
        except (AttributeError, OSError, ValueError):  # io.UnsupportedOperation is both
            return cls(raw, encoding=encoding, errors=errors)
        return cls(fd, encoding=encoding, errors=errors)

    @property
    def pending(self) -> int:
        """Chunks waiting for the thread."""
        return self._queue.qsize()

    def _put(self, chunk: bytes) -> None:
        sink = self._sink
        if not isinstance(sink, int):
            sink.write(chunk)
            sink.flush()
            return
        view = memoryview(chunk)
        while view:
            view = view[os.write(sink, view) :]

    def _run(self) -> None:
        while (chunk := self._queue.get()) is not None:
            if not self._failed and not self._dropping:  # after an error: dropped, never blocks
                try:
                    self._put(chunk)
                except BaseException as exc:  # noqa: BLE001 (raised again in the caller's thread)
                    self._error, self._failed = exc, True

    def _raise(self) -> None:
        if self._error is not None:
            error, self._error = self._error, None
            raise error

    def write(self, text: str) -> int:
        self._raise()
        if text:
            self._wait_to_put(text.encode(self._encoding, self._errors))
        return len(text)

    def close(self) -> None:
        """Every chunk written; the stream's first error raised."""
        if self._thread.is_alive():
            self._wait_to_put(None)
            while self._thread.is_alive():
                self._thread.join(_POLL_S)
                _stop_if_cancelled()
        self._raise()

    def _wait_to_put(self, chunk: bytes | None) -> None:
        # In short waits: Ctrl+C under asyncio.run only cancels the running task (its handler
        # does not raise), so a wait on a reader that stopped reading (``| less``) must look.
        while True:
            try:
                self._queue.put(chunk, timeout=_POLL_S)
                return
            except queue.Full:
                _stop_if_cancelled()
                self._raise()

    def __enter__(self) -> OutputThread:
        return self

    def __exit__(self, kind: type[BaseException] | None, *rest: object) -> None:
        if kind is None:
            self.close()
            return
        if issubclass(kind, Exception) and not self._failed:
            # An error of the run (a store lost mid-run): what came before is written, as a
            # direct write would have written it; then the run's error goes on (the stream's
            # own, if it fails meanwhile, is the lesser news).
            with contextlib.suppress(Exception):
                self.close()
            return
        self._dropping = True
        with contextlib.suppress(queue.Full):
            self._queue.put_nowait(None)  # when full, the thread stops at the next chunk anyway
        self._error = None
