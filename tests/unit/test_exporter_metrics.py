"""The exporter's parts without servers: a check as metrics, the collection loop over a status
service whose answers the test chooses (targets that come and go, an API that fails, stores
that fail and are backed off, a store that hangs), the exposition (the families rendered one
by one are the registry rendered whole, for every format), label values from hostile names,
and the HTTP app. The real thing, over HTTP against real stores: tests/integration/test_exporter.py."""

from __future__ import annotations

import asyncio
import gzip
import os
import re
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry
from prometheus_client.exposition import choose_encoder
from prometheus_client.openmetrics.parser import text_string_to_metric_families as parse_openmetrics
from prometheus_client.parser import text_string_to_metric_families as parse_text

from ldtui.api.errors import ApiError, RequestContext
from ldtui.core.bigsegments import StoreStatus
from ldtui.core.health import ApiSide, Health, Reader, ReaderVerdict, StoreSide, readers
from ldtui.core.net import parse_listen
from ldtui.core.schedule import TARGET_MAX_BACKOFF_S as MAX_BACKOFF_S
from ldtui.core.schedule import backoff
from ldtui.core.store_settings import RedisStore
from ldtui.core.text import literal
from ldtui.services.exporter import (
    Collection,
    CollectorState,
    Exporter,
    ExporterMetrics,
    Exposition,
    Reading,
    Snapshot,
    reading,
)
from ldtui.services.status import Target, TargetStatus

OPENMETRICS = "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5"
NOW_MS = 1_795_000_000_000
STORE = RedisStore(url="redis://127.0.0.1:1/0")


def target(n: int, kind: str = "redis", *, configured: bool = True, name: str | None = None) -> Target:
    return Target(
        id=f"integration-{n}",
        project="default",
        environment=f"env-{n}",
        kind=kind,
        name=name or f"Store {n}",
        prefix="prefix",
        store_key=f"default/env-{n}" if configured else None,
        store=STORE if configured else None,
    )


def api(
    *, on: bool = True, available: bool | None = True, stale: bool | None = False, errors: int = 0
) -> ApiSide:
    return ApiSide(
        on=on,
        available=available,
        potentially_stale=stale,
        last_sync=NOW_MS - 4000,
        last_error=NOW_MS - 1000 if errors else None,
        error_count=errors,
    )


def status(
    t: Target,
    health: Health = Health.HEALTHY,
    *,
    store: StoreSide | None = None,
    api_side: ApiSide | None = None,
    api_only: bool = False,
    synchronized_on: int | None = NOW_MS - 4000,
) -> TargetStatus:
    if store is None:
        st_ = StoreStatus(True, False, synchronized_on, 4000 if synchronized_on else None)
        store = StoreSide(configured=True, reachable=True, latency_ms=1.5, status=st_)
    views = []
    if store.status is not None and store.status.available:
        views = [
            ReaderVerdict(Reader("sdk", "SDKs", 120_000), False, 116_000.0),
            ReaderVerdict(Reader("relay", "Relay Proxy", 300_000, strict=True), False, 296_000.0),
        ]
    return TargetStatus(t, health, "why", api_side, store, NOW_MS, api_only=api_only, readers=views)


def unreachable() -> StoreSide:
    return StoreSide(configured=True, reachable=False, error="connection refused")


# --- a check as metrics ------------------------------------------------------------------------


def test_a_readable_store_and_what_launchdarkly_says() -> None:
    r = reading(status(target(1), api_side=api(errors=2)))
    assert r.store_up == 1.0 and r.synchronized == (NOW_MS - 4000) / 1000 and r.probe_duration == 0.0015
    assert (r.integration_on, r.api_available, r.api_potentially_stale) == (1.0, 1.0, 0.0)
    assert r.api_errors == 2.0 and r.api_failing == 1.0 and r.api_last_sync == (NOW_MS - 4000) / 1000
    assert r.readers == (("sdk", False), ("relay", False))


def test_what_cannot_be_said_is_absent() -> None:
    """No [stores] connection: no store series (an alert on store_up == 0 must not fire for a
    store ldtui never reads); no integration: no API series; LaunchDarkly silent: absent."""
    r = reading(
        status(
            target(1, configured=False),
            Health.NOT_CONFIGURED,
            store=StoreSide(configured=False, config_hint="add [stores]"),
            api_side=api(available=None, stale=None),
        )
    )
    assert r.store_up is None and r.synchronized is None and r.probe_duration is None and r.readers == ()
    assert r.api_available is None and r.api_potentially_stale is None and r.integration_on == 1.0
    relay = reading(status(target(2)))
    assert relay.integration_on is None and relay.api_available is None and relay.api_errors is None


