"""Time source. Everything asks a clock for "now", so tests move time instead of sleeping."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current moment, aware and in UTC."""


class SystemClock:
    def now(self) -> datetime:
        """The machine's time, in UTC."""
        return datetime.now(UTC)


class FakeClock:
    """A clock that only moves when told to; shared safely between a test and the bot's thread."""

    def __init__(self, start: datetime) -> None:
        """Start at `start` (aware; kept in UTC)."""
        if start.tzinfo is None:
            raise ValueError("FakeClock needs an aware datetime")
        self._now = start.astimezone(UTC)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        """The moment the clock was last set or moved to."""
        with self._lock:
            return self._now

    def set(self, moment: datetime) -> None:
        """Jump to `moment` (forward or back)."""
        with self._lock:
            self._now = moment.astimezone(UTC)

    def advance(self, delta: timedelta) -> datetime:
        """Move forward by `delta` and return the new moment."""
        with self._lock:
            self._now += delta
            return self._now


class MovableClock:
    """Real time that runs on from a chosen start and can be moved forward (the demo's `:later`).

    `monotonic` is the source of elapsed time (time.monotonic by default), so a test can hand in its own.
    """

    def __init__(self, start: datetime, *, monotonic: Callable[[], float] = time.monotonic) -> None:
        """Start at `start` (aware) and run on with `monotonic`'s elapsed seconds."""
        if start.tzinfo is None:
            raise ValueError("MovableClock needs an aware datetime")
        self._monotonic = monotonic
        self._start = start.astimezone(UTC)
        self._origin = monotonic()
        self._lock = threading.Lock()

    def now(self) -> datetime:
        """The start plus the real time elapsed since."""
        with self._lock:
            return self._start + timedelta(seconds=self._monotonic() - self._origin)

    def advance(self, delta: timedelta) -> datetime:
        """Move forward by `delta` (never back)."""
        if delta < timedelta(0):
            raise ValueError("the clock only moves forward")
        with self._lock:
            self._start += delta
            return self._start + timedelta(seconds=self._monotonic() - self._origin)

    def move_to(self, moment: datetime) -> datetime:
        """Move forward to `moment`; a moment already past leaves the clock as it is."""
        if moment.tzinfo is None:
            raise ValueError("MovableClock needs an aware datetime")
        with self._lock:
            now = self._start + timedelta(seconds=self._monotonic() - self._origin)
            if moment > now:
                self._start += moment - now
                now = moment.astimezone(UTC)
            return now
