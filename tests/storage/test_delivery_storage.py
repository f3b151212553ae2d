"""Outbox, inbox, jobs and leases against real databases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import inspect
from sqlmodel import SQLModel, select

from domain.clock import FakeClock
from storage import inbox_store, instance_store, job_store, migrate, outbox_store
from storage.db import Database
from storage.models import InboxStatus, JobStatus, OutboxMessage, OutboxStatus, ScheduledJob

LEASE = timedelta(seconds=60)


@pytest.fixture
def db(database_url: str) -> Database:
    migrate.upgrade(database_url)
    database = Database(database_url)
    yield database
    database.dispose()


def test_migrations_create_every_table_and_go_back_down(database_url: str) -> None:
    migrate.upgrade(database_url)
    database = Database(database_url)
    tables = set(inspect(database.engine).get_table_names())
    assert set(SQLModel.metadata.tables) <= tables
    database.dispose()
    migrate.downgrade(database_url, "base")
    database = Database(database_url)
    assert set(inspect(database.engine).get_table_names()) <= {"alembic_version"}
    database.dispose()


def test_migrations_match_the_models(database_url: str) -> None:
    """A model change without a migration fails here, before it reaches anyone's database."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    migrate.upgrade(database_url)
    database = Database(database_url)
    with database.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": False})
        differences = compare_metadata(context, SQLModel.metadata)
    database.dispose()
    assert differences == []


def test_enqueue_is_idempotent_by_dedupe_key(db: Database, clock: FakeClock) -> None:
    now = clock.now()
    with db.session() as session:
        first = outbox_store.enqueue(session=session, dedupe_key="k1", chat_id=5, payload={"text": "a"}, now=now)
        second = outbox_store.enqueue(session=session, dedupe_key="k1", chat_id=5, payload={"text": "b"}, now=now)
    assert (first, second) == (True, False)
    with db.session() as session:
        rows = list(session.exec(select(OutboxMessage)))
    assert [row.payload["text"] for row in rows] == ["a"]


def test_claimed_outbox_rows_are_not_claimed_twice_until_the_lease_ends(db: Database, clock: FakeClock) -> None:
    now = clock.now()
    with db.session() as session:
        for index in range(3):
            outbox_store.enqueue(session=session, dedupe_key=f"k{index}", chat_id=index, payload={}, now=now)
    with db.session() as session:
        first = outbox_store.claim_outbox(session=session, instance="a", now=now, lease=LEASE, limit=2)
    with db.session() as session:
        second = outbox_store.claim_outbox(session=session, instance="b", now=now, lease=LEASE, limit=10)
    assert len(first) == 2 and len(second) == 1
    assert {row.id for row in first}.isdisjoint({row.id for row in second})
    # The instance that claimed the first two died: after the lease they are due again.
    later = now + LEASE + timedelta(seconds=1)
    with db.session() as session:
        again = outbox_store.claim_outbox(session=session, instance="b", now=later, lease=LEASE, limit=10)
    assert {row.id for row in again} == {row.id for row in first} | {row.id for row in second}


def test_outbox_rows_wait_for_not_before_and_skip_paced_chats(db: Database, clock: FakeClock) -> None:
    now = clock.now()
    with db.session() as session:
        outbox_store.enqueue(
            session=session, dedupe_key="later", chat_id=1, payload={}, now=now, not_before=now + timedelta(minutes=5)
        )
        outbox_store.enqueue(session=session, dedupe_key="paced", chat_id=2, payload={}, now=now)
        outbox_store.enqueue(session=session, dedupe_key="free", chat_id=3, payload={}, now=now)
    with db.session() as session:
        rows = outbox_store.claim_outbox(
            session=session, instance="a", now=now, lease=LEASE, limit=10, skip_chat_ids=[2]
        )
    assert [row.dedupe_key for row in rows] == ["free"]


def test_sent_and_failed_rows_are_final(db: Database, clock: FakeClock) -> None:
    now = clock.now()
    with db.session() as session:
        outbox_store.enqueue(session=session, dedupe_key="a", chat_id=1, payload={}, now=now)
        outbox_store.enqueue(session=session, dedupe_key="b", chat_id=2, payload={}, now=now)
    with db.session() as session:
        a, b = outbox_store.claim_outbox(session=session, instance="x", now=now, lease=LEASE, limit=10)
        assert a.id and b.id
        outbox_store.mark_sent(session=session, message_id=a.id, now=now, telegram_message_id=7)
        outbox_store.mark_failed(session=session, message_id=b.id, error="forbidden")
    later = now + timedelta(hours=1)
    with db.session() as session:
        assert outbox_store.claim_outbox(session=session, instance="y", now=later, lease=LEASE, limit=10) == []
        assert outbox_store.outbox_counts(session=session) == {OutboxStatus.SENT: 1, OutboxStatus.FAILED: 1}


