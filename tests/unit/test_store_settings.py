"""Store settings: one model per store kind, validated when the configuration is loaded exactly
as the readers will use it (ldtui.core.store_settings)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from ldtui.config import ConfigError, DynamoDBStore, RedisStore, load_config
from ldtui.core import store_settings
from ldtui.core.store_settings import StoreSettingError, parse_redis_url


def test_config_and_readers_share_the_models() -> None:
    import ldtui.config

    assert ldtui.config.RedisStore is store_settings.RedisStore
    assert ldtui.config.DynamoDBStore is store_settings.DynamoDBStore


def test_the_store_layer_never_imports_the_configuration() -> None:
    code = (
        "import sys; import ldtui.stores.open, ldtui.stores.redis_reader, ldtui.stores.dynamodb_reader, "
        "ldtui.stores.resp; print(sorted(m for m in sys.modules if m.startswith('ldtui.') and "
        "m.split('.')[1] in ('config', 'config_file', 'services', 'ui', 'cli', 'inspect_cli', 'headless')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
    for path in (Path(__file__).resolve().parents[2] / "ldtui" / "stores").glob("*.py"):
        text = path.read_text()
        assert not re.search(r"^\s*(from|import) ldtui\.(config|services|ui|cli)\b", text, re.M), path.name


# --- Redis URLs ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "expect"),
    [
        ("redis://127.0.0.1:6379/0", {"host": "127.0.0.1", "port": 6379, "db": 0, "tls": False}),
        ("redis://cache.internal", {"host": "cache.internal", "port": 6379, "db": 0}),
        (
            "rediss://ldreader@redis.example.com:6380/2",
            {"tls": True, "port": 6380, "db": 2, "username": "ldreader"},
        ),
        ("redis://[::1]:7000/1", {"host": "::1", "port": 7000, "db": 1}),
        ("redis://h/?db=4", {"db": 4}),
        ("unix:///run/redis/redis.sock", {"unix_path": "/run/redis/redis.sock", "db": 0}),
        ("unix:///run/redis/redis.sock?db=3", {"unix_path": "/run/redis/redis.sock", "db": 3}),
        (
            "redis+sentinel://s1:26380,s2,[::1]:1/mymaster/5",
            {"sentinels": (("s1", 26380), ("s2", 26379), ("::1", 1)), "service_name": "mymaster", "db": 5},
        ),
        ("rediss+sentinel://s1/mymaster", {"tls": True, "sentinels": (("s1", 26379),), "db": 0}),
        ("redis://h?socket_timeout=1.5&socket_connect_timeout=2", {}),
        ("rediss://h?ssl_cert_reqs=none&ssl_check_hostname=false&ssl_ca_certs=/ca.pem", {}),
    ],
)
def test_urls_the_reader_understands(url: str, expect: dict[str, object]) -> None:
    ep = parse_redis_url(url)
    for attr, value in expect.items():
        assert getattr(ep, attr) == value, attr


@pytest.mark.parametrize(
    ("url", "fragment"),
    [
        ("unix://", "needs the socket's path"),
        ("unix:///", "needs the socket's path"),
        ("unix://localhost/tmp/r.sock", "three slashes"),
        ("redis://", "needs a host"),
        ("redis://:6379/0", "no host"),
        ("redis://h:99999/0", "port '99999' is out of range"),
        ("redis://h:0/0", "out of range"),
        ("redis://h:" + "9" * 5000, "out of range"),
        ("redis://h:abc/0", "port is not a number"),
        ("redis://h/abc", "database number 'abc'"),
        ("redis://h/1/2", "path is the database number"),
        ("redis://h/1?db=2", "two database numbers"),
        ("redis://h?db=1&db=1", "given twice"),
        ("redis://h?ssl_cert_reqs=none", "TLS setting, but redis:// is plain TCP: use rediss://"),
        ("unix:///s?ssl_ca_certs=/x", "a unix socket has no TLS"),
        ("rediss://h?ssl_cert_reqs=maybe", "use none, optional or required"),
        ("rediss://h?ssl_check_hostname=perhaps", "must be true or false"),
        ("redis://h?socket_timeout=nan", "socket_timeout='nan'"),
        ("redis://h?socket_timeout=0", "more than 0"),
        (
            "redis://h?retry_on_timeout=yes",
            "'retry_on_timeout' is not supported (ldtui knows: db, socket_timeout",
        ),
        ("redis://h?password=x", "password_env or password_file"),
        ("redis://h#frag", "#fragment"),
        ("redis://a,b/0", "redis+sentinel://"),
        ("redis+sentinel://s1", "service name"),
        ("redis+sentinel:///mymaster", "sentinels' addresses"),
        ("redis+sentinel://s1/m/0/1", "/SERVICE or /SERVICE/DB"),
        ("redis+sentinel://s1:99999/m", "sentinel port"),
        ("http://h", "must start with redis://"),
        ("", "empty"),
        ("redis://h /0", "spaces"),
    ],
)
def test_urls_the_reader_refuses(url: str, fragment: str) -> None:
    with pytest.raises(StoreSettingError) as info:
        parse_redis_url(url)
    assert fragment in str(info.value)


@pytest.mark.parametrize(
    "url",
    [
        "redis://u:hunter2-s3cr3t@h:99999/0",
        "redis://u:hunter2/s3cr3t@h:6379/0",
        "redis://u:hunter2?s3cr3t@h/0",
        "redis://u:hunter2#s3cr3t@h/0",
        "redis://u:6379?hunter2s3cr3t&x@h",
        "redis://u:hunter2-s3cr3t@h/notadb",
        "redis://u:hunter2-s3cr3t@h?nope=1",
        "unix://u:hunter2-s3cr3t@host/s.sock",
    ],
)
def test_an_error_never_shows_the_password(url: str) -> None:
    with pytest.raises(StoreSettingError) as info:
        parse_redis_url(url)
    for piece in ("hunter2", "s3cr3t"):
        assert piece not in str(info.value)


@given(
    st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=30),
    st.sampled_from(["6379", "99999", "x", ""]),
)
def test_any_password_parses_or_fails_without_showing_it(password: str, port: str) -> None:
    marked = f"Pw{password}Zq"
    url = f"redis://user:{marked}@host" + (f":{port}" if port else "") + "/0"
    try:
        ep = parse_redis_url(url)
    except StoreSettingError as exc:
        text = str(exc)
        for piece in re.split(r"[/?#@:&=%]", marked):
            if len(piece) >= 4:
                assert piece not in text
        return
    assert ep.password is not None and "Pw" in ep.password.get_secret_value()
    assert "Zq" not in ep.description and "Zq" not in repr(ep)


def test_the_password_reference_wins_over_the_url() -> None:
    store = RedisStore(url="redis://u:inline-pass@h/0")
    assert store.endpoint().password.get_secret_value() == "inline-pass"  # type: ignore[union-attr]
    assert store.endpoint("from-env").password.get_secret_value() == "from-env"  # type: ignore[union-attr]


def test_url_parameters_and_fields_merge() -> None:
    ep = RedisStore(url="rediss://h?socket_timeout=7&ssl_cert_reqs=optional", timeout=2).endpoint()
    assert ep.timeout == 7 and ep.connect_timeout == 2 and ep.cert_reqs == "optional" and ep.check_hostname
    ep = RedisStore(url="rediss://h?ssl_cert_reqs=none", ca_file="/ca.pem").endpoint()
    assert ep.cert_reqs == "none" and not ep.check_hostname and ep.ca_file == "/ca.pem"
    ep = RedisStore(url="rediss://h", cert_file="/c.pem", key_file="/k.pem", check_hostname=False).endpoint()
    assert (ep.cert_file, ep.key_file, ep.check_hostname) == ("/c.pem", "/k.pem", False)


@pytest.mark.parametrize(
    ("fields", "loc", "fragment"),
    [
        ({"url": "redis://h", "ca_file": "/ca.pem"}, "ca_file", "TLS setting, but the URL is plain TCP"),
        ({"url": "unix:///s", "cert_file": "/c.pem"}, "cert_file", "a unix socket has no TLS"),
        ({"url": "redis://h", "check_hostname": False}, "check_hostname", "plain TCP"),
        (
            {"url": "rediss://h?ssl_ca_certs=/a.pem", "ca_file": "/b.pem"},
            "ca_file",
            "ca_file and the URL's ssl_ca_certs disagree",
        ),
        (
            {"url": "rediss://h?ssl_check_hostname=true", "check_hostname": False},
            "check_hostname",
            "disagree",
        ),
        ({"url": "rediss://h", "key_file": "/k.pem"}, "key_file", "key_file needs cert_file"),
        ({"url": "redis://h", "max_members": 0}, "max_members", "greater than or equal to 1"),
        ({"url": "redis://h", "timeout": float("inf")}, "timeout", ""),
        ({"url": "redis://h", "sentinels": ["a"]}, "sentinels", ""),
    ],
)
def test_redis_fields_are_checked_against_the_url(fields: dict[str, object], loc: str, fragment: str) -> None:
    with pytest.raises(ValidationError) as info:
        RedisStore.model_validate(fields)
    err = info.value.errors()[0]
    assert err["loc"] == (loc,) and fragment in err["msg"] and not err["msg"].startswith("Value error")


@pytest.mark.parametrize(
    ("fields", "loc", "fragment"),
    [
        ({"table": "t"}, "table", "3 to 255"),
        ({"table": "has space"}, "table", "3 to 255"),
        ({"table": "ok-table", "region": "Not A Region"}, "region", "AWS region"),
        ({"table": "ok-table", "endpoint_url": "http://h:99999"}, "endpoint_url", "port"),
        ({"table": "ok-table", "endpoint_url": "ftp://h"}, "endpoint_url", "http://"),
        ({"table": "ok-table", "role_arn": "ld-reader"}, "role_arn", "IAM role ARN"),
        ({"table": "ok-table", "external_id": "x"}, "external_id", "set role_arn"),
        ({"table": "ok-table", "parallelism": 0}, "parallelism", "greater than or equal to 1"),
        ({"table": "ok-table", "parallelism": 100}, "parallelism", "less than or equal to 32"),
    ],
)
def test_dynamodb_fields(fields: dict[str, object], loc: str, fragment: str) -> None:
    with pytest.raises(ValidationError) as info:
        DynamoDBStore.model_validate(fields)
    err = info.value.errors()[0]
    assert err["loc"] == (loc,) and fragment in err["msg"]


def test_dynamodb_defaults() -> None:
    s = DynamoDBStore(
        table="ld-big-segments", role_arn="arn:aws:iam::123456789012:role/ld-reader", external_id="x"
    )
    assert s.parallelism == 4 and s.max_members == 10_000 and s.timeout == 3


# --- the configuration file: rejected when loaded, with file, line and field ----------------------


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text)
    path.chmod(0o600)
    return path


BAD_STORES = [
    ('url = "redis://cache:99999/0"', "port '99999' is out of range"),
    ('url = "redis://ldreader:hunter2-s3cr3t@cache:99999/0"', "out of range"),
    ('url = "unix://"', "needs the socket's path"),
    ('url = "redis://cache:6379/0?ssl_cert_reqs=none"', "use rediss://"),
    ('url = "rediss://cache:6379/0?frobnicate=1"', "'frobnicate' is not supported"),
    ('url = "redis://ldreader:hunter2/s3cr3t@cache:6379/0"', "percent-encode"),
]


@pytest.mark.parametrize(("line", "fragment"), BAD_STORES)
def test_a_bad_store_url_fails_the_load(tmp_path: Path, line: str, fragment: str) -> None:
    path = write(tmp_path, f'[stores."default/production"]\ntype = "redis"\n{line}\n')
    with pytest.raises(ConfigError) as info:
        load_config({}, file=path)
    err = info.value
    assert err.file == path and err.line == 3 and err.key == "stores.default/production.url"
    assert f"{path}:3: stores.default/production.url: invalid Redis URL: " in str(err) and fragment in str(
        err
    )
    assert "hunter2" not in str(err) and "s3cr3t" not in str(err)


@pytest.mark.parametrize(("line", "fragment"), BAD_STORES[:3])
def test_ldtui_config_and_status_agree(tmp_path: Path, line: str, fragment: str) -> None:
    """Both commands load the configuration the same way: exit 78, the same message."""
    path = write(
        tmp_path, f'[profiles.p]\ntoken_env = "T"\n\n[stores."default/production"]\ntype = "redis"\n{line}\n'
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("LDTUI_")}
    env["T"] = "api-12345678-aaaa-bbbb-cccc-0123456789ab"
    env["LDTUI_CONFIG_FILE"] = str(path)
    runs = [
        subprocess.run(
            [sys.executable, "-m", "ldtui", command], capture_output=True, text=True, env=env, timeout=60
        )
        for command in ("config", "status")
    ]
    for run in runs:
        assert run.returncode == 78, run.stderr
        assert f"{path}:6: stores.default/production.url" in run.stderr and fragment in run.stderr
        assert "hunter2" not in run.stderr + run.stdout and "Traceback" not in run.stderr


def test_a_tls_field_on_a_plain_url_names_its_line(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        '[stores."a/b"]\ntype = "redis"\nurl = "redis://cache/0"\ncert_file = "/etc/ldtui/client.pem"\n',
    )
    with pytest.raises(ConfigError) as info:
        load_config({}, file=path)
    assert (
        info.value.line == 4 and info.value.key == "stores.a/b.cert_file" and "rediss://" in str(info.value)
    )


def test_new_store_settings_load(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        '[stores."a/b"]\ntype = "redis"\nurl = "rediss+sentinel://s1:26379,s2:26379/mymaster/0"\n'
        'ca_file = "/ca.pem"\ncert_file = "/c.pem"\nkey_file = "/k.pem"\ncheck_hostname = false\nmax_members = 500\n'
        '[stores."a/c"]\ntype = "dynamodb"\ntable = "ld-big-segments"\nregion = "us-east-1"\nparallelism = 8\n',
    )
    cfg = load_config({}, file=path)
    redis, dynamodb = cfg.settings.stores["a/b"], cfg.settings.stores["a/c"]
    assert isinstance(redis, RedisStore) and redis.max_members == 500
    assert (
        redis.endpoint().sentinels == (("s1", 26379), ("s2", 26379)) and not redis.endpoint().check_hostname
    )
    assert isinstance(dynamodb, DynamoDBStore) and dynamodb.parallelism == 8


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        (
            "redis+sentinel://u:pw-s3cr3t@[::1]:26379,[::2]:26379/m/0",
            "redis+sentinel://u:********@[::1]:26379,[::2]:26379/m/0",
        ),
        (
            "rediss://ldreader:pw-s3cr3t@h:6380/2?ssl_cert_reqs=none",
            "rediss://ldreader:********@h:6380/2?ssl_cert_reqs=none",
        ),
        ("redis://u:pw/s3cr3t?x#y@h:1/0", "redis://u:********@h:1/0"),
        ("unix://u:pw-s3cr3t@/run/redis.sock?db=1", "unix://u:********@/run/redis.sock?db=1"),
        ("redis://ldreader@h/0", "redis://ldreader@h/0"),
        ("redis://h/0", "redis://h/0"),
    ],
)
def test_redaction_splits_like_the_parser(url: str, shown: str) -> None:
    assert store_settings.redact_redis_url(url) == shown


def test_ldtui_config_masks_a_sentinel_url(tmp_path: Path) -> None:
    from ldtui.config import describe

    path = write(
        tmp_path,
        '[stores."a/b"]\ntype = "redis"\nurl = "redis+sentinel://u:pw-s3cr3t@[::1]:26379,[::2]:26379/m/0"\n',
    )
    rows = {row.key: row.value for row in describe(load_config({}, file=path))}
    assert rows["stores.a/b.url"] == "redis+sentinel://u:********@[::1]:26379,[::2]:26379/m/0"
    assert not any("s3cr3t" in value for value in rows.values())
