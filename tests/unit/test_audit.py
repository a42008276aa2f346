"""The audit trail: what is recorded for a write (and what never is), how it is read back
(bounded, tolerant of lines that are not entries), and ``ldtui audit``."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from ldtui.api.errors import ApiError
from ldtui.cli import ExitCode, main
from ldtui.core.forms import IntegrationDraft
from ldtui.emulator.runtime import EmulatorRuntime
from ldtui.emulator.seed import DEFAULT_TOKEN, SeedOptions, build_state
from ldtui.emulator.syncer import Endpoints
from ldtui.services.audit import (
    FILE_NAME,
    AuditEntry,
    AuditLog,
    AuditTrail,
    masked_body,
    read_entries,
    scrub,
)
from ldtui.services.backend import EmulatorBackend
from ldtui.services.integrations import IntegrationService

NOW = 1_795_000_000.0


def entry(n: int, **overrides: Any) -> AuditEntry:
    values: dict[str, Any] = {
        "time": f"2026-11-18T11:0{n % 10}:40Z",
        "profile": "prod",
        "base_url": "https://app.launchdarkly.com",
        "action": "toggle",
        "method": "PATCH",
        "path": f"/api/v2/integration-capabilities/big-segment-store/p/e/redis/id-{n}",
        "project": "p",
        "environment": "e",
        "kind": "redis",
        "integration_id": f"id-{n}",
        "name": f"Store {n}",
        "status": 200,
        "request_id": f"req-{n}",
        "ok": True,
    }
    values.update(overrides)
    return AuditEntry(**values)


async def service(tmp_path: Path) -> tuple[IntegrationService, Any, list[str]]:
    state = build_state(SeedOptions(seed=1, contexts=20, extra_projects=0))
    backend = EmulatorBackend(EmulatorRuntime(state, Endpoints()), DEFAULT_TOKEN)
    await backend.start()
    failures: list[str] = []
    trail = AuditTrail(
        AuditLog(tmp_path / FILE_NAME, clock=lambda: NOW),
        profile="emulator",
        base_url=backend.base_url,
        on_write_failure=failures.append,
    )
    return IntegrationService(backend.client, audit=trail), state, failures


async def test_a_rejected_create_is_recorded_with_its_status_request_id_and_no_secret(tmp_path: Path) -> None:
    svc, state, failures = await service(tmp_path)
    # default/production has a Redis integration already: LaunchDarkly refuses a second one.
    draft = IntegrationDraft(kind="redis", name="Second", on=True)
    draft.config.update({"host": "redis.two.internal", "port": "6379", "password": "second-secret-9876"})
    with pytest.raises(ApiError) as raised:
        await svc.create("default", "production", draft)
    assert raised.value.status == 409
    raw = (tmp_path / FILE_NAME).read_text()
    assert "second-secret-9876" not in raw
    (line,) = [json.loads(x) for x in raw.splitlines()]
    assert line["action"] == "create" and line["method"] == "POST" and line["status"] == 409
    assert line["ok"] is False and line["error"] and line["requestId"] == raised.value.request_id
    assert line["body"]["config"]["password"] != "second-secret-9876"
    assert line["body"]["config"]["host"] == "redis.two.internal"
    assert line["time"] == "2026-11-18T11:06:40Z" and not failures  # the clock given


async def test_a_trail_that_cannot_be_written_never_stops_the_write(tmp_path: Path) -> None:
    (tmp_path / FILE_NAME).mkdir()  # a directory where the file should be
    svc, state, failures = await service(tmp_path)
    integ = next(i for i in await svc.list() if i.name == "Dev Redis")
    updated = await svc.set_on(integ, not integ.on)
    assert updated.on is not integ.on
    assert len(failures) == 1 and FILE_NAME in failures[0]


def test_secrets_are_masked_in_bodies_and_messages() -> None:
    body = masked_body("redis", {"name": "x", "config": {"host": "h", "password": "hunter2-hunter2"}})
    assert body["config"]["host"] == "h" and "hunter2-hunter2" not in json.dumps(body)
    assert "hunter2-hunter2" not in scrub("auth failed for hunter2-hunter2 at h", ["hunter2-hunter2"])
    assert scrub("abc", ["ab"]) == "abc"  # too short to be worth masking: left alone


def test_read_back_skips_what_is_not_an_entry_and_is_bounded(tmp_path: Path) -> None:
    path = tmp_path / FILE_NAME
    log = AuditLog(path, clock=lambda: NOW)
    for n in range(3):
        assert log.append(entry(n))
    with path.open("a") as f:
        f.write('{"torn": \n[1, 2]\nnot json\n')
    read = read_entries(path)
    assert [e.integration_id for e in read.entries] == ["id-0", "id-1", "id-2"]
    assert read.skipped == 3 and not read.truncated and read.error is None
    assert read.entries[0].to_json() == entry(0).to_json()
    # Only the end of a large file is read: the cut line is dropped, never misread.
    small = read_entries(path, limit_bytes=len(path.read_bytes()) - 10)
    assert small.truncated and [e.integration_id for e in small.entries] == ["id-1", "id-2"]
    assert read_entries(tmp_path / "missing.jsonl").entries == []
    assert read_entries(tmp_path).error is not None  # a directory


def test_the_file_is_private(tmp_path: Path) -> None:
    path = tmp_path / "sub" / FILE_NAME
    assert AuditLog(path, clock=lambda: NOW).append(entry(1))
    assert os.stat(path).st_mode & 0o777 == 0o600


def test_ldtui_audit_prints_the_trail(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / FILE_NAME
    log = AuditLog(path, clock=lambda: NOW)
    log.append(entry(1, name="Evil \x1b]52;c;aGk=\x07 name"))
    log.append(entry(2, status=409, ok=False, error="conflict"))
    assert main(["audit", "--file", str(path)]) == ExitCode.OK
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0].split()[:3] == ["TIME", "ACTION", "RESULT"]
    assert "HTTP 409" in lines[2] and "req-2" in lines[2]
    assert "\x1b" not in out and "\\x1b" in out  # a name's escape is spelled out
    assert main(["audit", "--file", str(path), "--json", "--last", "1"]) == ExitCode.OK
    document = json.loads(capsys.readouterr().out)
    assert [e["requestId"] for e in document["entries"]] == ["req-2"]
    assert document["entries"][0]["status"] == 409 and document["skipped"] == 0
    assert main(["audit", "--file", str(tmp_path / "none.jsonl")]) == ExitCode.OK
    assert "no change recorded yet" in capsys.readouterr().err
    assert main(["audit", "--file", str(tmp_path)]) == ExitCode.UNAVAILABLE
    assert "not a regular file" in capsys.readouterr().err
