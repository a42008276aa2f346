"""``ldtui audit``: the audit trail, every create, edit, on/off and delete the TUI sent, with
what came back (the file the TUI's audit screen shows; secrets are never in it)."""

from __future__ import annotations

import argparse
import json

from ldtui.cli.exit_codes import ExitCode
from ldtui.cli.parser import Subcommands
from ldtui.cli.values import count
from ldtui.config_file import HomeNotFound, expand_home
from ldtui.core.text import literal


def register(sub: Subcommands) -> None:
    p = sub.add_parser(
        "audit",
        help="print the audit trail: every change the TUI sent, and the answer",
        description="Every create, edit, on/off and delete the TUI sent, oldest first: when, "
        "on which profile and base URL, the integration, the HTTP status and LaunchDarkly's "
        "request id (--json adds the exact patch or body, secrets masked). The trail is "
        "audit.jsonl in the platform state directory. Exit code: 0, also when nothing was "
        "recorded yet; 69 when the file cannot be read.",
    )
    p.add_argument("--json", action="store_true", help="one JSON document, with every entry in full")
    p.add_argument("--file", metavar="FILE", help="read this trail instead (default: the state directory's)")
    p.add_argument("--last", type=count(minimum=1), metavar="N", help="only the last N entries")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> ExitCode:
    from ldtui.cli.output import error, note
    from ldtui.services.audit import default_path, read_entries

    try:
        path = expand_home(args.file) if args.file else default_path()
    except HomeNotFound as exc:
        error("ldtui audit", f"--file: {exc}")
        return ExitCode.USAGE
    read = read_entries(path)
    if read.error:
        error("ldtui audit", read.error)
        return ExitCode.UNAVAILABLE
    entries = read.entries[-args.last :] if args.last else read.entries
    if args.json:
        document = {
            "file": str(path),
            "entries": [e.to_json() for e in entries],
            "skipped": read.skipped,
            "truncated": read.truncated,
        }
        # ASCII: a control character or a bidi override in a name cannot reach the terminal.
        print(json.dumps(document, indent=2, ensure_ascii=True))
    else:
        rows = [
            (
                e.time,
                e.action,
                ("HTTP " + str(e.status)) if e.status is not None else ("sent" if e.ok else "no answer"),
                e.name or e.integration_id or "-",
                f"{e.project}/{e.environment} {e.kind}",
                e.profile,
                e.request_id or "-",
            )
            for e in entries
        ]
        header = ("TIME", "ACTION", "RESULT", "INTEGRATION", "WHERE", "PROFILE", "REQUEST ID")
        table = [header, *[tuple(literal(v) for v in row) for row in rows]]
        widths = [min(40, max(len(row[i]) for row in table)) for i in range(len(header))]
        for row in table:
            # safe-text: every cell of the table was passed through literal() above
            print("  ".join(v[:w].ljust(w) for v, w in zip(row, widths, strict=True)).rstrip())
        if not entries:
            note("ldtui audit", f"no change recorded yet in {path}")
    if read.skipped:
        note("ldtui audit", f"{read.skipped} line(s) of {path} are not audit entries; skipped")
    if read.truncated:
        note("ldtui audit", f"{path} is large: only its last entries were read")
    return ExitCode.OK