def test_an_unreachable_or_unreadable_store_is_down() -> None:
    assert reading(status(target(1), Health.UNAVAILABLE, store=unreachable())).store_up == 0.0
    garbled = StoreSide(
        True, True, 2.0, StoreStatus(False, False, None, None, "not a number"), "not a number"
    )
    r = reading(status(target(1), Health.UNAVAILABLE, store=garbled))
    assert r.store_up == 0.0 and r.synchronized is None and r.probe_duration == 0.002
    never = reading(status(target(1), Health.STALE, synchronized_on=None))
    assert never.store_up == 1.0 and never.synchronized is None


def test_hostile_names_are_bounded_and_spelled_out() -> None:
    """A name from the API with a terminal escape, a bidi override, a lone surrogate, quotes,
    a backslash, a newline, and 10,000 characters: the exposition still renders (a lone
    surrogate would make the UTF-8 encoding fail every scrape), parses back, and carries no
    control character; the value is the name as ldtui shows it, cut to 128 characters."""
    name = 'a\x1b[2Jb\u202ec\ud800d"e\\f\ng' + "x" * 10_000
    r = reading(status(target(1, name=name)))
    assert len(r.labels[4]) == 128 and r.labels[4].startswith(literal(name)[:100])
    body = render([r], "")
    assert b"\x1b" not in body and "\u202e".encode() not in body
    names = {
        s.labels["name"]
        for f in parse_text(body.decode())
        for s in f.samples
        if f.name == "ldtui_big_segments_store_up"
    }
    assert names == {r.labels[4]}


# --- the exposition ----------------------------------------------------------------------------


def snapshot(readings: list[Reading], version: int = 1) -> Snapshot:
    collectors = {"api": CollectorState(True, NOW_MS / 1000), "redis": CollectorState(False, None)}
    return Snapshot(
        version, tuple(readings), collectors, 3, NOW_MS / 1000, 0.25, (("sdk", 120.0), ("relay", 300.0))
    )


def registry_of(snap: Callable[[], Snapshot | None]) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(ExporterMetrics(snap, "9.9.9"))
    return registry


def render(readings: list[Reading], accept: str) -> bytes:
    snap = snapshot(readings)
    body, _ = Exposition(registry_of(lambda: snap)).answer(accept, "")
    return body


def exposition_names() -> set[str]:
    """Every family and sample name the exporter serves (a target with every value known)."""
    full = reading(status(target(1), api_side=api(errors=1)))
    text = render([full], OPENMETRICS).decode()
    return {n for f in parse_openmetrics(text) for n in (f.name, *(s.name for s in f.samples))}


def test_every_metric_of_the_issue_is_served_with_its_unit() -> None:
    text = render([reading(status(target(1), api_side=api(errors=1)))], OPENMETRICS).decode()
    families = {f.name: f for f in parse_openmetrics(text)}
    for name in (
        "ldtui_big_segments_synchronized_timestamp_seconds",
        "ldtui_big_segments_store_up",
        "ldtui_big_segments_store_probe_duration_seconds",
        "ldtui_big_segments_api_available",
        "ldtui_big_segments_api_potentially_stale",
        "ldtui_big_segments_api_last_sync_timestamp_seconds",
        "ldtui_big_segments_api_errors",
        "ldtui_big_segments_integration_on",
        "ldtui_big_segments_verdict",
        "ldtui_collector_up",
        "ldtui_build",
        "ldtui_collection_duration_seconds",
    ):
        assert name in families, name
    assert families["ldtui_big_segments_synchronized_timestamp_seconds"].unit == "seconds"
    assert families["ldtui_collection_duration_seconds"].unit == "seconds"
    (build,) = families["ldtui_build"].samples
    assert build.name == "ldtui_build_info" and build.labels == {"version": "9.9.9"}
    labels = families["ldtui_big_segments_store_up"].samples[0].labels
    assert labels == {
        "id": "integration-1",
        "project": "default",
        "environment": "env-1",
        "store": "redis",
        "name": "Store 1",
    }


def test_the_verdict_is_one_for_the_current_and_zero_for_every_other() -> None:
    text = render([reading(status(target(1), Health.DISAGREE))], "").decode()
    (family,) = [f for f in parse_text(text) if f.name == "ldtui_big_segments_verdict"]
    values = {s.labels["verdict"]: s.value for s in family.samples}
    assert values == {h.value: float(h is Health.DISAGREE) for h in Health}


