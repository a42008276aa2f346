"""``ldtui status``: the health of every big segment store, as the status panel shows it,
for scripts and monitoring (exit codes 0/1/2/3, see ``ExitCode``).

A check that monitoring relies on must never go quiet: every round prints one result (one
JSON document with ``--json``, one plugin line with ``--nagios``), also when the API fails
(the stores are still probed, the API's error beside them) and when the whole check runs out
of time (``--timeout``: what it has, exit 3). ``--watch`` survives every failure."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ldtui.cli.exit_codes import ExitCode
from ldtui.cli.flags import setting
from ldtui.cli.parser import Subcommands
from ldtui.core.text import literal, relative_age, truncate

if TYPE_CHECKING:
    from collections.abc import Sequence

    from ldtui.config import Config
    from ldtui.core.nagios import Range
    from ldtui.services.status import StatusService, TargetStatus

DEFAULT_TIMEOUT_S = 30.0


def _range(text: str) -> Range:
    from ldtui.core.nagios import RangeError, parse_range

    try:
        return parse_range(text)
    except RangeError as exc:
        raise argparse.ArgumentTypeError(f"{text!r}: {exc}") from None


def register(sub: Subcommands) -> None:
    p = sub.add_parser(
        "status",
        help="health of every big segment store: LaunchDarkly's view and the store's own",
        description="One verdict per integration (and per configured store): HEALTHY, STALE, "
        "UNAVAILABLE, OFF, NOT CONFIGURED or DISAGREE. Exit code: 0 all healthy or off, 1 any "
        "stale, 2 any unavailable or disagreeing (or the API failing), 3 only unverifiable (not "
        "configured, or out of time), 78 configuration error.",
    )
    out = p.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true", help="print JSON (one document per round)")
    out.add_argument(
        "--nagios",
        action="store_true",
        help="print one monitoring-plugin line with perfdata (Nagios, Icinga, Sensu)",
    )
    p.add_argument(
        "--watch",
        type=setting("status", "poll_interval"),
        metavar="SECONDS",
        help="check again every SECONDS (positive, like status.poll_interval)",
    )
    p.add_argument(
        "--stale-after",
        type=setting("status", "stale_after"),
        metavar="SECONDS",
        help="the SDKs' staleAfter (default: status.stale_after, 120)",
    )
    p.add_argument(
        "--reader",
        metavar="NAME",
        help="judge staleness as this reader does: sdk (default), relay, or an application of "
        "[status.readers]",
    )
    p.add_argument(
        "--timeout",
        type=setting("status", "poll_interval"),
        default=DEFAULT_TIMEOUT_S,
        metavar="SECONDS",
        help=f"the whole check's deadline (default {DEFAULT_TIMEOUT_S:g}); past it, exit 3 with what it has",
    )
    p.add_argument(
        "-w",
        "--warning",
        type=_range,
        metavar="RANGE",
        help="with --nagios: WARNING when a store's age (s) is outside RANGE (default: ~:stale_after)",
    )
    p.add_argument(
        "-c",
        "--critical",
        type=_range,
        metavar="RANGE",
        help="with --nagios: CRITICAL when a store's age (s) is outside RANGE (default: ~:relay_stale_after)",
    )
    p.set_defaults(func=run)


@dataclass(frozen=True)
class StatusRequest:
    config: str | None
    profile: str | None
    json: bool
    nagios: bool
    watch: float | None
    stale_after: float | None
    reader: str | None
    timeout: float
    warning: Range | None
    critical: Range | None


def request(args: argparse.Namespace) -> StatusRequest:
    return StatusRequest(
        args.config,
        args.profile,
        args.json,
        args.nagios,
        args.watch,
        args.stale_after,
        args.reader,
        args.timeout,
        args.warning,
        args.critical,
    )


@dataclass
class Round:
    """One round's result: every target that answered, and what went wrong around them."""

    statuses: list[TargetStatus] = field(default_factory=list)
    expected: int = 0
    api_error: Any = None
    timed_out: bool = False
    # The API gave no answer within its share of the round (seconds): the stores were probed
    # without it. Out of time, as a round that outruns --timeout is (exit 3 at best).
    api_timed_out: float | None = None

    def error_json(self, timeout: float) -> dict[str, Any] | None:
        if self.api_timed_out is not None and not self.timed_out:
            return {
                "kind": "timeout",
                "message": f"LaunchDarkly's API gave no answer within {self.api_timed_out:g} s "
                f"(of --timeout {timeout:g}); the stores were probed without it: "
                f"{len(self.statuses)} of {self.expected} targets answered",
            }
        if self.timed_out:
            return {
                "kind": "timeout",
                "message": f"no complete answer within {timeout:g} s: "
                f"{len(self.statuses)} of {self.expected or '?'} targets answered",
            }
        if self.api_error is not None:
            e = self.api_error
            return {"kind": "api", "status": e.status, "code": e.code, "message": e.message}
        return None


