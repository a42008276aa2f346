"""The table draws what its data says, after any sequence of changes.

The property: drive one table through random additions, removals, cell and row updates, sorts,
filters, dimming, cursor moves, width changes and resizes; after every step, a table built
fresh from the same data (no caches yet) renders exactly the same lines. This is the test the
old table lacked: it kept serving lines from a cache after its cells changed."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rich.text import Text
from textual.app import App, ComposeResult
from textual.containers import Vertical
from textual.geometry import Region

from ldtui.ui.cells import cell
from ldtui.ui.widgets.table import LdTable

COLUMNS = [("a", "Alpha"), ("b", "B"), ("c", "Gamma column")]
KEYS = [f"k{i}" for i in range(4)]


def render(table: LdTable) -> list[list[tuple[str, Any]]]:
    """The table's visible lines as (character, style) pairs: the segmentation may differ
    between two tables, what a terminal shows may not."""
    lines = table.render_lines(Region(0, 0, table.size.width, table.size.height))
    out = []
    for strip in lines:
        chars: list[tuple[str, Any]] = []
        for segment in strip:
            chars.extend((ch, segment.style) for ch in segment.text)
        out.append(chars)
    return out


class TableApp(App[None]):
    CSS = "Vertical { height: 1fr; } LdTable { height: 12; width: 40; }"

    def compose(self) -> ComposeResult:
        with Vertical(id="box"):
            yield LdTable(id="subject")


texts = st.text(alphabet="ab xyz-é界", max_size=30)
values = st.one_of(
    texts,
    texts.map(lambda t: cell(t)),
    st.tuples(texts, st.sampled_from(["bold", "red", "italic on blue"])).map(
        lambda p: Text(p[0], style=p[1])
    ),
)
row = st.tuples(values, values, values)
set_op = st.tuples(st.just("set"), st.sampled_from(KEYS), row)
cell_op = st.tuples(st.just("cell"), st.sampled_from(KEYS), st.sampled_from([c for c, _ in COLUMNS]), values)
# Row and cell updates are what a live screen does most: they come up most often.
op = st.one_of(
    set_op,
    set_op,
    cell_op,
    cell_op,
    cell_op,
    st.tuples(st.just("remove"), st.lists(st.sampled_from(KEYS), max_size=3)),
    st.tuples(st.just("dim"), st.lists(st.sampled_from(KEYS), max_size=3), st.booleans()),
    st.tuples(st.just("sort"), st.sampled_from([None, "a", "b", "c", ("b", "a")]), st.booleans()),
    st.tuples(st.just("filter"), st.sampled_from([None, "a", "x", " ", "é"])),
    st.tuples(st.just("cursor"), st.integers(-2, 10)),
    st.tuples(st.just("widths"), st.sampled_from(["fit", "narrow", "wide"])),
    st.tuples(st.just("resize"), st.integers(8, 60), st.integers(2, 14)),
    st.tuples(st.just("scroll"), st.integers(0, 8), st.integers(0, 8)),
    st.tuples(st.just("focus"), st.booleans()),
    # Narrow widths: columns that may shrink, columns that may be hidden.
    st.tuples(
        st.just("narrow"),
        st.fixed_dictionaries({c: st.none() | st.integers(1, 6) for c, _ in COLUMNS}),
        st.fixed_dictionaries({c: st.none() | st.integers(0, 3) for c, _ in COLUMNS}),
    ),
)


def contains(table: LdTable, letter: str | None) -> Any:
    """A filter on the first cell's text, so a cell update can move a row in or out."""
    if letter is None:
        return None

    def keep(key: str) -> bool:
        cells = table.get_cells(key) or ("",)
        first = cells[0]
        return letter in (first.plain if isinstance(first, Text) else first)

    return keep


def apply(table: LdTable, step: tuple[Any, ...], state: dict[str, Any]) -> None:
    kind = step[0]
    if kind == "set":
        table.set_row(step[1], step[2])
    elif kind == "remove":
        table.remove_rows(step[1])
    elif kind == "cell":
        table.update_cell(step[1], step[2], step[3])
    elif kind == "dim":
        table.set_dim(step[1], step[2])
    elif kind == "sort":
        state["sort"] = (step[1], step[2])
        table.set_sort(step[1], reverse=step[2])
    elif kind == "filter":
        state["filter"] = step[1]
        table.set_filter(contains(table, step[1]))
    elif kind == "cursor":
        table.move_cursor(row=step[1])
    elif kind == "widths":
        if step[1] == "fit":
            table.fit_widths()
        else:
            table.set_widths({c: 3 if step[1] == "narrow" else 18 for c, _ in COLUMNS})
    elif kind == "resize":
        table.styles.width, table.styles.height = step[1], step[2]
    elif kind == "scroll":
        table.scroll_to(x=step[1], y=step[2], animate=False, immediate=True)
    elif kind == "narrow":
        table.set_min_widths(step[1])
        table.set_priorities(step[2])


