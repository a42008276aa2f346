"""Store health against the emulator (in-process), a real redis-server and a moto server.
Time is injected: nothing sleeps 120 s."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from ldtui.api import LaunchDarklyClient
from ldtui.config import load_config
from ldtui.core.health import Health
from ldtui.emulator.runtime import EmulatorRuntime, SyncSettings, ThreadedEmulator
from ldtui.emulator.seed import DEFAULT_TOKEN, SeedOptions, build_state
from ldtui.emulator.syncer import Endpoints
from ldtui.services.status import StatusService
from tests.conftest import FakeClock
from tests.servers import MotoServer, RedisServer, wait_for_first_sync

pytestmark = pytest.mark.network
_seeds = iter(range(2000, 3000))


def config_file(tmp_path: Path, redis_url: str, moto: MotoServer, extra: str = "") -> Path:
    path = tmp_path / "config.toml"
    path.write_text(
        f'[stores."default/production"]\ntype = "redis"\nurl = "{redis_url}"\ntimeout = 5\n'
        f'[stores."default/staging"]\ntype = "dynamodb"\ntable = "ld-big-segments-staging"\n'
        f'region = "us-east-1"\nendpoint_url = "{moto.endpoint}"\n'
        f'[stores."mobile-app/production/redis"]\ntype = "redis"\nurl = "{redis_url}"\n' + extra
    )
    return path


class World:
    def __init__(self, redis_url: str, moto: MotoServer, tmp_path: Path) -> None:
        self.clock = FakeClock()
        self.state = build_state(
            SeedOptions(seed=next(_seeds), contexts=60, extra_projects=0), clock=self.clock
        )
        self.runtime = EmulatorRuntime(
            self.state,
            Endpoints(redis_url=redis_url, dynamodb_endpoint=moto.endpoint, create_tables=True),
            SyncSettings(change_every=0),
        )
        self.config = load_config({}, file=config_file(tmp_path, redis_url, moto))
        self.client = LaunchDarklyClient("http://emulator", DEFAULT_TOKEN, transport=self.runtime.transport())
        self.service = StatusService(self.client, self.config, clock=self.clock)

    async def verdicts(self) -> dict[str, Any]:
        statuses = await self.service.check_all(await self.service.targets())
        return {s.target.name: s for s in statuses}

    async def close(self) -> None:
        await self.service.aclose()
        await self.client.aclose()
        await self.runtime.syncer.aclose()


@pytest.fixture
async def world(redis_url: str, moto_server: MotoServer, tmp_path: Path) -> Any:
    w = World(redis_url, moto_server, tmp_path)
    yield w
    await w.close()


async def test_healthy_stale_off_not_configured(world: World) -> None:
    await world.runtime.syncer.step()
    v = await world.verdicts()
    assert v["Prod Redis store"].health is Health.HEALTHY
    assert v["Staging DynamoDB"].health is Health.HEALTHY
    assert v["Mobile Redis replica"].health is Health.STALE  # its sync stopped 10 minutes ago
    assert v["Dev Redis"].health is Health.OFF
    # No store connection, but LaunchDarkly reports the sync failing: its word decides (it used
    # to read NOT CONFIGURED, exit 3, while LaunchDarkly said failing).
    failing = v["Payments Redis (PCI zone)"]
    assert failing.health is Health.UNAVAILABLE and failing.api_only
    assert failing.label == "UNAVAILABLE (LaunchDarkly)"
    assert "redis.payments.invalid" in failing.reason and 'stores."payments/production"' in failing.reason
    assert failing.to_json()["verdictSource"] == "launchdarkly"
    # No store connection and nothing wrong per LaunchDarkly: not configured.
    unverified = v["Mobile prod DynamoDB"]
    assert unverified.health is Health.NOT_CONFIGURED and not unverified.api_only
    prod = v["Prod Redis store"].to_json()
    env = world.state.environment("default", "production")
    assert prod["store"]["prefix"] == env.id  # the client-side ID
    assert prod["store"]["ageSeconds"] == 0 and prod["api"]["available"] is True


async def test_sync_paused_until_stale(world: World) -> None:
    await world.runtime.syncer.step()
    world.state.faults.sync_paused = True
    world.clock.advance(119)
    await world.runtime.syncer.step()
    assert (await world.verdicts())["Prod Redis store"].health is Health.HEALTHY
    world.clock.advance(1)
    v = (await world.verdicts())["Prod Redis store"]
    # The SDKs' threshold (120 s) is reached before the API's (180 s): they disagree.
    assert v.health is Health.DISAGREE and "says available" in v.reason
    world.clock.advance(60)
    v = (await world.verdicts())["Prod Redis store"]
    assert v.health is Health.STALE and "stale" in v.reason
    assert any("LaunchDarkly reports" in d for d in v.diagnostics) is False


async def test_store_killed_then_restarted(
    own_redis: RedisServer, moto_server: MotoServer, tmp_path: Path
) -> None:
    w = World(own_redis.url, moto_server, tmp_path)
    try:
        await w.runtime.syncer.step()
        assert (await w.verdicts())["Prod Redis store"].health is Health.HEALTHY
        own_redis.stop()
        v = (await w.verdicts())["Prod Redis store"]
        assert v.health is Health.UNAVAILABLE and "SDKs cannot read the store" in v.reason
        own_redis.start()
        w.clock.advance(11)
        await w.runtime.syncer.step()  # the syncer writes the empty store again
        assert (await w.verdicts())["Prod Redis store"].health is Health.HEALTHY
    finally:
        await w.close()


async def test_api_failures_do_not_hide_the_stores(world: World) -> None:
    await world.runtime.syncer.step()
    targets = await world.service.targets()
    world.state.faults.error_rate = 1.0
    with pytest.raises(Exception, match="HTTP 500"):
        await world.service.targets()
    # With the targets known, the stores are still checked while the API fails.
    statuses = {s.target.name: s for s in await world.service.check_all(targets)}
    assert statuses["Prod Redis store"].health is Health.HEALTHY


async def test_api_available_while_store_stale_is_disagree(world: World, redis_server: RedisServer) -> None:
    await world.runtime.syncer.step()
    env = world.state.environment("default", "production")
    redis_server.client().set(f"{env.id}:big_segments_synchronized_on", str(world.state.now_ms() - 600_000))
    v = (await world.verdicts())["Prod Redis store"]
    assert v.health is Health.DISAGREE
    assert any("is ldtui reading the store" in d for d in v.diagnostics)


async def test_diagnostics_cursor_without_synchronized_on(world: World, redis_server: RedisServer) -> None:
    await world.runtime.syncer.step()
    env = world.state.environment("default", "production")
    redis_server.client().delete(f"{env.id}:big_segments_synchronized_on")
    v = (await world.verdicts())["Prod Redis store"]
    assert v.health is Health.DISAGREE or v.health is Health.STALE
    assert any("no sync ever finished" in d for d in v.diagnostics)


async def test_store_side_agrees_with_the_sdk(
    redis_url: str, moto_server: MotoServer, tmp_path: Path
) -> None:
    """Real time here: the SDK's status provider reads the clock itself."""
    from ldclient.config import BigSegmentsConfig
    from ldclient.impl.big_segments import BigSegmentStoreManager
    from ldclient.integrations import Redis

    state = build_state(SeedOptions(seed=next(_seeds), contexts=40, extra_projects=0))
    runtime = EmulatorRuntime(
        state,
        Endpoints(redis_url=redis_url, dynamodb_endpoint=moto_server.endpoint, create_tables=True),
        SyncSettings(change_every=0),
    )
    await runtime.syncer.step()
    cfg = load_config({}, file=config_file(tmp_path, redis_url, moto_server))
    async with LaunchDarklyClient("http://emulator", DEFAULT_TOKEN, transport=runtime.transport()) as client:
        service = StatusService(client, cfg)
        statuses = {s.target.name: s for s in await service.check_all(await service.targets())}
        for name in ("Prod Redis store", "Mobile Redis replica"):
            s = statuses[name]
            manager = BigSegmentStoreManager(
                BigSegmentsConfig(store=Redis.new_big_segment_store(url=redis_url, prefix=s.target.prefix))
            )
            try:
                sdk = manager.status_provider.status
            finally:
                manager.stop()
            assert (s.store.status.available, s.store.status.stale) == (sdk.available, sdk.stale), name
        await service.aclose()
    await runtime.syncer.aclose()


