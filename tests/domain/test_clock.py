"""The demo's clock: real time from a chosen start, moved forward on demand, never back."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from domain.clock import MovableClock

START = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)


def test_the_clock_runs_on_from_its_start_and_moves_forward_only() -> None:
    elapsed = [100.0]
    clock = MovableClock(START, monotonic=lambda: elapsed[0])
    assert clock.now() == START
    elapsed[0] += 2.5
    assert clock.now() == START + timedelta(seconds=2.5)
    assert clock.advance(timedelta(hours=2)) == START + timedelta(hours=2, seconds=2.5)
    target = START + timedelta(days=1)
    assert clock.move_to(target) == target
    assert clock.move_to(START) == target, "a moment already past leaves the clock as it is"
    elapsed[0] += 1
    assert clock.now() == target + timedelta(seconds=1)
    with pytest.raises(ValueError, match="forward"):
        clock.advance(timedelta(seconds=-1))
    with pytest.raises(ValueError, match="aware"):
        MovableClock(datetime(2026, 12, 2, 9, 0))  # a naive datetime: the mistake under test
