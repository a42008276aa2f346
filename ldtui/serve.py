"""``ldtui serve``: the TUI in a browser, through textual-serve (the ``web`` extra).

Every browser tab runs its own ``ldtui`` process on this machine, with this machine's
configuration and secrets. textual-serve has no authentication, so it listens on loopback
unless told otherwise, and says loudly what binding elsewhere means."""

from __future__ import annotations

import argparse
import shlex
import sys

from ldtui.core.net import is_loopback

EXIT_OK = 0
EXIT_UNAVAILABLE = 69  # EX_UNAVAILABLE: the web extra is not installed


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    p.add_argument("--public-url", metavar="URL", help="the URL browsers use, behind a proxy")
    p.add_argument(
        "--demo",
        dest="serve_demo",
        action="store_true",
        help="each session opens the demo (emulator and local stores), as ldtui --demo does",
    )


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


def run(args: argparse.Namespace) -> int:
    if not 0 < args.port < 65536:
        print(f"ldtui serve: --port {args.port} is not a TCP port (1-65535)", file=sys.stderr)
        return 64
    try:
        from textual_serve.server import Server
    except ImportError:
        print(
            "ldtui serve: textual-serve is not installed; install the web extra: "
            "pip install 'ldtui[web]' (or pipx inject ldtui textual-serve)",
            file=sys.stderr,
        )
        return EXIT_UNAVAILABLE
    if not is_loopback(args.host):
        print(
            f"ldtui serve: WARNING: listening on {args.host}, not loopback. There is no "
            "authentication: anyone who can reach this port gets ldtui with this machine's "
            "LaunchDarkly token and store credentials. Prefer the default (127.0.0.1) with an "
            "SSH tunnel: ssh -L 8000:127.0.0.1:8000 HOST",
            file=sys.stderr,
        )
    print(f"ldtui serve: http://{args.host}:{args.port}  (Ctrl-C stops it)", file=sys.stderr)
    server = Server(
        tui_command(args), host=args.host, port=args.port, title="ldtui", public_url=args.public_url
    )
    server.serve()
    return EXIT_OK
