"""Check-ins, concerns, escalation steps, forum topics, relay links and timelines.

Every change that two people (or two taps) could race for is one conditional UPDATE, so a double tap
answers a check-in once and two coordinators cannot both claim a concern. Nothing here stores what a
family or coordinator wrote: relayed messages are copied by Telegram and only their ids are kept.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime

from sqlalchemy import and_, delete, func, or_, select, update
from sqlmodel import Session, col

from storage.db import fresh, rowcount, saved, update_given, upsert_insert
from storage.models import (
    CheckIn,
    Concern,
    CoordinatorProfile,
    EscalationStep,
    FamilyProfile,
    FamilyTopic,
    HelpRequest,
    JobStatus,
    Person,
    RelayLink,
    Role,
    ScheduledJob,
    Setting,
    TimelineEvent,
)

OPEN_REQUEST_STATUSES = ("open", "accepted")


class ConcernStatus:
    OPEN = "open"
    CLAIMED = "claimed"
    CLOSED = "closed"


# --- family check-in settings ---------------------------------------------------------------------


def get_family_profile(*, session: Session, family_id: int) -> FamilyProfile | None:
    return fresh(session, FamilyProfile, family_id)


def set_rhythm(
    *,
    session: Session,
    family_id: int,
    rhythm: str | None = None,
    weekday: int | None = None,
    daypart: str | None = None,
    auto_step_down: bool | None = None,
) -> FamilyProfile | None:
    """Change any of the family's check-in settings; the others stay as they are."""
    profile = get_family_profile(session=session, family_id=family_id)
    if profile is None:
        return None
    if rhythm is not None:
        profile.checkin_rhythm = rhythm
    if weekday is not None:
        profile.checkin_weekday = weekday
    if daypart is not None:
        profile.checkin_daypart = daypart
    if auto_step_down is not None:
        profile.checkin_auto_step_down = auto_step_down
    return saved(session, profile)


def set_pause(*, session: Session, family_id: int, until: date | None) -> FamilyProfile | None:
    profile = get_family_profile(session=session, family_id=family_id)
    if profile is None:
        return None
    profile.checkin_paused_until = until
    return saved(session, profile)


def set_counters(
    *, session: Session, family_id: int, good_streak: int | None = None, missed: int | None = None
) -> None:
    """A family's check-in counters (those given)."""
    where = col(FamilyProfile.person_id) == family_id
    update_given(session, FamilyProfile, where, good_streak=good_streak, missed_checkins=missed)


def add_missed(*, session: Session, family_id: int) -> int:
    """Count one more missed check-in in a row; returns the new count."""
    session.execute(
        update(FamilyProfile)
        .where(col(FamilyProfile.person_id) == family_id)
        .values(missed_checkins=FamilyProfile.missed_checkins + 1)
    )
    count = session.execute(
        select(col(FamilyProfile.missed_checkins)).where(col(FamilyProfile.person_id) == family_id)
    ).scalar_one_or_none()
    return int(count or 0)


def set_coordinators(*, session: Session, family_id: int, primary_id: int) -> FamilyProfile | None:
    """Make `primary_id` the family's primary coordinator, with that coordinator's duo partner."""
    profile = get_family_profile(session=session, family_id=family_id)
    if profile is None:
        return None
    partner = session.get(CoordinatorProfile, primary_id)
    profile.primary_coordinator_id = primary_id
    profile.partner_coordinator_id = partner.duo_partner_id if partner else None
    return saved(session, profile)


