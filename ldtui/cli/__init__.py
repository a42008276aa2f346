"""The ``ldtui`` command line: one module per subcommand, each parsing its arguments into a
request, calling one service and rendering the answer (``ldtui.cli.status`` for ``ldtui
status``, ``ldtui.cli.tui`` for the TUI itself).

Nothing heavy is imported here or at the top of a command module: ``ldtui --version`` loads
neither Textual nor httpx nor pydantic, and each command imports what it needs when it runs.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from ldtui.cli.exit_codes import ExitCode

__all__ = ["ExitCode", "main"]


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``ldtui`` with these arguments; returns the exit code (an ``ExitCode``)."""
    from ldtui.cli.output import say_config_error
    from ldtui.cli.parser import build_parser
    from ldtui.config_file import ConfigError

    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        return int(args.func(args))
    except SystemExit as exc:  # --help, --version, and argparse's usage errors (64)
        return exc.code if isinstance(exc.code, int) else ExitCode.USAGE
    except ConfigError as exc:
        say_config_error(exc)
        return ExitCode.CONFIG
    except KeyboardInterrupt:
        return ExitCode.INTERRUPTED
    except BrokenPipeError:
        # `ldtui inspect ... | head`: the reader left. Say nothing more, as `cat` would, and
        # point stdout at /dev/null so the interpreter's final flush cannot fail again.
        import os

        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return ExitCode.CLOSED_PIPE
