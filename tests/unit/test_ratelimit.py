"""The flood schedule never lets a sliding window exceed Telegram's limits."""

from __future__ import annotations

import bisect
import itertools
import random

from domain.ratelimit import FloodSchedule, Limits


def reserve(schedule: FloodSchedule, chat_id: int, now: float) -> float:
    """Book a slot and have it answered at once, as a send that takes no time would."""
    booking = schedule.book(chat_id, now)
    booking.finish(booking.slot)
    return booking.slot


def max_in_window(times: list[float], window: float) -> int:
    ordered = sorted(times)
    return max(
        (bisect.bisect_right(ordered, start + window - 1e-9) - index for index, start in enumerate(ordered)),
        default=0,
    )


def test_global_per_chat_and_group_limits_hold_for_a_random_mix() -> None:
    rng = random.Random(7)
    schedule = FloodSchedule(Limits(global_per_second=30, per_chat_per_second=1, per_group_per_minute=20, margin=0.0))
    now = 0.0
    slots: list[tuple[int, float]] = []
    for _ in range(3000):
        chat = rng.choice([-100, -200, *list(range(1, 400))])
        now += rng.random() * 0.01
        ready = schedule.chat_ready_at(chat, now)
        if ready > now + 0.25:
            continue  # the sender hands such a row back and takes it later
        slots.append((chat, reserve(schedule, chat, now)))
    times = [slot for _chat, slot in slots]
    assert max_in_window(times, 1.0) <= 30
    for chat in {chat for chat, _slot in slots}:
        own = sorted(slot for c, slot in slots if c == chat)
        assert all(b - a >= 1.0 - 1e-9 for a, b in itertools.pairwise(own))
        if chat < 0:
            assert max_in_window(own, 60.0) <= 20


def test_a_burst_to_many_chats_runs_at_the_global_rate() -> None:
    schedule = FloodSchedule(Limits(global_per_second=30, margin=0.05))
    slots = [reserve(schedule, chat, 0.0) for chat in range(1, 301)]
    # 300 messages at 30 per (1 + margin) seconds: about ten and a half seconds, not less.
    assert 9.0 <= slots[-1] <= 10.6
    assert max_in_window(slots, 1.0) <= 30


def test_a_429_holds_only_that_chat() -> None:
    schedule = FloodSchedule(Limits())
    schedule.hold_chat(5, 12.0)
    assert schedule.chat_ready_at(5, 0.0) == 12.0
    assert schedule.chat_ready_at(6, 0.0) == 0.0


def test_a_message_starts_only_after_the_one_it_follows_in_the_window_was_answered() -> None:
    schedule = FloodSchedule(Limits(global_per_second=30, per_chat_per_second=1, margin=0.0))
    first = [schedule.book(chat, 0.0) for chat in range(1, 31)]
    follower = schedule.book(31, 0.0)
    assert follower.slot >= 1.0
    assert follower.start_after() is None, "the first of the window is still on its way"
    # Its answer came late (a slow network, a busy loop): the follower waits a full window after it.
    first[0].finish(0.4)
    assert follower.start_after() == 1.4
    same_chat = schedule.book(31, 0.0)
    assert same_chat.start_after() is None
    follower.finish(1.5)
    first[1].finish(0.0)
    assert same_chat.start_after() == 2.5, "one a second to one chat, counted from the answer"
    assert not follower.anchors, "a finished booking keeps no chain of earlier ones alive"
