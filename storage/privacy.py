"""Everything stored about one person, found table by table: the export (/mydata) and the erasure scrub.

Every table in `SQLModel.metadata` has an entry in `EXPORT_POLICY` (a test fails when a new table has
none): which columns make a row *theirs* (exported in full), which make it a row that merely *mentions*
them (exported reduced to what is about them), and which columns are never exported (hashes). Erasure
additionally scrubs the free-text and JSON columns in `FREE_TEXT_COLUMNS` of every row that mentions the
person's name, street, phone or Telegram id, including message payloads to and about them.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import Column, Table, Text, cast, delete, or_, select, update
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session, SQLModel, col

from storage.match_tables import Match, MatchOccurrence
from storage.models import (
    CheckIn,
    Concern,
    DialogueState,
    FamilyProfile,
    FamilyQuestion,
    HelpRequest,
    InboxStatus,
    InboxUpdate,
    JobStatus,
    OutboxMessage,
    OutboxStatus,
    Person,
    RelayLink,
    RequestOffer,
    ScheduledJob,
)

# Outbox rows with this purpose tell others that someone left; they may name that person so the reader
# knows who, and drop their payload as soon as they are sent (`storage.outbox_store.mark_sent`).
PURPOSE_ERASURE = "erasure"
ERASED = "[erased]"


@dataclass(frozen=True)
class TablePolicy:
    """How a table's rows about a person are exported."""

    owner: tuple[str, ...] = ()  # a row whose column equals the person's id is theirs: exported in full
    chat: tuple[str, ...] = ()  # columns holding a Telegram chat id: equal to theirs means the row is theirs
    mentions: tuple[str, ...] = ()  # a row naming them here is exported with only `shared` columns
    shared: tuple[str, ...] = ()
    never: tuple[str, ...] = ()  # never exported (secrets such as invite token hashes)
    personal: bool = True


