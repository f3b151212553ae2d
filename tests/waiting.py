"""Waiting in tests: on a condition, with a generous deadline that only matters when it never comes.

No fixed sleeps and no "it must take less than N seconds": on a loaded machine everything is slower,
and a test must then still pass. `wait_until` polls; the deadline only turns "never" into a failure.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

PATIENCE = 180.0  # seconds: far longer than anything should take, even on a busy machine (load 9 on 2 cores)


def wait_until(predicate: Callable[[], Any], what: str, *, timeout: float = PATIENCE, every: float = 0.02) -> Any:
    """Poll until `predicate()` is truthy (and return it), or fail saying what did not happen."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g}s waiting for {what}")
        time.sleep(every)


async def wait_until_async(predicate: Callable[[], Any], what: str) -> Any:
    """`wait_until` inside an event loop (for a condition another thread makes true), PATIENCE at most."""
    deadline = time.monotonic() + PATIENCE
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {PATIENCE:g}s waiting for {what}")
        await asyncio.sleep(0.01)
