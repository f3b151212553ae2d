"""What every Telegram handler can reach: the services, a short transaction, and the person behind the update."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from telegram.ext import Application, CallbackContext, ExtBot

from services.context import Services
from storage.db import Session
from storage.models import Person


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
        """A context with no person loaded yet and an empty draft and dialogue data."""
        super().__init__(application=application, chat_id=chat_id, user_id=user_id)
        self.person: Person | None = None
        # The open dialogue's draft (a `conversations.dialogue.Draft`); the router saves it with the next step.
        self.draft: Any = None
        # The untyped scratch data of a dialogue that has no draft type yet.
        self.dialogue: dict[str, Any] = {}

    @property
    def services(self) -> Services:
        """The services (settings, database, clock) behind this update."""
        services = self.bot_data["services"]
        assert isinstance(services, Services)
        return services

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A short transaction. Never await inside it: SQLite would hold its write lock meanwhile."""
        with self.services.db.session() as session:
            yield session

    def now(self) -> Any:
        """Now, from the services' clock (a fake one in tests)."""
        return self.services.clock.now()


def services_of(application: Application[Any, Any, Any, Any, Any, Any]) -> Services:
    """The services an application was built with."""
    services = application.bot_data["services"]
    assert isinstance(services, Services)
    return services
