"""screenshots/ is what the current code draws: regenerating every picture reproduces the
committed files (clock times aside). A visual change without ``make screenshots`` fails here."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
_TIME = re.compile(r"\b\d\d:\d\d:\d\d\b")


def normalise(svg: str) -> str:
    return _TIME.sub("HH:MM:SS", svg)


async def test_regenerated_screenshots_match_the_committed_ones(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location("generate", ROOT / "screenshots" / "generate.py")
    assert spec is not None and spec.loader is not None
    generate = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(generate)
    paths = await generate.main(tmp_path)
    committed = sorted(p.name for p in (ROOT / "screenshots").glob("*.svg"))
    assert sorted(p.name for p in paths) == committed, "a screenshot is missing, or one is left over"
    stale = [
        p.name
        for p in paths
        if normalise(p.read_text()) != normalise((ROOT / "screenshots" / p.name).read_text())
    ]
    assert not stale, f"run `make screenshots` and commit: {stale}"