def test_the_scraper_chooses_the_format() -> None:
    snap = snapshot([reading(status(target(1)))])
    exposition = Exposition(registry_of(lambda: snap))
    text, headers = exposition.answer("", "")
    assert dict(headers)["content-type"].startswith("text/plain; version=0.0.4")
    assert not text.endswith(b"# EOF\n") and any(parse_text(text.decode()))
    om, headers = exposition.answer(OPENMETRICS, "gzip, deflate")
    assert dict(headers)["content-type"].startswith("application/openmetrics-text; version=1.0.0")
    assert dict(headers)["content-encoding"] == "gzip"
    assert gzip.decompress(om).endswith(b"# EOF\n") and any(parse_openmetrics(gzip.decompress(om).decode()))


values = st.one_of(
    st.none(), st.floats(allow_nan=False, allow_infinity=False, min_value=-1e12, max_value=1e12)
)
readings_strategy = st.builds(
    Reading,
    labels=st.tuples(
        st.sampled_from(["a", "b", "c", "d"]),
        st.sampled_from(["default", "payments"]),
        st.text(max_size=8),
        st.sampled_from(["redis", "dynamodb"]),
        st.text(max_size=8),
    ),
    health=st.sampled_from(list(Health)),
    api_only=st.booleans(),
    store_up=values,
    probe_duration=values,
    synchronized=values,
    integration_on=values,
    api_available=values,
    api_potentially_stale=values,
    api_failing=values,
    api_last_sync=values,
    api_last_error=values,
    api_errors=values,
    readers=st.lists(
        st.tuples(st.sampled_from(["sdk", "relay", "app"]), st.booleans()),
        max_size=3,
        unique_by=lambda r: r[0],
    ).map(tuple),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rounds=st.lists(
        st.lists(readings_strategy, max_size=4, unique_by=lambda r: r.labels[0]), min_size=1, max_size=6
    )
)
def test_rendering_family_by_family_is_rendering_the_registry(rounds: list[list[Reading]]) -> None:
    """After any sequence of collections (targets coming and going, values changing or not),
    each format's body is exactly what prometheus_client renders for the whole registry."""
    current: list[Snapshot | None] = [None]
    registry = registry_of(lambda: current[0])
    exposition = Exposition(registry)
    for accept in ("", OPENMETRICS):
        exposition.answer(accept, "")
    for version, readings_ in enumerate(rounds, start=1):
        current[0] = snapshot(readings_, version)
        exposition.refresh(version)
        for accept in ("", OPENMETRICS):
            encoder, _ = choose_encoder(accept)
            body, _ = exposition.answer(accept, "")
            assert body == encoder(registry)


# --- the collection loop -----------------------------------------------------------------------


class Service:
    """A status service whose targets and answers the test sets."""

    def __init__(self, targets: list[Target]) -> None:
        self.now = NOW_MS / 1000
        self.listing: list[Target] | Exception = targets
        self.offline: list[Target] = []
        self.answers: dict[str, TargetStatus] = {}
        self.hold: dict[str, asyncio.Event] = {}
        self.probed: list[str] = []
        self.readers = readers(120.0)

    def clock(self) -> float:
        return self.now

    async def targets(self) -> list[Target]:
        if isinstance(self.listing, Exception):
            raise self.listing
        return list(self.listing)

    async def targets_offline(self) -> list[Target]:
        return list(self.offline)

    async def check_each(self, targets: list[Target]) -> AsyncIterator[TargetStatus]:
        async def one(t: Target) -> TargetStatus:
            self.probed.append(t.id)
            if t.id in self.hold:
                await self.hold[t.id].wait()
            return self.answers.get(t.id) or status(t)

        for next_done in asyncio.as_completed([one(t) for t in targets]):
            yield await next_done


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def api_down() -> ApiError:
    return ApiError(status=503, code="http_error", message="unavailable", context=RequestContext("GET", "/x"))


def collection(service: Service, clock: Clock | None = None) -> tuple[Collection, list[Snapshot]]:
    published: list[Snapshot] = []
    c = Collection(service, 5.0, publish=published.append, monotonic=clock or time.monotonic)  # type: ignore[arg-type]
    return c, published


def ids(snap: Snapshot) -> list[str]:
    return [r.labels[0] for r in snap.readings]


async def test_targets_come_and_go_with_the_integrations() -> None:
    service = Service([target(1), target(2)])
    c, published = collection(service, clock := Clock())
    await c.collect()
    assert ids(published[-1]) == ["integration-1", "integration-2"]
    service.listing = [target(2), target(3)]
    clock.now += 1
    await c.collect()  # the list is asked once per interval
    assert ids(published[-1]) == ["integration-1", "integration-2"]
    clock.now += 4
    await c.collect()
    assert ids(published[-1]) == ["integration-2", "integration-3"]  # nothing left of 1
    assert "integration-1" not in c.tracks and "integration-1" not in c.readings


