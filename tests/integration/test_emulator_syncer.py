"""The syncer plays LaunchDarkly's part: it writes stores in the exact schema and keeps
``_status`` true to what happened. Time is injected, never slept."""

from __future__ import annotations

from typing import Any

import pytest

from ldtui.core.bigsegments import Verdict, context_key_hash, explain, store_status
from ldtui.core.store_settings import DynamoDBStore, RedisStore
from ldtui.emulator.seed import SeedOptions, build_state
from ldtui.emulator.state import EmulatorState, Integration
from ldtui.emulator.syncer import Endpoints, Syncer
from ldtui.stores.dynamodb_reader import DynamoDBBigSegmentReader
from ldtui.stores.redis_reader import RedisBigSegmentReader
from tests.conftest import FakeClock
from tests.servers import MotoServer, RedisServer

pytestmark = pytest.mark.network
_seed = iter(range(500, 10_000))


def world(redis_url: str, moto: MotoServer) -> tuple[EmulatorState, Syncer, FakeClock]:
    clock = FakeClock()
    state = build_state(SeedOptions(seed=next(_seed), contexts=120, extra_projects=0), clock=clock)
    syncer = Syncer(
        state,
        Endpoints(redis_url=redis_url, dynamodb_endpoint=moto.endpoint, create_tables=True),
        heartbeat_ms=10_000,
        change_every=0,
        retry_ms=10_000,
    )
    return state, syncer, clock


def find(state: EmulatorState, project: str, env: str, kind: str) -> Integration:
    return next(
        i for i in state.integrations.values() if (i.project, i.environment, i.kind) == (project, env, kind)
    )


def redis_reader(url: str, state: EmulatorState, project: str, env: str) -> RedisBigSegmentReader:
    return RedisBigSegmentReader(RedisStore(url=url), state.environment(project, env).id)


async def check_store_matches_state(reader: Any, state: EmulatorState, project: str, env_key: str) -> None:
    env = state.environment(project, env_key)
    keys = sorted({k for s in env.segments.values() for k in s.included | s.excluded})
    memberships = await reader.get_memberships([context_key_hash(k) for k in keys])
    generations = {k: s.generation for k, s in env.segments.items()}
    for key in keys:
        verdicts, _ = explain(memberships[context_key_hash(key)], generations)
        for v in verdicts:
            seg = env.segments[v.segment_key]
            if key in seg.included:
                assert v.verdict is Verdict.INCLUDED, (key, v)
            elif key in seg.excluded:
                assert v.verdict is Verdict.EXCLUDED, (key, v)
            else:
                assert v.verdict is Verdict.NO_DATA, (key, v)


async def test_first_sync_writes_the_exact_schema(redis_url: str, moto_server: MotoServer) -> None:
    state, syncer, clock = world(redis_url, moto_server)
    await syncer.step()
    now = state.now_ms()
    env = state.environment("default", "production")
    async with redis_reader(redis_url, state, "default", "production") as r:
        meta = await r.get_metadata()
        assert meta.synchronized_on == now and meta.cursor == env.patch_log[-1].version
        await check_store_matches_state(r, state, "default", "production")
        stats = await r.statistics()
    # Deleted-and-recreated: all three generations are in the store; only g3 is current.
    assert {"legacy-cohort.g1", "legacy-cohort.g2", "legacy-cohort.g3"} <= set(stats.included)
    integ = find(state, "default", "production", "redis")
    assert state.status_json(integ) == {"available": True, "potentiallyStale": False, "lastSync": now}
    staging = state.environment("default", "staging")
    settings = DynamoDBStore(
        table="ld-big-segments-staging", region="us-east-1", endpoint_url=moto_server.endpoint
    )
    async with DynamoDBBigSegmentReader(settings, staging.id) as d:
        assert (await d.get_metadata()).synchronized_on == now
        await check_store_matches_state(d, state, "default", "staging")


