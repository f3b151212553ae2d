"""Scheduled jobs: work due at a time, leased to one instance and run exactly once."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, func, or_, select, update
from sqlmodel import Session, col

from storage.db import insert_new, rowcount
from storage.models import (
    JobStatus,
    ScheduledJob,
)


def _skip_locked(session: Session, query: Select[Any]) -> Select[Any]:
    """On PostgreSQL, skip rows another instance holds locked; SQLite needs nothing."""
    if session.get_bind().dialect.name == "postgresql":
        return query.with_for_update(skip_locked=True)
    return query


def _free(now: datetime) -> tuple[Any, ...]:
    """Pending jobs that nobody holds: never claimed, or their lease has run out."""
    return (
        col(ScheduledJob.status) == JobStatus.PENDING,
        or_(col(ScheduledJob.claimed_until).is_(None), col(ScheduledJob.claimed_until) <= now),
    )


def _held(which: Any, instance: str) -> tuple[Any, ...]:
    """The jobs `which` picks that `instance` still holds and that are not done."""
    return which, col(ScheduledJob.claimed_by) == instance, col(ScheduledJob.status) == JobStatus.PENDING


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
    """Cancel the pending jobs of one kind for one subject; returns how many."""
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
        .where(*_free(now), col(ScheduledJob.due_at) <= now)
        .order_by(col(ScheduledJob.due_at), col(ScheduledJob.id))
        .limit(limit),
    )
    ids = list(session.execute(due).scalars())
    if not ids:
        return []
    claimed = list(
        session.execute(
            update(ScheduledJob)
            .where(col(ScheduledJob.id).in_(ids), *_free(now))
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
        .where(*_held(col(ScheduledJob.id) == job_id, instance))
        .values(status=JobStatus.DONE, claimed_until=None)
    )
    return bool(rowcount(result))


def complete_job(*, session: Session, job_id: int, now: datetime) -> None:
    """Record when a taken job finished."""
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
        .where(*_held(col(ScheduledJob.id).in_(list(job_ids)), instance))
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
    held = _held(col(ScheduledJob.id) == job_id, instance)
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
    """How many pending jobs were due at least `late_by` ago."""
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
