"""What the lasting-match screens (`conversations.match_management`, `match_proposals`, `match_sending`) ask
alike: which adult also belongs to the support household.
"""

from __future__ import annotations

from telegram import Update

from conversations.ui import column, reply
from services.i18n import _


async def ask_household_member(update: Update, options: list[tuple[str, str]]) -> None:
    """Ask who else belongs to the support household: the (label, callback data) of volunteers, one a row."""
    await reply(
        update,
        _("Who else belongs to the support household? (Approved volunteers; each is asked to agree.)"),
        column(options),
    )
