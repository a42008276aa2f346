"""``ldtui exporter`` as Prometheus meets it: its own process, scraped over HTTP, against the
emulator (over HTTP, its syncer writing a real redis-server and moto's DynamoDB), the
exposition parsed with prometheus_client's parsers.

Every target is there with the values the stores and the API hold; the verdicts are
``ldtui status``'s; a killed redis-server goes to store_up 0 and back without a restart; a
hung one never slows a scrape; targets come and go with the integrations; an API outage is
the API collector down, not the stores, and so is an API that hangs, from its deadline on
(before the request fails), up again when it answers; no secret reaches the exposition, /healthz or the log."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.openmetrics.parser import text_string_to_metric_families as parse_openmetrics
from prometheus_client.parser import text_string_to_metric_families as parse_text

from ldtui.emulator.runtime import EmulatorRuntime, SyncSettings, ThreadedEmulator
from ldtui.emulator.seed import DEFAULT_TOKEN, SeedOptions, build_state
from ldtui.emulator.state import EmulatorState
from ldtui.emulator.syncer import Endpoints
from tests.servers import (
    FakeRedisServer,
    MotoServer,
    RedisServer,
    free_port,
    wait_for,
    wait_for_first_sync,
)

pytestmark = pytest.mark.network
_seeds = iter(range(9000, 10000))
OPENMETRICS = "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"
STAGING_TABLE = "ld-big-segments-staging"


class ExporterProcess:
    """``ldtui exporter --listen 127.0.0.1:0`` in its own process; the address it says it
    serves on is where it is scraped."""

    def __init__(
        self,
        config: Path,
        home: Path,
        *,
        token: str = DEFAULT_TOKEN,
        env: dict[str, str] | None = None,
        listen: str = "127.0.0.1:0",
    ) -> None:
        environment = {
            **os.environ,
            "T_TOKEN": token,
            "XDG_STATE_HOME": str(home / "state"),
            "HOME": str(home),
            **(env or {}),
        }
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "ldtui", "--config", str(config), "exporter", "--listen", listen],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            env=environment,
        )
        self.log: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()
        found = self.wait_for("the exporter to say where it serves", self._serving)
        self.base_url = f"http://{found}"
        self.client = httpx.Client(base_url=self.base_url, timeout=10)

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.log.append(line)

    def _serving(self) -> str | None:
        for line in list(self.log):
            if m := re.search(r"serving http://(\S+)/metrics", line):
                return m.group(1)
        return None

    def scrape(self, accept: str = "") -> httpx.Response:
        response = self.client.get("/metrics", headers={"Accept": accept} if accept else {})
        assert response.status_code == 200
        return response

    def families(self, accept: str = "") -> dict[str, Any]:
        response = self.scrape(accept)
        parse = parse_openmetrics if "openmetrics" in response.headers["content-type"] else parse_text
        return {f.name: f for f in parse(response.text)}

    def value(self, metric: str, **labels: str) -> float | None:
        """The value of the one sample of ``metric`` with these labels, or None."""
        found = [
            s.value
            for f in self.families().values()
            for s in f.samples
            if s.name == metric and all(s.labels.get(k) == v for k, v in labels.items())
        ]
        assert len(found) <= 1, (metric, labels, found)
        return found[0] if found else None

    def wait_for(self, what: str, condition: Callable[[], Any], timeout: float = 30) -> Any:
        try:
            return wait_for(condition, timeout, what)
        except TimeoutError:
            state = "running" if self.proc.poll() is None else f"exited {self.proc.returncode}"
            raise AssertionError(
                f"{what}: not within {timeout:g} s; the exporter ({state}) said: {''.join(self.log)}"
            ) from None

    def stop(self, sig: int = signal.SIGTERM) -> int:
        self.client.close()
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            return self.proc.wait(20)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()


def per_target(families: dict[str, Any], metric: str) -> dict[str, float]:
    return {s.labels["id"]: s.value for s in families[metric].samples} if metric in families else {}


def verdicts(families: dict[str, Any]) -> dict[str, str]:
    out: dict[str, list[str]] = {}
    for s in families["ldtui_big_segments_verdict"].samples:
        out.setdefault(s.labels["id"], [])
        if s.value == 1:
            out[s.labels["id"]].append(s.labels["verdict"])
    assert all(len(v) == 1 for v in out.values()), out  # exactly one current verdict per target
    return {k: v[0] for k, v in out.items()}


def write_config(tmp_path: Path, base_url: str, stores: str, interval: float = 0.5) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(
        f'profile = "t"\n[profiles.t]\nbase_url = "{base_url}"\ntoken_env = "T_TOKEN"\ntimeout = 3\n'
        f"[status]\npoll_interval = {interval}\n{stores}"
    )
    return path


def api_items(base_url: str, token: str = DEFAULT_TOKEN) -> list[dict[str, Any]]:
    response = httpx.get(
        f"{base_url}/api/v2/integration-capabilities/big-segment-store",
        headers={"Authorization": token, "LD-API-Version": "beta"},
        timeout=10,
    )
    response.raise_for_status()
    items: list[dict[str, Any]] = response.json()["items"]
    return items


class World:
    def __init__(self, state: EmulatorState, server: ThreadedEmulator, redis_url: str) -> None:
        self.state = state
        self.server = server
        self.redis_url = redis_url

    def env_id(self, project: str, environment: str) -> str:
        return self.state.projects[project].environments[environment].id

    def integration(self, name: str) -> Any:
        return next(i for i in self.state.integrations.values() if i.name == name)


def start_world(redis_url: str, moto: MotoServer | None = None, **state_options: Any) -> World:
    state = build_state(SeedOptions(seed=next(_seeds), contexts=30, extra_projects=0), **state_options)
    endpoints = Endpoints(
        redis_url=redis_url, dynamodb_endpoint=moto.endpoint if moto else None, create_tables=moto is not None
    )
    runtime = EmulatorRuntime(state, endpoints, SyncSettings(interval=0.2, change_every=0, retry_ms=200))
    server = ThreadedEmulator(runtime).start()
    wait_for_first_sync(redis_url, state)
    return World(state, server, redis_url)


@pytest.fixture
def world(redis_url: str, moto_server: MotoServer) -> Iterator[World]:
    w = start_world(redis_url, moto_server)
    staging = w.env_id("default", "staging")
    metadata = {"S": f"{staging}:big_segments_metadata"}
    wait_for(
        lambda: (
            moto_server.client()
            .get_item(TableName=STAGING_TABLE, Key={"namespace": metadata, "key": metadata})
            .get("Item")
        ),
        60,
        "the first DynamoDB sync",
    )
    yield w
    w.server.stop()


def fleet_stores(redis_url: str, moto: MotoServer) -> str:
    return (
        f'[stores."default/production"]\ntype = "redis"\nurl = "{redis_url}"\ntimeout = 1\n'
        f'[stores."default/staging"]\ntype = "dynamodb"\ntable = "{STAGING_TABLE}"\nregion = "us-east-1"\n'
        f'endpoint_url = "{moto.endpoint}"\ntimeout = 2\n'
        f'[stores."mobile-app/production/redis"]\ntype = "redis"\nurl = "{redis_url}"\ntimeout = 1\n'
        # A store no integration writes (a Relay Proxy's): probed under its own prefix.
        f'[stores."relay/main"]\ntype = "redis"\nurl = "{redis_url}"\nprefix = "relay-main"\ntimeout = 1\n'
    )


def test_every_target_with_the_values_the_stores_and_the_api_hold(
    world: World, moto_server: MotoServer, tmp_path: Path
) -> None:
    import redis

    world.state.faults.sync_paused = True  # from here on, what the stores and the API hold stays put
    config = write_config(tmp_path, world.server.base_url, fleet_stores(world.redis_url, moto_server))
    exporter = ExporterProcess(config, tmp_path)
    try:
        # Two whole rounds after the pause: what is served was collected after it.
        exporter.wait_for("two collections", lambda: (exporter.value("ldtui_collections_total") or 0) >= 2)
        families = exporter.families()
        items = api_items(world.server.base_url)
        judged = verdicts(families)
        assert set(judged) == {i["_id"] for i in items} | {"store:relay/main"}

        # The stores' own synchronizedOn, read directly.
        synced = per_target(families, "ldtui_big_segments_synchronized_timestamp_seconds")
        with redis.Redis.from_url(world.redis_url) as r:
            for name, (project, env) in {
                "Prod Redis store": ("default", "production"),
                "Mobile Redis replica": ("mobile-app", "production"),
            }.items():
                truth = int(r.get(f"{world.env_id(project, env)}:big_segments_synchronized_on"))
                assert synced[world.integration(name).id] == truth / 1000, name
        metadata = {"S": f"{world.env_id('default', 'staging')}:big_segments_metadata"}
        item = moto_server.client().get_item(
            TableName=STAGING_TABLE, Key={"namespace": metadata, "key": metadata}
        )
        assert (
            synced[world.integration("Staging DynamoDB").id]
            == int(item["Item"]["synchronizedOn"]["N"]) / 1000
        )
        up = per_target(families, "ldtui_big_segments_store_up")
        probed = {
            world.integration(n).id for n in ("Prod Redis store", "Mobile Redis replica", "Staging DynamoDB")
        }
        assert up == {**dict.fromkeys(probed, 1.0), "store:relay/main": 1.0}  # the unconfigured: absent
        assert "store:relay/main" not in synced  # nothing synchronizes it
        assert all(
            0 < v < 4
            for v in per_target(families, "ldtui_big_segments_store_probe_duration_seconds").values()
        )

        # LaunchDarkly's _status, as the API says it.
        for item_ in items:
            key, status = item_["_id"], item_["_status"]
            assert per_target(families, "ldtui_big_segments_integration_on")[key] == float(item_["on"])
            assert per_target(families, "ldtui_big_segments_api_errors")[key] == len(
                status.get("errors") or []
            )
            for field, metric in (
                ("available", "ldtui_big_segments_api_available"),
                ("potentiallyStale", "ldtui_big_segments_api_potentially_stale"),
            ):
                assert per_target(families, metric).get(key) == (
                    None if status.get(field) is None else float(status[field])
                )
            last_sync = per_target(families, "ldtui_big_segments_api_last_sync_timestamp_seconds").get(key)
            assert last_sync == (status["lastSync"] / 1000 if status.get("lastSync") else None)
        assert {s.labels["collector"]: s.value for s in families["ldtui_collector_up"].samples} == {
            "api": 1.0,
            "redis": 1.0,
            "dynamodb": 1.0,
        }

        # The verdicts are ldtui status's, from the same configuration.
        run = subprocess.run(
            [sys.executable, "-m", "ldtui", "--config", str(config), "status", "--json"],
            capture_output=True,
            text=True,
            timeout=60,
            env={**os.environ, "T_TOKEN": DEFAULT_TOKEN, "XDG_STATE_HOME": str(tmp_path / "state")},
        )
        document = json.loads(run.stdout)
        assert judged == {t["id"]: t["verdict"] for t in document["targets"]}
        assert judged[world.integration("Prod Redis store").id] == "HEALTHY"
        assert judged[world.integration("Mobile Redis replica").id] == "STALE"

        # OpenMetrics when the scraper asks for it: the same series.
        response = exporter.scrape(OPENMETRICS)
        assert response.headers["content-type"].startswith("application/openmetrics-text; version=1.0.0")
        assert verdicts({f.name: f for f in parse_openmetrics(response.text)}) == judged
        health = exporter.client.get("/healthz")
        assert health.status_code == 200 and health.json()["targets"] == len(judged)
    finally:
        assert exporter.stop() == 143
    assert "Traceback" not in "".join(exporter.log) and "stopped" in exporter.log[-1]


@pytest.fixture
def own_world(own_redis: RedisServer, tmp_path: Path) -> Iterator[tuple[World, ExporterProcess]]:
    """The emulator writing a redis-server of this test's own, and an exporter reading it."""
    w = start_world(own_redis.url)
    store = f'[stores."default/production"]\ntype = "redis"\nurl = "{own_redis.url}"\ntimeout = 1\n'
    exporter = ExporterProcess(write_config(tmp_path, w.server.base_url, store), tmp_path)
    prod = w.integration("Prod Redis store").id
    exporter.wait_for("the store read", lambda: exporter.value("ldtui_big_segments_store_up", id=prod) == 1)
    yield w, exporter
    exporter.stop()
    w.server.stop()


