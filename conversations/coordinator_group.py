"""Coordinators at work: take and close a concern, list the open ones, and write to families.

Coordinators work from the coordinators' group: one forum topic per family (made by the sender when
first needed, bot/topics.py) holds the family's timeline. Whatever a coordinator writes in the topic goes
to the family; the family's answers come back into it. Without a forum the same works by replying to the
bot's messages, in the group or in a private chat. Every button re-checks rights (`conversations.rights`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, MessageHandler, filters

from conversations import menu
from conversations.context import BotContext
from conversations.dialogue import END, STAY, Dialogue, Draft, draft_of, private_command, typed_words
from conversations.ui import (
    answer_button,
    answer_stale,
    keyboard,
    reply,
    reply_to_message,
    retire_buttons,
    stale_text,
    tapped_values,
)
from services import claims, relay
from services.callbacks import Button
from services.claims import Gate, Outcome
from services.concerns import CLOSE, NO_NOTE, SHOW, TAKE, OpenConcern, is_coordinator, name_of, open_concerns_for
from services.groups import follow_migration
from services.i18n import N_, _, format_when, h, hi, isolate
from services.logs import event
from services.permissions import Action, refusal_text
from services.safety import not_reached_text, urgent_needs_note_text
from storage.db import Session
from storage.models import Concern, Person, Role

logger = logging.getLogger(__name__)

MEDIA = (
    filters.TEXT
    | filters.VOICE
    | filters.PHOTO
    | filters.VIDEO
    | filters.VIDEO_NOTE
    | filters.AUDIO
    | filters.Document.ALL
    | filters.LOCATION
)


@dataclass
class CloseNoteDraft(Draft):
    """The concern whose closing note the coordinator is writing."""

    concern: int | None = None


# What a concern button does, once the concern is open and the coordinator may: returns the answer to the tap.
Act = Callable[[Session, BotContext, Update, Concern, Person], str]


async def _concern_tap(update: Update, context: BotContext, button: Button, action: Action, act: Act) -> str | None:
    """The shared checks of the concern buttons; runs `act` and answers the tap. Returns the answer.

    Seeing and taking (`CLAIM_CONCERN`), closing (`CLOSE_CONCERN`): only coordinators alerted about the
    concern, the family's duo, or an admin (`services.claims.concern_at_hand` asks `services.permissions`)."""
    parsed = tapped_values(update, button)
    coordinator = context.person
    if parsed is None or coordinator is None or not is_coordinator(coordinator):
        await answer_stale(update)
        return None
    with context.session() as session:
        found = claims.concern_at_hand(
            session=session, coordinator=coordinator, concern_id=int(parsed[0]), action=action, now=context.now()
        )
        if found.gate == Gate.GONE:
            answer = stale_text()
        elif found.gate == Gate.CLOSED:
            answer = _("This concern is already closed.")
        elif found.decision is not None and not found.decision:
            answer = refusal_text(found.decision)
        else:
            assert found.concern is not None
            answer = act(session, context, update, found.concern, coordinator)
    await answer_button(update, answer)
    return answer


def _take(session: Session, context: BotContext, update: Update, concern: Concern, coordinator: Person) -> str:
    """'I'll take this'."""
    result = claims.take_concern(
        session=session, services=context.services, concern=concern, coordinator=coordinator, now=context.now()
    )
    if result.outcome == claims.TakeOutcome.TAKEN:
        return _("You have taken this. The others can see it.")
    if result.outcome == claims.TakeOutcome.ALREADY_YOURS:
        return _("You have already taken this.")
    return _("{name} has already taken this.").format(name=isolate(name_of(result.claimer)))


def _close(session: Session, context: BotContext, update: Update, concern: Concern, coordinator: Person) -> str:
    """'Close': the note is asked for in the coordinator's private chat."""
    claims.ask_close_note(session=session, concern=concern, coordinator=coordinator, now=context.now())
    chat = update.effective_chat
    if chat is not None and chat.type == "private":
        return _("Please write a short note.")
    return _("I have sent you a private message to write a short note.")


def _show(session: Session, context: BotContext, update: Update, concern: Concern, coordinator: Person) -> str:
    """A concern from the list: its card and messages again."""
    claims.show_concern(
        session=session,
        services=context.services,
        concern=concern,
        coordinator=coordinator,
        now=context.now(),
        round_key=f":s{update.update_id}",
    )
    return _("Here it is, with its messages.")


def _no_note(session: Session, context: BotContext, update: Update, concern: Concern, coordinator: Person) -> str:
    """'No note': close without one (never an urgent concern)."""
    result = claims.close_without_a_note(
        session=session, services=context.services, concern=concern, coordinator=coordinator, now=context.now()
    )
    if result.outcome == Outcome.NOTE_NEEDED:
        return urgent_needs_note_text()
    return _("Closed.") if result.outcome == Outcome.DONE else _("This concern is already closed.")


async def take_button(update: Update, context: BotContext) -> None:
    """'I'll take this' on an alert, in a private chat or in the coordinators' group."""
    await _concern_tap(update, context, TAKE, Action.CLAIM_CONCERN, _take)