async def test_a_failing_api_keeps_the_targets_and_the_probes() -> None:
    service = Service([target(1)])
    c, published = collection(service, clock := Clock())
    await c.collect()
    assert published[-1].collectors["api"].up
    service.listing = api_down()
    clock.now += 5
    await c.collect()
    snap = published[-1]
    assert not snap.collectors["api"].up and snap.collectors["api"].last_success == NOW_MS / 1000
    assert ids(snap) == ["integration-1"] and service.probed.count("integration-1") == 2
    clock.now += 5
    await c.collect()  # a second failure: backed off to twice the interval
    assert c.api_next_due == clock.now + backoff(5.0, 2, 60.0) == clock.now + 10
    service.listing = [target(1)]
    clock.now += 5
    await c.collect()  # not asked yet
    assert not published[-1].collectors["api"].up and service.probed.count("integration-1") == 4
    clock.now += 5
    await c.collect()
    assert published[-1].collectors["api"].up


async def test_an_api_down_from_the_start_uses_what_is_known_without_it() -> None:
    service = Service([])
    service.listing = api_down()
    service.offline = [target(7)]
    c, published = collection(service)
    await c.collect()
    assert ids(published[-1]) == ["integration-7"] and not published[-1].collectors["api"].up


async def test_a_failing_store_is_backed_off_as_the_panel_does() -> None:
    service = Service([target(1), target(2)])
    service.answers["integration-1"] = status(target(1), Health.UNAVAILABLE, store=unreachable())
    c, published = collection(service, clock := Clock())
    waits = []
    for n in range(6):
        if n:
            clock.now = c.tracks["integration-1"].next_due  # the next round is when it is due
        await c.collect()
        waits.append(c.tracks["integration-1"].next_due - clock.now)
    assert waits == [backoff(5.0, n, MAX_BACKOFF_S) for n in range(1, 7)] and waits[-1] == MAX_BACKOFF_S
    # Between its tries the others are still probed every round; its last reading stays.
    service.probed.clear()
    clock.now += 1
    await c.collect()
    assert service.probed == ["integration-2"]
    assert published[-1].readings[0].store_up == 0.0
    # LaunchDarkly's word alone (no probe) is nothing to back off.
    service.answers["integration-2"] = status(
        target(2), Health.UNAVAILABLE, store=StoreSide(False), api_only=True
    )
    await c.collect()
    assert c.tracks["integration-2"].next_due == 0.0


async def test_a_collector_is_down_when_every_store_of_its_kind_fails() -> None:
    service = Service([target(1), target(2), target(3, "dynamodb")])
    service.answers["integration-1"] = status(target(1), Health.UNAVAILABLE, store=unreachable())
    c, published = collection(service, clock := Clock())
    await c.collect()
    assert published[-1].collectors["redis"].up and published[-1].collectors["dynamodb"].up
    service.answers["integration-3"] = status(target(3, "dynamodb"), Health.UNAVAILABLE, store=unreachable())
    c.tracks.clear()
    await c.collect()
    assert not published[-1].collectors["dynamodb"].up and published[-1].collectors["redis"].up
    service.listing = [target(1), target(2)]  # no DynamoDB store left: no such collector
    clock.now += 5
    await c.collect()
    assert set(published[-1].collectors) == {"api", "redis"}


async def test_what_came_in_is_published_while_a_store_hangs() -> None:
    service = Service([target(1), target(2)])
    service.hold["integration-2"] = asyncio.Event()
    c, published = collection(service)
    round_ = asyncio.ensure_future(c.collect())
    deadline = time.monotonic() + 10
    while not (published and ids(published[-1]) == ["integration-1"]):
        assert time.monotonic() < deadline, "nothing published while one store hung"
        await asyncio.sleep(0.05)
    assert not round_.done() and c.round_started is not None
    service.hold["integration-2"].set()
    await round_
    assert ids(published[-1]) == ["integration-1", "integration-2"] and published[-1].rounds == 1


# --- the HTTP side -----------------------------------------------------------------------------


def exporter_with(service: Service) -> Exporter:
    def open_service() -> Any:
        import contextlib

        @contextlib.asynccontextmanager
        async def opened() -> AsyncIterator[Service]:
            yield service

        return opened()

    return Exporter(open_service, 5.0, version="9.9.9")


