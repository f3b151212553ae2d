"""The inbox: updates from Telegram stored once, claimed one chat at a time, and finished.

The claim is one atomic statement (UPDATE ... RETURNING), which SQLite and PostgreSQL both run
as one step; on PostgreSQL the inner SELECT also skips rows another instance holds locked.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, and_, bindparam, exists, func, or_, select, update
from sqlalchemy.exc import DataError
from sqlmodel import Session, col

from storage.db import insert_new, rowcount
from storage.models import (
    InboxStatus,
    InboxUpdate,
)
from storage.types import UTCDateTime


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
    """Store one update unless its id is known; a malformed one is stored as poison. Returns 1 if new."""
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
    """The offset for the next getUpdates call: one past the highest update stored."""
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
    """How many updates there are of each status."""
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