async def test_off_means_no_sync_until_turned_on(redis_url: str, moto_server: MotoServer) -> None:
    state, syncer, clock = world(redis_url, moto_server)
    await syncer.step()
    integ = find(state, "default", "development", "redis")
    async with redis_reader(redis_url, state, "default", "development") as r:
        assert (await r.get_metadata()).synchronized_on is None
        assert state.status_json(integ) == {}
        integ.on = True
        clock.advance(1)
        await syncer.step()
        assert (await r.get_metadata()).synchronized_on == state.now_ms()
        await check_store_matches_state(r, state, "default", "development")
        # Off again: sync stops, and the API no longer calls it available.
        integ.on = False
        clock.advance(30)
        await syncer.step()
        assert (await r.get_metadata()).synchronized_on == state.now_ms() - 30_000
        assert state.status_json(integ)["available"] is False


async def test_unreachable_store_reports_errors_with_backoff(redis_url: str, moto_server: MotoServer) -> None:
    state, syncer, clock = world(redis_url, moto_server)
    integ = find(state, "payments", "production", "redis")
    await syncer.step()
    status = state.status_json(integ)
    assert status["available"] is False and status["potentiallyStale"] is True
    assert status["lastError"] == state.now_ms() and "lastSync" not in status
    assert status["errors"] == [
        {
            "statusCode": 500,
            "message": "dial tcp: lookup redis.payments.invalid: no such host",
            "timestamp": state.now_ms(),
        }
    ]
    clock.advance(5)
    await syncer.step()
    assert len(state.status_json(integ)["errors"]) == 1  # retried only after 10 s
    clock.advance(6)
    await syncer.step()
    assert len(state.status_json(integ)["errors"]) == 2


async def test_seeded_stale_integration(redis_url: str, moto_server: MotoServer) -> None:
    state, syncer, clock = world(redis_url, moto_server)
    await syncer.step()
    integ = find(state, "mobile-app", "production", "redis")
    ten_minutes_ago = state.now_ms() - 600_000
    assert state.status_json(integ) == {
        "available": False,
        "potentiallyStale": True,
        "lastSync": ten_minutes_ago,
    }
    async with redis_reader(redis_url, state, "mobile-app", "production") as r:
        meta = await r.get_metadata()
        assert meta.synchronized_on == ten_minutes_ago
        assert store_status(synchronized_on=meta.synchronized_on, now_ms=state.now_ms()).word == "STALE"
        await check_store_matches_state(r, state, "mobile-app", "production")
    clock.advance(60)
    await syncer.step()
    assert state.status_json(integ)["lastSync"] == ten_minutes_ago  # still stopped


async def test_paused_sync_goes_stale_in_store_and_api(redis_url: str, moto_server: MotoServer) -> None:
    state, syncer, clock = world(redis_url, moto_server)
    await syncer.step()
    integ = find(state, "default", "production", "redis")
    synced_at = state.now_ms()
    state.faults.sync_paused = True
    clock.advance(119)
    await syncer.step()
    async with redis_reader(redis_url, state, "default", "production") as r:
        meta = await r.get_metadata()
        assert meta.synchronized_on == synced_at
        assert not store_status(synchronized_on=meta.synchronized_on, now_ms=state.now_ms()).stale
        clock.advance(1)  # 120 s: the SDK's threshold is inclusive
        assert store_status(synchronized_on=meta.synchronized_on, now_ms=state.now_ms()).stale
    assert state.status_json(integ)["available"] is True  # the API's threshold is 180 s
    clock.advance(60)
    assert state.status_json(integ) == {"available": False, "potentiallyStale": True, "lastSync": synced_at}
    state.faults.sync_paused = False
    await syncer.step()
    assert state.status_json(integ)["available"] is True


