"""``ldtui doctor``'s text on a terminal: lines wrapped between words to its width under their
column (never cut mid-word by the terminal), one line per check when piped; escaped whatever
the server said; and the fix of an API failure that says what to do about that failure."""

from __future__ import annotations

import re

import pytest

from ldtui.api.errors import NETWORK_ERROR, TIMEOUT, ApiError, RequestContext
from ldtui.cli.doctor import _api_failure, progress_line, text_report
from ldtui.core.doctor import Check

LONG = (
    "the writer user 'default' may run GET SET SADD SREM DEL WATCH PING MULTI EXEC on "
    "1027c4d1c386bbc4cd613e30:* (ACL DRYRUN)"
)
FIX = (
    "require a password (ACL SETUSER default on >PASSWORD, or requirepass): the store is "
    "reachable by LaunchDarkly, so it is reachable from outside"
)
CHECKS = [
    Check("redis.writer_acl", "default/production/redis", "PASS", LONG),
    Check("redis.auth", "default/production/redis", "WARN", "the server answers without any password", FIX),
    Check("redis.memory", "default/production/redis", "PASS", "no maxmemory limit; 2.2 MiB used"),
    Check("redis.prefix", "default/production/redis", "FAIL", "x" * 300, "the SDKs' prefix"),
]


def words(text: str) -> list[str]:
    return re.sub(r"\bfix:", " ", text).split()


@pytest.mark.parametrize("width", [80, 100, 120])
def test_lines_fit_the_terminal_and_break_between_words(width: int) -> None:
    report = text_report(CHECKS, width=width)
    lines = report.splitlines()
    assert all(len(line) <= width for line in lines), [line for line in lines if len(line) > width]
    # No word is cut (the 300-character word is longer than any line: it alone may be split).
    assert [w for w in words(report) if not w.startswith("x")] == [
        w for w in words(text_report(CHECKS)) if not w.startswith("x")
    ]
    assert "".join(w for w in words(report) if w.startswith("x")) == "x" * 300
    # Continuation lines sit under the text column, not under the id.
    column = lines[1].index("the writer")
    assert lines[2].startswith(" " * column) and lines[2].strip()


def test_piped_output_is_one_line_per_check() -> None:
    report = text_report(CHECKS)
    assert LONG in report and FIX in report
    assert len(report.splitlines()) == 1 + len(CHECKS) + 2 + 2  # target, checks, 2 fixes, blank and totals


def test_a_narrow_terminal_still_gets_whole_words() -> None:
    report = text_report(CHECKS, width=30)
    assert words(report)[:10] == words(text_report(CHECKS))[:10]
    assert max(len(line) for line in report.splitlines() if "x" not in line) <= 24 + 5 + 20


def test_wrapped_output_stays_escaped() -> None:
    hostile = Check("redis.reachable", "t", "FAIL", "\x1b]52;c;aGVsbG8=\x07 " * 20, "\x1b[2J clear")
    report = text_report([hostile], width=80)
    assert "\x1b" not in report and "\x07" not in report
    assert "\\x1b]52;c;aGVsbG8=\\x07" in report


def test_progress_fits_one_terminal_line() -> None:
    line = progress_line("default/production/redis: looking for prefixes… " * 5, width=80)
    assert line.startswith("\r\x1b[K")
    assert len(line) - len("\r\x1b[K") <= 79
    assert "\x1b" not in line[len("\r\x1b[K") :]


def context() -> RequestContext:
    return RequestContext("GET", "/api/v2/integration-capabilities/big-segment-store", beta=True)


def test_an_api_outage_is_not_blamed_on_the_token() -> None:
    for exc in (
        ApiError(status=503, code="internal_error", message="Injected server error", context=context()),
        ApiError(status=None, code=TIMEOUT, message="no complete answer within 10 s", context=context()),
        ApiError(
            status=None, code=NETWORK_ERROR, message="All connection attempts failed", context=context()
        ),
    ):
        check = _api_failure(exc)
        assert check.result == "FAIL"
        assert "token" not in check.fix, (exc, check.fix)
        assert check.fix == exc.hint


def test_a_refused_token_says_so() -> None:
    exc = ApiError(status=401, code="unauthorized", message="Invalid access token", context=context())
    assert "token" in _api_failure(exc).fix
