"""The inbox's doorbell wakes one idle lane per ring, longest idle first."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from bot.inbox import Doorbell


async def _turns(until: Callable[[], bool], *, most: int = 50) -> None:
    """Let the event loop run until `until()` holds (a bounded number of turns, no clock involved)."""
    for _turn in range(most):
        if until():
            return
        await asyncio.sleep(0)
    raise AssertionError("the condition never held")


def test_each_ring_wakes_one_idle_lane_longest_idle_first() -> None:
    async def scenario() -> list[str]:
        bell = Doorbell()
        woken: list[str] = []

        async def lane(name: str) -> None:
            await bell.wait(600)
            woken.append(name)

        lanes = [asyncio.create_task(lane(name)) for name in ("first", "second", "third")]
        await _turns(lambda: len(bell._idle) == 3)
        bell.set()
        await _turns(lambda: woken == ["first"])
        for _turn in range(5):
            await asyncio.sleep(0)
        assert woken == ["first"], "one ring, one lane"
        bell.set()
        bell.set()
        await _turns(lambda: len(woken) == 3)
        await asyncio.gather(*lanes)
        return woken

    assert asyncio.run(scenario()) == ["first", "second", "third"]


def test_a_lane_that_stops_waiting_leaves_the_queue() -> None:
    async def scenario() -> int:
        bell = Doorbell()
        await bell.wait(0)
        return len(bell._idle)

    assert asyncio.run(scenario()) == 0
