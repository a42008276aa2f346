"""The audit trail: every create, edit, on/off and delete ldtui sends, one JSON line each, in
the platform state directory (``audit.jsonl``).

Each line says when, on which profile and base URL, what (the action, the integration, the
exact patch or body), and what came back (the HTTP status, LaunchDarkly's request id, the
error). Secrets never reach the file: configs and patches are masked the way the screens mask
them, and any typed secret that a server's message echoes is masked too. Writing the trail
never stops the change it records: a failure to write is reported (once per session, by the
caller) and the change goes ahead. Reading is bounded: the last ``MAX_READ_BYTES`` of the file.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from ldtui.api.client import observe_responses
from ldtui.api.errors import ApiError
from ldtui.core.patch import mask_config, patch_for_display
from ldtui.core.secrets import mask_secret

FILE_NAME = "audit.jsonl"
MAX_READ_BYTES = 4 * 1024 * 1024
MAX_LINE_BYTES = 256 * 1024
ACTIONS = ("create", "edit", "toggle", "delete")

T = TypeVar("T")


def default_path() -> Path:
    from ldtui.services.state import state_dir

    return state_dir() / FILE_NAME


def masked_body(kind: str, body: Mapping[str, Any]) -> dict[str, Any]:
    """A create body with its config's secrets masked."""
    out = dict(body)
    config = out.get("config")
    if isinstance(config, Mapping):
        out["config"] = mask_config(config, kind)
    return out