EXPORT_POLICY: dict[str, TablePolicy] = {
    "person": TablePolicy(owner=("id",), chat=("telegram_id",)),
    "area": TablePolicy(personal=False),
    "team": TablePolicy(personal=False),  # a team's name, group and office hours: nobody's personal data
    "familyprofile": TablePolicy(
        owner=("person_id",),
        mentions=("primary_coordinator_id", "partner_coordinator_id", "support_volunteer_id"),
        shared=("area_id",),
    ),
    "volunteerprofile": TablePolicy(owner=("person_id",), mentions=("approved_by_id",), shared=("approved_at",)),
    "volunteerarea": TablePolicy(owner=("volunteer_id",)),
    "volunteerskill": TablePolicy(owner=("volunteer_id",)),
    "coordinatorprofile": TablePolicy(owner=("person_id",), mentions=("duo_partner_id",)),
    "invite": TablePolicy(
        owner=("used_by_id", "created_by_id"), never=("token_hash",), shared=("role", "used_at", "created_at")
    ),
    "dialoguestate": TablePolicy(chat=("chat_id",)),
    "helprequest": TablePolicy(
        owner=("family_id",),
        mentions=("created_by_id", "assigned_volunteer_id"),
        shared=(
            "kind",
            "involves_children",
            "starts_at",
            "ends_at",
            "flexible_week",
            "area_id",
            "status",
            "accepted_at",
            "closed_at",
            "created_at",
        ),
    ),
    "requestoffer": TablePolicy(owner=("volunteer_id",), shared=("request_id", "offered_at", "response")),
    "taskoutcome": TablePolicy(owner=("person_id",)),
    "checkin": TablePolicy(owner=("family_id",)),
    "concern": TablePolicy(
        owner=("family_id",),
        mentions=("raised_by_id", "claimed_by_id"),
        shared=("source", "urgent", "status", "created_at", "acknowledged_at", "closed_at"),
    ),
    "escalationstep": TablePolicy(),  # through the family's concerns, see `_related`
    "familytopic": TablePolicy(owner=("family_id",)),
    "relaylink": TablePolicy(owner=("family_id",), never=("chat_id",)),
    "timelineevent": TablePolicy(owner=("family_id",), mentions=("actor_id",), shared=("kind", "at")),
    "auditentry": TablePolicy(owner=("subject_id",), mentions=("actor_id",), shared=("action", "at")),
    "setting": TablePolicy(personal=False),
    "inboxupdate": TablePolicy(chat=("chat_id",)),
    "outboxmessage": TablePolicy(owner=("person_id",), chat=("chat_id",)),
    # A coordinator's request for a colleague's consent: theirs when they asked or were asked; a family
    # sees that its coordinators discussed who leads, and when, nothing more.
    "consentrequest": TablePolicy(
        owner=("requester_id", "approver_id"), mentions=("family_id",), shared=("kind", "created_at", "answered_at")
    ),
    # Which bot process is alive: hosts and process ids, about no person.
    "botinstance": TablePolicy(personal=False),
    "scheduledjob": TablePolicy(),  # through the job's subject, see `JOB_SUBJECTS`
    "lease": TablePolicy(personal=False),
    # The family's own questions in its words; a helper it shared one with sees only that it exists.
    "familyquestion": TablePolicy(
        owner=("family_id",), mentions=("suggested_by_id", "shared_with_id"), shared=("theme", "state", "created_at")
    ),
    "questionlink": TablePolicy(mentions=("linked_by_id",), shared=("kind", "linked_at")),  # see `_related`
    "questionreview": TablePolicy(owner=("family_id", "person_id")),
    "caseplan": TablePolicy(owner=("family_id",)),
    "casestep": TablePolicy(owner=("family_id",), mentions=("actor_id",), shared=("from_state", "to_state", "at")),
    "intaketalk": TablePolicy(owner=("family_id",), mentions=("coordinator_id",), shared=("planned_at", "held_at")),
    "caseworkmeeting": TablePolicy(owner=("family_id",), mentions=("held_by_id",), shared=("meeting_on", "held_at")),
    "questiondecision": TablePolicy(
        owner=("family_id",), mentions=("decided_by_id",), shared=("decision", "reason", "decided_at")
    ),
    # A lasting match is both sides' (the family's and the helper's); its coordinator is only mentioned.
    "match": TablePolicy(
        owner=("family_id", "helper_id"),
        mentions=("coordinator_id",),
        shared=("kind", "state", "created_at", "started_at", "ended_at", "end_reason"),
    ),
    "matchoccurrence": TablePolicy(),  # through the person's matches, see `_related`
    "matchholiday": TablePolicy(),
    # An adult of a support household is theirs; the household's match is the sides' (see `_related`).
    "matchmember": TablePolicy(owner=("person_id",), mentions=("added_by_id",), shared=("added_at",)),
    # What a family offered back to its support volunteer: both of theirs.
    "matchgiveback": TablePolicy(owner=("family_id", "helper_id")),
    "matchreview": TablePolicy(mentions=("decided_by_id",), shared=("due_on", "decision", "decided_at")),
    "workspacenonce": TablePolicy(personal=False),
    # A referral is the family's (once it consented) and the referrer's; the link's hash never leaves.
    "referral": TablePolicy(owner=("family_id", "referrer_id"), never=("token_hash",)),
    # Anonymous counts of declined and expired referrals per team and month.
    "referralcount": TablePolicy(personal=False),
}

# What a scheduled job's `subject_id` points at, by kind (prefix before the first dot for whole families).
JOB_SUBJECTS: dict[str, str] = {
    "checkin.send": "person",
    "checkin.manual": "person",
    "checkin.remind": "checkin",
    "checkin.missed": "checkin",
    "concern": "concern",
    "request.withdraw": "requestoffer",
    "request": "helprequest",
    "volunteer.vog_reminder": "person",
    "question": "person",
    "casework": "person",
    "match.plan": "match",
    "match.review": "match",
    "match.remind": "matchoccurrence",
    "match.log": "matchoccurrence",
}

# Columns that can hold what people wrote or what was written to them; erasure scrubs mentions here.
FREE_TEXT_COLUMNS: dict[str, tuple[str, ...]] = {
    "outboxmessage": ("payload", "last_error", "dedupe_key"),
    "inboxupdate": ("payload", "error"),
    "dialoguestate": ("data",),
    "timelineevent": ("detail",),
    "auditentry": ("detail",),
    "helprequest": ("note", "destination"),
    "concern": ("close_note",),
    "familyquestion": ("text",),
    "scheduledjob": ("last_error",),
}


