"""The talk dialogue: /talk or "Talk to someone" asks what to pass on (a volunteer first chooses the family)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from telegram import InlineKeyboardMarkup, Update
from telegram.ext import CallbackQueryHandler, MessageHandler

from conversations import menu
from conversations.concerns import forward_to_team, urgent_message
from conversations.context import BotContext
from conversations.coordinator_group import MEDIA
from conversations.dialogue import ANYTHING, END, STAY, Dialogue, Draft, draft_of
from conversations.ui import answer_button, answer_stale, int_arg, keyboard, reply, retire_buttons, tapped_values
from domain.language import detect_language
from domain.urgent import detect_urgent
from services import relay
from services.concerns import ABOUT, ABOUT_NONE, is_coordinator
from services.i18n import _
from services.relay import Forwarded
from services.safety import passed_on_text
from storage.db import Session
from storage.models import Person, Role

TALK = relay.TALK_DIALOGUE
# States of the talk dialogue.
CHOOSE_FAMILY = "choose_family"
WRITE = relay.WRITE_STEP
# A volunteer's messages kept before they chose the family, at most this many.
MAX_HELD = 20


@dataclass
class TalkDraft(Draft):
    """The family a volunteer's concern is about, and the messages (chat, message, language) kept meanwhile."""

    family: int | None = None
    held: list[list[Any]] = field(default_factory=list)


async def prompt_write(update: Update, context: BotContext) -> None:
    """Ask for the message to pass on."""
    await reply(
        update,
        _(
            "What would you like to tell us? Write it here, or send a voice note or a photo. "
            "I will pass it on to a coordinator as it is."
        ),
    )


def family_buttons(session: Session, volunteer: Person) -> InlineKeyboardMarkup | None:
    """The 'which family is it about?' buttons for a volunteer: the families they helped, and 'Something else'."""
    options = relay.volunteer_families(session=session, volunteer=volunteer)
    if not options:
        return None
    rows = [[(name, ABOUT.data(str(family_id)))] for family_id, name in options]
    rows.append([(_("Something else"), ABOUT.data(ABOUT_NONE))])
    return keyboard(rows)


async def start_talk(update: Update, context: BotContext) -> str | None:
    """/talk or the menu button: ask what to pass on (a volunteer first chooses which family)."""
    person = context.person
    if update.callback_query is not None:
        await answer_button(update)
    if person is None or person.consent_at is None:
        await reply(update, _("You are not signed up yet. Send /start to begin."))
        return END
    if is_coordinator(person):
        await reply(update, _("This is for families and volunteers. Use /families to see your families."))
        return END
    if person.role == Role.VOLUNTEER:
        with context.session() as session:
            markup = family_buttons(session, person)
        if markup is not None:
            await reply(update, _("Which family is it about?"), markup)
            return CHOOSE_FAMILY
    await prompt_write(update, context)
    return WRITE


async def hold_message(update: Update, context: BotContext) -> str | None:
    """A volunteer writes before choosing the family: the message is kept and goes on once they choose."""
    message = update.effective_message
    person = context.person
    if message is None or person is None:
        return STAY
    draft = draft_of(context, TalkDraft)
    if len(draft.held) < MAX_HELD:
        draft.held.append([message.chat_id, message.message_id, detect_language(message.text or message.caption)])
    with context.session() as session:
        markup = family_buttons(session, person)
    await reply(
        update,
        _(
            "I have kept your message; it will not get lost. Which family is it about? "
            "Tap a name, or 'Something else'. Then I pass it on."
        ),
        markup,
    )
    return STAY


def held_messages(held: Sequence[Sequence[Any]]) -> list[tuple[int, int, str | None]]:
    """The kept messages as (chat, message, language), in order."""
    return [
        (int(chat_id), int(message_id), written_in if isinstance(written_in, str) else None)
        for chat_id, message_id, written_in in held
    ]


async def choose_family(update: Update, context: BotContext) -> str | None:
    """A volunteer picks the family the concern is about (checked again: only families they helped)."""
    parsed = tapped_values(update, ABOUT)
    person = context.person
    if parsed is None or person is None:
        await answer_button(update, _("That button belongs to an earlier question."))
        return STAY
    family_id = int_arg(parsed[0]) if parsed[0] != ABOUT_NONE else None
    if family_id is not None:
        with context.session() as session:
            allowed = {family for family, _name in relay.volunteer_families(session=session, volunteer=person)}
        if family_id not in allowed:
            await answer_stale(update)
            return STAY
    await answer_button(update)
    await retire_buttons(update)
    draft = draft_of(context, TalkDraft)
    draft.family = family_id
    if not draft.held:
        await prompt_write(update, context)
        return WRITE
    forwarded = forward_to_team(
        context, person, held_messages(draft.held), source="volunteer", now=context.now(), family_id=family_id
    )
    await reply(update, passed_on_text_for(context, person, forwarded))
    return END


def passed_on_text_for(context: BotContext, person: Person, forwarded: Forwarded | None) -> str:
    """The confirmation after passing messages on: that they wait, when no coordinator can receive them yet."""
    new, delivered = (forwarded.new, forwarded.delivered) if forwarded is not None else (False, False)
    with context.session() as session:
        return passed_on_text(context.services, person, context.now(), new=new, waiting=not delivered, session=session)


async def write(update: Update, context: BotContext) -> str | None:
    """The message to pass on, as it is (text, voice note, photo): screened for danger, then copied."""
    message = update.effective_message
    person = context.person
    if message is None or person is None:
        return STAY
    if detect_urgent(message.text or message.caption or "") is not None:
        await urgent_message(update, context)
        return END
    draft = draft_of(context, TalkDraft)
    forwarded = forward_to_team(
        context,
        person,
        [(message.chat_id, message.message_id, detect_language(message.text or message.caption))],
        source="talk",
        now=context.now(),
        family_id=int(draft.family) if draft.family else None,
    )
    await reply(update, passed_on_text_for(context, person, forwarded))
    return END


async def write_unexpected(update: Update, context: BotContext) -> str | None:
    """A button or command while we wait for the message."""
    if update.callback_query is not None:
        await answer_button(update, _("That button belongs to an earlier question."))
    await prompt_write(update, context)
    return STAY


def build() -> Dialogue:
    """The talk dialogue (registered with the dialogue router)."""
    return Dialogue(
        name=TALK,
        entry_points=[
            *menu.started_by("talk", "talk", start_talk),
        ],
        states={
            CHOOSE_FAMILY: [
                CallbackQueryHandler(choose_family, pattern=ABOUT.pattern),
                MessageHandler(ANYTHING & MEDIA, hold_message),
                MessageHandler(ANYTHING, write_unexpected),
            ],
            WRITE: [
                MessageHandler(ANYTHING & MEDIA, write),
                MessageHandler(ANYTHING, write_unexpected),
            ],
        },
        draft=TalkDraft,
    )
