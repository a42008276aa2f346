"""The ``ldtui`` command line: version, usage errors, and ``ldtui config``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ldtui import __version__
from ldtui.cli import ExitCode, main

EXIT_CONFIG, EXIT_USAGE = ExitCode.CONFIG, ExitCode.USAGE

TOKEN = "api-12345678-aaaa-bbbb-cccc-0123456789ab"


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("LDTUI_")}
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "ldtui", *args], capture_output=True, text=True, env=full_env
    )


def test_version() -> None:
    result = run("--version")
    assert result.returncode == 0 and result.stdout.strip() == f"ldtui {__version__}"


def test_usage_error_exit_64(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["nonsense-command"]) == EXIT_USAGE
    assert "invalid choice" in capsys.readouterr().err


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(
        'profile = "prod"\n[profiles.prod]\nbase_url = "eu"\ntoken_env = "LD_TOKEN"\n'
        '[stores."default/production"]\ntype = "redis"\nurl = "redis://127.0.0.1:6379/0"\n'
    )
    return path


def test_config_table_masks_token_and_shows_sources(config_file: Path) -> None:
    result = run("--config", str(config_file), "config", env={"LD_TOKEN": TOKEN})
    assert result.returncode == 0, result.stderr
    assert TOKEN not in result.stdout + result.stderr
    lines = {line.split()[0]: line for line in result.stdout.splitlines()[1:]}
    assert "https://app.eu.launchdarkly.com" in lines["profiles.prod.base_url"]
    assert "config.toml:3" in lines["profiles.prod.base_url"]
    assert "****89ab" in lines["profiles.prod.token"] and "$LD_TOKEN" in lines["profiles.prod.token"]
    assert "--config" in lines["config_file"]


def test_config_json(config_file: Path) -> None:
    result = run(
        "--config", str(config_file), "config", "--json", env={"LD_TOKEN": TOKEN, "LDTUI_STALE_AFTER": "60"}
    )
    assert result.returncode == 0
    data = json.loads(result.stdout)
    values = {v["key"]: v for v in data["values"]}
    assert values["status.stale_after"] == {
        "key": "status.stale_after",
        "value": "60 s",
        "source": "env LDTUI_STALE_AFTER",
    }
    assert TOKEN not in result.stdout


def test_config_missing_secret_is_a_problem_exit_78(config_file: Path) -> None:
    result = run("--config", str(config_file), "config")
    assert result.returncode == EXIT_CONFIG
    assert "problem: profiles.prod.token" in result.stderr and "LD_TOKEN" in result.stderr


def test_config_bad_file_no_traceback(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text("[status]\nstale_after = [1, 2]\n")
    result = run("--config", str(path), "config")
    assert result.returncode == EXIT_CONFIG
    assert "Traceback" not in result.stderr
    assert f"{path}:2: status.stale_after:" in result.stderr


def test_config_unknown_profile(config_file: Path) -> None:
    result = run("--config", str(config_file), "--profile", "nope", "config")
    assert result.returncode == EXIT_CONFIG and "'nope' is not defined" in result.stderr


def test_dev_null_is_an_empty_configuration(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("LDTUI_CONFIG_FILE", os.devnull)
    # Empty, but `ldtui status` could not run on it: the same verdict from `ldtui config`.
    assert main(["config", "--json"]) == EXIT_CONFIG
    out = capsys.readouterr()
    assert json.loads(out.out)["file"] == os.devnull
    assert "no profile is configured" in out.err


# --- every command: --help, a bad flag, a bad value -----------------------------------------------


def readme_exit_codes() -> dict[int, str]:
    from tests.unit.test_readme import readme_exit_codes as table

    return table()


SUBCOMMANDS = ["config", "status", "exporter", "inspect", "doctor", "hash", "audit", "serve", "emulator"]
BAD_VALUES = [
    ["status", "--stale-after", "nan"],
    ["status", "--stale-after", "inf"],
    ["status", "--stale-after", "0"],
    ["status", "--stale-after", "-5"],
    ["status", "--watch", "-1"],
    ["status", "--watch", "0"],
    ["status", "--watch", "0.001"],
    ["inspect", "--store", "redis", "--timeout", "inf", "k"],
    ["inspect", "--store", "redis", "--stale-after", "nan", "k"],
    ["inspect", "--store", "mongodb", "k"],
    ["exporter", "--listen", "9786"],
    ["exporter", "--listen", "127.0.0.1:99999"],
    ["exporter", "--listen", "::1:9786"],
    ["exporter", "--listen", "\x1b[2J:1"],
    ["serve", "--port", "0"],
    ["serve", "--port", "99999"],
    ["emulator", "--port", "70000"],
    ["emulator", "--contexts", "9" * 5000],
    ["emulator", "--sync-interval", "nan"],
    ["emulator", "--rate-limit", "0"],
    ["hash"],
    ["config", "extra"],
]


@pytest.mark.parametrize("command", ["", *SUBCOMMANDS])
def test_help_exits_ok(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    code = main([*([command] if command else []), "--help"])
    assert code == ExitCode.OK and readme_exit_codes()[code] == "OK"
    assert "usage: ldtui" in capsys.readouterr().out


@pytest.mark.parametrize("command", ["", *SUBCOMMANDS])
def test_an_unknown_flag_is_a_usage_error(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    positional = ["k"] if command == "hash" else []  # argparse reports a missing KEY first
    code = main([*([command] if command else []), *positional, "--no-such-flag"])
    assert code == ExitCode.USAGE and readme_exit_codes()[code] == "USAGE"
    err = capsys.readouterr().err
    assert "--no-such-flag" in err and "Traceback" not in err


@pytest.mark.parametrize("argv", BAD_VALUES, ids=[" ".join(a)[:40] for a in BAD_VALUES])
def test_a_bad_value_is_a_usage_error_naming_the_flag(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(argv)
    assert code == ExitCode.USAGE and readme_exit_codes()[code] == "USAGE"
    err = capsys.readouterr().err
    flag = next((a for a in argv if a.startswith("--")), None)
    assert flag is None or flag in err, err
    assert "Traceback" not in err and len(err) < 2000


def test_every_command_returns_an_exit_code_of_the_enum() -> None:
    """No `return 2` hides anywhere: each command module's functions return ExitCode members."""
    import ast

    import ldtui.cli

    for path in Path(ldtui.cli.__file__).parent.glob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Return) and isinstance(node.value, ast.Constant):
                value = node.value.value
                assert isinstance(value, bool) or not isinstance(value, int), (
                    f"{path.name}:{node.lineno}: return {value}"
                )
