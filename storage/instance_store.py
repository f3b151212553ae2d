"""Bot instances and named leases: who is running, and what a dead instance gives back."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlmodel import Session, col

from storage.db import rowcount, upsert_insert
from storage.models import (
    BotInstance,
    InboxStatus,
    InboxUpdate,
    Lease,
    OutboxMessage,
    OutboxStatus,
)


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
    """This instance is alive now (its heartbeat)."""
    session.execute(update(BotInstance).where(col(BotInstance.name) == name).values(beat_at=now))


def other_instances(*, session: Session, name: str) -> list[BotInstance]:
    """Every registered instance but this one."""
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
    """Give up a named lease, if this holder has it."""
    session.execute(
        Lease.__table__.delete().where(Lease.name == name, Lease.holder == holder)  # type: ignore[attr-defined]
    )
