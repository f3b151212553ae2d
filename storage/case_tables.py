"""Tables of teams, of a family's case from referral to closing, and of referrals. Timestamps are UTC."""

from __future__ import annotations

from datetime import UTC, datetime, time

from sqlalchemy import BigInteger
from sqlmodel import Field, SQLModel

from storage.types import UTCDateTime


def _utcnow() -> datetime:
    """The current time as an aware UTC datetime (a column default)."""
    return datetime.now(UTC)


class Team(SQLModel, table=True):
    """Coordinators and referrers who look after the families of one place, possibly from several organisations.

    A family, a neighbourhood and a volunteer's approval belong to one team; a team may have its own
    coordinators' group and its own office hours and escalation wait (None: the deployment's settings).
    """

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=64, unique=True)
    group_chat_id: int | None = Field(default=None, sa_type=BigInteger)
    office_days: str | None = Field(default=None, max_length=16)  # "0,1,2,3,4" (0 = Monday)
    office_start: time | None = None
    office_end: time | None = None
    escalation_wait_office_minutes: float | None = None
    created_at: datetime = Field(default_factory=_utcnow, sa_type=UTCDateTime)


class CaseStep(SQLModel, table=True):
    """One change of a family's case state (domain.cases), kept when the family moves teams or is reopened."""

    id: int | None = Field(default=None, primary_key=True)
    family_id: int = Field(foreign_key="person.id", index=True, ondelete="CASCADE")
    team_id: int | None = Field(default=None, foreign_key="team.id", index=True)
    from_state: str | None = Field(default=None, max_length=16)
    to_state: str = Field(max_length=16)
    reason: str | None = Field(default=None, max_length=24)  # a key of domain.cases.CLOSE_REASONS
    actor_id: int | None = Field(default=None, foreign_key="person.id", ondelete="SET NULL")
    at: datetime = Field(default_factory=_utcnow, sa_type=UTCDateTime, index=True)


class IntakeTalk(SQLModel, table=True):
    """An intake talk with a family, planned by a coordinator and marked held afterwards."""

    id: int | None = Field(default=None, primary_key=True)
    family_id: int = Field(foreign_key="person.id", index=True, ondelete="CASCADE")
    coordinator_id: int | None = Field(default=None, foreign_key="person.id", ondelete="SET NULL")
    planned_at: datetime = Field(sa_type=UTCDateTime)
    held_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=_utcnow, sa_type=UTCDateTime)


class Referral(SQLModel, table=True):
    """A professional's referral of a family: a single-use link, of which only the hash is stored.

    Holds no diagnosis: a reason from a short list (domain.referrals.REASONS), the family's first name, its
    language and how it likes to be contacted. Declined, it is deleted (only `ReferralCount` remembers it).
    """

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True)
    referrer_id: int | None = Field(default=None, foreign_key="person.id", index=True, ondelete="SET NULL")
    team_id: int | None = Field(default=None, foreign_key="team.id", index=True)
    reason: str = Field(max_length=24)
    first_name: str = Field(max_length=64)
    language: str = Field(default="nl", max_length=8)
    contact: str = Field(max_length=16)  # a key of domain.referrals.CONTACT_WAYS
    expires_at: datetime = Field(sa_type=UTCDateTime)
    family_id: int | None = Field(default=None, foreign_key="person.id", index=True, ondelete="SET NULL")
    consented_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # The family's choice: may the referrer hear "intake done", "support started", "closed"?
    share_progress: bool = False
    # The latest of those the referrer was told (domain.cases.INTAKE_DONE, ...), only when share_progress.
    progress: str | None = Field(default=None, max_length=16)
    created_at: datetime = Field(default_factory=_utcnow, sa_type=UTCDateTime)


class ReferralCount(SQLModel, table=True):
    """Anonymous counts of referrals per team and month that ended without a family's data (declined, expired)."""

    team_id: int = Field(foreign_key="team.id", primary_key=True)
    month: str = Field(max_length=7, primary_key=True)  # "2026-12"
    outcome: str = Field(max_length=16, primary_key=True)  # "declined" / "expired"
    count: int = 0
