"""One poll loop per screen: at most one poll in flight and one scheduled, whatever is pressed.

A screen used to poll by rescheduling a timer in each poll's ``finally``; a manual refresh
started an exclusive worker that cancelled the poll in flight, which still rescheduled itself,
so every ``r`` added a loop that never stopped (10 presses: 11 loops, 110 API calls per 20 s).
Here one long-lived task owns "the next poll": it sleeps until the poll is due or it is woken,
runs the poll, and works out the next time, backing off after failures. A manual refresh only
wakes it (a press while a poll runs asks for one more, not for a second loop). Behind a dialog
or another screen the loop waits; it resumes at once when its screen is shown again.

The loop keeps what the status line needs to tell the truth: when the last poll succeeded,
when and why the last one failed, how many failed in a row, when the next one is due.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from ldtui.core.schedule import backoff

# A manual refresh right after a poll started is the same poll (a held-down key is one press).
MIN_MANUAL_GAP_S = 1.0


@dataclass
class PollState:
    """What happened so far. Times are wall-clock seconds (for HH:MM:SS), except ``next_due``
    (monotonic, for countdowns)."""

    in_flight: bool = False
    last_ok: float | None = None
    last_failure: float | None = None
    failure_reason: str | None = None
    failures: int = 0  # consecutive
    next_due: float | None = None
    polls: int = 0
    started: float | None = None  # monotonic start of the poll in flight

    def waited(self, now_monotonic: float) -> float | None:
        """How long the poll in flight has been waiting, or ``None``."""
        if not self.in_flight or self.started is None:
            return None
        return max(0.0, now_monotonic - self.started)

    @property
    def failing(self) -> bool:
        return self.failures > 0

    def retry_in(self, now_monotonic: float) -> float | None:
        if self.next_due is None:
            return None
        return max(0.0, self.next_due - now_monotonic)


class PollLoop:
    """Runs ``poll`` now and then. ``poll`` raises to report a failure (the loop backs off and
    tries again by itself); ``CancelledError`` ends the loop without rescheduling anything.

    ``interval()`` is read before each wait (the configuration may change); ``0`` means "no
    periodic polls": the loop then polls once, retries a failure with backoff until one
    succeeds, and otherwise waits to be woken. ``active()`` says whether the screen is visible;
    while it is not, the loop waits (``resume`` wakes it)."""

    def __init__(
        self,
        poll: Callable[[], Awaitable[None]],
        *,
        interval: Callable[[], float],
        active: Callable[[], bool] = lambda: True,
        retry_base: float = 5.0,
        retry_cap: float = 60.0,
        describe: Callable[[BaseException], str] = str,
        on_change: Callable[[], None] = lambda: None,
        wall_clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._poll = poll
        self._interval = interval
        self._active = active
        self.retry_base = retry_base
        self.retry_cap = retry_cap
        self._describe = describe
        self._on_change = on_change
        self._wall = wall_clock
        self._mono = monotonic
        self.state = PollState()
        self._wake = asyncio.Event()
        self._hidden_wake = asyncio.Event()
        self._asked = False  # a poll was asked for and has not started yet
        self._last_start: float | None = None
        self._stopped = False

    # --- control ------------------------------------------------------------------------------

    @property
    def busy(self) -> bool:
        """A poll is running, or one was asked for and has not started yet."""
        return self.state.in_flight or self._wake.is_set() or self._asked

    def poll_now(self) -> None:
        """A manual refresh: the next poll, now. Presses while a poll runs ask for one more
        poll after it, not for more loops; polls are at least ``MIN_MANUAL_GAP_S`` apart, so
        holding the key down does not flood the API."""
        self._wake.set()

    def resume(self) -> None:
        """The screen is visible again: a poll that fell due meanwhile runs now."""
        self._hidden_wake.set()

    def is_stopped(self) -> bool:
        # A call, read after each wait: stop() may have run meanwhile.
        return self._stopped

    def stop(self) -> None:
        self._stopped = True
        self._wake.set()
        self._hidden_wake.set()

    # --- the loop -----------------------------------------------------------------------------

    async def _wait(self, event: asyncio.Event, seconds: float | None) -> bool:
        """Wait until ``event`` is set (consuming it) or ``seconds`` pass. True when set."""
        if not event.is_set():
            if seconds is not None and seconds <= 0:
                return False
            try:
                if seconds is None:
                    await event.wait()
                else:
                    await asyncio.wait_for(event.wait(), timeout=seconds)
            except TimeoutError:
                return False
        event.clear()
        return True

    def _next_delay(self) -> float | None:
        interval = self._interval()
        if self.state.failing:
            return backoff(interval or self.retry_base, self.state.failures, self.retry_cap)
        return interval if interval > 0 else None

    async def run(self) -> None:
        """The loop itself; run it as the screen's one worker. Ends only when stopped or
        cancelled (a cancelled loop schedules nothing)."""
        due: float | None = self._mono()  # monotonic time of the next poll; None: when asked
        while not self._stopped:
            self.state.next_due = due
            self._on_change()
            timeout = None if due is None else due - self._mono()
            asked = await self._wait(self._wake, timeout)
            if self.is_stopped():
                return
            if not asked and due is not None and self._mono() < due:
                continue
            self._asked = asked
            if not self._active():
                # Hidden: nothing until the screen is back; then poll if one fell due or was
                # asked for, else keep waiting for the next one.
                self.state.next_due = None
                self._on_change()
                while not self._active():
                    if self.is_stopped():
                        return
                    await self._wait(self._hidden_wake, 1.0)
                self._wake.clear()
            if asked and self._last_start is not None:
                gap = MIN_MANUAL_GAP_S - (self._mono() - self._last_start)
                if gap > 0:
                    await asyncio.sleep(gap)
                    self._wake.clear()  # presses during the gap are this same poll
            await self._once()
            delay = self._next_delay()
            due = None if delay is None else self._mono() + delay

    async def _once(self) -> None:
        self._asked = False
        self._last_start = self._mono()
        self.state.started = self._last_start
        self.state.in_flight = True
        self.state.next_due = None
        self._on_change()
        try:
            await self._poll()
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # reported in the state, retried with backoff
            self.state.failures += 1
            self.state.last_failure = self._wall()
            self.state.failure_reason = self._describe(exc)
        else:
            self.state.failures = 0
            self.state.last_ok = self._wall()
            self.state.failure_reason = None
        finally:
            self.state.in_flight = False
            self.state.polls += 1
            with contextlib.suppress(Exception):
                self._on_change()
