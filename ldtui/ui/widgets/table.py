"""ldtui's table: keyed rows, filter and sort, a row cursor; what it draws is a function of its
data, always.

Why not Textual's DataTable: to be fast at 5,000 rows, the old table reached into DataTable's
private caches, missed one of them, and the live panel's ages stopped ticking on screen. This
widget owns every cache it has. It is a line-API widget (``ScrollView`` + ``render_line``, as
toolong's log view): each row carries a version bumped on every change, and a rendered line is
cached under (row key, row version, layout version, style version, cursor, stripe). A change can
only miss the screen by not bumping a version, and every mutation goes through one method that
bumps it. Filtering 5,000 rows re-evaluates a predicate and re-sorts keys; it renders only the
lines on screen.

Cells are Rich ``Text`` (single line; longer text ends in an ellipsis) or plain strings; a cell
may carry a ``sort_key`` attribute (``ldtui.ui.cells.Cell``), used when sorting by its column.
A cell given to the table is never changed in place afterwards: a new value is a new object.

Narrow terminals: a column may have a priority (``set_priorities``) and a width it can shrink
to (``set_min_widths``). When the columns do not fit, shrinkable columns give up width first
(their text ends in an ellipsis), then the columns of the lowest priority are hidden, so what
matters stays on screen at 80 columns; columns without a priority are never hidden.

Type-ahead: printable characters that no binding takes jump to the next row whose first column
(or the one given to ``set_type_ahead``) starts with what was typed; within a second, more
characters extend the search (and then a bound letter extends it too, instead of acting).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding, BindingType
from textual.cache import LRUCache
from textual.geometry import Region, Size, Spacing
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

CellValue = Text | str
RowFilter = Callable[[str], bool]
SortKey = Callable[[str, tuple[CellValue, ...]], Any]


@dataclass
class Column:
    key: str
    label: str
    width: int  # content width, without the padding on each side
    # Hidden first when the table is too narrow (higher first); None: always shown.
    priority: int | None = None
    # The width it may shrink to when the table is too narrow; None: it never shrinks.
    min_width: int | None = None


@dataclass(frozen=True)
class ShownColumn:
    """A column as it is drawn at the table's present width."""

    index: int  # its cells' index in a row
    column: Column
    width: int  # content width at this size


TYPE_AHEAD_SECONDS = 1.0


@dataclass
class _Row:
    cells: tuple[CellValue, ...]
    version: int
    dim: bool = False


def _sort_value(value: CellValue) -> Any:
    key = getattr(value, "sort_key", None)
    if key is not None:
        return key
    return (value.plain if isinstance(value, Text) else str(value)).lower()


