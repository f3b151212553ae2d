"""Family check-in settings, check-ins, forum topics, relay links, timelines and runtime settings.

Concerns and their escalation are in `storage.concerns`. Every change that two taps could race for is one
conditional UPDATE, so a double tap answers a check-in once. Nothing here stores what a
family or coordinator wrote: relayed messages are copied by Telegram and only their ids are kept.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import and_, bindparam, delete, func, or_, select
from sqlmodel import Session, col

from storage.db import fresh, insert_new, saved, set_given, set_once, update_given, updated
from storage.models import (
    CheckIn,
    CoordinatorProfile,
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


# --- family check-in settings ---------------------------------------------------------------------


def get_family_profile(*, session: Session, family_id: int) -> FamilyProfile | None:
    """A family's check-in settings and coordinators, read fresh, or None."""
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
    set_given(
        profile,
        checkin_rhythm=rhythm,
        checkin_weekday=weekday,
        checkin_daypart=daypart,
        checkin_auto_step_down=auto_step_down,
    )
    return saved(session, profile)


def set_pause(*, session: Session, family_id: int, until: date | None) -> FamilyProfile | None:
    """Pause a family's check-ins until a date (None resumes them); None if there is no such family."""
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
    this_family = col(FamilyProfile.person_id) == family_id
    updated(session, FamilyProfile, this_family, missed_checkins=FamilyProfile.missed_checkins + 1)
    count = session.execute(select(col(FamilyProfile.missed_checkins)).where(this_family)).scalar_one_or_none()
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
        old_duo = (
            col(CoordinatorProfile.person_id) == old_partner,
            col(CoordinatorProfile.duo_partner_id) == coordinator_id,
        )
        updated(session, CoordinatorProfile, *old_duo, duo_partner_id=None)
    if partner_id is not None:
        other = session.get(CoordinatorProfile, partner_id) or CoordinatorProfile(person_id=partner_id)
        other.duo_partner_id = coordinator_id
        session.add(other)
        session.flush()
        _set_partner(session, partner_id, coordinator_id)
    session.flush()
    _set_partner(session, coordinator_id, partner_id)


def _set_partner(session: Session, primary_id: int, partner_id: int | None) -> None:
    """The families of this primary coordinator get `partner_id` as their partner coordinator."""
    primary = col(FamilyProfile.primary_coordinator_id) == primary_id
    updated(session, FamilyProfile, primary, partner_coordinator_id=partner_id)


def families(
    *, session: Session, coordinator_id: int | None = None, limit: int | None = 50, team_id: int | None = None
) -> list[Person]:
    """Signed-up families, those of one coordinator (primary or partner) or one team when given, by name.

    All of them: `limit=None`."""
    query = (
        select(Person)
        .join(FamilyProfile, col(FamilyProfile.person_id) == col(Person.id))
        .where(col(Person.role) == Role.FAMILY, col(Person.consent_at).is_not(None))
    )
    if team_id is not None:
        query = query.where(col(FamilyProfile.team_id) == team_id)
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
    """How many of a family's requests are still open or accepted."""
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
    """Record a check-in sent to a family now (`manual`: a coordinator sent it by hand)."""
    checkin = CheckIn(family_id=family_id, due_at=due_at, sent_at=now, manual=manual)
    return saved(session, checkin)


def get_checkin(*, session: Session, checkin_id: int) -> CheckIn | None:
    """A check-in, read fresh, or None."""
    return fresh(session, CheckIn, checkin_id)


def answer_checkin(*, session: Session, checkin_id: int, family_id: int, answer: str, now: datetime) -> bool:
    """Record an answer, once: true only for the first answer of this family's own check-in."""
    theirs = col(CheckIn.family_id) == family_id
    return set_once(session, CheckIn, checkin_id, CheckIn.answer, theirs, answer=answer, answered_at=now)


def mark_reminded(*, session: Session, checkin_id: int, now: datetime) -> bool:
    """Note that an unanswered check-in got its reminder; False if it was answered, missed or reminded already."""
    waiting = col(CheckIn.answer).is_(None), col(CheckIn.missed).is_(False)
    return set_once(session, CheckIn, checkin_id, CheckIn.reminded_at, *waiting, reminded_at=now)


def mark_missed(*, session: Session, checkin_id: int) -> bool:
    """Mark an unanswered check-in as missed, once; False if it was answered or missed already."""
    return set_once(session, CheckIn, checkin_id, CheckIn.answer, col(CheckIn.missed).is_(False), missed=True)


def last_sent_checkin(*, session: Session, family_id: int) -> CheckIn | None:
    """A family's most recently sent check-in, or None."""
    return session.execute(_LAST_SENT_CHECKIN, {"family_id": family_id}).scalar_one_or_none()


# Built once: planning a family's next check-in asks it (each sign-up, answer and rhythm change).
_LAST_SENT_CHECKIN = (
    select(CheckIn)
    .where(col(CheckIn.family_id) == bindparam("family_id"), col(CheckIn.sent_at).is_not(None))
    .order_by(col(CheckIn.sent_at).desc(), col(CheckIn.id).desc())
    .limit(1)
)


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


