"""The one backoff rule the status panel and the exporter share."""

from __future__ import annotations

from ldtui.core.schedule import TARGET_MAX_BACKOFF_S, after_reading, backoff


def test_an_unreadable_store_is_tried_less_often_then_with_the_round_again() -> None:
    failures, due = 0, 0.0
    waits = []
    for _ in range(6):
        failures, due = after_reading(failures, True, 100.0, 5.0)
        waits.append(due - 100.0)
    assert waits == [5.0, 10.0, 20.0, TARGET_MAX_BACKOFF_S, TARGET_MAX_BACKOFF_S, TARGET_MAX_BACKOFF_S]
    assert after_reading(failures, False, 200.0, 5.0) == (0, 0.0)  # read again: back with the round
    assert backoff(5.0, 0, 60.0) == 5.0
