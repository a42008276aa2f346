"""What every command prints the same way: errors on stderr, always through ``literal`` (a
message may quote a file name, a key or a server's text)."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from ldtui.core.text import literal, literal_lines

if TYPE_CHECKING:
    from ldtui.config_file import ConfigError


def error(prog: str, message: object) -> None:
    """``prog: message`` on stderr, control characters spelled out."""
    # safe-text: prog is a command's own name
    print(f"{prog}: {literal_lines(str(message))}", file=sys.stderr)


def say_config_error(exc: ConfigError) -> None:
    print(f"ldtui: configuration error: {literal_lines(str(exc))}", file=sys.stderr)


def note(prog: str, message: object) -> None:
    print(f"{prog}: {literal(message)}", file=sys.stderr)  # safe-text: prog is a command's own name