# --- forum topics ---------------------------------------------------------------------------------


def get_topic(*, session: Session, family_id: int) -> FamilyTopic | None:
    """The forum topic of a family in the coordinators' group, read fresh, or None."""
    return fresh(session, FamilyTopic, family_id)


def save_topic(*, session: Session, family_id: int, chat_id: int, thread_id: int) -> None:
    """Remember (or replace) the forum topic that belongs to a family."""
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
    """The family whose forum topic this thread of this chat is, or None."""
    return session.execute(_FAMILY_OF_THREAD, {"chat_id": chat_id, "thread_id": thread_id}).scalar_one_or_none()


# Built once: every coordinator's line in a topic asks it.
_FAMILY_OF_THREAD = select(col(FamilyTopic.family_id)).where(
    col(FamilyTopic.chat_id) == bindparam("chat_id"), col(FamilyTopic.thread_id) == bindparam("thread_id")
)


def move_topics(*, session: Session, old_chat_id: int, new_chat_id: int) -> None:
    """A group became a supergroup: its families' topics follow it to the new chat id."""
    updated(session, FamilyTopic, col(FamilyTopic.chat_id) == old_chat_id, chat_id=new_chat_id)


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
    link = {"chat_id": chat_id, "message_id": message_id, "family_id": family_id, "concern_id": concern_id}
    insert_new(
        session, RelayLink, {**link, "created_at": now}, conflict=["chat_id", "message_id"], returning=RelayLink.chat_id
    )


def get_relay_link(*, session: Session, chat_id: int, message_id: int) -> RelayLink | None:
    """The family (or volunteer) a message in a coordinator's chat belongs to, or None."""
    return session.execute(
        select(RelayLink).where(col(RelayLink.chat_id) == chat_id, col(RelayLink.message_id) == message_id)
    ).scalar_one_or_none()


def move_relay_links(*, session: Session, old_chat_id: int, new_chat_id: int) -> None:
    """A group became a supergroup: its relay links follow it to the new chat id."""
    updated(session, RelayLink, col(RelayLink.chat_id) == old_chat_id, chat_id=new_chat_id)


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


_LAST_EVENT_AT: dict[tuple[tuple[str, ...], bool], Any] = {}


def last_event_at(
    *, session: Session, family_id: int, kinds: Sequence[str], actor_id: int | None = None
) -> datetime | None:
    """When a family's timeline last saw one of these kinds of event (by this actor, if given), or None."""
    key = (tuple(kinds), actor_id is not None)
    query = _LAST_EVENT_AT.get(key)
    if query is None:
        # Built once per set of kinds (the callers' constants): every relayed line asks one of them.
        conditions = [col(TimelineEvent.family_id) == bindparam("family_id"), col(TimelineEvent.kind).in_(key[0])]
        if actor_id is not None:
            conditions.append(col(TimelineEvent.actor_id) == bindparam("actor_id"))
        query = _LAST_EVENT_AT[key] = select(func.max(TimelineEvent.at)).where(and_(*conditions))
    values: dict[str, int] = {"family_id": family_id}
    if actor_id is not None:
        values["actor_id"] = actor_id
    value = session.execute(query, values).scalar_one_or_none()
    if value is not None and value.tzinfo is None:
        # An aggregate bypasses the column type, so SQLite hands back a naive (UTC) value.
        value = value.replace(tzinfo=UTC)
    return value


def last_event(*, session: Session, family_id: int, kind: str, actor_id: int) -> TimelineEvent | None:
    """The newest event of one kind by one actor on a family's timeline (e.g. their last relayed message)."""
    values = {"family_id": family_id, "kind": kind, "actor_id": actor_id}
    return session.execute(_LAST_EVENT, values).scalar_one_or_none()


# Built once: every relayed line asks it (the pace of the writer's lines).
_LAST_EVENT = (
    select(TimelineEvent)
    .where(
        col(TimelineEvent.family_id) == bindparam("family_id"),
        col(TimelineEvent.kind) == bindparam("kind"),
        col(TimelineEvent.actor_id) == bindparam("actor_id"),
    )
    .order_by(col(TimelineEvent.at).desc(), col(TimelineEvent.id).desc())
    .limit(1)
)


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
    """A small runtime fact kept across restarts (such as the demo's clock), or None."""
    stored = session.get(Setting, key)
    return stored.value if stored is not None else None


def save_setting(*, session: Session, key: str, value: str) -> None:
    """Keep a small runtime fact (such as the demo's clock) across restarts."""
    setting = session.get(Setting, key) or Setting(key=key, value="")
    setting.value = value
    session.add(setting)
    session.flush()


def move_chat(*, session: Session, old_chat_id: int, new_chat_id: int) -> None:
    """A group became a supergroup: its topics and relay links follow it to the new chat id."""
    move_topics(session=session, old_chat_id=old_chat_id, new_chat_id=new_chat_id)
    move_relay_links(session=session, old_chat_id=old_chat_id, new_chat_id=new_chat_id)
