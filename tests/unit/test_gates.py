"""The gates of `make lint` and .ci/run are real: a deliberately wrong import in a scratch copy
of the tree breaks `lint-imports`, and `make lint` runs every gate."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def scratch_tree(tmp_path: Path) -> Path:
    tree = tmp_path / "tree"
    shutil.copytree(ROOT / "ldtui", tree / "ldtui", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tree / "pyproject.toml")
    return tree


def lint_imports(tree: Path, *contracts: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(tree)}  # the scratch copy, not the installed ldtui
    only = [arg for c in contracts for arg in ("--contract", c)]
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", *only],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.skipif(not LINT_IMPORTS.exists(), reason="import-linter is not installed (make install)")
def test_the_tree_keeps_every_contract(tmp_path: Path) -> None:
    clean = lint_imports(scratch_tree(tmp_path))
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "0 broken" in clean.stdout


@pytest.mark.skipif(not LINT_IMPORTS.exists(), reason="import-linter is not installed (make install)")
@pytest.mark.parametrize(
    "module,line,contract",
    [
        ("core/text.py", "import textual  # noqa: F401", "no-textual-below-ui"),
        ("services/connect.py", "import rich  # noqa: F401", "no-textual-below-ui"),
        ("services/connect.py", "from ldtui.ui import app  # noqa: F401", "layers"),
        ("config.py", "import ldtui.emulator.seed  # noqa: F401", "emulator-only-from-cli"),
        ("core/explain.py", "import httpx  # noqa: F401", "core-does-no-io"),
        ("stores/base.py", "import ldtui.api.client  # noqa: F401", "layers"),
        ("core/text.py", "import ldtui.config  # noqa: F401", "layers"),
    ],
)
def test_a_wrong_import_breaks_the_gate(tmp_path: Path, module: str, line: str, contract: str) -> None:
    tree = scratch_tree(tmp_path)
    target = tree / "ldtui" / module
    assert lint_imports(tree, contract).returncode == 0
    target.write_text(target.read_text() + f"\n{line}\n")
    broken = lint_imports(tree)  # what `make lint` runs
    assert broken.returncode != 0 and "BROKEN" in broken.stdout, broken.stdout
    assert lint_imports(tree, contract).returncode != 0  # and it is this contract that breaks


def test_make_lint_runs_every_gate_and_ci_runs_it_after_the_tests() -> None:
    dry = subprocess.run(["make", "-n", "-B", "lint"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert dry.returncode == 0, dry.stderr
    for gate in ("ruff format --check", "ruff check", "mypy", "lint-imports"):
        assert gate in dry.stdout, gate
    ci = (ROOT / ".ci" / "run").read_text()
    assert ci.index("make test") < ci.index("lint")