async def test_membership_changes_reach_the_store(redis_url: str, moto_server: MotoServer) -> None:
    state, syncer, clock = world(redis_url, moto_server)
    await syncer.step()
    env = state.environment("default", "production")
    seg = env.segments["beta-testers"]
    leaving = sorted(seg.included)[0]
    state.change_membership(env, seg, include=["zed@example.com"], uninclude=[leaving], exclude=["mallory"])
    clock.advance(1)
    await syncer.step()
    async with redis_reader(redis_url, state, "default", "production") as r:
        await check_store_matches_state(r, state, "default", "production")
        assert (await r.get_metadata()).cursor == env.patch_log[-1].version


async def test_evolve_is_deterministic(redis_url: str, moto_server: MotoServer) -> None:
    a = build_state(SeedOptions(seed=7, contexts=50, extra_projects=0))
    b = build_state(SeedOptions(seed=7, contexts=50, extra_projects=0))
    sa, sb = Syncer(a, Endpoints(), change_every=1), Syncer(b, Endpoints(), change_every=1)
    for _ in range(5):
        sa.evolve()
        sb.evolve()
    logs = [
        [p.to_json() for e in (s.projects["default"].environments.values()) for p in e.patch_log]
        for s in (a, b)
    ]
    assert logs[0] == logs[1]


async def test_heartbeat(redis_url: str, moto_server: MotoServer) -> None:
    state, syncer, clock = world(redis_url, moto_server)
    await syncer.step()
    first = state.now_ms()
    async with redis_reader(redis_url, state, "default", "production") as r:
        clock.advance(5)
        await syncer.step()
        assert (await r.get_metadata()).synchronized_on == first
        clock.advance(5)
        await syncer.step()
        assert (await r.get_metadata()).synchronized_on == first + 10_000


async def test_store_down_then_back(own_redis: RedisServer, moto_server: MotoServer) -> None:
    state, syncer, clock = world(own_redis.url, moto_server)
    integ = find(state, "default", "production", "redis")
    await syncer.step()
    own_redis.stop()
    clock.advance(1)
    await syncer.step()
    status = state.status_json(integ)
    assert status["available"] is False and status["lastError"] == state.now_ms()
    assert "onnect" in status["errors"][-1]["message"]
    own_redis.start()  # empty: everything must be written again
    clock.advance(11)
    await syncer.step()
    assert state.status_json(integ)["available"] is True
    async with redis_reader(own_redis.url, state, "default", "production") as r:
        await check_store_matches_state(r, state, "default", "production")
    await syncer.aclose()


async def test_foreign_cursor_is_reported(
    redis_server: RedisServer, redis_url: str, moto_server: MotoServer
) -> None:
    state, syncer, clock = world(redis_url, moto_server)
    env = state.environment("default", "production")
    redis_server.client().set(f"{env.id}:big_segments_cursor", "not-from-here")
    await syncer.step()
    err = state.status_json(find(state, "default", "production", "redis"))["errors"][-1]
    assert err["statusCode"] == 409 and "not in this environment's history" in err["message"]


async def test_demo_stores_fall_back_to_fakeredis(
    monkeypatch: pytest.MonkeyPatch, moto_server: MotoServer
) -> None:
    """With no redis-server anywhere, the demo still gets a Redis (fakeredis over TCP), and
    the syncer and the reader work against it unchanged."""
    from ldtui.emulator.local_stores import LocalRedis

    monkeypatch.setenv("LDTUI_FAKE_REDIS", "1")
    fake = LocalRedis(allow_fake=True).start()
    try:
        assert fake.proc is None and fake.fake is not None
        state, syncer, clock = world(fake.url, moto_server)
        await syncer.step()
        async with redis_reader(fake.url, state, "default", "production") as r:
            assert (await r.get_metadata()).synchronized_on == state.now_ms()
            await check_store_matches_state(r, state, "default", "production")
            assert (await r.statistics()).contexts > 0
        await syncer.aclose()
    finally:
        fake.stop()
    with pytest.raises(Exception, match="fakeredis|redis-server"):
        LocalRedis().start()
