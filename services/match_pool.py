"""A called-off time to the pool: after the helper's "not this time", the family may ask for that one time to
go to other volunteers as a one-off request, with its OK.

The family's message about the helper's "not this time" carries "📣 Ask other volunteers"; a tap shows what
would be asked (`preview`), and only "Yes, ask them" makes the request (`send_to_pool`), through the ordinary
`services.requests.send_request`, so it goes through matching like any request (the helper who called it off
is not asked). Each time can go to the pool once: the claim is one conditional update, so a double tap or an
old button changes nothing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from domain import matches as rules
from domain.matches import MatchState, Outcome, Side
from services import requests, timeline
from services.context import Services
from services.i18n import _, format_when, h, use_language
from services.logs import event
from services.match_texts import kind_label, side_of
from storage import matches as store
from storage import people
from storage import requests as request_store
from storage.db import Session
from storage.match_tables import Match, MatchOccurrence
from storage.models import Person

logger = logging.getLogger(__name__)

# A sleepover is not a one-off kind of request: for one time it is babysitting, with children.
REQUEST_KIND = {"sleepover": "babysitting"}


class Pooled(StrEnum):
    READY = "ready"  # it may go to the pool: the preview for the family's OK
    SENT = "sent"
    ALREADY = "already"  # asked before (a double tap)
    GONE = "gone"  # not theirs, not called off by the helper, or already past


@dataclass(frozen=True)
class PoolPreview:
    result: Pooled
    text: str = ""


def _poolable(
    session: Session, person: Person | None, occurrence_id: int, now: datetime
) -> tuple[MatchOccurrence, Match] | Pooled:
    """The occurrence and its match when this family may send it to the pool now; else why not."""
    occurrence = store.get_occurrence(session=session, occurrence_id=occurrence_id)
    match = store.get_match(session=session, match_id=occurrence.match_id) if occurrence is not None else None
    if occurrence is None or match is None or side_of(match, person) != Side.FAMILY:
        return Pooled.GONE
    if occurrence.outcome != Outcome.SKIPPED or occurrence.skipped_by != Side.HELPER or occurrence.starts_at <= now:
        return Pooled.GONE
    if MatchState(match.state) not in rules.RUNNING_STATES:
        return Pooled.GONE
    if occurrence.pool_asked_at is not None:
        return Pooled.ALREADY
    return occurrence, match


def preview(
    *, session: Session, services: Services, person: Person | None, occurrence_id: int, now: datetime
) -> PoolPreview:
    """What would be asked of other volunteers, for the family to confirm (nothing is stored)."""
    found = _poolable(session, person, occurrence_id, now)
    if isinstance(found, Pooled):
        return PoolPreview(found)
    occurrence, match = found
    assert person is not None
    zone = services.settings.timezone
    with use_language(person.language):
        text = "\n".join(
            [
                _("📣 Shall I ask other volunteers for this one time?"),
                _("What: {what}").format(what=h(kind_label(match.kind))),
                _("When: {when}").format(when=h(format_when(occurrence.starts_at, zone, person.language))),
                _("It becomes an ordinary one-off request; your match goes on as planned after it."),
            ]
        )
    return PoolPreview(Pooled.READY, text=text)


def send_to_pool(
    *, session: Session, services: Services, person: Person | None, occurrence_id: int, now: datetime
) -> Pooled:
    """The family's OK: a one-off request for that time and kind, through the ordinary request services."""
    found = _poolable(session, person, occurrence_id, now)
    if isinstance(found, Pooled):
        return found
    occurrence, match = found
    assert person is not None and person.id is not None
    profile = people.get_family(session=session, person_id=match.family_id)
    if profile is None or not requests.is_family(person):
        return Pooled.GONE
    if not store.claim_pool(session=session, occurrence_id=occurrence_id, now=now):
        return Pooled.ALREADY
    household = [member.person_id for member in store.members(session=session, match_id=match.id or 0)]
    new = requests.NewRequest(
        family_id=match.family_id,
        behalf=False,
        kind=REQUEST_KIND.get(match.kind, match.kind),
        involves_children=match.involves_children,
        starts_at=occurrence.starts_at,
        ends_at=occurrence.ends_at,
        flexible_week=False,
        area_id=profile.area_id,
        destination=None,
        note=None,
        voice_file_id=None,
        street=None,
        phone=None,
        not_asked=(match.helper_id, *household),
    )
    sent = requests.send_request(session=session, services=services, person_id=person.id, new=new, now=now)
    if sent == requests.Sent.REFUSED:
        return Pooled.GONE
    made_now = request_store.family_requests(session=session, family_id=match.family_id, limit=50)
    created = max((row for row in made_now if row.created_at == now), key=lambda row: row.id or 0, default=None)
    if created is not None and created.id is not None:
        store.set_pool_request(session=session, occurrence_id=occurrence_id, request_id=created.id)
    timeline.note(
        session=session,
        about=match,
        kind="match_pooled",
        now=now,
        by=person,
        request=created.id if created is not None else None,
    )
    event(logger, "match.pooled", match=match.id, occurrence=occurrence_id)
    return Pooled.SENT
