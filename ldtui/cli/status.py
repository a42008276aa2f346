"""``ldtui status``: the health of every big segment store, as the status panel shows it,
for scripts and monitoring (exit codes 0/1/2/3, see ``ExitCode``)."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ldtui.cli.exit_codes import ExitCode
from ldtui.cli.flags import setting
from ldtui.cli.parser import Subcommands
from ldtui.core.text import literal, relative_age, truncate

if TYPE_CHECKING:
    from ldtui.config import Config
    from ldtui.services.status import TargetStatus


def register(sub: Subcommands) -> None:
    p = sub.add_parser(
        "status",
        help="health of every big segment store: LaunchDarkly's view and the store's own",
        description="One verdict per integration (and per configured store): HEALTHY, STALE, "
        "UNAVAILABLE, OFF, NOT CONFIGURED or DISAGREE. Exit code: 0 all healthy or off, 1 any "
        "stale, 2 any unavailable or disagreeing, 3 only unverifiable (not configured), 78 "
        "configuration error.",
    )
    p.add_argument("--json", action="store_true", help="print JSON (one object per round)")
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
    p.set_defaults(func=run)


@dataclass(frozen=True)
class StatusRequest:
    config: str | None
    profile: str | None
    json: bool
    watch: float | None
    stale_after: float | None


def request(args: argparse.Namespace) -> StatusRequest:
    return StatusRequest(args.config, args.profile, args.json, args.watch, args.stale_after)


def status_table(statuses: list[TargetStatus], now_ms: int) -> str:
    rows = [("VERDICT", "PROJECT/ENVIRONMENT", "STORE", "NAME", "SYNCHRONIZED", "LATENCY", "REASON")]
    for s in statuses:
        t = s.target
        st = s.store.status
        synced = relative_age(st.synchronized_on, now_ms) if st and st.synchronized_on else "-"
        latency = f"{s.store.latency_ms:.1f} ms" if s.store.latency_ms is not None else "-"
        rows.append((s.health.value, t.where, t.kind, truncate(t.name, 40), synced, latency, s.reason))
    widths = [max(len(literal(r[i])) for r in rows) for i in range(6)]
    lines = []
    for r in rows:
        cells = [literal(c).ljust(w) for c, w in zip(r[:6], widths, strict=True)]
        lines.append("  ".join([*cells, literal(r[6])]))
    return "\n".join(lines)


def run(args: argparse.Namespace) -> ExitCode:
    from ldtui.cli.output import say_config_error
    from ldtui.config import load_config

    req = request(args)
    cfg = load_config(file=req.config)
    problems = cfg.problems(req.profile)
    for problem in problems:
        say_config_error(problem)
    if problems:
        return ExitCode.CONFIG
    return asyncio.run(_watch(req, cfg))


async def _watch(req: StatusRequest, cfg: Config) -> ExitCode:
    from ldtui.api.errors import ApiError
    from ldtui.cli.output import error
    from ldtui.core.health import exit_code
    from ldtui.services.connect import connect
    from ldtui.services.status import StatusService

    stale_after = req.stale_after * 1000 if req.stale_after else None
    async with connect(cfg, req.profile) as client:
        service = StatusService(client, cfg, stale_after_ms=stale_after)
        try:
            while True:
                try:
                    statuses = await service.check_all(await service.targets())
                except ApiError as exc:
                    error("ldtui", exc)
                    return ExitCode.CRITICAL
                code = ExitCode(exit_code([s.health for s in statuses]))
                if req.json:
                    print(json.dumps({"targets": [s.to_json() for s in statuses], "exitCode": code}))
                else:
                    print(status_table(statuses, service.now_ms()))
                sys.stdout.flush()
                if not req.watch:
                    return code
                if not req.json:
                    print(f"-- {time.strftime('%H:%M:%S')} · exit {code} · every {req.watch:g} s", flush=True)
                await asyncio.sleep(req.watch)
        finally:
            await service.aclose()
