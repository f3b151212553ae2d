"""The outbox claim: the most urgent due row first, in order within a priority, along an index."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import event

from domain.clock import FakeClock
from domain.priority import Priority
from storage import migrate, outbox_store
from storage.db import Database

LEASE = timedelta(seconds=60)


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    migrate.upgrade(database_url)
    database = Database(database_url)
    yield database
    database.dispose()


def _queue(session: Any, key: str, chat_id: int, now: Any, **options: Any) -> None:
    assert outbox_store.enqueue(
        session=session, dedupe_key=key, chat_id=chat_id, payload={"k": key}, now=now, **options
    )


def test_the_claim_takes_urgent_then_concerns_then_the_rest_each_in_order(db: Database, clock: FakeClock) -> None:
    now = clock.now()
    earlier = now - timedelta(minutes=1)
    with db.session() as session:
        # A family's flood to one coordinator (chat 1), queued first.
        for index in range(5):
            _queue(session, f"relay{index}", 1, earlier, purpose="relay")
        _queue(session, "checkin", 2, earlier, purpose="checkin")
        _queue(session, "reminder-later", 3, now, not_before=now + timedelta(minutes=5))
        # Then a concern alert (by its purpose) and, last of all, an urgent alert to the same coordinator.
        _queue(session, "alert", 1, now, purpose="alert")
        _queue(session, "urgent", 1, now, purpose="alert", priority=Priority.URGENT)
        _queue(session, "urgent-other", 4, now, purpose="alert", priority=Priority.URGENT)
    with db.session() as session:
        first = outbox_store.claim_outbox(session=session, instance="a", now=now, lease=LEASE, limit=1)
    assert [row.dedupe_key for row in first] == ["urgent"], "the newest row, but the most urgent, goes first"
    assert first[0].priority == Priority.URGENT
    with db.session() as session:
        rest = outbox_store.claim_outbox(session=session, instance="a", now=now, lease=LEASE, limit=20)
    assert [row.dedupe_key for row in rest] == [
        "urgent-other",
        "alert",
        "relay0",
        "relay1",
        "relay2",
        "relay3",
        "relay4",
        "checkin",
    ], "urgent, then concerns, then the rest; within one priority the order they became due"


def test_an_expired_claim_competes_by_its_priority_too(db: Database, clock: FakeClock) -> None:
    now = clock.now()
    with db.session() as session:
        _queue(session, "urgent", 1, now, purpose="alert", priority=Priority.URGENT)
        _queue(session, "plain", 2, now)
    with db.session() as session:
        assert len(outbox_store.claim_outbox(session=session, instance="dead", now=now, lease=LEASE, limit=1)) == 1
    later = now + LEASE + timedelta(seconds=1)
    with db.session() as session:
        _queue(session, "concern", 3, later, purpose="alert")
    with db.session() as session:
        rows = outbox_store.claim_outbox(session=session, instance="b", now=later, lease=LEASE, limit=10)
    assert [row.dedupe_key for row in rows] == ["urgent", "concern", "plain"]


@contextmanager
def _selects(db: Database) -> Iterator[list[tuple[str, Any]]]:
    statements: list[tuple[str, Any]] = []

    def listener(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        if statement.lstrip().upper().startswith("SELECT") and "ORDER BY" in statement.upper():
            statements.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", listener)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)


def _plans(db: Database, statements: list[tuple[str, Any]]) -> list[str]:
    raw = db.engine.raw_connection()
    plans = []
    try:
        cursor = raw.cursor()
        if db.dialect != "sqlite":
            # The table is tiny here; without this PostgreSQL would read it whole whatever the indexes.
            cursor.execute("SET enable_seqscan = off")
        for statement, parameters in statements:
            if db.dialect == "sqlite":
                cursor.execute("EXPLAIN QUERY PLAN " + statement, parameters)
                plans.append("\n".join(str(row[-1]) for row in cursor.fetchall()))
            else:
                cursor.execute("EXPLAIN " + statement, parameters)
                plans.append("\n".join(str(line) for (line,) in cursor.fetchall()))
        cursor.close()
        raw.rollback()
    finally:
        raw.close()
    return plans


def test_the_claim_reads_the_outbox_in_claim_order_along_an_index(db: Database, clock: FakeClock) -> None:
    now = clock.now()
    with db.session() as session:
        for index in range(300):
            _queue(session, f"m{index}", index % 7, now - timedelta(seconds=index), purpose="relay")
            if index % 50 == 0:
                _queue(session, f"u{index}", index, now, purpose="alert", priority=Priority.URGENT)
    with db.session() as session, _selects(db) as statements:
        outbox_store.claim_outbox(session=session, instance="a", now=now, lease=LEASE, limit=5, skip_chat_ids=[3, 4])
    candidate_queries = [(sql, params) for sql, params in statements if "LIMIT" in sql.upper()]
    assert len(candidate_queries) == 2, "pending rows and expired claims"
    for plan in _plans(db, candidate_queries):
        assert "ix_outbox_claim" in plan, plan
        if db.dialect == "sqlite":
            assert "TEMP B-TREE" not in plan, f"sorted without the index: {plan}"
        else:
            assert not re.search(r"^\s*(->\s*)?(Incremental )?Sort\b", plan, re.MULTILINE), plan
            assert "Seq Scan" not in plan, plan
