"""The inspector's bulk screen streaming a keys file with flat memory, its exports (the bytes
``ldtui inspect`` writes), named segments LaunchDarkly does not have, refs past the lookup cap,
and LaunchDarkly's own word beside the store's (DISAGREE). A real redis-server where the
store's reads matter; the seeded emulator in-process for the API."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import TextArea

from ldtui.core.bigsegments import context_key_hash
from ldtui.ui.screens.inspector import BulkScreen, InspectorScreen
from ldtui.ui.widgets.inputs import LdInput
from ldtui.ui.widgets.table import LdTable
from tests.ui.bulk_driver import SEGMENTS, look_up, open_inspector, read_from_redis, write_store
from tests.ui.harness import NOW, make_world, memory_stores, settle, wait_until

NOW_MS = int(NOW * 1000)
REPO = Path(__file__).resolve().parents[2]
SEEDED = ["alice@example.com", "bob@example.com", *(f"user-production-{i:05d}" for i in range(60))]


def text_of(widget: Any) -> str:
    from rich.console import Console

    console = Console(width=400, record=True, color_system=None)
    console.print(widget.content)
    return console.export_text()


def truth(world: Any, key: str, segment: str) -> str:
    seg = world.state.projects["default"].environments["production"].segments[segment]
    return "included" if key in seg.included else "excluded" if key in seg.excluded else "no-data"


def table_rows(table: LdTable) -> dict[str, dict[str, str]]:
    """Each row's cells by column key, as text."""
    keys = [c.key for c in table.columns]
    out = {}
    for i in range(table.row_count):
        cells = [c.plain for c in table.get_row_at(i)]  # type: ignore[union-attr]
        out[cells[0]] = dict(zip(keys, cells, strict=True))
    return out


async def open_bulk(pilot: Any) -> BulkScreen:
    """The bulk screen, opened from the inspector after one lookup (as a person gets there)."""
    await open_inspector(pilot)
    await look_up(pilot, "alice@example.com")
    return await bulk_screen(pilot)


async def bulk_screen(pilot: Any) -> BulkScreen:
    await pilot.press("b")
    await settle(pilot)
    bulk = pilot.app.screen
    assert isinstance(bulk, BulkScreen)
    return bulk


async def run_pasted(pilot: Any, keys: list[str]) -> BulkScreen:
    bulk = await bulk_screen(pilot)
    bulk.query_one("#bulk-keys", TextArea).text = "\n".join(keys)
    await pilot.press("ctrl+r")
    await wait_until(pilot, lambda: bulk.spool is not None and bulk.spool.finished, what="the run ends")
    await settle(pilot)
    return bulk


# --- memory, and exports equal to the truth --------------------------------------------------------


