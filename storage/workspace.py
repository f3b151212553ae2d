"""The coordinators' workspace: which Mini App initData were already used (each is accepted once), and the
volunteers' load per week (accepted tasks and times of lasting matches) for the volunteers page."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import and_, delete, or_, select
from sqlalchemy.exc import IntegrityError
from sqlmodel import col

from storage.db import Session
from storage.match_tables import Match, MatchOccurrence
from storage.models import HelpRequest, WorkspaceNonce

# A task counts for its volunteer once accepted, also when it is done or did not happen after all.
TAKEN = ("accepted", "done", "not_happened")
# Match times that were never anyone's load: "not this time" said beforehand, or inside a holiday.
NOT_LOAD = ("skipped", "holiday")


def use_once(*, session: Session, digest: str, now: datetime, forget_before: datetime) -> bool:
    """Record this initData as used; False when it was used before. Entries older than `forget_before` go."""
    session.execute(delete(WorkspaceNonce).where(col(WorkspaceNonce.used_at) < forget_before))
    if session.get(WorkspaceNonce, digest) is not None:
        return False
    try:
        with session.begin_nested():
            session.add(WorkspaceNonce(digest=digest, used_at=now))
            session.flush()
    except IntegrityError:
        return False  # another instance took it at the same moment
    return True


def accepted_tasks_between(
    *, session: Session, volunteer_ids: Sequence[int], start: datetime, end: datetime
) -> list[tuple[int, datetime]]:
    """(volunteer id, when) of the tasks these volunteers accepted that take place in [start, end): a task's
    start, or for a task without a fixed time (a flexible week) the moment it was accepted."""
    if not volunteer_ids:
        return []
    starts, accepted = col(HelpRequest.starts_at), col(HelpRequest.accepted_at)
    query = select(col(HelpRequest.assigned_volunteer_id), starts, accepted).where(
        col(HelpRequest.assigned_volunteer_id).in_(list(volunteer_ids)),
        col(HelpRequest.status).in_(TAKEN),
        or_(
            and_(starts >= start, starts < end),
            and_(starts.is_(None), accepted >= start, accepted < end),
        ),
    )
    return [(int(who), when or taken) for who, when, taken in session.execute(query) if who and (when or taken)]


def helper_times_between(
    *, session: Session, helper_ids: Sequence[int], start: datetime, end: datetime
) -> list[tuple[int, datetime]]:
    """(helper id, start) of the times of lasting matches these helpers have in [start, end): planned, held,
    missed or difficult (not those called off beforehand or fallen in a holiday)."""
    if not helper_ids:
        return []
    starts = col(MatchOccurrence.starts_at)
    query = (
        select(col(Match.helper_id), starts)
        .join(Match, col(Match.id) == col(MatchOccurrence.match_id))
        .where(
            col(Match.helper_id).in_(list(helper_ids)),
            starts >= start,
            starts < end,
            or_(col(MatchOccurrence.outcome).is_(None), col(MatchOccurrence.outcome).not_in(NOT_LOAD)),
        )
    )
    return [(int(who), when) for who, when in session.execute(query)]
