"""Layering: pure logic and the API client never pull in Textual (or Rich), and the CLI
entry point stays light so headless commands start fast (harlequin's import-hygiene test)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest


def loaded_after(code: str) -> set[str]:
    out = subprocess.run(
        [sys.executable, "-c", f"{code}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return set(json.loads(out.strip().splitlines()[-1]))


@pytest.mark.parametrize(
    "module",
    [
        "ldtui.core.bigsegments",
        "ldtui.stores.redis_reader",
        "ldtui.stores.dynamodb_reader",
        "ldtui.stores.writers",
        "ldtui.core.models",
        "ldtui.core.forms",
        "ldtui.core.patch",
        "ldtui.core.secrets",
        "ldtui.core.manifests",
        "ldtui.core.key_input",
        "ldtui.core.explain",
        "ldtui.core.reports",
        "ldtui.api",
        "ldtui.config",
        "ldtui.config_file",
        "ldtui.spec",
        "ldtui.services.inspect",
        "ldtui.services.connect",
        "ldtui.services.status",
        "ldtui.emulator.demo",
        "ldtui.cli",
        "ldtui.cli.parser",
        "ldtui.cli.status",
        "ldtui.cli.inspect",
        "ldtui.cli.tui",
        "ldtui.services.exporter",
        "ldtui.cli.exporter",
    ],
)
def test_no_textual(module: str) -> None:
    modules = loaded_after(f"import {module}")
    assert module in modules
    assert "textual" not in modules


def test_core_does_not_load_rich() -> None:
    # (httpx loads rich itself when it is installed, for its optional CLI; core must not.)
    modules = loaded_after("import ldtui.core.models, ldtui.core.forms, ldtui.core.patch, ldtui.config")
    assert "rich" not in modules


def test_core_does_no_network_io() -> None:
    modules = loaded_after("import ldtui.core.models, ldtui.core.forms, ldtui.core.patch")
    for heavy in ("httpx", "redis", "boto3", "botocore"):
        assert heavy not in modules


LIGHT = (
    "textual",
    "rich",
    "httpx",
    "redis",
    "boto3",
    "botocore",
    "pydantic",
    "platformdirs",
    "ldtui.emulator.seed",
    "prometheus_client",
)


def test_cli_entry_is_light() -> None:
    modules = loaded_after("import ldtui.__main__")
    for heavy in LIGHT:
        assert heavy not in modules


def test_version_and_the_whole_parser_are_light() -> None:
    # Every subcommand's parser is built for `ldtui --version` too: none may import its work.
    modules = loaded_after("from ldtui.cli import main\nassert main(['--version']) == 0")
    for heavy in LIGHT:
        assert heavy not in modules, heavy
    assert {
        f"ldtui.cli.{c}" for c in ("config", "status", "exporter", "inspect", "hash", "serve", "emulator")
    } <= modules


def test_the_tui_reaches_its_first_frame_without_pydantic_or_the_network_stack() -> None:
    """What loads before ``App.run`` (the first frame): Textual and the UI settings, not the
    configuration's models, the REST client, the store drivers or the demo's emulator."""
    modules = loaded_after(
        "import os\nos.environ['LDTUI_CONFIG_FILE'] = os.devnull\n"
        "from ldtui.ui.app import LdtuiApp\nLdtuiApp.run = lambda self, **kw: None\n"
        "from ldtui.cli import main\nassert main(['--demo']) == 0"
    )
    assert "textual" in modules and "ldtui.config_file" in modules
    for heavy in (
        "pydantic",
        "httpx",
        "redis",
        "boto3",
        "botocore",
        "ldtui.config",
        "ldtui.services.backend",
        "ldtui.emulator.seed",
        "ldtui.emulator.runtime",
        "moto",
        "prometheus_client",
    ):
        assert heavy not in modules, heavy


def test_readers_never_import_the_writer() -> None:
    modules = loaded_after("import ldtui.stores.redis_reader, ldtui.stores.dynamodb_reader")
    assert "ldtui.stores.writers" not in modules
    assert "redis" not in modules  # the reader speaks RESP itself; redis-py is the writer's
    assert "boto3" not in modules  # loaded when a DynamoDB client is first needed