class LdTable(ScrollView, can_focus=True):
    """Rows by key; a header line that stays put; a row cursor that follows its row's key."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "select_cursor", "Select", show=False, id="table_select", tooltip="Open the row"),
        Binding("up", "cursor_up", "Up", show=False, id="table_up", tooltip="Previous row"),
        Binding("down", "cursor_down", "Down", show=False, id="table_down", tooltip="Next row"),
        Binding("pageup", "page_up", "Page up", show=False, id="table_page_up", tooltip="A page up"),
        Binding(
            "pagedown", "page_down", "Page down", show=False, id="table_page_down", tooltip="A page down"
        ),
        Binding("home,ctrl+home", "first", "First", show=False, id="table_first", tooltip="First row"),
        Binding("end,ctrl+end", "last", "Last", show=False, id="table_last", tooltip="Last row"),
        Binding("left", "scroll_left", "Left", show=False, id="table_left", tooltip="Scroll left"),
        Binding("right", "scroll_right", "Right", show=False, id="table_right", tooltip="Scroll right"),
    ]

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "ldtable--header",
        "ldtable--cursor",
        "ldtable--even-row",
        "ldtable--odd-row",
        "ldtable--dim",
        "ldtable--empty",
    }

    DEFAULT_CSS = """
    LdTable {
        background: $surface;
        color: $foreground;
        height: auto;
        max-height: 100%;
        &:focus {
            background-tint: $foreground 5%;
            & > .ldtable--cursor {
                background: $block-cursor-background;
                color: $block-cursor-foreground;
                text-style: $block-cursor-text-style;
            }
            & > .ldtable--header {
                background-tint: $foreground 5%;
            }
        }
        &:dark > .ldtable--even-row {
            background: $surface-darken-1 40%;
        }
        & > .ldtable--header {
            text-style: bold;
            background: $panel;
            color: $foreground;
        }
        &:ansi > .ldtable--header {
            background: ansi_bright_blue;
            color: ansi_default;
        }
        & > .ldtable--even-row {
            background: $surface-lighten-1 50%;
        }
        & > .ldtable--cursor {
            background: $block-cursor-blurred-background;
            color: $block-cursor-blurred-foreground;
            text-style: $block-cursor-blurred-text-style;
        }
        & > .ldtable--dim {
            text-style: dim;
        }
        & > .ldtable--empty {
            color: $foreground-muted;
            text-style: italic;
        }
    }
    """

    class RowHighlighted(Message):
        """The cursor is on another row (``key`` is ``None`` when the table shows no row)."""

        def __init__(self, table: LdTable, key: str | None) -> None:
            super().__init__()
            self.table = table
            self.key = key

        @property
        def control(self) -> LdTable:
            return self.table

    class RowSelected(Message):
        """Enter (or a click on the cursor's row)."""

        def __init__(self, table: LdTable, key: str) -> None:
            super().__init__()
            self.table = table
            self.key = key

        @property
        def control(self) -> LdTable:
            return self.table

    class ViewChanged(Message):
        """Other rows came into view (scrolled, resized): a screen that refreshes only what is
        shown refreshes them now."""

        def __init__(self, table: LdTable) -> None:
            super().__init__()
            self.table = table

        @property
        def control(self) -> LdTable:
            return self.table

    class HeaderSelected(Message):
        """A click on a column's header."""

        def __init__(self, table: LdTable, column: str) -> None:
            super().__init__()
            self.table = table
            self.column = column

        @property
        def control(self) -> LdTable:
            return self.table

    def __init__(
        self,
        *,
        zebra_stripes: bool = True,
        cell_padding: int = 1,
        empty_text: str = "",
        name: str | None = None,
        id: str | None = None,  # noqa: A002 - Textual's name
        classes: str | None = None,
        disabled: bool = False,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes, disabled=disabled)
        self.zebra_stripes = zebra_stripes
        self.cell_padding = cell_padding
        self._empty_text = empty_text
        self._columns: list[Column] = []
        self._rows: dict[str, _Row] = {}
        self._order: list[str] = []
        self._index: dict[str, int] = {}
        self._filter: RowFilter | None = None
        self._sort_column: str | None = None
        self._sort_columns: tuple[str, ...] = ()  # what a column sort looks at
        self._sort_key: SortKey | None = None
        self._sort_reverse = False
        self._cursor_key: str | None = None
        self._cursor_index = 0
        self._next_version = 0
        # What every rendered line depends on besides its row: bumped on any change to it.
        self._layout_version = 0
        self._style_version = 0
        self._lines: LRUCache[tuple[Any, ...], Strip] = LRUCache(1024)
        # Rendered cells by (cell object, width, styles); the object is kept with its entry, so
        # an id is never mistaken for a newer object's.
        self._cells_cache: LRUCache[tuple[Any, ...], tuple[CellValue, list[Segment]]] = LRUCache(8192)
        self._batch_depth = 0
        self._pending: set[str] = set()  # rows changed inside a batch: re-sort, re-filter
        self._pending_filter: set[str] = set()  # rows whose sort key cannot have changed
        self._order_dirty = False
        self._order_version = 0
        # Each row's sort key (for the current sort) and every row in sort order, kept while
        # only the filter changes.
        self._sort_keys: dict[str, Any] = {}
        self._sorted_all: list[str] | None = None
        self._layout_dirty = False
        self._highlight_posted: str | None = None
        self._column_index_cache: tuple[int, dict[str, int]] | None = None
        # The columns drawn at the present width, computed from (layout version, width).
        self._fit: tuple[tuple[int, int], list[ShownColumn]] | None = None
        self._fit_version = 0
        self._fit_signature: tuple[tuple[str, int], ...] = ()
        self._type_ahead_column: str | None = None
        self._type_ahead = ""
        self._type_ahead_at = float("-inf")
        # The clock type-ahead measures its pause with (tests set their own).
        self.type_ahead_clock: Callable[[], float] = time.monotonic

    # --- columns ------------------------------------------------------------------------------

    @property
    def columns(self) -> list[Column]:
        return list(self._columns)

    def set_columns(self, columns: Sequence[tuple[str, str]]) -> None:
        """The columns (key, label), in order; widths start at the labels' and are set with
        ``set_widths`` or ``fit_widths``. Rows already in the table keep their cells, columns
        kept by key their width, priority and minimum width."""
        old = {c.key: c for c in self._columns}
        self._columns = [
            Column(
                key,
                label,
                old[key].width if key in old else cell_len(label),
                old[key].priority if key in old else None,
                old[key].min_width if key in old else None,
            )
            for key, label in columns
        ]
        self._layout_changed()

    def set_priorities(self, priorities: Mapping[str, int | None]) -> None:
        """Which columns may be hidden when the table is too narrow, and in which order: the
        highest number first. A column without a priority is always shown."""
        changed = False
        for column in self._columns:
            if column.key in priorities and priorities[column.key] != column.priority:
                column.priority = priorities[column.key]
                changed = True
        if changed:
            self._layout_changed()

    def set_min_widths(self, widths: Mapping[str, int | None]) -> None:
        """How narrow columns may become (their text then ends in an ellipsis) before any
        column is hidden. A column without one keeps its width."""
        changed = False
        for column in self._columns:
            if column.key in widths:
                value = widths[column.key]
                value = None if value is None else max(1, value)
                if value != column.min_width:
                    column.min_width = value
                    changed = True
        if changed:
            self._layout_changed()

    @property
    def shown_columns(self) -> list[str]:
        """The keys of the columns drawn at the table's present width, in order."""
        return [shown.column.key for shown in self._layout()]

    @property
    def hidden_columns(self) -> list[str]:
        """The keys of the columns hidden because the table is too narrow for them."""
        shown = set(self.shown_columns)
        return [c.key for c in self._columns if c.key not in shown]

    def set_widths(self, widths: Mapping[str, int]) -> None:
        changed = False
        for column in self._columns:
            width = widths.get(column.key)
            if width is not None and width != column.width:
                column.width = max(0, width)
                changed = True
        if changed:
            self._layout_changed()

    def fit_widths(
        self, caps: Mapping[str, int] | None = None, *, rows: Iterable[str] | None = None, shrink: bool = True
    ) -> None:
        """Each column as wide as its widest label or cell among ``rows`` (default: every row,
        shown or not, so columns stay put while a filter narrows), capped by ``caps``. With
        ``shrink=False`` a column only grows: text that ticks ("9s ago", "10s ago") does not
        make the columns jump, nor cost a layout pass each second."""
        caps = caps or {}
        keys = self._rows.keys() if rows is None else rows
        widths = {c.key: cell_len(c.label) for c in self._columns}
        for key in keys:
            row = self._rows.get(key)
            if row is None:
                continue
            for column, value in zip(self._columns, row.cells, strict=False):
                width = value.cell_len if isinstance(value, Text) else cell_len(value)
                if width > widths[column.key]:
                    widths[column.key] = width
        fitted = {k: min(w, caps.get(k, w)) for k, w in widths.items()}
        if not shrink:
            current = {c.key: c.width for c in self._columns}
            fitted = {k: max(w, current.get(k, 0)) for k, w in fitted.items()}
        self.set_widths(fitted)

    # --- rows ---------------------------------------------------------------------------------

    def _bump(self) -> int:
        self._next_version += 1
        return self._next_version

    def set_row(self, key: str, cells: Sequence[CellValue], *, dim: bool | None = None) -> None:
        """Add the row, or replace its cells (and, if given, whether it is dimmed)."""
        self.set_rows([(key, cells)], dim=dim)

    def set_rows(self, rows: Iterable[tuple[str, Sequence[CellValue]]], *, dim: bool | None = None) -> None:
        with self.batch():
            for key, cells in rows:
                old = self._rows.get(key)
                new_dim = (old.dim if old else False) if dim is None else dim
                values = tuple(cells)
                if old is not None and old.dim == new_dim and old.cells == values:
                    continue
                if old is None:
                    self._sorted_all = None  # a new row: its place in the sort is not known yet
                self._rows[key] = _Row(values, self._bump(), new_dim)
                self._pending.add(key)

    def replace_rows(
        self, rows: Iterable[tuple[str, Sequence[CellValue]]], *, dim: bool | None = None
    ) -> None:
        """Exactly these rows: add and update them, remove every other."""
        rows = list(rows)
        wanted = {key for key, _ in rows}
        with self.batch():
            self.remove_rows([k for k in self._rows if k not in wanted])
            self.set_rows(rows, dim=dim)

    def update_cells(self, updates: Iterable[tuple[str, str, CellValue]]) -> None:
        """Replace single cells (row key, column key, value); unknown rows are ignored."""
        index = {c.key: i for i, c in enumerate(self._columns)}
        with self.batch():
            for key, column, value in updates:
                row = self._rows.get(key)
                i = index.get(column)
                if row is None or i is None:
                    continue
                cells = list(row.cells) + [""] * (len(self._columns) - len(row.cells))
                if cells[i] == value:
                    continue
                cells[i] = value
                self._rows[key] = _Row(tuple(cells), self._bump(), row.dim)
                if self._sort_key is not None or column in self._sort_columns:
                    self._pending.add(key)
                else:
                    self._pending_filter.add(key)  # its place in the sort cannot have moved

    def update_cell(self, key: str, column: str, value: CellValue) -> None:
        self.update_cells([(key, column, value)])

    def set_dim(self, keys: Iterable[str], dim: bool = True) -> None:
        """Dim rows (data known to be old); the screen says why in words as well."""
        with self.batch():
            for key in keys:
                row = self._rows.get(key)
                if row is not None and row.dim != dim:
                    self._rows[key] = _Row(row.cells, self._bump(), dim)
                    self._pending.add(key)

    def remove_rows(self, keys: Iterable[str]) -> None:
        with self.batch():
            for key in keys:
                if self._rows.pop(key, None) is not None:
                    self._pending.discard(key)
                    self._pending_filter.discard(key)
                    self._sort_keys.pop(key, None)
                    self._sorted_all = None
                    self._order_dirty = True

    def clear(self) -> None:
        self.remove_rows(list(self._rows))

    def get_cells(self, key: str) -> tuple[CellValue, ...] | None:
        row = self._rows.get(key)
        return row.cells if row else None

    def is_dim(self, key: str) -> bool:
        row = self._rows.get(key)
        return bool(row and row.dim)

    def get_row_at(self, index: int) -> tuple[CellValue, ...]:
        """The cells of the ``index``-th row shown."""
        return self._rows[self._order[index]].cells

    def get_row_index(self, key: str) -> int:
        """Where row ``key`` is shown (``KeyError`` when it is not)."""
        return self._index[key]

    @property
    def row_keys(self) -> list[str]:
        """Every row, shown or not."""
        return list(self._rows)

    @property
    def shown_keys(self) -> list[str]:
        """The rows on screen (through the filter), in display order."""
        return list(self._order)

    @property
    def row_count(self) -> int:
        """Rows shown (the filter applied)."""
        return len(self._order)

    @property
    def total_count(self) -> int:
        return len(self._rows)

    # --- filter and sort ----------------------------------------------------------------------

    def set_filter(self, predicate: RowFilter | None) -> None:
        """Show only rows whose key passes ``predicate``. Call again (or ``refilter``) when what
        the predicate looks at changes."""
        self._filter = predicate
        self.refilter()

    def refilter(self) -> None:
        with self.batch():
            self._order_dirty = True

    def set_sort(
        self,
        column: str | Sequence[str] | None = None,
        *,
        key: SortKey | None = None,
        reverse: bool = False,
    ) -> None:
        """Sort by a column (its cells' ``sort_key``, else their text), by several columns in
        turn (a tuple; the header marks none), or by ``key(row key, cells)``; ties by row key,
        so the order never depends on the history of updates."""
        if column is not None and key is not None:
            raise ValueError("sort by a column or by a key function, not both")
        columns = (column,) if isinstance(column, str) else tuple(column or ())
        marked = column if isinstance(column, str) else None
        changed_header = marked != self._sort_column or (marked is not None and reverse != self._sort_reverse)
        self._sort_column, self._sort_columns = marked, columns
        self._sort_key, self._sort_reverse = key, reverse
        with self.batch():
            self._sort_keys.clear()
            self._sorted_all = None
            self._order_dirty = True
            if changed_header:
                self._layout_changed()

    @property
    def sort_column(self) -> str | None:
        return self._sort_column

    @property
    def sort_reverse(self) -> bool:
        return self._sort_reverse

    @property
    def version(self) -> tuple[int, int]:
        """Changes whenever any row, or the rows shown, or their order change: a key for what a
        screen derives from the rows (counts, say)."""
        return (self._order_version, self._next_version)

    @property
    def _sorted(self) -> bool:
        return bool(self._sort_columns) or self._sort_key is not None

    def _column_index(self) -> dict[str, int]:
        """Column key -> position, kept until the columns change."""
        cached = self._column_index_cache
        if cached is None or cached[0] != self._layout_version:
            cached = (self._layout_version, {c.key: n for n, c in enumerate(self._columns)})
            self._column_index_cache = cached
        return cached[1]

    def _row_sort_key(self, key: str) -> Any:
        row = self._rows[key]
        if self._sort_columns:
            index = self._column_index()
            values = []
            for column in self._sort_columns:
                i = index.get(column)
                values.append(_sort_value(row.cells[i]) if i is not None and i < len(row.cells) else "")
            return (*values, key)
        if self._sort_key is not None:
            return (self._sort_key(key, row.cells), key)
        return key

    def _compute_order(self) -> None:
        # Every row in sort order is kept between filter changes: a keystroke in the filter
        # only filters; the sort runs when rows or their sort keys change.
        if self._sorted_all is None:
            if self._sorted:
                keys = self._sort_keys
                for key in self._rows:
                    if key not in keys:
                        keys[key] = self._row_sort_key(key)
                self._sorted_all = sorted(self._rows, key=keys.__getitem__, reverse=self._sort_reverse)
            else:
                self._sorted_all = list(self._rows)
        keep = self._filter
        self._order = list(self._sorted_all) if keep is None else [k for k in self._sorted_all if keep(k)]
        self._index = {k: i for i, k in enumerate(self._order)}

    # --- batching and refresh -----------------------------------------------------------------

    @contextlib.contextmanager
    def batch(self) -> Iterator[None]:  # type: ignore[override]
        """Many changes, one re-order and one refresh. (Textual's own ``Widget.batch`` is an
        async context manager for the same idea; this one is synchronous, as every caller
        updates rows from the event loop without awaiting, and keeps its name so that no
        caller in another branch silently gets Textual's.)"""
        self._batch_depth += 1
        try:
            yield
        finally:
            self._batch_depth -= 1
            if self._batch_depth == 0:
                self._commit()

    def _layout_changed(self) -> None:
        self._layout_version += 1
        self._layout_dirty = True
        if self._batch_depth == 0:
            self._commit()

    def _commit(self) -> None:
        pending, self._pending = self._pending, set()
        keep = self._filter
        changed = pending | self._pending_filter
        only_filter, self._pending_filter = self._pending_filter - pending, set()
        if not self._order_dirty and self._sorted_all is not None and keep is not None:
            for key in only_filter:
                if key in self._rows and (key in self._index) != keep(key):
                    self._order_dirty = True
                    break
        for key in pending:
            # A changed row may have moved in the sort (its sort key changed), or entered or
            # left the filter. (Added and removed rows dropped the sorted list already.)
            if self._sorted:
                new = self._row_sort_key(key)
                if self._sort_keys.get(key) != new:
                    self._sort_keys[key] = new
                    self._sorted_all = None
            if self._sorted_all is None or (
                not self._order_dirty and (key in self._index) != (keep is None or keep(key))
            ):
                self._order_dirty = True
        order_changed = self._order_dirty
        if self._order_dirty:
            self._order_dirty = False
            before = self._order
            self._compute_order()
            order_changed = before != self._order
            if order_changed:
                self._order_version += 1
        cursor = self._cursor_key
        self._place_cursor()
        if order_changed or self._layout_dirty or cursor != self._cursor_key:
            if order_changed or self._layout_dirty:
                self._layout_dirty = False
                self._update_virtual_size()
            self.refresh()
            return
        # Rows changed in place: only their lines are repainted (a second's tick of ages on a
        # long table then costs the lines that changed, not the whole viewport).
        top = int(self.scroll_y)
        bottom = top + max(1, self.size.height)
        for key in changed:
            index = self._index.get(key)
            if index is not None and top <= index < bottom:
                self.refresh_line(1 + index)

    def _update_virtual_size(self) -> None:
        # Header, rows; with no row, one more line for the empty text.
        lines = 1 + (len(self._order) or (1 if self._empty_text else 0))
        self.virtual_size = Size(self._total_width(), lines)

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._style_version += 1
        self._lines.clear()
        self._cells_cache.clear()

    def _on_focus(self, event: events.Focus) -> None:
        self.refresh()

    def _on_blur(self, event: events.Blur) -> None:
        self.refresh()

    # --- the cursor ---------------------------------------------------------------------------

    @property
    def cursor_key(self) -> str | None:
        """The row under the cursor, or ``None`` when nothing is shown."""
        return self._cursor_key

    @property
    def cursor_row(self) -> int:
        """The cursor's index among the rows shown (-1 when none)."""
        return self._index.get(self._cursor_key, -1) if self._cursor_key is not None else -1

    def _place_cursor(self) -> None:
        """After a change: the cursor stays on its row if that is still shown, else on the same
        line (clamped)."""
        if self._cursor_key is not None and self._cursor_key in self._index:
            self._cursor_index = self._index[self._cursor_key]
        elif self._order:
            self._cursor_index = min(max(self._cursor_index, 0), len(self._order) - 1)
            self._cursor_key = self._order[self._cursor_index]
        else:
            self._cursor_key, self._cursor_index = None, 0
        self._post_highlight()

    def _post_highlight(self) -> None:
        if self._cursor_key != self._highlight_posted:
            self._highlight_posted = self._cursor_key
            if self.is_attached:
                self.post_message(self.RowHighlighted(self, self._cursor_key))

    def move_cursor(self, *, key: str | None = None, row: int | None = None, scroll: bool = True) -> None:
        """To a row by key (if shown) or by index (clamped)."""
        if key is not None:
            if key not in self._index:
                return
            row = self._index[key]
        if row is None or not self._order:
            return
        row = min(max(row, 0), len(self._order) - 1)
        self._cursor_index, self._cursor_key = row, self._order[row]
        self._post_highlight()
        self.refresh()
        if scroll:
            self._scroll_cursor_into_view()

    def _scroll_cursor_into_view(self) -> None:
        if self._cursor_key is None:
            return
        region = Region(int(self.scroll_x), self._cursor_index + 1, 1, 1)
        # The header line stays on top: keep the cursor's row below it.
        self.scroll_to_region(
            region, animate=False, spacing=Spacing(1, 0, 0, 0), immediate=True, force=True, x_axis=False
        )

    def action_cursor_up(self) -> None:
        self.move_cursor(row=self._cursor_index - 1)

    def action_cursor_down(self) -> None:
        self.move_cursor(row=self._cursor_index + 1)

    def _page(self) -> int:
        return max(1, self.scrollable_content_region.height - 2)

    def action_page_up(self) -> None:
        self.move_cursor(row=self._cursor_index - self._page())

    def action_page_down(self) -> None:
        self.move_cursor(row=self._cursor_index + self._page())

    def action_first(self) -> None:
        self.move_cursor(row=0)

    def action_last(self) -> None:
        self.move_cursor(row=len(self._order) - 1)

    def action_scroll_left(self) -> None:
        self.scroll_to(x=max(0, self.scroll_x - 8), animate=False)

    def action_scroll_right(self) -> None:
        self.scroll_to(x=self.scroll_x + 8, animate=False)

    def action_select_cursor(self) -> None:
        if self._cursor_key is not None:
            self.post_message(self.RowSelected(self, self._cursor_key))

    async def _on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None:
            return
        if offset.y == 0:
            column = self._column_at(offset.x + int(self.scroll_x))
            if column is not None:
                self.post_message(self.HeaderSelected(self, column.key))
            return
        row = int(self.scroll_y) + offset.y - 1
        if 0 <= row < len(self._order):
            was = self._cursor_key
            self.move_cursor(row=row)
            if was == self._cursor_key:
                self.action_select_cursor()

    def _column_at(self, x: int) -> Column | None:
        left = 0
        for shown in self._layout():
            right = left + shown.width + 2 * self.cell_padding
            if left <= x < right:
                return shown.column
            left = right
        return None

    # --- rendering ----------------------------------------------------------------------------

    def _width(self, column: Column) -> int:
        """A column's content width: its own, or wider when its header (with the sort arrow)
        needs it, so the header always says how the table is sorted."""
        return max(column.width, cell_len(self._header_label(column)))

    def _total_width(self) -> int:
        return sum(shown.width + 2 * self.cell_padding for shown in self._layout())

    def _available_width(self) -> int:
        """The width the columns may take: the viewport's (0 before the first layout, when
        nothing is hidden yet)."""
        if not self.is_attached:
            return 0
        # From the data, not from the scrollbars shown now: the horizontal one appears only
        # when the columns are wider than this, and the vertical one when the rows are taller
        # than the table (deciding from the scrollbars of the moment fed back: a fit for a
        # width with scrollbars kept a virtual size that kept them).
        region = self.content_region
        width = region.width
        if 1 + len(self._order) > region.height:
            width -= self.styles.scrollbar_size_vertical
        return max(0, width)

    def _layout(self) -> list[ShownColumn]:
        """The columns drawn now, with their widths: a function of the columns and the width
        available, computed once for each of their versions."""
        key = (self._layout_version, self._available_width())
        if self._fit is not None and self._fit[0] == key:
            return self._fit[1]
        shown = fit_columns(self._columns, key[1], self.cell_padding, self._width)
        self._fit = (key, shown)
        signature = tuple((s.column.key, s.width) for s in shown)
        if signature != self._fit_signature:
            self._fit_signature = signature
            self._fit_version += 1
            if self.is_attached:
                # The scrollable width follows the columns drawn (not during a render: next).
                self.call_later(self._sync_virtual_size)
        return shown

    def _sync_virtual_size(self) -> None:
        if self.virtual_size.width != self._total_width():
            self._update_virtual_size()

    def _header_label(self, column: Column) -> str:
        if column.key == self._sort_column:
            return f"{column.label} {'↓' if self._sort_reverse else '↑'}"
        return column.label

    def _cell_segments(
        self, value: CellValue, width: int, base: Style, post: Style | None = None
    ) -> list[Segment]:
        """One cell, padded to its column: ``base`` under the cell's own style, ``post`` (the
        cursor, dimming) over it, so the cursor row reads in the cursor's colours. Cached per
        cell object: a row whose ages tick re-renders its changed cells, not all of them."""
        cache_key = (id(value), width, base, post)
        hit = self._cells_cache.get(cache_key)
        if hit is not None and hit[0] is value:
            return hit[1]
        segments = self._render_cell(value, width, base, post)
        self._cells_cache.set(cache_key, (value, segments))
        return segments

    def _render_cell(self, value: CellValue, width: int, base: Style, post: Style | None) -> list[Segment]:
        pad = " " * self.cell_padding
        text = value if isinstance(value, Text) else Text(value)
        if text.cell_len > width or "\n" in text.plain:
            text = text.copy()
            text.plain = text.plain.replace("\n", " ")
            text.truncate(width, overflow="ellipsis")
        base_post = base + post if post is not None else base
        segments = [Segment(pad, base_post)]
        console = self.app.console
        # Rich applies a Text's own style only to spans, not to plain runs: apply it here.
        own = base + console.get_style(text.style) if text.style else base
        for segment in text.render(console):
            style = own + segment.style if segment.style else own
            segments.append(Segment(segment.text, style + post if post is not None else style))
        fill = width - text.cell_len
        segments.append(Segment(" " * (max(0, fill) + self.cell_padding), base_post))
        return segments

    def _row_styles(self, index: int, cursor: bool, dim: bool) -> tuple[Style, Style | None]:
        """The row's base (the stripe) and what goes over its cells' own styles (dimming, then
        the cursor)."""
        base = self.rich_style
        if self.zebra_stripes:
            base += self.get_component_rich_style("ldtable--odd-row" if index % 2 else "ldtable--even-row")
        post: Style | None = None
        if dim:
            post = self.get_component_rich_style("ldtable--dim")
        if cursor:
            cursor_style = self.get_component_rich_style("ldtable--cursor")
            post = cursor_style if post is None else post + cursor_style
        return base, post

    def _full_line(self, y: int) -> Strip:
        """Line ``y`` of the table (0 is the header), uncropped, from the cache when its inputs
        are unchanged."""
        layout = self._layout()
        state = (self._layout_version, self._fit_version, self._style_version, self.has_focus)
        if y == 0:
            cache_key: tuple[Any, ...] = ("header", *state)
            strip = self._lines.get(cache_key)
            if strip is None:
                base = self.rich_style + self.get_component_rich_style("ldtable--header")
                segments: list[Segment] = []
                for shown in layout:
                    segments += self._cell_segments(self._header_label(shown.column), shown.width, base)
                strip = Strip(segments)
                self._lines.set(cache_key, strip)
            return strip
        index = y - 1
        key = self._order[index]
        row = self._rows[key]
        cursor = key == self._cursor_key
        cache_key = (key, row.version, cursor, index % 2, *state)
        strip = self._lines.get(cache_key)
        if strip is None:
            base, post = self._row_styles(index, cursor, row.dim)
            segments = []
            for shown in layout:
                n = shown.index
                value = row.cells[n] if n < len(row.cells) else ""
                segments += self._cell_segments(value, shown.width, base, post)
            strip = Strip(segments)
            self._lines.set(cache_key, strip)
        return strip

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        scroll_x, scroll_y = int(self.scroll_x), int(self.scroll_y)
        line = y if y == 0 else y + scroll_y
        if line > len(self._order):
            if y == 1 and not self._order and self._empty_text:
                style = self.rich_style + self.get_component_rich_style("ldtable--empty")
                text = " " * self.cell_padding + self._empty_text
                return (
                    Strip([Segment(text, style)])
                    .crop(scroll_x, scroll_x + width)
                    .adjust_cell_length(width, self.rich_style)
                )
            return Strip.blank(width, self.rich_style)
        return (
            self._full_line(line).crop(scroll_x, scroll_x + width).adjust_cell_length(width, self.rich_style)
        )

    def set_empty_text(self, text: str) -> None:
        """What the table says when it shows no row (e.g. "no integration matches the filter")."""
        if text != self._empty_text:
            self._empty_text = text
            self._update_virtual_size()
            self.refresh()

    def visible_keys(self, margin: int = 2) -> list[str]:
        """The rows in the viewport now (and ``margin`` rows either side)."""
        top = int(self.scroll_y)
        height = max(1, self.scrollable_content_region.height - 1)  # less the header
        start = max(0, top - margin)
        return self._order[start : top + height + margin]

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        if round(old_value) != round(new_value):
            self.post_message(self.ViewChanged(self))

    def on_resize(self, event: events.Resize) -> None:
        before = self._fit_version
        self._layout()
        if self._fit_version != before:
            # Other columns fit now: the scrollable width changes with them.
            self._update_virtual_size()
        self.refresh()
        self.post_message(self.ViewChanged(self))

    # --- type-ahead ---------------------------------------------------------------------------

    def set_type_ahead(self, column: str | None) -> None:
        """The column type-ahead searches (default: the first one)."""
        self._type_ahead_column = column

    @property
    def type_ahead_text(self) -> str:
        """What was typed in the current search ("" when none is in progress)."""
        return self._type_ahead if self._searching() else ""

    def _searching(self) -> bool:
        return bool(self._type_ahead) and self.type_ahead_clock() - self._type_ahead_at < TYPE_AHEAD_SECONDS

    def check_consume_key(self, key: str, character: str | None) -> bool:
        # While a search is in progress, a letter extends it: it never acts on a row that
        # the search happens to have reached.
        return self._searching() and _searchable(character)

    def type_ahead(self, character: str) -> bool:
        """Extend (or start) the search with ``character`` and move to the next row whose
        column starts with the search. True when a row matched."""
        now = self.type_ahead_clock()
        extending = self._searching()
        self._type_ahead = (self._type_ahead if extending else "") + character
        self._type_ahead_at = now
        return self._jump(self._type_ahead, include_current=extending)

    def _jump(self, prefix: str, *, include_current: bool) -> bool:
        if not self._order:
            return False
        index = {c.key: n for n, c in enumerate(self._columns)}
        column = self._type_ahead_column or (self._columns[0].key if self._columns else None)
        n = index.get(column) if column is not None else None
        if n is None:
            return False
        wanted = prefix.casefold()
        start = self._cursor_index if include_current else self._cursor_index + 1
        total = len(self._order)
        for step in range(total):
            i = (start + step) % total
            cells = self._rows[self._order[i]].cells
            value = cells[n] if n < len(cells) else ""
            text = value.plain if isinstance(value, Text) else str(value)
            if text.casefold().startswith(wanted):
                self.move_cursor(row=i)
                return True
        return False

    async def _on_key(self, event: events.Key) -> None:
        character = event.character
        if _searchable(character) and (self._searching() or event.key not in self.screen.active_bindings):
            assert character is not None
            event.stop()
            event.prevent_default()
            self.type_ahead(character)
            return
        await super()._on_key(event)


def _searchable(character: str | None) -> bool:
    return (
        character is not None and len(character) == 1 and character.isprintable() and not character.isspace()
    )


def fit_columns(
    columns: Sequence[Column], available: int, padding: int, width: Callable[[Column], int]
) -> list[ShownColumn]:
    """The columns that fit in ``available`` cells, with their widths. The least important
    column gives way first (the highest priority number, of equals the rightmost): it shrinks
    to its minimum width if it has one, and is hidden when the columns that are always shown
    (no priority) could not make up the rest by shrinking; then the next one. Last, the
    columns always shown shrink (the rightmost first) to their minimum widths. With no width
    known yet (0), every column keeps its width; when even that is not enough, the table
    scrolls sideways."""
    widths = {c.key: width(c) for c in columns}
    shown = list(columns)
    excess = sum(w + 2 * padding for w in widths.values()) - available if available > 0 else 0
    position = {c.key: n for n, c in enumerate(columns)}

    def slack(column: Column) -> int:
        return max(0, widths[column.key] - column.min_width) if column.min_width is not None else 0

    order = sorted(
        columns,
        key=lambda c: (c.priority if c.priority is not None else -1, position[c.key]),
        reverse=True,
    )
    for column in order:
        if excess <= 0:
            break
        cut = min(excess, slack(column))
        widths[column.key] -= cut
        excess -= cut
        if column.priority is None or excess <= 0:
            continue
        always = sum(slack(c) for c in shown if c.priority is None)
        if excess > always:
            shown.remove(column)
            excess -= widths[column.key] + 2 * padding
    index = {c.key: n for n, c in enumerate(columns)}
    return [ShownColumn(index[c.key], c, widths[c.key]) for c in shown]
