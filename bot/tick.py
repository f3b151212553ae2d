"""The scheduler tick: one periodic job that runs due work from database rows.

JobQueue only wakes us; what is due lives in `scheduledjob` rows, so a restart across a due time
runs it once, soon after start, and two instances never run the same row (see storage.job_store).
A batch of due jobs is claimed with a lease; the tick renews it (`_heartbeat`) while it works through
the batch, so a slow batch keeps its jobs, and each job is marked done in the transaction that runs it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterator
from datetime import datetime, timedelta

from services.context import Services
from services.logs import event
from storage import job_store
from storage.models import ScheduledJob

logger = logging.getLogger(__name__)

JOB_LEASE = timedelta(minutes=5)
RETRY_AFTER = timedelta(minutes=5)


class Tick:
    def __init__(self, services: Services) -> None:
        """Keep the services whose job handlers run; `alive_at` and `runs` feed the liveness probe."""
        self.services = services
        self.alive_at = 0.0
        self.runs = 0

    def run_due(self, *, batch: int = 500) -> int:
        """Run every job due now; returns how many ran. Each job commits with its effects."""
        return self._finish(sum(step or 0 for step in self._work(batch)))

    async def run_due_async(self, *, batch: int = 100) -> int:
        """`run_due` for the event loop: gives way after every job, so 10,000 check-ins due at once
        never hold up the updates and the sender, which starts on each batch while the rest is written."""
        ran = 0
        for step in self._work(batch):
            if step is None:
                self.services.outbox_signal.set()
                self.alive_at = time.monotonic()
                continue
            ran += step
            await asyncio.sleep(0)
        return self._finish(ran)

    def _work(self, batch: int) -> Iterator[int | None]:
        """Claim and run the due jobs batch by batch: 1 or 0 after each job, None after each batch of some."""
        self.alive_at = time.monotonic()
        while True:
            jobs, renewed_at = self._claim(batch)
            for index, job in enumerate(jobs):
                renewed_at = self._heartbeat(jobs, index, renewed_at)
                yield self._run_one(job)
            if jobs:
                yield None
            if len(jobs) < batch:
                return

    def _claim(self, batch: int) -> tuple[list[ScheduledJob], datetime]:
        """Lease a batch of due jobs; returns them and the time their lease was counted from."""
        services = self.services
        now = services.clock.now()
        with services.db.session() as session:
            jobs = job_store.claim_due_jobs(
                session=session, instance=services.instance, now=now, lease=JOB_LEASE, limit=batch
            )
        return list(jobs), now

    def _heartbeat(self, jobs: list[ScheduledJob], index: int, renewed_at: datetime) -> datetime:
        """Before job `index` of a batch: once a third of the lease has passed, renew the claims on it
        and the jobs after it, so a long batch keeps the jobs it has not started yet. (A job that is
        running needs no lease: its own transaction holds its row, see `job_store.take_claimed_job`.)"""
        services = self.services
        now = services.clock.now()
        if now - renewed_at < JOB_LEASE / 3:
            return renewed_at
        waiting = [job.id for job in jobs[index:] if job.id is not None]
        with services.db.session() as session:
            job_store.renew_job_claims(
                session=session, job_ids=waiting, instance=services.instance, now=now, lease=JOB_LEASE
            )
        return now

    def _run_one(self, job: ScheduledJob) -> int:
        """One claimed job in its own transaction with its effects; 1 if it ran."""
        services = self.services
        assert job.id is not None
        handler = services.jobs.get(job.kind)
        now = services.clock.now()
        try:
            with services.db.session() as session:
                if not job_store.take_claimed_job(session=session, job_id=job.id, instance=services.instance):
                    return 0
                if handler is None:
                    raise LookupError(f"no handler for job kind {job.kind!r}")
                handler(session=session, job=job, services=services, now=now)
                job_store.complete_job(session=session, job_id=job.id, now=now)
            return 1
        except Exception as error:
            logger.exception("tick.job_failed kind=%s id=%s", job.kind, job.id)
            with services.db.session() as session:
                job_store.fail_job(
                    session=session,
                    job_id=job.id,
                    instance=services.instance,
                    error=f"{type(error).__name__}: {error}",
                    retry_at=now + RETRY_AFTER,
                )
            return 0

    def _finish(self, ran: int) -> int:
        """End a run: wake the sender if jobs ran (they may have queued messages), log, count the run; returns `ran`."""
        if ran:
            self.services.outbox_signal.set()
            event(logger, "tick.ran", jobs=ran)
        self.runs += 1
        return ran
