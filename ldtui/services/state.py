"""What ldtui remembers between runs, in the platform state directory
(``~/.local/state/ldtui`` on Linux, ``$XDG_STATE_HOME/ldtui`` when set).

Nothing here is a secret. The environment cache keeps each environment's client-side ID —
the prefix a hosted integration writes its store under, which LaunchDarkly documents as safe to
embed anywhere — so that when the API is down, ``ldtui status`` and the panel still probe the
stores under the right prefix instead of guessing. Every read is bounded; a file that is
missing, unreadable or not what it should be is ignored (and rewritten on the next success).
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

MAX_STATE_FILE = 1024 * 1024


def state_dir() -> Path:
    import platformdirs

    return Path(platformdirs.user_state_dir("ldtui", appauthor=False))


def read_json(path: Path) -> object | None:
    """A small JSON file of ours, or ``None`` (missing, too large, not a file, not JSON)."""
    try:
        if not path.is_file() or path.stat().st_size > MAX_STATE_FILE:
            return None
        with path.open("rb") as f:
            data: object = json.loads(f.read(MAX_STATE_FILE + 1))
            return data
    except (OSError, ValueError):
        return None


def write_json(path: Path, data: object) -> bool:
    """Write atomically (a reader never sees half a file). False when it could not."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(data, f, ensure_ascii=True, sort_keys=True)
        os.replace(tmp, path)
        return True
    except OSError:
        return False


class EnvironmentCache:
    """Per account (base URL): ``project/environment`` -> client-side ID, and the roster of
    integrations (id, project, environment, kind, name: never a config), remembered from the
    last successful listings, for when the API is down."""

    def __init__(self, path: Path | None, base_url: str) -> None:
        self.path = path
        self.base_url = base_url
        self._ids: dict[str, str] = {}
        self._roster: list[dict[str, str]] = []
        data = read_json(path) if path is not None else None
        mine = data.get(base_url) if isinstance(data, dict) else None
        if isinstance(mine, dict):
            ids = mine.get("environments")
            if isinstance(ids, dict):
                self._ids = {k: v for k, v in ids.items() if isinstance(k, str) and isinstance(v, str)}
            roster = mine.get("integrations")
            if isinstance(roster, list):
                fields = ("id", "project", "environment", "kind", "name")
                self._roster = [
                    {f: str(r[f]) for f in fields}
                    for r in roster[:100_000]
                    if isinstance(r, dict) and all(isinstance(r.get(f), str) for f in fields)
                ]
        self._dirty = False

    @property
    def roster(self) -> list[dict[str, str]]:
        return list(self._roster)

    def put_roster(self, entries: list[dict[str, str]]) -> None:
        if entries != self._roster:
            self._roster = entries
            self._dirty = True

    @classmethod
    def default(cls, base_url: str) -> EnvironmentCache:
        return cls(state_dir() / "environments.json", base_url)

    def get(self, project: str, environment: str) -> str | None:
        return self._ids.get(f"{project}/{environment}")

    def put(self, project: str, environment: str, client_side_id: str) -> None:
        key = f"{project}/{environment}"
        if self._ids.get(key) != client_side_id:
            self._ids[key] = client_side_id
            self._dirty = True

    def save(self) -> None:
        if self.path is None or not self._dirty:
            return
        data = read_json(self.path)
        whole = data if isinstance(data, dict) else {}
        whole[self.base_url] = {"environments": dict(self._ids), "integrations": self._roster}
        if write_json(self.path, whole):
            self._dirty = False