def tables() -> list[Table]:
    """Every table of the schema, in dependency order."""
    return list(SQLModel.metadata.sorted_tables)


def _value(value: Any) -> Any:
    """A column value as JSON can hold it (dates as ISO text)."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


@dataclass
class Footprint:
    """The ids that tie rows to one person: theirs, and of the things that are theirs."""

    person_id: int
    telegram_id: int | None
    ids: dict[str, set[int]] = field(default_factory=dict)


def footprint(*, session: Session, person: Person) -> Footprint:
    """The ids of the rows that belong to a person: their requests, check-ins, concerns and offers."""
    assert person.id is not None
    pid = person.id
    found = Footprint(person_id=pid, telegram_id=person.telegram_id)
    found.ids["person"] = {pid}
    found.ids["helprequest"] = set(
        session.execute(select(col(HelpRequest.id)).where(col(HelpRequest.family_id) == pid)).scalars()
    )
    found.ids["checkin"] = set(session.execute(select(col(CheckIn.id)).where(col(CheckIn.family_id) == pid)).scalars())
    found.ids["concern"] = set(session.execute(select(col(Concern.id)).where(col(Concern.family_id) == pid)).scalars())
    found.ids["familyquestion"] = set(
        session.execute(select(col(FamilyQuestion.id)).where(col(FamilyQuestion.family_id) == pid)).scalars()
    )
    found.ids["requestoffer"] = set(
        session.execute(select(col(RequestOffer.id)).where(col(RequestOffer.volunteer_id) == pid)).scalars()
    )
    found.ids["match"] = set(
        session.execute(
            select(col(Match.id)).where(or_(col(Match.family_id) == pid, col(Match.helper_id) == pid))
        ).scalars()
    )
    found.ids["matchoccurrence"] = set(
        session.execute(
            select(col(MatchOccurrence.id)).where(col(MatchOccurrence.match_id).in_(sorted(found.ids["match"])))
        ).scalars()
    )
    return found


def _column(table: Table, name: str) -> Column[Any]:
    """A table's column by name."""
    return table.c[name]


def _owner_condition(table: Table, policy: TablePolicy, found: Footprint) -> ColumnElement[bool] | None:
    """The condition for a table's rows that belong to the person (by owner column, chat id or related row), or None."""
    conditions: list[ColumnElement[bool]] = [_column(table, name) == found.person_id for name in policy.owner]
    if found.telegram_id is not None:
        conditions += [_column(table, name) == found.telegram_id for name in policy.chat]
    conditions += _related(table, found)
    return or_(*conditions) if conditions else None


def _related(table: Table, found: Footprint) -> list[ColumnElement[bool]]:
    """Rows that are theirs through something of theirs: escalation steps of their concerns, offers of their
    requests, jobs about them or their requests, check-ins and concerns."""
    if table.name == "escalationstep" and found.ids.get("concern"):
        return [table.c.concern_id.in_(sorted(found.ids["concern"]))]
    if table.name == "questionlink" and found.ids.get("familyquestion"):
        return [table.c.question_id.in_(sorted(found.ids["familyquestion"]))]
    if table.name == "requestoffer" and found.ids.get("helprequest"):
        return [table.c.request_id.in_(sorted(found.ids["helprequest"]))]
    if table.name in ("matchoccurrence", "matchholiday", "matchreview", "matchmember") and found.ids.get("match"):
        return [table.c.match_id.in_(sorted(found.ids["match"]))]
    if table.name == "scheduledjob":
        conditions: list[ColumnElement[bool]] = []
        for kind_prefix, subject in JOB_SUBJECTS.items():
            ids = found.ids.get(subject)
            if not ids:
                continue
            kind = table.c.kind
            matches = kind == kind_prefix if "." in kind_prefix else kind.like(f"{kind_prefix}.%")
            conditions.append(matches & table.c.subject_id.in_(sorted(ids)))
        return conditions
    return []