def status_table(statuses: list[TargetStatus], now_ms: int, *, width: int | None = None) -> str:
    """The table, one row per target. With ``width`` (a terminal's) narrower than the table,
    each target takes a line that fits (verdict, where, store, name, age, latency) and its
    reason follows, wrapped between words and indented: the terminal would otherwise cut every
    row mid-word. Piped (no ``width``), it is always the table."""
    rows = [("VERDICT", "PROJECT/ENVIRONMENT", "STORE", "NAME", "SYNCHRONIZED", "LATENCY", "REASON")]
    for s in statuses:
        t = s.target
        st = s.store.status
        synced = relative_age(st.synchronized_on, now_ms) if st and st.synchronized_on else "-"
        latency = f"{s.store.latency_ms:.1f} ms" if s.store.latency_ms is not None else "-"
        rows.append((s.label, t.where, t.kind, truncate(t.name, 40), synced, latency, s.reason))
    widths = [max(len(literal(r[i])) for r in rows) for i in range(6)]
    lines = []
    for r in rows:
        cells = [literal(c).ljust(w) for c, w in zip(r[:6], widths, strict=True)]
        lines.append("  ".join([*cells, literal(r[6])]))
    if width is None or max(len(line) for line in lines) <= width:
        return "\n".join(lines)
    return _narrow_table(rows[1:], width)


def _narrow_table(rows: Sequence[tuple[str, ...]], width: int) -> str:
    import textwrap

    lines = ["VERDICT  PROJECT/ENVIRONMENT  STORE  NAME  (synchronized, latency; the reason below)"[:width]]
    for label, where, kind, name, synced, latency, reason in rows:
        tail = f"  {synced}, {latency}" if synced != "-" or latency != "-" else ""
        head = f"{literal(label)}  {literal(where)}  {kind}  "
        room = width - len(head) - len(tail)
        shown = literal(name)
        if len(shown) > room:
            shown = shown[: max(room - 1, 0)] + "…" if room > 1 else ""
        lines.append((head + shown + tail)[:width])
        indent = 4
        lines.extend(
            " " * indent + part
            for part in textwrap.wrap(literal(reason), max(width - indent, 20), break_on_hyphens=False)
        )
    return "\n".join(lines)


def _terminal_width() -> int | None:
    import shutil

    return shutil.get_terminal_size().columns if sys.stdout.isatty() else None


def round_code(result: Round) -> ExitCode:
    from ldtui.core.health import exit_code

    if result.timed_out:
        return ExitCode.UNKNOWN
    code = ExitCode(exit_code([s.health for s in result.statuses]))
    if result.api_timed_out is not None:  # out of time, unless a store says worse
        return ExitCode(_worse(int(code), int(ExitCode.UNKNOWN)))
    if result.api_error is not None:
        return ExitCode.CRITICAL
    return code


def nagios_line(
    result: Round, code: ExitCode, req: StatusRequest, service: StatusService, now_ms: int
) -> tuple[str, ExitCode]:
    """The plugin line, and the exit code once the age thresholds are applied."""
    from ldtui.core.health import Health
    from ldtui.core.nagios import parse_range, perfdata, status_line

    status = service.config.settings.status
    warning = req.warning or parse_range(f"~:{service.stale_after_ms / 1000:g}")
    critical = req.critical or parse_range(f"~:{status.relay_stale_after:g}")
    perf = []
    worst = int(code)
    for s in result.statuses:
        st = s.store.status
        if st is None or st.synchronized_on is None:
            continue
        age = max(0.0, (now_ms - st.synchronized_on) / 1000)
        label = literal(f"{s.target.where} {s.target.kind} age")
        perf.append(perfdata(label, round(age, 1), "s", warn=warning.text, crit=critical.text, minimum=0))
        if s.store.latency_ms is not None:
            label = literal(f"{s.target.where} {s.target.kind} latency")
            perf.append(perfdata(label, round(s.store.latency_ms, 2), "ms", minimum=0))
        if critical.alerts(age):
            worst = _worse(worst, int(ExitCode.CRITICAL))
        elif warning.alerts(age):
            worst = _worse(worst, int(ExitCode.WARNING))
    counts: dict[str, int] = {}
    for s in result.statuses:
        counts[s.health.value] = counts.get(s.health.value, 0) + 1
    order = [
        h.value
        for h in (
            Health.UNAVAILABLE,
            Health.DISAGREE,
            Health.STALE,
            Health.NOT_CONFIGURED,
            Health.HEALTHY,
            Health.OFF,
        )
    ]
    summary = ", ".join(f"{counts[w]} {w}" for w in order if counts.get(w)) or "no targets"
    problem = result.error_json(req.timeout)
    if problem is not None:
        summary = f"{literal(problem['message'])[:200]}; {summary}"
    final = ExitCode(worst)
    return status_line("BIG SEGMENTS", int(final), summary, perf), final


