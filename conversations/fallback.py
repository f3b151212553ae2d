"""The last handlers: whatever nobody else took gets a short, kind answer and a way forward."""

from __future__ import annotations

from typing import Any

from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler, MessageHandler, filters

from conversations import concerns
from conversations.context import BotContext
from conversations.dialogue import PRIVATE_MESSAGE
from conversations.ui import answer_stale, reply
from services.i18n import _


def _signed_up(context: BotContext) -> bool:
    """Whether the person behind the update finished signing up."""
    return context.person is not None and context.person.consent_at is not None


def _way_forward(context: BotContext) -> str:
    """The way on for this person: /menu when signed up, /start otherwise."""
    if _signed_up(context):
        return _("Send /menu to see what you can do, or /help.")
    return _("Send /start to sign up, or /help.")


async def unknown_command(update: Update, context: BotContext) -> None:
    """A command we do not have."""
    await reply(update, _("I do not know that command.") + " " + _way_forward(context))


async def free_text(update: Update, context: BotContext) -> None:
    """Text outside any dialogue: for someone signed up, passed on or offered for passing on."""
    if _signed_up(context) and await concerns.outside_message(update, context):
        return
    await reply(update, _("I am not sure what you would like me to do with this.") + " " + _way_forward(context))


async def other_message(update: Update, context: BotContext) -> None:
    """Stickers, voice notes, photos, locations and the like, outside any dialogue."""
    message = update.effective_message
    if (
        _signed_up(context)
        and message is not None
        and not message.sticker
        and await concerns.outside_message(update, context)
    ):
        return
    await reply(update, _("Thank you, but I cannot do anything with this here.") + " " + _way_forward(context))


async def stale_button(update: Update, context: BotContext) -> None:
    """A button from an old message, pressed twice, or forged: nothing changes."""
    await answer_stale(update)


def build() -> list[BaseHandler[Any, Any, Any]]:
    """The handlers that catch what nothing else took (registered last)."""
    return [
        MessageHandler(PRIVATE_MESSAGE & filters.COMMAND, unknown_command),
        MessageHandler(PRIVATE_MESSAGE & filters.TEXT, free_text),
        MessageHandler(PRIVATE_MESSAGE, other_message),
        CallbackQueryHandler(stale_button),
    ]
