"""The syncer: LaunchDarkly's part. For every integration that is on, it writes the
environment's big segment data into the integration's store (prefix = the environment's
client-side ID), refreshes ``synchronizedOn``, and keeps ``_status`` true to what happened.

Where the integration's config points (host/port, table/region) is mapped to a real local
endpoint by ``Endpoints``; a host under ``.invalid`` never is, and fails like a DNS miss.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from dataclasses import dataclass, field
from typing import Any

from ldtui.emulator.state import EmulatorState, Environment, Integration
from ldtui.stores.writers import DynamoDBBigSegmentWriter, RedisBigSegmentWriter

log = logging.getLogger("ldtui.emulator.syncer")


class SyncFailure(Exception):
    """A sync attempt failed; the message is what ``_status.errors`` shows."""

    def __init__(self, message: str, status_code: int = 500) -> None:
        super().__init__(message)
        self.status_code = status_code


@dataclass
class Endpoints:
    """Where each integration's store really is."""

    redis_url: str | None = None  # every Redis integration, unless mapped below
    dynamodb_endpoint: str | None = None  # every DynamoDB integration, unless mapped below
    redis: dict[str, str] = field(default_factory=dict)  # "host:port" -> redis URL
    dynamodb: dict[str, str] = field(default_factory=dict)  # table name -> endpoint URL
    create_tables: bool = False  # create a missing DynamoDB table (demo convenience)

    def redis_target(self, config: dict[str, Any]) -> str:
        host = str(config.get("host", ""))
        port = str(config.get("port") or "6379")
        mapped = self.redis.get(f"{host}:{port}")
        if mapped:
            return mapped
        if host.endswith(".invalid") or not self.redis_url:
            raise SyncFailure(f"dial tcp: lookup {host}: no such host")
        return self.redis_url

    def dynamodb_target(self, config: dict[str, Any]) -> str:
        table = str(config.get("tableName", ""))
        mapped = self.dynamodb.get(table)
        if mapped:
            return mapped
        if table.endswith(".invalid") or not self.dynamodb_endpoint:
            region = config.get("region", "us-east-1")
            raise SyncFailure(
                f"RequestError: send request failed: dial tcp: lookup "
                f"dynamodb.{region}.amazonaws.com: no such host"
            )
        return self.dynamodb_endpoint