@pytest.mark.network
def test_bulk_export_of_200k_keys_stays_under_200_mb(redis_url: str, tmp_path: Path) -> None:
    """A 200,000-key file through the TUI's bulk screen (its own process, driven under Pilot,
    a real redis-server): peak RSS under 200 MB; every export has a row per key with the
    store's truth, and the counts are the truth's; the spool was private and is gone after."""
    n = 200_000
    keys_file = tmp_path / "keys.txt"
    keys = [SEEDED[i % len(SEEDED)] if i % 3 == 0 else f"ctx-{i}" for i in range(n)]
    keys_file.write_text("".join(k + "\n" for k in keys), encoding="utf-8")
    out = tmp_path / "out"
    out.mkdir()
    # Through a small launcher: Linux keeps the high-water mark of the process a program was
    # exec'ed from in its ru_maxrss (signal->maxrss, set at exec), so the driver started straight
    # from a test worker of 370 MB reports 370 MB. A fresh small parent makes it the driver's own.
    launcher = "import subprocess, sys; sys.exit(subprocess.run(sys.argv[1:]).returncode)"
    driver = [sys.executable, "-m", "tests.ui.bulk_driver", redis_url, str(keys_file), str(out)]
    run = subprocess.run(
        [sys.executable, "-c", launcher, *driver],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=REPO,
        env={**os.environ, "TEXTUAL_ANIMATIONS": "none"},
    )
    assert run.returncode == 0, run.stderr[-3000:]
    result = json.loads(run.stdout.strip().splitlines()[-1])
    assert result["maxrss_kb"] < 200 * 1024, result
    assert 0 < result["vm_hwm_kb"] <= result["maxrss_kb"], result  # the kernel's own peak agrees
    world = make_world()  # the driver's seeded world: the same data
    assert result["env_id"] == world.state.projects["default"].environments["production"].id
    segments = SEGMENTS.split()
    expected = {s: Counter(truth(world, k, s) for k in keys) for s in segments}
    assert result["contexts"] == n and result["rows"] == 1_000
    assert {s: Counter(result["segments"][s]) for s in segments} == expected
    # The spool was private (0700 directory, 0600 files) and went with the screen.
    assert result["spool_modes"] and set(result["spool_modes"].values()) <= {"0o700", "0o600"}
    assert result["spool_modes"][Path(result["spool"]).name] == "0o700"
    assert not Path(result["spool"]).exists()
    # CSV: a header and a row per key, in input order, each verdict the truth.
    with (out / "out.csv").open(encoding="utf-8", newline="") as f:
        rows = csv.DictReader(f)
        counted = {s: Counter[str]() for s in segments}
        lines = 0
        for key, row in zip(keys, rows, strict=True):
            lines += 1
            assert row["key"] == key and row["hash"] == context_key_hash(key)
            for s in segments:
                counted[s][row[s]] += 1
    assert lines == n and counted == expected
    # JSONL: a line per key; JSON: one document with the same contexts and the tally.
    with (out / "out.jsonl").open(encoding="utf-8") as f:
        jsonl = Counter[tuple[str, str]]()
        for key, line in zip(keys, f, strict=True):
            doc = json.loads(line)
            assert doc["key"] == key
            jsonl.update((s, doc["segments"][s]) for s in segments)
    assert jsonl == Counter({(s, v): c for s, counts in expected.items() for v, c in counts.items()})
    doc = json.loads((out / "out.json").read_text(encoding="utf-8"))
    assert len(doc["contexts"]) == n and doc["tally"]["contexts"] == n
    assert {s: Counter(doc["tally"]["segments"][s]) for s in segments} == expected
    assert doc["store"]["available"] is True


