"""No input reaches the user as a traceback: hypothesis writes configuration documents (TOML
of every shape, with the real setting names), environment values and argument lists, and runs
``ldtui.cli.main`` in-process on each. The exit code must be one of ``ExitCode`` and stderr must
hold no traceback; an exception escaping ``main`` fails the test by itself.

What would reach the network or start a server is replaced at its boundary (the status loop,
the store read, the integration lookup, textual-serve, the emulator's socket, the TUI's run):
what is fuzzed is everything before, which is where input is judged."""

from __future__ import annotations

import contextlib
import io
import json
import math
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ldtui.cli import ExitCode, main

CODES = {c.value for c in ExitCode}
SETTING_NAMES = [
    "profile",
    "profiles",
    "stores",
    "status",
    "ui",
    "keys",
    "base_url",
    "token_env",
    "token_file",
    "token",
    "timeout",
    "type",
    "url",
    "password_env",
    "password_file",
    "ca_file",
    "prefix",
    "table",
    "region",
    "aws_profile",
    "endpoint_url",
    "role_arn",
    "external_id",
    "stale_after",
    "poll_interval",
    "bell",
    "theme",
    "auto_refresh",
    "animations",
    "mouse",
    "exporter",
    "listen",
    "default/production",
    "p",
    "redis",
    "dynamodb",
]
TEXTS = [
    "",
    "redis",
    "dynamodb",
    "commercial",
    "eu",
    "http://",
    "https://h:99999",
    "https://ld.example:0",
    "127.0.0.1:9786",
    "[::1]:0",
    "0.0.0.0:99999",
    "redis://:pw@h:6379/0",
    "redis://u:p/w@h:notaport/0",
    "unix://",
    "rediss://h",
    "http://127.0.0.1:1",
    "/dev/zero",
    "/dev/null",
    "/nonexistent",
    "~",
    "\x1b]52;c;aGk=\x07",
    "[link=file:///etc/passwd]x[/link]",
    "\u202e",
    "9" * 5000,
    "inf",
    "nan",
    "-1",
    "0",
    "1e400",
]


def scalars() -> st.SearchStrategy[Any]:
    return st.one_of(
        st.booleans(),
        st.integers(min_value=-(2**63), max_value=2**63 - 1),
        st.floats(allow_nan=True, allow_infinity=True),
        st.sampled_from(TEXTS),
        st.text(st.characters(exclude_categories=("Cs",)), max_size=20),
    )


def documents() -> st.SearchStrategy[dict[str, Any]]:
    keys = st.one_of(
        st.sampled_from(SETTING_NAMES), st.text(st.characters(exclude_categories=("Cs",)), max_size=8)
    )
    values = st.recursive(
        scalars(),
        lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(keys, inner, max_size=4)),
        max_leaves=12,
    )
    return st.dictionaries(keys, values, max_size=6)


def toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        if math.isnan(v):
            return "nan"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return repr(v)
    if isinstance(v, int):
        return str(v)
    if isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, list):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    return "{" + ", ".join(f"{json.dumps(k)} = {toml_value(x)}" for k, x in v.items()) + "}"


def toml(doc: dict[str, Any]) -> str:
    """Tables as [headers] where they hold only scalars, the rest inline: both TOML shapes."""
    lines, tables = [], []
    for k, v in doc.items():
        if isinstance(v, dict) and v and all(not isinstance(x, dict | list) for x in v.values()):
            tables.append((k, v))
        else:
            lines.append(f"{json.dumps(k)} = {toml_value(v)}")
    for k, v in tables:
        lines.append(f"[{json.dumps(k)}]")
        lines += [f"{json.dumps(kk)} = {toml_value(x)}" for kk, x in v.items()]
    return "\n".join(lines) + "\n"


class Boundary(Exception):
    """Raised where the command would start talking to the world."""


@contextlib.contextmanager
def no_world(tmp_path: Path) -> Iterator[None]:
    from ldtui.services.inspect import Inspector
    from ldtui.stores.base import StoreUnavailable
    from ldtui.ui.app import LdtuiApp

    async def status_loop(req: Any, cfg: Any) -> ExitCode:
        return ExitCode.OK

    async def report(self: Any, *args: Any, **kwargs: Any) -> Any:
        raise StoreUnavailable("not contacted in this test")

    async def integration(*args: Any, **kwargs: Any) -> Any:
        from ldtui.services.inspect import SourceError

        raise SourceError("not contacted in this test")

    class Socket:
        def getsockname(self) -> tuple[str, int]:
            return ("127.0.0.1", 1)

        def close(self) -> None:
            pass

    with pytest.MonkeyPatch.context() as mp:
        for var in list(os.environ):
            if var.startswith("LDTUI_"):
                mp.delenv(var)
        mp.setenv("HOME", str(tmp_path))
        mp.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
        mp.setattr("ldtui.cli.status._watch", status_loop)
        mp.setattr(Inspector, "report", report)
        mp.setattr("ldtui.services.inspect.integration_inspector", integration)
        mp.setattr("ldtui.emulator.runtime.bind_socket", lambda host, port: Socket())
        mp.setattr("ldtui.cli.emulator.serve", lambda args, sock, started: ExitCode.OK)
        mp.setattr("ldtui.cli.exporter.bind", lambda address: Socket())
        mp.setattr("ldtui.cli.exporter.serve", lambda cfg, profile, address, sock: None)
        mp.setattr("textual_serve.server.Server.serve", lambda self: None)
        mp.setattr(LdtuiApp, "run", lambda self, **kwargs: None)
        mp.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(b"key-1\nkey-2\n")))
        yield