def set_duo_partner(*, session: Session, coordinator_id: int, partner_id: int | None) -> None:
    """Pair two coordinators both ways; their families get the new partner."""
    profile = session.get(CoordinatorProfile, coordinator_id) or CoordinatorProfile(person_id=coordinator_id)
    old_partner = profile.duo_partner_id
    profile.duo_partner_id = partner_id
    session.add(profile)
    if old_partner is not None and old_partner != partner_id:
        session.execute(
            update(CoordinatorProfile)
            .where(
                col(CoordinatorProfile.person_id) == old_partner,
                col(CoordinatorProfile.duo_partner_id) == coordinator_id,
            )
            .values(duo_partner_id=None)
        )
    if partner_id is not None:
        other = session.get(CoordinatorProfile, partner_id) or CoordinatorProfile(person_id=partner_id)
        other.duo_partner_id = coordinator_id
        session.add(other)
        session.flush()
        session.execute(
            update(FamilyProfile)
            .where(col(FamilyProfile.primary_coordinator_id) == partner_id)
            .values(partner_coordinator_id=coordinator_id)
        )
    session.flush()
    session.execute(
        update(FamilyProfile)
        .where(col(FamilyProfile.primary_coordinator_id) == coordinator_id)
        .values(partner_coordinator_id=partner_id)
    )


def families(*, session: Session, coordinator_id: int | None = None, limit: int | None = 50) -> list[Person]:
    """Signed-up families, those of one coordinator (primary or partner) when given, by name (all: `limit=None`)."""
    query = (
        select(Person)
        .join(FamilyProfile, col(FamilyProfile.person_id) == col(Person.id))
        .where(col(Person.role) == Role.FAMILY, col(Person.consent_at).is_not(None))
    )
    if coordinator_id is not None:
        query = query.where(
            or_(
                col(FamilyProfile.primary_coordinator_id) == coordinator_id,
                col(FamilyProfile.partner_coordinator_id) == coordinator_id,
            )
        )
    query = query.order_by(col(Person.display_name), col(Person.id))
    return list(session.execute(query if limit is None else query.limit(limit)).scalars())


def volunteer_families(*, session: Session, volunteer_id: int, limit: int = 8) -> list[Person]:
    """Families a volunteer has (had) a task with: the ones they may raise a concern about."""
    family_ids = (
        select(col(HelpRequest.family_id))
        .where(col(HelpRequest.assigned_volunteer_id) == volunteer_id)
        .distinct()
        .scalar_subquery()
    )
    return list(
        session.execute(
            select(Person)
            .where(col(Person.id).in_(family_ids), col(Person.consent_at).is_not(None))
            .order_by(col(Person.display_name))
            .limit(limit)
        ).scalars()
    )


def open_request_count(*, session: Session, family_id: int) -> int:
    return int(
        session.execute(
            select(func.count()).where(
                col(HelpRequest.family_id) == family_id, col(HelpRequest.status).in_(OPEN_REQUEST_STATUSES)
            )
        ).scalar_one()
    )


# --- check-ins ------------------------------------------------------------------------------------


def create_checkin(
    *, session: Session, family_id: int, due_at: datetime, now: datetime, manual: bool = False
) -> CheckIn:
    checkin = CheckIn(family_id=family_id, due_at=due_at, sent_at=now, manual=manual)
    return saved(session, checkin)


def get_checkin(*, session: Session, checkin_id: int) -> CheckIn | None:
    return fresh(session, CheckIn, checkin_id)


def answer_checkin(*, session: Session, checkin_id: int, family_id: int, answer: str, now: datetime) -> bool:
    """Record an answer, once: true only for the first answer of this family's own check-in."""
    result = session.execute(
        update(CheckIn)
        .where(col(CheckIn.id) == checkin_id, col(CheckIn.family_id) == family_id, col(CheckIn.answer).is_(None))
        .values(answer=answer, answered_at=now)
    )
    return bool(rowcount(result))


def mark_reminded(*, session: Session, checkin_id: int, now: datetime) -> bool:
    result = session.execute(
        update(CheckIn)
        .where(
            col(CheckIn.id) == checkin_id,
            col(CheckIn.answer).is_(None),
            col(CheckIn.reminded_at).is_(None),
            col(CheckIn.missed).is_(False),
        )
        .values(reminded_at=now)
    )
    return bool(rowcount(result))


