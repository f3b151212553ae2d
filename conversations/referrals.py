"""Referrers: /refer (a family, one step at a time, ending in a single-use link) and /referrals (their own list).

Each step's button is checked again by the step (the value must be on its list), and the referrer's right is
checked on the server when the dialogue opens and again when the link is made (`services.referrals`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection, Coroutine
from dataclasses import dataclass
from typing import Any

from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler, MessageHandler

from conversations import menu
from conversations.context import BotContext
from conversations.dialogue import END, STAY, TYPED, AskingAgain, Dialogue, Draft, draft_of, private_command
from conversations.ui import (
    answer_button,
    column,
    not_understood,
    readable_name,
    reply,
    retire_buttons,
    tapped,
    tapped_values,
)
from services import referrals
from services.callbacks import Button
from services.i18n import LANGUAGE_NAMES, _, format_day, h, hi
from services.referrals import CONTACT, CREATE, LANGUAGE, REASON

NAME = referrals.DIALOGUE
ASK_REASON = "reason"
ASK_FIRST_NAME = "first_name"
ASK_LANGUAGE = "language"
ASK_CONTACT = "contact"
CONFIRM = "confirm"


@dataclass
class ReferDraft(Draft):
    """What the referrer chose so far (keys saved with the step; keep them)."""

    reason: str | None = None
    first_name: str | None = None
    language: str | None = None
    contact: str | None = None


def draft(context: BotContext) -> ReferDraft:
    """This step's draft."""
    return draft_of(context, ReferDraft)


def not_for_you() -> str:
    """The answer to someone who is not a referrer."""
    return _("Only referrers can refer a family. A coordinator can invite you as a referrer.")


async def prompt_reason(update: Update, context: BotContext) -> None:
    """Why the family could use support: a short list, no free text."""
    buttons = [(referrals.reason_label(key), REASON.data(key)) for key in referrals.REASON_LABELS]
    await reply(
        update,
        _("Why do you refer this family? Choose what fits best. (No details: the family tells its own story.)"),
        column(buttons),
    )


async def prompt_first_name(update: Update, context: BotContext) -> None:
    """The family's first name, as they like to be called."""
    await reply(update, _("What is the first name of the parent you refer? Only a first name."))


async def prompt_language(update: Update, context: BotContext) -> None:
    """The family's language: the link opens in it."""
    buttons = [(LANGUAGE_NAMES.get(code, code), LANGUAGE.data(code)) for code in referrals.languages()]
    await reply(update, _("In which language should Waakvlam talk to the family?"), column(buttons))


async def prompt_contact(update: Update, context: BotContext) -> None:
    """How the family prefers to be contacted by the team."""
    buttons = [(referrals.contact_label(key), CONTACT.data(key)) for key in referrals.CONTACT_LABELS]
    await reply(update, _("How does the family prefer to be contacted?"), column(buttons))


async def prompt_confirm(update: Update, context: BotContext) -> None:
    """The summary, and the button that makes the link."""
    answers = draft(context)
    lines = [
        _("<b>Your referral</b>"),
        _("First name: {name}").format(name=hi(answers.first_name or "")),
        _("Reason: {reason}").format(reason=h(referrals.reason_label(answers.reason or ""))),
        _("Language: {language}").format(language=h(LANGUAGE_NAMES.get(answers.language or "", ""))),
        _("Prefers to be contacted: {contact}").format(contact=h(referrals.contact_label(answers.contact or ""))),
    ]
    await reply(update, "\n".join(lines), column([(_("Create the link"), CREATE.data())]))


PROMPTS: dict[str, Callable[[Update, BotContext], Awaitable[None]]] = {
    ASK_REASON: prompt_reason,
    ASK_FIRST_NAME: prompt_first_name,
    ASK_LANGUAGE: prompt_language,
    ASK_CONTACT: prompt_contact,
    CONFIRM: prompt_confirm,
}


async def not_on_the_list(update: Update) -> None:
    """What /refer says to a tap or message a step did not expect (an old or forged button is not on its list)."""
    if update.callback_query is not None:
        await answer_button(update, _("That choice is not on the list. Please choose again."))
    else:
        await not_understood(update)


# Anything a step did not expect (a message, or an old or forged rf:… button) is answered and the step asked again.
STEPS = AskingAgain(PROMPTS, r"^rf:", not_on_the_list)


