"""Queries for coordinator insight: the facts behind the figures and the weekly digest.

Only ids, kinds and moments are read, never names or free text: the figures are computed from these facts
by `domain.insight`, which is where suppression and medians live.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any, TypeVar

from sqlalchemy import and_, or_, select
from sqlmodel import Session, col

from domain.insight import CheckinFact, ConcernFact, RequestFact
from storage.models import (
    CheckIn,
    Concern,
    FamilyProfile,
    HelpRequest,
    Person,
    Role,
    VolunteerProfile,
    VolunteerStatus,
)

Row = TypeVar("Row")


def _utc(value: datetime | None) -> datetime | None:
    """An aware UTC datetime from a value SQLite may hand back naive."""
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def _family_filter(column: object, family_ids: Sequence[int] | None) -> list[object]:
    """The condition that limits a query to these families (none when all families count)."""
    return [] if family_ids is None else [col(column).in_(list(family_ids))]


def checkin_facts(
    *, session: Session, start: datetime, end: datetime, family_ids: Sequence[int] | None = None
) -> list[CheckinFact]:
    """Check-ins sent in [start, end), with their answer (given at any time)."""
    rows = session.execute(
        select(col(CheckIn.family_id), col(CheckIn.sent_at), col(CheckIn.answer), col(CheckIn.missed)).where(
            col(CheckIn.sent_at) >= start,
            col(CheckIn.sent_at) < end,
            *_family_filter(CheckIn.family_id, family_ids),  # type: ignore[arg-type]
        )
    ).all()
    return [
        CheckinFact(family_id=int(family), sent_at=_utc(sent) or start, answer=answer, missed=bool(missed))
        for family, sent, answer, missed in rows
    ]


def request_facts(
    *, session: Session, start: datetime, end: datetime, family_ids: Sequence[int] | None = None
) -> list[RequestFact]:
    """Requests asked, accepted or closed in [start, end): kinds and moments only, never their text."""
    rows = session.execute(
        select(
            col(HelpRequest.family_id),
            col(HelpRequest.kind),
            col(HelpRequest.status),
            col(HelpRequest.created_at),
            col(HelpRequest.accepted_at),
            col(HelpRequest.closed_at),
            col(HelpRequest.starts_at),
            col(HelpRequest.ends_at),
            col(HelpRequest.assigned_volunteer_id),
        ).where(
            or_(
                (col(HelpRequest.created_at) >= start) & (col(HelpRequest.created_at) < end),
                (col(HelpRequest.accepted_at) >= start) & (col(HelpRequest.accepted_at) < end),
                (col(HelpRequest.closed_at) >= start) & (col(HelpRequest.closed_at) < end),
            ),
            *_family_filter(HelpRequest.family_id, family_ids),  # type: ignore[arg-type]
        )
    ).all()
    return [
        RequestFact(
            family_id=int(family),
            kind=str(kind),
            status=str(status),
            created_at=_utc(created) or start,
            accepted_at=_utc(accepted),
            closed_at=_utc(closed),
            starts_at=_utc(starts),
            ends_at=_utc(ends),
            volunteer_id=volunteer,
        )
        for family, kind, status, created, accepted, closed, starts, ends, volunteer in rows
    ]


def concern_facts(
    *, session: Session, start: datetime, end: datetime, family_ids: Sequence[int] | None = None
) -> list[ConcernFact]:
    """Concerns raised in [start, end), with when they were first acknowledged."""
    rows = session.execute(
        select(col(Concern.family_id), col(Concern.created_at), col(Concern.acknowledged_at)).where(
            col(Concern.created_at) >= start,
            col(Concern.created_at) < end,
            *_family_filter(Concern.family_id, family_ids),  # type: ignore[arg-type]
        )
    ).all()
    return [
        ConcernFact(family_id=family, created_at=_utc(created) or start, acknowledged_at=_utc(acknowledged))
        for family, created, acknowledged in rows
    ]


# --- the weekly digest ----------------------------------------------------------------------------


def _signed_up_family_ids(*, session: Session, which: Any) -> list[int]:
    """The signed-up families (`which` of them), by id."""
    return list(
        session.execute(
            select(col(FamilyProfile.person_id))
            .join(Person, col(Person.id) == col(FamilyProfile.person_id))
            .where(col(Person.role) == Role.FAMILY, col(Person.consent_at).is_not(None), which)
            .order_by(col(FamilyProfile.person_id))
        ).scalars()
    )


def coordinator_family_ids(*, session: Session, coordinator_id: int) -> list[int]:
    """Signed-up families of a coordinator (primary or partner)."""
    theirs = or_(
        col(FamilyProfile.primary_coordinator_id) == coordinator_id,
        col(FamilyProfile.partner_coordinator_id) == coordinator_id,
    )
    return _signed_up_family_ids(session=session, which=theirs)


def unassigned_family_ids(*, session: Session, team_id: int | None = None) -> list[int]:
    """Signed-up families without a primary coordinator (of one team when given): their team's digest shows them."""
    which: Any = col(FamilyProfile.primary_coordinator_id).is_(None)
    if team_id is not None:
        which = and_(which, col(FamilyProfile.team_id) == team_id)
    return _signed_up_family_ids(session=session, which=which)