def test_a_killed_redis_server_goes_down_and_comes_back_without_a_restart(
    own_world: tuple[World, ExporterProcess], own_redis: RedisServer
) -> None:
    world, exporter = own_world
    prod = world.integration("Prod Redis store").id
    pid = exporter.proc.pid
    own_redis.stop()
    exporter.wait_for("store_up 0", lambda: exporter.value("ldtui_big_segments_store_up", id=prod) == 0)
    assert exporter.value("ldtui_big_segments_verdict", id=prod, verdict="UNAVAILABLE") == 1
    assert exporter.value("ldtui_big_segments_synchronized_timestamp_seconds", id=prod) is None
    assert exporter.value("ldtui_collector_up", collector="redis") == 0  # its only Redis store
    own_redis.start()
    # Backed off meanwhile (never for longer than 30 s), it is read again by itself.
    exporter.wait_for("store_up 1", lambda: exporter.value("ldtui_big_segments_store_up", id=prod) == 1, 45)
    assert exporter.value("ldtui_collector_up", collector="redis") == 1
    assert exporter.proc.pid == pid and exporter.proc.poll() is None


def test_a_scrape_during_a_hanging_store_answers_at_once(
    own_world: tuple[World, ExporterProcess], own_redis: RedisServer
) -> None:
    """redis-server stopped (SIGSTOP): the store's probe waits for its deadline (1 s timeout +
    1 s), and every scrape meanwhile is answered from the last collection within 100 ms."""
    world, exporter = own_world
    prod = world.integration("Prod Redis store").id
    assert own_redis.proc is not None
    latencies: list[float] = []
    os.kill(own_redis.proc.pid, signal.SIGSTOP)
    try:
        deadline = time.monotonic() + 30
        while True:
            started = time.perf_counter()
            families = exporter.families()
            latencies.append(time.perf_counter() - started)
            started = time.perf_counter()
            health = exporter.client.get("/healthz")
            latencies.append(time.perf_counter() - started)
            assert health.status_code == 200
            if per_target(families, "ldtui_big_segments_store_up").get(prod) == 0:
                break  # the probe met its deadline: the hang was seen
            assert time.monotonic() < deadline, "the hung store was never reported"
            time.sleep(0.02)
    finally:
        os.kill(own_redis.proc.pid, signal.SIGCONT)
    assert len(latencies) >= 20  # scraped all through the hang (2 s at least)
    assert max(latencies) < 0.1, sorted(latencies)[-5:]
    assert exporter.value("ldtui_big_segments_verdict", id=prod, verdict="UNAVAILABLE") == 1


