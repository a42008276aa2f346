"""Themes as files: ``themes/*.toml`` shipped with ldtui, plus the user's own in the config dir.

A file that cannot be read or does not make a valid theme is skipped with a notice naming the
file and the error; the app then falls back to the default theme."""

from __future__ import annotations

import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.theme import Theme

import ldtui

DEFAULT_THEME = "ldtui-dark"
ANSI_THEME = "ldtui-ansi"
# Used when a theme (for example Textual's own) does not define ldtui's variables.
STATUS_DEFAULTS = {
    "status-ok": "ansi_green",
    "status-stale": "ansi_yellow",
    "status-down": "ansi_red",
    "status-off": "ansi_bright_black",
    "status-unknown": "ansi_cyan",
}
_FIELDS = {
    "name",
    "primary",
    "secondary",
    "warning",
    "error",
    "success",
    "accent",
    "foreground",
    "background",
    "surface",
    "panel",
    "boost",
    "dark",
    "luminosity_spread",
    "text_alpha",
    "ansi",
}


@dataclass
class LoadedThemes:
    themes: list[Theme] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def shipped_theme_dirs() -> list[Path]:
    package = Path(ldtui.__file__).parent
    return [d for d in (package / "_themes", package.parent / "themes") if d.is_dir()]


def theme_from_file(path: Path) -> Theme:
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    variables = data.pop("variables", {})
    unknown = set(data) - _FIELDS
    if unknown:
        raise ValueError(f"unknown setting {sorted(unknown)[0]!r}")
    if "name" not in data or "primary" not in data:
        raise ValueError("a theme needs at least name and primary")
    if not isinstance(variables, dict):
        raise ValueError("[variables] must be a table")
    theme = Theme(**data, variables={str(k): str(v) for k, v in variables.items()})
    # Fail here, naming the file, rather than later when the app applies it.
    theme.to_color_system().generate()
    return theme


def load_themes(dirs: Iterable[Path]) -> LoadedThemes:
    out = LoadedThemes()
    seen: set[str] = set()
    for d in dirs:
        for path in sorted(d.glob("*.toml")):
            try:
                theme = theme_from_file(path)
            except Exception as exc:  # any broken file: notice, skip
                out.problems.append(f"theme file {path}: {exc}")
                continue
            if theme.name in seen:
                continue
            seen.add(theme.name)
            out.themes.append(theme)
    return out


class LdThemeProvider(Provider):
    """The palette's themes: ldtui's own (shipped and the user's), each of which defines the
    status colours. Textual's own themes are left out of the list (``ui.theme`` still takes
    them, with default status colours)."""

    def _themes(self) -> list[str]:
        names = getattr(self.app, "ldtui_themes", None)
        return list(names) if names else sorted(self.app.available_themes)

    def _choose(self, name: str) -> None:
        self.app.theme = name

    async def discover(self) -> Hits:
        for name in self._themes():
            yield DiscoveryHit(name, lambda name=name: self._choose(name), help="ldtui theme")

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name in self._themes():
            if (score := matcher.match(name)) > 0:
                yield Hit(
                    score, matcher.highlight(name), lambda name=name: self._choose(name), help="ldtui theme"
                )
