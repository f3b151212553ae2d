"""The retention policy's deletions: what was kept long enough to do its work is forgotten.

Periods come from the settings (`retention_*`); `services.erasure.retention_job` runs this daily.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import and_, delete, or_, select, update
from sqlmodel import Session, col

from storage.db import rowcount
from storage.inbox_store import purge_handled_updates
from storage.models import (
    DialogueState,
    InboxStatus,
    InboxUpdate,
    Invite,
    JobStatus,
    OutboxMessage,
    OutboxStatus,
    RequestOffer,
    ScheduledJob,
)
from storage.referrals import purge_expired


def purge(
    *,
    session: Session,
    now: datetime,
    handled_updates: timedelta,
    sent_messages: timedelta,
    poison: timedelta,
    finished_jobs: timedelta,
    dialogues: timedelta,
    invites: timedelta,
) -> dict[str, int]:
    """Delete what is older than its period; returns how many rows of each kind went."""
    counts: dict[str, int] = {}
    counts["updates"] = purge_handled_updates(session=session, before=now - handled_updates)
    counts["poison_updates"] = rowcount(
        session.execute(
            delete(InboxUpdate).where(
                col(InboxUpdate.status).in_([InboxStatus.POISON, InboxStatus.FAILED]),
                col(InboxUpdate.received_at) < now - poison,
            )
        )
    )
    old_sent = and_(col(OutboxMessage.status) == OutboxStatus.SENT, col(OutboxMessage.created_at) < now - sent_messages)
    old_failed = and_(col(OutboxMessage.status) == OutboxStatus.FAILED, col(OutboxMessage.created_at) < now - poison)
    gone = or_(old_sent, old_failed)
    # An offer keeps its answer; only the link to the message (needed to edit it) goes with the message.
    session.execute(
        update(RequestOffer)
        .where(col(RequestOffer.outbox_id).in_(select(col(OutboxMessage.id)).where(gone).scalar_subquery()))
        .values(outbox_id=None)
    )
    counts["messages"] = rowcount(session.execute(delete(OutboxMessage).where(gone)))
    counts["jobs"] = rowcount(
        session.execute(
            delete(ScheduledJob).where(
                col(ScheduledJob.status).in_([JobStatus.DONE, JobStatus.CANCELLED, JobStatus.FAILED]),
                col(ScheduledJob.created_at) < now - finished_jobs,
                col(ScheduledJob.due_at) < now - finished_jobs,
            )
        )
    )
    counts["dialogues"] = rowcount(
        session.execute(delete(DialogueState).where(col(DialogueState.updated_at) < now - dialogues))
    )
    counts["invites"] = rowcount(
        session.execute(
            delete(Invite).where(
                or_(
                    col(Invite.expires_at) < now - invites,
                    and_(col(Invite.used_at).is_not(None), col(Invite.used_at) < now - invites),
                )
            )
        )
    )
    # Referral links nobody used in time: deleted, only an anonymous count per team and month stays.
    counts["referrals"] = purge_expired(session=session, now=now)
    return counts
