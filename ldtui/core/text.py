"""Untrusted text (names, keys, messages from the API or a store) made safe to show.

Markup is neutralised by never parsing it (the UI builds ``Text``/``Content`` objects, not
markup strings); control characters, which would reach the terminal as escape sequences, are
replaced here by their visible ``\\xNN`` spelling.
"""

from __future__ import annotations

import re
from unicodedata import category

# C0 controls (ESC among them), DEL and C1 controls; the Unicode line/paragraph separators;
# BiDi overrides, isolates and marks that can reorder what a terminal shows; zero-width space
# and BOM, which hide inside a name; and lone surrogates (valid JSON, not encodable: printing
# one raises UnicodeEncodeError).
_CONTROL = re.compile(
    "[\x00-\x1f\x7f-\x9f\u061c\u200b\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff\ud800-\udfff]"
)


def _escape(m: re.Match[str]) -> str:
    c = ord(m.group(0))
    return f"\\x{c:02x}" if c <= 0xFF else f"\\u{c:04x}"


def literal(text: object) -> str:
    """``text`` with every control character spelled out (``\\x1b[31m`` shows as typed), and
    every code point Unicode has not assigned (a terminal draws those at a width nobody can
    predict, shifting the columns after them)."""
    shown = _CONTROL.sub(_escape, str(text))
    if shown.isascii():
        return shown
    if not any(category(c) == "Cn" for c in shown if c > "\x7f"):
        return shown
    return "".join(_spelled(c) if c > "\x7f" and category(c) == "Cn" else c for c in shown)


def _spelled(c: str) -> str:
    """A code point as Python spells it in a string: past U+FFFF, eight digits
    (``\\ue0080`` would read as U+E008 and a ``0``)."""
    n = ord(c)
    return f"\\u{n:04x}" if n <= 0xFFFF else f"\\U{n:08x}"


def relative_age(then_ms: int | None, now_ms: int) -> str:
    """How long ago, compactly: ``12s ago``, ``4m ago``, ``3h 5m ago``, ``2d ago``; ``never``.
    A time in the future (the writer's clock ahead of ours) is ``just now``, never "in 5s"."""
    if then_ms is None:
        return "never"
    seconds = (now_ms - then_ms) // 1000
    if seconds < 0:
        return "just now"
    if seconds < 60:
        return f"{seconds}s ago"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes}m ago"
    hours = minutes // 60
    if hours < 24:
        rest = minutes % 60
        return f"{hours}h {rest}m ago" if rest else f"{hours}h ago"
    return f"{hours // 24}d ago"


def next_change_ms(then_ms: int | None, now_ms: int) -> float:
    """When ``relative_age(then_ms, ·)`` next reads differently (epoch ms; ``inf``: never), so a
    screen redraws an age only when its words change."""
    if then_ms is None:
        return float("inf")
    elapsed = now_ms - then_ms
    if elapsed < 0:
        return float(then_ms)
    seconds = elapsed // 1000
    if seconds < 60:
        step = 1000
    elif seconds < 86400:
        step = 60_000
    else:
        step = 86_400_000
    return float(then_ms + (elapsed // step + 1) * step)


def truncate(text: str, width: int) -> str:
    return text if len(text) <= width else text[: max(0, width - 1)] + "…"


def literal_lines(text: str) -> str:
    """Like ``literal`` but keeps the line breaks of multi-line text we formatted ourselves."""
    return "\n".join(literal(line) for line in text.split("\n"))
