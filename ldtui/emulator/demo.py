"""The demo's world (``make demo``, ``ldtui --demo``, ``ldtui serve --demo``): the seeded
emulator in-process, a local redis-server and moto's DynamoDB, and the syncer writing both, as
a backend the TUI runs on. It lives beside the emulator: nothing below the command line
imports it."""

from __future__ import annotations

import asyncio
from typing import Any

from ldtui.config import Config
from ldtui.services.backend import EmulatorBackend, ProgressFn


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
