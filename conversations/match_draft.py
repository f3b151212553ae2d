"""The draft and the buttons of the /match proposal dialogue, shared by its steps (`conversations.match_proposals`)
and its last step (`conversations.match_sending`): the step names, the callback data, the draft itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from telegram import Update

from conversations.context import BotContext
from conversations.dialogue import STAY, Draft
from conversations.ui import answer_stale
from domain.matches import Rhythm
from services.callbacks import Button

FAMILY, HELPER, KIND, RHYTHM, DAYS, FIRST, WINDOW, TRIAL, REVIEWS, CONFIRM = (
    "family",
    "helper",
    "kind",
    "rhythm",
    "days",
    "first",
    "window",
    "trial",
    "reviews",
    "confirm",
)

NEW = Button("mtp", "new")
PICK_FAMILY = Button("mtp", "fam", int)
FAMILY_PAGE = Button("mtp", "fpg", int)
PICK_HELPER = Button("mtp", "hlp", int)
HELPER_PAGE = Button("mtp", "hpg", int)
PICK_KIND = Button("mtp", "kind", str)
PICK_RHYTHM = Button("mtp", "rh", str)
TOGGLE_DAY = Button("mtp", "day", int)
DAYS_DONE = Button("mtp", "days")
TRIAL_WEEKS = Button("mtp", "trial", int)
REVIEW_MONTHS = Button("mtp", "rev", int)
SEND = Button("mtp", "send")
HOUSEHOLD = Button("mtp", "hh")  # add another adult of the helper's support household
HOUSEHOLD_PICK = Button("mtp", "hhp", int)
HOUSEHOLD_PAGE = Button("mtp", "hhpg", int)  # another page of the household list
DROP = Button("mtp", "drop")


@dataclass
class MatchDraft(Draft):
    """The proposal being put together, and the match whose holiday is being typed."""

    family_id: int = 0
    helper_id: int = 0
    kind: str = ""
    rhythm: str = ""
    weekdays: list[int] = field(default_factory=list)
    first: str = ""
    start: str = ""
    minutes: int = 0
    trial_end: str = ""
    reviews: list[str] = field(default_factory=list)
    holiday_match: int = 0
    holiday_side: str = ""
    members: list[int] = field(default_factory=list)  # other adults of the helper's support household
    # Adjusting a running match instead of proposing one: its id, and whether it is still in its trial.
    adjust_match: int = 0
    in_trial: bool = False


async def stale(update: Update) -> str | None:
    """A tap that does not fit this step: say so and stay where we are."""
    await answer_stale(update)
    return STAY


def draft_rhythm(draft: MatchDraft, context: BotContext) -> Rhythm:
    """The rhythm the draft describes, in the configured time zone."""
    return Rhythm.from_json(
        {
            "kind": draft.rhythm,
            "first": draft.first,
            "start": draft.start or "00:00",
            "minutes": draft.minutes,
            "weekdays": draft.weekdays,
            "zone": context.services.settings.timezone,
        }
    )
