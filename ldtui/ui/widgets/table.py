"""A DataTable that does not measure what it already knows.

Textual's ``DataTable._update_dimensions`` measures every cell of every new row through Rich,
and each measurement builds console options (with a terminal-size system call): 45,000
measurements for 5,000 integrations. Our cells are single-line ``Text`` whose width is
``cell_len(plain)``, so this table computes it directly and lets the base class do the rest
with nothing left to measure. (Textual is pinned to one version; the screen tests and the
snapshots cover this.)"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from rich.cells import cell_len
from rich.text import Text
from textual._two_way_dict import TwoWayDict
from textual.widgets import DataTable
from textual.widgets.data_table import CellKey, ColumnKey, Row, RowKey


class FastDataTable(DataTable[Any]):
    def _update_dimensions(self, new_rows: Iterable[RowKey]) -> None:
        data = self._data
        columns = self.ordered_columns
        for row_key in new_rows:
            values = data.get(row_key)
            if values is None:
                continue
            for column in columns:
                value = values.get(column.key)
                width = cell_len(value.plain) if isinstance(value, Text) else cell_len(str(value))
                if width > column.content_width:
                    column.content_width = width
        super()._update_dimensions(())

    # --- batch operations: one re-index and one refresh for many rows -------------------------
    #
    # DataTable.remove_row re-indexes every row (O(n) each) and add_row/sort do per-row work;
    # a filter keystroke on 5,000 rows may remove or restore thousands at once.

    def remove_rows(self, keys: Iterable[str]) -> None:
        doomed = {RowKey(k) for k in keys}
        doomed &= set(self._row_locations)
        if not doomed:
            return
        # The current order (DataTable keeps it as key -> index), minus the doomed rows.
        order: list[RowKey | None] = [None] * len(self._row_locations)
        for key in self._row_locations:
            order[self._row_locations.get(key)] = key  # type: ignore[index]
        kept = [key for key in order if key is not None and key not in doomed]
        self._row_locations = TwoWayDict({key: i for i, key in enumerate(kept)})
        for key in doomed:
            for column_key in self._data.get(key, {}):
                self._updated_cells.discard(CellKey(key, column_key))
            del self.rows[key]
            del self._data[key]
        self._after_batch(layout=True)

    def add_rows_keyed(self, rows: list[tuple[str, tuple[Any, ...]]]) -> None:
        """Append rows (key, cells), as ``add_row`` would one by one."""
        if not rows:
            return
        columns = self.ordered_columns
        index = self.row_count
        for key, cells in rows:
            row_key = RowKey(key)
            self._row_locations[row_key] = index
            self._data[row_key] = {column.key: cell for column, cell in zip(columns, cells, strict=False)}
            self.rows[row_key] = Row(row_key, 1, None, False)
            self._new_rows.add(row_key)
            index += 1
        self._after_batch(layout=True)

    def set_order(self, keys: list[str]) -> None:
        """Put the rows in exactly this order (every row's key, once)."""
        self._row_locations = TwoWayDict({RowKey(k): i for i, k in enumerate(keys)})
        self._after_batch(layout=False)

    def _after_batch(self, *, layout: bool) -> None:
        # Rows moved, their content did not: drop the caches keyed by position, keep those
        # keyed by row (rendered cells), instead of bumping _update_count, which would
        # re-render every visible cell.
        self._ordered_row_cache.clear()
        self._row_renderable_cache.clear()
        self._line_cache.clear()
        self._offset_cache.clear()
        self._require_update_dimensions = True
        self.cursor_coordinate = self.cursor_coordinate
        self.hover_coordinate = self.hover_coordinate
        self.check_idle()
        self.refresh(layout=layout)

    def set_cells(self, updates: list[tuple[str, str, Any]]) -> None:
        """Replace many cells (row key, column key, value) with one refresh; widths are the
        caller's (fixed columns), so nothing is measured."""
        if not updates:
            return
        for row_key, column_key, value in updates:
            row = self._data.get(RowKey(row_key))
            if row is not None:
                row[ColumnKey(column_key)] = value
        # Clear the render caches rather than bump _update_count: bumping leaves every old
        # entry in the LRU caches (10,000 cells) until they are full, which a panel that
        # rewrites its ages every 5 s would do for minutes. Cleared, they hold what is shown.
        self._cell_render_cache.clear()
        self._row_render_cache.clear()
        self._line_cache.clear()
        self.refresh()

    def set_widths(self, widths: dict[str, int]) -> None:
        """Fixed column widths; a change re-renders everything (unlike moving rows)."""
        changed = False
        for key, width in widths.items():
            column = self.columns[ColumnKey(key)]
            if column.width != width:
                column.width = width
                changed = True
        if changed:
            self._update_count += 1
            self._require_update_dimensions = True
            self.refresh(layout=True)

    def add_fixed_columns(self, columns: list[tuple[str, str]]) -> None:
        """(key, label) columns with explicit widths (set later by ``set_widths``): the
        table then never measures cells to size them."""
        for key, label in columns:
            self.add_column(label, key=key, width=len(label))
