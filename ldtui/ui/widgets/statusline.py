"""A one-line status that keeps what matters when the terminal is narrow: it is given parts
with a rank, and shows the most important ones that fit its width, refitted on every resize."""

from __future__ import annotations

from textual import events
from textual.widgets import Static

from ldtui.core.text import literal

SEPARATOR = " · "


def fit_line(parts: list[tuple[int, str]], width: int, separator: str = SEPARATOR) -> str:
    """One line from (rank, text) parts: the most important (lowest rank) first, as many as
    fit in ``width`` (0: all of them), shown in their own order. The most important part is
    kept even when it alone is too long (the line then ends where the terminal does)."""
    parts = [(rank, text) for rank, text in parts if text]
    if width <= 0:
        return separator.join(text for _, text in parts)
    chosen: set[int] = set()
    used = 0
    for n in sorted(range(len(parts)), key=lambda i: (parts[i][0], i)):
        extra = len(parts[n][1]) + (len(separator) if chosen else 0)
        if used + extra <= width or not chosen:
            chosen.add(n)
            used += extra
    return separator.join(text for n, (_, text) in enumerate(parts) if n in chosen)


class StatusLine(Static):
    """``set_parts`` with (rank, text); each text is escaped for the terminal here."""

    def __init__(self, text: str = "", *, id: str | None = None, classes: str | None = None) -> None:  # noqa: A002
        super().__init__(text, id=id, classes=classes, markup=False)
        self._parts: list[tuple[int, str]] = [(0, text)] if text else []
        self._shown: str | None = text or None

    @property
    def parts(self) -> list[tuple[int, str]]:
        return list(self._parts)

    @property
    def full_text(self) -> str:
        """Every part, as on a terminal wide enough."""
        return fit_line(self._parts, 0)

    def set_parts(self, parts: list[tuple[int, str]]) -> None:
        # Escaped here, whatever the caller did (literal() of escaped text is the same text):
        # an exception's words or a profile's name can reach this line.
        self._parts = [(rank, literal(text)) for rank, text in parts]
        self._fit()

    def _fit(self) -> None:
        text = fit_line(self._parts, self.size.width if self.is_attached else 0)
        if text != self._shown:  # rewritten every second: only when it reads differently
            self._shown = text
            self.update(text, layout=False)  # safe-text: parts are literal() in set_parts

    def on_resize(self, event: events.Resize) -> None:
        self._fit()
