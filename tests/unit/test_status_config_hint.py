"""The hint of a store ldtui does not probe names a ``[stores."…"]`` key the operator can add:
``project/environment`` when it is free, ``project/environment/kind`` when that environment's
key already holds its store of the other kind (adding the same table again is a TOML error,
and ldtui would refuse the file)."""

from __future__ import annotations

import tomllib
from pathlib import Path

from ldtui.config import load_config
from ldtui.services.status import StatusService, Target


def service(tmp_path: Path, stores: str) -> StatusService:
    path = tmp_path / "config.toml"
    path.write_text(stores)
    return StatusService(None, load_config({}, file=path))


def target(kind: str) -> Target:
    return Target(id="i1", project="default", environment="staging", kind=kind, name="n", prefix="p")


def key_in(hint: str) -> str:
    return hint.split('[stores."', 1)[1].split('"]', 1)[0]


def test_a_free_key_is_suggested_as_project_environment(tmp_path: Path) -> None:
    hint = service(tmp_path, "").config_hint(target("redis"))
    assert key_in(hint) == "default/staging"


def test_a_key_taken_by_the_other_kind_gets_the_kind(tmp_path: Path) -> None:
    taken = (
        '[stores."default/staging"]\ntype = "dynamodb"\ntable = "ld-big-segments"\nregion = "us-east-1"\n'
        'endpoint_url = "http://127.0.0.1:1"\n'
    )
    svc = service(tmp_path, taken)
    hint = svc.config_hint(target("redis"))
    key = key_in(hint)
    assert key == "default/staging/redis", hint
    # Following the hint gives a file that loads, and the store is then found for the target.
    added = taken + f'[stores."{key}"]\ntype = "redis"\nurl = "redis://127.0.0.1:6379/0"\n'
    tomllib.loads(added)
    svc = service(tmp_path, added)
    assert svc._store_for("default", "staging", "redis")[0] == key
