"""The verdict rules: every combination of LaunchDarkly's view and the store's."""

from __future__ import annotations

import pytest

from ldtui.core.bigsegments import store_status
from ldtui.core.health import ApiSide, Health, StoreSide, exit_code, verdict

NOW = 1_800_000_000_000


def api(**kw: object) -> ApiSide:
    base = dict(on=True, available=True, potentially_stale=False, last_sync=NOW - 5000,
                last_error=None, error_count=0, last_error_message=None)
    base.update(kw)
    return ApiSide(**base)  # type: ignore[arg-type]


def store(age_s: float | None = 5, *, error: str | None = None, reachable: bool = True) -> StoreSide:
    if not reachable:
        return StoreSide(configured=True, reachable=False, error="cannot connect: Connection refused")
    sync = None if age_s is None else NOW - int(age_s * 1000)
    return StoreSide(True, True, 0.3, store_status(synchronized_on=sync, now_ms=NOW, error=error), error=error)


def test_healthy() -> None:
    assert verdict(api(), store(5), NOW)[0] is Health.HEALTHY
    assert verdict(None, store(5), NOW)[0] is Health.HEALTHY  # a relay store


def test_off_wins() -> None:
    assert verdict(api(on=False), store(reachable=False), NOW)[0] is Health.OFF


def test_not_configured_names_the_key() -> None:
    h, reason = verdict(api(), StoreSide(False, config_hint='add [stores."p/e"]'), NOW)
    assert h is Health.NOT_CONFIGURED and 'stores."p/e"' in reason


@pytest.mark.parametrize("side", [store(reachable=False), store(error="synchronizedOn holds 'x'")])
def test_unavailable(side: StoreSide) -> None:
    h, reason = verdict(api(), side, NOW)
    assert h is Health.UNAVAILABLE and "SDKs cannot read" in reason


def test_stale_agreeing_and_missing_timestamp() -> None:
    assert verdict(api(available=False, potentially_stale=True), store(300), NOW)[0] is Health.STALE
    h, reason = verdict(None, store(None), NOW)
    assert h is Health.STALE and "wrong prefix" in reason


def test_boundary_follows_the_sdk() -> None:
    assert verdict(None, store(119.9), NOW)[0] is Health.HEALTHY
    assert verdict(None, store(120), NOW)[0] is Health.STALE


def test_disagree_both_ways() -> None:
    h, reason = verdict(api(), store(300), NOW)
    assert h is Health.DISAGREE and "says available" in reason
    failing = api(available=False, potentially_stale=True, last_error=NOW - 1000, error_count=2,
                  last_error_message="dial tcp: i/o timeout")
    h, reason = verdict(failing, store(5), NOW)
    assert h is Health.DISAGREE and "i/o timeout" in reason


def test_exit_codes() -> None:
    assert exit_code([Health.HEALTHY, Health.OFF]) == 0
    assert exit_code([Health.HEALTHY, Health.STALE]) == 1
    assert exit_code([Health.STALE, Health.UNAVAILABLE]) == 2
    assert exit_code([Health.DISAGREE]) == 2
    assert exit_code([Health.NOT_CONFIGURED, Health.HEALTHY]) == 3
    assert exit_code([Health.NOT_CONFIGURED, Health.STALE]) == 1
    assert exit_code([]) == 0
