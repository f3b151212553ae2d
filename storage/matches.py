"""Queries for lasting matches: the match, its occurrences, holidays and reviews. Keyword-only, no rules."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import delete, or_
from sqlmodel import col, select

from storage.db import Session, fresh, of_families, saved, saved_if_new, set_once, updated
from storage.match_tables import Match, MatchGiveBack, MatchHoliday, MatchMember, MatchOccurrence, MatchReview
from storage.models import FamilyProfile

OPEN = ("proposed", "trial", "active", "paused")


def create_match(
    *,
    session: Session,
    family_id: int,
    helper_id: int,
    coordinator_id: int | None,
    kind: str,
    involves_children: bool,
    rhythm: dict[str, Any],
    trial_end: date,
    reviews: Sequence[date],
    now: datetime,
) -> Match:
    """A proposed match, waiting for both sides."""
    return saved(
        session,
        Match(
            family_id=family_id,
            helper_id=helper_id,
            coordinator_id=coordinator_id,
            kind=kind,
            involves_children=involves_children,
            state="proposed",
            rhythm=dict(rhythm),
            trial_end=trial_end,
            reviews=[day.isoformat() for day in sorted(reviews)],
            created_at=now,
            updated_at=now,
        ),
    )


def get_match(*, session: Session, match_id: int) -> Match | None:
    """The match as stored now."""
    return fresh(session, Match, match_id)


def matches_of(*, session: Session, person_id: int, open_only: bool = True) -> list[Match]:
    """The matches a person is a side of (the family or the helper), newest first."""
    query = select(Match).where(or_(col(Match.family_id) == person_id, col(Match.helper_id) == person_id))
    if open_only:
        query = query.where(col(Match.state).in_(OPEN))
    return list(session.exec(query.order_by(col(Match.id).desc())))


def matches_for_families(*, session: Session, family_ids: Sequence[int] | None, limit: int = 60) -> list[Match]:
    """Matches of these families (None: of every family), open ones first, newest first."""
    query = of_families(select(Match), Match.family_id, family_ids)
    rows = list(session.exec(query.order_by(col(Match.id).desc()).limit(limit * 3)))
    rows.sort(key=lambda row: (row.state not in OPEN, -(row.id or 0)))
    return rows[:limit]


def open_match_between(*, session: Session, family_id: int, helper_id: int) -> Match | None:
    """An open match of this family with this helper, if any."""
    return session.exec(
        select(Match).where(
            col(Match.family_id) == family_id, col(Match.helper_id) == helper_id, col(Match.state).in_(OPEN)
        )
    ).first()


def set_state(*, session: Session, match_id: int, expected: Sequence[str], now: datetime, **values: Any) -> bool:
    """Change a match only while it is in one of the `expected` states (so two taps never both win)."""
    expected_now = col(Match.id) == match_id, col(Match.state).in_(list(expected))
    return updated(session, Match, *expected_now, updated_at=now, **values) == 1


def add_occurrence(
    *, session: Session, match_id: int, day: date, starts_at: datetime, ends_at: datetime, outcome: str | None = None
) -> MatchOccurrence | None:
    """Plan one occurrence; None when that day is planned already."""
    row = MatchOccurrence(match_id=match_id, day=day, starts_at=starts_at, ends_at=ends_at, outcome=outcome)
    return saved_if_new(session, row, col(MatchOccurrence.match_id) == match_id, col(MatchOccurrence.day) == day)


def get_occurrence(*, session: Session, occurrence_id: int) -> MatchOccurrence | None:
    """An occurrence as stored now, or None."""
    return fresh(session, MatchOccurrence, occurrence_id)


def occurrences(*, session: Session, match_id: int, limit: int = 200) -> list[MatchOccurrence]:
    """The match's occurrences in time order (the latest `limit`)."""
    rows = session.exec(
        select(MatchOccurrence)
        .where(col(MatchOccurrence.match_id) == match_id)
        .order_by(col(MatchOccurrence.starts_at).desc())
        .limit(limit)
    )
    return list(reversed(list(rows)))


def next_occurrence(*, session: Session, match_id: int, now: datetime) -> MatchOccurrence | None:
    """The next occurrence that will happen as far as is known (not cancelled, skipped or a holiday)."""
    return session.exec(
        select(MatchOccurrence)
        .where(
            col(MatchOccurrence.match_id) == match_id,
            col(MatchOccurrence.starts_at) > now,
            col(MatchOccurrence.outcome).is_(None),
        )
        .order_by(col(MatchOccurrence.starts_at))
    ).first()


