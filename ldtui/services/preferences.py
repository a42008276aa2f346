"""What the TUI remembers of the person's choices between runs (the theme picked from the
palette), in the state directory's ``ui.json``. The configuration wins when it sets the same
thing; a file that is missing or not ours is ignored (and rewritten on the next choice)."""

from __future__ import annotations

from pathlib import Path

from ldtui.services.state import read_json, write_json

FILE_NAME = "ui.json"
MAX_NAME = 200


class Preferences:
    def __init__(self, directory: Path) -> None:
        self.path = directory / FILE_NAME

    def _read(self) -> dict[str, object]:
        data = read_json(self.path)
        return data if isinstance(data, dict) else {}

    @property
    def theme(self) -> str | None:
        value = self._read().get("theme")
        return value if isinstance(value, str) and 0 < len(value) <= MAX_NAME else None

    def remember_theme(self, name: str) -> bool:
        """False when it could not be written (the choice then lasts this session only)."""
        data = self._read()
        if data.get("theme") == name:
            return True
        data["theme"] = name
        return write_json(self.path, data)
