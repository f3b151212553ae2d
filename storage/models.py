"""Tables. Every timestamp is UTC (see `UTCDateTime`); Telegram ids are 64-bit."""

from __future__ import annotations

from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, BigInteger, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from domain.volunteers import VolunteerStatus as VolunteerStatus  # the rules' statuses, re-exported with the rows
from storage.types import UTCDateTime


def utcnow() -> datetime:
    """The current time as an aware UTC datetime (a column default)."""
    return datetime.now(UTC)


class Role(StrEnum):
    FAMILY = "family"
    VOLUNTEER = "volunteer"
    COORDINATOR = "coordinator"
    REFERRER = "referrer"


# --- people ---------------------------------------------------------------------------------------


class Person(SQLModel, table=True):
    """Anyone who has talked to the bot. Before consent only the language is kept."""

    id: int | None = Field(default=None, primary_key=True)
    telegram_id: int | None = Field(default=None, sa_type=BigInteger, unique=True, index=True)
    language: str = Field(default="nl", max_length=8)
    role: str | None = Field(default=None, max_length=16, index=True)
    is_admin: bool = False
    display_name: str | None = Field(default=None, max_length=64)
    consent_version: str | None = Field(default=None, max_length=16)
    consent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    timezone: str = Field(default="Europe/Amsterdam", max_length=64)
    reachable: bool = True
    unreachable_since: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Set when the person erased their data but a safety case keeps an anonymous stub.
    anonymised_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Coordinators, referrers and volunteers work in one team (storage.case_tables.Team); None before sign-up.
    team_id: int | None = Field(default=None, foreign_key="team.id", index=True)
    # A referrer's organisation (a school, a GP practice, JGZ), shown to the families they refer.
    organisation: str | None = Field(default=None, max_length=64)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Area(SQLModel, table=True):
    """A neighbourhood (wijk) used for matching, managed by coordinators."""

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=64, unique=True)
    active: bool = True
    team_id: int | None = Field(default=None, foreign_key="team.id", index=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class FamilyProfile(SQLModel, table=True):
    person_id: int = Field(foreign_key="person.id", primary_key=True, ondelete="CASCADE")
    area_id: int | None = Field(default=None, foreign_key="area.id", index=True)
    team_id: int | None = Field(default=None, foreign_key="team.id", index=True)
    # Where the family stands (domain.cases.CaseState) and since when; each change is a CaseStep row.
    case_state: str = Field(default="intake", max_length=16, index=True)
    case_since: datetime | None = Field(default=None, sa_type=UTCDateTime)
    children_count: int | None = None
    children_ages: str | None = Field(default=None, max_length=64)
    primary_coordinator_id: int | None = Field(default=None, foreign_key="person.id", index=True)
    partner_coordinator_id: int | None = Field(default=None, foreign_key="person.id")
    support_volunteer_id: int | None = Field(default=None, foreign_key="person.id")
    # Shown only to the volunteer who accepted a task, and only what the family agreed to share.
    street: str | None = Field(default=None, max_length=128)
    phone: str | None = Field(default=None, max_length=32)
    share_phone: bool = False
    checkin_rhythm: str = Field(default="biweekly", max_length=16)
    checkin_weekday: int = 1
    checkin_daypart: str = Field(default="morning", max_length=16)
    checkin_paused_until: date | None = None
    checkin_auto_step_down: bool = False
    good_streak: int = 0
    missed_checkins: int = 0
    may_volunteer: bool = False


class VolunteerProfile(SQLModel, table=True):
    person_id: int = Field(foreign_key="person.id", primary_key=True, ondelete="CASCADE")
    status: str = Field(default=VolunteerStatus.PENDING, max_length=16, index=True)
    # Bit i set: available in slot i (weekday * 3 + daypart), see domain.availability.
    availability: int = 0
    languages: str = Field(default="", max_length=64)
    vog_date: date | None = None
    children_ok: bool = False
    approved_by_id: int | None = Field(default=None, foreign_key="person.id")
    approved_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    paused_until: date | None = None
    weekly_cap: int = 3
    last_asked_at: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)


