"""Referrals by professionals: the single-use link's row, its use by the family, and the anonymous counts."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import bindparam, delete
from sqlmodel import Session, col, select

from domain.referrals import month_of
from storage.case_tables import Referral, ReferralCount
from storage.db import null_where, saved, set_once, updated
from storage.models import Person


def create_referral(
    *,
    session: Session,
    token_hash: str,
    referrer_id: int,
    team_id: int | None,
    reason: str,
    first_name: str,
    language: str,
    contact: str,
    expires_at: datetime,
    now: datetime,
) -> Referral:
    """A new referral, not used yet."""
    referral = Referral(
        token_hash=token_hash,
        referrer_id=referrer_id,
        team_id=team_id,
        reason=reason,
        first_name=first_name,
        language=language,
        contact=contact,
        expires_at=expires_at,
        created_at=now,
    )
    return saved(session, referral)


def get_referral(*, session: Session, referral_id: int) -> Referral | None:
    """A referral by id, or None."""
    return session.get(Referral, referral_id)


def referral_by_hash(*, session: Session, token_hash: str) -> Referral | None:
    """The referral whose link has this token's hash."""
    return session.execute(select(Referral).where(col(Referral.token_hash) == token_hash)).scalars().first()


def referral_of_family(*, session: Session, family_id: int) -> Referral | None:
    """The referral a family consented to, if any."""
    return session.execute(_REFERRAL_OF_FAMILY, {"family_id": family_id}).scalars().first()


# Built once: every family's sign-up asks it.
_REFERRAL_OF_FAMILY = (
    select(Referral).where(col(Referral.family_id) == bindparam("family_id")).order_by(col(Referral.id).desc())
)


def referrals_by(*, session: Session, referrer_id: int, limit: int = 50) -> list[Referral]:
    """A referrer's own referrals, newest first."""
    query = (
        select(Referral)
        .where(col(Referral.referrer_id) == referrer_id)
        .order_by(col(Referral.created_at).desc(), col(Referral.id).desc())
        .limit(limit)
    )
    return list(session.execute(query).scalars())


def use_referral(*, session: Session, referral_id: int, family_id: int, share_progress: bool, now: datetime) -> bool:
    """The family consented: the referral is theirs and can never be used again; false when it was meanwhile."""
    unexpired = col(Referral.expires_at) > now
    values = {"family_id": family_id, "consented_at": now, "share_progress": share_progress}
    return set_once(session, Referral, referral_id, Referral.consented_at, unexpired, **values)


def count_outcome(*, session: Session, team_id: int | None, month: str, outcome: str) -> None:
    """One more referral that ended without a family's data (declined, expired), counted per team and month."""
    if team_id is None:
        return
    row = session.get(ReferralCount, (team_id, month, outcome))
    if row is None:
        row = ReferralCount(team_id=team_id, month=month, outcome=outcome, count=0)
    row.count += 1
    session.add(row)
    session.flush()


def decline_referral(*, session: Session, referral_id: int, now: datetime) -> bool:
    """The family said no: the referral goes, only the count remembers it; false when it was gone or used."""
    referral = session.get(Referral, referral_id)
    if referral is None or referral.consented_at is not None:
        return False
    team_id = referral.team_id
    session.delete(referral)
    session.flush()
    count_outcome(session=session, team_id=team_id, month=month_of(now.year, now.month), outcome="declined")
    return True


def purge_expired(*, session: Session, now: datetime) -> int:
    """Unused referrals past their expiry go, each counted as expired in the month it expired."""
    query = select(Referral).where(col(Referral.consented_at).is_(None), col(Referral.expires_at) < now)
    gone = list(session.execute(query).scalars())
    for referral in gone:
        expired = referral.expires_at
        count_outcome(
            session=session, team_id=referral.team_id, month=month_of(expired.year, expired.month), outcome="expired"
        )
        session.delete(referral)
    session.flush()
    return len(gone)


def outcome_counts(*, session: Session, team_id: int | None, month: str) -> dict[str, int]:
    """How many referrals of a team (None: every team) ended without a family's data in a month, by outcome."""
    query = select(ReferralCount).where(col(ReferralCount.month) == month)
    if team_id is not None:
        query = query.where(col(ReferralCount.team_id) == team_id)
    counts: dict[str, int] = {}
    for row in session.execute(query).scalars():
        counts[row.outcome] = counts.get(row.outcome, 0) + row.count
    return counts


def set_progress(*, session: Session, referral_id: int, progress: str) -> None:
    """The latest news the referrer was told."""
    updated(session, Referral, col(Referral.id) == referral_id, progress=progress)


def forget_person(*, session: Session, person_id: int) -> None:
    """Erasure: a family's referral is detached (no more news); a referrer's stay, anonymous; unused links go."""
    updated(session, Referral, col(Referral.family_id) == person_id, family_id=None, share_progress=False)
    session.execute(
        delete(Referral).where(col(Referral.referrer_id) == person_id, col(Referral.consented_at).is_(None))
    )
    null_where(session, person_id, Referral.referrer_id)


def set_organisation(*, session: Session, person: Person, organisation: str, now: datetime) -> None:
    """A referrer's organisation, shown to the families they refer."""
    person.organisation = organisation
    person.updated_at = now
    session.add(person)