class Syncer:
    def __init__(
        self,
        state: EmulatorState,
        endpoints: Endpoints,
        *,
        interval: float = 1.0,
        heartbeat_ms: int = 10_000,
        change_every: int = 5,
        retry_ms: int = 10_000,
    ) -> None:
        self.state = state
        self.endpoints = endpoints
        self.interval = interval
        self.heartbeat_ms = heartbeat_ms
        self.change_every = change_every
        self.retry_ms = retry_ms
        self._rng = random.Random(state.seed * 7919 + 17)
        self._ticks = 0
        self._redis: dict[tuple[str, str], RedisBigSegmentWriter] = {}
        self._dynamodb: dict[tuple[str, str], Any] = {}
        self._task: asyncio.Task[None] | None = None

    # --- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self.run(), name="ldtui-emulator-syncer")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.aclose()

    async def aclose(self) -> None:
        writers, self._redis = self._redis, {}
        for w in writers.values():
            with contextlib.suppress(Exception):  # closing a writer whose server is gone
                await w.aclose()
        clients, self._dynamodb = self._dynamodb, {}
        for c in clients.values():
            c.close()

    async def run(self) -> None:
        while True:
            await self.step()
            await asyncio.sleep(self.interval)

    # --- one pass ----------------------------------------------------------------------------

    async def step(self) -> None:
        self._ticks += 1
        if self.change_every and self._ticks % self.change_every == 0:
            self.evolve()
        # Concurrently: a slow store (a large first sync, a timeout) must not hold up the rest.
        await asyncio.gather(*(self.sync_one(i) for i in list(self.state.integrations.values())))

    def evolve(self) -> None:
        """A small, deterministic change of membership somewhere, as time passes."""
        envs = [
            env
            for project in self.state.projects.values()
            for env in project.environments.values()
            if env.segments
        ]
        if not envs:
            return
        env = self._rng.choice(envs)
        segment = env.segments[self._rng.choice(sorted(env.segments))]
        members = sorted(segment.included)
        joining = [f"user-{env.key}-new-{self._ticks:06d}-{i}" for i in range(self._rng.randint(1, 3))]
        leaving = self._rng.sample(members, min(len(members), self._rng.randint(0, 2)))
        self.state.change_membership(env, segment, include=joining, uninclude=leaving)

    async def sync_one(self, integ: Integration) -> None:
        s = integ.sync
        if not integ.on or self.state.faults.sync_paused:
            return
        now = self.state.now_ms()
        if s.paused:
            # A sync that stopped a while ago: one full pass, dated back, then nothing.
            if s.stopped_ms_ago and s.last_sync is None:
                await self._attempt(integ, now - s.stopped_ms_ago, force_heartbeat=True)
            return
        if now < s.next_attempt:
            return
        await self._attempt(integ, now)

    async def _attempt(self, integ: Integration, when: int, *, force_heartbeat: bool = False) -> None:
        s = integ.sync
        env = self.state.environment(integ.project, integ.environment)
        if env is None:
            return
        try:
            writer = await self._writer(integ, env)
            wrote = await self._apply(writer, env, integ)
            due = s.last_heartbeat is None or when - s.last_heartbeat >= self.heartbeat_ms
            if wrote or due or force_heartbeat:
                await writer.set_synchronized_on(when)
                s.last_heartbeat = when
            s.last_sync = when
            s.next_attempt = 0
        except SyncFailure as exc:
            s.record_error(when, str(exc), exc.status_code)
            s.next_attempt = when + self.retry_ms
        except Exception as exc:
            log.debug("sync of %s failed", integ.id, exc_info=True)
            s.record_error(when, _describe(exc))
            s.next_attempt = when + self.retry_ms

    async def _apply(self, writer: Any, env: Environment, integ: Integration) -> bool:
        """Write the patches the store has not seen. The store's cursor says where it is."""
        cursor = await writer.get_cursor()
        if cursor is None:
            position = 0
        elif cursor in env.version_index:
            position = env.version_index[cursor] + 1
        else:
            raise SyncFailure(
                f"the store's cursor {cursor!r} is not in this environment's history: "
                "it holds another environment's data under this prefix",
                status_code=409,
            )
        wrote = False
        for patch in env.patch_log[position:]:
            outcome = await writer.apply_patch(patch)
            if not outcome.applied:
                raise SyncFailure(outcome.reason, status_code=409)
            wrote = True
        integ.sync.position = len(env.patch_log)
        return wrote

    async def _writer(self, integ: Integration, env: Environment) -> Any:
        if integ.kind == "redis":
            url = self.endpoints.redis_target(integ.config)
            key = (url, env.id)
            if key not in self._redis:
                from redis.asyncio.retry import Retry
                from redis.backoff import NoBackoff
                from redis.exceptions import ConnectionError as RedisConnectionError

                # A pooled connection to a server that restarted fails once: retry it at once.
                self._redis[key] = RedisBigSegmentWriter.from_url(
                    url,
                    env.id,
                    socket_timeout=3,
                    socket_connect_timeout=3,
                    retry=Retry(NoBackoff(), 1),
                    retry_on_error=[RedisConnectionError],
                )
            return self._redis[key]
        endpoint = self.endpoints.dynamodb_target(integ.config)
        region = str(integ.config.get("region") or "us-east-1")
        client = self._dynamodb.get((endpoint, region))
        if client is None:
            client = await asyncio.to_thread(_dynamodb_client, endpoint, region)
            self._dynamodb[(endpoint, region)] = client
        table = str(integ.config.get("tableName"))
        if self.endpoints.create_tables:
            await asyncio.to_thread(_ensure_table, client, table)
        return DynamoDBBigSegmentWriter(client, table, env.id)


def _dynamodb_client(endpoint: str, region: str) -> Any:
    import boto3
    from botocore.config import Config

    return boto3.client(
        "dynamodb",
        endpoint_url=endpoint,
        region_name=region,
        aws_access_key_id="emulator",
        aws_secret_access_key="emulator",
        config=Config(connect_timeout=3, read_timeout=10, retries={"max_attempts": 1}),
    )


def _ensure_table(client: Any, table: str) -> None:
    from ldtui.emulator.local_stores import create_big_segment_table

    try:
        client.describe_table(TableName=table)
    except client.exceptions.ResourceNotFoundException:
        create_big_segment_table(client, table)


def _describe(exc: Exception) -> str:
    try:
        from botocore.exceptions import ClientError

        if isinstance(exc, ClientError):
            err = exc.response.get("Error", {})
            return f"{err.get('Code', 'Error')}: {err.get('Message', '')}".strip()
    except ImportError:  # pragma: no cover
        pass
    text = str(exc) or type(exc).__name__
    return text
