"""The main menu: one message with the actions a person's role allows.

Each feature adds its entries where handlers are registered (bot/app.py), so the menu grows with
the features without this module knowing them. An entry that opens a dialogue has no action here:
the dialogue lists `^menu:<key>$` among its entry points, and the dialogue router (registered
before this module's handler) takes the button first, so the dialogue's step is saved.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler

from conversations.context import BotContext
from conversations.ui import answer_button, answer_stale, callback, keyboard, parse_callback, reply
from services.i18n import _

Action = Callable[[Update, BotContext], Awaitable[Any]]


@dataclass(frozen=True)
class Entry:
    key: str
    label: str  # marked with N_, translated when shown
    roles: frozenset[str]
    action: Action | None


_entries: dict[str, Entry] = {}


def add(key: str, label: str, roles: set[str] | frozenset[str], action: Action | None = None) -> None:
    _entries[key] = Entry(key, label, frozenset(roles), action)


def entries_for(role: str | None) -> list[Entry]:
    return [entry for entry in _entries.values() if role in entry.roles]


async def send_menu(update: Update, context: BotContext) -> None:
    person = context.person
    role = person.role if person else None
    items = entries_for(role)
    rows = [[(_(entry.label), callback("menu", entry.key))] for entry in items]
    await reply(update, _("What would you like to do?"), keyboard(rows) if rows else None)


async def on_menu_button(update: Update, context: BotContext) -> Any:
    """A menu button: run the entry's action if this person's role (checked now) allows it."""
    parts = parse_callback(update.callback_query.data if update.callback_query else None, "menu")
    person = context.person
    entry = _entries.get(parts[0]) if parts else None
    role = person.role if person and person.consent_at else None
    if entry is None or entry.action is None or role not in entry.roles:
        await answer_stale(update)
        return None
    await answer_button(update)
    return await entry.action(update, context)


def build() -> list[BaseHandler[Any, Any, Any]]:
    return [CallbackQueryHandler(on_menu_button, pattern=r"^menu:")]