async def close_button(update: Update, context: BotContext) -> None:
    """'Close' on an alert: asks for a closing note."""
    await _concern_tap(update, context, CLOSE, Action.CLOSE_CONCERN, _close)


async def show_button(update: Update, context: BotContext) -> None:
    """A concern in /concerns: its card and messages."""
    await _concern_tap(update, context, SHOW, Action.CLAIM_CONCERN, _show)


async def no_note_button(update: Update, context: BotContext) -> None:
    """'No note' under the closing question."""
    answer = await _concern_tap(update, context, NO_NOTE, Action.CLOSE_CONCERN, _no_note)
    if answer == _("Closed."):
        await retire_buttons(update)
        await reply(update, _("✅ Closed. Thank you."))


def _concern_line(context: BotContext, coordinator: Person, item: OpenConcern) -> str:
    """One open concern in /concerns: what, since when, taken or not."""
    concern = item.concern
    state = (
        _("taken by {name}").format(name=hi(name_of(item.claimer)))
        if item.claimer is not None
        else _("waiting for a coordinator who can receive it")
        if concern.waiting_since is not None
        else _("not taken yet")
    )
    return _("{label} · since {when} · {state}").format(
        label=h(item.label),
        when=h(format_when(concern.created_at, context.services.settings.timezone, coordinator.language)),
        state=state,
    )


async def list_concerns(update: Update, context: BotContext) -> None:
    """/concerns (or the menu): every open concern, the waiting ones marked, each one tap from its card."""
    if update.callback_query is not None:
        await answer_button(update)
    coordinator = context.person
    if coordinator is None or not is_coordinator(coordinator):
        await reply(update, _("This is for coordinators."))
        return
    with context.session() as session:
        # Only the concerns this coordinator may take: another duo's families stay out of the list.
        found = open_concerns_for(session=session, coordinator=coordinator, limit=30)
    lines = [_("<b>Open concerns</b>")]
    lines += [_concern_line(context, coordinator, item) for item in found]
    rows = [[(item.label[:60], SHOW.data(item.concern.id or 0))] for item in found]
    if not found:
        await reply(update, _("There are no open concerns."))
        return
    lines.append(_("Tap one to see it with its messages, and take, answer or close it."))
    await reply(update, "\n".join(lines), keyboard(rows))


# --- the closing note -----------------------------------------------------------------------------


async def close_note(update: Update, context: BotContext) -> str | None:
    """The coordinator's closing note."""
    message = update.effective_message
    coordinator = context.person
    if message is None or coordinator is None or not is_coordinator(coordinator):
        return END
    note = " ".join((message.text or "").split())[:500]
    concern_id = draft_of(context, CloseNoteDraft).concern or 0
    with context.session() as session:
        result = claims.close_with_note(
            session=session,
            services=context.services,
            coordinator=coordinator,
            concern_id=int(concern_id),
            note=note,
            now=context.now(),
        )
    if result.outcome == Outcome.NOTE_NEEDED:
        await reply(
            update, urgent_needs_note_text() if result.urgent else _("Please write a short note, or tap 'No note'.")
        )
        return STAY
    if result.outcome == Outcome.REFUSED and result.decision is not None:
        await reply(update, refusal_text(result.decision))
        return END
    await reply(
        update, _("✅ Closed. Thank you.") if result.outcome == Outcome.DONE else _("This concern is already closed.")
    )
    return END


async def close_note_unexpected(update: Update, context: BotContext) -> str | None:
    """Anything but text while a closing note is expected."""
    await reply(update, _("Please write a short note, or tap 'No note'. Send /cancel to keep it open."))
    return STAY


# --- writing to families --------------------------------------------------------------------------


async def coordinator_reply(update: Update, context: BotContext) -> bool:
    """A coordinator replies to a relayed message (private chat or group): it goes to that family."""
    message = update.effective_message
    coordinator = context.person
    if message is None or coordinator is None or not is_coordinator(coordinator) or message.reply_to_message is None:
        return False
    with context.session() as session:
        written = relay.reply_to_relayed(
            session=session,
            services=context.services,
            coordinator=coordinator,
            chat_id=message.chat_id,
            replied_to_id=message.reply_to_message.message_id,
            message_id=message.message_id,
            now=context.now(),
        )
    if written is None:
        return False
    if not written.decision:
        await reply_to_message(update, refusal_text(written.decision))
    elif written.sent:
        # Only queued: if Telegram refuses it, "✗ Not delivered" follows (report_undelivered).
        await reply_to_message(update, _("✓ On its way to {name}.").format(name=hi(written.name)))
    else:
        await reply_to_message(update, not_reached_text(written.name))
    return True


def topic_family(context: BotContext, update: Update) -> int | None:
    """The family whose topic this update came from, if any."""
    message = update.effective_message
    if message is None or not message.is_topic_message:
        return None
    with context.session() as session:
        return relay.topic_family(session=session, chat_id=message.chat_id, thread_id=message.message_thread_id)


