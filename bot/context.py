"""What every handler can reach: settings, database, clock, and the person behind the update."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from sqlmodel import Session
from telegram.ext import Application, CallbackContext, ExtBot

from bot.settings import Settings
from domain.clock import Clock
from storage.db import Database
from storage.models import Person

JobHandler = Callable[..., None]


@dataclass
class Services:
    settings: Settings
    db: Database
    clock: Clock
    instance: str
    bot_username: str = "waakvlam_bot"
    coordinator_group_id: int | None = None
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


@dataclass
class Handling:
    """The update being handled, so a reply that fails can be queued to the outbox under its id."""

    update_id: int
    services: Services
    replies: int = 0
    # Once one reply went to the outbox, later ones follow it there, so the person reads them in order.
    queued: bool = False


HANDLING: ContextVar[Handling | None] = ContextVar("waakvlam_handling", default=None)


class BotContext(CallbackContext[ExtBot[None], dict[Any, Any], dict[Any, Any], dict[Any, Any]]):
    """Per-update context. `person` is loaded once per update by the first handler group."""

    def __init__(
        self,
        application: Application[Any, Any, Any, Any, Any, Any],
        chat_id: int | None = None,
        user_id: int | None = None,
    ) -> None:
        super().__init__(application=application, chat_id=chat_id, user_id=user_id)
        self.person: Person | None = None
        # The open dialogue's scratch data; the router saves it with the next step.
        self.dialogue: dict[str, Any] = {}

    @property
    def services(self) -> Services:
        services = self.bot_data["services"]
        assert isinstance(services, Services)
        return services

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A short transaction. Never await inside it: SQLite would hold its write lock meanwhile."""
        with self.services.db.session() as session:
            yield session

    def now(self) -> Any:
        return self.services.clock.now()


def services_of(application: Application[Any, Any, Any, Any, Any, Any]) -> Services:
    services = application.bot_data["services"]
    assert isinstance(services, Services)
    return services