def test_a_scrape_while_a_store_drips_its_answers_is_answered_at_once(redis_url: str, tmp_path: Path) -> None:
    """A store that accepts the connection and answers one byte every 5 s (tests/servers.py's
    FakeRedisServer) beside a healthy one: each of its probes waits out its deadline (1 s
    timeout + 1 s), and every scrape taken while one is in flight is answered within half a
    second (one that waited on the probe would take its 2 s; the margin is for a loaded
    machine); the healthy store is reported all along."""
    asked: list[float] = []  # when the hung store received a command (a probe in flight)

    def respond(command: list[bytes]) -> bytes:
        asked.append(time.monotonic())
        return b"+OK\r\n"

    hung = FakeRedisServer(respond, drip=5.0).start()
    world = start_world(redis_url)
    try:
        stores = (
            f'[stores."default/production"]\ntype = "redis"\nurl = "{redis_url}"\ntimeout = 1\n'
            f'[stores."relay/hung"]\ntype = "redis"\nurl = "{hung.url}"\nprefix = "relay-hung"\ntimeout = 1\n'
        )
        exporter = ExporterProcess(write_config(tmp_path, world.server.base_url, stores), tmp_path)
        prod = world.integration("Prod Redis store").id
        scrapes: list[tuple[float, float]] = []  # (started, seconds)
        try:

            def in_flight(since: float) -> list[float]:
                """Scrapes started in the first second of a probe after ``since``."""
                return [t for t, _ in scrapes if any(since <= a <= t <= a + 1.0 for a in asked)]

            deadline = time.monotonic() + 30
            down_at: float | None = None
            while True:
                started = time.monotonic()
                families = exporter.families()
                scrapes.append((started, time.monotonic() - started))
                if (
                    down_at is None
                    and per_target(families, "ldtui_big_segments_store_up").get("store:relay/hung") == 0
                ):
                    down_at = time.monotonic()  # the first probe met its deadline; later ones too
                if down_at is not None and len(in_flight(down_at)) >= 10:
                    break
                assert time.monotonic() < deadline, (f"hung probes seen: {len(asked)}", down_at)
                time.sleep(0.02)
            assert max(seconds for _, seconds in scrapes) < 0.5, sorted(s for _, s in scrapes)[-5:]
            assert per_target(families, "ldtui_big_segments_store_up") == {prod: 1.0, "store:relay/hung": 0.0}
            judged = verdicts(families)
            assert (judged[prod], judged["store:relay/hung"]) == ("HEALTHY", "UNAVAILABLE")
            assert exporter.client.get("/healthz").status_code == 200
        finally:
            exporter.stop()
    finally:
        world.server.stop()
        hung.stop()


