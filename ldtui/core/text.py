"""Untrusted text (names, keys, messages from the API or a store) made safe to show.

Markup is neutralised by never parsing it (the UI builds ``Text``/``Content`` objects, not
markup strings); control characters, which would reach the terminal as escape sequences, are
replaced here by their visible ``\\xNN`` spelling.
"""

from __future__ import annotations

import re

# C0 controls, DEL and C1 controls; plus the Unicode line/paragraph separators and BiDi
# overrides that can reorder what a terminal shows.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def _escape(m: re.Match[str]) -> str:
    c = ord(m.group(0))
    return f"\\x{c:02x}" if c <= 0xFF else f"\\u{c:04x}"


def literal(text: object) -> str:
    """``text`` with every control character spelled out (``\\x1b[31m`` shows as typed)."""
    return _CONTROL.sub(_escape, str(text))


def relative_age(then_ms: int | None, now_ms: int) -> str:
    """How long ago, compactly: ``12s``, ``4m``, ``3h 5m``, ``2d``; ``never``; ``in 5s``."""
    if then_ms is None:
        return "never"
    seconds = (now_ms - then_ms) // 1000
    if seconds < 0:
        return f"in {-seconds}s"
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


def truncate(text: str, width: int) -> str:
    return text if len(text) <= width else text[: max(0, width - 1)] + "…"


def literal_lines(text: str) -> str:
    """Like ``literal`` but keeps the line breaks of multi-line text we formatted ourselves."""
    return "\n".join(literal(line) for line in text.split("\n"))
