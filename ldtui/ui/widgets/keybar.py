"""The key bar: one line at the bottom of every screen and dialog with the keys that work there.

Textual's footer lists keys in order until the line ends, so at 80 columns the last ones (often
the ones that matter) fall off. The key bar takes the screen's own order of importance
(``KEY_PRIORITY``, binding ids): the most important keys first, as many as fit, always with
F1 (which lists the rest); they are shown in the screen's order. It shows what is active now
(Textual's ``active_bindings``, so a remapped key shows its new key), never a key the session
hides (a write in read-only mode), and follows focus and resizes."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, ClassVar

from rich.cells import cell_len
from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.dom import DOMNode
from textual.keys import key_to_character
from textual.widget import Widget

from ldtui.ui.keys import is_hidden, screen_bindings

SEPARATOR = "  "
HELP_ACTIONS = {"help", "app.help"}


@dataclass(frozen=True)
class KeyItem:
    key: str  # as displayed ("n", "^s", "f1")
    description: str
    binding: Binding
    node: DOMNode
    enabled: bool

    @property
    def width(self) -> int:
        return cell_len(self.key) + 1 + cell_len(self.description)


def fit_items(items: list[KeyItem], ranks: dict[int, int], width: int) -> list[KeyItem]:
    """The items that fit in ``width`` cells: taken by rank (lower first; a help key first of
    all), shown in their own order."""
    chosen: set[int] = set()
    used = 0
    for n in sorted(range(len(items)), key=lambda i: (ranks[i], i)):
        extra = items[n].width + (cell_len(SEPARATOR) if chosen else 0)
        if used + extra <= width:
            chosen.add(n)
            used += extra
    return [item for n, item in enumerate(items) if n in chosen]


class KeyBar(Widget):
    """The active keys of the screen it is on, the important ones first."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {"keybar--key", "keybar--description", "keybar--disabled"}
    DEFAULT_CSS = """
    KeyBar {
        dock: bottom;
        height: 1;
        width: 1fr;
        background: $footer-background;
        color: $footer-foreground;
        & > .keybar--key {
            color: $footer-key-foreground;
            text-style: bold;
        }
        & > .keybar--description {
            color: $footer-description-foreground;
        }
        & > .keybar--disabled {
            text-style: dim;
        }
    }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:  # noqa: A002
        super().__init__(id=id, classes=classes)
        self._shown: list[KeyItem] = []

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self._bindings_changed)

    def _bindings_changed(self, screen: Any) -> None:
        if self.is_attached and screen is self.screen:
            self.refresh()

    def items(self) -> list[KeyItem]:
        """Every key the bar could show now, one per action, in the screen's order (the app's
        keys, such as q and F1, last)."""
        out: list[KeyItem] = []
        seen: set[str] = set()
        app = self.app
        keymap: dict[str, str] = dict(getattr(app, "keymap", {}) or {})
        # An action bound to several keys ("escape,ctrl+n") shows the first of them.
        first_key = {
            b.action: (keymap.get(b.id or "", "") or b.key).split(",")[0].strip()
            for b in screen_bindings(self.screen)
        }
        where: dict[str, int] = {}
        for node, binding, enabled, _tooltip in self.screen.active_bindings.values():
            if not binding.show or not binding.description or is_hidden(app, binding):
                continue
            item = KeyItem(app.get_key_display(binding), binding.description, binding, node, enabled)
            if binding.action in seen:
                if binding.key == first_key.get(binding.action) and binding.action in where:
                    out[where[binding.action]] = item
                continue
            seen.add(binding.action)
            where[binding.action] = len(out)
            out.append(item)
        # A focused widget may bind a key to something it cannot do (an input's scroll keys)
        # and pass it on: Textual then lists the widget's binding, not the screen's. The
        # screen's keys that the focused widget does not take as typing are shown too.
        screen = self.screen
        focused = screen.focused
        for binding in screen_bindings(screen):
            if not binding.show or not binding.description or binding.action in seen:
                continue
            key = (keymap.get(binding.id or "", "") or binding.key).split(",")[0].strip()
            if focused is not None and focused.check_consume_key(key, key_to_character(key)):
                continue
            owner: DOMNode = app if binding in app.BINDINGS else screen
            state = owner.check_action(binding.action.removeprefix("app."), ())
            if state is False:
                continue
            seen.add(binding.action)
            shown = dataclasses.replace(binding, key=key)
            out.append(
                KeyItem(app.get_key_display(shown), binding.description, binding, owner, state is not None)
            )
        # Own keys first, then the app's: the help key ends the line.
        return sorted(out, key=lambda item: (item.binding.action in HELP_ACTIONS, item.node is app))

    def _ranks(self, items: list[KeyItem]) -> dict[int, int]:
        priority = list(getattr(self.screen, "KEY_PRIORITY", ()))
        ranks = {}
        for n, item in enumerate(items):
            if item.binding.action in HELP_ACTIONS:
                ranks[n] = -1
            elif item.binding.id in priority:
                ranks[n] = priority.index(item.binding.id or "")
            else:
                ranks[n] = len(priority) + n
        return ranks

    @property
    def shown(self) -> list[tuple[str, str]]:
        """(key, description) of what the bar shows now."""
        return [(item.key, item.description) for item in self._shown]

    @property
    def text(self) -> str:
        return SEPARATOR.join(f"{key} {description}" for key, description in self.shown)

    def render(self) -> Text:
        items = self.items()
        self._shown = fit_items(items, self._ranks(items), max(0, self.size.width - 1))
        key_style = self.get_component_rich_style("keybar--key")
        description_style = self.get_component_rich_style("keybar--description")
        disabled = self.get_component_rich_style("keybar--disabled")
        text = Text(" ", no_wrap=True, overflow="crop", end="")
        for n, item in enumerate(self._shown):
            if n:
                text.append(SEPARATOR)
            extra = disabled if not item.enabled else None
            text.append(item.key, key_style + extra if extra else key_style)
            text.append(" ")
            text.append(item.description, description_style + extra if extra else description_style)
        return text

    async def _on_click(self, event: events.Click) -> None:
        """The mouse works too (it is never needed)."""
        x = event.x - 1
        for n, item in enumerate(self._shown):
            if 0 <= x < item.width and item.enabled:
                await self.app.run_action(item.binding.action, item.node)
                return
            x -= item.width + (cell_len(SEPARATOR) if n >= 0 else 0)