@pytest.mark.network
async def test_exports_are_the_bytes_ldtui_inspect_writes(redis_url: str, tmp_path: Path) -> None:
    """Keys with commas, quotes, markup, escapes and non-ASCII: the TUI's CSV and JSONL
    exports are byte for byte what ``ldtui inspect --csv/--jsonl`` prints for the same keys
    file and segments (the first contexts, which the TUI cross-checks with LaunchDarkly,
    carry its word in JSONL: compared without it)."""
    world = make_world()
    prefix = await write_store(world, redis_url)
    read_from_redis(world, redis_url)
    env = world.state.projects["default"].environments["production"]
    hostile = ["a,b", 'say "hi"', "evil[red]\x1b[31m", "ключ", "tab\there", " spaced ", "=1+2"]
    keys = [*hostile, *SEEDED, *(f"k-{i}" for i in range(3_000))]
    keys_file = tmp_path / "keys.txt"
    keys_file.write_text("".join(k + "\n" for k in keys), encoding="utf-8")
    async with world.app.run_test(size=(120, 36)) as pilot:
        bulk = await open_bulk(pilot)
        bulk.query_one("#bulk-path", LdInput).value = str(keys_file)
        await pilot.press("ctrl+o")
        await wait_until(pilot, lambda: bulk.source is not None, what="the keys file checked")
        assert "3,069 keys from" in text_of(bulk.query_one("#bulk-source"))
        await pilot.press("ctrl+r")
        await wait_until(pilot, lambda: bulk.spool is not None and bulk.spool.finished, what="the run ends")
        from tests.ui.bulk_driver import export

        for name in ("out.csv", "out.jsonl", "out.json"):
            await export(pilot, tmp_path / name)
        # The table shows the keys literally; the counts cover them all.
        shown = table_rows(bulk.query_one("#bulk-results", LdTable))
        assert "evil[red]\\x1b[31m" in shown and len(shown) == 1_000
        assert "3,069 contexts" in text_of(bulk.query_one("#bulk-counts"))
    segs = []
    for s in SEGMENTS.split():
        segs += ["--segment", f"{s}={env.segments[s].generation}"]
    base = [sys.executable, "-m", "ldtui", "inspect", "--store", "redis", "--redis-url", redis_url]
    base += ["--prefix", prefix, *segs, "--keys-file", str(keys_file)]
    for flag, name in (("--csv", "out.csv"), ("--jsonl", "out.jsonl")):
        cli = subprocess.run([*base, flag], capture_output=True, timeout=120, cwd=REPO)
        assert cli.returncode == 0, cli.stderr
        mine = (tmp_path / name).read_bytes()
        if flag == "--csv":
            assert mine == cli.stdout
        else:
            tui_lines = [json.loads(x) for x in mine.splitlines()]
            for doc in tui_lines[:10]:
                assert "launchDarkly" in doc and doc.pop("disagree") == []
                del doc["launchDarkly"]
            assert tui_lines == [json.loads(x) for x in cli.stdout.splitlines()]
            assert mine.splitlines()[10:] == cli.stdout.splitlines()[10:]
    # JSON: the document ldtui inspect --json writes (its store's age aside: the CLI runs on real time).
    cli = subprocess.run([*base, "--json"], capture_output=True, timeout=120, cwd=REPO)
    mine_doc, cli_doc = json.loads((tmp_path / "out.json").read_text("utf-8")), json.loads(cli.stdout)
    for d in (mine_doc, cli_doc):
        d["store"].pop("ageSeconds"), d["store"].pop("stale")
        for c in d["contexts"][:10]:
            c.pop("launchDarkly", None), c.pop("disagree", None)
    assert mine_doc == cli_doc


# --- LaunchDarkly's own word ------------------------------------------------------------------------


