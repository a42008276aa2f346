"""The wheel, installed into a fresh virtualenv, is a working ldtui: the themes travel with it,
the headless commands run, and ``ldtui status --json`` talks to the emulator."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

from ldtui.emulator.runtime import EmulatorRuntime, SyncSettings, ThreadedEmulator
from ldtui.emulator.seed import DEFAULT_TOKEN, SeedOptions, build_state
from ldtui.emulator.syncer import Endpoints
from tests.servers import RedisServer, wait_for_first_sync

pytestmark = pytest.mark.network
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    dist = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--outdir", str(dist), str(ROOT)],
        check=True,
        capture_output=True,
        timeout=600,
    )
    (wheel,) = dist.glob("ldtui-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    for theme in ("ldtui-dark", "ldtui-light", "ldtui-ansi", "ldtui-high-contrast"):
        assert f"ldtui/_themes/{theme}.toml" in names
    assert "ldtui/ui/app.tcss" in names and not any(n.startswith("tests/") for n in names)
    env_dir = tmp_path_factory.mktemp("venv") / "fresh"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    pip = env_dir / "bin" / "pip"
    subprocess.run([str(pip), "install", "--quiet", str(wheel)], check=True, capture_output=True, timeout=900)
    return env_dir / "bin"


def run(bin_dir: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    out = subprocess.run(
        [str(bin_dir / "ldtui"), *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd="/",  # nowhere near the source tree
        env={**os.environ, "LDTUI_CONFIG_FILE": os.devnull, **(env or {})},
    )
    assert "Traceback" not in out.stderr, out.stderr
    return out


def test_version_and_hash(installed: Path) -> None:
    from ldtui import __version__

    assert run(installed, "--version").stdout.strip() == f"ldtui {__version__}"
    out = run(installed, "hash", "x")
    assert out.returncode == 0 and out.stdout.split() == ["LXEWQrcmsEQBYnyp+6wy9chTD7GQPMTbAiWHF5IaSIE=", "x"]


def test_the_installed_package_finds_its_themes(installed: Path) -> None:
    code = (
        "from ldtui.ui.themes import load_themes, shipped_theme_dirs;"
        "d = shipped_theme_dirs(); l = load_themes(d);"
        "print(d[0].name, sorted(t.name for t in l.themes), l.problems)"
    )
    out = subprocess.run([str(installed / "python"), "-c", code], capture_output=True, text=True, cwd="/")
    assert out.stdout.split(" ", 1)[0] == "_themes"
    assert "'ldtui-high-contrast', 'ldtui-light'" in out.stdout and out.stdout.strip().endswith("[]")


def test_status_json_against_the_emulator(installed: Path, redis_server: RedisServer, tmp_path: Path) -> None:
    state = build_state(SeedOptions(seed=777, contexts=30, extra_projects=0))
    runtime = EmulatorRuntime(
        state, Endpoints(redis_url=redis_server.url), SyncSettings(interval=0.2, change_every=0)
    )
    server = ThreadedEmulator(runtime).start()
    try:
        config = tmp_path / "config.toml"
        config.write_text(
            f'[profiles.emu]\nbase_url = "{server.base_url}"\ntoken_env = "EMU_TOKEN"\n'
            f'[stores."default/production"]\ntype = "redis"\nurl = "{redis_server.url}"\n'
        )
        wait_for_first_sync(redis_server.url, state)
        out = run(installed, "--config", str(config), "status", "--json", env={"EMU_TOKEN": DEFAULT_TOKEN})
        data = json.loads(out.stdout)
        verdicts = {t["name"]: t["verdict"] for t in data["targets"]}
        assert verdicts["Prod Redis store"] == "HEALTHY"
        assert data["exitCode"] == out.returncode
        assert DEFAULT_TOKEN not in out.stdout + out.stderr
    finally:
        server.stop()
