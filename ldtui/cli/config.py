"""``ldtui config``: the effective configuration, every secret masked, each value with where
it came from. Exits 78 exactly where ``ldtui status`` would refuse the configuration."""

from __future__ import annotations

import argparse
import json
import sys

from ldtui.cli.exit_codes import ExitCode
from ldtui.cli.parser import Subcommands
from ldtui.core.text import literal


def register(sub: Subcommands) -> None:
    p = sub.add_parser(
        "config",
        help="print the effective configuration, secrets masked, with sources",
        description="Every effective setting, secrets masked, with the file line or variable it "
        "came from. Checks what `ldtui status` needs (the profile, its token, every store's "
        "password): exit 78 when that is wrong, with the problem on stderr.",
    )
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> ExitCode:
    from ldtui.config import describe, load_config

    cfg = load_config(file=args.config)  # a ConfigError here is exit 78, from main
    if args.profile:
        cfg.settings.profile = args.profile
        cfg.sources["profile"] = "--profile"
    rows = describe(cfg, args.profile)
    problems = [r for r in rows if r.problem]
    if args.json:
        values = [
            {"key": r.key, "value": r.value, "source": r.source}
            | ({"problem": r.problem} if r.problem else {})
            | ({"note": r.note} if r.note else {})
            for r in rows
        ]
        document = {"file": str(cfg.file), "fileExists": cfg.file_exists, "values": values}
        print(json.dumps(document, indent=2))
    else:
        width_k = max(len(literal(r.key)) for r in rows)
        width_v = min(60, max(len(literal(r.value)) for r in rows))
        print(f"{'SETTING':<{width_k}}  {'VALUE':<{width_v}}  SOURCE")
        for r in rows:
            print(f"{literal(r.key):<{width_k}}  {literal(r.value):<{width_v}}  {literal(r.source)}")
    for r in rows:
        if r.note:
            print(f"note: {literal(r.key)}: {literal(r.note)}", file=sys.stderr)
    for r in problems:
        print(f"problem: {literal(r.key)}: {literal(r.problem)}", file=sys.stderr)
    return ExitCode.CONFIG if problems else ExitCode.OK