def run_main(argv: list[str]) -> None:
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        code = main(argv)
    assert code in CODES, (argv, code)
    assert "Traceback" not in err.getvalue(), (argv, err.getvalue())


FUZZ = settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@FUZZ
@given(doc=documents(), private=st.booleans())
def test_no_configuration_document_gives_a_traceback(
    tmp_path: Path, doc: dict[str, Any], private: bool
) -> None:
    path = tmp_path / "config.toml"
    path.write_text(toml(doc))
    path.chmod(0o600 if private else 0o644)
    with no_world(tmp_path):
        for argv in (
            ["config"],
            ["config", "--json"],
            ["status"],
            ["exporter"],
            ["--no-mouse"],
            ["inspect", "--integration", "default/production/redis", "k"],
        ):
            run_main(["--config", str(path), *argv])


@FUZZ
@given(text=st.text(max_size=200) | st.binary(max_size=200))
def test_no_file_content_gives_a_traceback(tmp_path: Path, text: str | bytes) -> None:
    path = tmp_path / "config.toml"
    if isinstance(text, str):
        path.write_text(text, encoding="utf-8", errors="surrogateescape")
    else:
        path.write_bytes(text)
    with no_world(tmp_path):
        for argv in (["config"], ["status"], []):
            run_main(["--config", str(path), *argv])


ENV_VARS = [
    "LDTUI_PROFILE",
    "LDTUI_STALE_AFTER",
    "LDTUI_POLL_INTERVAL",
    "LDTUI_BELL",
    "LDTUI_THEME",
    "LDTUI_AUTO_REFRESH",
    "LDTUI_ANIMATIONS",
    "LDTUI_MOUSE",
    "LDTUI_BASE_URL",
    "LDTUI_TOKEN",
    "LDTUI_TOKEN_ENV",
    "LDTUI_TOKEN_FILE",
    "LDTUI_TIMEOUT",
    "LDTUI_LISTEN",
    "LDTUI_CONFIG_FILE",
]


@FUZZ
@given(
    env=st.dictionaries(
        st.sampled_from(ENV_VARS),
        st.one_of(
            st.sampled_from(TEXTS),
            st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x00"), max_size=12),
        ),
        max_size=5,
    ),
    doc=documents(),
)
def test_no_environment_gives_a_traceback(tmp_path: Path, env: dict[str, str], doc: dict[str, Any]) -> None:
    path = tmp_path / "config.toml"
    path.write_text(toml(doc))
    with no_world(tmp_path):
        for var, value in env.items():
            os.environ[var] = value
        try:
            for argv in (["config"], ["status"], ["exporter"], []):
                run_main(argv if "LDTUI_CONFIG_FILE" in env else ["--config", str(path), *argv])
        finally:
            for var in env:
                os.environ.pop(var, None)


FLAGS: dict[str, list[str]] = {
    "": ["--config", "--profile", "--demo", "--no-mouse", "--version"],
    "config": ["--json"],
    "status": ["--json", "--watch", "--stale-after"],
    "exporter": ["--listen"],
    "inspect": [
        "--store",
        "--integration",
        "--redis-url",
        "--redis-password-env",
        "--table",
        "--region",
        "--endpoint-url",
        "--aws-profile",
        "--prefix",
        "--segment",
        "--kind",
        "--discover",
        "--keys-file",
        "--key-column",
        "--json",
        "--stale-after",
        "--timeout",
    ],
    "hash": ["--json"],
    "serve": ["--host", "--port", "--public-url", "--demo"],
    "emulator": [
        "--host",
        "--port",
        "--token",
        "--seed",
        "--contexts",
        "--redis-url",
        "--dynamodb-endpoint",
        "--create-tables",
        "--rate-limit",
        "--retry-after",
        "--sync-interval",
    ],
}
ARG_VALUES = [
    *TEXTS,
    "-",
    "k",
    "redis",
    "dynamodb",
    "seg=1",
    "seg",
    "seg=x",
    "seg=" + "9" * 5000,
    "seg=²",
    "a/b/redis",
    "a/b",
    "--",
    "-h",
    "\udcff",
    "key\x00",
    "\x1b[2J",
]


@st.composite
def argument_lists(draw: st.DrawFn) -> list[str]:
    command = draw(st.sampled_from(list(FLAGS)))
    args = [command] if command else []
    vocabulary = FLAGS[command] + FLAGS[""]
    for _ in range(draw(st.integers(0, 6))):
        args.append(draw(st.sampled_from(vocabulary) | st.sampled_from(ARG_VALUES) | st.text(max_size=6)))
    if command == "inspect" and draw(st.booleans()):
        args += ["--store", draw(st.sampled_from(["redis", "dynamodb"]))]
    return [a for a in args if a not in ("--version", "-h")] if draw(st.booleans()) else args


@FUZZ
@given(argv=argument_lists())
def test_no_argument_list_gives_a_traceback(tmp_path: Path, argv: list[str]) -> None:
    with no_world(tmp_path):
        os.environ["LDTUI_CONFIG_FILE"] = os.devnull
        run_main(argv)