class VolunteerArea(SQLModel, table=True):
    volunteer_id: int = Field(foreign_key="person.id", primary_key=True, ondelete="CASCADE")
    area_id: int = Field(foreign_key="area.id", primary_key=True, index=True)


class VolunteerSkill(SQLModel, table=True):
    volunteer_id: int = Field(foreign_key="person.id", primary_key=True, ondelete="CASCADE")
    skill: str = Field(max_length=32, primary_key=True, index=True)


class CoordinatorProfile(SQLModel, table=True):
    person_id: int = Field(foreign_key="person.id", primary_key=True, ondelete="CASCADE")
    duo_partner_id: int | None = Field(default=None, foreign_key="person.id")


class Invite(SQLModel, table=True):
    """A single-use deep link. Only a hash of the token is stored, so a database leak grants nothing."""

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True)
    role: str = Field(max_length=16)
    created_by_id: int = Field(foreign_key="person.id")
    team_id: int | None = Field(default=None, foreign_key="team.id")
    expires_at: datetime = Field(sa_type=UTCDateTime)
    used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    used_by_id: int | None = Field(default=None, foreign_key="person.id")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class DialogueState(SQLModel, table=True):
    """Where a person is in a dialogue; in the database so restarts and other instances continue it."""

    chat_id: int = Field(sa_type=BigInteger, primary_key=True)
    dialogue: str = Field(max_length=32)
    step: str = Field(max_length=32)
    data: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


# --- help requests --------------------------------------------------------------------------------


class HelpRequest(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    family_id: int = Field(foreign_key="person.id", index=True)
    created_by_id: int = Field(foreign_key="person.id")
    kind: str = Field(max_length=32)
    involves_children: bool = False
    starts_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    ends_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    flexible_week: bool = False
    area_id: int | None = Field(default=None, foreign_key="area.id")
    # The family's words on the task, shown in offers: where a lift goes, or what "something else" is.
    destination: str | None = Field(default=None, max_length=200)
    note: str | None = Field(default=None, max_length=500)
    voice_file_id: str | None = Field(default=None, max_length=200)
    status: str = Field(default="open", max_length=16, index=True)
    assigned_volunteer_id: int | None = Field(default=None, foreign_key="person.id", index=True)
    accepted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    escalated_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    text_purged_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)


class RequestOffer(SQLModel, table=True):
    """A request shown to one volunteer; kept so buttons can be withdrawn and caps counted."""

    __table_args__ = (UniqueConstraint("request_id", "volunteer_id"),)
    id: int | None = Field(default=None, primary_key=True)
    request_id: int = Field(foreign_key="helprequest.id", index=True, ondelete="CASCADE")
    volunteer_id: int = Field(foreign_key="person.id", index=True)
    offered_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    response: str = Field(default="pending", max_length=16)
    responded_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    outbox_id: int | None = None


class TaskOutcome(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("request_id", "person_id"),)
    id: int | None = Field(default=None, primary_key=True)
    request_id: int = Field(foreign_key="helprequest.id", index=True, ondelete="CASCADE")
    person_id: int = Field(foreign_key="person.id")
    outcome: str = Field(max_length=16)
    rating: str | None = Field(default=None, max_length=16)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


# --- check-ins and concerns -----------------------------------------------------------------------


