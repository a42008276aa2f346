"""The verdict rules: every combination of LaunchDarkly's view and the store's."""

from __future__ import annotations

import pytest

from ldtui.core.bigsegments import store_status
from ldtui.core.health import ApiSide, Health, StoreSide, exit_code, reader_verdicts, readers, verdict

NOW = 1_800_000_000_000


def api(**kw: object) -> ApiSide:
    base = dict(
        on=True,
        available=True,
        potentially_stale=False,
        last_sync=NOW - 5000,
        last_error=None,
        error_count=0,
        last_error_message=None,
    )
    base.update(kw)
    return ApiSide(**base)  # type: ignore[arg-type]


def store(age_s: float | None = 5, *, error: str | None = None, reachable: bool = True) -> StoreSide:
    if not reachable:
        return StoreSide(configured=True, reachable=False, error="cannot connect: Connection refused")
    sync = None if age_s is None else NOW - int(age_s * 1000)
    return StoreSide(
        True, True, 0.3, store_status(synchronized_on=sync, now_ms=NOW, error=error), error=error
    )


def test_healthy() -> None:
    assert verdict(api(), store(5), NOW)[0] is Health.HEALTHY
    assert verdict(None, store(5), NOW)[0] is Health.HEALTHY  # a relay store


def test_off_wins() -> None:
    assert verdict(api(on=False), store(reachable=False), NOW)[0] is Health.OFF


def test_not_configured_names_the_key() -> None:
    h, reason, _ = verdict(api(), StoreSide(False, config_hint='add [stores."p/e"]'), NOW)
    assert h is Health.NOT_CONFIGURED and 'stores."p/e"' in reason


@pytest.mark.parametrize("side", [store(reachable=False), store(error="synchronizedOn holds 'x'")])
def test_unavailable(side: StoreSide) -> None:
    h, reason, _ = verdict(api(), side, NOW)
    assert h is Health.UNAVAILABLE and "SDKs cannot read" in reason


def test_stale_agreeing_and_missing_timestamp() -> None:
    assert verdict(api(available=False, potentially_stale=True), store(300), NOW)[0] is Health.STALE
    h, reason, _ = verdict(None, store(None), NOW)
    assert h is Health.STALE and "wrong prefix" in reason


def test_boundary_follows_the_sdk() -> None:
    assert verdict(None, store(119.9), NOW)[0] is Health.HEALTHY
    assert verdict(None, store(120), NOW)[0] is Health.STALE


def test_disagree_both_ways() -> None:
    h, reason, _ = verdict(api(), store(300), NOW)
    assert h is Health.DISAGREE and "says available" in reason
    failing = api(
        available=False,
        potentially_stale=True,
        last_error=NOW - 1000,
        error_count=2,
        last_error_message="dial tcp: i/o timeout",
    )
    h, reason, _ = verdict(failing, store(5), NOW)
    assert h is Health.DISAGREE and "i/o timeout" in reason


def test_exit_codes() -> None:
    assert exit_code([Health.HEALTHY, Health.OFF]) == 0
    assert exit_code([Health.HEALTHY, Health.STALE]) == 1
    assert exit_code([Health.STALE, Health.UNAVAILABLE]) == 2
    assert exit_code([Health.DISAGREE]) == 2
    assert exit_code([Health.NOT_CONFIGURED, Health.HEALTHY]) == 3
    assert exit_code([Health.NOT_CONFIGURED, Health.STALE]) == 1
    assert exit_code([]) == 0


# --- the whole table: every API side against every store side ------------------------------------