@pytest.mark.network
@pytest.mark.parametrize("where", ["right prefix", "wrong prefix"])
async def test_launchdarkly_beside_the_store(redis_url: str, where: str) -> None:
    """Opened for an integration, the single view asks LaunchDarkly (the emulator's
    getSegmentMembershipForContext) about each big segment: read under the prefix
    LaunchDarkly writes, it agrees; read under another prefix (the store says no data),
    each segment LaunchDarkly has the context in is marked DISAGREE. The bulk view asks about
    the first CROSS_CHECK_CONTEXTS and counts the disagreements."""
    from ldtui.services.inspect import CROSS_CHECK_CONTEXTS

    world = make_world()
    await write_store(world, redis_url)
    read_from_redis(world, redis_url, prefix=None if where == "right prefix" else "launchdarkly")
    env = world.state.projects["default"].environments["production"]
    member = sorted(env.segments["beta-testers"].included)[0]
    wrong = where == "wrong prefix"
    async with world.app.run_test(size=(120, 36)) as pilot:
        screen = await open_inspector(pilot)
        await look_up(pilot, member)
        rows = table_rows(screen.query_one("#inspector-verdicts", LdTable))
        assert set(rows) == set(SEGMENTS.split())
        said = {"included": "included", "excluded": "excluded", "no-data": "not included"}
        for seg, row in rows.items():
            ld = truth(world, member, seg)
            assert row["verdict"] == ("NO-DATA" if wrong else ld.upper())
            differs = wrong and ld != "no-data"
            assert row["launchdarkly"] == said[ld] + (" DISAGREE" if differs else ""), (seg, row)
        refs = text_of(screen.query_one("#inspector-refs"))
        assert ("DISAGREE  LaunchDarkly's own word differs for" in refs) == wrong
        assert rows["beta-testers"]["launchdarkly"].endswith("DISAGREE") == wrong
        # The bulk view: the first contexts asked, their disagreements counted.
        keys = [*SEEDED[:15], "nobody-at-all"]
        bulk = await run_pasted(pilot, keys)
        asked = keys[:CROSS_CHECK_CONTEXTS]
        expected = (
            sum(truth(world, k, s) != "no-data" for k in asked for s in SEGMENTS.split()) if wrong else 0
        )
        assert bulk.cross_checked == CROSS_CHECK_CONTEXTS and bulk.disagreements == expected
        counts = text_of(bulk.query_one("#bulk-counts"))
        if wrong:
            assert expected > 0 and f"DISAGREE on {expected:,} verdicts" in counts
        else:
            assert f"LaunchDarkly asked about the first {CROSS_CHECK_CONTEXTS}: it agrees" in counts
        table = table_rows(bulk.query_one("#bulk-results", LdTable))
        for k in asked:
            differs = [s for s in sorted(SEGMENTS.split()) if wrong and truth(world, k, s) != "no-data"]
            assert table[k]["ld"] == ("DISAGREE " + " ".join(differs) if differs else "agree"), k
        assert all(table[k]["ld"] == "not asked" for k in keys[CROSS_CHECK_CONTEXTS:])


async def test_launchdarkly_not_answering_is_said() -> None:
    """LaunchDarkly failing to answer the membership question: the column says error (the
    store's verdicts stay), never a silent blank or a guessed agreement."""
    world = make_world()
    memory_stores(world, NOW_MS - 5_000)
    async with world.app.run_test(size=(120, 36)) as pilot:
        screen = await open_inspector(pilot)
        await look_up(pilot, "alice@example.com")  # the segments' generations known
        # From now on LaunchDarkly refuses every membership question (429, retried, given up).
        world.state.rate_limits.routes["segment-membership"] = 0
        await look_up(pilot, "alice@example.com")
        rows = table_rows(screen.query_one("#inspector-verdicts", LdTable))
        assert rows and {r["launchdarkly"] for r in rows.values()} == {"error"}
        assert {r["verdict"] for r in rows.values()} <= {"INCLUDED", "EXCLUDED", "NO-DATA"}


# --- what could not be judged ------------------------------------------------------------------------


async def test_an_unknown_segment_gets_a_row_with_the_reason() -> None:
    """A segment named that LaunchDarkly does not have: an unknown-segment row with the reason,
    in the single view and in the bulk view (its column, its count, the reason under the
    counts), as ldtui inspect says it."""
    world = make_world()
    memory_stores(world, NOW_MS - 5_000)
    async with world.app.run_test(size=(120, 36)) as pilot:
        screen = await open_inspector(pilot)
        await look_up(pilot, "alice@example.com", "no-such-seg beta-testers")
        rows = table_rows(screen.query_one("#inspector-verdicts", LdTable))
        assert rows["no-such-seg"]["verdict"] == "UNKNOWN-SEGMENT"
        assert rows["no-such-seg"]["reason"] == "no segment 'no-such-seg' in default/production"
        assert rows["no-such-seg"]["launchdarkly"] == "not asked"
        assert rows["beta-testers"]["verdict"] == truth(world, "alice@example.com", "beta-testers").upper()
        bulk = await run_pasted(pilot, SEEDED[:5])
        counts = text_of(bulk.query_one("#bulk-counts"))
        assert "no-such-seg: 5 UNKNOWN-SEGMENT" in counts
        assert (
            "segment no-such-seg: UNKNOWN-SEGMENT, no segment 'no-such-seg' in default/production" in counts
        )
        table = table_rows(bulk.query_one("#bulk-results", LdTable))
        assert {row["seg:no-such-seg"] for row in table.values()} == {"UNKNOWN-SEGMENT"}


