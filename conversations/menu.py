"""The main menu: one message with the actions a person's role allows.

Each feature adds its entries where handlers are registered (bot/app.py), so the menu grows with
the features without this module knowing them. An entry that opens a dialogue has no action here:
the dialogue lists `entry_pattern(key)` (`^menu:<key>$`) among its entry points, and the dialogue router
(registered before this module's handler) takes the button first, so the dialogue's step is saved.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update, WebAppInfo
from telegram.ext import BaseHandler, CallbackQueryHandler

from conversations.context import BotContext
from conversations.dialogue import Step, private_command
from conversations.ui import answer_button, answer_stale, keyboard, reply, tapped_values
from services.callbacks import Button
from services.i18n import _

Action = Callable[[Update, BotContext], Awaitable[Any]]
# A menu button: menu:<entry key>.
MENU = Button("menu", "", str)


@dataclass(frozen=True)
class Entry:
    """One menu entry: its button's key and label, who sees it, and what it does (None: a dialogue starts)."""

    key: str
    label: str  # marked with N_, translated when shown
    roles: frozenset[str]
    action: Action | None


_entries: dict[str, Entry] = {}


def add(key: str, label: str, roles: set[str] | frozenset[str], action: Action | None = None) -> None:
    """Add an entry for these roles (registered where the feature's handlers are).

    A key is one entry: adding another entry under a key already taken would silently replace it (and take a
    button away from people), so it is refused; the same entry again (a second application) is fine.
    """
    entry = Entry(key, label, frozenset(roles), action)
    known = _entries.get(key)
    assert known is None or (known.label, known.roles) == (entry.label, entry.roles), f"menu key {key!r} is taken"
    _entries[key] = entry


def entry_pattern(key: str) -> str:
    """The pattern of exactly the menu button of entry `key` (a dialogue's entry point)."""
    return rf"^{re.escape(MENU.data(key))}$"


def started_by(command: str, key: str, start: Step) -> list[BaseHandler[Any, Any, Any]]:
    """A dialogue's entry points when both /command (in a private chat) and the menu entry `key` start it."""
    return [
        private_command(command, start),
        CallbackQueryHandler(start, pattern=entry_pattern(key)),
    ]


def entries_for(role: str | None) -> list[Entry]:
    """The entries a role sees, in the order they were added."""
    return [entry for entry in _entries.values() if role in entry.roles]


async def send_menu(update: Update, context: BotContext) -> None:
    """/menu: the buttons of what this person's role allows."""
    person = context.person
    role = person.role if person else None
    items = entries_for(role)
    rows = [[(_(entry.label), MENU.data(entry.key))] for entry in items]
    markup = keyboard(rows) if rows else None
    settings = context.services.settings
    if markup is not None and role == "coordinator" and settings.workspace_enabled and settings.workspace_url:
        # The coordinators' workspace (web/), a Mini App signed in by Telegram itself.
        workspace = InlineKeyboardButton(_("🗂 Workspace"), web_app=WebAppInfo(url=settings.workspace_url))
        markup = InlineKeyboardMarkup([*markup.inline_keyboard, [workspace]])
    await reply(update, _("What would you like to do?"), markup)


async def on_menu_button(update: Update, context: BotContext) -> Any:
    """A menu button: run the entry's action if this person's role (checked now) allows it."""
    parsed = tapped_values(update, MENU)
    person = context.person
    entry = _entries.get(parsed[0]) if parsed else None
    role = person.role if person and person.consent_at else None
    if entry is None or entry.action is None or role not in entry.roles:
        await answer_stale(update)
        return None
    await answer_button(update)
    return await entry.action(update, context)


def build() -> list[BaseHandler[Any, Any, Any]]:
    """The menu's buttons (after the dialogues, which take their own entries first)."""
    return [CallbackQueryHandler(on_menu_button, pattern=MENU.pattern)]