async def start_refer(update: Update, context: BotContext) -> str | None:
    """/refer (or the menu): only referrers, checked on the server."""
    if update.callback_query is not None:
        await answer_button(update)
    with context.session() as session:
        allowed = referrals.may_refer(session=session, person=context.person, now=context.now())
    if not allowed:
        await reply(update, not_for_you())
        return END
    context.draft = ReferDraft()
    await prompt_reason(update, context)
    return ASK_REASON


def choice_step(
    button: Button, options: Callable[[], Collection[str]], kept_as: str, step: str, then: str
) -> Callable[[Update, BotContext], Coroutine[Any, Any, str | None]]:
    """The handler of a step that chooses one of `options`: kept in the draft's `kept_as`, then on to `then`."""

    async def choose(update: Update, context: BotContext) -> str | None:
        """The tapped choice, checked against the list again (an old or forged button is asked again)."""
        value = tapped(update, button)
        if value not in options():
            return await STEPS.ask_again(update, context, step)
        await answer_button(update)
        await retire_buttons(update)
        setattr(draft(context), kept_as, value)
        await PROMPTS[then](update, context)
        return then

    return choose


choose_reason = choice_step(REASON, lambda: referrals.REASON_LABELS, "reason", ASK_REASON, ASK_FIRST_NAME)
choose_language = choice_step(LANGUAGE, referrals.languages, "language", ASK_LANGUAGE, ASK_CONTACT)
choose_contact = choice_step(CONTACT, lambda: referrals.CONTACT_LABELS, "contact", ASK_CONTACT, CONFIRM)


async def receive_first_name(update: Update, context: BotContext) -> str | None:
    """The family's first name, cleaned."""
    name = await readable_name(update, referrals.clean_first_name, referrals.MAX_FIRST_NAME)
    if name is None:
        return STAY
    draft(context).first_name = name
    await prompt_language(update, context)
    return ASK_LANGUAGE


async def create_link(update: Update, context: BotContext) -> str | None:
    """Create the link: rights and every choice checked again on the server."""
    if tapped_values(update, CREATE) is None:
        return await STEPS.ask_again(update, context, CONFIRM)
    answers = draft(context)
    with context.session() as session:
        created = referrals.create_referral(
            session=session,
            services=context.services,
            person=context.person,
            reason=answers.reason,
            first_name=answers.first_name,
            language=answers.language,
            contact=answers.contact,
            now=context.now(),
        )
    if created is None:
        await answer_button(update, _("This referral cannot be made. Send /refer to start again."))
        return END
    await answer_button(update)
    await retire_buttons(update)
    await reply(
        update,
        "\n\n".join(
            [
                _(
                    "Here is the link for {name}. It works once, until {day}. Give it to the family yourself, "
                    "for example by text message, or let them scan it from your screen:"
                ).format(name=hi(answers.first_name or ""), day=h(format_day(created.expires_at.date()))),
                h(created.link),
                _("When they open it, they see your name, your organisation and the reason, and decide themselves."),
            ]
        ),
    )
    return END


async def show_referrals(update: Update, context: BotContext) -> None:
    """/referrals: the referrer's own referrals and where each stands (only what the family shares)."""
    with context.session() as session:
        lines = referrals.my_referrals(session=session, person=context.person, now=context.now())
    if lines is None:
        await reply(update, not_for_you())
        return
    if not lines:
        await reply(update, _("You have not referred a family yet. Send /refer to start."))
        return
    await reply(update, "\n".join([_("<b>Your referrals</b>"), *("• " + line for line in lines)]))


def build() -> Dialogue:
    """The /refer dialogue: reason, first name, language, contact, then the link."""
    return Dialogue(
        name=NAME,
        entry_points=[
            *menu.started_by("refer", "refer", start_refer),
        ],
        states={
            ASK_REASON: STEPS.step([CallbackQueryHandler(choose_reason, pattern=REASON.pattern)], ASK_REASON),
            ASK_FIRST_NAME: STEPS.step([MessageHandler(TYPED, receive_first_name)], ASK_FIRST_NAME),
            ASK_LANGUAGE: STEPS.step([CallbackQueryHandler(choose_language, pattern=LANGUAGE.pattern)], ASK_LANGUAGE),
            ASK_CONTACT: STEPS.step([CallbackQueryHandler(choose_contact, pattern=CONTACT.pattern)], ASK_CONTACT),
            CONFIRM: STEPS.step([CallbackQueryHandler(create_link, pattern=CREATE.pattern)], CONFIRM),
        },
        draft=ReferDraft,
    )


def build_commands() -> list[BaseHandler[Any, Any, Any]]:
    """/referrals, which works at any time."""
    return [private_command("referrals", show_referrals)]
