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
    result = run("--config", str(config_file), "config", "--json", env={"LD_TOKEN": TOKEN, "LDTUI_STALE_AFTER": "60"})
    assert result.returncode == 0
    data = json.loads(result.stdout)
    values = {v["key"]: v for v in data["values"]}
    assert values["status.stale_after"] == {"key": "status.stale_after", "value": "60 s", "source": "env LDTUI_STALE_AFTER"}
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
