"""The one list of keys a screen has: the key bar, F1 and the command palette are made from it,
so they never disagree; a read-only session hides the keys that change anything from all three.
"""

from __future__ import annotations

from typing import Any

from textual.binding import Binding
from textual.screen import Screen

# The bindings that send a create, edit, on/off or delete: absent in a read-only session.
WRITE_BINDINGS = frozenset(
    {"create", "edit", "switch", "delete", "detail_edit", "detail_toggle", "detail_delete"}
)


def read_only(app: Any) -> bool:
    return bool(getattr(app, "read_only", False))


def is_hidden(app: Any, binding: Binding) -> bool:
    """Not offered on this session (a write while read-only)."""
    return read_only(app) and binding.id in WRITE_BINDINGS


def screen_bindings(screen: Screen[Any]) -> list[Binding]:
    """Every binding of ``screen`` (its classes' own, the most derived first, as Textual merges
    them), then the app's unless the screen is a dialog (a dialog's keys are its own: the
    app's do not reach through it); without the hidden ones, one per action."""
    found: list[Binding] = []
    for cls in type(screen).__mro__:
        if not cls.__module__.startswith("ldtui."):
            continue
        found.extend(b for b in cls.__dict__.get("BINDINGS", []) if isinstance(b, Binding))
    if not screen.is_modal:
        found.extend(b for b in screen.app.BINDINGS if isinstance(b, Binding))
    seen: set[str] = set()
    out = []
    for binding in found:
        if binding.action in seen or is_hidden(screen.app, binding):
            continue
        seen.add(binding.action)
        out.append(binding)
    return out
