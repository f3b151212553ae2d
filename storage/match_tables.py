"""Tables of lasting matches (koppelingen): a match, its meetings, its household, holidays, reviews, give-backs.

Timestamps are UTC (see `UTCDateTime`). `storage.models` imports this module, so the tables are on the metadata
whenever the others are.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import JSON, UniqueConstraint
from sqlmodel import Field, SQLModel

from storage.types import UTCDateTime


def _utcnow() -> datetime:
    """The current time as an aware UTC datetime (a column default)."""
    return datetime.now(UTC)


class Match(SQLModel, table=True):
    """A family and one helper meeting regularly for months (domain.matches has the rules and the states)."""

    id: int | None = Field(default=None, primary_key=True)
    family_id: int = Field(foreign_key="person.id", index=True)
    helper_id: int = Field(foreign_key="person.id", index=True)
    coordinator_id: int | None = Field(default=None, foreign_key="person.id")
    kind: str = Field(max_length=32)
    involves_children: bool = False
    state: str = Field(default="proposed", max_length=16, index=True)
    # domain.matches.Rhythm.to_json(): kind, first day, start, minutes, weekdays, zone.
    rhythm: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    trial_end: date
    reviews: list[str] = Field(default_factory=list, sa_type=JSON)  # ISO dates
    family_accepted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    helper_accepted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    meeting_held_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    started_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    paused_from: str | None = Field(default=None, max_length=16)  # the state a pause returns to
    ended_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    end_reason: str | None = Field(default=None, max_length=24)
    planned_until: date | None = None
    created_at: datetime = Field(default_factory=_utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=_utcnow, sa_type=UTCDateTime)


class MatchOccurrence(SQLModel, table=True):
    """One planned meeting of a match: its local day, UTC times, and what became of it (the visit log)."""

    __table_args__ = (UniqueConstraint("match_id", "day"),)
    id: int | None = Field(default=None, primary_key=True)
    match_id: int = Field(foreign_key="match.id", index=True, ondelete="CASCADE")
    day: date
    starts_at: datetime = Field(sa_type=UTCDateTime, index=True)
    ends_at: datetime = Field(sa_type=UTCDateTime)
    # domain.matches.Outcome: happened, didnt, difficult, skipped, holiday; None until known.
    outcome: str | None = Field(default=None, max_length=16)
    skipped_by: str | None = Field(default=None, max_length=8)  # domain.matches.Side
    reminded_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    logged_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    family_feeling: str | None = Field(default=None, max_length=16)
    # The family asked for this called-off time to go to the pool as a one-off request (once).
    pool_asked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    pool_request_id: int | None = None


class MatchMember(SQLModel, table=True):
    """Another adult of the helper's support household (steungezin): an approved volunteer who agrees too."""

    __table_args__ = (UniqueConstraint("match_id", "person_id"),)
    id: int | None = Field(default=None, primary_key=True)
    match_id: int = Field(foreign_key="match.id", index=True, ondelete="CASCADE")
    person_id: int = Field(foreign_key="person.id", index=True)
    added_by_id: int | None = Field(default=None, foreign_key="person.id")
    added_at: datetime = Field(default_factory=_utcnow, sa_type=UTCDateTime)
    accepted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    declined_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class MatchGiveBack(SQLModel, table=True):
    """What a family offered back to its support volunteer, and whether it happened (counted, never points)."""

    id: int | None = Field(default=None, primary_key=True)
    family_id: int = Field(foreign_key="person.id", index=True)
    helper_id: int = Field(foreign_key="person.id", index=True)
    match_id: int | None = Field(default=None, foreign_key="match.id", ondelete="SET NULL")
    kind: str = Field(max_length=32)
    offered_at: datetime = Field(default_factory=_utcnow, sa_type=UTCDateTime, index=True)
    outcome: str | None = Field(default=None, max_length=16)  # "happened" / "didnt"; None until someone says
    answered_by: str | None = Field(default=None, max_length=8)  # domain.matches.Side
    answered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class MatchHoliday(SQLModel, table=True):
    """A holiday of one side of a match: its occurrences on these local days do not happen (nobody's miss)."""

    id: int | None = Field(default=None, primary_key=True)
    match_id: int = Field(foreign_key="match.id", index=True, ondelete="CASCADE")
    side: str = Field(max_length=8)
    first: date
    last: date
    created_at: datetime = Field(default_factory=_utcnow, sa_type=UTCDateTime)


class MatchReview(SQLModel, table=True):
    """A review of a match (the trial end or a review date): each side's answer and the coordinator's decision."""

    __table_args__ = (UniqueConstraint("match_id", "due_on"),)
    id: int | None = Field(default=None, primary_key=True)
    match_id: int = Field(foreign_key="match.id", index=True, ondelete="CASCADE")
    due_on: date
    family_choice: str | None = Field(default=None, max_length=16)
    helper_choice: str | None = Field(default=None, max_length=16)
    decision: str | None = Field(default=None, max_length=16)
    decided_by_id: int | None = Field(default=None, foreign_key="person.id")
    asked_at: datetime = Field(default_factory=_utcnow, sa_type=UTCDateTime)
    decided_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
