"""What every Telegram handler can reach: the services, a short transaction, and the person behind the update."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from telegram.ext import Application, CallbackContext, ExtBot

from services.context import Services
from services.dialogues import SavedStep
from storage.db import Session
from storage.models import Person

# A write that belongs with the update's end (the dialogue's next step): run in the transaction that
# marks the update handled, so a step is saved exactly when its update counts as done.
AtFinish = Callable[[Session], None]


@dataclass
class Handling:
    """The update being handled, so a reply that fails can be queued to the outbox under its id.

    It also carries what is read once per update: the person (`bot.app.load_person`) and the chat's
    dialogue step, both loaded in one transaction before any handler looks at the update.
    """

    update_id: int
    services: Services
    replies: int = 0
    # Once one reply went to the outbox, later ones follow it there, so the person reads them in order.
    queued: bool = False
    # The chat whose dialogue step was loaded (None: not loaded), and that step (None: no dialogue).
    dialogue_chat_id: int | None = None
    dialogue: SavedStep | None = None
    # The person loaded for this update, once load_person has run.
    person_loaded: bool = False
    person: Person | None = None
    at_finish: list[AtFinish] = field(default_factory=list)
    # Calls whose answer nothing waits for (a button's spinner), running beside the handler; the inbox
    # waits for them before the update is done.
    alongside: list[asyncio.Future[None]] = field(default_factory=list)


def handling_dialogue(chat_id: int) -> tuple[bool, SavedStep | None]:
    """The chat's dialogue step as loaded for the update being handled: (loaded, step)."""
    handling = HANDLING.get()
    if handling is None or handling.dialogue_chat_id != chat_id:
        return False, None
    return True, handling.dialogue


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
