"""A family's case: its state and the steps that led there, intake talks, and the team's waiting list."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from storage.case_tables import CaseStep, IntakeTalk
from storage.db import saved, set_once, updated
from storage.models import FamilyProfile, Person


@dataclass(frozen=True)
class WaitingFamily:
    """A family on a waiting list, and since when it waits."""

    family_id: int
    name: str | None
    team_id: int | None
    since: datetime | None


def move(
    *,
    session: Session,
    family_id: int,
    expected: str,
    target: str,
    reason: str | None,
    actor_id: int | None,
    now: datetime,
) -> bool:
    """Move the case from `expected` to `target`; false (nothing written) when it was no longer `expected`.

    The condition in the UPDATE makes two coordinators tapping at once (or a double tap) change it once.
    """
    still_expected = col(FamilyProfile.person_id) == family_id, col(FamilyProfile.case_state) == expected
    if not updated(session, FamilyProfile, *still_expected, case_state=target, case_since=now):
        return False
    step = CaseStep(family_id=family_id, from_state=expected, to_state=target, reason=reason, actor_id=actor_id, at=now)
    _add_step(session, step)
    return True


def _add_step(session: Session, step: CaseStep) -> None:
    """Write down a step of a family's case, with the family's team at that moment."""
    profile = session.get(FamilyProfile, step.family_id)
    step.team_id = profile.team_id if profile else None
    saved(session, step)


def start(*, session: Session, family_id: int, state: str, now: datetime) -> bool:
    """A new family's first step (signing up on its own: intake; referred: referred); false if it had one."""
    if session.execute(select(CaseStep.id).where(col(CaseStep.family_id) == family_id).limit(1)).first():
        return False
    updated(session, FamilyProfile, col(FamilyProfile.person_id) == family_id, case_state=state, case_since=now)
    _add_step(session, CaseStep(family_id=family_id, from_state=None, to_state=state, at=now))
    return True


def steps(*, session: Session, family_id: int) -> list[CaseStep]:
    """The family's case steps, oldest first."""
    query = select(CaseStep).where(col(CaseStep.family_id) == family_id).order_by(col(CaseStep.at), col(CaseStep.id))
    return list(session.execute(query).scalars())


def plan_talk(*, session: Session, family_id: int, coordinator_id: int, planned_at: datetime, now: datetime) -> int:
    """Plan an intake talk; its id back."""
    talk = saved(
        session, IntakeTalk(family_id=family_id, coordinator_id=coordinator_id, planned_at=planned_at, created_at=now)
    )
    assert talk.id is not None
    return talk.id


def talks(*, session: Session, family_id: int) -> list[IntakeTalk]:
    """The family's intake talks, in the order they were planned for."""
    query = select(IntakeTalk).where(col(IntakeTalk.family_id) == family_id).order_by(col(IntakeTalk.planned_at))
    return list(session.execute(query).scalars())


def mark_talk_held(*, session: Session, talk_id: int, family_id: int, now: datetime) -> bool:
    """Mark a talk of this family held, once; false when it was marked before or is not this family's."""
    theirs = col(IntakeTalk.family_id) == family_id
    return set_once(session, IntakeTalk, talk_id, IntakeTalk.held_at, theirs, held_at=now)


def waiting(*, session: Session, team_id: int | None, limit: int = 200, state: str = "waiting") -> list[WaitingFamily]:
    """The families waiting (or in another state: "referred"), of one team or every team for None, longest first."""
    query = (
        select(
            col(FamilyProfile.person_id),
            col(Person.display_name),
            col(FamilyProfile.team_id),
            col(FamilyProfile.case_since),
        )
        .join(Person, col(Person.id) == col(FamilyProfile.person_id))
        .where(col(FamilyProfile.case_state) == state)
    )
    if team_id is not None:
        query = query.where(col(FamilyProfile.team_id) == team_id)
    rows = session.execute(query.order_by(col(FamilyProfile.case_since), col(FamilyProfile.person_id)).limit(limit))
    return [WaitingFamily(int(fid), name, team, since) for fid, name, team, since in rows]


def finished_waits(*, session: Session, team_id: int | None, since: datetime) -> list[tuple[datetime, datetime]]:
    """(start, end) of the waits that ended in active support since a moment, to tell families the usual wait.

    Two queries: the waits that ended, then the start of those families' waits, paired here.
    """
    ended = select(col(CaseStep.family_id), col(CaseStep.at)).where(
        col(CaseStep.from_state) == "waiting", col(CaseStep.to_state) == "active", col(CaseStep.at) >= since
    )
    if team_id is not None:
        ended = ended.where(col(CaseStep.team_id) == team_id)
    ends = list(session.execute(ended.order_by(col(CaseStep.at)).limit(200)))
    if not ends:
        return []
    starts: dict[int, list[datetime]] = {}
    began = select(col(CaseStep.family_id), col(CaseStep.at)).where(
        col(CaseStep.to_state) == "waiting", col(CaseStep.family_id).in_({family for family, _at in ends})
    )
    for family, at in session.execute(began.order_by(col(CaseStep.at))):
        starts.setdefault(family, []).append(at)
    pairs: list[tuple[datetime, datetime]] = []
    for family, end in ends:
        earlier = [at for at in starts.get(family, []) if at <= end]
        if earlier:
            pairs.append((earlier[-1], end))
    return pairs
