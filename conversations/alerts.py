"""Telegram says a person blocked the bot: act now, not only when the next message bounces.

The rules (a family's silence is a concern, a coordinator's concerns go to the others, whoever wrote hears
of a refusal) are in `services.unreachable`; `coordinators_for` in `services.recipients`.
"""

from __future__ import annotations

from typing import Any

from telegram import Update
from telegram.ext import BaseHandler, ChatMemberHandler

from conversations.context import BotContext
from services.unreachable import blocked_the_bot


async def my_chat_member(update: Update, context: BotContext) -> None:
    """Telegram says the person blocked the bot: act now, not only when the next message bounces."""
    change = update.my_chat_member
    person = context.person
    if change is None or change.chat.type != "private" or person is None:
        return
    if change.new_chat_member.status != "kicked":
        return  # unblocking is handled in load_person, as for any sign of life
    now = context.now()
    with context.session() as session:
        blocked_the_bot(session=session, services=context.services, person_id=person.id or 0, now=now)


def build() -> list[BaseHandler[Any, Any, Any]]:
    """The handler for Telegram's blocked/unblocked news."""
    return [ChatMemberHandler(my_chat_member, ChatMemberHandler.MY_CHAT_MEMBER)]