FAILING = dict(
    available=False,
    potentially_stale=True,
    last_error=NOW - 1000,
    error_count=2,
    last_error_message="dial tcp: i/o timeout",
    failing_since=NOW - 600_000,
)
API_SIDES = {
    "off": api(on=False),
    "available": api(),
    "potentially stale": api(available=False, potentially_stale=True, last_sync=NOW - 600_000),
    "errors": api(**FAILING),
    "unavailable, no sync yet": api(available=False, potentially_stale=False, last_sync=None),
    "no status": api(available=None, potentially_stale=None, last_sync=None),
    "none (relay store)": None,
}
UNCONFIGURED = StoreSide(False, config_hint='add [stores."p/e"]')
STORE_SIDES = {
    "unconfigured": UNCONFIGURED,
    "down": store(reachable=False),
    "fresh": store(5),
    "stale": store(300),
    "missing synchronizedOn": store(None),
}
# (api side, store side) -> (verdict, from LaunchDarkly alone?)
EXPECTED = {("off", s): ("OFF", False) for s in STORE_SIDES} | {
    ("available", "unconfigured"): ("NOT CONFIGURED", False),
    ("available", "down"): ("UNAVAILABLE", False),
    ("available", "fresh"): ("HEALTHY", False),
    ("available", "stale"): ("DISAGREE", False),
    ("available", "missing synchronizedOn"): ("DISAGREE", False),
    ("potentially stale", "unconfigured"): ("STALE", True),
    ("potentially stale", "down"): ("UNAVAILABLE", False),
    ("potentially stale", "fresh"): ("DISAGREE", False),
    ("potentially stale", "stale"): ("STALE", False),
    ("potentially stale", "missing synchronizedOn"): ("STALE", False),
    ("errors", "unconfigured"): ("UNAVAILABLE", True),
    ("errors", "down"): ("UNAVAILABLE", False),
    ("errors", "fresh"): ("DISAGREE", False),
    ("errors", "stale"): ("STALE", False),
    ("errors", "missing synchronizedOn"): ("STALE", False),
    ("unavailable, no sync yet", "unconfigured"): ("STALE", True),
    ("unavailable, no sync yet", "down"): ("UNAVAILABLE", False),
    ("unavailable, no sync yet", "fresh"): ("DISAGREE", False),
    ("unavailable, no sync yet", "stale"): ("STALE", False),
    ("unavailable, no sync yet", "missing synchronizedOn"): ("STALE", False),
    ("no status", "unconfigured"): ("NOT CONFIGURED", False),
    ("no status", "down"): ("UNAVAILABLE", False),
    ("no status", "fresh"): ("HEALTHY", False),
    ("no status", "stale"): ("STALE", False),
    ("no status", "missing synchronizedOn"): ("STALE", False),
    ("none (relay store)", "unconfigured"): ("NOT CONFIGURED", False),
    ("none (relay store)", "down"): ("UNAVAILABLE", False),
    ("none (relay store)", "fresh"): ("HEALTHY", False),
    ("none (relay store)", "stale"): ("STALE", False),
    ("none (relay store)", "missing synchronizedOn"): ("STALE", False),
}


@pytest.mark.parametrize("api_name, store_name", sorted(EXPECTED))
def test_verdict_table(api_name: str, store_name: str) -> None:
    judged = verdict(API_SIDES[api_name], STORE_SIDES[store_name], NOW)
    want, api_only = EXPECTED[(api_name, store_name)]
    assert (judged.health.value, judged.api_only) == (want, api_only)
    if api_only:
        assert judged.label == f"{want} (LaunchDarkly)"
        assert "cannot probe" in judged.reason and 'stores."p/e"' in judged.reason


def test_table_is_complete() -> None:
    assert set(EXPECTED) == {(a, s) for a in API_SIDES for s in STORE_SIDES}


def test_launchdarkly_alone_quotes_its_reason_and_counts_for_the_exit_code() -> None:
    judged = verdict(API_SIDES["errors"], UNCONFIGURED, NOW)
    assert "failing since at least 10m ago: dial tcp: i/o timeout" in judged.reason
    assert exit_code([judged.health]) == 2
    assert exit_code([verdict(API_SIDES["potentially stale"], UNCONFIGURED, NOW).health]) == 1
    assert exit_code([verdict(API_SIDES["available"], UNCONFIGURED, NOW).health]) == 3


@pytest.mark.parametrize(
    "age_s, sdk, relay",
    [
        (119, False, False),
        (120, True, False),
        (121, True, False),
        (299, True, False),
        (300, True, False),
        (301, True, True),
    ],
)
def test_each_reader_by_its_own_threshold(age_s: int, sdk: bool, relay: bool) -> None:
    """SDKs: stale at staleAfter (120 s) and after; the Relay Proxy: potentially stale only past
    its threshold (5 min); an application with staleAfter 300 s judges like an SDK at 300."""
    sync = NOW - age_s * 1000
    views = {v.reader.name: v for v in reader_verdicts(sync, NOW, readers(120, 300, {"checkout": 300}))}
    assert views["sdk"].stale is sdk
    assert views["relay"].stale is relay
    assert views["checkout"].stale is (age_s >= 300)
    if not sdk:
        assert views["sdk"].text() == f"SDKs: fresh, stale in {120 - age_s} s"


def test_readers_with_no_timestamp_are_all_stale() -> None:
    assert all(v.stale and v.stale_in_ms is None for v in reader_verdicts(None, NOW, readers(120)))
