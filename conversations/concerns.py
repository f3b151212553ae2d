"""The family's side of a concern: free messages passed on, the "pass it on?" question, and the urgent-word screen.

A family taps "Talk to someone" (conversations.talk), or sends a message outside a dialogue: while a
concern is open or a coordinator wrote recently it goes straight on, otherwise it is offered for forwarding,
so nothing a family writes is silently ignored. Text, voice notes and photos are copied to the coordinators
as they are (copyMessage: contents are never stored, only message ids). Urgent words (`domain.urgent`) get
the safety numbers at once and an alert to every coordinator. The rules live in services/ (escalation,
relay, urgent); coordinators' handlers are in conversations.coordinator_group.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from babel import Locale
from telegram import Message, Update
from telegram.ext import Application, BaseHandler, CallbackQueryHandler, MessageHandler, filters

from conversations.context import HANDLING, BotContext, services_of
from conversations.coordinator_group import build_first as coordinator_handlers
from conversations.coordinator_group import coordinator_reply
from conversations.dialogue import ANYTHING
from conversations.ui import answer_button, answer_stale, callback, keyboard, reply, retire_buttons, tapped_values
from domain.language import detect_language, worth_offering
from domain.urgent import detect_urgent
from services import relay
from services.callbacks import Button
from services.concerns import (
    is_coordinator,
)
from services.i18n import LANGUAGE_NAMES, _, hi, shipped_languages, use_language
from services.identity import is_coordinator_user
from services.logs import event
from services.safety import (
    bot_cannot_help_text,
    passed_on_text,
    safety_numbers_text,
    slowed_text,
)
from services.urgent import record_urgent
from storage.models import Person, Role

logger = logging.getLogger(__name__)

# "Shall I pass this on?": cf:yes:<message id>:<language or ->, cf:no.
FORWARD_YES = Button("cf", "yes", int, str)
FORWARD_NO = Button("cf", "no")
NO_LANGUAGE = "-"
# A detected language is only ever a label; this is what a label may be (ISO 639 codes Babel knows).
KNOWN_LANGUAGE_CODES = frozenset(
    code for code in map(str, Locale("en").languages) if code.isalpha() and len(code) in (2, 3)
)


async def outside_message(update: Update, context: BotContext) -> bool:
    """A message outside any dialogue from someone signed up (called by the fallback). True if handled.

    A coordinator's reply to a relayed message goes to its family. A family's or volunteer's message goes
    straight on while a concern is open or a coordinator wrote recently; otherwise it is offered for
    forwarding, so nothing a family writes is silently ignored.
    """
    person = context.person
    message = update.effective_message
    if person is None or person.consent_at is None or message is None or person.id is None:
        return False
    if is_coordinator(person):
        return await coordinator_reply(update, context)
    if person.role not in (Role.FAMILY, Role.VOLUNTEER):
        return False
    written_in = detect_language(message.text or message.caption)
    now = context.now()
    with context.session() as session:
        relayed = relay.relay_free_message(
            session=session,
            services=context.services,
            person=person,
            from_chat_id=message.chat_id,
            message_id=message.message_id,
            written_in=written_in,
            now=now,
        )
    if relayed is not None:
        # Five lines in a row need one "passed on"; the first one held back gets the one notice instead.
        # While nobody can receive the concern, each message is confirmed as kept: the truth, every time.
        if relayed.decision.notice:
            await reply(update, slowed_text())
        elif relayed.decision.ack or relayed.waiting:
            with context.session() as session:
                text = passed_on_text(
                    context.services, person, now, new=False, waiting=relayed.waiting, session=session
                )
            await reply(update, text)
        await offer_language_switch(update, context, written_in)
        return True
    await message.reply_text(
        _("Shall I pass this on to your coordinator? A person will read it.")
        if person.role == Role.FAMILY
        else _("Shall I pass this on to the coordinators? A person will read it."),
        reply_markup=keyboard(
            [
                [(_("Yes, pass it on"), FORWARD_YES.data(message.message_id, written_in or NO_LANGUAGE))],
                [(_("No, thanks"), FORWARD_NO.data())],
            ]
        ),
    )
    await offer_language_switch(update, context, written_in)
    return True


async def offer_language_switch(update: Update, context: BotContext, written_in: str | None) -> None:
    """Free text in another shipped language than the chosen one: offer, in that language, to switch.

    Only an offer: the person's own choice stays until they tap it.
    """
    person = context.person
    if person is None or person.id is None:
        return
    found = worth_offering(written_in, person.language, shipped_languages())
    if found is None:
        return
    with context.session() as session:
        if not relay.language_offer_due(session=session, person_id=person.id, now=context.now()):
            return
    current = person.language
    with use_language(found):
        question = _("It looks like you wrote in {language}. Shall I write to you in {language} from now on?").format(
            language=hi(LANGUAGE_NAMES.get(found, found))
        )
        yes = _("Yes, in {language}").format(language=LANGUAGE_NAMES.get(found, found))
    with use_language(current):
        no = _("No, keep {language}").format(language=LANGUAGE_NAMES.get(current, current))
    event(logger, "language.offered", person_id=person.id, language=found)
    await reply(update, question, keyboard([[(yes, callback("lang", found))], [(no, callback("lang", current))]]))


def _forward_parts(data: str | None) -> tuple[int, str | None] | None:
    """The message id and language label of a "Yes, pass it on" (also one sent before labels were optional)."""
    parsed = FORWARD_YES.parse(data) or (FORWARD_YES.parse(f"{data}:{NO_LANGUAGE}") if data else None)
    if parsed is None:
        return None
    message_id, label = parsed
    # Only a label for the coordinators, but still untrusted: a known language code or nothing.
    return message_id, label if label in KNOWN_LANGUAGE_CODES else None


def _may_forward(update: Update, context: BotContext) -> bool:
    """A signed-up person in their own private chat."""
    person = context.person
    chat = update.effective_chat
    return person is not None and person.consent_at is not None and chat is not None and chat.type == "private"


async def forward_yes(update: Update, context: BotContext) -> None:
    """'Pass it on?' Yes copies that message (from this chat only) to the coordinators."""
    parts = _forward_parts(update.callback_query.data if update.callback_query else None)
    person = context.person
    chat = update.effective_chat
    if parts is None or not _may_forward(update, context) or person is None or chat is None:
        await answer_stale(update)
        return
    await answer_button(update)
    await retire_buttons(update)
    if person.role not in (Role.FAMILY, Role.VOLUNTEER):
        await forward_declined(update)
        return
    message_id, written_in = parts
    now = context.now()
    forwarded = forward_to_team(context, person, [(chat.id, message_id, written_in)], source="message", now=now)
    assert forwarded is not None
    with context.session() as session:
        text = passed_on_text(
            context.services, person, now, new=forwarded.new, waiting=not forwarded.delivered, session=session
        )
    await reply(update, text)


def forward_to_team(
    context: BotContext,
    person: Person,
    messages: Sequence[tuple[int, int, str | None]],
    *,
    source: str,
    now: datetime,
    family_id: int | None = None,
) -> relay.Forwarded | None:
    """Copy a person's messages (chat, message, language) to their coordinators, in a concern of their own."""
    with context.session() as session:
        return relay.forward(
            session=session,
            services=context.services,
            person_id=person.id or 0,
            messages=messages,
            source=source,
            now=now,
            family_id=family_id,
        )