def test_ldtui_status_command(redis_url: str, moto_server: MotoServer, tmp_path: Path) -> None:
    state = build_state(SeedOptions(seed=next(_seeds), contexts=40, extra_projects=0))
    runtime = EmulatorRuntime(
        state,
        Endpoints(redis_url=redis_url, dynamodb_endpoint=moto_server.endpoint, create_tables=True),
        SyncSettings(interval=0.2, change_every=0),
    )
    server = ThreadedEmulator(runtime).start()
    try:
        path = config_file(
            tmp_path,
            redis_url,
            moto_server,
            extra=f'[profiles.emu]\nbase_url = "{server.base_url}"\ntoken_env = "EMU_TOKEN"\n',
        )
        env = {**os.environ, "EMU_TOKEN": DEFAULT_TOKEN}
        wait_for_first_sync(redis_url, state)
        wait_for_first_sync(redis_url, state, "mobile-app", "production")
        run = subprocess.run(
            [sys.executable, "-m", "ldtui", "--config", str(path), "status", "--json"],
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
        )
        data = json.loads(run.stdout)
        verdicts = {t["name"]: t["verdict"] for t in data["targets"]}
        assert verdicts["Prod Redis store"] == "HEALTHY" and verdicts["Mobile Redis replica"] == "STALE"
        # A stale store is a warning; an integration LaunchDarkly reports failing (its store not
        # probed) is critical, as a probed one would be.
        sources = {t["name"]: t["verdictSource"] for t in data["targets"]}
        assert verdicts["Payments Redis (PCI zone)"] == "UNAVAILABLE"
        assert sources["Payments Redis (PCI zone)"] == "launchdarkly"
        assert run.returncode == 2 == data["exitCode"]
        assert DEFAULT_TOKEN not in run.stdout + run.stderr
        table = subprocess.run(
            [sys.executable, "-m", "ldtui", "--config", str(path), "status"],
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
        )
        assert table.stdout.splitlines()[0].split()[:2] == ["VERDICT", "PROJECT/ENVIRONMENT"]
        assert "NOT CONFIGURED" in table.stdout and table.returncode == 2
        broken = subprocess.run(
            [sys.executable, "-m", "ldtui", "--config", str(path), "status"],
            capture_output=True,
            text=True,
            env={k: v for k, v in env.items() if k != "EMU_TOKEN"},
        )
        assert broken.returncode == 78 and "EMU_TOKEN" in broken.stderr and "Traceback" not in broken.stderr
    finally:
        server.stop()
