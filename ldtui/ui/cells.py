"""Table cells: untrusted text as literal ``Text`` (never markup), each carrying a sort key."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.style import Style
from rich.text import Text
from textual.color import Color

from ldtui.core.integration_status import ApiStatus, StatusSummary
from ldtui.core.text import literal, relative_age, truncate

if TYPE_CHECKING:
    from ldtui.core.models import BigSegmentStoreIntegration

STATUS_VARIABLE = {
    ApiStatus.OK: "status-ok",
    ApiStatus.STALE: "status-stale",
    ApiStatus.ERROR: "status-down",
    ApiStatus.OFF: "status-off",
    ApiStatus.UNKNOWN: "status-unknown",
}
KIND_LABEL = {"redis": "Redis", "dynamodb": "DynamoDB"}

COLUMNS: list[tuple[str, str]] = [
    ("project", "Project"),
    ("environment", "Environment"),
    ("kind", "Store"),
    ("name", "Name"),
    ("on", "On"),
    ("status", "Status"),
    ("last_sync", "Last sync"),
    ("last_error", "Last error"),
    ("tags", "Tags"),
]


# The widest each column gets (longer text ends in an ellipsis; the detail view has it all).
COLUMN_CAPS = {
    "project": 24,
    "environment": 20,
    "kind": 9,
    "name": 36,
    "on": 3,
    "status": 11,
    "last_sync": 10,
    "last_error": 48,
    "tags": 24,
}


# On a narrow terminal (80 columns), columns give way in this order (the highest first); the
# others always show: where, the name, the status word with its "old" mark, and the age.
COLUMN_PRIORITIES = {"tags": 5, "last_error": 4, "kind": 3, "on": 2}
# How narrow a column may get (ending in an ellipsis) before that.
COLUMN_MIN_WIDTHS = {"last_error": 16, "name": 20, "project": 12, "environment": 12, "tags": 8}
# Sorting by status: the best first, so that reversed (S) the worst comes to the top.
STATUS_ORDER = [ApiStatus.OK, ApiStatus.OFF, ApiStatus.UNKNOWN, ApiStatus.STALE, ApiStatus.ERROR]


class Cell(Text):
    """A ``Text`` with the value to sort by (ages sort by time, not by their wording)."""

    sort_key: Any = ""

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Cell)
            and self.plain == other.plain
            and self.style == other.style
            and self.sort_key == other.sort_key
        )

    __hash__ = None  # type: ignore[assignment]


def cell(text: str, sort_key: Any = None, style: str | Style = "") -> Cell:
    c = Cell(literal(text), style=style, no_wrap=True, overflow="ellipsis")
    c.sort_key = text.lower() if sort_key is None else sort_key
    return c


def status_style_for(variable: str, bold: bool, variables: dict[str, str]) -> Style:
    """A status colour from the theme's semantic variable (``status-ok`` …)."""
    value = variables.get(variable, "")
    try:
        color = Color.parse(value).rich_color if value else None
    except Exception:
        color = None
    return Style(color=color, bold=bold)


def status_style(word: ApiStatus, variables: dict[str, str]) -> Style:
    return status_style_for(STATUS_VARIABLE[word], word is not ApiStatus.OK, variables)


def _own(text: str, sort_key: Any) -> Cell:
    """A cell of text ldtui composed from safe parts (no outside text that is not literal()
    already): skips the escaping pass, which ticking 10,000 ages a second would pay for."""
    c = Cell(text, no_wrap=True, overflow="ellipsis")
    c.sort_key = sort_key
    return c


def age_cells(s: StatusSummary, now_ms: int) -> tuple[Cell, Cell]:
    """The two cells that change as time passes: last sync, last error (the latest error; the
    detail says since when it has been failing). ``last_error_message`` is literal already."""
    never = float("-inf")
    error_text = ""
    if s.last_error_message and s.word is ApiStatus.ERROR:
        error_text = f"{relative_age(s.last_error, now_ms)}: {truncate(s.last_error_message, 60)}"
    elif s.last_error is not None:
        error_text = relative_age(s.last_error, now_ms)
    return (
        _own(relative_age(s.last_sync, now_ms), -(s.last_sync or never)),
        _own(error_text, -(s.last_error or never)),
    )


OLD = "old"  # said beside the status of a row whose data predates a failed refresh


def status_cell(word: ApiStatus, variables: dict[str, str], *, old: bool = False) -> Cell:
    text = f"{word.value} {OLD}" if old else word.value
    return cell(text, sort_key=STATUS_ORDER.index(word), style=status_style(word, variables))


def row_cells(
    integration: BigSegmentStoreIntegration,
    summary: StatusSummary,
    now_ms: int,
    variables: dict[str, str],
    *,
    old: bool = False,
) -> tuple[Cell, ...]:
    return (
        cell(integration.projectKey),
        cell(integration.environmentKey),
        cell(KIND_LABEL.get(integration.integrationKey, integration.integrationKey)),
        cell(integration.name),
        cell("on" if integration.on else "off", sort_key=not integration.on),
        status_cell(summary.word, variables, old=old),
        *age_cells(summary, now_ms),
        cell(", ".join(integration.tags)),
    )


def haystack(integration: BigSegmentStoreIntegration, status: str) -> str:
    """What the filter searches: every column's text, lower-cased, in one string."""
    return " ".join(
        [
            integration.projectKey,
            integration.environmentKey,
            integration.integrationKey,
            KIND_LABEL.get(integration.integrationKey, ""),
            integration.name,
            " ".join(integration.tags),
            status,
            "on" if integration.on else "off",
            integration.id,
        ]
    ).lower()