async def forward_declined(update: Update) -> None:
    """Nothing passed on."""
    await reply(update, _("Alright, I have not passed it on. You can reach a person any time with /talk."))


async def forward_no(update: Update, context: BotContext) -> None:
    """'Pass it on?' No does nothing."""
    if tapped_values(update, FORWARD_NO) is None or not _may_forward(update, context):
        await answer_stale(update)
        return
    await answer_button(update)
    await retire_buttons(update)
    await forward_declined(update)


# --- urgent words ---------------------------------------------------------------------------------


class _UrgentFilter(filters.MessageFilter):
    """Text or a caption that suggests danger (pure check, no I/O)."""

    def filter(self, message: Message) -> bool:
        """Whether the message's text or caption suggests danger."""
        text = message.text or message.caption
        return bool(text) and detect_urgent(text or "") is not None


URGENT = _UrgentFilter(name="urgent")


class UrgentScreen(MessageHandler[BotContext, None]):
    """Screens every private message from families, volunteers and newcomers, also inside a dialogue.

    Registered before the dialogues, so a danger sign is answered even in the middle of a help request.
    Coordinators are not screened (their words are professional and a closing note may mention the
    police); like the dialogue router, it reads who is writing from the database.
    """

    def __init__(self) -> None:
        """The screen's filter (private messages, not commands, with an urgent word) and its handler."""
        super().__init__(ANYTHING & URGENT, urgent_message)
        self._application: Application[Any, Any, Any, Any, Any, Any] | None = None

    def bind(self, application: Application[Any, Any, Any, Any, Any, Any]) -> None:
        """Give the screen the application, to read who is writing."""
        self._application = application

    def check_update(self, update: object) -> Any:
        """A danger sign from anyone but a coordinator."""
        result = super().check_update(update)
        if not result or self._application is None or not isinstance(update, Update):
            return result
        user = update.effective_user
        if user is None:
            return result
        handling = HANDLING.get()
        if handling is not None and handling.person_loaded:
            coordinator = is_coordinator(handling.person)  # loaded once for this update (bot.app.load_person)
        else:
            with services_of(self._application).db.session() as session:
                coordinator = is_coordinator_user(session=session, telegram_id=user.id)
        return None if coordinator else result


async def urgent_message(update: Update, context: BotContext) -> None:
    """Danger in a message: the safety numbers at once, and every coordinator alerted.

    The concern, the coordinators' alerts and the safety answer are committed together first; then the
    answer is sent at once through the outbox (so if Telegram fails, the sender retries it).
    """
    person = context.person
    message = update.effective_message
    chat = update.effective_chat
    if message is None or chat is None:
        return
    if is_coordinator(person):  # pragma: no cover - UrgentScreen lets coordinators' messages pass
        return
    match = detect_urgent(message.text or message.caption or "")
    categories = sorted(match.categories) if match else []
    category = str(match.category) if match else None
    services = context.services
    if person is None or person.id is None:  # pragma: no cover - load_person makes one in private chats
        await reply(update, bot_cannot_help_text() + "\n\n" + safety_numbers_text(categories))
        return
    with context.session() as session:
        key = record_urgent(
            session=session,
            services=services,
            sender_id=person.id,
            chat_id=chat.id,
            message_id=message.message_id,
            categories=categories,
            category=category,
            written_in=detect_language(message.text or message.caption),
            now=context.now(),
        )
    event(logger, "urgent.detected", person_id=person.id, category=category)
    if services.deliver_now is not None:
        await services.deliver_now(key)


# --- for modules that still reach these through conversations.concerns (moved to services/) ------


def build_first(application: Application[Any, Any, Any, Any, Any, Any]) -> list[BaseHandler[Any, Any, Any]]:
    """Before the dialogues: the group relay, buttons that work at any time, and the urgent-word screen."""
    screen = UrgentScreen()
    screen.bind(application)
    return [
        *coordinator_handlers(),
        CallbackQueryHandler(forward_yes, pattern=FORWARD_YES.pattern),
        CallbackQueryHandler(forward_no, pattern=FORWARD_NO.pattern),
        screen,
    ]
