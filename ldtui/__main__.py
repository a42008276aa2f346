"""The ``ldtui`` command. Heavy modules (Textual, httpx, boto3, redis) load only when a
subcommand needs them, so ``ldtui --version`` and the headless commands start fast."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from ldtui import __version__

EXIT_OK = 0
EXIT_USAGE = 64  # EX_USAGE
EXIT_CONFIG = 78  # EX_CONFIG


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # argparse exits 2; 64 is the usage-error code
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="ldtui",
        description="Terminal console for LaunchDarkly big segment stores.",
    )
    parser.add_argument("--version", action="version", version=f"ldtui {__version__}")
    parser.add_argument("--config", metavar="FILE", help="configuration file (default: platform config dir)")
    parser.add_argument("--profile", metavar="NAME", help="profile to use from the configuration")
    parser.add_argument(
        "--demo",
        action="store_true",
        help="open the TUI on a seeded emulator with local Redis and DynamoDB (no account needed)",
    )
    parser.add_argument(
        "--no-mouse",
        action="store_true",
        help="leave the mouse to the terminal (select and copy text); every action has a key",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    p_config = sub.add_parser(
        "config", help="print the effective configuration, secrets masked, with sources"
    )
    p_config.add_argument("--json", action="store_true", help="machine-readable output")

    from ldtui.headless import add_status_arguments

    p_status = sub.add_parser(
        "status",
        help="health of every big segment store: LaunchDarkly's view and the store's own",
        description="One verdict per integration (and per configured store): HEALTHY, STALE, "
        "UNAVAILABLE, OFF, NOT CONFIGURED or DISAGREE. Exit code: 0 all healthy or off, 1 any "
        "stale, 2 any unavailable or disagreeing, 3 only unverifiable (not configured).",
    )
    add_status_arguments(p_status)

    from ldtui.inspect_cli import add_hash_arguments, add_inspect_arguments

    p_inspect = sub.add_parser(
        "inspect",
        help="explain contexts' big segment membership, read straight from a store",
        description="Hash each context key as the SDKs do, read its include and exclude sets from "
        "the store and explain the verdict per big segment and generation. Exit code: 0 ok, 2 store "
        "unavailable, 64 usage error.",
    )
    add_inspect_arguments(p_inspect)
    p_hash = sub.add_parser(
        "hash", help="the store hash of context keys: base64(SHA-256(key)), as the SDKs compute it"
    )
    add_hash_arguments(p_hash)

    from ldtui.serve import add_arguments as serve_arguments

    p_serve = sub.add_parser(
        "serve",
        help="serve the TUI in a web browser (textual-serve; the web extra)",
        description="Serve ldtui to web browsers through textual-serve. Listens on loopback by "
        "default; there is no authentication, so use an SSH tunnel rather than a public address.",
    )
    serve_arguments(p_serve)

    from ldtui.emulator.cli import add_arguments as emulator_arguments

    p_emulator = sub.add_parser(
        "emulator",
        help="serve an emulation of LaunchDarkly's API, with stores kept in sync",
        description="Serve LaunchDarkly's REST API for big segment store integrations on this "
        "machine, with seeded projects, segments and integrations, and a syncer writing "
        "Redis and DynamoDB stores as LaunchDarkly does.",
    )
    emulator_arguments(p_emulator)
    return parser


def _cmd_config(args: argparse.Namespace) -> int:
    from ldtui.config import ConfigError, describe, load_config

    try:
        cfg = load_config(file=args.config)
    except ConfigError as exc:
        print(f"ldtui: configuration error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    if args.profile:
        try:
            cfg.profile(args.profile)
        except ConfigError as exc:
            print(f"ldtui: configuration error: {exc}", file=sys.stderr)
            return EXIT_CONFIG
        cfg.settings.profile = args.profile
        cfg.sources["profile"] = "--profile"
    rows = describe(cfg)
    problems = [r for r in rows if r.problem]
    if args.json:
        print(
            json.dumps(
                {
                    "file": str(cfg.file),
                    "fileExists": cfg.file_exists,
                    "values": [
                        {"key": r.key, "value": r.value, "source": r.source}
                        | ({"problem": r.problem} if r.problem else {})
                        for r in rows
                    ],
                },
                indent=2,
            )
        )
    else:
        width_k = max(len(r.key) for r in rows)
        width_v = min(60, max(len(r.value) for r in rows))
        print(f"{'SETTING':<{width_k}}  {'VALUE':<{width_v}}  SOURCE")
        for r in rows:
            print(f"{r.key:<{width_k}}  {r.value:<{width_v}}  {r.source}")
        for r in problems:
            print(f"problem: {r.key}: {r.problem}", file=sys.stderr)
    return EXIT_CONFIG if problems else EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    try:
        return _main(argv)
    except BrokenPipeError:
        # `ldtui inspect ... | head`: the reader left. Say nothing more, as `cat` would.
        import os

        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141  # 128 + SIGPIPE


def _main(argv: Sequence[str] | None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "config":
        return _cmd_config(args)
    if args.command == "status":
        from ldtui.headless import run_status

        return run_status(args)
    if args.command == "inspect":
        from ldtui.inspect_cli import run_inspect

        return run_inspect(args)
    if args.command == "hash":
        from ldtui.inspect_cli import run_hash

        return run_hash(args)
    if args.command == "serve":
        from ldtui.serve import run as serve

        return serve(args)
    if args.command == "emulator":
        from ldtui.emulator.cli import run

        return run(args)
    return _cmd_tui(args)


def _cmd_tui(args: argparse.Namespace) -> int:
    """The TUI: a configured profile, or the demo world. Only the UI settings are read before
    the first frame; the configuration is validated, and the token resolved, right after."""
    import tomllib

    from ldtui.config_file import peek_ui

    try:
        ui = peek_ui(args.config)
    except (tomllib.TOMLDecodeError, OSError) as exc:
        print(f"ldtui: configuration error: {args.config or 'config file'}: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    demo, config_file, profile = args.demo, args.config, args.profile

    def make_backend() -> object:
        from ldtui.config import load_config

        cfg = load_config(file=config_file)
        if demo:
            from ldtui.services.backend import DemoBackend

            return DemoBackend()
        from ldtui.services.backend import ProfileBackend

        return ProfileBackend(cfg, profile)

    from ldtui.config_file import config_dir
    from ldtui.ui.app import LdtuiApp

    app = LdtuiApp(
        make_backend,  # type: ignore[arg-type]
        theme=ui.theme,
        # The demo's world changes by itself: refresh it unless configured otherwise.
        auto_refresh=ui.auto_refresh or (5.0 if demo else 0.0),
        keymap=ui.keys,
        animations=ui.animations,
        user_theme_dirs=[config_dir() / "themes"],
    )
    app.run(mouse=ui.mouse and not args.no_mouse)
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
