from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ldtui.core.integration_status import ApiStatus, summarize
from ldtui.core.models import BigSegmentStoreIntegration
from ldtui.core.text import literal, next_change_ms, relative_age
from tests.factories import integration_body

NOW = 1_800_000_000_000


@pytest.mark.parametrize(
    "raw, shown",
    [
        ("plain [bold]x[/]", "plain [bold]x[/]"),
        ("\x1b[31mred\x1b[0m", "\\x1b[31mred\\x1b[0m"),
        ("bell\x07 nul\x00 del\x7f c1\x9b", "bell\\x07 nul\\x00 del\\x7f c1\\x9b"),
        ("line\nbreak\ttab", "line\\x0abreak\\x09tab"),
        ("rtl\u202eevil", "rtl\\u202eevil"),
        ("isolate\u2066x\u2069 mark\u200f", "isolate\\u2066x\\u2069 mark\\u200f"),
        ("lone \udc9b surrogate", "lone \\udc9b surrogate"),
        ("osc52 \x1b]52;c;Y3VybA==\x07", "osc52 \\x1b]52;c;Y3VybA==\\x07"),
        ("csi \x9b2J", "csi \\x9b2J"),
        ("ключ ユーザー 😀", "ключ ユーザー 😀"),
        # Past U+FFFF, eight digits: "\ue0080" would read as U+E008 (a private-use character,
        # shown as it is) followed by "0".
        ("unassigned \ud7ff and \U000e0080 and \uffff", "unassigned \\ud7ff and \\U000e0080 and \\uffff"),
        ("unassigned \U000e0080 vs private \ue0080", "unassigned \\U000e0080 vs private \ue0080"),
    ],
)
def test_literal(raw: str, shown: str) -> None:
    assert literal(raw) == shown


@pytest.mark.parametrize(
    "delta_s, text",
    [
        (0, "0s ago"),
        (59, "59s ago"),
        (60, "1m ago"),
        (3599, "59m ago"),
        (3600, "1h ago"),
        (3660, "1h 1m ago"),
        (86400 * 3, "3d ago"),
        (-5, "just now"),
    ],
)
def test_relative_age(delta_s: int, text: str) -> None:
    assert relative_age(NOW - delta_s * 1000, NOW) == text
    assert relative_age(None, NOW) == "never"


def integ(**kw: object) -> BigSegmentStoreIntegration:
    return BigSegmentStoreIntegration.model_validate(integration_body(**kw))  # type: ignore[arg-type]


def test_status_words() -> None:
    assert summarize(integ(on=False, status={"available": True}), NOW).word is ApiStatus.OFF
    assert summarize(integ(on=True, status={}), NOW).word is ApiStatus.UNKNOWN
    ok = summarize(
        integ(on=True, status={"available": True, "potentiallyStale": False, "lastSync": NOW - 4000}), NOW
    )
    assert ok.word is ApiStatus.OK and ok.reason == "synchronized 4s ago"
    stale = summarize(
        integ(on=True, status={"available": False, "potentiallyStale": True, "lastSync": NOW - 600_000}), NOW
    )
    assert stale.word is ApiStatus.STALE and "10m ago" in stale.reason
    err = summarize(
        integ(
            on=True,
            status={
                "available": False,
                "potentiallyStale": True,
                "lastSync": NOW - 900_000,
                "lastError": NOW - 1000,
                "errors": [
                    {"statusCode": 500, "message": "old", "timestamp": NOW - 5000},
                    {"statusCode": 500, "message": "dial tcp: \x1b[31mno such host", "timestamp": NOW - 1000},
                ],
            },
        ),
        NOW,
    )
    assert err.word is ApiStatus.ERROR and err.error_count == 2
    assert err.last_error_message == "dial tcp: \\x1b[31mno such host"
    assert "\x1b" not in err.reason
    recovered = summarize(
        integ(
            on=True,
            status={
                "available": True,
                "potentiallyStale": False,
                "lastSync": NOW,
                "lastError": NOW - 60_000,
                "errors": [{"message": "x", "timestamp": NOW - 60_000}],
            },
        ),
        NOW,
    )
    assert recovered.word is ApiStatus.OK


