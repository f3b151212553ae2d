"""Erasure scrubs and retention deletes against real databases (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from storage import migrate, outbox_store, people, retention
from storage.db import Database
from storage.models import (
    AuditEntry,
    DialogueState,
    FamilyProfile,
    InboxUpdate,
    OutboxMessage,
    Person,
    TimelineEvent,
)
from storage.privacy import PURPOSE_ERASURE

NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
NAME = "Zoë Ångström"
STREET = "Geheimhof 17"


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    migrate.upgrade(database_url)
    database = Database(database_url)
    yield database
    database.dispose()


def _message(key: str, chat_id: int, text: str, status: str, purpose: str = "message") -> OutboxMessage:
    return OutboxMessage(
        dedupe_key=key,
        chat_id=chat_id,
        payload={"chat_id": chat_id, "text": text},
        status=status,
        purpose=purpose,
        not_before=NOW,
        created_at=NOW,
    )


def test_erasure_scrubs_every_mention_also_in_json_with_non_ascii_names(db: Database) -> None:
    with db.session() as session:
        family = Person(telegram_id=7001, display_name=NAME, role="family", consent_at=NOW, consent_version="1")
        other = Person(telegram_id=7002, display_name="Bram", role="volunteer", consent_at=NOW)
        session.add_all([family, other])
        session.flush()
        assert family.id is not None and other.id is not None
        session.add(FamilyProfile(person_id=family.id, street=STREET, phone="+31655501234"))
        session.add_all(
            [
                _message("sent-about", 7002, f"Reminder: \u2068{NAME}\u2069, {STREET}", "sent"),
                _message("pending-about", 7002, f"Address: {STREET}", "pending"),
                _message("left", 7002, f"{NAME} has left", "pending", purpose=PURPOSE_ERASURE),
                _message("unrelated", 7002, "Hello Bram", "pending"),
                _message("to-them", 7001, "Hello", "sent"),
            ]
        )
        session.add(DialogueState(chat_id=7002, dialogue="x", step="y", data={"draft": f"for {NAME}"}))
        session.add(AuditEntry(actor_id=other.id, action="opened", subject_id=other.id, detail={"note": STREET}))
        session.add(TimelineEvent(family_id=None, kind="x", detail={"who": NAME}))
        session.add(
            InboxUpdate(update_id=-1, chat_id=7002, status="poison", payload={"text": f"call {NAME} at 0655501234"})
        )
        session.flush()
        people.erase_person(session=session, person=family, keep_safety_stub=False, now=NOW)
    with db.session() as session:
        rows = {row.dedupe_key: row for row in session.exec(select(OutboxMessage))}
        assert "to-them" not in rows, "messages to them go"
        assert rows["sent-about"].payload == {}
        assert rows["pending-about"].payload == {} and rows["pending-about"].status == "failed"
        assert rows["left"].payload["text"] == f"{NAME} has left" and rows["left"].status == "pending"
        assert rows["unrelated"].payload["text"] == "Hello Bram"
        assert session.get(DialogueState, 7002) is None
        assert all(STREET not in str(entry.detail) for entry in session.exec(select(AuditEntry)))
        assert all(NAME not in str(event.detail) for event in session.exec(select(TimelineEvent)))
        poison = session.get(InboxUpdate, -1)
        assert poison is not None and poison.payload is None
        left_id = rows["left"].id
        assert left_id is not None
        outbox_store.mark_sent(session=session, message_id=left_id, now=NOW, telegram_message_id=5)
    with db.session() as session:
        sent = session.get(OutboxMessage, left_id)
        assert sent is not None and sent.status == "sent" and sent.payload == {}, "a notice drops its text once sent"


def test_retention_deletes_what_is_old_enough(db: Database) -> None:
    old = NOW - timedelta(days=40)
    with db.session() as session:
        session.add_all(
            [
                InboxUpdate(update_id=1, status="done", received_at=old),
                InboxUpdate(update_id=2, status="poison", received_at=old, payload={"text": "x"}),
                InboxUpdate(update_id=3, status="done", received_at=NOW),
                _message("old-sent", 1, "x", "sent"),
                DialogueState(chat_id=1, dialogue="x", step="y", updated_at=old),
            ]
        )
        session.flush()
    with db.session() as session:
        for row in session.exec(select(OutboxMessage)):
            row.created_at = old
            session.add(row)
    with db.session() as session:
        counts = retention.purge(
            session=session,
            now=NOW,
            handled_updates=timedelta(days=30),
            sent_messages=timedelta(days=30),
            poison=timedelta(days=14),
            finished_jobs=timedelta(days=30),
            dialogues=timedelta(days=30),
            invites=timedelta(days=30),
        )
    assert counts["updates"] == 1 and counts["poison_updates"] == 1 and counts["messages"] == 1
    assert counts["dialogues"] == 1
    with db.session() as session:
        assert [row.update_id for row in session.exec(select(InboxUpdate))] == [3]
