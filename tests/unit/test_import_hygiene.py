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
    ["ldtui.core.bigsegments", "ldtui.stores.redis_reader", "ldtui.stores.dynamodb_reader",
     "ldtui.stores.writers", "ldtui.core.models", "ldtui.core.forms", "ldtui.core.patch", "ldtui.core.secrets",
     "ldtui.core.manifests", "ldtui.api", "ldtui.config", "ldtui.spec"],
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


def test_cli_entry_is_light() -> None:
    modules = loaded_after("import ldtui.__main__")
    for heavy in ("textual", "httpx", "redis", "boto3", "botocore", "pydantic"):
        assert heavy not in modules


def test_readers_never_import_the_writer() -> None:
    modules = loaded_after("import ldtui.stores.redis_reader, ldtui.stores.dynamodb_reader")
    assert "ldtui.stores.writers" not in modules
    assert "redis" not in modules  # the reader speaks RESP itself; redis-py is the writer's
    assert "boto3" not in modules  # loaded when a DynamoDB client is first needed
