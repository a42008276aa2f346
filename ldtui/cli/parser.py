"""The parser: global options, the TUI's own flags, and one subparser per command module.

Each command module has ``register(subcommands)``, which adds its subparser and sets
``func`` to the function that runs it; ``main`` calls ``args.func(args)``. Adding a command
is adding a module and a line to ``COMMANDS``.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from typing import Any, NoReturn, Protocol

from ldtui import __version__
from ldtui.cli.exit_codes import ExitCode

# The subcommands, in the order ``ldtui --help`` lists them.
COMMANDS = ("config", "status", "exporter", "inspect", "doctor", "hash", "audit", "serve", "emulator")


class UsageParser(argparse.ArgumentParser):
    """argparse exits 2 on a usage error; 2 means CRITICAL to monitoring, so ldtui exits 64."""

    def error(self, message: str) -> NoReturn:
        from ldtui.core.text import literal

        self.print_usage(sys.stderr)
        self.exit(ExitCode.USAGE, f"{self.prog}: error: {literal(message)}\n")


class Subcommands(Protocol):
    """What ``add_subparsers()`` returns, as far as command modules use it."""

    def add_parser(self, name: str, **kwargs: Any) -> argparse.ArgumentParser: ...


def build_parser() -> argparse.ArgumentParser:
    from ldtui.cli import tui

    parser = UsageParser(prog="ldtui", description="Terminal console for LaunchDarkly big segment stores.")
    parser.add_argument("--version", action="version", version=f"ldtui {__version__}")
    parser.add_argument("--config", metavar="FILE", help="configuration file (default: platform config dir)")
    parser.add_argument("--profile", metavar="NAME", help="profile to use from the configuration")
    tui.add_arguments(parser)
    parser.set_defaults(func=tui.run)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=UsageParser)
    for name in COMMANDS:
        importlib.import_module(f"ldtui.cli.{name}").register(sub)
    return parser
