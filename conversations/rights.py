"""A refused action answered in the chat it came from (the decision itself: `services.permissions.authorize`)."""

from __future__ import annotations

from telegram import Update

from conversations.ui import answer_button, reply
from domain.permissions import Decision
from services.permissions import refusal_text


async def refuse(update: Update, decision: Decision) -> None:
    """Answer a refused button press or command in the chat it came from."""
    text = refusal_text(decision)
    if update.callback_query is not None:
        await answer_button(update, text)
        return
    message = update.effective_message
    if message is not None and message.chat.type != "private":
        await message.reply_text(text)
        return
    await reply(update, text)
