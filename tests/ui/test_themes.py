"""Every shipped theme can show every screen (a theme missing a variable fails at run time)."""

from __future__ import annotations

from typing import Any

import pytest

from ldtui.ui.themes import load_themes, shipped_theme_dirs
from tests.snapshots.test_screens import SCENARIOS
from tests.ui.harness import make_world

SHIPPED = [t.name for t in load_themes(shipped_theme_dirs()).themes]


def test_shipped_themes_load_cleanly() -> None:
    loaded = load_themes(shipped_theme_dirs())
    assert loaded.problems == []
    assert {"ldtui-dark", "ldtui-ansi"} <= set(SHIPPED)
    for theme in loaded.themes:
        for var in ("status-ok", "status-stale", "status-down", "status-off", "status-unknown"):
            assert var in theme.variables, (theme.name, var)


@pytest.mark.parametrize("theme", SHIPPED)
async def test_every_screen_in_every_theme(theme: str) -> None:
    for scenario, run in SCENARIOS.items():
        world = make_world(theme=theme)
        async with world.app.run_test(size=(100, 30)) as pilot:
            await run(pilot)
            assert world.app.theme == theme
            messages = [n.message for n in world.app._notifications]
            assert not any("theme" in m.lower() for m in messages), (scenario, messages)


def test_broken_theme_file_is_skipped_with_a_notice(tmp_path: Any) -> None:
    (tmp_path / "broken.toml").write_text('name = "broken"\nprimary = "not-a-colour"\n')
    (tmp_path / "bad-toml.toml").write_text("name = \n")
    loaded = load_themes([tmp_path])
    assert loaded.themes == []
    assert len(loaded.problems) == 2
    assert all(str(tmp_path) in p for p in loaded.problems)
