"""Small building blocks shared by the dialogues: buttons, callback data, replies, notifications."""

from __future__ import annotations

import asyncio
import json
import logging
import re
import warnings
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta
from typing import Any, TypeVar

from telegram import (
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    Update,
)
from telegram.error import BadRequest, NetworkError, RetryAfter
from telegram.warnings import PTBDeprecationWarning

from conversations.context import HANDLING, BotContext, Handling
from services import outbox
from services.callbacks import Button
from services.faults import crash_point
from services.i18n import LANGUAGE_NAMES, _, directed, hi
from services.language import CHOOSE
from services.logs import event
from services.outbox import Outgoing, ToChat
from storage.db import Session

logger = logging.getLogger(__name__)

# What a reply may carry: inline buttons, or the reply keyboard (set or removed).
Markup = InlineKeyboardMarkup | ReplyKeyboardMarkup | ReplyKeyboardRemove

# Callback data is untrusted input: a short prefix, an action and at most a few ids.
_CALLBACK = re.compile(r"^[a-z]{1,6}(:[A-Za-z0-9_-]{1,24}){1,4}$")


def callback(*parts: object) -> str:
    """Callback data from parts (checked against the shape every button's data has)."""
    data = ":".join(str(part) for part in parts)
    assert _CALLBACK.match(data) and len(data.encode()) <= 64, data
    return data


def parse_callback(data: str | None, prefix: str) -> list[str] | None:
    """The parts after the prefix, or None when the data is not ours or not well formed."""
    if not data or not _CALLBACK.match(data):
        return None
    parts = data.split(":")
    return parts[1:] if parts[0] == prefix else None


def int_arg(value: str) -> int | None:
    """A small non-negative whole number from callback data, else None."""
    return int(value) if value.isdigit() and len(value) < 12 else None


PAGE_SIZE = 20  # one page of a long list of people, above its '◀ Back' / 'More ▶' row
T = TypeVar("T")


def page_of(items: Sequence[T], page: int, size: int = PAGE_SIZE) -> tuple[list[T], int, bool]:
    """One page of a list (a page past the end shows the last), its number, and whether more follow."""
    last = max(0, (len(items) - 1) // size)
    page = min(max(page, 0), last)
    return list(items[page * size : (page + 1) * size]), page, page < last


def pager_row(page: int, more: bool, turn_to: Callable[[int], str]) -> list[tuple[str, str]]:
    """The '◀ Back' / 'More ▶' row under a paged list (empty on a single page); `turn_to` makes the data."""
    row = [(_("◀ Back"), turn_to(page - 1))] if page > 0 else []
    return row + ([(_("More ▶"), turn_to(page + 1))] if more else [])


def keyboard(rows: Sequence[Sequence[tuple[str, str]]]) -> InlineKeyboardMarkup:
    """Rows of (label, callback data)."""
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(label, callback_data=data) for label, data in row] for row in rows]
    )


def column(buttons: Sequence[tuple[str, str]]) -> InlineKeyboardMarkup:
    """Buttons one under the other."""
    return keyboard([[button] for button in buttons])


def language_keyboard() -> InlineKeyboardMarkup:
    """Every shipped language, each in its own name, one a row."""
    return column([(LANGUAGE_NAMES.get(code, code), button.data()) for code, button in CHOOSE.items()])


