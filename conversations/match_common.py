"""What the lasting-match screens (`conversations.match_management`, `match_proposals`, `match_sending`) ask
alike: which adult also belongs to the support household.
"""

from __future__ import annotations

from collections.abc import Callable

from telegram import Update

from conversations.ui import keyboard, pager_row, reply
from services.i18n import _
from services.match_household import Options


async def ask_household_member(
    update: Update, found: Options, pick: Callable[[int], str], turn: Callable[[int], str]
) -> None:
    """Ask who else belongs to the support household: one page of volunteers (`pick` their data), a pager (`turn`)."""
    rows = [[(label, pick(person_id))] for label, person_id in found.options]
    pager = pager_row(found.page, found.more, turn)
    await reply(
        update,
        _("Who else belongs to the support household? (Approved volunteers; each is asked to agree.)"),
        keyboard(rows + ([pager] if pager else [])),
    )
