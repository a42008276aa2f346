"""The monitoring-plugin conventions (Nagios, Icinga, Naemon, Sensu's check format): threshold
ranges, perfdata, the one-line status. Pure: no I/O.

Ranges (the plugin development guidelines): ``10`` alerts outside 0..10; ``10:`` below 10;
``~:10`` above 10; ``10:20`` outside 10..20; ``@10:20`` inside 10..20 (bounds included).
Perfdata: ``'label'=value[unit];[warn];[crit];[min];[max]``, labels quoted with ``'`` (a quote
inside doubled), several separated by spaces after a ``|``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

STATES = ("OK", "WARNING", "CRITICAL", "UNKNOWN")


class RangeError(ValueError):
    pass


@dataclass(frozen=True)
class Range:
    text: str
    start: float
    end: float
    inside: bool  # "@": alert when the value is inside, not outside

    def alerts(self, value: float) -> bool:
        within = self.start <= value <= self.end
        return within if self.inside else not within


def _number(text: str, what: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise RangeError(f"{what} {text!r} is not a number") from None
    if math.isnan(value):
        raise RangeError(f"{what} is not a number")
    return value


def parse_range(text: str) -> Range:
    """A threshold range as the plugin guidelines define it; ``RangeError`` says what is wrong."""
    raw = text.strip()
    if not raw:
        raise RangeError("an empty range: use for example 120, 120:, ~:120, 60:120 or @60:120")
    inside = raw.startswith("@")
    body = raw[1:] if inside else raw
    if ":" in body:
        low, high = body.split(":", 1)
        start = -math.inf if low == "~" else (_number(low, "the start") if low else 0.0)
        end = _number(high, "the end") if high else math.inf
    else:
        start, end = 0.0, _number(body, "the end")
    if start > end:
        raise RangeError(f"the start ({start:g}) is above the end ({end:g})")
    return Range(raw, start, end, inside)


def quote_label(label: str) -> str:
    return "'" + label.replace("'", "''") + "'"


def perfdata(
    label: str,
    value: float,
    unit: str = "",
    *,
    warn: str = "",
    crit: str = "",
    minimum: float | None = None,
    maximum: float | None = None,
) -> str:
    def num(v: float | None) -> str:
        return "" if v is None else f"{v:g}"

    return f"{quote_label(label)}={value:g}{unit};{warn};{crit};{num(minimum)};{num(maximum)}"


def status_line(service: str, code: int, summary: str, perf: list[str]) -> str:
    """``SERVICE STATE - summary | perfdata …`` (the summary never holds a ``|``)."""
    line = f"{service} {STATES[code]} - {summary.replace('|', '/')}"
    return f"{line} | {' '.join(perf)}" if perf else line