def mark_missed(*, session: Session, checkin_id: int) -> bool:
    result = session.execute(
        update(CheckIn)
        .where(col(CheckIn.id) == checkin_id, col(CheckIn.answer).is_(None), col(CheckIn.missed).is_(False))
        .values(missed=True)
    )
    return bool(rowcount(result))


def last_sent_checkin(*, session: Session, family_id: int) -> CheckIn | None:
    return session.execute(
        select(CheckIn)
        .where(col(CheckIn.family_id) == family_id, col(CheckIn.sent_at).is_not(None))
        .order_by(col(CheckIn.sent_at).desc(), col(CheckIn.id).desc())
        .limit(1)
    ).scalar_one_or_none()


def recent_checkins(*, session: Session, family_id: int, limit: int = 5) -> list[CheckIn]:
    """The latest sent check-ins, newest first."""
    return list(
        session.execute(
            select(CheckIn)
            .where(col(CheckIn.family_id) == family_id, col(CheckIn.sent_at).is_not(None))
            .order_by(col(CheckIn.sent_at).desc(), col(CheckIn.id).desc())
            .limit(limit)
        ).scalars()
    )


# --- concerns -------------------------------------------------------------------------------------


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
    query = select(Concern).where(col(Concern.family_id) == family_id, col(Concern.status) != ConcernStatus.CLOSED)
    if raised_by_id is not None:
        query = query.where(col(Concern.raised_by_id) == raised_by_id)
    if sources:
        query = query.where(col(Concern.source).in_(list(sources)))
    if exclude_sources:
        query = query.where(col(Concern.source).not_in(list(exclude_sources)))
    return session.execute(query.order_by(col(Concern.id).desc()).limit(1)).scalar_one_or_none()


def open_concern_raised_by(*, session: Session, person_id: int) -> Concern | None:
    """The newest open concern this person raised (a volunteer's concern, or one without a family)."""
    return session.execute(
        select(Concern)
        .where(col(Concern.raised_by_id) == person_id, col(Concern.status) != ConcernStatus.CLOSED)
        .order_by(col(Concern.id).desc())
        .limit(1)
    ).scalar_one_or_none()


def acknowledge(*, session: Session, concern_id: int, now: datetime) -> bool:
    """Stop the escalation chain; true if this was the first acknowledgement."""
    result = session.execute(
        update(Concern)
        .where(
            col(Concern.id) == concern_id,
            col(Concern.acknowledged_at).is_(None),
            col(Concern.status) != ConcernStatus.CLOSED,
        )
        .values(acknowledged_at=now)
    )
    return bool(rowcount(result))


def claim(*, session: Session, concern_id: int, coordinator_id: int, now: datetime) -> bool:
    """ "I'll take this": true for the first coordinator to claim an open concern (which also acknowledges it)."""
    result = session.execute(
        update(Concern)
        .where(
            col(Concern.id) == concern_id,
            col(Concern.claimed_by_id).is_(None),
            col(Concern.status) == ConcernStatus.OPEN,
        )
        .values(
            claimed_by_id=coordinator_id,
            status=ConcernStatus.CLAIMED,
            acknowledged_at=func.coalesce(Concern.acknowledged_at, now),
        )
    )
    return bool(rowcount(result))


def close(*, session: Session, concern_id: int, coordinator_id: int, note: str | None, now: datetime) -> bool:
    """Close a concern with a short note; true only the first time."""
    result = session.execute(
        update(Concern)
        .where(col(Concern.id) == concern_id, col(Concern.status) != ConcernStatus.CLOSED)
        .values(
            status=ConcernStatus.CLOSED,
            closed_at=now,
            close_note=(note or "")[:500] or None,
            claimed_by_id=func.coalesce(Concern.claimed_by_id, coordinator_id),
            acknowledged_at=func.coalesce(Concern.acknowledged_at, now),
        )
    )
    return bool(rowcount(result))


