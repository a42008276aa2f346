"""Where the app's data comes from: a configured profile (the real API), or the demo world
(the emulator in-process, with its syncer writing local stores). No Textual here."""

from __future__ import annotations

import abc
import asyncio
import time
from collections.abc import Callable
from typing import Any

from ldtui.api.client import LaunchDarklyClient, RetryNotice
from ldtui.config import Config, ConfigError

ProgressFn = Callable[[str], None]


class Backend(abc.ABC):
    """Gives the app a REST client and says what it is connected to."""

    label: str = ""
    base_url: str = ""
    clock: Callable[[], float] = time.time

    def __init__(self, client_options: dict[str, Any] | None = None) -> None:
        # Store connections for the status panel and the inspector.
        self.config: Config | None = None
        self._client: LaunchDarklyClient | None = None
        self.on_retry: Callable[[RetryNotice], None] | None = None
        # Extra LaunchDarklyClient arguments (tests inject sleep, timeouts).
        self.client_options: dict[str, Any] = client_options or {}

    async def start(self, progress: ProgressFn | None = None) -> None:  # noqa: B027
        """Prepare (resolve secrets, start local services). Raises ``ConfigError`` or
        ``RuntimeError`` with a message for the person at the keyboard."""

    @abc.abstractmethod
    def _make_client(self) -> LaunchDarklyClient: ...

    @property
    def client(self) -> LaunchDarklyClient:
        if self._client is None:
            self._client = self._make_client()
            self._client.on_retry = self._retry
        return self._client

    def _retry(self, notice: RetryNotice) -> None:
        if self.on_retry is not None:
            self.on_retry(notice)

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None


class ProfileBackend(Backend):
    """A profile from the configuration: the real LaunchDarkly API."""

    def __init__(
        self, config: Config, profile: str | None = None, *, client_options: dict[str, Any] | None = None
    ) -> None:
        super().__init__(client_options)
        self.config = config
        name, prof = config.profile(profile)
        self.label = name
        self.profile = prof
        self.base_url = prof.resolved_base_url
        self._token: Any = None

    async def start(self, progress: ProgressFn | None = None) -> None:
        self._token = self.config.token(self.label)

    def _make_client(self) -> LaunchDarklyClient:
        if self._token is None:
            raise ConfigError("the backend was not started", key="profile")
        options = {"timeout": self.profile.timeout, **self.client_options}
        return LaunchDarklyClient(self.base_url, self._token, **options)


class EmulatorBackend(Backend):
    """The emulator in-process (``httpx.ASGITransport``): tests, snapshots and the demo."""

    label = "emulator"
    base_url = "http://emulator.local"

    def __init__(
        self,
        runtime: Any,
        token: str,
        *,
        clock: Callable[[], float] | None = None,
        client_options: dict[str, Any] | None = None,
        config: Config | None = None,
    ):
        super().__init__(client_options)
        self.runtime = runtime
        self.token = token
        self.config = config
        if clock is not None:
            self.clock = clock

    def _make_client(self) -> LaunchDarklyClient:
        return LaunchDarklyClient(
            self.base_url, self.token, transport=self.runtime.transport(), **self.client_options
        )


class DemoBackend(EmulatorBackend):
    """``make demo`` / ``ldtui --demo``: seeded emulator, local Redis and DynamoDB, live sync."""

    label = "demo"

    def __init__(self, *, seed: int = 1, contexts: int = 5000) -> None:
        from ldtui.emulator.seed import DEFAULT_TOKEN

        super().__init__(runtime=None, token=DEFAULT_TOKEN)
        self.seed = seed
        self.contexts = contexts
        self._stores: list[Any] = []
        self.redis_url: str | None = None
        self.dynamodb_endpoint: str | None = None

    async def start(self, progress: ProgressFn | None = None) -> None:
        from ldtui.emulator.local_stores import LocalDynamoDB, LocalRedis, LocalStoreError
        from ldtui.emulator.runtime import EmulatorRuntime
        from ldtui.emulator.seed import SeedOptions, build_state
        from ldtui.emulator.syncer import Endpoints

        def say(text: str) -> None:
            if progress is not None:
                progress(text)

        say("starting redis-server")
        try:
            redis = await asyncio.to_thread(LocalRedis(allow_fake=True).start)
        except LocalStoreError as exc:
            raise RuntimeError(f"demo: {exc}") from None
        self._stores.append(redis)
        self.redis_url = redis.url
        say("starting DynamoDB (moto)")
        # moto accepts any credentials; the demo's readers need some to sign requests.
        import os

        os.environ.setdefault("AWS_ACCESS_KEY_ID", "demo")
        os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "demo")
        dynamodb = await asyncio.to_thread(LocalDynamoDB().start)
        self._stores.append(dynamodb)
        self.dynamodb_endpoint = dynamodb.endpoint
        say("seeding projects, segments and integrations")
        state = build_state(SeedOptions(seed=self.seed, contexts=self.contexts))
        self.runtime = EmulatorRuntime(
            state,
            Endpoints(redis_url=redis.url, dynamodb_endpoint=dynamodb.endpoint, create_tables=True),
        )
        await self.runtime.syncer.start()
        self.config = demo_config(redis.url, dynamodb.endpoint)
        say("syncing stores")

    async def aclose(self) -> None:
        await super().aclose()
        if self.runtime is not None:
            await self.runtime.syncer.stop()
        stores, self._stores = self._stores, []
        for store in reversed(stores):
            await asyncio.to_thread(store.stop)


def demo_config(redis_url: str, dynamodb_endpoint: str) -> Config:
    """Store connections for the demo's seeded environments, as a user would configure them."""
    from pathlib import Path

    from ldtui.config import Settings

    stores: dict[str, Any] = {
        "default/production": {"type": "redis", "url": redis_url},
        "mobile-app/production/redis": {"type": "redis", "url": redis_url},
        "default/staging": {
            "type": "dynamodb",
            "table": "ld-big-segments-staging",
            "region": "us-east-1",
            "endpoint_url": dynamodb_endpoint,
        },
        "mobile-app/production/dynamodb": {
            "type": "dynamodb",
            "table": "ld-big-segments-mobile",
            "region": "eu-west-1",
            "endpoint_url": dynamodb_endpoint,
        },
    }
    settings = Settings.model_validate({"stores": stores})
    return Config(
        settings=settings,
        file=Path("(demo)"),
        file_exists=False,
        environ={"AWS_ACCESS_KEY_ID": "demo", "AWS_SECRET_ACCESS_KEY": "demo"},
    )
