"""Telegram's behaviour under stress: flood limits (429 with retry_after) and server faults."""

from __future__ import annotations

import math
import random
from collections import deque
from dataclasses import dataclass
from typing import Literal

Fault = Literal["drop", "lost", 500, 502]


class _Window:
    """Timestamps of accepted calls within a sliding window."""

    __slots__ = ("limit", "seconds", "times")

    def __init__(self, limit: float, seconds: float) -> None:
        """A sliding window that allows `limit` calls per `seconds`."""
        self.limit = limit
        self.seconds = seconds
        self.times: deque[float] = deque()

    def retry_after(self, now: float) -> int | None:
        """Seconds to wait before one more call fits in the window, or None if it fits now."""
        times = self.times
        while times and times[0] <= now - self.seconds:
            times.popleft()
        if len(times) + 1 <= self.limit:
            return None
        # Whole seconds until enough old calls leave the window for one more to fit.
        index = len(times) - math.floor(self.limit)
        return max(1, math.ceil(times[index] + self.seconds - now))


class FloodLimits:
    """Telegram's published limits: ~30 messages/s overall, 1/s per chat, 20/min per group.

    Only accepted sending calls count, as on Telegram; a refused or throttled call does not.
    """

    def __init__(
        self,
        global_per_second: float | None,
        per_chat_per_second: float | None,
        per_group_per_minute: float | None,
        scale: float,
    ) -> None:
        """The limits (each multiplied by `scale`; None switches one off), with no calls counted yet."""
        self.global_window = _Window(global_per_second * scale, 1.0) if global_per_second else None
        self.per_chat = per_chat_per_second * scale if per_chat_per_second else None
        self.per_group = per_group_per_minute * scale if per_group_per_minute else None
        self.chat_windows: dict[int, _Window] = {}
        self.group_windows: dict[int, _Window] = {}

    def _windows(self, chat_id: int | None) -> list[_Window]:
        """The windows a call to this chat counts in: the global one, the chat's, a group's per minute."""
        windows = [self.global_window] if self.global_window else []
        if chat_id is None:
            return windows
        if self.per_chat:
            window = self.chat_windows.get(chat_id)
            if window is None:
                window = self.chat_windows[chat_id] = _Window(self.per_chat, 1.0)
            windows.append(window)
        if self.per_group and chat_id < 0:
            window = self.group_windows.get(chat_id)
            if window is None:
                window = self.group_windows[chat_id] = _Window(self.per_group, 60.0)
            windows.append(window)
        return windows

    def retry_after(self, chat_id: int | None, now: float) -> int | None:
        """Seconds the bot must wait before calling this chat again, or None if it may now."""
        waits = [wait for window in self._windows(chat_id) if (wait := window.retry_after(now)) is not None]
        return max(waits) if waits else None

    def record(self, chat_id: int | None, now: float) -> None:
        """Count a call to this chat in every window it belongs to."""
        for window in self._windows(chat_id):
            window.times.append(now)


@dataclass
class Faults:
    """Failures drawn from a seeded generator, so a test run is repeatable."""

    server_error_rate: float
    drop_rate: float
    lost_response_rate: float
    include_get_updates: bool
    rng: random.Random

    def draw(self) -> Fault | None:
        """The fault for the next sending call, drawn at the set rates, or None."""
        roll = self.rng.random()
        if roll < self.drop_rate:
            return "drop"
        roll -= self.drop_rate
        if roll < self.lost_response_rate:
            return "lost"
        roll -= self.lost_response_rate
        if roll < self.server_error_rate:
            return 500 if self.rng.random() < 0.5 else 502
        return None


_DESCRIPTIONS = {
    400: "Bad Request: failed on purpose (Sandbox.fail_next)",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


@dataclass(slots=True)
class OneShotFault:
    """`Sandbox.fail_next`: the next `count` calls of `method` to `chat_id` fail with `status`."""

    chat_id: int
    method: str
    status: int
    retry_after: int
    count: int

    def answer(self) -> dict[str, object]:
        """The JSON answer of this failure (a 429 with its retry_after, or the status's error)."""
        if self.status == 429:
            return {
                "ok": False,
                "error_code": 429,
                "description": f"Too Many Requests: retry after {self.retry_after}",
                "parameters": {"retry_after": self.retry_after},
            }
        return {"ok": False, "error_code": self.status, "description": _DESCRIPTIONS.get(self.status, "Server Error")}
