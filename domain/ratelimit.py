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


@dataclass(eq=False)
class Booking:
    """One message's place in the schedule.

    Telegram counts a message when it arrives, which is some time between our request leaving and its
    answer coming back. So a message must not *start* before the message it follows in a window has been
    *answered* (its `anchors`, each with the gap the limit requires): then no window at Telegram's side
    can hold one too many, however the network or our event loop delays a request.
    """

    chat_id: int
    slot: float
    at: float
    done: bool = False
    anchors: tuple[tuple[Booking, float], ...] = ()

    def start_after(self) -> float | None:
        """Earliest moment to start, or None while a message it follows is still unanswered."""
        latest = self.slot
        for anchor, gap in self.anchors:
            if not anchor.done:
                return None
            latest = max(latest, anchor.at + gap)
        return latest

    def finish(self, at: float) -> None:
        """The answer came (or the attempt ended) at `at`."""
        self.at = max(self.slot, at)
        self.done = True
        # Only later messages look back at this one; dropping its own anchors keeps no long chain alive.
        self.anchors = ()


class FloodSchedule:
    """Hands out send times (monotonic seconds) that keep every window under its limit."""

    def __init__(self, limits: Limits) -> None:
        """An empty schedule for these limits."""
        self.limits = limits
        self._global: deque[Booking] = deque()
        self._chat_next: dict[int, float] = {}
        self._chat_last: dict[int, Booking] = {}
        self._groups: dict[int, deque[Booking]] = {}

    @property
    def _global_count(self) -> int:
        """How many messages the global window holds."""
        return max(1, int(self.limits.global_per_second))

    @property
    def _group_count(self) -> int:
        """How many messages a group's window holds."""
        return max(1, int(self.limits.per_group_per_minute))

    def _global_window(self) -> float:
        """The length in seconds of the window that holds the global count, with the margin."""
        return self._global_count / self.limits.global_per_second + self.limits.margin

    def _chat_gap(self) -> float:
        """The least time between two messages to one chat, with the margin."""
        return 1.0 / self.limits.per_chat_per_second + self.limits.margin

    def _group_window(self) -> float:
        """The length in seconds of the window that holds a group's count, with the margin."""
        return 60.0 * self._group_count / self.limits.per_group_per_minute + self.limits.margin

    def chat_ready_at(self, chat_id: int, now: float) -> float:
        """Earliest time this chat may receive again, ignoring the global limit."""
        ready = max(now, self._chat_next.get(chat_id, now))
        last = self._chat_last.get(chat_id)
        if last is not None:
            ready = max(ready, last.at + self._chat_gap())
        if is_group_chat(chat_id):
            sent = self._groups.get(chat_id)
            count = self._group_count
            if sent is not None and len(sent) >= count:
                ready = max(ready, sent[-count].at + self._group_window())
        return ready

    def global_ready_at(self, now: float) -> float:
        """Earliest time the global limit allows another message, never before the last slot handed out."""
        count = self._global_count
        ready = now if len(self._global) < count else max(now, self._global[-count].at + self._global_window())
        # Slots are handed out in order, so the window arithmetic above stays valid.
        return max(ready, self._global[-1].slot) if self._global else ready

    def book(self, chat_id: int, now: float) -> Booking:
        """Book the earliest slot for a message to this chat; start it at `start_after()`, then `finish`."""
        slot = max(self.chat_ready_at(chat_id, now), self.global_ready_at(now))
        anchors: list[tuple[Booking, float]] = []
        if len(self._global) >= self._global_count:
            anchors.append((self._global[-self._global_count], self._global_window()))
        last = self._chat_last.get(chat_id)
        if last is not None:
            anchors.append((last, self._chat_gap()))
        group = self._groups.setdefault(chat_id, deque()) if is_group_chat(chat_id) else None
        if group is not None and len(group) >= self._group_count:
            anchors.append((group[-self._group_count], self._group_window()))
        booking = Booking(chat_id=chat_id, slot=slot, at=slot, anchors=tuple(anchors))
        self._global.append(booking)
        self._chat_last[chat_id] = booking
        self._chat_next[chat_id] = slot + self._chat_gap()
        if group is not None:
            group.append(booking)
        self._forget_before(slot)
        return booking

    def hold_chat(self, chat_id: int, until: float) -> None:
        """Telegram said 429 for this chat: nothing more to it before `until`."""
        self._chat_next[chat_id] = max(self._chat_next.get(chat_id, until), until)

    def _forget_before(self, now: float) -> None:
        """Drop bookings no window can still need, so memory stays small however many chats were sent to."""
        horizon = now - 2 * self._global_window()
        while len(self._global) > self._global_count and self._global[0].at < horizon and self._global[0].done:
            self._global.popleft()
        if len(self._chat_next) > 50_000:
            for chat_id in [chat for chat, ready in self._chat_next.items() if ready < now]:
                del self._chat_next[chat_id]
                last = self._chat_last.get(chat_id)
                if last is not None and last.done:
                    del self._chat_last[chat_id]
        for chat_id in [chat for chat, sent in self._groups.items() if sent and sent[-1].at < now - 120.0]:
            del self._groups[chat_id]
        for sent in self._groups.values():
            while len(sent) > self._group_count and sent[0].done:
                sent.popleft()
