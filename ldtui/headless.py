"""Headless commands: the same services as the screens, rendered as text or JSON."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from typing import Any

from ldtui.core.text import literal, relative_age, truncate

EXIT_CONFIG = 78


def add_status_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="print JSON (one object per round)")
    p.add_argument("--watch", type=float, metavar="SECONDS", help="check again every SECONDS")
    p.add_argument(
        "--stale-after",
        type=float,
        metavar="SECONDS",
        help="the SDKs' staleAfter (default: status.stale_after, 120)",
    )


def status_table(statuses: list[Any], now_ms: int) -> str:
    rows = [("VERDICT", "PROJECT/ENVIRONMENT", "STORE", "NAME", "SYNCHRONIZED", "LATENCY", "REASON")]
    for s in statuses:
        t = s.target
        where = f"{t.project}/{t.environment}" if t.project else "-"
        st = s.store.status
        synced = relative_age(st.synchronized_on, now_ms) if st and st.synchronized_on else "-"
        latency = f"{s.store.latency_ms:.1f} ms" if s.store.latency_ms is not None else "-"
        rows.append((s.health.value, where, t.kind, truncate(t.name, 40), synced, latency, s.reason))
    widths = [max(len(literal(r[i])) for r in rows) for i in range(6)]
    lines = []
    for r in rows:
        cells = [literal(c).ljust(w) for c, w in zip(r[:6], widths, strict=True)]
        lines.append("  ".join([*cells, literal(r[6])]))
    return "\n".join(lines)


async def _status_round(service: Any, targets: list[Any] | None) -> list[Any]:
    if targets is None:
        targets = await service.targets()
    return await service.check_all(targets)


def run_status(args: argparse.Namespace) -> int:
    from ldtui.api.errors import ApiError
    from ldtui.config import ConfigError, load_config
    from ldtui.core.health import exit_code
    from ldtui.services.status import StatusService

    try:
        cfg = load_config(file=args.config)
        name, profile = cfg.profile(args.profile)
        token = cfg.token(name)
    except ConfigError as exc:
        print(f"ldtui: configuration error: {exc}", file=sys.stderr)
        return EXIT_CONFIG

    async def main() -> int:
        from ldtui.api.client import LaunchDarklyClient

        stale_after = args.stale_after * 1000 if args.stale_after else None
        code = 0
        async with LaunchDarklyClient(profile.resolved_base_url, token, timeout=profile.timeout) as client:
            service = StatusService(client, cfg, stale_after_ms=stale_after)
            try:
                while True:
                    try:
                        statuses = await _status_round(service, None)
                    except ApiError as exc:
                        print(f"ldtui: {exc}", file=sys.stderr)
                        return 2
                    code = exit_code([s.health for s in statuses])
                    now = service.now_ms()
                    if args.json:
                        print(json.dumps({"targets": [s.to_json() for s in statuses], "exitCode": code}))
                    else:
                        print(status_table(statuses, now))
                    sys.stdout.flush()
                    if not args.watch:
                        return code
                    if not args.json:
                        print(
                            f"-- {time.strftime('%H:%M:%S')} · exit {code} · every {args.watch:g} s",
                            flush=True,
                        )
                    await asyncio.sleep(args.watch)
            finally:
                await service.aclose()

    try:
        return asyncio.run(main())
    except KeyboardInterrupt:
        return 0
