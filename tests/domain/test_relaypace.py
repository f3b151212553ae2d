"""Pacing one person's relayed messages: a burst at once, then one every so often, in order, none lost."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

from domain.relaypace import Pace, PaceState, next_relay, unpaced

START = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
PACE = Pace(burst=10, every=timedelta(seconds=10), ack_gap=timedelta(minutes=2))


def run(moments: list[datetime], previous: PaceState | None = None) -> list[tuple[datetime, bool, bool, bool]]:
    out = []
    for moment in moments:
        decision = next_relay(previous, now=moment, pace=PACE)
        out.append((decision.due, decision.held, decision.notice, decision.ack))
        previous = decision.state
    return out


def test_a_burst_goes_at_once_then_one_every_ten_seconds_in_order() -> None:
    hundred_in_ten_seconds = [START + timedelta(seconds=index / 10) for index in range(100)]
    decisions = run(hundred_in_ten_seconds)
    dues = [due for due, *_ in decisions]
    assert dues == sorted(dues), "copies stay in the order written"
    immediate = [due for due, held, *_ in decisions if not held]
    assert len(immediate) == 10
    held = [due for due, is_held, *_ in decisions if is_held]
    assert all(b - a == timedelta(seconds=10) for a, b in itertools.pairwise(held)), "one every 10 s"
    assert held[-1] - START == timedelta(seconds=900)
    assert [notice for *_, notice, _ack in decisions].count(True) == 1, "one notice for the whole flood"
    assert [ack for *_, ack in decisions].count(True) == 1, "one acknowledgement for lines in a row"


def test_a_calm_pace_is_never_held_and_a_pause_refills_the_burst() -> None:
    every_fifteen_seconds = [START + timedelta(seconds=15 * index) for index in range(30)]
    assert not any(held for _due, held, *_ in run(every_fifteen_seconds))
    previous = None
    for _ in range(25):
        previous = next_relay(previous, now=START, pace=PACE).state
    after_a_pause = START + timedelta(minutes=30)
    decisions = run([after_a_pause] * 10, previous)
    assert [held for _due, held, *_ in decisions] == [False] * 10
    assert decisions[0][3] is True, "a new run of messages is acknowledged again"


def test_a_danger_sign_is_not_paced_and_costs_nothing() -> None:
    previous = None
    for _ in range(12):
        previous = next_relay(previous, now=START, pace=PACE).state
    assert previous is not None and previous.held
    urgent = unpaced(previous, now=START)
    assert urgent.due == START and not urgent.held and not urgent.notice
    assert urgent.state.theoretical == previous.theoretical
