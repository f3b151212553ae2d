"""The scheduler tick: one periodic job that runs due work from database rows.

JobQueue only wakes us; what is due lives in `scheduledjob` rows, so a restart across a due time
runs it once, soon after start, and two instances never run the same row (see storage.delivery).
"""

from __future__ import annotations

import logging
import time
from datetime import timedelta

from bot.context import Services
from bot.logs import event
from storage import delivery

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
        services = self.services
        self.alive_at = time.monotonic()
        ran = 0
        while True:
            now = services.clock.now()
            with services.db.session() as session:
                jobs = delivery.claim_due_jobs(
                    session=session, instance=services.instance, now=now, lease=JOB_LEASE, limit=batch
                )
            if not jobs:
                break
            for job in jobs:
                assert job.id is not None
                handler = services.jobs.get(job.kind)
                try:
                    with services.db.session() as session:
                        if not delivery.take_claimed_job(session=session, job_id=job.id, instance=services.instance):
                            continue
                        if handler is None:
                            raise LookupError(f"no handler for job kind {job.kind!r}")
                        handler(session=session, job=job, services=services, now=now)
                        delivery.complete_job(session=session, job_id=job.id, now=now)
                    ran += 1
                except Exception as error:
                    logger.exception("tick.job_failed kind=%s id=%s", job.kind, job.id)
                    with services.db.session() as session:
                        delivery.fail_job(
                            session=session,
                            job_id=job.id,
                            error=f"{type(error).__name__}: {error}",
                            retry_at=now + RETRY_AFTER,
                        )
            if len(jobs) < batch:
                break
        if ran:
            services.outbox_signal.set()
            event(logger, "tick.ran", jobs=ran)
        self.runs += 1
        return ran