def retry_after_seconds(error: RetryAfter) -> float:
    """Telegram's wait in seconds, whether PTB gives it as an int (today) or a timedelta (announced)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value: Any = error.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def retriable(error: BaseException) -> bool:
    """Telegram may take the call later: a 429, a 5xx, a timeout or a dropped connection (not a 400)."""
    return isinstance(error, RetryAfter) or (isinstance(error, NetworkError) and not isinstance(error, BadRequest))


def queue_reply(
    handling: Handling,
    *,
    chat_id: int,
    text: str,
    markup: Markup | None = None,
    wait: timedelta = timedelta(0),
    **extra: Any,
) -> None:
    """Give a reply to the outbox, which retries it; keyed by update and order, so a re-run adds nothing."""
    handling.queued = True
    services = handling.services
    now = services.clock.now()
    message = Outgoing(text=text, markup=markup_json(markup), extra=extra, purpose="reply", not_before=now + wait)
    key = f"reply:{handling.update_id}:{handling.replies}"
    with services.db.session() as session:
        outbox.enqueue(session=session, to=ToChat(chat_id), message=message, key=key, now=now)


async def _reliably(
    send: Callable[[], Awaitable[Message]],
    *,
    chat_id: int,
    text: str,
    markup: Markup | None,
    **extra: Any,
) -> Message | None:
    """Send a reply; when Telegram cannot take it now, queue it so it is not lost."""
    handling = HANDLING.get()
    if handling is None:
        return await send()
    handling.replies += 1
    if not handling.queued:
        try:
            message = await send()
        except Exception as error:
            if not retriable(error):
                raise
            seconds = retry_after_seconds(error) if isinstance(error, RetryAfter) else 1.0
            event(logger, "reply.queued", logging.WARNING, update_id=handling.update_id, error=type(error).__name__)
            queue_reply(handling, chat_id=chat_id, text=text, markup=markup, wait=timedelta(seconds=seconds), **extra)
            return None
        crash_point("after_reply")
        return message
    queue_reply(handling, chat_id=chat_id, text=text, markup=markup, **extra)
    return None


async def reply(update: Update, text: str, markup: Markup | None = None) -> Message | None:
    """Answer in the chat being handled (the one kind of message that need not use the outbox).

    Handlers change state first, then reply. So a reply that Telegram cannot take now (429, 5xx, network)
    must not undo or hide what was done: it goes to the outbox and is delivered later, and the handler
    carries on. Returns the message, or None when it was queued.
    """
    chat = update.effective_chat
    if chat is None:
        return None
    # A text longer than Telegram takes (the privacy notice in some languages) goes as several messages, cut
    # between paragraphs so no HTML tag is split; the buttons come with the last part.
    *first, last = split_text(directed(text))
    for part in first:
        await _reliably(lambda part=part: chat.send_message(part), chat_id=chat.id, text=part, markup=None)  # type: ignore[misc]
    return await _reliably(
        lambda: chat.send_message(last, reply_markup=markup), chat_id=chat.id, text=last, markup=markup
    )


def split_text(text: str, limit: int = 4000) -> list[str]:
    """The text in parts of at most `limit` characters, cut at paragraph (else line) breaks; one part if it fits.

    The limit stays under Telegram's 4096 so the marks `directed` adds and entity counting never tip it over.
    """
    if len(text) <= limit:
        return [text]
    parts: list[str] = []
    current = ""
    for piece in text.split("\n\n"):
        candidate = f"{current}\n\n{piece}" if current else piece
        if len(candidate) <= limit:
            current = candidate
            continue
        if current:
            parts.append(current)
        while len(piece) > limit:  # one paragraph longer than a message: cut at its last line break
            cut = piece.rfind("\n", 0, limit)
            cut = cut if cut > 0 else limit
            parts.append(piece[:cut])
            piece = piece[cut:].lstrip("\n")
        current = piece
    if current:
        parts.append(current)
    return parts


async def reply_to_message(update: Update, text: str) -> Message | None:
    """Answer the message being handled as a reply to it (in its forum topic), as reliably as `reply`."""
    message = update.effective_message
    if message is None:
        return None
    extra: dict[str, Any] = {
        "reply_parameters": {"message_id": message.message_id, "allow_sending_without_reply": True}
    }
    if message.is_topic_message and message.message_thread_id is not None:
        extra["message_thread_id"] = message.message_thread_id
    return await _reliably(lambda: message.reply_text(text), chat_id=message.chat_id, text=text, markup=None, **extra)


async def answer_button(update: Update, text: str | None = None) -> None:
    """Stop the button's spinner (a stale or forged button gets a short explanation) beside the handler's work.

    Nothing waits for Telegram's answer to this call, so while an update is handled it runs alongside the
    rest (the edit, the reply): over a real network that is one round trip less per tap."""
    query = update.callback_query
    if query is None:
        return
    answering = _answer(query, text)
    handling = HANDLING.get()
    if handling is None:
        await answering
    else:
        handling.alongside.append(asyncio.ensure_future(answering))


async def _answer(query: CallbackQuery, text: str | None) -> None:
    """Answer the button; a failure loses only the spinner and a short hint, never what the button does."""
    try:
        await query.answer(text[:200] if text else None)
    except Exception as error:
        event(logger, "button.answer_failed", logging.WARNING, error=type(error).__name__)


# The marks of a multiple choice's options (toggles); its Done button's callback data ends in ":done".
CHECKED = "✅ "
UNCHECKED = "▫️ "
# Telegram's limit for a message's text.
TEXT_LIMIT = 4096


def stale_text() -> str:
    """What a button that no longer works says: an old message, a second press, or forged data."""
    return _("That button no longer works. Send /menu for the current options.")


def tapped_values(update: Update, button: Button) -> tuple[Any, ...] | None:
    """The typed fields of the tapped button when it is this `button`'s data, else None (stale or forged)."""
    query = update.callback_query
    return button.parse(query.data if query is not None else None)


def tapped(update: Update, button: Button) -> str | None:
    """The first field of the tapped button, as text, when it is this `button`'s data, else None."""
    parsed = tapped_values(update, button)
    return str(parsed[0]) if parsed else None


async def answer_stale(update: Update) -> None:
    """Answer a button that no longer works: nothing changed, and /menu is the way on."""
    await answer_button(update, stale_text())


async def answer_done_before(update: Update, text: str) -> None:
    """A tap on something done before (or gone): `text` on its spinner, its buttons retired with nothing chosen."""
    await answer_button(update, text)
    await retire_buttons(update, show_choice=False)