def set_outcome(
    *, session: Session, occurrence_id: int, outcome: str, now: datetime, only_if_open: bool = True, **values: Any
) -> bool:
    """Record what became of an occurrence; with `only_if_open` only when nothing was recorded yet."""
    still_open = [col(MatchOccurrence.outcome).is_(None)] if only_if_open else []
    this = col(MatchOccurrence.id) == occurrence_id
    return updated(session, MatchOccurrence, this, *still_open, outcome=outcome, logged_at=now, **values) == 1


def set_feeling(*, session: Session, occurrence_id: int, feeling: str) -> bool:
    """Keep the family's feeling about an occurrence, once; false when it was given before."""
    return set_once(session, MatchOccurrence, occurrence_id, MatchOccurrence.family_feeling, family_feeling=feeling)


def mark_reminded(*, session: Session, occurrence_id: int, now: datetime) -> bool:
    """Mark an occurrence's reminder as sent, once; false when it was sent before."""
    return set_once(session, MatchOccurrence, occurrence_id, MatchOccurrence.reminded_at, reminded_at=now)


def cancel_future(*, session: Session, match_id: int, after: datetime) -> list[int]:
    """Take off the match's occurrences that start after `after` with nothing recorded; their ids.

    Planning again (after a pause) makes new rows, so their jobs get new dedupe keys."""
    ids = [
        int(found)
        for found in session.exec(
            select(col(MatchOccurrence.id)).where(
                col(MatchOccurrence.match_id) == match_id,
                col(MatchOccurrence.starts_at) > after,
                col(MatchOccurrence.outcome).is_(None),
            )
        )
        if found is not None
    ]
    if ids:
        session.execute(delete(MatchOccurrence).where(col(MatchOccurrence.id).in_(ids)))
    return ids


def add_holiday(*, session: Session, match_id: int, side: str, first: date, last: date, now: datetime) -> MatchHoliday:
    """Store a holiday of one side of a match (first and last day included)."""
    return saved(session, MatchHoliday(match_id=match_id, side=side, first=first, last=last, created_at=now))


def holidays(*, session: Session, match_id: int) -> list[tuple[date, date]]:
    """The match's holidays as (first, last) local days."""
    rows = session.exec(select(MatchHoliday).where(col(MatchHoliday.match_id) == match_id))
    return [(row.first, row.last) for row in rows]


def add_review(*, session: Session, match_id: int, due_on: date, now: datetime) -> MatchReview | None:
    """A review asked now; None when that date was asked before."""
    row = MatchReview(match_id=match_id, due_on=due_on, asked_at=now)
    return saved_if_new(session, row, col(MatchReview.match_id) == match_id, col(MatchReview.due_on) == due_on)


def get_review(*, session: Session, review_id: int) -> MatchReview | None:
    """A review as stored now, or None."""
    return fresh(session, MatchReview, review_id)


def reviews(*, session: Session, match_id: int) -> list[MatchReview]:
    """A match's reviews, earliest first."""
    return list(
        session.exec(select(MatchReview).where(col(MatchReview.match_id) == match_id).order_by(col(MatchReview.due_on)))
    )


def answer_review(*, session: Session, review_id: int, side: str, choice: str) -> bool:
    """A side's continue / adjust / stop (the family's or the helper's), once."""
    column = "family_choice" if side == "family" else "helper_choice"
    undecided = col(MatchReview.decision).is_(None)
    return set_once(session, MatchReview, review_id, getattr(MatchReview, column), undecided, **{column: choice})


def decide_review(*, session: Session, review_id: int, decision: str, coordinator_id: int, now: datetime) -> bool:
    """Record the coordinator's decision on a review, once; false when it was decided before."""
    values = {"decision": decision, "decided_by_id": coordinator_id, "decided_at": now}
    return set_once(session, MatchReview, review_id, MatchReview.decision, **values)


def support_first(*, session: Session, family_id: int, helper_id: int) -> bool:
    """Make the helper the family's support volunteer (its requests go to them first) when it has none."""
    unsupported = col(FamilyProfile.person_id) == family_id, col(FamilyProfile.support_volunteer_id).is_(None)
    return updated(session, FamilyProfile, *unsupported, support_volunteer_id=helper_id) == 1


def started_between(
    *, session: Session, start: datetime, end: datetime, family_ids: Sequence[int] | None = None
) -> list[Match]:
    """The matches (of these families when given) whose trial started in [start, end), for the figures."""
    query = select(Match).where(col(Match.started_at) >= start, col(Match.started_at) < end)
    return list(session.exec(of_families(query, Match.family_id, family_ids)))


