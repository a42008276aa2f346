"""The README's pictures and the two commands are real."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()


def test_every_referenced_image_exists() -> None:
    refs = re.findall(r"\((screenshots/[^)\s]+)\)", README)
    assert refs
    for ref in refs:
        assert (ROOT / ref).is_file(), ref


def test_the_two_commands_are_make_targets() -> None:
    makefile = (ROOT / "Makefile").read_text()
    for target in ("demo", "test"):
        assert f"make {target}" in README
        assert re.search(rf"^{target}:", makefile, re.M), target


def test_every_screenshot_is_shown_or_linked() -> None:
    refs = set(re.findall(r"\((screenshots/[^)\s]+)\)", README))
    for svg in (ROOT / "screenshots").glob("*.svg"):
        assert f"screenshots/{svg.name}" in refs, svg.name


def markdown_links(text: str) -> list[str]:
    return re.findall(r"\]\(([^)\s]+)\)", text)


def test_links_stay_inside_the_repository() -> None:
    """A reader of the README (or docs/) on GitHub or in a wheel has the repository, nothing
    beside it: every link is an anchor or a file of the repository."""
    for page in [ROOT / "README.md", *(ROOT / "docs").glob("*.md")]:
        text = page.read_text()
        assert "shared/" not in text, f"{page.name} points outside the repository"
        for link in markdown_links(text):
            if link.startswith("#"):
                continue
            assert "://" not in link and not link.startswith(".."), (page.name, link)
            assert (page.parent / link.split("#")[0]).resolve().is_relative_to(ROOT), (page.name, link)
            assert (page.parent / link.split("#")[0]).exists(), (page.name, link)


def section(title: str) -> str:
    m = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## )", README, re.M | re.S)
    assert m, title
    return m.group(1)


def readme_exit_codes() -> dict[int, str]:
    rows = re.findall(r"^\| (\d+) \| ([A-Z_]+) \|", section("Exit codes"), re.M)
    return {int(code): name for code, name in rows}


def test_the_exit_code_table_is_the_enum() -> None:
    from ldtui.cli import ExitCode

    assert readme_exit_codes() == {c.value: c.name for c in ExitCode}


def test_the_environment_table_is_derived_from_the_settings_models() -> None:
    from ldtui.config import env_variables

    table = section("Configuration").split("Environment variables override the file:")[1].split("\n\n")[1]
    documented = set(re.findall(r"`(LDTUI_[A-Z_]+)`", table))
    assert documented == {*env_variables(), "LDTUI_CONFIG_FILE"}
