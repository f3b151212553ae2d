"""Giving back, recorded: what a family offered its support volunteer ("Offer something back"), and whether it
happened, as either side taps "it happened / it did not".

The offer itself is made by `services.requests.offer_back`, which calls `record` in the same transaction; the
support volunteer's message and a note to the family carry the two buttons; the first answer counts (a second
tap, or a tap by anyone else, changes nothing). The figures count offers and the share that happened for the
whole programme (`services.match_figures`), never per family: giving back is no score.
"""

from __future__ import annotations

import logging
from datetime import datetime
from enum import StrEnum

from domain.matches import GIVE_BACK_OUTCOMES, Side
from services.callbacks import Button
from services.i18n import _, hi, use_language
from services.labels import name_of
from services.logs import event
from services.match_texts import tell
from storage import matches as store
from storage import people
from storage.db import Session
from storage.models import Person

logger = logging.getLogger(__name__)

GAVE = Button("ms", "gave", int, str)  # a give-back id, "happened" / "didnt"


def buttons(give_back_id: int) -> list[list[tuple[str, str]]]:
    """'It happened' / 'It did not happen', in the current language."""
    return [
        [
            (_("✅ It happened"), GAVE.data(give_back_id, "happened")),
            (_("❌ It did not happen"), GAVE.data(give_back_id, "didnt")),
        ]
    ]


def record(*, session: Session, family: Person, helper: Person, kind: str, now: datetime) -> int:
    """Keep what the family offered its support volunteer (linked to their open match, if any); its id.

    The family gets the two buttons too, so whichever side knows first can say whether it happened."""
    assert family.id is not None and helper.id is not None
    match = store.open_match_between(session=session, family_id=family.id, helper_id=helper.id)
    row = store.record_give_back(
        session=session,
        family_id=family.id,
        helper_id=helper.id,
        match_id=match.id if match is not None else None,
        kind=kind,
        now=now,
    )
    assert row.id is not None
    with use_language(family.language):
        text = _("💛 Once it has happened (or if it did not work out), tap below. One tap is enough.")
        rows = buttons(row.id)
    tell(session, family, f"giveback.ask:{row.id}", text, now, rows)
    event(logger, "match.give_back", id=row.id, match=row.match_id)
    return row.id


class GaveBack(StrEnum):
    DONE = "done"
    ALREADY = "already"
    GONE = "gone"


def answer(*, session: Session, person: Person | None, give_back_id: int, outcome: str, now: datetime) -> GaveBack:
    """The family or the support volunteer says whether the offer back happened; the first answer counts."""
    row = store.get_give_back(session=session, give_back_id=give_back_id)
    if row is None or person is None or outcome not in GIVE_BACK_OUTCOMES:
        return GaveBack.GONE
    side = Side.FAMILY if person.id == row.family_id else Side.HELPER if person.id == row.helper_id else None
    if side is None:
        return GaveBack.GONE
    if not store.answer_give_back(session=session, give_back_id=give_back_id, outcome=outcome, side=side, now=now):
        return GaveBack.ALREADY
    people.add_timeline(
        session=session,
        family_id=row.family_id,
        kind="match_gave_back",
        now=now,
        actor_id=person.id,
        ref_id=row.match_id,
        outcome=outcome,
    )
    other_id = row.helper_id if side == Side.FAMILY else row.family_id
    other = people.get_person(session=session, person_id=other_id)
    if other is not None and outcome == "happened":
        with use_language(other.language):
            text = _("💛 {name} noted that what was offered back has happened. Thank you both!").format(
                name=hi(name_of(person))
            )
        tell(session, other, f"giveback.done:{row.id}", text, now)
    return GaveBack.DONE