async def test_the_app_serves_metrics_health_and_nothing_else() -> None:
    exporter = exporter_with(Service([target(1)]))
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=exporter.asgi_app()), base_url="http://x")
    async with client:
        health = await client.get("/healthz")
        assert health.status_code == 503 and health.json()["status"] == "starting"
        metrics = await client.get("/metrics")  # before the first round: only what it is
        assert metrics.status_code == 200 and "ldtui_build_info" in metrics.text
        exporter.collection = Collection(Service([target(1)]), 5.0, publish=exporter._publish)  # type: ignore[arg-type]
        await exporter.collection.collect()
        health = await client.get("/healthz")
        assert health.status_code == 200 and health.json()["status"] == "ok" and health.json()["targets"] == 1
        assert "ldtui_big_segments_store_up" in (await client.get("/metrics")).text
        exporter.collection.last_round_mono = time.monotonic() - 3600  # a collection that stalled
        stalled = await client.get("/healthz")
        assert stalled.status_code == 503 and stalled.json()["status"] == "stalled"
        assert (await client.get("/nope")).status_code == 404
        post = await client.post("/metrics")
        assert post.status_code == 405 and post.headers["allow"] == "GET, HEAD"
        head = await client.head("/metrics")
        assert head.status_code == 200 and head.content == b"" and int(head.headers["content-length"]) > 0
        assert "/metrics" in (await client.get("/")).text


# --- the address -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, host, port",
    [
        ("127.0.0.1:9786", "127.0.0.1", 9786),
        ("[::1]:9786", "::1", 9786),
        ("0.0.0.0:0", "0.0.0.0", 0),
        ("localhost:80", "localhost", 80),
        ("metrics.internal.example.com:9786", "metrics.internal.example.com", 9786),
    ],
)
def test_listen_addresses(text: str, host: str, port: int) -> None:
    address = parse_listen(text)
    assert (address.host, address.port) == (host, port) and parse_listen(str(address)) == address


@pytest.mark.parametrize(
    "text",
    [
        "",
        "9786",
        ":9786",
        "127.0.0.1",
        "127.0.0.1:",
        "127.0.0.1:65536",
        "::1:9786",
        "[::1]9786",
        "[nope]:1",
        "a b:1",
        "host:+80",
        "host:٣",
        "x" * 400 + ":1",
        "127.0.0.1:9786\n",
    ],
)
def test_bad_listen_addresses_say_what_to_write(text: str) -> None:
    with pytest.raises(ValueError, match="HOST:PORT"):
        parse_listen(text)


# --- the setting and the command ---------------------------------------------------------------


def test_the_address_is_a_setting_like_the_others(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """exporter.listen: in the file (with its line), LDTUI_LISTEN, ldtui config; a bad value
    is refused naming the variable (78) or the flag (64)."""
    from ldtui.cli import ExitCode, main
    from ldtui.config import ConfigError, describe, env_variables, load_config

    assert env_variables()["LDTUI_LISTEN"] == ("exporter", "listen")
    path = tmp_path / "config.toml"
    path.write_text('[exporter]\nlisten = "[::1]:9999"\n')
    cfg = load_config({}, file=path)
    row = next(r for r in describe(cfg) if r.key == "exporter.listen")
    assert (row.value, row.source) == ("[::1]:9999", "config.toml:2")
    assert next(
        r for r in describe(load_config({}, file=os.devnull)) if r.key == "exporter.listen"
    ).value == ("127.0.0.1:9786")
    with pytest.raises(ConfigError, match="LDTUI_LISTEN"):
        load_config({"LDTUI_LISTEN": "everywhere"}, file=os.devnull)
    assert main(["--config", os.devnull, "exporter", "--listen", "nowhere"]) == ExitCode.USAGE
    assert "--listen" in capsys.readouterr().err


def test_the_exporter_refuses_what_ldtui_status_refuses(capsys: pytest.CaptureFixture[str]) -> None:
    from ldtui.cli import ExitCode, main

    assert main(["--config", os.devnull, "exporter"]) == ExitCode.CONFIG
    assert "no profile is configured" in capsys.readouterr().err


def test_the_readme_lists_every_metric_served() -> None:
    """The README's table of the exporter's metrics is what /metrics serves, no more, no less."""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    section = readme.split("### `ldtui exporter` for Prometheus\n")[1].split("\n## ")[0]
    documented = set(re.findall(r"`(ldtui_[a-z_]+)(?:\{[a-z]+\})?`", section))
    full = reading(status(target(1), api_side=api(errors=1)))
    served = {s.name for f in parse_text(render([full], "").decode()) for s in f.samples}
    assert documented == served
