"""When is another bot process dead, and when is a failed update tried again (pure rules, time passed in)."""

from __future__ import annotations

from datetime import datetime, timedelta


def is_dead(
    *,
    beat_at: datetime,
    now: datetime,
    dead_after: timedelta,
    same_host: bool,
    pid_alive: bool | None,
) -> bool:
    """Dead when it stopped beating, or at once when it ran on this host and its process is gone.

    `pid_alive` is None when it cannot be checked (another host or process namespace).
    """
    if same_host and pid_alive is False:
        return True
    return now - beat_at > dead_after


def retry_delay(*, attempts: int, base: timedelta) -> timedelta:
    """How long a failed update waits before the next try: base, 4 x base, 16 x base ..."""
    return base * (4 ** max(0, attempts - 1))


def should_retry(*, attempts: int, max_attempts: int) -> bool:
    """Try again while fewer than `max_attempts` tries were made; then hand the update to a person."""
    return attempts < max_attempts
