"""Monitoring-plugin ranges and perfdata, as the plugin development guidelines define them."""

from __future__ import annotations

import math

import pytest

from ldtui.core.nagios import RangeError, parse_range, perfdata, quote_label, status_line


@pytest.mark.parametrize(
    "text, alerting, quiet",
    [
        ("10", [-1, 10.5, 11], [0, 5, 10]),  # outside 0..10
        ("10:", [9.9, -5], [10, 11, 1e9]),  # below 10
        ("~:10", [10.1, 1e9], [-1e9, 0, 10]),  # above 10
        ("10:20", [9, 21], [10, 15, 20]),  # outside 10..20
        ("@10:20", [10, 15, 20], [9, 21]),  # inside 10..20, bounds included
        ("@~:0", [-3, 0], [0.5]),
    ],
)
def test_ranges(text: str, alerting: list[float], quiet: list[float]) -> None:
    r = parse_range(text)
    assert all(r.alerts(v) for v in alerting)
    assert not any(r.alerts(v) for v in quiet)


@pytest.mark.parametrize("text", ["", "abc", "20:10", "~:x", "nan", "@"])
def test_bad_ranges_say_why(text: str) -> None:
    with pytest.raises(RangeError):
        parse_range(text)


def test_open_ended_bounds() -> None:
    assert parse_range("5:").end == math.inf and parse_range("~:5").start == -math.inf


def test_perfdata_and_line() -> None:
    assert quote_label("it's") == "'it''s'"
    assert (
        perfdata("p/e redis age", 37.0, "s", warn="~:120", crit="~:300", minimum=0)
        == "'p/e redis age'=37s;~:120;~:300;0;"
    )
    line = status_line("BIG SEGMENTS", 1, "1 STALE | 3 HEALTHY", ["'a'=1s;;;;"])
    assert line == "BIG SEGMENTS WARNING - 1 STALE / 3 HEALTHY | 'a'=1s;;;;"
