"""The inspector screens, driven with Pilot: the seeded emulator in-process, its environments'
stores in memory (filled from the same patch log the syncer replays)."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

from textual.widgets import Static, TextArea

from ldtui.core.bigsegments import context_key_hash
from ldtui.ui.screens.inspector import BulkScreen, InspectorScreen, SegmentScreen
from ldtui.ui.widgets.inputs import LdInput
from ldtui.ui.widgets.table import LdTable
from tests.ui.harness import NOW, find, make_world, memory_stores, settle, wait_until

NOW_MS = int(NOW * 1000)
SEGMENTS = "beta-testers high-value-customers churn.risk legacy-cohort"


def text_of(widget: Any) -> str:
    from rich.console import Console

    console = Console(width=300, record=True, color_system=None)
    console.print(widget.content if isinstance(widget, Static) else widget)
    return console.export_text()


def truth(world: Any, key: str, segment: str, env: str = "production") -> str:
    seg = world.state.projects["default"].environments[env].segments[segment]
    return "INCLUDED" if key in seg.included else "EXCLUDED" if key in seg.excluded else "NO-DATA"


async def open_inspector(pilot: Any, row_name: str = "Prod Redis store") -> InspectorScreen:
    from ldtui.ui.screens.integrations import IntegrationsScreen

    await settle(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, IntegrationsScreen)
    integ = find(pilot.app.backend.runtime.state, row_name)  # type: ignore[attr-defined]
    table = screen.query_one(LdTable)
    table.move_cursor(row=table.get_row_index(integ.id))
    await pilot.press("i")
    await settle(pilot)
    assert isinstance(pilot.app.screen, InspectorScreen)
    return pilot.app.screen


async def look_up(pilot: Any, key: str, segments: str = SEGMENTS, kind: str = "") -> None:
    screen = pilot.app.screen
    screen.query_one("#inspect-key", LdInput).value = key
    screen.query_one("#inspect-kind", LdInput).value = kind
    screen.query_one("#inspect-segments", LdInput).value = segments
    screen.query_one("#inspect-key", LdInput).focus()
    await pilot.press("enter")
    await settle(pilot)


async def open_bulk(pilot: Any) -> BulkScreen:
    await open_inspector(pilot)
    await look_up(pilot, "alice@example.com")
    await pilot.press("b")
    await settle(pilot)
    assert isinstance(pilot.app.screen, BulkScreen)
    return pilot.app.screen


def verdict_rows(screen: Any) -> dict[str, tuple[str, str]]:
    table = screen.query_one("#inspector-verdicts", LdTable)
    return {
        table.get_row_at(i)[0].plain: (table.get_row_at(i)[1].plain, table.get_row_at(i)[2].plain)
        for i in range(table.row_count)
    }


async def test_single_context_explained_per_segment_and_generation() -> None:
    world = make_world()
    memory_stores(world, NOW_MS - 5_000)
    env = world.state.projects["default"].environments["production"]
    legacy = env.segments["legacy-cohort"]
    excluded = sorted(legacy.excluded)[0]
    async with world.app.run_test(size=(120, 36)) as pilot:
        screen = await open_inspector(pilot)
        assert "Prod Redis store" in text_of(screen.query_one("#inspector-store"))
        assert "HEALTHY" in text_of(screen.query_one("#inspector-store"))
        for key in (excluded, "alice@example.com", sorted(env.segments["beta-testers"].included)[0]):
            await look_up(pilot, key)
            rows = verdict_rows(screen)
            assert set(rows) == set(SEGMENTS.split())
            for seg, (gen, verdict) in rows.items():
                assert verdict == truth(world, key, seg), (key, seg)
                assert gen == str(env.segments[seg].generation)
            assert context_key_hash(key) in text_of(screen.query_one("#inspector-hash"))
        assert rows["legacy-cohort"][0] == "3"
        # Copy the hash and the result.
        await pilot.press("c")
        assert pilot.app.clipboard == context_key_hash(key)
        await pilot.press("y")
        copied = json.loads(pilot.app.clipboard)
        assert copied["key"] == key and copied["segments"]["beta-testers"] == "included"


async def test_the_freshness_line_ticks_and_reads_the_store_again() -> None:
    """The store's age on the inspector's top line follows the clock (synchronizedOn 5 s ago,
    then 65 s, then 11 min) and its word with it (HEALTHY, then STALE past 120 s: never HEALTHY
    beside "11m ago"); and the store is read again by itself, so a fresh sync shows up."""
    import time

    from ldtui.core.text import relative_age

    world = make_world()
    stores = memory_stores(world, NOW_MS - 5_000)
    world.app.backend.config.settings.status.poll_interval = 0.5

    async def until(expected: str) -> None:
        deadline = time.monotonic() + 4
        while expected not in text_of(screen.query_one("#inspector-store")):
            assert time.monotonic() < deadline, (expected, text_of(screen.query_one("#inspector-store")))
            await pilot.pause(0.05)

    async with world.app.run_test(size=(120, 36)) as pilot:
        screen = await open_inspector(pilot)
        for step, word in ((0, "HEALTHY"), (60, "HEALTHY"), (600, "STALE")):
            world.clock.advance(step)
            await until(f"{word}  {relative_age(NOW_MS - 5_000, int(world.clock() * 1000))}")
        # The writer catches up: the next reading (every poll interval) says so.
        stores["default/production"].synchronized_on = int(world.clock() * 1000) - 2_000
        await until("HEALTHY  2s ago")


async def test_orphaned_refs_and_kind_are_explained() -> None:
    world = make_world()
    stores = memory_stores(world, NOW_MS - 5_000)
    reader = stores["default/production"]
    orphan_hash = next(h for h, (inc, _) in sorted(reader.sets.items()) if "legacy-cohort.g1" in inc)
    # The store is one-way: find the plain key whose hash holds the old generation.
    candidates = ["alice@example.com", "bob@example.com", *(f"user-production-{i:05d}" for i in range(60))]
    key = next(k for k in candidates if context_key_hash(k) == orphan_hash)
    async with world.app.run_test(size=(120, 36)) as pilot:
        screen = await open_inspector(pilot)
        await look_up(pilot, key, "legacy-cohort")
        refs = text_of(screen.query_one("#inspector-refs"))
        assert (
            "orphaned  legacy-cohort.g1 (included): generation 1 of 'legacy-cohort'; the current one is 3"
            in refs
        )
        await look_up(pilot, key, SEGMENTS, kind="org")
        assert {v for _, v in verdict_rows(screen).values()} == {"OTHER-KIND"}


async def test_bad_input_keeps_what_was_typed() -> None:
    world = make_world()
    memory_stores(world, NOW_MS - 5_000)
    async with world.app.run_test(size=(120, 36)) as pilot:
        screen = await open_inspector(pilot)
        await look_up(pilot, "", SEGMENTS)
        assert any("empty" in n.message for n in pilot.app.notices)
        await look_up(pilot, "alice@example.com", "beta-testers=three")
        assert any("'three' is not a whole number" in n.message for n in pilot.app.notices)
        assert screen.query_one("#inspect-segments", LdInput).value == "beta-testers=three"
        assert pilot.app.focused is screen.query_one("#inspect-segments", LdInput)
        await look_up(pilot, "x" * 70_000, "")
        assert any("70,000 bytes long" in n.message for n in pilot.app.notices)


async def test_unconfigured_store_says_how_to_configure_it() -> None:
    world = make_world()
    memory_stores(world, NOW_MS - 5_000)
    async with world.app.run_test(size=(120, 36)) as pilot:
        screen = await open_inspector(pilot, "Dev Redis")
        line = text_of(screen.query_one("#inspector-store"))
        assert "UNAVAILABLE" in line and '[stores."default/development"]' in line
        # Choose another store with the picker.
        await pilot.press("ctrl+t")
        await settle(pilot)
        await pilot.press("home", "enter")
        await settle(pilot)
        assert "Prod Redis store" in text_of(screen.query_one("#inspector-store"))


async def test_bulk_counts_export_and_bad_file(tmp_path: Path) -> None:
    world = make_world()
    memory_stores(world, NOW_MS - 5_000)
    keys = ["alice@example.com", "bob@example.com", *(f"user-production-{i:05d}" for i in range(60))]
    async with world.app.run_test(size=(120, 36)) as pilot:
        bulk = await open_bulk(pilot)
        bulk.query_one("#bulk-keys", TextArea).text = "\n".join(keys) + "\n\n"
        await pilot.press("ctrl+r")
        await settle(pilot)
        assert bulk.tally is not None and bulk.tally.contexts == len(keys)
        assert [r.key for r in bulk.rows] == keys
        counts = text_of(bulk.query_one("#bulk-counts"))
        included = sum(truth(world, k, "beta-testers") == "INCLUDED" for k in keys)
        assert f"{len(keys)} contexts" in counts and f"beta-testers: {included} INCLUDED" in counts
        assert bulk.query_one("#bulk-results", LdTable).row_count == len(keys)
        # Export CSV, then JSON.
        out = tmp_path / "out.csv"
        await pilot.press("e")
        await settle(pilot)
        pilot.app.screen.query_one("#export-path", LdInput).value = str(out)
        await pilot.press("enter")
        await settle(pilot)
        rows = list(csv.DictReader(out.open(encoding="utf-8", newline="")))
        assert [r["key"] for r in rows] == keys
        assert all(r["beta-testers"] == truth(world, r["key"], "beta-testers").lower() for r in rows)
        await pilot.press("e")
        await settle(pilot)
        pilot.app.screen.query_one("#export-path", LdInput).value = str(tmp_path / "out.json")
        await pilot.press("enter")
        await settle(pilot)
        doc = json.loads((tmp_path / "out.json").read_text(encoding="utf-8"))
        assert doc["store"]["available"] is True and len(doc["contexts"]) == len(keys)
        # A failed export writes nothing and says why.
        await pilot.press("e")
        await settle(pilot)
        pilot.app.screen.query_one("#export-path", LdInput).value = str(tmp_path / "missing" / "x.csv")
        await pilot.press("enter")
        await settle(pilot)
        assert any("does not exist" in n.message for n in pilot.app.notices)
        # Files: invalid UTF-8, and a CSV without the column, are refused with the reason.
        bad = tmp_path / "bad.txt"
        bad.write_bytes(b"ok\n\xff\n")
        bulk.query_one("#bulk-path", LdInput).value = str(bad)
        await pilot.press("ctrl+o")
        await settle(pilot)
        assert "line 2, column 1: byte 0xff is not valid UTF-8" in text_of(bulk.query_one("#bulk-source"))
        sheet = tmp_path / "users.csv"
        sheet.write_text("id,email\n1,alice@example.com\n", encoding="utf-8")
        bulk.query_one("#bulk-path", LdInput).value = str(sheet)
        await pilot.press("ctrl+o")
        await settle(pilot)
        assert "no key column; the columns are 'id', 'email'" in text_of(bulk.query_one("#bulk-source"))
        bulk.query_one("#bulk-column", LdInput).value = "email"
        await pilot.press("ctrl+o")
        await settle(pilot)
        assert bulk.source is not None and list(bulk.source) == ["alice@example.com"]
        await pilot.press("ctrl+r")
        await settle(pilot)
        assert [r.key for r in bulk.rows] == ["alice@example.com"]


async def test_bulk_progress_and_cancel() -> None:
    world = make_world()
    # 20 chunks of 0.25 s each: long enough that the run is surely cancelled before its end.
    stores = memory_stores(world, NOW_MS - 5_000, delay=0.25)
    async with world.app.run_test(size=(120, 36)) as pilot:
        bulk = await open_bulk(pilot)
        bulk.query_one("#bulk-keys", TextArea).text = "\n".join(f"k{i}" for i in range(40_000))
        reads = stores["default/production"].reads
        await pilot.press("ctrl+r")
        await wait_until(
            pilot,
            lambda: bulk.running and "/ 40,000 contexts" in text_of(bulk.query_one("#bulk-progress-text")),
            what="the run shows its progress",
        )
        await pilot.press("escape")
        await settle(pilot)
        assert not bulk.running and pilot.app.screen is bulk
        assert "cancelled" in text_of(bulk.query_one("#bulk-progress-text"))
        assert stores["default/production"].reads - reads < 20  # 20 chunks: it did stop early
        assert bulk.rows == [] and bulk.spool is None and bulk.tally is None
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(pilot.app.screen, InspectorScreen)


async def test_segment_view_counts_every_generation() -> None:
    world = make_world()
    stores = memory_stores(world, NOW_MS - 5_000)
    reader = stores["default/production"]
    expected: dict[int, list[int]] = {}
    for inc, exc in reader.sets.values():
        for side, refs in ((0, inc), (1, exc)):
            for ref in refs:
                if ref.startswith("legacy-cohort.g"):
                    expected.setdefault(int(ref.rsplit(".g", 1)[1]), [0, 0])[side] += 1
    assert len(expected) == 3
    async with world.app.run_test(size=(120, 36)) as pilot:
        screen = await open_inspector(pilot)
        await look_up(pilot, "alice@example.com")
        table = screen.query_one("#inspector-verdicts", LdTable)
        table.move_cursor(row=table.get_row_index("legacy-cohort"))
        await pilot.press("ctrl+g")
        await settle(pilot)
        seg = pilot.app.screen
        assert isinstance(seg, SegmentScreen)
        counts = seg.query_one("#segment-counts", LdTable)
        got = {int(counts.get_row_at(i)[0].plain): counts.get_row_at(i) for i in range(counts.row_count)}
        assert sorted(got, reverse=True) == [3, 2, 1]
        for gen, (inc, exc) in expected.items():
            assert (got[gen][1].plain, got[gen][2].plain) == (f"{inc:,}", f"{exc:,}")
        assert got[3][3].plain == "current" and got[1][3].plain.startswith("orphaned")


async def test_segment_view_cancel_keeps_the_screen() -> None:
    world = make_world()
    memory_stores(world, NOW_MS - 5_000, delay=2.0)
    async with world.app.run_test(size=(120, 36)) as pilot:
        await open_inspector(pilot)
        await look_up(pilot, "alice@example.com", "beta-testers")
        await pilot.press("g")
        await wait_until(
            pilot,
            lambda: isinstance(pilot.app.screen, SegmentScreen) and pilot.app.screen.counting,
            what="the segment view counts",
        )
        seg = pilot.app.screen
        assert isinstance(seg, SegmentScreen)
        assert "Esc cancels" in text_of(seg.query_one("#segment-progress-text"))
        await pilot.press("escape")
        await settle(pilot)
        assert pilot.app.screen is seg and not seg.counting
        assert text_of(seg.query_one("#segment-progress-text")).strip() == "cancelled"
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(pilot.app.screen, InspectorScreen)


async def test_find_segments_scans_the_store_then_judges_each() -> None:
    world = make_world()
    memory_stores(world, NOW_MS - 5_000)
    async with world.app.run_test(size=(120, 36)) as pilot:
        screen = await open_inspector(pilot)
        await look_up(pilot, "user-production-00003", "")
        assert verdict_rows(screen) == {}  # nothing named, and no refs for this context
        await pilot.press("ctrl+f")
        await settle(pilot)
        rows = verdict_rows(screen)
        assert set(rows) == set(SEGMENTS.split())
        assert all(v == truth(world, "user-production-00003", seg) for seg, (_, v) in rows.items())
        assert rows["legacy-cohort"][0] == "3"


async def test_opened_from_the_status_panel_on_the_selected_store() -> None:
    from ldtui.ui.screens.status import StatusScreen

    world = make_world()
    memory_stores(world, NOW_MS - 5_000)
    async with world.app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        await pilot.press("h")
        await settle(pilot)
        panel = pilot.app.screen
        assert isinstance(panel, StatusScreen)
        table = panel.query_one(LdTable)
        # Not the first row: the replica whose sync stopped (the harness's stores are Redis).
        row = next(
            i for i in range(table.row_count) if table.get_row_at(i)[3].plain == "Mobile Redis replica"
        )
        table.move_cursor(row=row)
        await pilot.press("i")
        await settle(pilot)
        assert isinstance(pilot.app.screen, InspectorScreen)
        line = text_of(pilot.app.screen.query_one("#inspector-store"))
        assert "Mobile Redis replica" in line and "mobile-app/production" in line
        await look_up(pilot, "alice@example.com")
        seg = world.state.projects["mobile-app"].environments["production"].segments["beta-testers"]
        want = "INCLUDED" if "alice@example.com" in seg.included else "NO-DATA"
        assert verdict_rows(pilot.app.screen)["beta-testers"][1] == want


async def test_api_down_still_offers_the_configured_stores() -> None:
    """With the API down from the start, a configured store is offered when its prefix is
    known without the API (configured); one whose prefix only the API can tell is listed but
    not offered (a guessed prefix reads as "no data")."""
    world = make_world()
    memory_stores(world, NOW_MS - 5_000)
    stores = world.app.backend.config.settings.stores
    env = world.state.projects["default"].environments["production"]
    stores["default/production"] = stores["default/production"].model_copy(update={"prefix": env.id})
    world.state.faults.error_rate = 1.0  # every API call answers 500
    async with world.app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        pilot.app.push_screen(InspectorScreen())
        await settle(pilot)
        screen = pilot.app.screen
        assert isinstance(screen, InspectorScreen)
        assert any("showing the stores ldtui knows" in n.message for n in pilot.app.notices)
        assert "default/production" in text_of(screen.query_one("#inspector-store"))
        unknown = [t for t in screen.targets if t.prefix_unknown]
        assert unknown and all(t.store_key != "default/production" for t in unknown)
        world.state.faults.error_rate = 0.0
        await look_up(pilot, "alice@example.com", "beta-testers=1")
        assert verdict_rows(screen)["beta-testers"] == (
            "1",
            truth(world, "alice@example.com", "beta-testers"),
        )