def ended_between(
    *, session: Session, start: datetime, end: datetime, family_ids: Sequence[int] | None = None
) -> list[Match]:
    """The matches (of these families when given) that had started and ended in [start, end), for the figures."""
    query = select(Match).where(
        col(Match.ended_at) >= start, col(Match.ended_at) < end, col(Match.started_at).is_not(None)
    )
    return list(session.exec(of_families(query, Match.family_id, family_ids)))


def outcomes_between(
    *, session: Session, start: datetime, end: datetime, family_ids: Sequence[int] | None = None
) -> list[str]:
    """What became of the match times (of these families' matches when given) that began in [start, end)."""
    query = select(col(MatchOccurrence.outcome)).where(
        col(MatchOccurrence.starts_at) >= start,
        col(MatchOccurrence.starts_at) < end,
        col(MatchOccurrence.outcome).is_not(None),
    )
    if family_ids is not None:
        theirs = select(col(Match.id)).where(col(Match.family_id).in_(list(family_ids)))
        query = query.where(col(MatchOccurrence.match_id).in_(theirs))
    return [outcome or "" for outcome in session.exec(query)]


# --- a called-off time to the pool --------------------------------------------------------------


def claim_pool(*, session: Session, occurrence_id: int, now: datetime) -> bool:
    """Mark that the family asked for this called-off time to go to the pool; once (a second tap: false)."""
    return set_once(session, MatchOccurrence, occurrence_id, MatchOccurrence.pool_asked_at, pool_asked_at=now)


def set_pool_request(*, session: Session, occurrence_id: int, request_id: int) -> None:
    """Link the one-off request made for a called-off time."""
    updated(session, MatchOccurrence, col(MatchOccurrence.id) == occurrence_id, pool_request_id=request_id)


# --- a support household's other adults ---------------------------------------------------------


def add_member(
    *, session: Session, match_id: int, person_id: int, added_by_id: int | None, now: datetime
) -> MatchMember | None:
    """Add an adult to the helper's household in this match; None when they are in it already."""
    row = MatchMember(match_id=match_id, person_id=person_id, added_by_id=added_by_id, added_at=now)
    return saved_if_new(session, row, col(MatchMember.match_id) == match_id, col(MatchMember.person_id) == person_id)


def get_member(*, session: Session, member_id: int) -> MatchMember | None:
    """A household member row as stored now."""
    return fresh(session, MatchMember, member_id)


def members(*, session: Session, match_id: int, active_only: bool = False) -> list[MatchMember]:
    """The other adults of the match's household (with `active_only`: those who did not decline), in order."""
    query = select(MatchMember).where(col(MatchMember.match_id) == match_id)
    if active_only:
        query = query.where(col(MatchMember.declined_at).is_(None))
    return list(session.exec(query.order_by(col(MatchMember.id))))


def answer_member(*, session: Session, member_id: int, accept: bool, now: datetime) -> bool:
    """A household member agrees or declines, once."""
    values = {"accepted_at": now} if accept else {"declined_at": now}
    undeclined = col(MatchMember.declined_at).is_(None)
    return set_once(session, MatchMember, member_id, MatchMember.accepted_at, undeclined, **values)


def leave_households(*, session: Session, person_id: int, now: datetime) -> int:
    """A person leaves Waakvlam: they are no longer an adult of any support household; how many."""
    theirs = col(MatchMember.person_id) == person_id, col(MatchMember.declined_at).is_(None)
    return updated(session, MatchMember, *theirs, declined_at=now)


def record_give_back(
    *, session: Session, family_id: int, helper_id: int, match_id: int | None, kind: str, now: datetime
) -> MatchGiveBack:
    """What a family offered back to its support volunteer."""
    return saved(
        session, MatchGiveBack(family_id=family_id, helper_id=helper_id, match_id=match_id, kind=kind, offered_at=now)
    )


def get_give_back(*, session: Session, give_back_id: int) -> MatchGiveBack | None:
    """An offer back as stored now."""
    return fresh(session, MatchGiveBack, give_back_id)


def answer_give_back(*, session: Session, give_back_id: int, outcome: str, side: str, now: datetime) -> bool:
    """Whether the offer back happened, once (the first of the two sides to say so)."""
    values = {"outcome": outcome, "answered_by": side, "answered_at": now}
    return set_once(session, MatchGiveBack, give_back_id, MatchGiveBack.outcome, **values)


def give_backs_between(
    *, session: Session, start: datetime, end: datetime, family_ids: Sequence[int] | None = None
) -> list[str | None]:
    """What became of the offers back made in [start, end) (by these families when given): None if not known."""
    query = select(col(MatchGiveBack.outcome)).where(
        col(MatchGiveBack.offered_at) >= start, col(MatchGiveBack.offered_at) < end
    )
    return list(session.exec(of_families(query, MatchGiveBack.family_id, family_ids)))
