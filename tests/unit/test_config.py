"""Configuration: file + environment, profiles, secret references, sources, and errors that
name the file, the line and the field."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ldtui.config import ConfigError, RedisStore, describe, load_config, locate_lines

EXAMPLE = """\
profile = "prod"

[profiles.prod]
base_url = "commercial"
token_env = "LD_TOKEN"
timeout = 15

[profiles.emulator]
base_url = "http://127.0.0.1:8765"
token_file = "{token_file}"

[stores."default/production"]
type = "redis"
url = "rediss://reader@redis.internal:6380/0"
password_env = "REDIS_PW"
ca_file = "/etc/ssl/redis-ca.pem"

[stores."default/staging"]
type = "dynamodb"
table = "ld-big-segments"
region = "us-east-1"
aws_profile = "ops"

[status]
stale_after = 90
"""

TOKEN = "api-aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"


def write(tmp_path: Path, text: str, mode: int = 0o644) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text)
    os.chmod(path, mode)
    return path


@pytest.fixture
def example(tmp_path: Path) -> Path:
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN + "\n")
    return write(tmp_path, EXAMPLE.format(token_file=token_file))


def test_example_loads_with_sources(example: Path) -> None:
    cfg = load_config({"LD_TOKEN": TOKEN, "REDIS_PW": "pw-123456789012345"}, file=example)
    assert cfg.profile_name == "prod"
    assert cfg.token().get_secret_value() == TOKEN
    assert cfg.token("emulator").get_secret_value() == TOKEN  # from the file, stripped
    name, prof = cfg.profile()
    assert prof.resolved_base_url == "https://app.launchdarkly.com" and prof.timeout == 15
    assert cfg.source("profiles.prod.timeout") == "config.toml:6"
    assert cfg.source("status.stale_after") == "config.toml:25"
    assert cfg.source("status.poll_interval") == "default"
    store = cfg.store("default", "production")
    assert isinstance(store, RedisStore) and store.ca_file == "/etc/ssl/redis-ca.pem"
    assert cfg.store_password("default/production").get_secret_value() == "pw-123456789012345"
    assert cfg.store("default", "staging").aws_profile == "ops"
    assert cfg.store("default", "nope") is None


def test_missing_default_file_means_defaults(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    cfg = load_config({"XDG_CONFIG_HOME": str(tmp_path)})
    assert not cfg.file_exists
    assert cfg.settings.status.stale_after == 120 and cfg.settings.status.poll_interval == 5
    with pytest.raises(ConfigError, match="no profile is configured"):
        cfg.profile()


def test_named_file_must_exist(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found") as info:
        load_config({"LDTUI_CONFIG_FILE": str(tmp_path / "missing.toml")})
    assert "LDTUI_CONFIG_FILE" in str(info.value)


def test_env_overrides_and_implicit_profile(tmp_path: Path) -> None:
    env = {
        "LDTUI_CONFIG_FILE": str(write(tmp_path, "")),
        "LDTUI_TOKEN": TOKEN,
        "LDTUI_BASE_URL": "http://127.0.0.1:9999",
        "LDTUI_STALE_AFTER": "30",
    }
    cfg = load_config(env)
    assert cfg.profile_name == "env"
    assert cfg.token().get_secret_value() == TOKEN
    assert cfg.profile()[1].resolved_base_url == "http://127.0.0.1:9999"
    assert cfg.settings.status.stale_after == 30
    assert cfg.source("status.stale_after") == "env LDTUI_STALE_AFTER"
    assert cfg.source("profiles.env.token") == "env LDTUI_TOKEN"


def test_env_token_overrides_the_selected_profile(example: Path) -> None:
    cfg = load_config({"LDTUI_TOKEN": "api-from-env-000000000000"}, file=example)
    assert cfg.profile_name == "prod"
    assert cfg.token().get_secret_value() == "api-from-env-000000000000"
    assert cfg.profile()[1].token_env is None


def test_profile_selected_by_env(example: Path) -> None:
    cfg = load_config({"LDTUI_PROFILE": "emulator"}, file=example)
    assert cfg.profile_name == "emulator"
    assert cfg.source("profile") == "env LDTUI_PROFILE"


def test_unknown_profile(example: Path) -> None:
    cfg = load_config({}, file=example)
    with pytest.raises(ConfigError, match="'nope' is not defined; known: prod, emulator"):
        cfg.profile("nope")


def test_token_env_not_set_says_what_to_export(example: Path) -> None:
    cfg = load_config({}, file=example)
    with pytest.raises(ConfigError) as info:
        cfg.token()
    assert "export LD_TOKEN=" in str(info.value) and info.value.key == "profiles.prod.token_env"


def test_empty_token_rejected(example: Path) -> None:
    with pytest.raises(ConfigError, match="empty"):
        load_config({"LD_TOKEN": "  "}, file=example).token()


def test_token_file_missing(tmp_path: Path) -> None:
    path = write(tmp_path, '[profiles.a]\ntoken_file = "/nonexistent/token"\n')
    with pytest.raises(ConfigError, match="/nonexistent/token does not exist"):
        load_config({}, file=path).token()


def test_no_token_reference(tmp_path: Path) -> None:
    path = write(tmp_path, '[profiles.a]\nbase_url = "eu"\n')
    with pytest.raises(ConfigError, match="token_env") as info:
        load_config({}, file=path).token()
    assert str(path) in str(info.value)


def test_inline_token_needs_mode_0600(tmp_path: Path) -> None:
    text = f'[profiles.a]\nbase_url = "eu"\ntoken = "{TOKEN}"\n'
    with pytest.raises(ConfigError) as info:
        load_config({}, file=write(tmp_path, text, 0o644))
    e = info.value
    assert e.line == 3 and e.key == "profiles.a.token" and "chmod 600" in str(e)
    assert TOKEN not in str(e)
    cfg = load_config({}, file=write(tmp_path, text, 0o600))
    assert cfg.token().get_secret_value() == TOKEN
    assert TOKEN not in repr(cfg.settings)


def test_password_in_redis_url_needs_mode_0600(tmp_path: Path) -> None:
    text = '[stores."p/e"]\ntype = "redis"\nurl = "redis://u:hunter2hunter2@h:6379"\n'
    with pytest.raises(ConfigError) as info:
        load_config({}, file=write(tmp_path, text, 0o640))
    assert info.value.line == 3 and "hunter2" not in str(info.value)
    cfg = load_config({}, file=write(tmp_path, text, 0o600))
    rows = {r.key: r.value for r in describe(cfg)}
    assert rows["stores.p/e.url"] == "redis://u:********@h:6379"


@pytest.mark.parametrize(
    "text, line, key, fragment",
    [
        ('[status]\nstale_after = "soon"\n', 2, "status.stale_after", "valid number"),
        ("[status]\n\nstale_afte = 3\n", 3, "status.stale_afte", "unknown setting"),
        ("[status]\npoll_interval = -1\n", 2, "status.poll_interval", "greater than or equal to 0.1"),
        ("[status]\npoll_interval = 0.0001\n", 2, "status.poll_interval", "greater than or equal to 0.1"),
        (
            '[profiles.a]\ntoken_env = "X"\nbase_url = "app.launchdarkly.com"\n',
            3,
            "profiles.a.base_url",
            "preset",
        ),
        ('[stores."p/e"]\ntype = "redis"\nurl = "http://h"\n', 3, "stores.p/e.url", "redis://"),
        ('[stores."p/e"]\ntype = "dynamodb"\nregion = "us-east-1"\n', 1, "stores.p/e.table", "required"),
        ('[stores."p/e"]\nurl = "redis://h"\n', 1, "stores.p/e.type", 'type = "redis"'),
        (
            '[stores."p/e"]\ntype = "redis"\nurl = "redis://h"\ntabel = "x"\n',
            4,
            "stores.p/e.tabel",
            "unknown setting",
        ),
        ("[ui]\ntheme = 3\n", 2, "ui.theme", "valid string"),
    ],
)
def test_bad_values_name_file_line_and_field(
    tmp_path: Path, text: str, line: int, key: str, fragment: str
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_config({}, file=path)
    e = info.value
    assert e.file == path and e.line == line and e.key == key, (e.file, e.line, e.key, str(e))
    assert fragment in str(e)
    assert str(e).startswith(f"{path}:{line}: {key}: ")


def test_toml_syntax_error_names_line(tmp_path: Path) -> None:
    path = write(tmp_path, "[status]\nstale_after = 90\nbell = tru\n")
    with pytest.raises(ConfigError) as info:
        load_config({}, file=path)
    assert info.value.line == 3 and "not valid TOML" in str(info.value)


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_bytes(b'profile = "\xff"\n')
    with pytest.raises(ConfigError, match="not UTF-8"):
        load_config({}, file=path)


def test_bad_env_value_names_the_variable(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_config({"LDTUI_POLL_INTERVAL": "fast"}, file=write(tmp_path, ""))
    assert "env LDTUI_POLL_INTERVAL" in str(info.value)


def test_describe_masks_every_secret(example: Path) -> None:
    secret_pw = "redis-password-0123456789"
    cfg = load_config({"LD_TOKEN": TOKEN, "REDIS_PW": secret_pw}, file=example)
    rows = describe(cfg)
    text = "\n".join(f"{r.key} {r.value} {r.source} {r.problem}" for r in rows)
    assert TOKEN not in text and secret_pw not in text
    by_key = {r.key: r for r in rows}
    assert by_key["profiles.prod.token"].value == "****eeee"
    assert by_key["profiles.prod.token"].source == "$LD_TOKEN (config.toml:5)"
    assert by_key["stores.default/production.password"].value == "****6789"
    assert by_key["status.stale_after"].value == "90 s"


def test_describe_reports_missing_secrets_as_problems(example: Path) -> None:
    rows = describe(load_config({}, file=example))
    problems = {r.key: r.problem for r in rows if r.problem}
    assert "profiles.prod.token" in problems and "LD_TOKEN" in problems["profiles.prod.token"]
    assert "stores.default/production.password" in problems


def test_locate_lines_handles_quoted_and_dotted_keys() -> None:
    text = '# c\n[a]\nx = 1\n[b."c/d"]\n"k.1" = 2\ne.f = 3\n[[arr]]\n'
    lines = locate_lines(text)
    assert lines[("a",)] == 2 and lines[("a", "x")] == 3
    assert lines[("b", "c/d")] == 4 and lines[("b", "c/d", "k.1")] == 5
    assert lines[("b", "c/d", "e", "f")] == 6 and lines[("arr",)] == 7