def scrub(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every occurrence of a secret masked (a server may quote what it was sent)."""
    for secret in sorted({s for s in secrets if s}, key=len, reverse=True):
        if len(secret) >= 4:
            text = text.replace(secret, mask_secret(secret))
    return text


@dataclass
class AuditEntry:
    time: str  # ISO 8601, UTC
    profile: str
    base_url: str
    action: str  # create | edit | toggle | delete
    method: str
    path: str
    project: str
    environment: str
    kind: str
    integration_id: str | None = None
    name: str | None = None
    body: Any = None  # the patch or the create body, secrets masked
    status: int | None = None  # None: no answer (network, timeout)
    request_id: str | None = None
    ok: bool = False
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "time": self.time,
            "profile": self.profile,
            "baseUrl": self.base_url,
            "action": self.action,
            "method": self.method,
            "path": self.path,
            "project": self.project,
            "environment": self.environment,
            "kind": self.kind,
            "integrationId": self.integration_id,
            "name": self.name,
            "body": self.body,
            "status": self.status,
            "requestId": self.request_id,
            "ok": self.ok,
            "error": self.error,
        }

    @classmethod
    def from_json(cls, data: object) -> AuditEntry | None:
        """An entry read back, or ``None`` for a line that is not one of ours."""
        if not isinstance(data, dict):
            return None
        text = {"time", "profile", "baseUrl", "action", "method", "path", "project", "environment", "kind"}
        if not all(isinstance(data.get(k), str) for k in text):
            return None

        def opt_str(key: str) -> str | None:
            value = data.get(key)
            return value if isinstance(value, str) else None

        status = data.get("status")
        return cls(
            time=data["time"],
            profile=data["profile"],
            base_url=data["baseUrl"],
            action=data["action"],
            method=data["method"],
            path=data["path"],
            project=data["project"],
            environment=data["environment"],
            kind=data["kind"],
            integration_id=opt_str("integrationId"),
            name=opt_str("name"),
            body=data.get("body"),
            status=status if isinstance(status, int) and not isinstance(status, bool) else None,
            request_id=opt_str("requestId"),
            ok=data.get("ok") is True,
            error=opt_str("error"),
        )


@dataclass
class AuditLog:
    """The file, and whether the last write failed (and why)."""

    path: Path | None
    clock: Callable[[], float]
    last_error: str | None = None
    written: int = 0
    _failures: int = field(default=0, repr=False)

    @property
    def failures(self) -> int:
        return self._failures

    def append(self, entry: AuditEntry) -> bool:
        """One line, appended whole (one write of the encoded line, to a file opened for
        appending). False when it could not be written; ``last_error`` says why."""
        if self.path is None:
            return False
        line = (json.dumps(entry.to_json(), ensure_ascii=True, sort_keys=True) + "\n").encode()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.write(fd, line)
            finally:
                os.close(fd)
        except OSError as exc:
            self._failures += 1
            self.last_error = f"cannot write {self.path}: {exc.strerror or exc}"
            return False
        self.written += 1
        self.last_error = None
        return True

    def now_iso(self) -> str:
        return (
            dt.datetime.fromtimestamp(self.clock(), dt.UTC)
            .isoformat(timespec="seconds")
            .replace("+00:00", "Z")
        )


@dataclass
class AuditRead:
    entries: list[AuditEntry]
    skipped: int = 0  # lines that were not entries (torn, foreign, too long)
    truncated: bool = False  # the file is larger than what was read: older entries left out
    error: str | None = None  # the file could not be read at all


def read_entries(path: Path, *, limit_bytes: int = MAX_READ_BYTES) -> AuditRead:
    """The entries of the last ``limit_bytes`` of the file, oldest first. A missing file is
    an empty trail; a line that is not an entry is counted, not fatal."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except FileNotFoundError:
        return AuditRead([])
    except OSError as exc:
        return AuditRead([], error=f"cannot read {path}: {exc.strerror or exc}")
    try:
        import stat

        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            return AuditRead([], error=f"{path} is not a regular file")
        start = max(0, info.st_size - limit_bytes)
        os.lseek(fd, start, os.SEEK_SET)
        chunks, size = [], 0
        while size < limit_bytes:
            chunk = os.read(fd, min(1 << 16, limit_bytes - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except OSError as exc:
        return AuditRead([], error=f"cannot read {path}: {exc.strerror or exc}")
    finally:
        os.close(fd)
    data = b"".join(chunks)
    lines = data.split(b"\n")
    skipped = 0
    if start > 0 and lines:
        lines = lines[1:]  # the first line was cut by the bound
    entries = []
    for raw in lines:
        if not raw.strip():
            continue
        if len(raw) > MAX_LINE_BYTES:
            skipped += 1
            continue
        try:
            entry = AuditEntry.from_json(json.loads(raw))
        except ValueError:
            entry = None
        if entry is None:
            skipped += 1
        else:
            entries.append(entry)
    return AuditRead(entries, skipped=skipped, truncated=start > 0)


class AuditTrail:
    """Records the writes of one session (a profile, a base URL) in an ``AuditLog``."""

    def __init__(
        self,
        log: AuditLog,
        *,
        profile: str,
        base_url: str,
        on_write_failure: Callable[[str], None] | None = None,
    ) -> None:
        self.log = log
        self.profile = profile
        self.base_url = base_url
        self.on_write_failure = on_write_failure

    async def record(
        self,
        *,
        action: str,
        method: str,
        path: str,
        project: str,
        environment: str,
        kind: str,
        body: Any,
        call: Callable[[], Awaitable[T]],
        integration_id: str | None = None,
        name: str | None = None,
        secrets: Iterable[str] = (),
        result_id: Callable[[T], str | None] | None = None,
    ) -> T:
        """Run ``call`` (the write), then append what was sent and what came back. The
        outcome of ``call`` (its value or its exception) is the caller's, whatever the log."""
        seen: list[tuple[int, str | None]] = []
        entry = AuditEntry(
            time=self.log.now_iso(),
            profile=self.profile,
            base_url=self.base_url,
            action=action,
            method=method,
            path=path,
            project=project,
            environment=environment,
            kind=kind,
            integration_id=integration_id,
            name=name,
            body=body,
        )
        secrets = list(secrets)
        try:
            with observe_responses(lambda status, request_id: seen.append((status, request_id))):
                result = await call()
        except ApiError as exc:
            entry.status, entry.request_id = exc.status, exc.request_id
            entry.error = scrub(exc.summary, secrets)
            self._write(entry)
            raise
        except BaseException as exc:
            if seen:
                entry.status, entry.request_id = seen[-1]
            entry.error = scrub(f"{type(exc).__name__}: {exc}", secrets) if str(exc) else type(exc).__name__
            self._write(entry)
            raise
        if seen:
            entry.status, entry.request_id = seen[-1]
        entry.ok = True
        if result_id is not None:
            entry.integration_id = result_id(result) or entry.integration_id
        self._write(entry)
        return result

    def _write(self, entry: AuditEntry) -> None:
        if not self.log.append(entry) and self.on_write_failure is not None and self.log.last_error:
            self.on_write_failure(self.log.last_error)


def display_patch(patch: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return patch_for_display(patch)