def test_inbox_ignores_a_repeated_update_and_keeps_chat_order(db: Database, clock: FakeClock) -> None:
    now = clock.now()
    updates = [
        {"update_id": 10, "message": {"chat": {"id": 1}, "text": "a"}},
        {"update_id": 11, "message": {"chat": {"id": 1}, "text": "b"}},
        {"update_id": 12, "callback_query": {"from": {"id": 2}, "message": {"chat": {"id": 2}}}},
    ]
    with db.session() as session:
        assert inbox_store.store_updates(session=session, raw_updates=updates, now=now) == 3
        assert inbox_store.store_updates(session=session, raw_updates=updates[:1] * 3, now=now) == 0
        assert inbox_store.next_update_offset(session=session) == 13
    with db.session() as session:
        first = inbox_store.claim_update(session=session, instance="a", now=now, lease=LEASE)
    with db.session() as session:
        # Chat 1's next update must wait for the first; chat 2 may go ahead meanwhile.
        second = inbox_store.claim_update(session=session, instance="b", now=now, lease=LEASE)
    with db.session() as session:
        third = inbox_store.claim_update(session=session, instance="b", now=now, lease=LEASE)
    assert first is not None and second is not None
    assert (first.update_id, second.update_id, third) == (10, 12, None)
    with db.session() as session:
        inbox_store.finish_update(session=session, update_id=10, status=InboxStatus.DONE, now=now)
    with db.session() as session:
        nxt = inbox_store.claim_update(session=session, instance="b", now=now, lease=LEASE)
        assert nxt is not None and nxt.update_id == 11
        done = session.get(type(nxt), 10)
        assert done is not None and done.payload is None, "handled updates must not keep what people wrote"


def test_a_job_runs_once_even_when_claimed_twice(db: Database, clock: FakeClock) -> None:
    now = clock.now()
    with db.session() as session:
        assert job_store.schedule_job(session=session, kind="x", due_at=now, dedupe_key="x:1", now=now)
        assert not job_store.schedule_job(session=session, kind="x", due_at=now, dedupe_key="x:1", now=now)
    with db.session() as session:
        (job,) = job_store.claim_due_jobs(session=session, instance="a", now=now, lease=LEASE, limit=10)
    later = now + LEASE * 2
    with db.session() as session:
        # Instance a stalled; b takes the job over after the lease ran out.
        (taken_over,) = job_store.claim_due_jobs(session=session, instance="b", now=later, lease=LEASE, limit=10)
    assert job.id == taken_over.id
    with db.session() as session:
        assert job_store.take_claimed_job(session=session, job_id=job.id or 0, instance="b")
    with db.session() as session:
        assert not job_store.take_claimed_job(session=session, job_id=job.id or 0, instance="a")
        stored = session.get(ScheduledJob, job.id)
        assert stored is not None and stored.status == JobStatus.DONE


def test_future_jobs_are_not_claimed(db: Database, clock: FakeClock) -> None:
    now = clock.now()
    with db.session() as session:
        job_store.schedule_job(session=session, kind="x", due_at=now + timedelta(minutes=1), dedupe_key="f", now=now)
    with db.session() as session:
        assert job_store.claim_due_jobs(session=session, instance="a", now=now, lease=LEASE, limit=10) == []


def test_the_next_pending_jobs_up_to_a_moment_in_due_order(db: Database, clock: FakeClock) -> None:
    now = clock.now()
    with db.session() as session:
        for kind, minutes in (("late", 90), ("first", 10), ("done", 5), ("second", 30)):
            job_store.schedule_job(
                session=session, kind=kind, due_at=now + timedelta(minutes=minutes), dedupe_key=kind, now=now
            )
        session.execute(
            ScheduledJob.__table__.update()  # type: ignore[attr-defined]
            .where(ScheduledJob.kind == "done")
            .values(status=JobStatus.DONE)
        )
    with db.session() as session:
        due = job_store.next_pending_jobs(session=session, until=now + timedelta(hours=1))
    assert due == [(now + timedelta(minutes=10), "first"), (now + timedelta(minutes=30), "second")]


