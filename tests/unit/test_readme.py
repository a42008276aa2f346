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