async def group_message(update: Update, context: BotContext) -> None:
    """A coordinator writes in a family's topic, or replies to a relayed message: it goes to the family."""
    message = update.effective_message
    coordinator = context.person
    if message is None or coordinator is None or not is_coordinator(coordinator):
        return
    thread_id = message.message_thread_id if message.is_topic_message else None
    with context.session() as session:
        written = relay.write_in_topic(
            session=session,
            services=context.services,
            coordinator=coordinator,
            chat_id=message.chat_id,
            message_id=message.message_id,
            thread_id=thread_id,
            now=context.now(),
        )
    if written is False:
        await coordinator_reply(update, context)
        return
    if written is None:
        return
    if not written.decision:
        await message.reply_text(refusal_text(written.decision))
    elif not written.sent:
        await message.reply_text(not_reached_text(written.name))


async def group_migrated(update: Update, context: BotContext) -> None:
    """The coordinators' group became a supergroup: follow it to its new id."""
    message = update.effective_message
    if message is None or message.migrate_to_chat_id is None:
        return
    old, new = message.chat_id, int(message.migrate_to_chat_id)
    with context.session() as session:
        follow_migration(
            session=session, settings=context.services.settings, old_chat_id=old, new_chat_id=new, now=context.now()
        )
    event(logger, "group.migrated", old=old, new=new)


# --- /close and /take in a family's topic ---------------------------------------------------------


async def in_family_topic(update: Update, context: BotContext, elsewhere: str) -> tuple[Person, int] | None:
    """The coordinator and family of a topic command; None elsewhere (`elsewhere` said), silent to others."""
    coordinator = context.person
    if coordinator is None or not is_coordinator(coordinator):
        return None
    family_id = topic_family(context, update)
    if family_id is None:
        await reply_to_message(update, elsewhere)
        return None
    return coordinator, family_id


async def close_command(update: Update, context: BotContext) -> None:
    """/close <note> in a family's topic: close the family's open concern with that note."""
    found = await in_family_topic(update, context, _("Use /close in a family's topic."))
    if found is None:
        return
    coordinator, family_id = found
    note = " ".join(context.args or [])[:500] or None
    with context.session() as session:
        result = claims.close_family_concern(
            session=session,
            services=context.services,
            coordinator=coordinator,
            family_id=family_id,
            note=note,
            now=context.now(),
        )
    if result.outcome == Outcome.REFUSED and result.decision is not None:
        await reply_to_message(update, refusal_text(result.decision))
    elif result.outcome == Outcome.NOTE_NEEDED:
        await reply_to_message(
            update, urgent_needs_note_text() + "\n" + _("For example: /close Called her, she is safe.")
        )
    elif result.outcome != Outcome.DONE:
        await reply_to_message(update, _("There is no open concern for this family."))


async def take_command(update: Update, context: BotContext) -> None:
    """/take in a family's topic: "I'll take this" for the family's open concern."""
    found = await in_family_topic(update, context, _("Use /take in a family's topic."))
    if found is None:
        return
    coordinator, family_id = found
    with context.session() as session:
        result = claims.take_family_concern(
            session=session, services=context.services, coordinator=coordinator, family_id=family_id, now=context.now()
        )
    if result.outcome == Outcome.REFUSED and result.decision is not None:
        await reply_to_message(update, refusal_text(result.decision))
    elif result.outcome != Outcome.DONE:
        await reply_to_message(update, _("There is no open concern for this family that is not taken yet."))


# --- registration ---------------------------------------------------------------------------------


def build_close_note() -> Dialogue:
    """The closing-note dialogue (a coordinator's private chat; started by `services.claims.ask_close_note`)."""
    return Dialogue(
        name=claims.CLOSE_NOTE_DIALOGUE,
        entry_points=[],
        states={
            claims.NOTE_STEP: typed_words(close_note, close_note_unexpected),
        },
        draft=CloseNoteDraft,
    )


def build_first() -> list[BaseHandler[Any, Any, Any]]:
    """Before the dialogues: the group relay, the topic commands and the concern buttons."""
    group = filters.ChatType.GROUPS
    return [
        MessageHandler(group & filters.StatusUpdate.MIGRATE, group_migrated),
        CommandHandler("close", close_command, filters=filters.UpdateType.MESSAGE & group),
        CommandHandler("take", take_command, filters=filters.UpdateType.MESSAGE & group),
        MessageHandler(filters.UpdateType.MESSAGE & group & ~filters.COMMAND & MEDIA, group_message),
        CallbackQueryHandler(take_button, pattern=TAKE.pattern),
        CallbackQueryHandler(close_button, pattern=CLOSE.pattern),
        CallbackQueryHandler(no_note_button, pattern=NO_NOTE.pattern),
        CallbackQueryHandler(show_button, pattern=SHOW.pattern),
        private_command("concerns", list_concerns),
    ]


def register_menu() -> None:
    """The menu entries of concerns: talking to someone, and the open concerns."""
    menu.add("talk", N_("Talk to someone"), {str(Role.FAMILY), str(Role.VOLUNTEER)})
    menu.add("concerns", N_("Open concerns"), {str(Role.COORDINATOR)}, list_concerns)
