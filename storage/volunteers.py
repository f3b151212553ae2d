"""Volunteers: who waits for approval, approving and rejecting, VOG renewal, pauses, caps and support families.

Each change is one conditional UPDATE naming the status it expects, so two coordinators deciding at once
take effect at most once.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select, update
from sqlmodel import Session, col

from storage.db import rowcount
from storage.models import (
    FamilyProfile,
    Person,
    VolunteerProfile,
    VolunteerStatus,
)


def volunteers_with_status(
    *, session: Session, status: str, limit: int = 30, team_id: int | None = None
) -> list[tuple[Person, VolunteerProfile]]:
    """Signed-up volunteers with this status (such as waiting for approval), by name; of one team when given."""
    query = (
        select(Person, VolunteerProfile)
        .join(VolunteerProfile, col(VolunteerProfile.person_id) == col(Person.id))
        .where(col(VolunteerProfile.status) == status, col(Person.consent_at).is_not(None))
    )
    if team_id is not None:
        query = query.where(col(Person.team_id) == team_id)
    rows = session.execute(query.order_by(col(Person.display_name), col(Person.id)).limit(limit)).all()
    return [(person, profile) for person, profile in rows]


def vog_expiring(
    *, session: Session, cutoff: date, limit: int = 30, team_id: int | None = None
) -> list[tuple[Person, VolunteerProfile]]:
    """Approved volunteers cleared for children whose VOG date is on or before `cutoff` (soon too old)."""
    query = (
        select(Person, VolunteerProfile)
        .join(VolunteerProfile, col(VolunteerProfile.person_id) == col(Person.id))
        .where(
            col(VolunteerProfile.status) == VolunteerStatus.APPROVED,
            col(VolunteerProfile.children_ok),
            col(VolunteerProfile.vog_date) <= cutoff,
        )
    )
    if team_id is not None:
        query = query.where(col(Person.team_id) == team_id)
    rows = session.execute(query.order_by(col(VolunteerProfile.vog_date), col(Person.id)).limit(limit)).all()
    return [(person, profile) for person, profile in rows]


def approve_volunteer(
    *,
    session: Session,
    volunteer_id: int,
    approver_id: int,
    vog_date: date | None,
    children_ok: bool,
    weekly_cap: int | None,
    now: datetime,
) -> bool:
    """Approve a pending or rejected volunteer (once: a second coordinator's tap changes nothing)."""
    values: dict[str, object] = {
        "status": VolunteerStatus.APPROVED,
        "vog_date": vog_date,
        "children_ok": children_ok,
        "approved_by_id": approver_id,
        "approved_at": now,
    }
    if weekly_cap is not None:
        values["weekly_cap"] = weekly_cap
    result = session.execute(
        update(VolunteerProfile)
        .where(
            col(VolunteerProfile.person_id) == volunteer_id, col(VolunteerProfile.status) != VolunteerStatus.APPROVED
        )
        .values(**values)
    )
    if rowcount(result):
        # A family that volunteers: its coordinator's approval is recorded on the family too.
        session.execute(
            update(FamilyProfile).where(col(FamilyProfile.person_id) == volunteer_id).values(may_volunteer=True)
        )
    return bool(rowcount(result))


def reject_volunteer(*, session: Session, volunteer_id: int) -> str | None:
    """Turn down a pending volunteer or withdraw an approved one; returns the status it had, or None."""
    profile = session.get(VolunteerProfile, volunteer_id, populate_existing=True)
    if profile is None or profile.status == VolunteerStatus.REJECTED:
        return None
    before = profile.status
    result = session.execute(
        update(VolunteerProfile)
        .where(col(VolunteerProfile.person_id) == volunteer_id, col(VolunteerProfile.status) == before)
        .values(status=VolunteerStatus.REJECTED, children_ok=False)
    )
    if rowcount(result):
        session.execute(
            update(FamilyProfile).where(col(FamilyProfile.person_id) == volunteer_id).values(may_volunteer=False)
        )
    return before if rowcount(result) else None


def renew_vog(*, session: Session, volunteer_id: int, vog_date: date, children_ok: bool) -> bool:
    """A new VOG date for an approved volunteer (and whether they may help with children)."""
    result = session.execute(
        update(VolunteerProfile)
        .where(
            col(VolunteerProfile.person_id) == volunteer_id, col(VolunteerProfile.status) == VolunteerStatus.APPROVED
        )
        .values(vog_date=vog_date, children_ok=children_ok)
    )
    return bool(rowcount(result))


def set_pause(*, session: Session, volunteer_id: int, until: date | None) -> bool:
    """Pause a volunteer until a date (None ends the pause); False if there is no such volunteer."""
    result = session.execute(
        update(VolunteerProfile).where(col(VolunteerProfile.person_id) == volunteer_id).values(paused_until=until)
    )
    return bool(rowcount(result))


def set_weekly_cap(*, session: Session, volunteer_id: int, cap: int) -> bool:
    """Set how many offers a week a volunteer wants at most; False if there is no such volunteer."""
    result = session.execute(
        update(VolunteerProfile).where(col(VolunteerProfile.person_id) == volunteer_id).values(weekly_cap=cap)
    )
    return bool(rowcount(result))


def set_support_volunteer(*, session: Session, family_id: int, volunteer_id: int | None) -> int | None:
    """Pair a family with a support volunteer (or unpair); returns the previous one."""
    profile = session.get(FamilyProfile, family_id, populate_existing=True)
    if profile is None:
        return None
    previous = profile.support_volunteer_id
    session.execute(
        update(FamilyProfile).where(col(FamilyProfile.person_id) == family_id).values(support_volunteer_id=volunteer_id)
    )
    return previous


def supported_families(*, session: Session, volunteer_id: int) -> list[Person]:
    """The families a volunteer is the support volunteer of, by name."""
    return list(
        session.execute(
            select(Person)
            .join(FamilyProfile, col(FamilyProfile.person_id) == col(Person.id))
            .where(col(FamilyProfile.support_volunteer_id) == volunteer_id)
            .order_by(col(Person.display_name))
        ).scalars()
    )