def _mention_condition(table: Table, policy: TablePolicy, found: Footprint) -> ColumnElement[bool] | None:
    """The condition for a table's rows that mention the person by id, or None."""
    conditions = [_column(table, name) == found.person_id for name in policy.mentions]
    return or_(*conditions) if conditions else None


def export_rows(*, session: Session, person: Person) -> dict[str, list[dict[str, Any]]]:
    """Every row about the person, by table name: theirs in full, others' reduced to what concerns them."""
    found = footprint(session=session, person=person)
    result: dict[str, list[dict[str, Any]]] = {}
    for table in tables():
        policy = EXPORT_POLICY.get(table.name, TablePolicy())
        if not policy.personal:
            continue
        rows: list[dict[str, Any]] = []
        seen: set[tuple[Any, ...]] = set()
        key_columns = list(table.primary_key.columns)
        owner = _owner_condition(table, policy, found)
        if owner is not None:
            for row in session.execute(select(table).where(owner)).mappings():
                seen.add(tuple(row[c.name] for c in key_columns))
                rows.append({k: _value(v) for k, v in row.items() if k not in policy.never})
        mention = _mention_condition(table, policy, found)
        if mention is not None:
            keep = {c.name for c in key_columns} | set(policy.mentions) | set(policy.shared)
            for row in session.execute(select(table).where(mention)).mappings():
                if tuple(row[c.name] for c in key_columns) in seen:
                    continue
                reduced = {
                    k: (_value(v) if k not in policy.mentions or v == found.person_id else None)
                    for k, v in row.items()
                    if k in keep and k not in policy.never
                }
                rows.append(reduced)
        result[table.name] = rows
    return result


# --- erasure --------------------------------------------------------------------------------------


def needles(*, name: str | None, street: str | None, phone: str | None, telegram_id: int | None) -> list[str]:
    """The strings that identify a person in free text (short names would match everything)."""
    found: list[str] = []
    for value in (name, street, phone):
        if value and len(value.strip()) >= 3:
            found.append(value.strip())
            if html.escape(value.strip(), quote=False) != value.strip():
                found.append(html.escape(value.strip(), quote=False))
    if phone:
        digits = re.sub(r"\D", "", phone)
        if len(digits) >= 6:
            found.append(digits)
    if telegram_id is not None:
        found.append(str(telegram_id))
    return found


def mentions(value: Any, patterns: Sequence[re.Pattern[str]]) -> bool:
    """Whether a free-text or JSON value contains one of the patterns (a name, street, phone or id)."""
    if value is None:
        return False
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return any(pattern.search(text) for pattern in patterns)


def compile_needles(values: Iterable[str]) -> list[re.Pattern[str]]:
    """Patterns for a person's identifying values: numbers only as whole numbers, text in any case."""
    patterns = []
    for value in values:
        if value.isdigit():
            patterns.append(re.compile(rf"(?<!\d){re.escape(value)}(?!\d)"))
        else:
            patterns.append(re.compile(re.escape(value), re.IGNORECASE))
    return patterns


def _like_escape(value: str) -> str:
    """A value with LIKE's wildcards escaped, to search for it literally."""
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _stored_forms(needle: str) -> set[str]:
    """How a needle may look in a column: as is, and inside JSON, which stores non-ASCII as \\u escapes."""
    return {needle, json.dumps(needle)[1:-1]}