class CheckIn(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    family_id: int = Field(foreign_key="person.id", index=True)
    due_at: datetime = Field(sa_type=UTCDateTime)
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    answer: str | None = Field(default=None, max_length=16)
    answered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    reminded_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    missed: bool = False
    manual: bool = False


class Concern(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    family_id: int | None = Field(default=None, foreign_key="person.id", index=True)
    raised_by_id: int | None = Field(default=None, foreign_key="person.id")
    source: str = Field(max_length=24)
    # The help request it is about, when it was raised after a task (a "Difficult" rating, a worry).
    request_id: int | None = Field(default=None, foreign_key="helprequest.id", ondelete="SET NULL")
    urgent: bool = False
    status: str = Field(default="open", max_length=16, index=True)
    language: str | None = Field(default=None, max_length=8)
    escalation_level: int = 0
    claimed_by_id: int | None = Field(default=None, foreign_key="person.id")
    acknowledged_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    close_note: str | None = Field(default=None, max_length=500)
    # Set while no coordinator (nor admin) could receive it: it waits, visibly, for the first who can.
    waiting_since: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)


class EscalationStep(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    concern_id: int = Field(foreign_key="concern.id", index=True)
    level: int
    target: str = Field(max_length=16)
    notified: list[int] = Field(default_factory=list, sa_type=JSON)
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class ConsentRequest(SQLModel, table=True):
    """A coordinator asked a colleague's consent: to become a family's primary ("primary"), or to be duo
    partners ("duo"). Answered once, by the colleague it was sent to."""

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=16)
    family_id: int | None = Field(default=None, foreign_key="person.id", index=True, ondelete="CASCADE")
    requester_id: int = Field(foreign_key="person.id", ondelete="CASCADE")
    approver_id: int = Field(foreign_key="person.id", ondelete="CASCADE")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    answered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    accepted: bool | None = None


class FamilyTopic(SQLModel, table=True):
    """The forum topic in the coordinators' group that holds one family's timeline."""

    family_id: int = Field(foreign_key="person.id", primary_key=True, ondelete="CASCADE")
    chat_id: int = Field(sa_type=BigInteger)
    thread_id: int = Field(sa_type=BigInteger, index=True)


class RelayLink(SQLModel, table=True):
    """Which relayed message belongs to which family, so a coordinator's reply finds its way back."""

    __table_args__ = (Index("ix_relaylink_chat_message", "chat_id", "message_id", unique=True),)
    id: int | None = Field(default=None, primary_key=True)
    chat_id: int = Field(sa_type=BigInteger)
    message_id: int = Field(sa_type=BigInteger)
    family_id: int = Field(foreign_key="person.id", ondelete="CASCADE")
    concern_id: int | None = Field(default=None, foreign_key="concern.id")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class TimelineEvent(SQLModel, table=True):
    """One line of a family's history. Holds kinds and ids only, never message contents."""

    id: int | None = Field(default=None, primary_key=True)
    family_id: int | None = Field(default=None, foreign_key="person.id", index=True)
    kind: str = Field(max_length=32, index=True)
    actor_id: int | None = Field(default=None, foreign_key="person.id")
    ref_id: int | None = None
    detail: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)


class AuditEntry(SQLModel, table=True):
    """Append-only: who opened which record and every escalation step. No contents."""

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
    actor_id: int | None = None
    action: str = Field(max_length=32)
    subject_id: int | None = None
    detail: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)


class Setting(SQLModel, table=True):
    """Small runtime facts that must survive restarts, such as the coordinators' group id."""

    key: str = Field(max_length=64, primary_key=True)
    value: str = Field(max_length=256)


# --- delivery -------------------------------------------------------------------------------------


class InboxStatus(StrEnum):
    NEW = "new"
    PROCESSING = "processing"
    DONE = "done"
    FAILED = "failed"
    POISON = "poison"


