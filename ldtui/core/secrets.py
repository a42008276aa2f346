"""Secret values: LaunchDarkly's redaction format and ldtui's own masking for display.

LaunchDarkly returns a stored secret (the Redis ``password``) redacted as the first three
characters, eight asterisks and the last three (``sup********123``; api-contract.md §5). A
client must recognise that form and never send it back as if it were a new value.
"""

from __future__ import annotations

import re

REDACTION_FILL = "*" * 8
_REDACTED = re.compile(r"^.{0,3}\*{8}.{0,3}$", re.DOTALL)


def redact_like_launchdarkly(secret: str) -> str:
    """Redact a secret the way the API does on read.

    Values of six characters or fewer would be revealed entirely by "first 3 + last 3", so
    they become the fill alone (an emulator choice; the API's rule for short values is
    undocumented).
    """
    if len(secret) <= 6:
        return REDACTION_FILL
    return f"{secret[:3]}{REDACTION_FILL}{secret[-3:]}"


def is_redacted(value: object) -> bool:
    """True when ``value`` is a secret as the API shows it on read (``abc********xyz``)."""
    return isinstance(value, str) and bool(_REDACTED.match(value))


def mask_secret(value: str | None) -> str:
    """How ldtui shows a secret anywhere a person or a log can read it.

    Never more than the last four characters, and only for values long enough that four
    characters give nothing useful away; the length is not revealed either.
    """
    if not value:
        return "(empty)"
    if len(value) >= 16:
        return f"****{value[-4:]}"
    return "********"
