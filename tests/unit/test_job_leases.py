"""Scheduled jobs and their leases: a slow batch keeps its jobs, a failure never revives a job another
instance ran, and a job that outlives its lease is not run a second time alongside.

Two `Tick`s on one database stand for two instances; the fake clock stands for a slow machine (a job
that "takes" six minutes moves the clock on by six minutes), so nothing here waits or sleeps.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlmodel import col, select

from bot.tick import JOB_LEASE, RETRY_AFTER, Tick
from domain.clock import FakeClock
from services.context import Services
from services.settings import Settings
from storage import job_store, migrate
from storage.db import Database
from storage.models import JobStatus, ScheduledJob

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


class World:
    """One database, one clock, two instances ("a" and "b"), and a record of every run of a job."""

    def __init__(self, url: str) -> None:
        migrate.upgrade(url)
        self.db = Database(url)
        self.clock = FakeClock(NOW)
        self.runs: list[tuple[str, int]] = []  # (instance, job id), one per run that did not fail
        self.slow: dict[int, timedelta] = {}  # job id -> how long it "takes"
        self.failing: set[tuple[str, int]] = set()  # (instance, job id) that raises
        self.ticks = {name: Tick(self.services(name, url)) for name in ("a", "b")}

    def services(self, instance: str, url: str) -> Services:
        settings = Settings(database_url=url, _env_file=None)  # type: ignore[call-arg]
        services = Services(settings=settings, db=self.db, clock=self.clock, instance=instance)

        def work(*, session: Any, job: ScheduledJob, services: Services, now: datetime) -> None:
            assert job.id is not None
            self.clock.advance(self.slow.get(job.id, timedelta(0)))
            if (services.instance, job.id) in self.failing:
                raise RuntimeError("this run fails")
            self.runs.append((services.instance, job.id))

        services.jobs["work"] = work
        return services

    def schedule(self, count: int) -> list[int]:
        with self.db.session() as session:
            for index in range(count):
                job_store.schedule_job(session=session, kind="work", due_at=NOW, dedupe_key=f"work:{index}", now=NOW)
        return [job.id for job in self.jobs() if job.id is not None]

    def jobs(self) -> list[ScheduledJob]:
        with self.db.session() as session:
            return list(session.exec(select(ScheduledJob).order_by(col(ScheduledJob.id))))


@pytest.fixture
def world(database_url: str) -> Iterator[World]:
    found = World(database_url)
    yield found
    found.db.dispose()


def b_ticks_before_each_job_of_a(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    """Just before "a" starts each job of its batch, "b" ticks too, as it would on its own schedule."""
    real_take = job_store.take_claimed_job

    def take(*, session: Any, job_id: int, instance: str) -> bool:
        if instance == "a":
            world.ticks["b"].run_due()
        return real_take(session=session, job_id=job_id, instance=instance)

    monkeypatch.setattr(job_store, "take_claimed_job", take)


def test_a_batch_slower_than_the_lease_keeps_its_jobs(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    first, second, third = world.schedule(3)
    world.slow[first] = JOB_LEASE + timedelta(minutes=1)  # the first job alone outlasts the lease
    b_ticks_before_each_job_of_a(world, monkeypatch)
    assert world.ticks["a"].run_due() == 3
    assert sorted(world.runs) == [("a", first), ("a", second), ("a", third)], "each job run once, by a"
    jobs = world.jobs()
    assert [job.status for job in jobs] == [JobStatus.DONE] * 3
    assert [job.attempts for job in jobs] == [1, 1, 1], "no job claimed a second time"


def test_a_failed_run_never_revives_a_job_another_instance_ran(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    (job_id,) = world.schedule(1)
    world.slow[job_id] = JOB_LEASE + timedelta(minutes=1)
    world.failing.add(("a", job_id))
    real_fail = job_store.fail_job

    def fail(**kwargs: Any) -> Any:
        # Between a's rolled-back run and a's recording of the failure, b (its lease having run out)
        # claims the job and runs it to the end.
        if job_id in world.slow:  # once
            world.slow.pop(job_id)
            assert world.ticks["b"].run_due() == 1
        return real_fail(**kwargs)

    monkeypatch.setattr(job_store, "fail_job", fail)
    assert world.ticks["a"].run_due() == 0
    (job,) = world.jobs()
    assert job.status == JobStatus.DONE and job.claimed_by == "b", "b's finished run stays finished"
    world.clock.advance(RETRY_AFTER + timedelta(minutes=1))
    assert world.ticks["a"].run_due() == 0 and world.ticks["b"].run_due() == 0
    assert world.runs == [("b", job_id)], "the job ran once"


def test_a_failure_is_retried_then_given_up_by_its_holder(world: World) -> None:
    (job_id,) = world.schedule(1)
    world.failing.add(("a", job_id))
    for _attempt in range(5):
        assert world.ticks["a"].run_due() == 0
        world.clock.advance(RETRY_AFTER)
    (job,) = world.jobs()
    assert (job.status, job.attempts, job.last_error) == (JobStatus.FAILED, 5, "RuntimeError: this run fails")
    assert world.runs == []


def test_a_job_running_past_its_lease_is_not_claimed_by_another_instance(postgres_url: str) -> None:
    """PostgreSQL: the running job's row is locked by its own transaction; b's claim skips it and,
    once a committed, finds it done. (On SQLite the job's transaction holds the write lock, so no
    claim can even start while it runs.)"""
    world = World(postgres_url)
    world.schedule(1)
    seen: list[list[ScheduledJob]] = []

    def slow_and_watched(*, session: Any, job: ScheduledJob, services: Services, now: datetime) -> None:
        world.clock.advance(JOB_LEASE * 3)
        with world.db.session() as other:
            seen.append(
                job_store.claim_due_jobs(session=other, instance="b", now=world.clock.now(), lease=JOB_LEASE, limit=10)
            )

    world.ticks["a"].services.jobs["work"] = slow_and_watched
    try:
        assert world.ticks["a"].run_due() == 1
        assert seen == [[]], "b could not claim the job a was running"
        assert world.ticks["b"].run_due() == 0
        (job,) = world.jobs()
        assert (job.status, job.attempts, job.claimed_by) == (JobStatus.DONE, 1, "a")
    finally:
        world.db.dispose()


def test_the_lease_is_renewed_for_every_job_left_in_a_long_batch(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    ids = world.schedule(12)
    for job_id in ids:
        world.slow[job_id] = JOB_LEASE / 4  # twelve jobs, three leases' worth of work
    b_ticks_before_each_job_of_a(world, monkeypatch)
    assert world.ticks["a"].run_due() == 12
    assert Counter(instance for instance, _job in world.runs) == {"a": 12}
    assert {job.attempts for job in world.jobs()} == {1}
