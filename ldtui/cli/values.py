"""argparse ``type`` functions for values that are not settings (settings go through
``ldtui.cli.flags``, validated by their own model)."""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable


def tcp_port(*, allow_any: bool) -> Callable[[str], int]:
    """A TCP port, 1-65535 (0 too when ``allow_any``: "any free port")."""
    low = 0 if allow_any else 1

    def parse(text: str) -> int:
        if not (text.isascii() and text.isdigit()) or len(text) > 5 or not low <= int(text) <= 65535:
            raise argparse.ArgumentTypeError(f"{text[:20]!r} is not a TCP port ({low}-65535)")
        return int(text)

    parse.__name__ = "port"
    return parse


def count(*, minimum: int = 0, maximum: int = 10_000_000) -> Callable[[str], int]:
    """A whole number within bounds (a 5,000-digit "count" is refused before ``int()``)."""

    def parse(text: str) -> int:
        digits = text.lstrip("+")
        if (
            not (digits.isascii() and digits.isdigit())
            or len(digits) > 12
            or not minimum <= int(digits) <= maximum
        ):
            raise argparse.ArgumentTypeError(
                f"{text[:20]!r} is not a whole number from {minimum} to {maximum:,}"
            )
        return int(digits)

    parse.__name__ = "count"
    return parse


def seconds(*, maximum: float = 86_400.0) -> Callable[[str], float]:
    """A positive, finite number of seconds (``nan``, ``inf``, 0 and negatives refused)."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        if not (math.isfinite(value) and 0 < value <= maximum):
            raise argparse.ArgumentTypeError(
                f"{text[:20]!r} is not a positive number of seconds (at most {maximum:g})"
            )
        return value

    parse.__name__ = "seconds"
    return parse
