"""What every ldtui screen shares: failed workers become notifications.

``Worker.StateChanged`` does not bubble, so the app never sees a screen's worker fail; each
screen hands it to the app's one reporting function."""

from __future__ import annotations

from typing import Any

from textual.screen import ModalScreen, Screen
from textual.worker import Worker


class ReportsFailures:
    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        report = getattr(self.app, "report_worker", None)  # type: ignore[attr-defined]
        if report is not None:
            report(event)


class LdScreen(ReportsFailures, Screen[Any]):
    pass


class LdModal(ReportsFailures, ModalScreen[Any]):
    pass
