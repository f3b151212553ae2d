"""Volunteers: who waits for approval, approving and rejecting, VOG renewal, pauses, caps and support families.

Each change is one conditional UPDATE naming the status it expects, so two coordinators deciding at once
take effect at most once.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlmodel import Session, col

from storage.db import updated
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
    where = col(VolunteerProfile.status) == status, col(Person.consent_at).is_not(None)
    return _volunteers(session, where, (col(Person.display_name), col(Person.id)), limit, team_id)


def vog_expiring(
    *, session: Session, cutoff: date, limit: int = 30, team_id: int | None = None
) -> list[tuple[Person, VolunteerProfile]]:
    """Approved volunteers cleared for children whose VOG date is on or before `cutoff` (soon too old)."""
    where = (
        col(VolunteerProfile.status) == VolunteerStatus.APPROVED,
        col(VolunteerProfile.children_ok),
        col(VolunteerProfile.vog_date) <= cutoff,
    )
    return _volunteers(session, where, (col(VolunteerProfile.vog_date), col(Person.id)), limit, team_id)


def _volunteers(
    session: Session, where: tuple[Any, ...], order: tuple[Any, ...], limit: int, team_id: int | None
) -> list[tuple[Person, VolunteerProfile]]:
    """The volunteers (person and profile) `where` holds for, in this order; of one team when given."""
    query = (
        select(Person, VolunteerProfile)
        .join(VolunteerProfile, col(VolunteerProfile.person_id) == col(Person.id))
        .where(*where)
    )
    if team_id is not None:
        query = query.where(col(Person.team_id) == team_id)
    rows = session.execute(query.order_by(*order).limit(limit)).all()
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
    not_approved = (
        col(VolunteerProfile.person_id) == volunteer_id,
        col(VolunteerProfile.status) != VolunteerStatus.APPROVED,
    )
    if not updated(session, VolunteerProfile, *not_approved, **values):
        return False
    # A family that volunteers: its coordinator's approval is recorded on the family too.
    updated(session, FamilyProfile, col(FamilyProfile.person_id) == volunteer_id, may_volunteer=True)
    return True


def reject_volunteer(*, session: Session, volunteer_id: int) -> str | None:
    """Turn down a pending volunteer or withdraw an approved one; returns the status it had, or None."""
    profile = session.get(VolunteerProfile, volunteer_id, populate_existing=True)
    if profile is None or profile.status == VolunteerStatus.REJECTED:
        return None
    before = profile.status
    unchanged = col(VolunteerProfile.person_id) == volunteer_id, col(VolunteerProfile.status) == before
    if not updated(session, VolunteerProfile, *unchanged, status=VolunteerStatus.REJECTED, children_ok=False):
        return None
    updated(session, FamilyProfile, col(FamilyProfile.person_id) == volunteer_id, may_volunteer=False)
    return before


def renew_vog(*, session: Session, volunteer_id: int, vog_date: date, children_ok: bool) -> bool:
    """A new VOG date for an approved volunteer (and whether they may help with children)."""
    approved = col(VolunteerProfile.person_id) == volunteer_id, col(VolunteerProfile.status) == VolunteerStatus.APPROVED
    return bool(updated(session, VolunteerProfile, *approved, vog_date=vog_date, children_ok=children_ok))


def set_pause(*, session: Session, volunteer_id: int, until: date | None) -> bool:
    """Pause a volunteer until a date (None ends the pause); False if there is no such volunteer."""
    return bool(updated(session, VolunteerProfile, col(VolunteerProfile.person_id) == volunteer_id, paused_until=until))


def set_weekly_cap(*, session: Session, volunteer_id: int, cap: int) -> bool:
    """Set how many offers a week a volunteer wants at most; False if there is no such volunteer."""
    return bool(updated(session, VolunteerProfile, col(VolunteerProfile.person_id) == volunteer_id, weekly_cap=cap))


def set_support_volunteer(*, session: Session, family_id: int, volunteer_id: int | None) -> int | None:
    """Pair a family with a support volunteer (or unpair); returns the previous one."""
    profile = session.get(FamilyProfile, family_id, populate_existing=True)
    if profile is None:
        return None
    previous = profile.support_volunteer_id
    updated(session, FamilyProfile, col(FamilyProfile.person_id) == family_id, support_volunteer_id=volunteer_id)
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