async def fresh_copy(app: App[None], table: LdTable, state: dict[str, Any]) -> LdTable:
    """A new table with the same data, view and size, built from nothing."""
    copy = LdTable(id="copy")
    copy.styles.width, copy.styles.height = table.styles.width, table.styles.height
    await app.query_one("#box").mount(copy)
    copy.set_columns([(c.key, c.label) for c in table.columns])
    copy.set_widths({c.key: c.width for c in table.columns})
    copy.set_min_widths({c.key: c.min_width for c in table.columns})
    copy.set_priorities({c.key: c.priority for c in table.columns})
    with copy.batch():
        for key in table.row_keys:
            copy.set_row(key, table.get_cells(key) or (), dim=table.is_dim(key))
        column, reverse = state["sort"]
        copy.set_sort(column, reverse=reverse)
        copy.set_filter(contains(copy, state["filter"]))
    if table.cursor_key is not None:
        copy.move_cursor(key=table.cursor_key, scroll=False)
    return copy


@settings(max_examples=35, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps=st.lists(op, min_size=2, max_size=12))
async def test_any_sequence_of_changes_renders_like_a_fresh_table(steps: list[tuple[Any, ...]]) -> None:
    app = TableApp()
    async with app.run_test(size=(70, 30)) as pilot:
        table = app.query_one("#subject", LdTable)
        table.set_columns(COLUMNS)
        state: dict[str, Any] = {"sort": (None, False), "filter": None}
        for step in steps:
            if step[0] == "focus":
                (table.focus() if step[1] else app.set_focus(None))
            else:
                apply(table, step, state)
            await pilot.pause()
            copy = await fresh_copy(app, table, state)
            await pilot.pause()
            copy.scroll_to(x=table.scroll_x, y=table.scroll_y, animate=False, immediate=True)
            await pilot.pause()
            assert copy.size == table.size
            assert copy.shown_keys == table.shown_keys, step
            had_focus = table.has_focus
            seen = render(table)
            if had_focus:  # one widget has the focus at a time: the copy takes it to be drawn
                copy.focus()
                await pilot.pause()
            assert seen == render(copy), step
            await copy.remove()
            if had_focus:
                # Focus changes restyle the table (its caches are dropped then): draw it once
                # more with the focus back, so the next step starts from warm caches.
                table.focus()
                await pilot.pause()
                render(table)


async def test_cursor_follows_its_row_and_rows_keep_their_order_by_key() -> None:
    """Sorting moves rows; the cursor stays on the row it was on, not on the same line."""
    app = TableApp()
    async with app.run_test(size=(70, 30)) as pilot:
        table = app.query_one("#subject", LdTable)
        table.set_columns(COLUMNS)
        table.set_rows([("k1", ("b", "", "")), ("k2", ("a", "", "")), ("k3", ("c", "", ""))])
        table.move_cursor(key="k1")
        table.set_sort("a")
        await pilot.pause()
        assert table.shown_keys == ["k2", "k1", "k3"]
        assert table.cursor_key == "k1" and table.cursor_row == 1
        table.set_sort("a", reverse=True)
        await pilot.pause()
        assert table.shown_keys == ["k3", "k1", "k2"] and table.cursor_key == "k1"
        # The sorted column's header says so.
        assert "Alpha ↓" in "".join(ch for ch, _ in render(table)[0])


async def test_an_empty_result_says_why() -> None:
    app = TableApp()
    async with app.run_test(size=(70, 30)) as pilot:
        table = app.query_one("#subject", LdTable)
        table.set_columns(COLUMNS)
        table.set_rows([("k1", ("b", "", ""))])
        table.set_filter(lambda key: False)
        table.set_empty_text("nothing matches the filter")
        await pilot.pause()
        lines = ["".join(ch for ch, _ in line) for line in render(table)]
        assert "nothing matches the filter" in lines[1]
        table.set_filter(None)
        await pilot.pause()
        lines = ["".join(ch for ch, _ in line) for line in render(table)]
        assert lines[1].strip().startswith("b") and "nothing matches" not in "".join(lines)


# --- narrow terminals ----------------------------------------------------------------------------

from ldtui.ui.widgets.table import Column, fit_columns  # noqa: E402


def fitted(columns: list[Column], available: int) -> list[tuple[str, int]]:
    return [(s.column.key, s.width) for s in fit_columns(columns, available, 1, lambda c: c.width)]