def team_family_ids(*, session: Session, team_id: int) -> list[int]:
    """Signed-up families of one team: the figures of that team."""
    return _signed_up_family_ids(session=session, which=col(FamilyProfile.team_id) == team_id)


def answered_checkins(
    *, session: Session, family_ids: Sequence[int], since: datetime
) -> dict[int, list[tuple[str, datetime]]]:
    """Per family, its answers (answer, answered at) of check-ins sent since `since`, oldest first."""
    if not family_ids:
        return {}
    rows = session.execute(
        select(col(CheckIn.family_id), col(CheckIn.answer), col(CheckIn.answered_at))
        .where(
            col(CheckIn.family_id).in_(list(family_ids)),
            col(CheckIn.answer).is_not(None),
            col(CheckIn.sent_at) >= since,
        )
        .order_by(col(CheckIn.family_id), col(CheckIn.sent_at), col(CheckIn.id))
    ).all()
    found: dict[int, list[tuple[str, datetime]]] = {}
    for family, answer, answered_at in rows:
        found.setdefault(int(family), []).append((str(answer), _utc(answered_at) or since))
    return found


def no_contact_families(*, session: Session, family_ids: Sequence[int], missed_threshold: int) -> list[Person]:
    """Families with that many missed check-ins in a row, or that the bot cannot reach."""
    if not family_ids:
        return []
    return list(
        session.execute(
            select(Person)
            .join(FamilyProfile, col(FamilyProfile.person_id) == col(Person.id))
            .where(
                col(Person.id).in_(list(family_ids)),
                or_(col(FamilyProfile.missed_checkins) >= missed_threshold, col(Person.reachable).is_(False)),
            )
            .order_by(col(Person.display_name), col(Person.id))
        ).scalars()
    )


def _oldest_first(
    *, session: Session, model: type[Row], family_ids: Sequence[int], still: Any, limit: int
) -> list[Row]:
    """Rows of these families that are still open (`still`), oldest first."""
    if not family_ids:
        return []
    query = select(model).where(col(model.family_id).in_(list(family_ids)), still)  # type: ignore[attr-defined]
    order = (col(model.created_at), col(model.id))  # type: ignore[attr-defined]
    return list(session.execute(query.order_by(*order).limit(limit)).scalars())


def open_requests_of(*, session: Session, family_ids: Sequence[int], limit: int = 20) -> list[HelpRequest]:
    """Requests of these families nobody has accepted yet, oldest first."""
    still = col(HelpRequest.status) == "open"
    return _oldest_first(session=session, model=HelpRequest, family_ids=family_ids, still=still, limit=limit)


def open_concerns_of(*, session: Session, family_ids: Sequence[int], limit: int = 20) -> list[Concern]:
    """Concerns about these families that are not closed, oldest first."""
    still = col(Concern.status) != "closed"
    return _oldest_first(session=session, model=Concern, family_ids=family_ids, still=still, limit=limit)


def open_concern_count(*, session: Session, family_id: int) -> int:
    """How many concerns about a family are still open (at most 100 are counted)."""
    return len(open_concerns_of(session=session, family_ids=[family_id], limit=100))


def vog_expiring(
    *, session: Session, cutoff: date, limit: int = 20, team_id: int | None = None
) -> list[tuple[Person, date]]:
    """Approved volunteers (of one team when given) cleared for children whose VOG date is on or before `cutoff`."""
    query = (
        select(Person, col(VolunteerProfile.vog_date))
        .join(VolunteerProfile, col(VolunteerProfile.person_id) == col(Person.id))
        .where(
            col(VolunteerProfile.status) == VolunteerStatus.APPROVED,
            col(VolunteerProfile.children_ok),
            col(VolunteerProfile.vog_date) <= cutoff,
            col(Person.telegram_id).is_not(None),
        )
    )
    if team_id is not None:
        query = query.where(col(Person.team_id) == team_id)
    rows = session.execute(query.order_by(col(VolunteerProfile.vog_date), col(Person.id)).limit(limit)).all()
    return [(person, vog_date) for person, vog_date in rows if vog_date is not None]


def digest_recipients(*, session: Session) -> list[Person]:
    """Signed-up coordinators who can be reached."""
    return list(
        session.execute(
            select(Person)
            .where(
                col(Person.role) == Role.COORDINATOR,
                col(Person.consent_at).is_not(None),
                col(Person.telegram_id).is_not(None),
            )
            .order_by(col(Person.id))
        ).scalars()
    )
