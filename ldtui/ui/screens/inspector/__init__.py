"""The inspector: why is this context (not) in that big segment? Read straight from the store.

Three screens on one engine (``ldtui.services.inspect.Inspector``): one context explained
segment by segment (``single``); many contexts at once, pasted or from a file, with counts and
export (``bulk``); and one segment's membership counted per generation across the whole store
(``segment``); their dialogs in ``dialogs``, what they share in ``base``. Every store read runs
in a worker; text from the store or the API is shown literally."""

from ldtui.ui.screens.inspector.base import (
    BULK_TABLE_ROWS,
    TUI_CHUNK,
    VERDICT_VARIABLE,
    InspectorBase,
    freshness_text,
    target_line,
    verdict_text,
)
from ldtui.ui.screens.inspector.bulk import BulkScreen
from ldtui.ui.screens.inspector.dialogs import ExportScreen, StorePickerScreen
from ldtui.ui.screens.inspector.segment import SegmentScreen
from ldtui.ui.screens.inspector.single import InspectorScreen

__all__ = [
    "BULK_TABLE_ROWS",
    "TUI_CHUNK",
    "VERDICT_VARIABLE",
    "BulkScreen",
    "ExportScreen",
    "InspectorBase",
    "InspectorScreen",
    "SegmentScreen",
    "StorePickerScreen",
    "freshness_text",
    "target_line",
    "verdict_text",
]