def set_level(*, session: Session, concern_id: int, level: int) -> None:
    session.execute(update(Concern).where(col(Concern.id) == concern_id).values(escalation_level=level))


def add_escalation_step(
    *, session: Session, concern_id: int, level: int, target: str, notified: Sequence[int], now: datetime
) -> EscalationStep:
    step = EscalationStep(concern_id=concern_id, level=level, target=target, notified=list(notified), at=now)
    return saved(session, step)


def escalation_steps(*, session: Session, concern_id: int) -> list[EscalationStep]:
    return list(
        session.execute(
            select(EscalationStep)
            .where(col(EscalationStep.concern_id) == concern_id)
            .order_by(col(EscalationStep.level), col(EscalationStep.id))
        ).scalars()
    )


def notified_ids(*, session: Session, concern_id: int) -> list[int]:
    """Everyone alerted about a concern so far, in the order they were alerted."""
    seen: list[int] = []
    for step in escalation_steps(session=session, concern_id=concern_id):
        seen.extend(person_id for person_id in step.notified if person_id not in seen)
    return seen


def concerns_of(*, session: Session, family_id: int, limit: int = 10) -> list[Concern]:
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
    result = session.execute(
        update(Concern).where(col(Concern.id) == concern_id, condition).values(waiting_since=since)
    )
    return bool(rowcount(result))


def release_claim(*, session: Session, concern_id: int) -> bool:
    """The claimer can no longer be reached: the concern is open and unacknowledged again."""
    result = session.execute(
        update(Concern)
        .where(col(Concern.id) == concern_id, col(Concern.status) == ConcernStatus.CLAIMED)
        .values(status=ConcernStatus.OPEN, claimed_by_id=None, acknowledged_at=None)
    )
    return bool(rowcount(result))


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


# --- forum topics ---------------------------------------------------------------------------------


def get_topic(*, session: Session, family_id: int) -> FamilyTopic | None:
    return fresh(session, FamilyTopic, family_id)


def save_topic(*, session: Session, family_id: int, chat_id: int, thread_id: int) -> None:
    topic = session.get(FamilyTopic, family_id) or FamilyTopic(
        family_id=family_id, chat_id=chat_id, thread_id=thread_id
    )
    topic.chat_id = chat_id
    topic.thread_id = thread_id
    session.add(topic)


def drop_topic(*, session: Session, family_id: int, thread_id: int | None = None) -> None:
    """Forget a family's topic (it was deleted in Telegram); with `thread_id`, only if it is still that one."""
    conditions = [col(FamilyTopic.family_id) == family_id]
    if thread_id is not None:
        conditions.append(col(FamilyTopic.thread_id) == thread_id)
    session.execute(delete(FamilyTopic).where(*conditions))


def family_for_thread(*, session: Session, chat_id: int, thread_id: int) -> int | None:
    return session.execute(
        select(col(FamilyTopic.family_id)).where(
            col(FamilyTopic.chat_id) == chat_id, col(FamilyTopic.thread_id) == thread_id
        )
    ).scalar_one_or_none()


def move_topics(*, session: Session, old_chat_id: int, new_chat_id: int) -> None:
    session.execute(update(FamilyTopic).where(col(FamilyTopic.chat_id) == old_chat_id).values(chat_id=new_chat_id))


# --- relay links ----------------------------------------------------------------------------------


def add_relay_link(
    *,
    session: Session,
    chat_id: int,
    message_id: int,
    family_id: int,
    now: datetime,
    concern_id: int | None = None,
) -> None:
    """Remember that a message in a coordinator's chat belongs to a family (or the volunteer who raised it).

    `family_id` is the person a reply to that message goes back to: the family, or for a volunteer's
    concern the volunteer. Only ids are kept, never the message.
    """
    session.execute(
        upsert_insert(session, RelayLink)
        .values(chat_id=chat_id, message_id=message_id, family_id=family_id, concern_id=concern_id, created_at=now)
        .on_conflict_do_nothing(index_elements=["chat_id", "message_id"])
    )


