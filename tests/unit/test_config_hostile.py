"""Hostile and unlucky configuration: files that never end, block, or are not files; documents
of the wrong shape; values that mean nothing. Each is exit 78 (or 64 for a flag) with the file,
the line and the field, never a traceback, and `ldtui config` fails exactly where `ldtui
status` would."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from ldtui.cli import ExitCode, main
from ldtui.config import ConfigError, load_config

TOKEN = "api-aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"


@pytest.fixture(autouse=True)
def no_user_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in list(os.environ):
        if var.startswith("LDTUI_"):
            monkeypatch.delenv(var)


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """``ldtui status`` stops before its first request: what is tested is whether it starts."""
    started: list[str] = []

    async def watch(req: object, cfg: object) -> ExitCode:
        started.append("status")
        return ExitCode.OK

    monkeypatch.setattr("ldtui.cli.status._watch", watch)
    return started


@pytest.fixture
def fifo(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "fifo"
    os.mkfifo(path)
    yield path


def write(tmp_path: Path, text: str, name: str = "config.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(argv)
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return code, err


# --- files that are not files ---------------------------------------------------------------------


@pytest.mark.parametrize("command", ["config", "status"])
def test_dev_zero_as_the_configuration_is_refused_at_once(
    command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, err = run(["--config", "/dev/zero", command], capsys)
    assert code == ExitCode.CONFIG and "/dev/zero is a device, not a regular file" in err


def test_a_fifo_as_the_configuration_does_not_block(fifo: Path) -> None:
    # In a child with a deadline: a FIFO opened the ordinary way would wait for a writer forever.
    for argv in (["config"], ["status"], ["--no-mouse"]):
        run = subprocess.run(
            [sys.executable, "-m", "ldtui", "--config", str(fifo), *argv],
            capture_output=True,
            text=True,
            timeout=60,
            stdin=subprocess.DEVNULL,
        )
        assert run.returncode == ExitCode.CONFIG, run.stderr
        assert (
            f"{fifo} is a FIFO (named pipe), not a regular file" in run.stderr
            and "Traceback" not in run.stderr
        )


def test_a_directory_as_the_configuration(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, err = run(["--config", str(tmp_path), "config"], capsys)
    assert code == ExitCode.CONFIG and "is a directory" in err


def test_a_huge_configuration_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, "# " + "x" * (1024 * 1024) + "\n")
    code, err = run(["--config", str(path), "config"], capsys)
    assert code == ExitCode.CONFIG and "larger than 1 MiB" in err


@pytest.mark.parametrize("kind", ["dev-zero", "fifo", "directory", "huge"])
def test_secret_files_are_bounded_and_must_be_files(
    kind: str, tmp_path: Path, fifo: Path, capsys: pytest.CaptureFixture[str], no_network: list[str]
) -> None:
    secret = {
        "dev-zero": Path("/dev/zero"),
        "fifo": fifo,
        "directory": tmp_path,
        "huge": write(tmp_path, "x" * (64 * 1024 + 1), "token"),
    }[kind]
    path = write(tmp_path, f'[profiles.p]\nbase_url = "http://127.0.0.1:1"\ntoken_file = "{secret}"\n')
    code, err = run(["--config", str(path), "status"], capsys)
    assert code == ExitCode.CONFIG and no_network == []
    assert "profiles.p.token_file" in err and str(secret) in err
    code, err = run(["--config", str(path), "config"], capsys)
    assert code == ExitCode.CONFIG and "problem: profiles.p.token" in err
    # A Redis password file: the same bounds.
    path = write(
        tmp_path,
        f'[profiles.p]\ntoken_env = "T"\n[stores."a/b"]\ntype = "redis"\nurl = "redis://h:6379/0"\n'
        f'password_file = "{secret}"\n',
    )
    os.environ["T"] = TOKEN
    try:
        code, err = run(["--config", str(path), "status"], capsys)
    finally:
        del os.environ["T"]
    assert code == ExitCode.CONFIG and "stores.a/b.password_file" in err and no_network == []


# --- documents of the wrong shape ---------------------------------------------------------------

SHAPES = [
    ('profiles = "abc"\n', "profiles", {}),
    ("stores = 5\n", "stores", {}),
    ("status = 5\n", "status", {"LDTUI_STALE_AFTER": "60"}),
    ('profiles = "abc"\n', "profiles", {"LDTUI_TOKEN": TOKEN}),
    ('profile = ["a"]\n', "profile", {"LDTUI_TOKEN": TOKEN}),
    ('[profiles.p]\nbase_url = "http://"\ntoken_env = "T"\n', "profiles.p.base_url", {}),
    ('[profiles.p]\nbase_url = "https://ld.example.com:99999"\ntoken_env = "T"\n', "profiles.p.base_url", {}),
    ("[status]\nstale_after = inf\n", "status.stale_after", {}),
    ("[status]\nstale_after = nan\n", "status.stale_after", {}),
    ("[status]\npoll_interval = inf\n", "status.poll_interval", {}),
    ("[status]\nstale_after = 0\n", "status.stale_after", {}),
    ("[ui]\nauto_refresh = inf\n", "ui.auto_refresh", {}),
    ('[stores."a/b"]\ntype = "redis"\nurl = "http://cache:6379"\n', "stores.a/b.url", {}),
    ('[stores."a/b"]\ntype = "mongodb"\n', "stores.a/b", {}),
    ('[stores."a/b"]\ntype = "redis"\n', "stores.a/b.url", {}),
    ("[keys]\nrefresh = 5\n", "keys.refresh", {}),
]


@pytest.mark.parametrize(
    "text,field,env", SHAPES, ids=[t.strip().replace("\n", " ")[:40] for t, _, _ in SHAPES]
)
def test_a_document_of_the_wrong_shape_names_the_file_and_field(
    text: str,
    field: str,
    env: dict[str, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    no_network: list[str],
) -> None:
    for var, value in env.items():
        monkeypatch.setenv(var, value)
    path = write(tmp_path, text)
    for command in ("config", "status"):
        code, err = run(["--config", str(path), command], capsys)
        assert code == ExitCode.CONFIG, err
        assert f"{field}:" in err and (str(path) in err or "env LDTUI_" in err), err
    assert no_network == []


def test_deeply_nested_toml_is_a_configuration_error_also_before_the_first_frame(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from ldtui.ui.app import LdtuiApp

    path = write(tmp_path, "a = " + "[" * 50_000 + "]" * 50_000 + "\n")
    ran: list[object] = []
    monkeypatch.setattr(LdtuiApp, "run", lambda self, **kw: ran.append(kw))
    for argv in (["config"], ["status"], []):
        code, err = run(["--config", str(path), *argv], capsys)
        assert code == ExitCode.CONFIG and "nested too deeply" in err and str(path) in err
    assert ran == []  # the TUI never started


@pytest.mark.parametrize(
    "var,value",
    [
        ("LDTUI_STALE_AFTER", "inf"),
        ("LDTUI_STALE_AFTER", "0"),
        ("LDTUI_STALE_AFTER", "-5"),
        ("LDTUI_POLL_INTERVAL", "nan"),
        ("LDTUI_TIMEOUT", "inf"),
    ],
)
def test_environment_values_obey_the_same_model_as_the_flags(
    var: str, value: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(var, value)
    code, err = run(["--config", str(write(tmp_path, "")), "config"], capsys)
    assert code == ExitCode.CONFIG and f"env {var}" in err
    # The flag of the same setting is refused by the same model, as a usage error.
    flag = {"LDTUI_STALE_AFTER": "--stale-after", "LDTUI_POLL_INTERVAL": "--watch"}.get(var)
    if flag:
        monkeypatch.delenv(var)
        code, err = run(["--config", str(write(tmp_path, "")), "status", flag, value], capsys)
        assert code == ExitCode.USAGE and f"argument {flag}" in err


# --- ldtui config fails exactly where ldtui status would ------------------------------------------

AGREEMENT = [
    # (document, environment, what is wrong or None)
    ('[profiles.p]\ntoken_env = "T"\n', {"T": TOKEN}, None),
    ('[profiles.p]\ntoken_env = "T"\n', {}, "$T, which is not set"),
    ("", {}, "no profile is configured"),
    ('[profiles.a]\ntoken_env = "T"\n[profiles.b]\ntoken_env = "T"\n', {"T": TOKEN}, "several profiles"),
    (
        'profile = "a"\n[profiles.a]\ntoken_env = "T"\n[profiles.b]\ntoken_env = "NOT_SET"\n',
        {"T": TOKEN},
        None,
    ),
    (
        'profile = "b"\n[profiles.a]\ntoken_env = "T"\n[profiles.b]\ntoken_env = "NOT_SET"\n',
        {"T": TOKEN},
        "NOT_SET",
    ),
    (
        '[profiles.p]\ntoken_env = "T"\n[stores."a/b"]\ntype = "redis"\nurl = "redis://h/0"\npassword_env = "PW"\n',
        {"T": TOKEN},
        "PW",
    ),
    (
        '[profiles.p]\ntoken_env = "T"\n[stores."a/b"]\ntype = "redis"\nurl = "redis://h/0"\npassword_env = "PW"\n',
        {"T": TOKEN, "PW": "pw"},
        None,
    ),
    ('[profiles.p]\ntoken_file = "/nonexistent/token"\n', {}, "does not exist"),
]


@pytest.mark.parametrize("text,env,wrong", AGREEMENT)
def test_config_and_status_agree(
    text: str,
    env: dict[str, str],
    wrong: str | None,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    no_network: list[str],
) -> None:
    for var, value in env.items():
        monkeypatch.setenv(var, value)
    path = write(tmp_path, text)
    config_code, config_err = run(["--config", str(path), "config"], capsys)
    status_code, status_err = run(["--config", str(path), "status"], capsys)
    if wrong is None:
        assert config_code == ExitCode.OK, config_err
        assert status_code == ExitCode.OK and no_network == ["status"], status_err
    else:
        assert config_code == status_code == ExitCode.CONFIG
        assert wrong in config_err and wrong in status_err
        assert no_network == []


def test_an_explicit_profile_is_checked_by_both(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], no_network: list[str]
) -> None:
    path = write(tmp_path, 'profile = "a"\n[profiles.a]\ntoken = "x"\n[profiles.b]\ntoken_env = "NOT_SET"\n')
    os.chmod(path, 0o600)
    for command in ("config", "status"):
        code, err = run(["--config", str(path), "--profile", "b", command], capsys)
        assert code == ExitCode.CONFIG and "NOT_SET" in err
    code, err = run(["--config", str(path), "--profile", "nope", "config"], capsys)
    assert code == ExitCode.CONFIG and "'nope' is not defined" in err


def test_load_config_never_raises_anything_but_config_error(tmp_path: Path) -> None:
    # The shapes above, straight through the loader (the CLI is not what catches them).
    for text, _, env in SHAPES:
        with pytest.raises(ConfigError):
            load_config({**env}, file=write(tmp_path, text))


@pytest.mark.parametrize("spelling", ["~0", "~no-such-user-here/ldtui.toml"])
def test_a_config_path_under_an_unknown_home_is_a_configuration_error(
    spelling: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``~name`` for a user this machine does not know: exit 78 naming where the path came
    from, never Path.expanduser's RuntimeError (found by the CLI fuzz test)."""
    monkeypatch.setenv("LDTUI_CONFIG_FILE", spelling)
    assert main(["status"]) == ExitCode.CONFIG
    err = capsys.readouterr().err
    assert "env LDTUI_CONFIG_FILE" in err and "full path" in err and "Traceback" not in err
    monkeypatch.delenv("LDTUI_CONFIG_FILE")
    assert main(["--config", spelling, "status"]) == ExitCode.CONFIG
    assert "--config" in capsys.readouterr().err


def test_every_path_a_person_types_refuses_an_unknown_home_clearly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The same for a keys file, a token file and the audit trail's --file: the flag or the
    setting named, an exit code, no traceback."""
    nobody = "~no-such-user-here/file"
    store = ["inspect", "--store", "redis", "--redis-url", "redis://127.0.0.1:1/0", "--segment", "s=1"]
    assert main([*store, "--keys-file", nobody]) == ExitCode.USAGE
    err = capsys.readouterr().err
    assert "--keys-file" in err and "home directory" in err and "Traceback" not in err
    assert main(["audit", "--file", nobody]) == ExitCode.USAGE
    err = capsys.readouterr().err
    assert "--file" in err and "home directory" in err
    config = tmp_path / "config.toml"
    config.write_text(f'[profiles.default]\ntoken_file = "{nobody}"\n')
    with pytest.raises(ConfigError, match="token_file.*home directory"):
        load_config(file=config, environ={}).token()