def test_no_secret_reaches_the_exposition_health_or_log(tmp_path: Path) -> None:
    """An access token, a Redis password (the store requires one) given once by reference and
    once inside a store's URL, and the passwords and external IDs in the integrations'
    configurations: none of them in /metrics (either format), /healthz, / or the exporter's
    log."""
    token = "api-b7d3c1e0-4a5f-4e8e-9f3a-secret-token-42"
    password = "s3cr3t-redis-pa55word-77"
    server = RedisServer(args=("--requirepass", password)).start()
    try:
        authed = f"redis://:{password}@127.0.0.1:{server.port}/0"
        world = start_world(authed, tokens={token: "writer"})
        try:
            store = (
                f'[stores."default/production"]\ntype = "redis"\nurl = "redis://127.0.0.1:{server.port}/0"\n'
                'password_env = "LD_REDIS_PASSWORD"\ntimeout = 1\n'
                # The password inside the URL (accepted because the file is 0600).
                f'[stores."mobile-app/production/redis"]\ntype = "redis"\nurl = "{authed}"\ntimeout = 1\n'
            )
            config = write_config(tmp_path, world.server.base_url, store)
            config.chmod(0o600)
            exporter = ExporterProcess(config, tmp_path, token=token, env={"LD_REDIS_PASSWORD": password})
            read = {world.integration(n).id for n in ("Prod Redis store", "Mobile Redis replica")}
            try:
                exporter.wait_for(
                    "both stores read",
                    lambda: (
                        per_target(exporter.families(), "ldtui_big_segments_store_up")
                        == dict.fromkeys(read, 1.0)
                    ),
                )
                seen = [
                    exporter.scrape().text,
                    exporter.scrape(OPENMETRICS).text,
                    exporter.client.get("/healthz").text,
                    exporter.client.get("/").text,
                ]
            finally:
                exporter.stop()
            seen.append("".join(exporter.log))
            secrets = {token, password}
            for integ in world.state.integrations.values():
                secrets |= {str(integ.config[k]) for k in ("password", "externalId") if integ.config.get(k)}
            assert len(secrets) > 4
            for text in seen:
                for secret in secrets:
                    assert secret not in text
        finally:
            world.server.stop()
    finally:
        server.stop()