def get_relay_link(*, session: Session, chat_id: int, message_id: int) -> RelayLink | None:
    return session.execute(
        select(RelayLink).where(col(RelayLink.chat_id) == chat_id, col(RelayLink.message_id) == message_id)
    ).scalar_one_or_none()


def move_relay_links(*, session: Session, old_chat_id: int, new_chat_id: int) -> None:
    session.execute(update(RelayLink).where(col(RelayLink.chat_id) == old_chat_id).values(chat_id=new_chat_id))


# --- timeline -------------------------------------------------------------------------------------


def timeline(*, session: Session, family_id: int, limit: int = 20) -> list[TimelineEvent]:
    """The family's latest events, newest first."""
    return list(
        session.execute(
            select(TimelineEvent)
            .where(col(TimelineEvent.family_id) == family_id)
            .order_by(col(TimelineEvent.at).desc(), col(TimelineEvent.id).desc())
            .limit(limit)
        ).scalars()
    )


def last_event_at(
    *, session: Session, family_id: int, kinds: Sequence[str], actor_id: int | None = None
) -> datetime | None:
    conditions = [col(TimelineEvent.family_id) == family_id, col(TimelineEvent.kind).in_(list(kinds))]
    if actor_id is not None:
        conditions.append(col(TimelineEvent.actor_id) == actor_id)
    value = session.execute(select(func.max(TimelineEvent.at)).where(and_(*conditions))).scalar_one_or_none()
    if value is not None and value.tzinfo is None:
        # An aggregate bypasses the column type, so SQLite hands back a naive (UTC) value.
        value = value.replace(tzinfo=UTC)
    return value


def last_event(*, session: Session, family_id: int, kind: str, actor_id: int) -> TimelineEvent | None:
    """The newest event of one kind by one actor on a family's timeline (e.g. their last relayed message)."""
    return session.execute(
        select(TimelineEvent)
        .where(
            col(TimelineEvent.family_id) == family_id,
            col(TimelineEvent.kind) == kind,
            col(TimelineEvent.actor_id) == actor_id,
        )
        .order_by(col(TimelineEvent.at).desc(), col(TimelineEvent.id).desc())
        .limit(1)
    ).scalar_one_or_none()


# --- scheduled check-ins --------------------------------------------------------------------------


def next_job_due(*, session: Session, kind: str, subject_id: int) -> datetime | None:
    """When the next pending job of this kind for this subject is due (e.g. a family's next check-in)."""
    value = session.execute(
        select(func.min(ScheduledJob.due_at)).where(
            col(ScheduledJob.kind) == kind,
            col(ScheduledJob.subject_id) == subject_id,
            col(ScheduledJob.status) == JobStatus.PENDING,
        )
    ).scalar_one_or_none()
    if value is not None and value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value


# --- runtime settings and chat moves --------------------------------------------------------------


def get_setting(*, session: Session, key: str) -> str | None:
    """A small runtime fact kept across restarts (such as the coordinators' group id), or None."""
    stored = session.get(Setting, key)
    return stored.value if stored is not None else None


def save_setting(*, session: Session, key: str, value: str) -> None:
    setting = session.get(Setting, key) or Setting(key=key, value="")
    setting.value = value
    session.add(setting)
    session.flush()


def move_chat(*, session: Session, old_chat_id: int, new_chat_id: int) -> None:
    """A group became a supergroup: its topics and relay links follow it to the new chat id."""
    session.execute(update(FamilyTopic).where(col(FamilyTopic.chat_id) == old_chat_id).values(chat_id=new_chat_id))
    session.execute(update(RelayLink).where(col(RelayLink.chat_id) == old_chat_id).values(chat_id=new_chat_id))
