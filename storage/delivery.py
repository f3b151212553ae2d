"""Inbox, outbox, scheduled jobs and leases: the rows that make delivery survive crashes.

Claims are single atomic statements (UPDATE ... RETURNING), which SQLite and PostgreSQL both run
as one step; on PostgreSQL the inner SELECT also skips rows another instance holds locked.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Select, and_, bindparam, exists, func, or_, select, update
from sqlalchemy.exc import DataError
from sqlmodel import Session, col

from domain.priority import Priority, for_purpose
from storage.db import OUTBOX_QUEUED, OUTBOX_URGENT, fresh, insert_new, rowcount, upsert_insert
from storage.models import (
    BotInstance,
    InboxStatus,
    InboxUpdate,
    JobStatus,
    Lease,
    OutboxMessage,
    OutboxStatus,
    ScheduledJob,
)
from storage.privacy import PURPOSE_ERASURE
from storage.types import UTCDateTime


def _skip_locked(session: Session, query: Select[Any]) -> Select[Any]:
    if session.get_bind().dialect.name == "postgresql":
        return query.with_for_update(skip_locked=True)
    return query


# --- inbox ----------------------------------------------------------------------------------------


def chat_id_of(raw_update: dict[str, Any]) -> int | None:
    """The chat an update belongs to, so updates of one chat are handled in order."""
    for key, value in raw_update.items():
        if key == "update_id" or not isinstance(value, dict):
            continue
        chat = value.get("chat") or (value.get("message") or {}).get("chat")
        if isinstance(chat, dict) and _is_bigint(chat.get("id")):
            return int(chat["id"])
        sender = value.get("from") or value.get("user")
        if isinstance(sender, dict) and _is_bigint(sender.get("id")):
            return int(sender["id"])
    return None


def _is_bigint(value: Any) -> bool:
    """An int the database can hold (Telegram ids fit in 64 bits; a malformed update's may not)."""
    return isinstance(value, int) and not isinstance(value, bool) and -(2**63) <= value < 2**63


def _insert_update(
    session: Session, *, update_id: int, raw: dict[str, Any] | None, now: datetime, error: str | None = None
) -> int:
    new = insert_new(
        session,
        InboxUpdate,
        dict(
            update_id=update_id,
            chat_id=chat_id_of(raw) if raw is not None else None,
            payload=raw,
            status=InboxStatus.NEW if error is None else InboxStatus.POISON,
            attempts=0,
            received_at=now,
            error=error,
        ),
        conflict=["update_id"],
        returning=col(InboxUpdate.update_id),
    )
    return int(new is not None)


def store_updates(*, session: Session, raw_updates: Sequence[dict[str, Any]], now: datetime) -> int:
    """Store raw updates; an update_id seen before is ignored. Returns how many were new."""
    storable = [raw for raw in raw_updates if _is_bigint(raw.get("update_id"))]
    try:
        # The whole batch at once; only when the database refuses a value, one by one (below).
        with session.begin_nested():
            return sum(_insert_update(session, update_id=raw["update_id"], raw=raw, now=now) for raw in storable)
    except (DataError, OverflowError, ValueError, TypeError):
        pass
    stored = 0
    for raw in storable:
        update_id = raw["update_id"]
        try:
            with session.begin_nested():
                stored += _insert_update(session, update_id=update_id, raw=raw, now=now)
        except (DataError, OverflowError, ValueError, TypeError) as error:
            # The database refuses this update's values: keep it aside (without them) as poison, so
            # the rest of the batch is stored and confirmed instead of being fetched again forever.
            stored += _insert_update(
                session, update_id=update_id, raw=None, now=now, error=f"not storable: {type(error).__name__}"
            )
    return stored


def next_update_offset(*, session: Session) -> int | None:
    highest = session.execute(select(func.max(InboxUpdate.update_id))).scalar_one_or_none()
    return None if highest is None else int(highest) + 1


# The claim is built once (SQLAlchemy Core on the table, bound parameters) and run on the session's
# connection: the ORM would add nothing here but the cost of building and compiling it on every update.
_inbox = InboxUpdate.__table__  # type: ignore[attr-defined]
_waiting_table = _inbox.alias("waiting")
_waiting = _waiting_table.c
_other = _inbox.alias("other")


def _nothing_before(now: Any) -> Any:
    """The candidate's chat has no older update waiting and none being handled: two index seeks
    (`ix_inbox_chat_status_update`), each stopping at the first row it finds."""
    older = (
        select(_other.c.update_id)
        .where(
            _other.c.chat_id == _waiting.chat_id,
            _other.c.status == InboxStatus.NEW.value,
            _other.c.update_id < _waiting.update_id,
        )
        .correlate(_waiting_table)
    )
    busy = (
        select(_other.c.update_id)
        .where(
            _other.c.chat_id == _waiting.chat_id,
            _other.c.status == InboxStatus.PROCESSING.value,
            _other.c.claimed_until > now,
        )
        .correlate(_waiting_table)
    )
    return or_(_waiting.chat_id.is_(None), and_(~exists(older), ~exists(busy)))


def _inbox_candidates() -> tuple[Select[Any], Select[Any]]:
    """The oldest claimable update among the waiting ones, and among those whose handler's lease ran out.

    Apart, so each walks `ix_inbox_status_update` in update order and stops at the first that may go."""
    now = bindparam("now", type_=UTCDateTime())
    waiting = (
        select(_waiting.update_id)
        .where(
            _waiting.status == InboxStatus.NEW.value,
            or_(_waiting.not_before.is_(None), _waiting.not_before <= now),
            _nothing_before(now),
        )
        .order_by(_waiting.update_id)
        .limit(1)
    )
    expired = (
        select(_waiting.update_id)
        .where(
            _waiting.status == InboxStatus.PROCESSING.value,
            _waiting.claimed_until <= now,
            _nothing_before(now),
        )
        .order_by(_waiting.update_id)
        .limit(1)
    )
    return waiting, expired


_CLAIM_CANDIDATES = _inbox_candidates()
_CLAIM_CANDIDATES_LOCKED = tuple(query.with_for_update(skip_locked=True) for query in _CLAIM_CANDIDATES)
_CLAIM_UPDATE = (
    update(_inbox)
    .where(
        _inbox.c.update_id == bindparam("candidate"),
        or_(
            _inbox.c.status == InboxStatus.NEW.value,
            and_(_inbox.c.status == InboxStatus.PROCESSING.value, _inbox.c.claimed_until <= bindparam("now")),
        ),
    )
    .values(
        status=InboxStatus.PROCESSING.value,
        claimed_by=bindparam("instance"),
        claimed_until=bindparam("until"),
        attempts=_inbox.c.attempts + 1,
    )
    .returning(_inbox.c.update_id, _inbox.c.chat_id, _inbox.c.payload, _inbox.c.attempts, _inbox.c.received_at)
)


def claim_update(*, session: Session, instance: str, now: datetime, lease: timedelta) -> InboxUpdate | None:
    """Claim the oldest waiting update whose chat has nothing older waiting or in progress.

    Returns a detached row with the fields the worker needs (id, chat, payload, attempts)."""
    connection = session.connection()
    postgres = connection.dialect.name == "postgresql"
    found = [
        connection.execute(query, {"now": now}).scalar_one_or_none()
        for query in (_CLAIM_CANDIDATES_LOCKED if postgres else _CLAIM_CANDIDATES)
    ]
    candidates = [update_id for update_id in found if update_id is not None]
    if not candidates:
        return None
    claimed = connection.execute(
        _CLAIM_UPDATE, {"candidate": min(candidates), "now": now, "instance": instance, "until": now + lease}
    ).one_or_none()
    if claimed is None:
        return None
    update_id, chat_id, payload, attempts, received_at = claimed
    return InboxUpdate(
        update_id=update_id,
        chat_id=chat_id,
        payload=payload,
        status=InboxStatus.PROCESSING,
        attempts=attempts,
        claimed_by=instance,
        claimed_until=now + lease,
        received_at=received_at,
    )


_FINISH_UPDATE = (
    update(_inbox)
    .where(_inbox.c.update_id == bindparam("row_id"))
    .values(
        status=bindparam("new_status"),
        handled_at=bindparam("now"),
        claimed_until=None,
        error=bindparam("reason"),
    )
)
_FINISH_DONE = _FINISH_UPDATE.values(payload=None)


def finish_update(
    *, session: Session, update_id: int, status: InboxStatus, now: datetime, error: str | None = None
) -> None:
    """Record how an update ended. Handled updates drop their payload: it holds what people wrote."""
    statement = _FINISH_DONE if status == InboxStatus.DONE else _FINISH_UPDATE
    session.connection().execute(
        statement, {"row_id": update_id, "new_status": str(status), "now": now, "reason": error}
    )


def retry_update(*, session: Session, update_id: int, not_before: datetime, error: str | None) -> None:
    """A handler failed: wait, then handle the update again (newer updates of its chat wait behind it)."""
    session.execute(
        update(InboxUpdate)
        .where(col(InboxUpdate.update_id) == update_id)
        .values(status=InboxStatus.NEW, not_before=not_before, claimed_until=None, error=error)
    )


def sender_of(raw_update: dict[str, Any] | None) -> tuple[int | None, str | None]:
    """Who sent an update (user id) and the type of its chat, for telling them when it cannot be handled."""
    for key, value in (raw_update or {}).items():
        if key == "update_id" or not isinstance(value, dict):
            continue
        sender = value.get("from") or value.get("user")
        chat = value.get("chat") or (value.get("message") or {}).get("chat")
        user_id = int(sender["id"]) if isinstance(sender, dict) and _is_bigint(sender.get("id")) else None
        chat_type = chat.get("type") if isinstance(chat, dict) and isinstance(chat.get("type"), str) else None
        if user_id is not None:
            return user_id, chat_type
    return None, None


# --- instances ------------------------------------------------------------------------------------


def register_instance(*, session: Session, name: str, host: str, pid: int, now: datetime) -> int:
    """This process starts under `name`. A row of that name is an earlier, dead run: its claims end now.

    Returns how many claims were given back. Two live processes must never share a name.
    """
    released = release_claims_of(session=session, names=[name], now=now)
    statement = upsert_insert(session, BotInstance).values(name=name, host=host, pid=pid, started_at=now, beat_at=now)
    statement = statement.on_conflict_do_update(
        index_elements=["name"], set_={"host": host, "pid": pid, "started_at": now, "beat_at": now}
    )
    session.execute(statement)
    return released


def beat(*, session: Session, name: str, now: datetime) -> None:
    session.execute(update(BotInstance).where(col(BotInstance.name) == name).values(beat_at=now))


def other_instances(*, session: Session, name: str) -> list[BotInstance]:
    return list(session.execute(select(BotInstance).where(col(BotInstance.name) != name)).scalars())


def forget_instances(*, session: Session, names: Sequence[str], now: datetime) -> int:
    """Dead instances: give back what they had claimed, and forget them. Returns the claims given back."""
    if not names:
        return 0
    released = release_claims_of(session=session, names=names, now=now)
    session.execute(
        BotInstance.__table__.delete().where(col(BotInstance.name).in_(list(names)))  # type: ignore[attr-defined]
    )
    return released


def release_claims_of(*, session: Session, names: Sequence[str], now: datetime) -> int:
    """End the inbox and outbox claims and the leases of dead instances, so others take over at once.

    The same as their leases running out, only sooner: an update is handled again, a message being sent
    is sent again (it may have reached Telegram just before the process died, see docs/delivery.md).
    """
    holders = list(names)
    inbox = session.execute(
        update(InboxUpdate)
        .where(col(InboxUpdate.status) == InboxStatus.PROCESSING, col(InboxUpdate.claimed_by).in_(holders))
        .values(claimed_until=now)
    )
    outbox = session.execute(
        update(OutboxMessage)
        .where(col(OutboxMessage.status) == OutboxStatus.SENDING, col(OutboxMessage.claimed_by).in_(holders))
        .values(status=OutboxStatus.PENDING, claimed_until=None, claimed_by=None)
    )
    session.execute(
        Lease.__table__.delete().where(col(Lease.holder).in_(holders))  # type: ignore[attr-defined]
    )
    return rowcount(inbox) + rowcount(outbox)


def inbox_busy(*, session: Session, now: datetime) -> int:
    """Updates being handled or due to be: not those waiting for a retry later, nor the ones behind them."""
    retrying = (
        select(_waiting.update_id)
        .where(
            _waiting.chat_id == col(InboxUpdate.chat_id),
            _waiting.status == InboxStatus.NEW,
            _waiting.not_before > now,
            _waiting.update_id <= col(InboxUpdate.update_id),
        )
        .correlate(InboxUpdate)
    )
    return int(
        session.execute(
            select(func.count()).where(
                or_(
                    col(InboxUpdate.status) == InboxStatus.PROCESSING,
                    and_(col(InboxUpdate.status) == InboxStatus.NEW, ~exists(retrying)),
                )
            )
        ).scalar_one()
    )


def inbox_counts(*, session: Session) -> dict[str, int]:
    rows = session.execute(select(col(InboxUpdate.status), func.count()).group_by(InboxUpdate.status)).all()
    return {str(status): int(count) for status, count in rows}


def purge_handled_updates(*, session: Session, before: datetime) -> int:
    """Forget old handled updates, but keep the newest so the polling offset survives."""
    newest = session.execute(select(func.max(InboxUpdate.update_id))).scalar_one_or_none()
    if newest is None:
        return 0
    result = session.execute(
        InboxUpdate.__table__.delete().where(  # type: ignore[attr-defined]
            InboxUpdate.status == InboxStatus.DONE,
            InboxUpdate.received_at < before,
            InboxUpdate.update_id != newest,
        )
    )
    return rowcount(result)


# --- outbox ---------------------------------------------------------------------------------------


def enqueue(
    *,
    session: Session,
    dedupe_key: str,
    chat_id: int,
    payload: dict[str, Any],
    now: datetime,
    method: str = "sendMessage",
    person_id: int | None = None,
    purpose: str = "message",
    not_before: datetime | None = None,
    priority: Priority | None = None,
) -> bool:
    """Queue a message in the caller's transaction. A dedupe key seen before queues nothing.

    `priority` decides the sending order (urgent, concern, the rest); without it the purpose decides.
    """
    rank = int(priority if priority is not None else for_purpose(purpose))
    queued = (
        insert_new(
            session,
            OutboxMessage,
            dict(
                dedupe_key=dedupe_key,
                chat_id=chat_id,
                person_id=person_id,
                method=method,
                payload=payload,
                purpose=purpose,
                priority=rank,
                status=OutboxStatus.PENDING,
                attempts=0,
                not_before=not_before or now,
                created_at=now,
            ),
            conflict=["dedupe_key"],
            returning=col(OutboxMessage.id),
        )
        is not None
    )
    if queued:
        session.info[OUTBOX_QUEUED] = True
        if rank == Priority.URGENT:
            session.info[OUTBOX_URGENT] = True
    return queued


_outbox = OutboxMessage.__table__  # type: ignore[attr-defined]


def _outbox_candidates(status: OutboxStatus, due_column: str, *, skip: bool, locked: bool) -> Select[Any]:
    """Due rows of one status in claim order along `ix_outbox_claim` (built once, see _OUTBOX_CANDIDATES)."""
    conditions = [_outbox.c.status == status.value, _outbox.c[due_column] <= bindparam("now", type_=UTCDateTime())]
    if skip:
        conditions.append(_outbox.c.chat_id.not_in(bindparam("skip", expanding=True)))
    query = (
        select(_outbox.c.priority, _outbox.c.not_before, _outbox.c.id)
        .where(*conditions)
        .order_by(_outbox.c.priority, _outbox.c.not_before, _outbox.c.id)
        .limit(bindparam("limit"))
    )
    return query.with_for_update(skip_locked=True) if locked else query


# (skip given, PostgreSQL) -> the pending and the expired query.
_OUTBOX_CANDIDATES = {
    (skip, locked): (
        _outbox_candidates(OutboxStatus.PENDING, "not_before", skip=skip, locked=locked),
        _outbox_candidates(OutboxStatus.SENDING, "claimed_until", skip=skip, locked=locked),
    )
    for skip in (False, True)
    for locked in (False, True)
}
_CLAIM_OUTBOX = (
    update(_outbox)
    .where(
        _outbox.c.id.in_(bindparam("ids", expanding=True)),
        or_(
            _outbox.c.status == OutboxStatus.PENDING.value,
            and_(_outbox.c.status == OutboxStatus.SENDING.value, _outbox.c.claimed_until <= bindparam("now")),
        ),
    )
    .values(status=OutboxStatus.SENDING.value, claimed_by=bindparam("instance"), claimed_until=bindparam("until"))
    .returning(*_outbox.c)
)


def claim_outbox(
    *,
    session: Session,
    instance: str,
    now: datetime,
    lease: timedelta,
    limit: int,
    skip_chat_ids: Sequence[int] = (),
) -> list[OutboxMessage]:
    """Claim due messages, the most urgent first (see domain/priority.py), oldest first within a priority.

    A row left 'sending' by a crashed sender is due again once its lease ends. Pending and expired rows
    are looked up apart, each in claim order along `ix_outbox_claim`, so neither needs a sort. The rows
    come back detached (read them, do not change them: the sender's own statements record what happened).
    """
    connection = session.connection()
    queries = _OUTBOX_CANDIDATES[(bool(skip_chat_ids), connection.dialect.name == "postgresql")]
    parameters: dict[str, Any] = {"now": now, "limit": limit}
    if skip_chat_ids:
        parameters["skip"] = list(skip_chat_ids)
    found: list[tuple[int, datetime, int]] = []
    for query in queries:
        found.extend(
            (int(priority), due, int(row_id)) for priority, due, row_id in connection.execute(query, parameters)
        )
    ids = [row_id for _priority, _due, row_id in sorted(found, key=_sort_key)[:limit]]
    if not ids:
        return []
    claimed = connection.execute(
        _CLAIM_OUTBOX, {"ids": ids, "now": now, "instance": instance, "until": now + lease}
    ).mappings()
    rows = [OutboxMessage(**dict(values)) for values in claimed]
    rows.sort(key=lambda row: _sort_key((row.priority, row.not_before, row.id or 0)))
    return rows


def claim_by_key(
    *, session: Session, dedupe_key: str, instance: str, now: datetime, lease: timedelta
) -> OutboxMessage | None:
    """Claim one due, pending row by its dedupe key, to send it at once (nobody else is sending it)."""
    claimed = session.execute(
        update(OutboxMessage)
        .where(
            col(OutboxMessage.dedupe_key) == dedupe_key,
            col(OutboxMessage.status) == OutboxStatus.PENDING,
            col(OutboxMessage.not_before) <= now,
        )
        .values(status=OutboxStatus.SENDING, claimed_by=instance, claimed_until=now + lease)
        .returning(col(OutboxMessage.id))
    ).scalar_one_or_none()
    if claimed is None:
        return None
    return fresh(session, OutboxMessage, claimed)


def outbox_status(*, session: Session, message_id: int) -> str | None:
    return session.execute(
        select(col(OutboxMessage.status)).where(col(OutboxMessage.id) == message_id)
    ).scalar_one_or_none()


def outbox_status_by_key(*, session: Session, dedupe_key: str) -> str | None:
    return session.execute(
        select(col(OutboxMessage.status)).where(col(OutboxMessage.dedupe_key) == dedupe_key)
    ).scalar_one_or_none()


def _sort_key(found: tuple[int, datetime, int]) -> tuple[int, datetime, int]:
    priority, due, row_id = found
    # SQLite hands back naive UTC values when a column is read outside its model.
    return priority, due if due.tzinfo else due.replace(tzinfo=UTC), row_id


def release_claims(*, session: Session, message_ids: Sequence[int]) -> None:
    """Give claimed rows back untouched, still due."""
    if message_ids:
        session.execute(
            update(OutboxMessage)
            .where(
                col(OutboxMessage.id).in_(list(message_ids)),
                col(OutboxMessage.status) == OutboxStatus.SENDING,
            )
            .values(status=OutboxStatus.PENDING, claimed_until=None, claimed_by=None)
        )


_MARK_SENT = (
    update(_outbox)
    .where(_outbox.c.id == bindparam("row_id"))
    .values(
        status=OutboxStatus.SENT.value,
        sent_at=bindparam("now"),
        attempts=_outbox.c.attempts + 1,
        telegram_message_id=bindparam("sent_as"),
        claimed_until=None,
        last_error=None,
    )
)
_MARK_SENT_FORGET = _MARK_SENT.values(payload={})


def mark_sent(
    *,
    session: Session,
    message_id: int,
    now: datetime,
    telegram_message_id: int | None,
    purpose: str | None = None,
) -> None:
    """The row reached Telegram. With `purpose` given (the sender knows it) this is one statement."""
    parameters = {"row_id": message_id, "now": now, "sent_as": telegram_message_id}
    connection = session.connection()
    # A notice that someone left may name them; once delivered, its text is not kept.
    if purpose is not None:
        connection.execute(_MARK_SENT_FORGET if purpose == PURPOSE_ERASURE else _MARK_SENT, parameters)
        return
    connection.execute(_MARK_SENT, parameters)
    session.execute(
        update(OutboxMessage)
        .where(col(OutboxMessage.id) == message_id, col(OutboxMessage.purpose) == PURPOSE_ERASURE)
        .values(payload={})
    )


def reschedule(
    *, session: Session, message_id: int, not_before: datetime, error: str | None, count_attempt: bool = True
) -> None:
    values: dict[str, Any] = {
        "status": OutboxStatus.PENDING,
        "not_before": not_before,
        "claimed_until": None,
        "last_error": error,
    }
    if count_attempt:
        values["attempts"] = OutboxMessage.attempts + 1
    session.execute(update(OutboxMessage).where(col(OutboxMessage.id) == message_id).values(**values))


def mark_failed(*, session: Session, message_id: int, error: str) -> None:
    session.execute(
        update(OutboxMessage)
        .where(col(OutboxMessage.id) == message_id)
        .values(
            status=OutboxStatus.FAILED,
            last_error=error[:300],
            claimed_until=None,
            attempts=OutboxMessage.attempts + 1,
        )
    )


def move_chat(*, session: Session, old_chat_id: int, new_chat_id: int) -> int:
    """A group became a supergroup: send what is still waiting to its new id."""
    rows = session.execute(
        select(OutboxMessage).where(
            col(OutboxMessage.chat_id) == old_chat_id,
            col(OutboxMessage.status).in_([OutboxStatus.PENDING, OutboxStatus.SENDING]),
        )
    ).scalars()
    moved = 0
    for row in rows:
        row.chat_id = new_chat_id
        # The payload is what is sent: left on the old id it would be refused (and moved) forever.
        if row.payload.get("chat_id") == old_chat_id:
            row.payload = {**row.payload, "chat_id": new_chat_id}
        session.add(row)
        moved += 1
    session.flush()
    return moved


def outbox_backlog(*, session: Session, now: datetime) -> tuple[int, float]:
    """How many messages wait to be sent, and the age in seconds of the oldest one."""
    count, oldest = session.execute(
        select(func.count(), func.min(OutboxMessage.created_at)).where(
            col(OutboxMessage.status).in_([OutboxStatus.PENDING, OutboxStatus.SENDING])
        )
    ).one()
    if not count or oldest is None:
        return 0, 0.0
    # An aggregate bypasses the column type, so SQLite hands back a naive (UTC) value.
    oldest_at = oldest if oldest.tzinfo else oldest.replace(tzinfo=UTC)
    return int(count), max(0.0, (now - oldest_at).total_seconds())


def outbox_counts(*, session: Session) -> dict[str, int]:
    rows = session.execute(select(col(OutboxMessage.status), func.count()).group_by(OutboxMessage.status)).all()
    return {str(status): int(count) for status, count in rows}


def next_outbox_due(*, session: Session) -> datetime | None:
    return session.execute(
        select(func.min(OutboxMessage.not_before)).where(col(OutboxMessage.status) == OutboxStatus.PENDING)
    ).scalar_one_or_none()


# --- scheduled jobs -------------------------------------------------------------------------------


def schedule_job(
    *,
    session: Session,
    kind: str,
    due_at: datetime,
    dedupe_key: str,
    now: datetime,
    subject_id: int | None = None,
) -> bool:
    """Schedule work at a time. The dedupe key makes scheduling the same thing twice harmless."""
    new = insert_new(
        session,
        ScheduledJob,
        dict(
            kind=kind,
            subject_id=subject_id,
            due_at=due_at,
            dedupe_key=dedupe_key,
            status=JobStatus.PENDING,
            attempts=0,
            created_at=now,
        ),
        conflict=["dedupe_key"],
        returning=col(ScheduledJob.id),
    )
    return new is not None


def cancel_jobs(*, session: Session, kind: str, subject_id: int) -> int:
    result = session.execute(
        update(ScheduledJob)
        .where(
            col(ScheduledJob.kind) == kind,
            col(ScheduledJob.subject_id) == subject_id,
            col(ScheduledJob.status) == JobStatus.PENDING,
        )
        .values(status=JobStatus.CANCELLED)
    )
    return rowcount(result)


def claim_due_jobs(
    *, session: Session, instance: str, now: datetime, lease: timedelta, limit: int
) -> list[ScheduledJob]:
    """Lease due jobs to this instance; each is then run and finished in its own transaction."""
    due = _skip_locked(
        session,
        select(col(ScheduledJob.id))
        .where(
            col(ScheduledJob.status) == JobStatus.PENDING,
            col(ScheduledJob.due_at) <= now,
            or_(col(ScheduledJob.claimed_until).is_(None), col(ScheduledJob.claimed_until) <= now),
        )
        .order_by(col(ScheduledJob.due_at), col(ScheduledJob.id))
        .limit(limit),
    )
    ids = list(session.execute(due).scalars())
    if not ids:
        return []
    claimed = list(
        session.execute(
            update(ScheduledJob)
            .where(
                col(ScheduledJob.id).in_(ids),
                col(ScheduledJob.status) == JobStatus.PENDING,
                or_(col(ScheduledJob.claimed_until).is_(None), col(ScheduledJob.claimed_until) <= now),
            )
            .values(claimed_by=instance, claimed_until=now + lease, attempts=ScheduledJob.attempts + 1)
            .returning(col(ScheduledJob.id))
        ).scalars()
    )
    if not claimed:
        return []
    return list(
        session.execute(
            select(ScheduledJob)
            .where(col(ScheduledJob.id).in_(claimed))
            .order_by(col(ScheduledJob.due_at), col(ScheduledJob.id))
            .execution_options(populate_existing=True)
        ).scalars()
    )


def take_claimed_job(*, session: Session, job_id: int, instance: str) -> bool:
    """Start the job's own transaction: true only if this instance still holds it and it is not done.

    Marking it done here, in the transaction that also writes the job's effects, is what makes a
    job run exactly once: if anything fails, both roll back together. While the job runs, its row
    is held: PostgreSQL's row lock (another instance's claim skips it, and its UPDATE would wait and
    then find it done) or SQLite's write lock (taken at BEGIN IMMEDIATE, so no other claim runs at
    all). A job that outlives its lease is therefore never run a second time alongside; the lease
    only decides who may take a job that is claimed but not started (see `renew_job_claims`).
    """
    result = session.execute(
        update(ScheduledJob)
        .where(
            col(ScheduledJob.id) == job_id,
            col(ScheduledJob.claimed_by) == instance,
            col(ScheduledJob.status) == JobStatus.PENDING,
        )
        .values(status=JobStatus.DONE, claimed_until=None)
    )
    return bool(rowcount(result))


def complete_job(*, session: Session, job_id: int, now: datetime) -> None:
    session.execute(update(ScheduledJob).where(col(ScheduledJob.id) == job_id).values(done_at=now))


def renew_job_claims(
    *, session: Session, job_ids: Sequence[int], instance: str, now: datetime, lease: timedelta
) -> set[int]:
    """The heartbeat of a claimed batch: extend the lease of the jobs this instance still holds.

    A batch is run one job after another; without this, the last jobs of a long batch would lose
    their lease while still waiting and be claimed (and counted) again by another instance. Only
    jobs still pending and still claimed by `instance` are renewed; returns their ids.
    """
    if not job_ids:
        return set()
    renewed = session.execute(
        update(ScheduledJob)
        .where(
            col(ScheduledJob.id).in_(list(job_ids)),
            col(ScheduledJob.claimed_by) == instance,
            col(ScheduledJob.status) == JobStatus.PENDING,
        )
        .values(claimed_until=now + lease)
        .returning(col(ScheduledJob.id))
    ).scalars()
    return set(renewed)


def fail_job(
    *,
    session: Session,
    job_id: int,
    instance: str,
    error: str,
    retry_at: datetime | None,
    max_attempts: int = 5,
) -> bool:
    """A job that raised is retried later, and given up (kept, with its error) after a few tries.

    Only while `instance` still holds the job: between the failed run's rollback and this, another
    instance may have claimed it (its lease ran out) and even run it; that claim, or that done job,
    must stay as it is, or the job would run again. True if the failure was recorded.
    """
    held = (
        col(ScheduledJob.id) == job_id,
        col(ScheduledJob.claimed_by) == instance,
        col(ScheduledJob.status) == JobStatus.PENDING,
    )
    attempts = session.execute(select(col(ScheduledJob.attempts)).where(*held)).scalar_one_or_none()
    if attempts is None:
        return False
    values: dict[str, Any] = {"last_error": error[:300], "claimed_until": None}
    if retry_at is None or attempts >= max_attempts:
        values["status"] = JobStatus.FAILED
    else:
        values["due_at"] = retry_at
    # The same conditions again: a claim by another instance in between is left alone.
    result = session.execute(update(ScheduledJob).where(*held).values(**values))
    return bool(rowcount(result))


def jobs_due_count(*, session: Session, now: datetime, late_by: timedelta = timedelta(0)) -> int:
    return int(
        session.execute(
            select(func.count()).where(
                col(ScheduledJob.status) == JobStatus.PENDING, col(ScheduledJob.due_at) <= now - late_by
            )
        ).scalar_one()
    )


def next_pending_jobs(*, session: Session, until: datetime, limit: int = 20) -> list[tuple[datetime, str]]:
    """(due time, kind) of the earliest pending jobs due at or before `until` (the demo's clock steps)."""
    rows = session.execute(
        select(col(ScheduledJob.due_at), col(ScheduledJob.kind))
        .where(col(ScheduledJob.status) == JobStatus.PENDING, col(ScheduledJob.due_at) <= until)
        .order_by(col(ScheduledJob.due_at), col(ScheduledJob.id))
        .limit(limit)
    ).all()
    return [(due, str(kind)) for due, kind in rows]


# --- leases ---------------------------------------------------------------------------------------


def acquire_lease(*, session: Session, name: str, holder: str, now: datetime, duration: timedelta) -> bool:
    """Take or renew a named lease; true while this holder has it."""
    statement = upsert_insert(session, Lease).values(name=name, holder=holder, expires_at=now + duration)
    statement = statement.on_conflict_do_update(
        index_elements=["name"],
        set_={"holder": holder, "expires_at": now + duration},
        where=or_(Lease.holder == holder, Lease.expires_at <= now),  # type: ignore[arg-type]
    )
    session.execute(statement)
    current = session.execute(select(col(Lease.holder)).where(col(Lease.name) == name)).scalar_one()
    return bool(current == holder)


def release_lease(*, session: Session, name: str, holder: str) -> None:
    session.execute(
        Lease.__table__.delete().where(Lease.name == name, Lease.holder == holder)  # type: ignore[attr-defined]
    )