async def test_refs_past_the_lookup_cap_are_unknown_refs() -> None:
    """A context whose sets reference more segments than a run asks LaunchDarkly about
    (MAX_REF_LOOKUPS): the ones past the cap are said as unknown refs with the CLI's reason,
    neither judged nor called orphaned, in the single view and under the bulk counts."""
    from ldtui.services.inspect import MAX_REF_LOOKUPS

    world = make_world()
    stores = memory_stores(world, NOW_MS - 5_000)
    key = "junk-holder"
    junk = {f"junk-{i:03d}.g1" for i in range(MAX_REF_LOOKUPS + 5)}
    stores["default/production"].sets[context_key_hash(key)] = (junk, set())
    async with world.app.run_test(size=(120, 36)) as pilot:
        screen = await open_inspector(pilot)
        await look_up(pilot, key, "")
        refs = text_of(screen.query_one("#inspector-refs"))
        unknown = [line for line in refs.splitlines() if line.startswith("unknown ref  ")]
        assert len(unknown) == 5, refs
        assert all(
            f"this run asked LaunchDarkly about {MAX_REF_LOOKUPS} segments" in line for line in unknown
        )
        rows = table_rows(screen.query_one("#inspector-verdicts", LdTable))
        assert sum(r["verdict"] == "UNKNOWN" for r in rows.values()) == 5
        # The ones looked up (LaunchDarkly has none of them) are orphaned; those past the cap are not.
        orphaned = {line.split()[1] for line in refs.splitlines() if line.startswith("orphaned  junk-")}
        assert len(orphaned) == MAX_REF_LOOKUPS
        assert not orphaned & {line.split()[2].rstrip(":") for line in unknown}
        bulk = await run_pasted(pilot, [key])
        counts = text_of(bulk.query_one("#bulk-counts"))
        assert "unknown refs of junk-" in counts and "more segments not judged" in counts
        assert table_rows(bulk.query_one("#bulk-results", LdTable))[key]["unknown"] == "5"


# --- the spool's life -------------------------------------------------------------------------------


async def test_the_spool_goes_with_a_new_run_and_with_the_screen(tmp_path: Path) -> None:
    """Each run's spool is private and removed when the next run starts and when the screen
    closes; an export before any run, or during one, is refused with the reason."""
    world = make_world()
    memory_stores(world, NOW_MS - 5_000)
    async with world.app.run_test(size=(120, 36)) as pilot:
        bulk = await open_bulk(pilot)
        bulk.query_one("#bulk-results", LdTable).focus()
        await pilot.press("e")
        assert any("run a lookup first" in n.message for n in pilot.app.notices)
        bulk = await run_pasted_again(pilot, bulk, SEEDED[:10])
        assert bulk.spool is not None
        first = Path(bulk.spool.directory)
        assert first.is_dir() and (first.stat().st_mode & 0o777) == 0o700
        bulk = await run_pasted_again(pilot, bulk, SEEDED[:20])
        assert bulk.spool is not None and not first.exists()
        second = Path(bulk.spool.directory)
        assert second.is_dir() and bulk.tally is not None and bulk.tally.contexts == 20
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(pilot.app.screen, InspectorScreen) and not second.exists()


async def run_pasted_again(pilot: Any, bulk: BulkScreen, keys: list[str]) -> BulkScreen:
    old = bulk.spool
    bulk.query_one("#bulk-keys", TextArea).text = "\n".join(keys)
    bulk.query_one("#bulk-keys", TextArea).focus()
    await pilot.press("ctrl+r")
    await wait_until(
        pilot,
        lambda: bulk.spool is not None and bulk.spool is not old and bulk.spool.finished,
        what="the run",
    )
    return bulk


