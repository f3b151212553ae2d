"""The two sides of a match write to each other through the bot, without swapping numbers or accounts.

Each message goes to the other side with the sender's name and a button to answer; the family's timeline
records that a message passed (never what it said), so coordinators see that contact happens. Only the family
and the helper of a match that is in its trial, running or paused may write.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from domain.matches import MatchState
from services import timeline
from services.i18n import _, h, hi, use_language
from services.labels import name_of
from services.match_texts import WRITE, side_of, sides, tell
from storage import matches as store
from storage import people
from storage.db import Session
from storage.match_tables import Match
from storage.models import Person

MAX_MESSAGE = 500
OPEN_FOR_CONTACT = frozenset({MatchState.TRIAL, MatchState.ACTIVE, MatchState.PAUSED})


@dataclass(frozen=True)
class Party:
    """Who may write now: the match, the writer (fresh) and the other side."""

    match: Match
    sender: Person
    other: Person


def party(*, session: Session, person: Person | None, match_id: int | None) -> Party | None:
    """The writer's match and the other side when the writer is a side of it and it is open for contact."""
    match = store.get_match(session=session, match_id=match_id) if match_id else None
    fresh = people.get_person(session=session, person_id=person.id) if person and person.id else None
    if match is None or fresh is None or fresh.consent_at is None or match.state not in OPEN_FOR_CONTACT:
        return None
    if side_of(match, fresh) is None:
        return None
    family, helper = sides(session, match)
    other = helper if fresh.id == match.family_id else family
    return Party(match, fresh, other) if other is not None else None


def write_button(match_id: int, other_name: str) -> tuple[str, str]:
    """'Write to <name>' under a match's messages (rights checked when tapped)."""
    return _("💬 Write to {name}").format(name=other_name), WRITE.data(match_id)


def pass_message(
    *, session: Session, person: Person | None, match_id: int | None, text: str, source: str, now: datetime
) -> str | None:
    """Checked again, then the message to the other side with a button to answer; the other's name, or None.
    `source` names the message (`chat:message`) so a retried update queues it once."""
    found = party(session=session, person=person, match_id=match_id)
    if found is None or found.match.id is None:
        return None
    match, sender, other = found.match, found.sender, found.other
    with use_language(other.language):
        head = _("💬 <b>A message from {name} (your lasting match):</b>").format(name=hi(name_of(sender)))
        button = write_button(match.id or 0, name_of(sender))
    tell(session, other, f"match.msg:{match.id}:{sender.id}:{source}", head + "\n\n" + h(text), now, [[button]])
    timeline.note(session=session, about=match, kind="match_message", now=now, by=sender)
    return name_of(other)
