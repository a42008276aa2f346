"""Regenerate every SVG in this folder from the running app: ``make screenshots``.

The same deterministic world as the snapshot tests (seeded emulator in-process, fixed clock),
the same scenarios, at 120x36, in the default theme and in the ANSI theme."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from tests.snapshots.test_screens import NOW_MS, PANEL_STATES, SCENARIOS, inspector, panel  # noqa: E402
from tests.ui.harness import fixed_stores, make_world, memory_stores  # noqa: E402

SHOTS = {
    "integrations": "integrations",
    "detail": "detail",
    "create_form_errors": "create-form",
    "review": "patch-review",
    "conflict": "conflict",
    "picker": "picker",
    "help": "help",
    "doctor": "doctor",
    "status": "status",
    "status-detail": "status-detail",
    "inspector": "inspector",
    "inspector-bulk": "inspector-bulk",
    "inspector-segment": "inspector-segment",
}
THEMES = {"ldtui-dark": "", "ldtui-ansi": "-ansi"}


PANEL_SHOTS = {"status": False, "status-detail": True}
INSPECTOR_SHOTS = {"inspector": "single", "inspector-bulk": "bulk", "inspector-segment": "segment"}


async def shoot(scenario: str, name: str, theme: str, suffix: str, out: Path = HERE) -> Path:
    world = make_world(theme=theme)
    path = out / f"{name}{suffix}.svg"
    if name in PANEL_SHOTS:
        fixed_stores(world, PANEL_STATES["stale_and_disagree"])
        run = panel("stale_and_disagree", detail=PANEL_SHOTS[name])
    elif name in INSPECTOR_SHOTS:
        memory_stores(world, NOW_MS - 6_000)
        run = inspector(INSPECTOR_SHOTS[name])
    else:
        run = SCENARIOS[scenario]
    async with world.app.run_test(size=(120, 36)) as pilot:
        await run(pilot)
        await pilot.pause()
        world.app.save_screenshot(filename=path.name, path=str(out))
    return path


# The other shipped themes, on the list only.
THEME_SHOTS = {"ldtui-light": "-light", "ldtui-high-contrast": "-high-contrast"}


async def main(out: Path = HERE) -> list[Path]:
    paths = []
    for scenario, name in SHOTS.items():
        for theme, suffix in THEMES.items():
            paths.append(await shoot(scenario, name, theme, suffix, out))
            print(paths[-1])
    for theme, suffix in THEME_SHOTS.items():
        paths.append(await shoot("integrations", "integrations", theme, suffix, out))
        print(paths[-1])
    return paths


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE))