def scrub_mentions(*, session: Session, needles: Sequence[str], keep_purpose: str = PURPOSE_ERASURE) -> int:
    """Scrub every free-text and JSON column that names the person; returns how many rows changed.

    Messages still waiting to go that name them are not sent (except the notices that they left, which drop
    their text once sent); an update not handled yet keeps its payload so nobody's message is lost.
    """
    patterns = compile_needles(needles)
    if not patterns:
        return 0
    changed = 0
    for table_name, columns in FREE_TEXT_COLUMNS.items():
        table = SQLModel.metadata.tables[table_name]
        key_columns = list(table.primary_key.columns)
        # The database narrows it down (audit and timeline grow for ever); the patterns then decide.
        candidates = or_(
            *[
                cast(table.c[name], Text).ilike(f"%{_like_escape(variant)}%", escape="\\")
                for name in columns
                for needle in needles
                for variant in _stored_forms(needle)
            ]
        )
        for row in session.execute(select(table).where(candidates)).mappings():
            hits = [name for name in columns if mentions(row[name], patterns)]
            if not hits:
                continue
            values: dict[str, Any] = {}
            if table_name == "outboxmessage":
                if row["purpose"] == keep_purpose and row["status"] in (OutboxStatus.PENDING, OutboxStatus.SENDING):
                    continue
                values = {"payload": {}, "last_error": None}
                if "dedupe_key" in hits:
                    # Keys such as "relay:<chat>:<message>" name the chat; a key only has to stay unique.
                    values["dedupe_key"] = f"erased:{row['id']}"
                if row["status"] in (OutboxStatus.PENDING, OutboxStatus.SENDING):
                    values.update(status=OutboxStatus.FAILED, last_error="about a person who erased their data")
            elif table_name == "inboxupdate":
                if row["status"] in (InboxStatus.NEW, InboxStatus.PROCESSING):
                    continue
                values = {"payload": None, "error": None}
            elif table_name == "dialoguestate":
                session.execute(delete(table).where(table.c.chat_id == row["chat_id"]))
                changed += 1
                continue
            else:
                for name in hits:
                    column = table.c[name]
                    values[name] = {} if isinstance(row[name], dict) else (None if column.nullable else ERASED)
            key = [c == row[c.name] for c in key_columns]
            session.execute(update(table).where(*key).values(**values))
            changed += 1
    return changed


def scrub_own_delivery_rows(*, session: Session, person_id: int, telegram_id: int | None) -> None:
    """Messages to them go (sent ones too: they hold what we wrote them); their updates lose payload and chat."""
    conditions = [col(OutboxMessage.person_id) == person_id]
    if telegram_id is not None:
        conditions.append(col(OutboxMessage.chat_id) == telegram_id)
    # Offer rows are linked from their offers; the links go with them.
    session.execute(
        update(RequestOffer)
        .where(col(RequestOffer.outbox_id).in_(select(col(OutboxMessage.id)).where(or_(*conditions))))
        .values(outbox_id=None)
    )
    session.execute(delete(OutboxMessage).where(or_(*conditions)))
    if telegram_id is None:
        return
    # An update not handled yet keeps its payload (it is handled as from someone new); the one being handled
    # now (the tap on "delete") drops its payload when it is finished.
    session.execute(
        update(InboxUpdate)
        .where(
            col(InboxUpdate.chat_id) == telegram_id,
            col(InboxUpdate.status).not_in([InboxStatus.NEW, InboxStatus.PROCESSING]),
        )
        .values(payload=None, chat_id=None, error=None)
    )
    session.execute(
        update(InboxUpdate)
        .where(col(InboxUpdate.chat_id) == telegram_id, col(InboxUpdate.status) == InboxStatus.PROCESSING)
        .values(chat_id=None)
    )
    session.execute(delete(DialogueState).where(col(DialogueState.chat_id) == telegram_id))
    # A coordinator's private chat held relayed messages; the links from it lead nowhere now.
    session.execute(delete(RelayLink).where(col(RelayLink.chat_id) == telegram_id))


def cancel_jobs_about(*, session: Session, person: Person, keep_concerns: bool = False) -> int:
    """Every pending scheduled job about the person or their requests, check-ins, concerns and offers.

    With `keep_concerns` an open safety case goes on climbing its escalation chain."""
    found = footprint(session=session, person=person)
    if keep_concerns:
        found.ids.pop("concern", None)
    table = SQLModel.metadata.tables["scheduledjob"]
    conditions = _related(table, found)
    if not conditions:
        return 0
    result = session.execute(
        update(ScheduledJob)
        .where(col(ScheduledJob.status) == JobStatus.PENDING, or_(*conditions))
        .values(status=JobStatus.CANCELLED)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def family_street_phone(*, session: Session, person_id: int) -> tuple[str | None, str | None]:
    """A family's street and phone, to find mentions of them before erasing (None, None if not a family)."""
    profile = session.get(FamilyProfile, person_id)
    return (profile.street, profile.phone) if profile is not None else (None, None)
