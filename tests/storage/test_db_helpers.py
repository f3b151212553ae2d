"""The storage helpers the hot path uses, against both databases: rows written on the table come back as the
ORM writes them, and a row read earlier in an update joins a later transaction without being read again."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import event
from sqlmodel import select

from storage import care, migrate, people
from storage.db import Database, attached
from storage.models import AuditEntry, Person, TimelineEvent

NOW = datetime(2026, 3, 29, 0, 30, tzinfo=UTC)  # the night the clocks go forward in Amsterdam


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    migrate.upgrade(database_url)
    database = Database(database_url)
    yield database
    database.dispose()


def _statements(db: Database) -> list[str]:
    """Record the statements run from now on (the caller reads the list)."""
    seen: list[str] = []
    event.listen(db.engine, "before_cursor_execute", lambda *args: seen.append(str(args[2]).split()[0]))
    return seen


def test_timeline_and_audit_rows_written_on_the_table_read_back_as_written(db: Database) -> None:
    with db.session() as session:
        family = people.ensure_person(session=session, telegram_id=70_001, language="nl", now=NOW)
        assert family.id is not None
        people.add_timeline(session=session, family_id=family.id, kind="relay_in", now=NOW, ref_id=7, held=True)
        people.audit(session=session, actor_id=None, action="checked", subject_id=family.id, now=NOW, why="a test")
        # Written at once, so a query in the same transaction sees them.
        assert care.last_event_at(session=session, family_id=family.id, kinds=("relay_in",)) == NOW
    with db.session() as session:
        event_row = session.exec(select(TimelineEvent).where(TimelineEvent.family_id == family.id)).one()
        audit_row = session.exec(select(AuditEntry).where(AuditEntry.subject_id == family.id)).one()
    assert (event_row.kind, event_row.ref_id, event_row.detail, event_row.at) == ("relay_in", 7, {"held": True}, NOW)
    assert event_row.at.tzinfo is not None
    assert (audit_row.action, audit_row.detail, audit_row.at) == ("checked", {"why": "a test"}, NOW)


def test_a_row_read_earlier_joins_without_a_read_and_a_changed_one_is_read_again(db: Database) -> None:
    with db.session() as session:
        person = people.ensure_person(session=session, telegram_id=70_002, language="nl", now=NOW)
    seen = _statements(db)
    with db.session() as session:
        joined = attached(session=session, row=person)
        assert people.get_person(session=session, person_id=joined.id or 0) is joined
    assert "SELECT" not in seen, seen
    person.language = "en"  # changed outside any transaction, never saved
    with db.session() as session:
        again = attached(session=session, row=person)
        assert isinstance(again, Person) and again.language == "nl", "as stored, not as changed"
    assert "SELECT" in seen
