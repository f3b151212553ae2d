"""Teams: who works where, which team a family belongs to, and each team's own group and office hours."""

from __future__ import annotations

from datetime import datetime, time

from sqlalchemy import bindparam, func
from sqlmodel import Session, col, select

from storage.case_tables import Team
from storage.db import updated
from storage.models import Area, CoordinatorProfile, FamilyProfile, Person, Role

# The first team of each database, by its address: teams are never deleted, so once known it stays the same,
# and the relay's hot path (which group a family's message goes to) needs no query for it.
_first_team: dict[str, int] = {}


def default_team_id(*, session: Session) -> int:
    """The first team (made by the migration; made here if a database somehow has none)."""
    address = str(session.get_bind().engine.url)
    known = _first_team.get(address)
    if known is not None:
        return known
    team_id = session.execute(select(col(Team.id)).order_by(col(Team.id)).limit(1)).scalar_one_or_none()
    if team_id is None:
        team = Team(name="Team 1")
        session.add(team)
        session.flush()
        assert team.id is not None
        return team.id  # not remembered: the transaction that made it may still roll back
    _first_team[address] = int(team_id)
    return int(team_id)


def get_team(*, session: Session, team_id: int | None) -> Team | None:
    """A team by id, or None."""
    return session.get(Team, team_id) if team_id is not None else None


def all_teams(*, session: Session) -> list[Team]:
    """Every team, oldest first."""
    return list(session.execute(select(Team).order_by(col(Team.id))).scalars())


def team_by_name(*, session: Session, name: str) -> Team | None:
    """A team by its name (names are unique, compared without case)."""
    query = select(Team).where(func.lower(col(Team.name)) == name.lower())
    return session.execute(query).scalars().first()


def create_team(*, session: Session, name: str, now: datetime) -> Team:
    """A new team with the deployment's office hours and escalation (until set otherwise)."""
    team = Team(name=name, created_at=now)
    session.add(team)
    session.flush()
    return team


def team_of_family(*, session: Session, family_id: int) -> int | None:
    """The family's team: its profile's, else the person's (a family still signing up)."""
    profile = session.get(FamilyProfile, family_id)
    if profile is not None and profile.team_id is not None:
        return profile.team_id
    person = session.get(Person, family_id)
    return person.team_id if person is not None else None


def team_and_group_of_family(*, session: Session, family_id: int) -> tuple[int | None, int | None]:
    """The family's team (as `team_of_family`) and that team's stored group, in one query: the relay's hot path."""
    row = session.execute(_TEAM_AND_GROUP, {"family_id": family_id}).first()
    return (row[0], row[1]) if row is not None else (None, None)


# Built once: every relayed line and every message to a family's topic asks it.
_TEAM_ID = func.coalesce(col(FamilyProfile.team_id), col(Person.team_id))
_TEAM_AND_GROUP = (
    select(_TEAM_ID, col(Team.group_chat_id))
    .select_from(Person)
    .outerjoin(FamilyProfile, col(FamilyProfile.person_id) == col(Person.id))
    .outerjoin(Team, col(Team.id) == _TEAM_ID)
    .where(col(Person.id) == bindparam("family_id"))
)


def set_person_team(*, session: Session, person_id: int, team_id: int) -> None:
    """Put a person in a team (a family's profile follows)."""
    updated(session, Person, col(Person.id) == person_id, team_id=team_id)
    updated(session, FamilyProfile, col(FamilyProfile.person_id) == person_id, team_id=team_id)


def area_team(*, session: Session, area_id: int | None) -> int | None:
    """The team a neighbourhood belongs to."""
    area = session.get(Area, area_id) if area_id is not None else None
    return area.team_id if area is not None else None


def members(*, session: Session, team_id: int) -> list[Person]:
    """The team's coordinators and referrers who still have an account, by role and name."""
    query = (
        select(Person)
        .where(
            col(Person.team_id) == team_id,
            col(Person.role).in_((Role.COORDINATOR, Role.REFERRER)),
            col(Person.telegram_id).is_not(None),
        )
        .order_by(col(Person.role), col(Person.display_name), col(Person.id))
    )
    return list(session.execute(query).scalars())


def family_count(*, session: Session, team_id: int) -> int:
    """How many families the team has."""
    query = select(func.count()).select_from(FamilyProfile).where(col(FamilyProfile.team_id) == team_id)
    return int(session.execute(query).scalar_one())


def set_group(*, session: Session, team_id: int, chat_id: int | None) -> None:
    """Make a chat the team's coordinators' group."""
    updated(session, Team, col(Team.id) == team_id, group_chat_id=chat_id)


def team_with_group(*, session: Session, chat_id: int) -> Team | None:
    """The team whose coordinators' group this chat is."""
    return session.execute(_TEAM_WITH_GROUP, {"chat_id": chat_id}).scalars().first()


# Built once: every update from a group asks it.
_TEAM_WITH_GROUP = select(Team).where(col(Team.group_chat_id) == bindparam("chat_id"))


def move_group(*, session: Session, old_chat_id: int, new_chat_id: int) -> None:
    """A group became a supergroup: every team that used it follows."""
    updated(session, Team, col(Team.group_chat_id) == old_chat_id, group_chat_id=new_chat_id)


def set_office_hours(
    *,
    session: Session,
    team_id: int,
    office_days: str | None,
    office_start: time | None,
    office_end: time | None,
    wait_minutes: float | None,
) -> None:
    """The team's own office days, hours and escalation wait (None each: the deployment's setting)."""
    updated(
        session,
        Team,
        col(Team.id) == team_id,
        office_days=office_days,
        office_start=office_start,
        office_end=office_end,
        escalation_wait_office_minutes=wait_minutes,
    )


def release_coordinator(*, session: Session, coordinator_id: int) -> list[int]:
    """A coordinator leaves their team: their families stay, the duo partner (if any) becomes the primary.

    The duo ends on both sides. Returns the ids of the families whose coordinators changed."""
    touched: list[int] = []
    rows = session.execute(
        select(FamilyProfile).where(
            (col(FamilyProfile.primary_coordinator_id) == coordinator_id)
            | (col(FamilyProfile.partner_coordinator_id) == coordinator_id)
        )
    ).scalars()
    for profile in rows:
        if profile.primary_coordinator_id == coordinator_id:
            partner = profile.partner_coordinator_id
            profile.primary_coordinator_id = partner if partner != coordinator_id else None
        profile.partner_coordinator_id = None
        session.add(profile)
        touched.append(profile.person_id)
    duo = (col(CoordinatorProfile.person_id) == coordinator_id) | (
        col(CoordinatorProfile.duo_partner_id) == coordinator_id
    )
    updated(session, CoordinatorProfile, duo, duo_partner_id=None)
    session.flush()
    return touched


def keep_coordinators_in_team(*, session: Session, family_id: int, team_id: int) -> bool:
    """A family moved to a team: its primary and partner are cleared if they are not in that team."""
    profile = session.get(FamilyProfile, family_id)
    if profile is None:
        return False
    changed = False
    for column in ("primary_coordinator_id", "partner_coordinator_id"):
        coordinator_id = getattr(profile, column)
        if coordinator_id is None:
            continue
        coordinator = session.get(Person, coordinator_id)
        if coordinator is None or coordinator.team_id != team_id:
            setattr(profile, column, None)
            changed = True
    session.add(profile)
    session.flush()
    return changed