async def test_a_keys_file_gone_since_it_was_loaded_stops_the_run_with_the_reason(tmp_path: Path) -> None:
    """The file is streamed again at each run: removed after it was loaded, the run stops
    saying why (no traceback, nothing kept)."""
    world = make_world()
    memory_stores(world, NOW_MS - 5_000)
    keys_file = tmp_path / "keys.txt"
    keys_file.write_text("alice@example.com\nbob@example.com\n", encoding="utf-8")
    async with world.app.run_test(size=(120, 36)) as pilot:
        bulk = await open_bulk(pilot)
        bulk.query_one("#bulk-path", LdInput).value = str(keys_file)
        await pilot.press("ctrl+o")
        await wait_until(pilot, lambda: bulk.source is not None, what="the keys file checked")
        keys_file.unlink()
        await pilot.press("ctrl+r")
        await settle(pilot)
        progress = text_of(bulk.query_one("#bulk-progress-text"))
        assert "stopped:" in progress and "No such file or directory" in progress, progress
        assert bulk.spool is None and bulk.rows == [] and not bulk.running


async def test_a_cancelled_run_shows_nothing_it_did_not_keep() -> None:
    """Esc mid-run: nothing is kept, so the screen no longer shows that run's counts, rows or
    "the export has all N" (there is no export)."""
    world = make_world()
    memory_stores(world, NOW_MS - 5_000)
    async with world.app.run_test(size=(80, 24)) as pilot:
        bulk = await open_bulk(pilot)
        bulk.query_one("#bulk-keys", TextArea).text = "\n".join(f"user-{i}" for i in range(300_000))
        shown_table = bulk.show_table
        cancelled = []

        def show_table() -> None:  # the first rows on screen: cancel there (Esc's action), mid-run
            shown_table()
            if bulk.rows and not cancelled:
                cancelled.append(len(bulk.rows))
                bulk.action_cancel_run()

        bulk.show_table = show_table  # type: ignore[method-assign]
        await pilot.press("ctrl+r")
        await wait_until(pilot, lambda: bool(cancelled) and not bulk.running, timeout=60, what="the cancel")
        await settle(pilot)
        assert bulk.spool is None and bulk.tally is None
        assert "cancelled; nothing kept" in text_of(bulk.query_one("#bulk-progress-text"))
        counts = text_of(bulk.query_one("#bulk-counts"))
        assert "export" not in counts and "contexts" not in counts, counts
        assert bulk.query_one("#bulk-results", LdTable).row_count == 0


@pytest.mark.parametrize(("size", "rows_at_least", "bordered"), [((80, 24), 6, False), ((120, 36), 10, True)])
async def test_on_a_short_terminal_the_results_keep_rows_for_results(
    size: tuple[int, int], rows_at_least: int, bordered: bool
) -> None:
    """At 80x24 the inputs gave the results table 3 rows (the paste area and the bordered file
    inputs took 8): under 30 rows the inputs lose their borders and the table shows at least 6
    result rows; a tall terminal keeps the bordered inputs. The file inputs still take text."""
    world = make_world()
    memory_stores(world, NOW_MS - 5_000)
    async with world.app.run_test(size=size) as pilot:
        bulk = await open_bulk(pilot)
        bulk.query_one("#bulk-keys", TextArea).text = "\n".join(f"user-{i}" for i in range(50))
        await pilot.press("ctrl+r")
        await wait_until(pilot, lambda: bulk.tally is not None and not bulk.running, what="the run")
        await settle(pilot)
        table = bulk.query_one("#bulk-results", LdTable)
        assert table.region.height - 1 >= rows_at_least, table.region  # one line is the header
        path = bulk.query_one("#bulk-path", LdInput)
        assert (path.region.height == 3) is bordered, path.region
        path.focus()
        await pilot.press(*"keys.txt")
        assert path.value == "keys.txt"
