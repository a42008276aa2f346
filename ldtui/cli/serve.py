"""``ldtui serve``: the TUI in a browser, through textual-serve (the ``web`` extra).

Every browser tab runs its own ``ldtui`` process on this machine, with this machine's
configuration and secrets. textual-serve has no authentication, so it listens on loopback
unless told otherwise, and says loudly what binding elsewhere means."""

from __future__ import annotations

import argparse
import shlex
import sys

from ldtui.cli.exit_codes import ExitCode
from ldtui.cli.parser import Subcommands
from ldtui.cli.values import tcp_port
from ldtui.core.net import is_loopback


def register(sub: Subcommands) -> None:
    p = sub.add_parser(
        "serve",
        help="serve the TUI in a web browser (textual-serve; the web extra)",
        description="Serve ldtui to web browsers through textual-serve. Listens on loopback by "
        "default; there is no authentication, so use an SSH tunnel rather than a public address. "
        "Exit code: 69 when textual-serve is not installed.",
    )
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=tcp_port(allow_any=False), default=8000, help="port (default 8000)")
    p.add_argument("--public-url", metavar="URL", help="the URL browsers use, behind a proxy")
    p.add_argument(
        "--demo",
        dest="serve_demo",
        action="store_true",
        help="each session opens the demo (emulator and local stores), as ldtui --demo does",
    )
    p.set_defaults(func=run)


def tui_command(args: argparse.Namespace) -> str:
    """The command each browser session runs: this Python, this ldtui, the same options."""
    parts = [sys.executable, "-m", "ldtui"]
    if args.config:
        parts += ["--config", args.config]
    if args.profile:
        parts += ["--profile", args.profile]
    if args.demo or getattr(args, "serve_demo", False):
        parts.append("--demo")
    return shlex.join(parts)


def run(args: argparse.Namespace) -> ExitCode:
    from ldtui.cli.output import error, note

    try:
        from textual_serve.server import Server
    except ImportError:
        error(
            "ldtui serve",
            "textual-serve is not installed; install the web extra: pip install 'ldtui[web]' "
            "(or pipx inject ldtui textual-serve)",
        )
        return ExitCode.UNAVAILABLE
    if not is_loopback(args.host):
        note(
            "ldtui serve",
            f"WARNING: listening on {args.host}, not loopback. There is no authentication: anyone "
            "who can reach this port gets ldtui with this machine's LaunchDarkly token and store "
            "credentials. Prefer the default (127.0.0.1) with an SSH tunnel: ssh -L "
            "8000:127.0.0.1:8000 HOST",
        )
    note("ldtui serve", f"http://{args.host}:{args.port}  (Ctrl-C stops it)")
    server = Server(
        tui_command(args), host=args.host, port=args.port, title="ldtui", public_url=args.public_url
    )
    server.serve()
    return ExitCode.OK