def test_targets_come_and_go_with_the_integrations(
    world: World, moto_server: MotoServer, tmp_path: Path
) -> None:
    from ldtui.api import LaunchDarklyClient
    from ldtui.core.models import IntegrationDeliveryConfigurationPost

    config = write_config(tmp_path, world.server.base_url, fleet_stores(world.redis_url, moto_server))
    exporter = ExporterProcess(config, tmp_path)
    gone = world.integration("Dev Redis")
    try:
        exporter.wait_for("every target", lambda: gone.id in verdicts(exporter.families()))

        async def change() -> str:
            async with LaunchDarklyClient(world.server.base_url, DEFAULT_TOKEN) as api:
                listing = await api.list_integrations()
                await api.delete_integration(next(i for i in listing.items if i.id == gone.id).ref)
                body = IntegrationDeliveryConfigurationPost(
                    config={"host": "redis.late.internal", "port": "6379"}, name="Late arrival", on=True
                )
                return (await api.create_integration("default", "staging", "redis", body)).id

        new = asyncio.run(change())

        def changed() -> bool:
            families = exporter.families()
            present = {s.labels["id"] for f in families.values() for s in f.samples if "id" in s.labels}
            return new in present and gone.id not in present

        exporter.wait_for("the deleted to leave and the new to come", changed)
        assert exporter.value("ldtui_big_segments_integration_on", id=new) == 1
    finally:
        exporter.stop()


def test_an_api_outage_is_the_api_collector_down_not_the_stores(
    world: World, moto_server: MotoServer, tmp_path: Path
) -> None:
    config = write_config(tmp_path, world.server.base_url, fleet_stores(world.redis_url, moto_server))
    exporter = ExporterProcess(config, tmp_path)
    prod = world.integration("Prod Redis store").id
    try:
        exporter.wait_for("the API read", lambda: exporter.value("ldtui_collector_up", collector="api") == 1)
        world.state.faults.error_rate = 1.0
        exporter.wait_for(
            "the API collector down", lambda: exporter.value("ldtui_collector_up", collector="api") == 0
        )
        first = exporter.value("ldtui_big_segments_synchronized_timestamp_seconds", id=prod)
        # The stores are still probed: the syncer keeps writing, the exporter keeps reading.
        exporter.wait_for(
            "a newer synchronizedOn",
            lambda: (
                (exporter.value("ldtui_big_segments_synchronized_timestamp_seconds", id=prod) or 0)
                > (first or 0)
            ),
            40,
        )
        assert exporter.value("ldtui_big_segments_store_up", id=prod) == 1
        assert exporter.client.get("/healthz").status_code == 200  # the exporter itself is fine
        world.state.faults.error_rate = 0.0
        exporter.wait_for(
            "the API back", lambda: exporter.value("ldtui_collector_up", collector="api") == 1, 90
        )
    finally:
        world.state.faults.error_rate = 0.0
        exporter.stop()
    log = "".join(exporter.log)
    assert log.count("LaunchDarkly API: HTTP 500") == 1 and "LaunchDarkly API answers again" in log


