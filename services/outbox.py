"""The one way out: every message to someone other than the current chat is an `Outgoing`, queued by `enqueue`.

`enqueue` writes an outbox row in the caller's transaction (so the message exists exactly when the change
that causes it does), applies the reader's writing direction, keeps the dedupe key within its column, and the
commit wakes the sender (`storage.db.Database.after_outbox_commit`): no caller remembers to.

Where a message goes is one of three recipients: a person (their private chat, in their language and
direction), a chat (a group, with an optional thread), or a family's forum topic in the coordinators' group,
which the delivery side resolves when it sends (`bot/topics.py`), creating the topic if needed.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from domain.priority import Priority
from services.i18n import directed, use_language
from storage import outbox_store
from storage.db import Session
from storage.models import Person

# Payload keys the sender resolves or reads after sending; never sent to Telegram.
TOPIC_KEY = "family_topic"  # the family whose forum topic the message goes to
RELAY_KEY = "waakvlam_relay"  # a reply to this message finds its way back to this person / concern
REPORT_KEY = "waakvlam_report"  # on a message to a family: whom to tell when it cannot be delivered
# A file rides along base64-encoded under this key and becomes an InputFile at send time:
# {"field": "photo", "filename": "chart.png", "data": "<base64>"}; a chart rides along as its data
# ({"chart": {...}}, see `chart_upload`) and is drawn at send time, outside any transaction.
UPLOAD_KEY = "waakvlam_upload"

DEDUPE_KEY_LENGTH = 128
Method = Literal["sendMessage", "copyMessage", "sendPhoto", "sendDocument", "editMessageText", "editMessageReplyMarkup"]


@dataclass(frozen=True)
class ToPerson:
    """A person's private chat: written in their language, started in their writing direction."""

    person: Person


@dataclass(frozen=True)
class ToChat:
    """A chat by id (a group, or a private chat whose person is not at hand), optionally one thread of it."""

    chat_id: int
    thread_id: int | None = None


@dataclass(frozen=True)
class ToTopic:
    """A family's forum topic in the coordinators' group (`group_id` as read in the caller's transaction)."""

    group_id: int
    family_id: int


Recipient = ToPerson | ToChat | ToTopic


@dataclass(frozen=True)
class Outgoing:
    """One message: a text, a copy, an upload or an edit, with buttons, a purpose and a priority."""

    text: str = ""
    method: Method = "sendMessage"
    # Rows of (label, callback data): the inline keyboard. `markup` takes any other reply markup as JSON.
    buttons: Sequence[Sequence[tuple[str, str]]] = ()
    markup: Mapping[str, Any] | None = None
    # Method arguments beyond chat, text and markup (a copy's from_chat_id and message_id, an edit's id).
    extra: Mapping[str, Any] = field(default_factory=dict)
    purpose: str = "message"
    priority: Priority | None = None
    not_before: datetime | None = None


def inline_keyboard(rows: Sequence[Sequence[tuple[str, str]]]) -> dict[str, Any]:
    """Telegram's InlineKeyboardMarkup as JSON, from rows of (label, callback data)."""
    return {"inline_keyboard": [[{"text": label, "callback_data": data} for label, data in row] for row in rows]}


def payload_for(recipient: Recipient, message: Outgoing) -> tuple[int, dict[str, Any]]:
    """The chat id and the stored payload of a message to a recipient."""
    if isinstance(recipient, ToPerson):
        assert recipient.person.telegram_id is not None
        chat_id = recipient.person.telegram_id
    else:
        chat_id = recipient.chat_id if isinstance(recipient, ToChat) else recipient.group_id
    payload: dict[str, Any] = {"chat_id": chat_id}
    if message.text:
        language = recipient.person.language if isinstance(recipient, ToPerson) else None
        text_field = "caption" if message.method in ("sendPhoto", "sendDocument") else "text"
        payload[text_field] = directed(message.text, language)
        payload["parse_mode"] = "HTML"
    if message.buttons:
        payload["reply_markup"] = inline_keyboard(message.buttons)
    elif message.markup is not None:
        payload["reply_markup"] = dict(message.markup)
    if isinstance(recipient, ToChat) and recipient.thread_id is not None:
        payload["message_thread_id"] = recipient.thread_id
    if isinstance(recipient, ToTopic):
        payload[TOPIC_KEY] = recipient.family_id
    payload.update(message.extra)
    return chat_id, payload


def enqueue(*, session: Session, to: Recipient, message: Outgoing, key: str, now: datetime) -> bool:
    """Queue one message in the caller's transaction; False when the key was queued before or nobody to reach."""
    if isinstance(to, ToPerson) and to.person.telegram_id is None:
        return False
    chat_id, payload = payload_for(to, message)
    return outbox_store.enqueue(
        session=session,
        dedupe_key=key[:DEDUPE_KEY_LENGTH],
        chat_id=chat_id,
        person_id=to.person.id if isinstance(to, ToPerson) else None,
        payload=payload,
        now=now,
        method=message.method,
        purpose=message.purpose,
        priority=message.priority,
        not_before=message.not_before,
    )


def tell(
    *,
    session: Session,
    person: Person,
    key: str,
    now: datetime,
    text: Callable[[], str | Outgoing],
    purpose: str = "message",
    priority: Priority | None = None,
) -> bool:
    """A message for one person, rendered in their language (`text` is called inside it), queued like `enqueue`.

    `text` returns the text, or a whole `Outgoing` when the message has buttons whose labels need the same
    language.
    """
    if person.telegram_id is None:
        return False
    with use_language(person.language):
        rendered = text()
    message = (
        rendered if isinstance(rendered, Outgoing) else Outgoing(text=rendered, purpose=purpose, priority=priority)
    )
    return enqueue(session=session, to=ToPerson(person), message=message, key=key, now=now)


def tell_each(
    *,
    session: Session,
    people: Iterable[Person],
    key: str,
    now: datetime,
    text: Callable[[], str | Outgoing],
    purpose: str = "message",
) -> None:
    """The same news for each of these people, each in their own language (`key` is made theirs by their id)."""
    for person in people:
        tell(session=session, person=person, key=f"{key}:{person.id}", now=now, text=text, purpose=purpose)


def upload(field_name: str, data: bytes, filename: str) -> dict[str, Any]:
    """The `extra` of a sendPhoto / sendDocument message that uploads `data`."""
    return {UPLOAD_KEY: {"field": field_name, "filename": filename, "data": base64.b64encode(data).decode("ascii")}}


def chart_upload(field_name: str, chart_json: Mapping[str, Any], filename: str) -> dict[str, Any]:
    """The `extra` of a sendPhoto message whose PNG the sender draws from the chart's data when it sends.

    Whoever writes the row (a job in the tick's transaction) stores only data; the sender draws the picture
    in a worker thread, so no transaction is held and no loop waits meanwhile.
    """
    return {UPLOAD_KEY: {"field": field_name, "filename": filename, "chart": dict(chart_json)}}


def relay_meta(to_person_id: int, concern_id: int | None) -> dict[str, Any]:
    """The `extra` that lets a reply to this message find its way back to this person (and concern)."""
    return {RELAY_KEY: {"to": to_person_id, "concern": concern_id}}