class InboxUpdate(SQLModel, table=True):
    """An update as Telegram sent it, stored before it is confirmed so a crash loses nothing."""

    __table_args__ = (
        Index("ix_inbox_status_update", "status", "update_id"),
        Index("ix_inbox_chat_status_update", "chat_id", "status", "update_id"),
    )
    update_id: int = Field(sa_type=BigInteger, primary_key=True, sa_column_kwargs={"autoincrement": False})
    chat_id: int | None = Field(default=None, sa_type=BigInteger)
    # Dropped once handled: the update holds what people wrote.
    payload: dict[str, Any] | None = Field(default=None, sa_type=JSON)
    status: str = Field(default=InboxStatus.NEW, max_length=16)
    attempts: int = 0
    claimed_by: str | None = Field(default=None, max_length=64)
    claimed_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # A failed update waits until then before it is handled again (None: at once).
    not_before: datetime | None = Field(default=None, sa_type=UTCDateTime)
    error: str | None = Field(default=None, max_length=500)
    received_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    handled_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class OutboxStatus(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"


class OutboxMessage(SQLModel, table=True):
    # The sender's claim reads along this: the most urgent due row first, in the order rows became due
    # (domain/priority.py). It also serves "when is the next row due" (status, then not_before per priority).
    __table_args__ = (Index("ix_outbox_claim", "status", "priority", "not_before", "id"),)
    id: int | None = Field(default=None, primary_key=True)
    dedupe_key: str = Field(max_length=128, unique=True)
    chat_id: int = Field(sa_type=BigInteger, index=True)
    person_id: int | None = Field(default=None, foreign_key="person.id", index=True, ondelete="SET NULL")
    method: str = Field(default="sendMessage", max_length=32)
    payload: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    purpose: str = Field(default="message", max_length=32)
    priority: int = Field(default=2)  # domain.priority.Priority: 0 urgent, 1 concern, 2 everything else
    status: str = Field(default=OutboxStatus.PENDING, max_length=16)
    attempts: int = 0
    not_before: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    claimed_by: str | None = Field(default=None, max_length=64)
    claimed_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    telegram_message_id: int | None = Field(default=None, sa_type=BigInteger)
    last_error: str | None = Field(default=None, max_length=300)


class JobStatus(StrEnum):
    PENDING = "pending"
    DONE = "done"
    CANCELLED = "cancelled"
    FAILED = "failed"


class ScheduledJob(SQLModel, table=True):
    """Work due at a time (a check-in, a reminder, an escalation step), claimed by one tick."""

    __table_args__ = (Index("ix_job_status_due", "status", "due_at"),)
    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=32)
    subject_id: int | None = Field(default=None, index=True)
    due_at: datetime = Field(sa_type=UTCDateTime)
    dedupe_key: str = Field(max_length=128, unique=True)
    status: str = Field(default=JobStatus.PENDING, max_length=16)
    attempts: int = 0
    claimed_by: str | None = Field(default=None, max_length=64)
    claimed_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    done_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_error: str | None = Field(default=None, max_length=300)


class BotInstance(SQLModel, table=True):
    """A running bot process, so the others can tell when its claims belong to a dead one."""

    name: str = Field(max_length=64, primary_key=True)
    # Host name and process namespace, and the process id: a process on the same host can check the pid.
    host: str = Field(max_length=200)
    pid: int
    started_at: datetime = Field(sa_type=UTCDateTime)
    beat_at: datetime = Field(sa_type=UTCDateTime)


class Lease(SQLModel, table=True):
    """Who runs a singleton duty (the sender) across instances, until when."""

    name: str = Field(max_length=32, primary_key=True)
    holder: str = Field(max_length=64)
    expires_at: datetime = Field(sa_type=UTCDateTime)


# --- the family's own questions -------------------------------------------------------------------


