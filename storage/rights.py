"""The facts `domain.permissions.authorize` needs, read fresh from the database, and consent requests."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update
from sqlmodel import Session, col, select

from domain.permissions import Facts
from storage import concerns as concern_store
from storage import people
from storage.db import fresh, rowcount, saved
from storage.models import Concern, ConsentRequest, FamilyProfile, Person, Role


def family_facts(*, session: Session, family_id: int, relayed_to_actor: bool = False) -> Facts:
    """The family's duo, who was alerted about any of its open concerns, and whether one of them is urgent."""
    profile = session.get(FamilyProfile, family_id)
    alerted: set[int] = set()
    urgent = False
    open_concerns = session.execute(
        select(Concern).where(
            col(Concern.family_id) == family_id, col(Concern.status) != concern_store.ConcernStatus.CLOSED
        )
    ).scalars()
    for concern in open_concerns:
        assert concern.id is not None
        urgent = urgent or concern.urgent
        alerted.update(concern_store.notified_ids(session=session, concern_id=concern.id))
    return Facts(
        primary_id=profile.primary_coordinator_id if profile else None,
        partner_id=profile.partner_coordinator_id if profile else None,
        alerted_ids=frozenset(alerted),
        urgent=urgent,
        relayed_to_actor=relayed_to_actor,
        team_id=profile.team_id if profile else _team_of_person(session, family_id),
    )


def concern_facts(*, session: Session, concern: Concern) -> Facts:
    """Who was alerted about this concern, and the duo of the family it is about (if any)."""
    assert concern.id is not None
    profile = session.get(FamilyProfile, concern.family_id) if concern.family_id is not None else None
    return Facts(
        primary_id=profile.primary_coordinator_id if profile else None,
        partner_id=profile.partner_coordinator_id if profile else None,
        alerted_ids=frozenset(concern_store.notified_ids(session=session, concern_id=concern.id)),
        urgent=concern.urgent,
        team_id=_concern_team(session, concern, profile),
    )


def relay_facts(*, session: Session, to_id: int, actor_chat_id: int, link_chat_id: int | None) -> Facts:
    """Writing to a person: a family's facts, or for a volunteer who raised a concern, who was alerted."""
    to = people.get_person(session=session, person_id=to_id)
    relayed = link_chat_id is not None and link_chat_id == actor_chat_id
    if to is not None and to.role == Role.FAMILY:
        return family_facts(session=session, family_id=to_id, relayed_to_actor=relayed)
    concern = concern_store.open_concern_raised_by(session=session, person_id=to_id)
    alerted = concern_store.notified_ids(session=session, concern_id=concern.id) if concern and concern.id else []
    # A volunteer's concern about a family belongs to the family's team (whose coordinators were alerted and
    # answer it), even when the volunteer, who may help in several neighbourhoods, is in another team.
    if concern is not None:
        profile = session.get(FamilyProfile, concern.family_id) if concern.family_id is not None else None
        team = _concern_team(session, concern, profile)
    else:
        team = to.team_id if to is not None else None
    return Facts(alerted_ids=frozenset(alerted), relayed_to_actor=relayed, target_is_family=False, team_id=team)


def volunteer_facts(*, session: Session, volunteer_id: int) -> Facts:
    """A volunteer's approval belongs to the volunteer's team."""
    return Facts(team_id=_team_of_person(session, volunteer_id))


def _team_of_person(session: Session, person_id: int | None) -> int | None:
    """The team a person works in (None: unknown person or no team yet)."""
    person = session.get(Person, person_id) if person_id is not None else None
    return person.team_id if person is not None else None


def _concern_team(session: Session, concern: Concern, profile: FamilyProfile | None) -> int | None:
    """A concern belongs to the family's team, or (raised by a volunteer about nobody) to the volunteer's."""
    if profile is not None:
        return profile.team_id
    return _team_of_person(session, concern.family_id or concern.raised_by_id)


# --- consent requests (take-over, duo) -----------------------------------------------------------


def ask_consent(
    *, session: Session, kind: str, requester_id: int, approver_id: int, family_id: int | None, now: datetime
) -> ConsentRequest | None:
    """A new request, or None when the same one is already waiting for an answer."""
    query = select(ConsentRequest).where(
        col(ConsentRequest.kind) == kind,
        col(ConsentRequest.requester_id) == requester_id,
        col(ConsentRequest.approver_id) == approver_id,
        col(ConsentRequest.answered_at).is_(None),
    )
    query = query.where(
        col(ConsentRequest.family_id).is_(None) if family_id is None else col(ConsentRequest.family_id) == family_id
    )
    if session.execute(query.limit(1)).scalar_one_or_none() is not None:
        return None
    request = ConsentRequest(
        kind=kind, family_id=family_id, requester_id=requester_id, approver_id=approver_id, created_at=now
    )
    return saved(session, request)


def get_consent(*, session: Session, request_id: int) -> ConsentRequest | None:
    """A request for a family's consent, read fresh, or None."""
    return fresh(session, ConsentRequest, request_id)


def answer_consent(*, session: Session, request_id: int, accepted: bool, now: datetime) -> bool:
    """Record the answer once; false when it was answered before (a double tap)."""
    result = session.execute(
        update(ConsentRequest)
        .where(col(ConsentRequest.id) == request_id, col(ConsentRequest.answered_at).is_(None))
        .values(answered_at=now, accepted=accepted)
    )
    return bool(rowcount(result))