async def close_tap(update: Update, text: str | None = None, markup: Markup | None = None) -> None:
    """Answer the tap and retire its buttons (the choice stays shown), then say `text` when there is one."""
    await answer_button(update)
    await retire_buttons(update)
    if text is not None:
        await reply(update, text, markup)


async def settled_once(update: Update, outcome: object, *, refused: object, already: object, said_already: str) -> bool:
    """Whether a once-only tap did its work (settled); else answered: `refused` or None as stale, `already` as done."""
    if outcome is None or outcome == refused:
        await answer_stale(update)
        return False
    if outcome == already:
        await answer_done_before(update, said_already)
        return False
    await answer_button(update)
    await retire_buttons(update)
    return True


async def tapped_or_stale(update: Update, button: Button) -> tuple[Any, ...] | None:
    """The tap's values when it is `button`'s; else None, the tap answered as one that no longer works."""
    values = tapped_values(update, button)
    if values is None:
        await answer_stale(update)
    return values


async def settled(update: Update, done: T | None) -> T | None:
    """What a tap did, its spinner stopped and its buttons retired; None, answered as stale, when it did nothing."""
    if done is None:
        await answer_stale(update)
        return None
    await answer_button(update)
    await retire_buttons(update)
    return done


async def settled_tap(
    update: Update, context: BotContext, button: Button, act: Callable[[Session, tuple[Any, ...]], T | None]
) -> T | None:
    """What `act` did in one session with the fields of the tapped `button`, the tap settled; None for a stale one."""
    return await settled(update, acted_on_tap(update, context, button, act))


def acted_on_tap(
    update: Update, context: BotContext, button: Button, act: Callable[[Session, tuple[Any, ...]], T | None]
) -> T | None:
    """What `act` did in one session with the fields of the tapped `button`; None for a stale or forged tap."""
    parsed = tapped_values(update, button)
    if parsed is None:
        return None
    with context.session() as session:
        return act(session, parsed)


def chosen_label(query: CallbackQuery) -> str | None:
    """What the tap chose, as its reader saw it: the button's label, or for Done the options ticked."""
    message = query.message
    markup = message.reply_markup if isinstance(message, Message) else None
    if markup is None:
        return None
    buttons = [button for row in markup.inline_keyboard for button in row]
    tapped = next((button for button in buttons if button.callback_data == query.data), None)
    if tapped is None:
        return None
    if isinstance(query.data, str) and query.data.endswith(":done") and not tapped.text.startswith(CHECKED):
        ticked = [button.text.removeprefix(CHECKED) for button in buttons if button.text.startswith(CHECKED)]
        if ticked:
            return ", ".join(ticked)
    return tapped.text


async def retire_buttons(update: Update, *, show_choice: bool = True) -> None:
    """Remove the buttons of the message just pressed, so nothing can be pressed twice.

    With `show_choice` (the default) the message keeps what was chosen, as a last line ("→ 😊 Good") in
    the reader's language; leave it out for taps that chose nothing (a page turn, a stale button).
    """
    query = update.callback_query
    if query is None or query.message is None or not isinstance(query.message, Message):
        return
    message = query.message
    if message.reply_markup is None:
        return
    label = chosen_label(query) if show_choice and message.text else None
    try:
        if label is not None:
            line = _("→ {choice}").format(choice=hi(label))
            if len(message.text or "") + len(line) + 2 <= TEXT_LIMIT:
                await message.edit_text(message.text_html + "\n\n" + line, reply_markup=None)
                return
        await message.edit_reply_markup(reply_markup=None)
    except Exception:  # already edited by a double tap; nothing to do
        return


def markup_json(markup: Markup | None) -> dict[str, Any] | None:
    """Reply markup as JSON, for an outbox row."""
    if markup is None:
        return None
    return json.loads(json.dumps(markup.to_dict()))


def typed_text(update: Update) -> str:
    """The words of the message being handled ("" when it has none)."""
    message = update.effective_message
    return (message.text or "") if message else ""


def name_refused_text(max_length: int) -> str:
    """The kind answer to a name that is empty, invisible (only spaces or invisible characters) or too long."""
    return _("Please send a name that others can read: letters or numbers, at most {count} characters.").format(
        count=max_length
    )


async def readable_name(update: Update, clean: Callable[[str], str | None], max_length: int) -> str | None:
    """The typed name as `clean` keeps it; None, with a kind word on what a name needs, when nobody could read it."""
    message = update.effective_message
    name = clean(message.text or "") if message else None
    if name is None:
        await reply(update, name_refused_text(max_length))
    return name


async def not_understood(update: Update) -> None:
    """An answer a dialogue step did not expect: a button of an earlier question, or words it cannot use."""
    if update.callback_query is not None:
        await answer_button(update, _("That button belongs to an earlier question."))
    else:
        await reply(update, _("Sorry, I did not understand that. Please use the buttons or type your answer."))
