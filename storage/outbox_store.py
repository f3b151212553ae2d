"""The outbox: messages queued with the change that causes them, claimed, and marked sent or failed.

The claim is one atomic statement (UPDATE ... RETURNING), prebuilt once; on PostgreSQL the
candidate SELECT also skips rows another instance holds locked.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Select, and_, bindparam, func, or_, select, update
from sqlmodel import Session, col

from domain.priority import Priority, for_purpose
from storage.db import OUTBOX_QUEUED, OUTBOX_URGENT, fresh, insert_new
from storage.models import (
    OutboxMessage,
    OutboxStatus,
)
from storage.privacy import PURPOSE_ERASURE
from storage.types import UTCDateTime


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
    """The status of one outbox row, or None if there is none."""
    return session.execute(
        select(col(OutboxMessage.status)).where(col(OutboxMessage.id) == message_id)
    ).scalar_one_or_none()


def outbox_status_by_key(*, session: Session, dedupe_key: str) -> str | None:
    """The status of the outbox row with this dedupe key, or None if there is none."""
    return session.execute(
        select(col(OutboxMessage.status)).where(col(OutboxMessage.dedupe_key) == dedupe_key)
    ).scalar_one_or_none()


def _sort_key(found: tuple[int, datetime, int]) -> tuple[int, datetime, int]:
    """Claim order (priority, due time, id), with a naive due time read as UTC."""
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
    """Put a message back as pending, due at `not_before`, counting the attempt unless told not to."""
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
    """Give a message up: failed, with its error kept."""
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
    """How many messages there are of each status."""
    rows = session.execute(select(col(OutboxMessage.status), func.count()).group_by(OutboxMessage.status)).all()
    return {str(status): int(count) for status, count in rows}


def next_outbox_due(*, session: Session) -> datetime | None:
    """When the earliest pending message is due, or None if nothing waits."""
    return session.execute(
        select(func.min(OutboxMessage.not_before)).where(col(OutboxMessage.status) == OutboxStatus.PENDING)
    ).scalar_one_or_none()
