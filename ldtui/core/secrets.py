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


# --- URLs ----------------------------------------------------------------------------------------

# Query parameters that carry a secret in a connection URL (``?password=…``).
_SECRET_PARAM = re.compile(r"(?i)([?&;](?:password|passwd|pass|pwd|secret|token|auth)[^=&;#]*=)([^&;#]*)")


def _userinfo(url: str) -> tuple[int, int] | None:
    """Where the credentials of ``url`` are: from after ``scheme://`` (or the start) to the
    *last* ``@``. Deliberately not urllib's parse: a password holding ``/``, ``#`` or ``?``
    makes urllib cut the authority short and show the rest of the password as a path."""
    at = url.rfind("@")
    if at < 0:
        return None
    scheme_end = url.find("://")
    start = scheme_end + 3 if 0 <= scheme_end < at else 0
    return start, at


def _parses_cleanly(url: str, userinfo: str) -> bool:
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port out of range
    except ValueError:
        return False
    return parts.username == userinfo and parts.password is None


def url_has_credentials(url: str) -> bool:
    """True when ``url`` holds a password (in its userinfo or a query parameter)."""
    span = _userinfo(url)
    if span is not None and ":" in url[span[0] : span[1]]:
        return True
    return bool(_SECRET_PARAM.search(url))


def redact_url(url: str) -> str:
    """``url`` fit to show: the password masked (``redis://user:********@host:6379/0``), and
    any ``password=`` query parameter too.

    The one URL redaction of ldtui. It never returns its input unredacted on a URL it cannot
    parse: a userinfo it cannot read with certainty (``redis://:pa/ss@host``, a bad port) is
    masked whole, user name included.
    """
    text = _SECRET_PARAM.sub(lambda m: m.group(1) + REDACTION_FILL, url)
    span = _userinfo(text)
    if span is None:
        return text
    start, at = span
    userinfo = text[start:at]
    user, colon, _ = userinfo.partition(":")
    if colon:
        shown = (
            f"{user}:{REDACTION_FILL}"
            if user and _parses_cleanly(text.replace(userinfo, user, 1), user)
            else REDACTION_FILL
        )
    elif _parses_cleanly(text, userinfo):
        shown = userinfo  # a user name alone is no secret
    else:
        shown = REDACTION_FILL
    return f"{text[:start]}{shown}{text[at:]}"
