"""Concerns and their escalation: raising, acknowledging, claiming, closing, and who is told.

Every change that two people (or two taps) could race for is one conditional UPDATE, so two coordinators
cannot both claim a concern. Nothing here stores what a family or coordinator wrote.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, select
from sqlmodel import Session, col

from storage.db import fresh, saved, set_once, updated
from storage.models import (
    Concern,
    EscalationStep,
    Person,
    Role,
    TimelineEvent,
)


class ConcernStatus:
    """The states a concern goes through: open, claimed by a coordinator, closed."""

    OPEN = "open"
    CLAIMED = "claimed"
    CLOSED = "closed"


def make_urgent(*, session: Session, concern: Concern) -> Concern:
    """An open concern becomes urgent (a danger sign arrived): unacknowledged again, so everyone hears."""
    concern.urgent = True
    concern.acknowledged_at = None
    session.add(concern)
    session.flush()
    return concern


def create_concern(
    *,
    session: Session,
    family_id: int | None,
    raised_by_id: int | None,
    source: str,
    now: datetime,
    urgent: bool = False,
    language: str | None = None,
    request_id: int | None = None,
) -> Concern:
    """Record a new concern about a family (or raised by a volunteer), open and unacknowledged."""
    concern = Concern(
        family_id=family_id,
        raised_by_id=raised_by_id,
        request_id=request_id,
        source=source,
        urgent=urgent,
        language=language,
        created_at=now,
    )
    return saved(session, concern)


def get_concern(*, session: Session, concern_id: int) -> Concern | None:
    """A concern, read fresh, or None."""
    return fresh(session, Concern, concern_id)


def open_concern(
    *,
    session: Session,
    family_id: int,
    raised_by_id: int | None = None,
    sources: Sequence[str] = (),
    exclude_sources: Sequence[str] = (),
) -> Concern | None:
    """The newest concern about this family that is not closed (raised by this person / from these sources)."""
    key = (raised_by_id is not None, tuple(sources), tuple(exclude_sources))
    query = _OPEN_CONCERN.get(key)
    if query is None:
        # Built once per kind of question: every relayed line asks it (the sources are the callers' constants).
        query = select(Concern).where(
            col(Concern.family_id) == bindparam("family_id"), col(Concern.status) != ConcernStatus.CLOSED
        )
        if raised_by_id is not None:
            query = query.where(col(Concern.raised_by_id) == bindparam("raised_by_id"))
        if sources:
            query = query.where(col(Concern.source).in_(list(sources)))
        if exclude_sources:
            query = query.where(col(Concern.source).not_in(list(exclude_sources)))
        query = _OPEN_CONCERN[key] = query.order_by(col(Concern.id).desc()).limit(1)
    values: dict[str, int] = {"family_id": family_id}
    if raised_by_id is not None:
        values["raised_by_id"] = raised_by_id
    return session.execute(query, values).scalar_one_or_none()


_OPEN_CONCERN: dict[tuple[bool, tuple[str, ...], tuple[str, ...]], Any] = {}


def open_concern_raised_by(*, session: Session, person_id: int) -> Concern | None:
    """The newest open concern this person raised (a volunteer's concern, or one without a family)."""
    return session.execute(_RAISED_BY, {"person_id": person_id}).scalar_one_or_none()


# Built once: a volunteer's every relayed line asks it.
_RAISED_BY = (
    select(Concern)
    .where(col(Concern.raised_by_id) == bindparam("person_id"), col(Concern.status) != ConcernStatus.CLOSED)
    .order_by(col(Concern.id).desc())
    .limit(1)
)


def acknowledge(*, session: Session, concern_id: int, now: datetime) -> bool:
    """Stop the escalation chain; true if this was the first acknowledgement."""
    not_closed = col(Concern.status) != ConcernStatus.CLOSED
    return set_once(session, Concern, concern_id, Concern.acknowledged_at, not_closed, acknowledged_at=now)


def claim(*, session: Session, concern_id: int, coordinator_id: int, now: datetime) -> bool:
    """ "I'll take this": true for the first coordinator to claim an open concern (which also acknowledges it)."""
    return set_once(
        session,
        Concern,
        concern_id,
        Concern.claimed_by_id,
        col(Concern.status) == ConcernStatus.OPEN,
        claimed_by_id=coordinator_id,
        status=ConcernStatus.CLAIMED,
        acknowledged_at=func.coalesce(Concern.acknowledged_at, now),
    )


def close(*, session: Session, concern_id: int, coordinator_id: int, note: str | None, now: datetime) -> bool:
    """Close a concern with a short note; true only the first time."""
    not_closed = col(Concern.id) == concern_id, col(Concern.status) != ConcernStatus.CLOSED
    closed = updated(
        session,
        Concern,
        *not_closed,
        status=ConcernStatus.CLOSED,
        closed_at=now,
        close_note=(note or "")[:500] or None,
        claimed_by_id=func.coalesce(Concern.claimed_by_id, coordinator_id),
        acknowledged_at=func.coalesce(Concern.acknowledged_at, now),
    )
    return bool(closed)


def set_level(*, session: Session, concern_id: int, level: int) -> None:
    """Note how far a concern's escalation has gone."""
    updated(session, Concern, col(Concern.id) == concern_id, escalation_level=level)


def add_escalation_step(
    *, session: Session, concern_id: int, level: int, target: str, notified: Sequence[int], now: datetime
) -> EscalationStep:
    """Record one escalation step: its level, who it went to, and when."""
    step = EscalationStep(concern_id=concern_id, level=level, target=target, notified=list(notified), at=now)
    return saved(session, step)


def escalation_steps(*, session: Session, concern_id: int) -> list[EscalationStep]:
    """A concern's escalation steps, in the order they were taken."""
    return list(session.execute(_STEPS_OF_CONCERN, {"concern_id": concern_id}).scalars())


# Built once: the rights check of every coordinator's line to a family asks who was alerted.
_STEPS_OF_CONCERN = (
    select(EscalationStep)
    .where(col(EscalationStep.concern_id) == bindparam("concern_id"))
    .order_by(col(EscalationStep.level), col(EscalationStep.id))
)


def notified_ids(*, session: Session, concern_id: int) -> list[int]:
    """Everyone alerted about a concern so far, in the order they were alerted."""
    seen: list[int] = []
    for step in escalation_steps(session=session, concern_id=concern_id):
        seen.extend(person_id for person_id in step.notified if person_id not in seen)
    return seen


def concerns_of(*, session: Session, family_id: int, limit: int = 10) -> list[Concern]:
    """A family's latest concerns, newest first."""
    return list(
        session.execute(
            select(Concern).where(col(Concern.family_id) == family_id).order_by(col(Concern.id).desc()).limit(limit)
        ).scalars()
    )


def open_concerns(*, session: Session, family_id: int | None = None, limit: int = 50) -> list[Concern]:
    """Concerns that are not closed: urgent first, then the ones still waiting for a recipient, oldest first."""
    query = select(Concern).where(col(Concern.status) != ConcernStatus.CLOSED)
    if family_id is not None:
        query = query.where(col(Concern.family_id) == family_id)
    order = (col(Concern.urgent).desc(), col(Concern.waiting_since).is_(None), col(Concern.id))
    return list(session.execute(query.order_by(*order).limit(limit)).scalars())


def waiting_concerns(*, session: Session, limit: int = 200) -> list[Concern]:
    """Open concerns that no coordinator could receive yet, oldest first."""
    return list(
        session.execute(
            select(Concern)
            .where(col(Concern.status) != ConcernStatus.CLOSED, col(Concern.waiting_since).is_not(None))
            .order_by(col(Concern.id))
            .limit(limit)
        ).scalars()
    )


def set_waiting(*, session: Session, concern_id: int, since: datetime | None) -> bool:
    """Mark a concern as waiting for a recipient (or delivered, with None); true if that changed."""
    condition = col(Concern.waiting_since).is_(None) if since is not None else col(Concern.waiting_since).is_not(None)
    return bool(updated(session, Concern, col(Concern.id) == concern_id, condition, waiting_since=since))


def release_claim(*, session: Session, concern_id: int) -> bool:
    """The claimer can no longer be reached: the concern is open and unacknowledged again."""
    claimed = col(Concern.id) == concern_id, col(Concern.status) == ConcernStatus.CLAIMED
    return bool(
        updated(session, Concern, *claimed, status=ConcernStatus.OPEN, claimed_by_id=None, acknowledged_at=None)
    )


def relayed_messages(*, session: Session, concern_id: int, limit: int = 30) -> list[tuple[int, int, int | None]]:
    """(chat id, message id, writer) of what was relayed in for this concern, oldest first (ids, no contents)."""
    rows = session.execute(
        select(TimelineEvent)
        .where(col(TimelineEvent.kind) == "relay_in", col(TimelineEvent.ref_id) == concern_id)
        .order_by(col(TimelineEvent.id).desc())
        .limit(limit)
    ).scalars()
    found: list[tuple[int, int, int | None]] = []
    for event in rows:
        chat_id, message_id = event.detail.get("chat_id"), event.detail.get("message_id")
        if isinstance(chat_id, int) and isinstance(message_id, int):
            found.append((chat_id, message_id, event.actor_id))
    return list(reversed(found))


def reachable_admins(*, session: Session) -> list[Person]:
    """Admins the bot can write to, also one who has not finished signing up (the deployment named them)."""
    return list(
        session.execute(
            select(Person)
            .where(
                col(Person.is_admin).is_(True),
                col(Person.telegram_id).is_not(None),
                col(Person.reachable).is_(True),
                col(Person.anonymised_at).is_(None),
            )
            .order_by(col(Person.id))
        ).scalars()
    )


def unreachable_coordinator_ids(*, session: Session) -> set[int]:
    """Coordinators the bot cannot write to (they blocked it, or their account is gone)."""
    query = select(col(Person.id)).where(col(Person.role) == Role.COORDINATOR, col(Person.reachable).is_(False))
    return {int(person_id) for person_id in session.execute(query).scalars() if person_id is not None}
