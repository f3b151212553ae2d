"""One typed message passed on through the bot to the other side, of a match (`conversations.match_sides`) or
of a task (`conversations.volunteer_tasks`): the checks it gets (a text within the limit, danger words) and
what the writer is told.
"""

from __future__ import annotations

from collections.abc import Callable

from telegram import Update

from conversations import concerns
from conversations.context import BotContext
from conversations.dialogue import END, STAY
from conversations.ui import answer_button, reply
from domain.urgent import detect_urgent
from services.i18n import _, hi
from storage.db import Session
from storage.models import Person

# Passes the checked text on and says to whom (empty when it may not go): the session, the writer, the text, and
# where the message came from ("chat:message", so that a repeated update is not passed on twice).
Send = Callable[[Session, Person, str, str], str | None]
WRITING = "write"  # the dialogue's step that waits for the one message


async def ask_for_message(update: Update, prompt: str | None, closed: str) -> str | None:
    """Ask for the one message with `prompt`, the tap answered; without one (no longer open) the tap says `closed`."""
    if prompt is None:
        await answer_button(update, closed)
        return END
    await answer_button(update)
    await reply(update, prompt)
    return WRITING


async def ask_for_text(update: Update, limit: int) -> str | None:
    """Anything but a fitting text while the message is expected: what is expected (an old button told so); stay."""
    if update.callback_query is not None:
        await answer_button(update, _("That button belongs to an earlier question."))
    await reply(update, _("Please write a text message of at most {count} characters.").format(count=limit))
    return STAY


async def pass_on(update: Update, context: BotContext, *, limit: int, send: Send, not_sent: str) -> str | None:
    """The typed message: checked, handed to `send`, and the writer told it went (or `not_sent`)."""
    message = update.effective_message
    if message is None or context.person is None:
        return STAY
    text = (message.text or "").strip()
    if not text or len(text) > limit:
        return await ask_for_text(update, limit)
    if detect_urgent(text) is not None:
        # Danger words go where a family's ordinary messages go: the safety numbers and the coordinators.
        await concerns.urgent_message(update, context)
        return END
    with context.session() as session:
        sent_to = send(session, context.person, text, f"{message.chat_id}:{message.message_id}")
    if not sent_to:
        await reply(update, not_sent)
        return END
    await reply(update, _("✓ Sent to {name}.").format(name=hi(sent_to)))
    return END