def test_a_hanging_api_is_the_api_collector_down_from_its_deadline_and_up_when_it_answers(
    own_world: tuple[World, ExporterProcess],
) -> None:
    """The emulator answers every API request after 8 s (the profile's timeout is 3 s, and the
    client tries three times before the list fails, 10 s on): from 3 s without an answer the
    API collector is 0, its last success keeps its time, the store is still read; once the API
    answers again it is 1 and its last success moves on."""
    world, exporter = own_world
    prod = world.integration("Prod Redis store").id
    faults = httpx.Client(
        base_url=world.server.base_url, headers={"Authorization": DEFAULT_TOKEN}, timeout=10
    )

    def last_success() -> float | None:
        return exporter.value("ldtui_collector_last_success_timestamp_seconds", collector="api")

    try:
        exporter.wait_for("the API read", lambda: exporter.value("ldtui_collector_up", collector="api") == 1)
        assert faults.put("/_emulator/faults", json={"latency_ms": 8000}).status_code == 200
        hung = time.time()
        exporter.wait_for(
            "the API collector down", lambda: exporter.value("ldtui_collector_up", collector="api") == 0, 20
        )
        # Down by its deadline, not by the list failing: the log says which came first.
        log = "".join(exporter.log)
        assert "LaunchDarkly API: no answer for 3 s (its timeout)" in log, log
        frozen = last_success()
        assert frozen is not None and frozen <= hung + 1  # the last list that answered
        synced = exporter.value("ldtui_big_segments_synchronized_timestamp_seconds", id=prod) or 0
        exporter.wait_for(
            "the store read on while the API hangs",
            lambda: (
                (exporter.value("ldtui_big_segments_synchronized_timestamp_seconds", id=prod) or 0) > synced
            ),
        )
        assert exporter.value("ldtui_collector_up", collector="api") == 0 and last_success() == frozen
        assert exporter.value("ldtui_big_segments_store_up", id=prod) == 1
        assert exporter.client.get("/healthz").json()["collectors"]["api"] == {
            "up": False,
            "lastSuccess": frozen,
        }
        assert faults.put("/_emulator/faults", json={"latency_ms": 0}).status_code == 200
        exporter.wait_for(
            "the API back", lambda: exporter.value("ldtui_collector_up", collector="api") == 1, 90
        )
        assert (last_success() or 0) > frozen
    finally:
        faults.put("/_emulator/faults", json={"latency_ms": 0})
        faults.close()
    log = "".join(exporter.log)
    assert log.count("LaunchDarkly API: ") == 1 and "LaunchDarkly API answers again" in log
    assert "Traceback" not in log


def test_exit_codes_and_the_warning_off_loopback(tmp_path: Path) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    config = write_config(tmp_path, dead, "")
    env = {**os.environ, "T_TOKEN": DEFAULT_TOKEN, "XDG_STATE_HOME": str(tmp_path / "state")}
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen(1)
    try:
        address = f"127.0.0.1:{taken.getsockname()[1]}"
        run = subprocess.run(
            [sys.executable, "-m", "ldtui", "--config", str(config), "exporter", "--listen", address],
            capture_output=True,
            text=True,
            timeout=60,
            env=env,
        )
        assert run.returncode == 69 and f"cannot listen on {address}" in run.stderr
    finally:
        taken.close()
    elsewhere = ExporterProcess(config, tmp_path, listen="0.0.0.0:0")
    assert "WARNING: listening on 0.0.0.0:" in "".join(elsewhere.log)
    assert elsewhere.stop(signal.SIGINT) == 130
    loopback = ExporterProcess(config, tmp_path)
    assert "WARNING" not in "".join(loopback.log)
    assert loopback.stop() == 143
