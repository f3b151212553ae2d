"""Telegram's flood limits as a reservation schedule.

Telegram refuses more than about 30 messages a second overall, 1 a second to one chat and 20 a
minute to one group. The sender asks for a slot before each send and starts the request at that
slot, so no sliding window at Telegram's side ever holds more than the limit. A small margin on
every window absorbs scheduling jitter between our clock and the moment a request arrives.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass


@dataclass(frozen=True)
class Limits:
    global_per_second: float = 30.0
    per_chat_per_second: float = 1.0
    per_group_per_minute: float = 20.0
    margin: float = 0.05


def is_group_chat(chat_id: int) -> bool:
    """Groups, supergroups and channels have negative ids."""
    return chat_id < 0


class FloodSchedule:
    """Hands out send times (monotonic seconds) that keep every window under its limit."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self._global: deque[float] = deque()
        self._chat_next: dict[int, float] = {}
        self._groups: dict[int, deque[float]] = {}

    @property
    def _global_count(self) -> int:
        return max(1, int(self.limits.global_per_second))

    def _global_window(self) -> float:
        return self._global_count / self.limits.global_per_second + self.limits.margin

    def chat_ready_at(self, chat_id: int, now: float) -> float:
        """Earliest time this chat may receive again, ignoring the global limit."""
        ready = max(now, self._chat_next.get(chat_id, now))
        if is_group_chat(chat_id):
            sent = self._groups.get(chat_id)
            count = max(1, int(self.limits.per_group_per_minute))
            if sent is not None and len(sent) >= count:
                ready = max(ready, sent[-count] + 60.0 * count / self.limits.per_group_per_minute + self.limits.margin)
        return ready

    def global_ready_at(self, now: float) -> float:
        count = self._global_count
        ready = now if len(self._global) < count else max(now, self._global[-count] + self._global_window())
        # Slots are handed out in order, so the window arithmetic above stays valid.
        return max(ready, self._global[-1]) if self._global else ready

    def reserve(self, chat_id: int, now: float) -> float:
        """Book the earliest slot for a message to this chat and return it."""
        slot = max(self.chat_ready_at(chat_id, now), self.global_ready_at(now))
        self._global.append(slot)
        self._chat_next[chat_id] = slot + 1.0 / self.limits.per_chat_per_second + self.limits.margin
        if is_group_chat(chat_id):
            self._groups.setdefault(chat_id, deque()).append(slot)
        self._forget_before(slot)
        return slot

    def hold_chat(self, chat_id: int, until: float) -> None:
        """Telegram said 429 for this chat: nothing more to it before `until`."""
        self._chat_next[chat_id] = max(self._chat_next.get(chat_id, until), until)

    def _forget_before(self, now: float) -> None:
        horizon = now - 2 * self._global_window()
        while len(self._global) > self._global_count and self._global[0] < horizon:
            self._global.popleft()
        if len(self._chat_next) > 50_000:
            for chat_id in [chat for chat, ready in self._chat_next.items() if ready < now]:
                del self._chat_next[chat_id]
        for chat_id in [chat for chat, sent in self._groups.items() if sent and sent[-1] < now - 120.0]:
            del self._groups[chat_id]