def test_only_one_holder_of_a_lease_until_it_expires(db: Database, clock: FakeClock) -> None:
    now = clock.now()
    duration = timedelta(seconds=15)
    with db.session() as session:
        assert instance_store.acquire_lease(session=session, name="sender", holder="a", now=now, duration=duration)
    with db.session() as session:
        assert not instance_store.acquire_lease(session=session, name="sender", holder="b", now=now, duration=duration)
    with db.session() as session:
        assert instance_store.acquire_lease(session=session, name="sender", holder="a", now=now, duration=duration)
    with db.session() as session:
        assert instance_store.acquire_lease(
            session=session, name="sender", holder="b", now=now + duration * 2, duration=duration
        )


def test_a_failed_update_waits_for_its_retry_and_holds_back_its_chat(db: Database, clock: FakeClock) -> None:
    now = clock.now()
    updates = [
        {"update_id": 20, "message": {"chat": {"id": 3}, "text": "a"}},
        {"update_id": 21, "message": {"chat": {"id": 3}, "text": "b"}},
    ]
    with db.session() as session:
        inbox_store.store_updates(session=session, raw_updates=updates, now=now)
        claimed = inbox_store.claim_update(session=session, instance="a", now=now, lease=LEASE)
        assert claimed is not None and claimed.update_id == 20
        inbox_store.retry_update(session=session, update_id=20, not_before=now + timedelta(seconds=2), error="boom")
    with db.session() as session:
        assert inbox_store.claim_update(session=session, instance="a", now=now, lease=LEASE) is None, (
            "21 waits behind 20"
        )
        assert inbox_store.inbox_busy(session=session, now=now) == 0
    later = now + timedelta(seconds=2)
    with db.session() as session:
        again = inbox_store.claim_update(session=session, instance="a", now=later, lease=LEASE)
        assert again is not None and (again.update_id, again.attempts) == (20, 2)


def test_a_restart_under_the_same_name_or_a_dead_instance_ends_its_claims(db: Database, clock: FakeClock) -> None:
    now = clock.now()
    with db.session() as session:
        instance_store.register_instance(session=session, name="a", host="h", pid=1, now=now)
        instance_store.register_instance(session=session, name="b", host="h", pid=2, now=now)
        inbox_store.store_updates(
            session=session, raw_updates=[{"update_id": 30, "message": {"chat": {"id": 4}, "text": "a"}}], now=now
        )
        assert inbox_store.claim_update(session=session, instance="a", now=now, lease=LEASE) is not None
        outbox_store.enqueue(session=session, dedupe_key="k:b", chat_id=4, payload={"chat_id": 4, "text": "x"}, now=now)
        (row,) = outbox_store.claim_outbox(session=session, instance="b", now=now, lease=LEASE, limit=5)
    with db.session() as session:
        # "a" starts again: its update is free at once, not after the 60 s lease.
        assert instance_store.register_instance(session=session, name="a", host="h", pid=3, now=now) == 1
    with db.session() as session:
        retried = inbox_store.claim_update(session=session, instance="a", now=now, lease=LEASE)
        assert retried is not None and retried.attempts == 2
        assert [other.name for other in instance_store.other_instances(session=session, name="a")] == ["b"]
        assert instance_store.forget_instances(session=session, names=["b"], now=now) == 1
    with db.session() as session:
        assert [
            r.id for r in outbox_store.claim_outbox(session=session, instance="a", now=now, lease=LEASE, limit=5)
        ] == [row.id]
        assert instance_store.other_instances(session=session, name="a") == []


def test_a_dialogue_step_is_saved_over_the_last_one_and_ended(db: Database) -> None:
    """One upsert saves a chat's step whether it had one or not; the draft's JSON and the time come back as stored."""
    from storage import dialogue_store

    clock = FakeClock(datetime(2026, 3, 29, 0, 30, tzinfo=UTC))
    with db.session() as session:
        dialogue_store.save_dialogue(
            session=session, chat_id=42, dialogue="talk", step="write", data={}, now=clock.now()
        )
    later = clock.now() + timedelta(minutes=5)
    with db.session() as session:
        dialogue_store.save_dialogue(
            session=session, chat_id=42, dialogue="request", step="when", data={"kind": "lift", "n": 2}, now=later
        )
        dialogue_store.save_dialogue(session=session, chat_id=43, dialogue="talk", step="write", data={}, now=later)
    with db.session() as session:
        state = dialogue_store.get_dialogue(session=session, chat_id=42)
        assert state is not None
        assert (state.dialogue, state.step, state.data, state.updated_at) == (
            "request",
            "when",
            {"kind": "lift", "n": 2},
            later,
        )
        dialogue_store.clear_dialogue(session=session, chat_id=42)
    with db.session() as session:
        assert dialogue_store.get_dialogue(session=session, chat_id=42) is None
        assert dialogue_store.get_dialogue(session=session, chat_id=43) is not None
