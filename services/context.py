"""What every use case and job can reach: settings, database, clock, and the means to wake the sender."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from domain.clock import Clock
from services.settings import Settings
from storage.db import Database

JobHandler = Callable[..., None]


@dataclass
class Services:
    settings: Settings
    db: Database
    clock: Clock
    instance: str
    bot_username: str = "waakvlam_bot"
    # Set whenever something is queued, so the sender wakes at once instead of at its next poll.
    outbox_signal: asyncio.Event = field(default_factory=asyncio.Event)
    jobs: dict[str, JobHandler] = field(default_factory=dict)
    # Events this instance counted (messages sent, 429s, webhook refusals), shown in /metrics.
    counters: dict[str, int] = field(default_factory=dict)
    # Errors raised while handling an update, by update_id, so the inbox can record them.
    handler_errors: dict[int, str] = field(default_factory=dict)
    # Sends one committed outbox row at once (the sender's own delivery, so its failures are retried).
    deliver_now: Callable[[str], Any] | None = None
    # Called (session=, services=, update_id=, payload=, reason=, now=) when an update is given up on.
    on_update_failed: Callable[..., None] | None = None
    # The loop the sender waits in; a commit made in another thread wakes it through this loop.
    loop: asyncio.AbstractEventLoop | None = None

    def __post_init__(self) -> None:
        """Make every commit that writes outbox rows wake the sender."""
        # Whatever commits outbox rows wakes the sender once the rows are visible: no caller remembers it.
        self.db.after_outbox_commit = self.wake_sender

    def wake_sender(self) -> None:
        """Wake the sender now (called after a commit that queued messages, from any thread)."""
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if self.loop is not None and running is not self.loop and not self.loop.is_closed():
            self.loop.call_soon_threadsafe(self.outbox_signal.set)
        else:
            self.outbox_signal.set()
