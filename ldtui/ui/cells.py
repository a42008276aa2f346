"""Table cells: untrusted text as literal ``Text`` (never markup), each carrying a sort key."""

from __future__ import annotations

from typing import Any

from rich.style import Style
from rich.text import Text
from textual.color import Color

from ldtui.core.integration_status import ApiStatus, StatusSummary, summarize
from ldtui.core.models import BigSegmentStoreIntegration
from ldtui.core.text import literal, relative_age, truncate

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


def status_style(word: ApiStatus, variables: dict[str, str]) -> Style:
    value = variables.get(STATUS_VARIABLE[word], "")
    try:
        color = Color.parse(value).rich_color if value else None
    except Exception:
        color = None
    return Style(color=color, bold=word is not ApiStatus.OK)


def row_cells(
    integration: BigSegmentStoreIntegration, now_ms: int, variables: dict[str, str]
) -> tuple[tuple[Cell, ...], StatusSummary]:
    s = summarize(integration, now_ms)
    never = float("-inf")
    error_text = ""
    if s.last_error_message and s.word is ApiStatus.ERROR:
        error_text = f"{relative_age(s.last_error, now_ms)}: {truncate(s.last_error_message, 60)}"
    elif s.last_error is not None:
        error_text = relative_age(s.last_error, now_ms)
    cells = (
        cell(integration.projectKey),
        cell(integration.environmentKey),
        cell(KIND_LABEL.get(integration.integrationKey, integration.integrationKey)),
        cell(integration.name),
        cell("on" if integration.on else "off", sort_key=not integration.on),
        cell(
            s.word.value,
            sort_key=list(ApiStatus).index(s.word),
            style=status_style(s.word, variables),
        ),
        cell(relative_age(s.last_sync, now_ms), sort_key=-(s.last_sync or never)),
        cell(error_text, sort_key=-(s.last_error or never)),
        cell(", ".join(integration.tags)),
    )
    return cells, s


def matches(integration: BigSegmentStoreIntegration, words: list[str], status: str) -> bool:
    """Every word of the filter appears somewhere in the row (case-insensitive)."""
    if not words:
        return True
    hay = " ".join(
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
    return all(w in hay for w in words)