class FamilyQuestion(SQLModel, table=True):
    """What the family itself wants to change, in its own words (personal data: its coordinators and the one
    helper it chose see the words; the anonymous figures count only the theme)."""

    id: int | None = Field(default=None, primary_key=True)
    family_id: int = Field(foreign_key="person.id", index=True, ondelete="CASCADE")
    text: str = Field(max_length=400)
    theme: str = Field(max_length=24)  # domain.questions.Theme
    state: str = Field(default="active", max_length=16, index=True)  # domain.questions.QuestionState
    # A coordinator's suggestion (accepted or not by the family); None: the family's own.
    suggested_by_id: int | None = Field(default=None, foreign_key="person.id", ondelete="SET NULL")
    volunteers_may_help: bool = False
    # The one helper the family lets read this question (None: no helper reads it).
    shared_with_id: int | None = Field(default=None, foreign_key="person.id", ondelete="SET NULL")
    next_review_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    first_help_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    ended_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    end_reason: str | None = Field(default=None, max_length=24)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class QuestionLink(SQLModel, table=True):
    """Help linked to the question it serves: a one-off request ("request") or a lasting match ("match")."""

    __table_args__ = (UniqueConstraint("question_id", "kind", "ref_id"),)
    id: int | None = Field(default=None, primary_key=True)
    question_id: int = Field(foreign_key="familyquestion.id", index=True, ondelete="CASCADE")
    kind: str = Field(max_length=16)
    ref_id: int = Field(index=True)
    linked_by_id: int | None = Field(default=None, foreign_key="person.id", ondelete="SET NULL")
    linked_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class QuestionReview(SQLModel, table=True):
    """One review asked: the family about a question ("does it help?"), or a helper ("how is it going?")."""

    id: int | None = Field(default=None, primary_key=True)
    family_id: int = Field(foreign_key="person.id", index=True, ondelete="CASCADE")
    question_id: int | None = Field(default=None, foreign_key="familyquestion.id", index=True, ondelete="CASCADE")
    person_id: int | None = Field(default=None, foreign_key="person.id", ondelete="SET NULL")
    side: str = Field(max_length=16)  # "family" or "helper"
    asked_at: datetime = Field(sa_type=UTCDateTime)
    answer: str | None = Field(default=None, max_length=16)
    answered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class CasePlan(SQLModel, table=True):
    """A family's rhythms for reviews and casework meetings, and when it was last asked for a review."""

    family_id: int = Field(foreign_key="person.id", primary_key=True, ondelete="CASCADE")
    review_every_weeks: int = 4
    casework_every_weeks: int = 4
    last_review_message_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class CaseworkMeeting(SQLModel, table=True):
    """A casework meeting about one family: its date, when the agenda went out, when it was held."""

    id: int | None = Field(default=None, primary_key=True)
    family_id: int = Field(foreign_key="person.id", index=True, ondelete="CASCADE")
    meeting_on: date
    agenda_sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    held_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    held_by_id: int | None = Field(default=None, foreign_key="person.id", ondelete="SET NULL")


class QuestionDecision(SQLModel, table=True):
    """A coordinator task about a question: continue, change or stop, with a reason; open until decided."""

    id: int | None = Field(default=None, primary_key=True)
    question_id: int = Field(foreign_key="familyquestion.id", index=True, ondelete="CASCADE")
    family_id: int = Field(foreign_key="person.id", index=True, ondelete="CASCADE")
    cause: str = Field(max_length=24)  # domain.questions.DecisionCause
    meeting_id: int | None = Field(default=None, foreign_key="caseworkmeeting.id", ondelete="SET NULL")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    decision: str | None = Field(default=None, max_length=16)
    reason: str | None = Field(default=None, max_length=24)
    decided_at: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)
    decided_by_id: int | None = Field(default=None, foreign_key="person.id", ondelete="SET NULL")


# --- the coordinators' workspace (web/) -----------------------------------------------------------


class WorkspaceNonce(SQLModel, table=True):
    """A Mini App initData already exchanged for a workspace session: each is accepted once (no replay)."""

    digest: str = Field(max_length=64, primary_key=True)  # sha256 of the initData's hash, never the data
    used_at: datetime = Field(sa_type=UTCDateTime, index=True)


# The tables of teams, cases and referrals, and those of lasting matches, live in their own modules; importing
# them here registers them on the metadata before anything flushes a row that points at them.
import storage.case_tables  # noqa: E402
import storage.match_tables  # noqa: E402, F401
