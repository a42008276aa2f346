"""``ldtui status``'s table on a terminal narrower than it: each target on a line that fits,
its reason wrapped between words under it, indented (at 80 columns the table's rows were 300
characters, cut by the terminal mid-word into an unreadable stripe); the table as it is when
it fits, and when piped (scripts read it)."""

from __future__ import annotations

import re

import pytest

from ldtui.cli.status import status_table
from ldtui.core.bigsegments import StoreStatus
from ldtui.core.health import Health, StoreSide
from ldtui.core.store_settings import RedisStore
from ldtui.services.status import Target, TargetStatus

NOW_MS = 1_795_000_000_000
REASON = (
    "LaunchDarkly reports the sync failing since at least 20m ago: dial tcp: lookup "
    "redis.payments.invalid: no such host; ldtui cannot probe the store (add "
    '[stores."payments/production"] with type = "redis", url = "redis://HOST:6379/0" to '
    "/home/ops/.config/ldtui/config.toml to probe this store)"
)


def status(n: int, name: str, reason: str, health: Health = Health.HEALTHY) -> TargetStatus:
    t = Target(
        id=f"i{n}",
        project="default",
        environment=f"env-{n}",
        kind="redis",
        name=name,
        prefix="p",
        store_key=f"default/env-{n}",
        store=RedisStore(url="redis://127.0.0.1:1/0"),
    )
    st = StoreStatus(True, False, NOW_MS - 4000, 4000)
    store = StoreSide(configured=True, reachable=True, latency_ms=1.5, status=st)
    return TargetStatus(t, health, reason, None, store, NOW_MS)


STATUSES = [
    status(1, "Prod Redis store", "synchronizedOn 4s ago; SDKs see fresh data"),
    status(2, "Payments Redis (PCI zone)", REASON, Health.UNAVAILABLE),
    status(3, "L" * 5000, "synchronizedOn 4s ago; SDKs see fresh data"),
    status(4, "evil \x1b]52;c;aGVsbG8=\x07 \x1b[2J \u202e", "\x1b[2J" + REASON),
]


def words(text: str) -> list[str]:
    return text.split()


@pytest.mark.parametrize("width", [80, 120])
def test_a_narrow_terminal_gets_lines_that_fit_with_whole_words(width: int) -> None:
    table = status_table(STATUSES, NOW_MS, width=width)
    lines = table.splitlines()
    assert all(len(line) <= width for line in lines), [line for line in lines if len(line) > width]
    # Every word of every reason is there, whole, in order.
    reasons = " ".join(line.strip() for line in lines if line.startswith("    "))
    for s in STATUSES[:2]:
        assert " ".join(words(s.reason)) in reasons
    # One line per target starts at the left edge, with its verdict first.
    heads = [line for line in lines if line and not line.startswith(" ")]
    assert [h.split()[0] for h in heads[1:]] == ["HEALTHY", "UNAVAILABLE", "HEALTHY", "HEALTHY"]
    assert "default/env-2" in heads[2] and "Payments Redis (PCI zone)" in heads[2]
    assert "4s ago" in table


def test_everything_stays_escaped_on_a_narrow_terminal() -> None:
    table = status_table(STATUSES, NOW_MS, width=80)
    assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f\u202e]", table)
    assert "\\x1b]52;c;aGVsbG8=\\x07" in table


def test_the_table_is_unchanged_when_it_fits_or_is_piped() -> None:
    piped = status_table(STATUSES, NOW_MS)
    assert piped == status_table(STATUSES, NOW_MS, width=10_000)
    head = piped.splitlines()[0]
    assert head.split() == [
        "VERDICT",
        "PROJECT/ENVIRONMENT",
        "STORE",
        "NAME",
        "SYNCHRONIZED",
        "LATENCY",
        "REASON",
    ]
    assert len(piped.splitlines()) == 1 + len(STATUSES)
