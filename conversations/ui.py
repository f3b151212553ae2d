"""Small building blocks shared by the dialogues: buttons, callback data, replies, notifications."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlmodel import Session
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update

from bot.context import BotContext
from bot.i18n import _, directed, use_language
from storage import delivery
from storage.models import Person

# Callback data is untrusted input: a short prefix, an action and at most a few ids.
_CALLBACK = re.compile(r"^[a-z]{1,6}(:[A-Za-z0-9_-]{1,24}){1,4}$")


def callback(*parts: object) -> str:
    data = ":".join(str(part) for part in parts)
    assert _CALLBACK.match(data) and len(data.encode()) <= 64, data
    return data


def parse_callback(data: str | None, prefix: str) -> list[str] | None:
    """The parts after the prefix, or None when the data is not ours or not well formed."""
    if not data or not _CALLBACK.match(data):
        return None
    parts = data.split(":")
    return parts[1:] if parts[0] == prefix else None


def callback_pattern(prefix: str) -> str:
    return rf"^{prefix}:"


def int_arg(value: str) -> int | None:
    return int(value) if value.isdigit() and len(value) < 12 else None


def keyboard(rows: Sequence[Sequence[tuple[str, str]]]) -> InlineKeyboardMarkup:
    """Rows of (label, callback data)."""
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(label, callback_data=data) for label, data in row] for row in rows]
    )


def column(buttons: Sequence[tuple[str, str]]) -> InlineKeyboardMarkup:
    return keyboard([[button] for button in buttons])


async def reply(update: Update, text: str, markup: InlineKeyboardMarkup | None = None) -> Message | None:
    """Answer in the chat being handled (the one kind of message that need not use the outbox)."""
    chat = update.effective_chat
    if chat is None:
        return None
    return await chat.send_message(directed(text), reply_markup=markup)


async def answer_button(update: Update, text: str | None = None) -> None:
    """Stop the button's spinner; a stale or forged button gets a short explanation."""
    query = update.callback_query
    if query is not None:
        await query.answer(text[:200] if text else None)


async def retire_buttons(update: Update) -> None:
    """Remove the buttons of the message just pressed, so nothing can be pressed twice."""
    query = update.callback_query
    if query is None or query.message is None or not isinstance(query.message, Message):
        return
    if query.message.reply_markup is None:
        return
    try:
        await query.message.edit_reply_markup(reply_markup=None)
    except Exception:  # already edited by a double tap; nothing to do
        return


def markup_json(markup: InlineKeyboardMarkup | None) -> dict[str, Any] | None:
    if markup is None:
        return None
    return json.loads(json.dumps(markup.to_dict()))


def notify(
    *,
    session: Session,
    person: Person,
    key: str,
    text: str,
    now: datetime,
    markup: InlineKeyboardMarkup | None = None,
    purpose: str = "message",
    not_before: datetime | None = None,
) -> bool:
    """Queue a message for someone other than the current chat, in the caller's transaction."""
    if person.telegram_id is None:
        return False
    payload: dict[str, Any] = {
        "chat_id": person.telegram_id,
        "text": directed(text, person.language),
        "parse_mode": "HTML",
    }
    if markup is not None:
        payload["reply_markup"] = markup_json(markup)
    return delivery.enqueue(
        session=session,
        dedupe_key=key,
        chat_id=person.telegram_id,
        person_id=person.id,
        payload=payload,
        now=now,
        purpose=purpose,
        not_before=not_before,
    )


def notify_chat(
    *,
    session: Session,
    chat_id: int,
    key: str,
    text: str,
    now: datetime,
    markup: InlineKeyboardMarkup | None = None,
    thread_id: int | None = None,
    purpose: str = "message",
) -> bool:
    payload: dict[str, Any] = {"chat_id": chat_id, "text": text, "parse_mode": "HTML"}
    if thread_id is not None:
        payload["message_thread_id"] = thread_id
    if markup is not None:
        payload["reply_markup"] = markup_json(markup)
    return delivery.enqueue(session=session, dedupe_key=key, chat_id=chat_id, payload=payload, now=now, purpose=purpose)


def in_language_of(person: Person) -> Any:
    """Write for another person: `with in_language_of(coordinator): text = _(...)`."""
    return use_language(person.language)


def signal_outbox(context: BotContext) -> None:
    context.services.outbox_signal.set()


def name_refused_text(max_length: int) -> str:
    """The kind answer to a name that is empty, invisible (only spaces or invisible characters) or too long."""
    return _("Please send a name that others can read: letters or numbers, at most {count} characters.").format(
        count=max_length
    )
