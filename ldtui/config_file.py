"""Finding and peeking at the configuration file without pydantic: fast enough for the TUI's
first frame. ``ldtui.config`` validates the whole file; this only locates it and reads the
few UI settings the first frame needs (an invalid one is ignored here, reported later)."""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ENV_PREFIX = "LDTUI_"


def default_config_file() -> Path:
    import platformdirs

    return Path(platformdirs.user_config_dir("ldtui", appauthor=False)) / "config.toml"


def config_dir() -> Path:
    """Where the configuration file and the user's own themes live."""
    return default_config_file().parent


def config_path(environ: Mapping[str, str], file: Path | str | None = None) -> tuple[Path, bool]:
    """The file to read and whether it was named explicitly (flag or ``LDTUI_CONFIG_FILE``)."""
    explicit = file is not None or f"{ENV_PREFIX}CONFIG_FILE" in environ
    path = Path(file or environ.get(f"{ENV_PREFIX}CONFIG_FILE") or default_config_file())
    return path.expanduser(), explicit


@dataclass
class UiPeek:
    theme: str | None = None
    auto_refresh: float = 0.0
    animations: bool = False
    mouse: bool = True
    keys: dict[str, str] = field(default_factory=dict)


def _flag(value: object, default: bool) -> bool:
    """A boolean from TOML or an environment variable (1/0, true/false, yes/no, on/off)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        word = value.strip().lower()
        if word in ("1", "true", "yes", "on"):
            return True
        if word in ("0", "false", "no", "off"):
            return False
    return default


def peek_ui(file: Path | str | None = None, environ: Mapping[str, str] | None = None) -> UiPeek:
    """Theme, auto refresh and keymap, from the file and the environment, best effort.
    Raises ``tomllib.TOMLDecodeError`` for a file that is not TOML (worth stopping for)."""
    env = os.environ if environ is None else environ
    path, _ = config_path(env, file)
    data: dict[str, Any] = {}
    if path.exists() and not path.is_dir():
        data = tomllib.loads(path.read_text(encoding="utf-8", errors="replace"))
    ui = data.get("ui") if isinstance(data.get("ui"), dict) else {}
    peek = UiPeek()
    theme = env.get(f"{ENV_PREFIX}THEME", ui.get("theme"))
    peek.theme = theme if isinstance(theme, str) else None
    refresh = env.get(f"{ENV_PREFIX}AUTO_REFRESH", ui.get("auto_refresh", 0))
    try:
        peek.auto_refresh = max(0.0, float(refresh))
    except (TypeError, ValueError):
        peek.auto_refresh = 0.0
    peek.animations = _flag(env.get(f"{ENV_PREFIX}ANIMATIONS", ui.get("animations")), False)
    peek.mouse = _flag(env.get(f"{ENV_PREFIX}MOUSE", ui.get("mouse")), True)
    keys = data.get("keys")
    if isinstance(keys, dict):
        peek.keys = {str(k): str(v) for k, v in keys.items() if isinstance(v, str)}
    return peek
