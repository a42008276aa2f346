"""Flag values validated by the settings models themselves: ``--stale-after`` obeys exactly
what ``status.stale_after`` and ``LDTUI_STALE_AFTER`` obey, so a value refused in the file is
refused on the command line too (exit 64 there, naming the flag, by argparse)."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any


def setting(section: str, field: str) -> Callable[[str], Any]:
    """An argparse ``type`` that validates its text as the setting ``section.field`` (for
    example ``("status", "stale_after")``, or ``("redis", "timeout")`` for a Redis store's);
    pydantic loads only when the flag is given."""

    def parse(text: str) -> Any:
        from ldtui.config import SettingError, validate_setting

        try:
            return validate_setting(section, field, text)
        except SettingError as exc:
            raise argparse.ArgumentTypeError(f"{text!r}: {exc}") from None

    parse.__name__ = field  # argparse names the type in some messages
    return parse