# Plugin states from least to most severe: an UNKNOWN is worse than OK, not than a WARNING.
_RANK = {0: 0, 3: 1, 1: 2, 2: 3}


def _worse(a: int, b: int) -> int:
    return a if _RANK[a] >= _RANK[b] else b


def run(args: argparse.Namespace) -> ExitCode:
    from ldtui.cli.output import say_config_error
    from ldtui.config import ConfigError, load_config

    req = request(args)
    cfg = load_config(file=req.config)
    problems = cfg.problems(req.profile)
    for problem in problems:
        say_config_error(problem)
    if problems:
        return ExitCode.CONFIG
    try:
        return asyncio.run(_watch(req, cfg))
    except ConfigError as exc:  # --reader naming no reader
        if exc.key == "status.readers":  # the flag is what is wrong, not the file
            from ldtui.cli.output import error

            error("ldtui status", f"--reader: {exc.message}")
            return ExitCode.USAGE
        say_config_error(exc)
        return ExitCode.CONFIG


async def one_round(service: StatusService, timeout: float) -> Round:
    """Targets (from the API, else what is known without it), then every store at once, each
    with its own deadline, all within ``timeout``."""
    from ldtui.api.errors import ApiError

    result = Round()
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    # The API's share: what the stores do not need (each its timeout plus a second), at least
    # half the round. An API that hangs (each request retried after its own timeout) would
    # otherwise take the whole round, and no store would be probed.
    api_budget = max(timeout - service.store_deadline_s(), timeout / 2)
    try:
        async with asyncio.timeout_at(deadline):
            try:
                async with asyncio.timeout(api_budget):
                    targets = await service.targets()
            except ApiError as exc:
                result.api_error = exc
                targets = await service.targets_offline()
            except TimeoutError:
                if loop.time() >= deadline:
                    raise
                result.api_timed_out = api_budget
                targets = await service.targets_offline()
            result.expected = len(targets)
            async for status in service.check_each(targets):
                result.statuses.append(status)
    except TimeoutError:
        result.timed_out = True
    if result.expected:
        place = {t.id: i for i, t in enumerate(targets)}
        result.statuses.sort(key=lambda s: place.get(s.target.id, 0))  # the targets' own order
    return result


async def _watch(req: StatusRequest, cfg: Config) -> ExitCode:
    from ldtui.api.client import RetryNotice
    from ldtui.cli.output import note
    from ldtui.services.connect import connect
    from ldtui.services.state import EnvironmentCache
    from ldtui.services.status import StatusService

    def rate_limited(notice: RetryNotice) -> None:
        if notice.status == 429:
            note("ldtui status", f"rate limited by LaunchDarkly, retrying in {notice.wait:.0f} s")

    stale_after = req.stale_after * 1000 if req.stale_after else None
    async with connect(cfg, req.profile) as client:
        client.on_retry = rate_limited
        service = StatusService(
            client,
            cfg,
            stale_after_ms=stale_after,
            reader=req.reader,
            memory=EnvironmentCache.default(client.base_url),
        )
        try:
            while True:
                result = await one_round(service, req.timeout)
                code = round_code(result)
                now = service.now_ms()
                if req.json:
                    doc: dict[str, Any] = {"targets": [s.to_json() for s in result.statuses]}
                    if (problem := result.error_json(req.timeout)) is not None:
                        doc["error"] = problem
                    doc["exitCode"] = int(code)
                    print(json.dumps(doc))
                elif req.nagios:
                    line, code = nagios_line(result, code, req, service, now)
                    print(line)  # safe-text: nagios_line escapes each name and message it quotes
                else:
                    print(status_table(result.statuses, now, width=_terminal_width()))
                    if (problem := result.error_json(req.timeout)) is not None:
                        note("ldtui status", problem["message"])
                sys.stdout.flush()
                if not req.watch:
                    return code
                if not req.json and not req.nagios:
                    print(
                        f"-- {time.strftime('%H:%M:%S')} · exit {int(code)} · every {req.watch:g} s",
                        flush=True,
                    )
                await asyncio.sleep(req.watch)
        finally:
            await service.aclose()
