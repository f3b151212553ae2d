"""A language button, anywhere: store the choice, confirm it in the new language, and carry sign-up on."""

from __future__ import annotations

from typing import Any

from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler

from conversations import signup
from conversations.context import BotContext
from conversations.ui import answer_button, answer_stale, reply, retire_buttons
from services import signup as rules
from services.i18n import LANGUAGE_NAMES, _, h, set_language
from services.language import CHOOSE_PATTERN, chosen


async def choose_language(update: Update, context: BotContext) -> None:
    """A language button: store the choice (allowed before consent) and confirm in that language."""
    language = chosen(update.callback_query.data if update.callback_query else None)
    if language is None or context.person is None:
        await answer_stale(update)
        return
    with context.session() as session:
        person = rules.choose_language(
            session=session, person_id=context.person.id or 0, language=language, now=context.now()
        )
    if person is not None:
        context.person = person
    set_language(language)
    await answer_button(update)
    await retire_buttons(update)
    confirmation = _("From now on I will write in this language: {language}.").format(
        language=h(LANGUAGE_NAMES.get(language, language))
    )
    if await signup.continue_after_language(update, context, confirmation):
        return
    follow_up = _("Send /start to continue.") if context.person.consent_at is None else _("Send /menu to continue.")
    await reply(update, confirmation + "\n" + follow_up)


def build() -> list[BaseHandler[Any, Any, Any]]:
    """The language buttons (`services.language.CHOOSE`, made by `conversations.ui.language_keyboard`)."""
    return [CallbackQueryHandler(choose_language, pattern=CHOOSE_PATTERN)]