def test_failing_since_is_the_first_error_of_the_current_run() -> None:
    """An integration failing for ten minutes says so, not "since 5s ago" (its latest error)."""
    body = {
        "available": False,
        "potentiallyStale": True,
        "lastSync": NOW - 900_000,
        "lastError": NOW - 5_000,
        "errors": [
            {"message": "before the last sync", "timestamp": NOW - 1_000_000},
            {"message": "first of this run", "timestamp": NOW - 600_000},
            {"message": "latest", "timestamp": NOW - 5_000},
        ],
    }
    s = summarize(integ(on=True, status=body), NOW)
    assert s.word is ApiStatus.ERROR
    assert s.failing_since == NOW - 600_000
    assert s.reason == "sync failing since 10m ago (latest 5s ago): latest"
    assert s.failing_since_exact  # an error from before the last sync is listed: none is missing
    # No timestamps on the errors: lastError is all there is, and earlier ones may be unlisted.
    s = summarize(integ(on=True, status={"lastSync": NOW - 60_000, "lastError": NOW - 30_000}), NOW)
    assert s.failing_since == NOW - 30_000 and s.reason == "sync failing since at least 30s ago"
    assert not s.failing_since_exact and s.failing_since_text(NOW + 60_000) == "at least 1m ago"
    # A sync after the errors: not failing.
    s = summarize(
        integ(
            on=True,
            status={
                "available": True,
                "lastSync": NOW - 1_000,
                "lastError": NOW - 30_000,
                "errors": [{"message": "x", "timestamp": NOW - 30_000}],
            },
        ),
        NOW,
    )
    assert s.failing_since is None and s.word is ApiStatus.OK


@given(then=st.integers(0, 10**13), elapsed=st.integers(-(10**6), 10**10))
def test_an_age_reads_the_same_until_its_next_change(then: int, elapsed: int) -> None:
    """Screens redraw an age only at next_change_ms: until then its words must not change, and
    at that moment they must."""
    now = then + elapsed
    text = relative_age(then, now)
    nxt = next_change_ms(then, now)
    assert nxt > now
    assert relative_age(then, int(nxt) - 1) == text
    assert relative_age(then, int(nxt)) != text


def test_failing_since_is_a_lower_bound_unless_the_errors_reach_past_the_last_sync() -> None:
    """The API's ``errors`` need not hold every error: the earliest listed of the run is when it
    began only if the list also holds one from before the last good sync. Otherwise "since at
    least", and an integration that never synchronized says so."""
    only_this_run = {
        "available": False,
        "lastSync": NOW - 900_000,
        "lastError": NOW - 5_000,
        "errors": [
            {"message": "a", "timestamp": NOW - 120_000},
            {"message": "latest", "timestamp": NOW - 5_000},
        ],
    }
    s = summarize(integ(on=True, status=only_this_run), NOW)
    assert s.failing_since == NOW - 120_000 and not s.failing_since_exact
    assert s.reason == "sync failing since at least 2m ago (latest 5s ago): latest"
    never = {
        "available": False,
        "lastError": NOW - 5_000,
        "errors": [
            {"message": "refused", "timestamp": NOW - 300_000},
            {"message": "refused", "timestamp": NOW - 5_000},
        ],
    }
    s = summarize(integ(on=True, status=never), NOW)
    assert not s.failing_since_exact
    assert s.reason == "sync failing since at least 5m ago, never synchronized (latest 5s ago): refused"
    # The JSON says which it is.
    from ldtui.services.status import api_side

    side = api_side(integ(on=True, status=only_this_run), NOW)
    assert side.failing_since == NOW - 120_000 and side.failing_since_exact is False
