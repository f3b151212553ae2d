"""The scheduler tick: one periodic job that runs due work from database rows.

JobQueue only wakes us; what is due lives in `scheduledjob` rows, so a restart across a due time
runs it once, soon after start, and two instances never run the same row (see storage.delivery).
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import timedelta

from bot.context import Services
from bot.logs import event
from storage import delivery
from storage.models import ScheduledJob

logger = logging.getLogger(__name__)

JOB_LEASE = timedelta(minutes=5)
RETRY_AFTER = timedelta(minutes=5)


class Tick:
    def __init__(self, services: Services) -> None:
        self.services = services
        self.alive_at = 0.0
        self.runs = 0

    def run_due(self, *, batch: int = 500) -> int:
        """Run every job due now; returns how many ran. Each job commits with its effects."""
        self.alive_at = time.monotonic()
        ran = 0
        while True:
            jobs = self._claim(batch)
            for job in jobs:
                ran += self._run_one(job)
            if len(jobs) < batch:
                break
        return self._finish(ran)

    async def run_due_async(self, *, batch: int = 100) -> int:
        """`run_due` for the event loop: gives way after every job, so 10,000 check-ins due at once
        never hold up the updates and the sender, which starts on each batch while the rest is written."""
        self.alive_at = time.monotonic()
        ran = 0
        while True:
            jobs = self._claim(batch)
            for job in jobs:
                ran += self._run_one(job)
                await asyncio.sleep(0)
            if jobs:
                self.services.outbox_signal.set()
                self.alive_at = time.monotonic()
            if len(jobs) < batch:
                break
        return self._finish(ran)

    def _claim(self, batch: int) -> list[ScheduledJob]:
        services = self.services
        with services.db.session() as session:
            return list(
                delivery.claim_due_jobs(
                    session=session, instance=services.instance, now=services.clock.now(), lease=JOB_LEASE, limit=batch
                )
            )

    def _run_one(self, job: ScheduledJob) -> int:
        """One claimed job in its own transaction with its effects; 1 if it ran."""
        services = self.services
        assert job.id is not None
        handler = services.jobs.get(job.kind)
        now = services.clock.now()
        try:
            with services.db.session() as session:
                if not delivery.take_claimed_job(session=session, job_id=job.id, instance=services.instance):
                    return 0
                if handler is None:
                    raise LookupError(f"no handler for job kind {job.kind!r}")
                handler(session=session, job=job, services=services, now=now)
                delivery.complete_job(session=session, job_id=job.id, now=now)
            return 1
        except Exception as error:
            logger.exception("tick.job_failed kind=%s id=%s", job.kind, job.id)
            with services.db.session() as session:
                delivery.fail_job(
                    session=session,
                    job_id=job.id,
                    error=f"{type(error).__name__}: {error}",
                    retry_at=now + RETRY_AFTER,
                )
            return 0

    def _finish(self, ran: int) -> int:
        if ran:
            self.services.outbox_signal.set()
            event(logger, "tick.ran", jobs=ran)
        self.runs += 1
        return ran
