"""The inspector against a real redis-server: the harness's seeded app with its production
store written to Redis (by the writer LaunchDarkly's relay uses), read through the real
reader. As a script, it drives the bulk screen over a keys file under Pilot, exports the
results, and prints its peak RSS and what the screen counted as one JSON line:

    python -m tests.ui.bulk_driver REDIS_URL KEYS_FILE OUT_DIR

(its own process, so the peak RSS is the screen's, not the test runner's; start it from a
small process, as ru_maxrss includes the peak of the process it was exec'ed from)."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path
from typing import Any

from tests.ui.harness import NOW, World, make_world, settle, wait_until

NOW_MS = int(NOW * 1000)
SEGMENTS = "beta-testers high-value-customers churn.risk legacy-cohort"
STORE_KEY = "default/production"


async def write_store(world: World, redis_url: str, prefix: str | None = None) -> str:
    """Replay the production environment's patch log into Redis as the relay writes it, under
    ``prefix`` (default: the environment's client-side ID, where LaunchDarkly writes). Returns
    the prefix written."""
    from ldtui.stores.writers import RedisBigSegmentWriter

    env = world.state.projects["default"].environments["production"]
    writer = RedisBigSegmentWriter.from_url(redis_url, prefix or env.id)
    try:
        for patch in env.patch_log:
            outcome = await writer.apply_patch(patch)
            assert outcome.applied, outcome.reason
        await writer.set_synchronized_on(NOW_MS - 5_000)
    finally:
        await writer.aclose()
    return writer.prefix


def read_from_redis(world: World, redis_url: str, prefix: str | None = None) -> None:
    """The production store configured as a real Redis store (``prefix``: as configured in
    ``[stores]``, else the environment's client-side ID), read by the real reader."""
    from ldtui.config import Config, Settings

    store: dict[str, Any] = {"type": "redis", "url": redis_url}
    if prefix is not None:
        store["prefix"] = prefix
    world.app.backend.config = Config(
        settings=Settings.model_validate({"stores": {STORE_KEY: store}}),
        file=Path("(test)"),
        file_exists=False,
    )
    world.app.reader_factory = None


async def open_inspector(pilot: Any) -> Any:
    from ldtui.ui.screens.inspector import InspectorScreen
    from ldtui.ui.widgets.table import LdTable
    from tests.ui.harness import find

    await settle(pilot)
    integ = find(pilot.app.backend.runtime.state, "Prod Redis store")
    table = pilot.app.screen.query_one(LdTable)
    table.move_cursor(row=table.get_row_index(integ.id))
    await pilot.press("i")
    await settle(pilot)
    assert isinstance(pilot.app.screen, InspectorScreen)
    return pilot.app.screen


async def look_up(pilot: Any, key: str, segments: str = SEGMENTS) -> None:
    from ldtui.ui.widgets.inputs import LdInput

    screen = pilot.app.screen
    screen.query_one("#inspect-key", LdInput).value = key
    screen.query_one("#inspect-segments", LdInput).value = segments
    screen.query_one("#inspect-key", LdInput).focus()
    await pilot.press("enter")
    await settle(pilot)


async def export(pilot: Any, path: Path, timeout: float = 120.0) -> None:
    """Export through the dialog and wait for the screen to say it was written."""
    from ldtui.ui.widgets.inputs import LdInput

    said = len(pilot.app.notices)
    await pilot.press("e")
    await wait_until(pilot, lambda: bool(pilot.app.screen.query("#export-path")), what="the export dialog")
    pilot.app.screen.query_one("#export-path", LdInput).value = str(path)
    await pilot.press("enter")
    await wait_until(
        pilot,
        lambda: any(
            "written to" in n.message or "not exported" in n.message for n in list(pilot.app.notices)[said:]
        ),
        timeout=timeout,
        what=f"the export of {path.name}",
    )
    assert path.exists(), [n.message for n in pilot.app.notices]


async def drive(redis_url: str, keys_file: Path, out_dir: Path) -> dict[str, Any]:
    from ldtui.ui.screens.inspector import BulkScreen
    from ldtui.ui.widgets.inputs import LdInput

    world = make_world()
    await write_store(world, redis_url)
    read_from_redis(world, redis_url)
    async with world.app.run_test(size=(120, 36)) as pilot:
        await open_inspector(pilot)
        await look_up(pilot, "alice@example.com")
        await pilot.press("b")
        await settle(pilot)
        bulk = pilot.app.screen
        assert isinstance(bulk, BulkScreen)
        bulk.query_one("#bulk-path", LdInput).value = str(keys_file)
        await pilot.press("ctrl+o")
        await wait_until(pilot, lambda: bulk.source is not None, timeout=120, what="the keys file checked")
        started = time.monotonic()
        await pilot.press("ctrl+r")
        await wait_until(
            pilot,
            lambda: not bulk.running and bulk.spool is not None and bulk.spool.finished,
            timeout=600,
            what="the run ends",
        )
        run_seconds = time.monotonic() - started
        spool_dir = bulk.spool.directory if bulk.spool is not None else None
        spool_modes = {}
        if spool_dir is not None:
            import os
            import stat

            spool_modes = {
                p.name: oct(stat.S_IMODE(os.stat(p).st_mode))
                for p in [Path(spool_dir), *Path(spool_dir).iterdir()]
            }
        for name in ("out.csv", "out.jsonl", "out.json"):
            await export(pilot, out_dir / name)
        tally = bulk.tally
        assert tally is not None
        result = {
            "env_id": world.state.projects["default"].environments["production"].id,
            "contexts": tally.contexts,
            "segments": {k: dict(v) for k, v in tally.per_segment.items()},
            "rows": len(bulk.rows),
            "run_seconds": run_seconds,
            "spool": spool_dir,
            "spool_modes": spool_modes,
        }
        await pilot.press("escape")  # the bulk screen closes: its spool goes with it
        await settle(pilot)
    return result


def main() -> None:
    import resource

    redis_url, keys_file, out_dir = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
    result = asyncio.run(drive(redis_url, keys_file, out_dir))
    result["maxrss_kb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # This process's own peak (ru_maxrss also covers the process it was exec'ed from).
    with open("/proc/self/status", encoding="ascii") as f:
        hwm = [line.split()[1] for line in f if line.startswith("VmHWM:")]
    result["vm_hwm_kb"] = int(hwm[0]) if hwm else 0
    print(json.dumps(result))


if __name__ == "__main__":
    main()
