"""End to end: an integration created through the API, turned on, synced by the emulator into a
real store; the official SDK, configured as a customer would (prefix = the environment's
client-side ID from the API), then evaluates every membership correctly."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from ldtui.api import LaunchDarklyClient
from ldtui.core.models import IntegrationDeliveryConfigurationPost
from ldtui.core.patch import IntegrationEdit, build_patch
from ldtui.emulator.runtime import EmulatorRuntime, SyncSettings, ThreadedEmulator
from ldtui.emulator.seed import DEFAULT_TOKEN, SeedOptions, build_state
from ldtui.emulator.syncer import Endpoints
from tests.servers import MotoServer

pytestmark = pytest.mark.network


def sdk_members(
    store: Any, segments: dict[str, int], keys: list[str], tmp: Path
) -> dict[tuple[str, str], bool]:
    from ldclient import Context, LDClient
    from ldclient.config import BigSegmentsConfig, Config
    from ldclient.integrations import Files

    data = {"flags": {}, "segments": {}}
    for key, gen in segments.items():
        data["segments"][key] = {
            "key": key,
            "version": 1,
            "unbounded": True,
            "generation": gen,
            "rules": [],
            "included": [],
            "excluded": [],
            "salt": "s",
            "deleted": False,
        }
        data["flags"][f"f-{key}"] = {
            "key": f"f-{key}",
            "version": 1,
            "on": True,
            "variations": [False, True],
            "salt": "s",
            "fallthrough": {"variation": 0},
            "offVariation": 0,
            "targets": [],
            "prerequisites": [],
            "deleted": False,
            "rules": [
                {
                    "id": "r",
                    "variation": 1,
                    "clauses": [{"attribute": "key", "op": "segmentMatch", "values": [key], "negate": False}],
                }
            ],
        }
    path = tmp / "flags.json"
    path.write_text(json.dumps(data))
    client = LDClient(
        Config(
            "sdk-e2e",
            update_processor_class=Files.new_data_source(paths=[str(path)]),
            send_events=False,
            diagnostic_opt_out=True,
            big_segments=BigSegmentsConfig(store=store),
        ),
        start_wait=10,
    )
    try:
        status = client.big_segment_store_status_provider.status
        assert status.available and not status.stale
        return {(k, s): client.variation(f"f-{s}", Context.create(k), None) for k in keys for s in segments}
    finally:
        client.close()


@pytest.mark.parametrize("kind", ["redis", "dynamodb"])
async def test_created_integration_feeds_the_sdk(
    kind: str, redis_url: str, moto_server: MotoServer, tmp_path: Path
) -> None:
    state = build_state(SeedOptions(seed=900 + (kind == "redis"), contexts=150, extra_projects=0))
    endpoints = Endpoints(
        redis={"redis.e2e.internal:6379": redis_url},
        dynamodb={"e2e-big-segments": moto_server.endpoint},
        create_tables=True,
    )
    runtime = EmulatorRuntime(state, endpoints, SyncSettings(change_every=0))
    server = ThreadedEmulator(runtime, run_syncer=False).start()
    project, env_key = ("default", "staging") if kind == "redis" else ("default", "production")
    config = (
        {"host": "redis.e2e.internal", "port": "6379", "username": "", "tlsEnabled": False}
        if kind == "redis"
        else {
            "tableName": "e2e-big-segments",
            "region": "us-east-1",
            "roleArn": "arn:aws:iam::123456789012:role/ld",
            "externalId": "e2e-external-id",
        }
    )
    try:
        async with LaunchDarklyClient(server.base_url, DEFAULT_TOKEN) as api:
            created = await api.create_integration(
                project,
                env_key,
                kind,
                IntegrationDeliveryConfigurationPost(config=config, name="e2e", on=False),
            )
            await runtime.syncer.step()
            assert (await api.get_integration(created.ref)).status.lastSync is None  # off: nothing
            on = await api.patch_integration(
                created.ref,
                build_patch(created, IntegrationEdit(name="e2e", on=True, tags=[], config=config)),
            )
            assert on.on
            await runtime.syncer.step()
            synced = await api.get_integration(created.ref)
            assert synced.status.available is True
            env = next(e for e in await api.list_environments(project) if e.key == env_key)
            segments = {}
            for key in ("beta-testers", "high-value-customers", "churn.risk", "legacy-cohort"):
                segments[key] = (await api.get_segment(project, env_key, key)).generation
    finally:
        await runtime.syncer.aclose()
        server.stop()

    if kind == "redis":
        from ldclient.integrations import Redis

        store = Redis.new_big_segment_store(url=redis_url, prefix=env.id)
    else:
        from ldclient.integrations import DynamoDB

        store = DynamoDB.new_big_segment_store(
            "e2e-big-segments",
            env.id,
            dynamodb_opts={"endpoint_url": moto_server.endpoint, "region_name": "us-east-1"},
        )
    truth = state.environment(project, env_key)
    keys = sorted({k for s in truth.segments.values() for k in s.included | s.excluded})[:120]
    keys.append("not-in-any-segment")
    members = sdk_members(store, segments, keys, tmp_path)
    for (k, s), member in members.items():
        assert member == (k in truth.segments[s].included), (k, s)
    assert any(members.values()) and not all(members.values())


def test_ldtui_emulator_command_serves_and_stops_cleanly() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "ldtui", "emulator", "--port", "0", "--contexts", "100", "--seed", "3"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        first = proc.stdout.readline()
        assert first.startswith("ldtui emulator: LaunchDarkly API at http://127.0.0.1:")
        base_url = first.rsplit(" ", 1)[1].strip()
        lines = [proc.stdout.readline() for _ in range(5)]
        assert DEFAULT_TOKEN in lines[0]
        import httpx

        r = httpx.get(
            f"{base_url}/api/v2/integration-capabilities/big-segment-store",
            headers={"Authorization": DEFAULT_TOKEN, "LD-API-Version": "beta"},
            timeout=10,
        )
        assert r.status_code == 200 and len(r.json()["items"]) == 7
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert "stopped" in out and "Traceback" not in err


def test_ldtui_emulator_bad_port() -> None:
    r = subprocess.run(
        [sys.executable, "-m", "ldtui", "emulator", "--port", "70000"], capture_output=True, text=True
    )
    assert r.returncode == 64 and "--port" in r.stderr and "0-65535" in r.stderr


def test_a_latency_fault_ends_when_the_client_gives_up() -> None:
    """The emulator's latency fault used to sleep on after the client had gone: a test that
    injected 20 s of latency then waited up to 15 s for the server to stop. Now the delay ends
    with the client, and stopping the server does not wait for it."""
    import time

    import httpx

    state = build_state(SeedOptions(seed=7, contexts=5, extra_projects=0))
    server = ThreadedEmulator(EmulatorRuntime(state, Endpoints()), run_syncer=False).start()
    try:
        headers = {"Authorization": DEFAULT_TOKEN}
        with httpx.Client(base_url=server.base_url, headers=headers, timeout=10) as c:
            assert c.put("/_emulator/faults", json={"latency_ms": 20_000}).status_code == 200
        with (
            pytest.raises(httpx.TimeoutException),
            httpx.Client(base_url=server.base_url, headers=headers, timeout=0.5) as c,
        ):
            c.get("/api/v2/integration-capabilities/big-segment-store")
        # The request was cut short on the server side too: the server answers the next one
        # (the control route is never delayed) and then stops at once.
        with httpx.Client(base_url=server.base_url, headers=headers, timeout=10) as c:
            assert c.get("/_emulator/faults").json()["latency_ms"] == 20_000
    finally:
        started = time.monotonic()
        server.stop()
        stopped_in = time.monotonic() - started
    assert stopped_in < 5, stopped_in


def test_a_latency_fault_delays_a_request_with_a_body_and_then_answers_it() -> None:
    """Waiting out the latency fault watches for the client leaving, which reads the ASGI
    receive channel: a PATCH's body must still reach its handler (it hung until the client
    gave up, its body consumed by the watch), answered once the delay is over."""
    import time

    import httpx

    state = build_state(SeedOptions(seed=7, contexts=5, extra_projects=0))
    server = ThreadedEmulator(EmulatorRuntime(state, Endpoints()), run_syncer=False).start()
    try:
        headers = {"Authorization": DEFAULT_TOKEN, "LD-API-Version": "beta"}
        with httpx.Client(base_url=server.base_url, headers=headers, timeout=10) as c:
            first = c.get("/api/v2/integration-capabilities/big-segment-store").json()["items"][0]
            href = first["_links"]["self"]["href"]
            assert c.put("/_emulator/faults", json={"latency_ms": 300}).status_code == 200
            started = time.monotonic()
            patched = c.patch(
                href, json=[{"op": "replace", "path": "/name", "value": "renamed under latency"}]
            )
            took = time.monotonic() - started
        assert patched.status_code == 200, patched.text
        assert patched.json()["name"] == "renamed under latency"
        assert took >= 0.3  # the fault did delay it
    finally:
        server.stop()
