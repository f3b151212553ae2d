"""What the lasting-match screens (`conversations.match_management`, `match_sides`, `match_proposals`,
`match_sending`) do alike: a tap closed before the answer,
and the question which adult also belongs to the support household.
"""

from __future__ import annotations

from telegram import Update

from conversations.ui import Markup, answer_button, column, reply, retire_buttons
from services.i18n import _


async def close_tap(update: Update, text: str | None = None, markup: Markup | None = None) -> None:
    """Answer the tap and retire its buttons (the choice stays shown), then say `text` when there is one."""
    await answer_button(update)
    await retire_buttons(update)
    if text is not None:
        await reply(update, text, markup)


async def ask_household_member(update: Update, options: list[tuple[str, str]]) -> None:
    """Ask who else belongs to the support household: the (label, callback data) of volunteers, one a row."""
    await reply(
        update,
        _("Who else belongs to the support household? (Approved volunteers; each is asked to agree.)"),
        column(options),
    )