def test_the_least_important_column_gives_way_first() -> None:
    cols = [
        Column("name", "Name", 20, min_width=8),
        Column("status", "Status", 6),
        Column("error", "Error", 30, priority=2, min_width=10),
        Column("tags", "Tags", 10, priority=3),
    ]
    # Room for everything: every column at its width.
    assert fitted(cols, 200) == [("name", 20), ("status", 6), ("error", 30), ("tags", 10)]
    # Four cells short: the name could give them up, so tags (the least important, with no
    # minimum width) is not hidden; error, next in line, gives them up.
    assert fitted(cols, 70) == [("name", 20), ("status", 6), ("error", 26), ("tags", 10)]
    # Shorter: more than the name can give: tags goes, error shrinks to what is needed.
    assert fitted(cols, 50) == [("name", 20), ("status", 6), ("error", 18)]
    # Narrower still: error goes too; the name (never hidden) shrinks to what is left.
    assert fitted(cols, 24) == [("name", 14), ("status", 6)]
    # Columns without a priority are never hidden: the table scrolls sideways instead.
    assert fitted(cols, 5) == [("name", 8), ("status", 6)]
    # Before the first layout (no width yet) nothing is hidden.
    assert [k for k, _ in fitted(cols, 0)] == ["name", "status", "error", "tags"]


class WideApp(App[None]):
    CSS = "LdTable { height: 10; width: 1fr; }"

    def compose(self) -> ComposeResult:
        yield LdTable(id="subject")


async def test_a_narrow_table_hides_columns_by_priority_and_shows_them_again() -> None:
    app = WideApp()
    async with app.run_test(size=(100, 12)) as pilot:
        table = app.query_one(LdTable)
        table.set_columns([("name", "Name"), ("status", "Status"), ("error", "Last error"), ("tags", "Tags")])
        table.set_rows([("k1", ("Prod Redis store", "STALE old", "x" * 40, "ops, critical"))])
        table.fit_widths()
        table.set_priorities({"error": 2, "tags": 3})
        table.set_min_widths({"error": 12, "name": 8})
        await pilot.pause()
        assert table.hidden_columns == []
        await pilot.resize_terminal(60, 12)
        await pilot.pause()
        assert table.shown_columns == ["name", "status", "error"]
        line = "".join(ch for ch, _ in render(table)[1])
        assert "STALE old" in line and "Prod Redis store" in line and line.rstrip().endswith("…")
        await pilot.resize_terminal(30, 12)
        await pilot.pause()
        assert table.shown_columns == ["name", "status"]
        header = "".join(ch for ch, _ in render(table)[0])
        assert "Status" in header and "Last error" not in header
        await pilot.resize_terminal(100, 12)
        await pilot.pause()
        assert table.hidden_columns == []


# --- type-ahead ----------------------------------------------------------------------------------

from textual.binding import Binding  # noqa: E402


class TypingApp(App[None]):
    CSS = "LdTable { height: 10; }"
    BINDINGS = [Binding("d", "deleted", "Delete", id="delete")]

    def __init__(self) -> None:
        super().__init__()
        self.deleted = 0

    def compose(self) -> ComposeResult:
        yield LdTable(id="subject")

    def action_deleted(self) -> None:
        self.deleted += 1


async def typing_table(pilot: Any, app: TypingApp) -> LdTable:
    table = app.query_one(LdTable)
    table.set_columns([("project", "Project"), ("name", "Name")])
    rows = ["default", "mobile-app", "mobile-web", "payments", "Moped", "default"]
    table.set_rows([(f"k{i}", (p, f"n{i}")) for i, p in enumerate(rows)])
    table.focus()
    now = [100.0]
    table.type_ahead_clock = lambda: now[0]
    table.now = now  # type: ignore[attr-defined]
    await pilot.pause()
    return table


async def test_typed_letters_jump_to_the_next_row_that_starts_with_them() -> None:
    app = TypingApp()
    async with app.run_test(size=(60, 12)) as pilot:
        table = await typing_table(pilot, app)
        await pilot.press("p")
        assert table.cursor_key == "k3"
        table.now[0] += 2  # a pause: the next letter starts a new search
        await pilot.press("m")
        assert table.cursor_key == "k4"  # the next one after the cursor (case does not matter)
        table.now[0] += 2
        await pilot.press("m")
        assert table.cursor_key == "k1"  # wraps around
        # Within a second, letters extend the search: "mobile-w" from the current row on.
        for ch in "obile-w":
            table.now[0] += 0.3
            await pilot.press("minus" if ch == "-" else ch)
        assert table.cursor_key == "k2" and table.type_ahead_text == "mobile-w"
        table.now[0] += 2
        assert table.type_ahead_text == ""
        # Nothing starts with it: the cursor stays.
        await pilot.press("z")
        assert table.cursor_key == "k2"


async def test_a_bound_letter_acts_unless_a_search_is_in_progress() -> None:
    app = TypingApp()
    async with app.run_test(size=(60, 12)) as pilot:
        table = await typing_table(pilot, app)
        await pilot.press("d")  # bound: the action, not a jump
        assert app.deleted == 1 and table.cursor_key == "k0"
        await pilot.press("p")
        table.now[0] += 0.3
        await pilot.press("d")  # extends "p" to "pd": no row, and no delete either
        assert app.deleted == 1 and table.type_ahead_text == "pd" and table.cursor_key == "k3"
        table.now[0] += 2
        await pilot.press("d")
        assert app.deleted == 2
