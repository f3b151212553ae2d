"""Handler shapes the coordinators' and admins' screens share: a tap whose result is shown or refused, a checked
question for typed words, and a typed name handed to a service.

The rights are the service's: these helpers only say its answer (a refusal, a stale button, a name nobody can
read), so each screen keeps just what differs, its service call and its text.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Protocol, TypeVar

from telegram import Update

from conversations.context import BotContext
from conversations.dialogue import END, STAY
from conversations.rights import refuse
from conversations.ui import answer_button, answer_stale, name_refused_text, reply, retire_buttons, typed_text
from domain.permissions import Decision
from storage.db import Session
from storage.models import Person

T = TypeVar("T")


class Checks(Protocol):
    """A service's right check for a screen that changes something."""

    def __call__(self, *, session: Session, person: Person | None, now: datetime) -> Decision:
        """The decision for this person, now."""
        ...


class NameSaved(Protocol):
    """What a service answers to a typed name: its decision, and the cleaned name (None: nobody could read it)."""

    @property
    def decision(self) -> Decision:
        """Whether the person may do this."""
        ...

    @property
    def name(self) -> str | None:
        """The cleaned name, or None when the typed words were empty, invisible or too long."""
        ...


N = TypeVar("N", bound=NameSaved)


async def allowed(update: Update, decision: Decision) -> bool:
    """Stop the spinner of a tap the service allowed (True), or say its refusal (False)."""
    if not decision:
        await refuse(update, decision)
        return False
    await answer_button(update)
    return True


async def shown(update: Update, decision: Decision, found: T | None, answer: str | None = None) -> T | None:
    """What a tap found, its spinner stopped (with `answer`); None (answered) when refused or gone (stale)."""
    if not decision:
        await refuse(update, decision)
        return None
    if found is None:
        await answer_stale(update)
        return None
    await answer_button(update, answer)
    return found


async def ask_typed(
    update: Update, context: BotContext, may: Checks, prompt: str, step: str, *, retire: bool = True
) -> str | None:
    """A button that asks for typed words: checked on the server, then the question, and the step that waits."""
    with context.session() as session:
        decision = may(session=session, person=context.person, now=context.now())
    if not decision:
        await refuse(update, decision)
        return END
    await answer_button(update)
    if retire:
        await retire_buttons(update)
    await reply(update, prompt)
    return step


async def typed_name(
    update: Update,
    context: BotContext,
    save: Callable[..., N],
    max_length: int,
    saved: Callable[[N], Awaitable[str | None]],
) -> str | None:
    """A typed name given to `save` (rights checked there): refused ends, unreadable asks again, else `saved`."""
    with context.session() as session:
        result = save(session=session, person=context.person, typed=typed_text(update), now=context.now())
    if not result.decision:
        await refuse(update, result.decision)
        return END
    if result.name is None:
        await reply(update, name_refused_text(max_length))
        return STAY
    return await saved(result)
