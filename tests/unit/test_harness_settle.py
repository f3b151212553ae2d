"""The e2e harness's `settle()`: "idle" must never be decided while the sender holds a message in flight."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

from sqlmodel import col, update

from domain.clock import FakeClock
from storage import migrate, outbox_store
from storage.db import Database
from storage.models import OutboxMessage, OutboxStatus
from tests.e2e.harness import Harness

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def test_a_message_in_flight_is_not_idle_even_when_the_rest_waits_for_later(sqlite_url: str) -> None:
    migrate.upgrade(sqlite_url)
    db = Database(sqlite_url)
    harness = Harness.__new__(Harness)  # just its bookkeeping: no bot, no sandbox server
    harness.sandbox = SimpleNamespace(pending_updates=lambda: [])  # type: ignore[assignment]
    harness.clock = FakeClock(NOW)
    harness.runtime = SimpleNamespace(services=SimpleNamespace(db=db))  # type: ignore[assignment]
    try:
        with db.session() as session:
            for key, not_before in (("now", None), ("later", NOW + timedelta(hours=1))):
                outbox_store.enqueue(
                    session=session,
                    dedupe_key=key,
                    chat_id=1,
                    payload={"chat_id": 1, "text": key},
                    now=NOW,
                    not_before=not_before,
                )
        assert not harness._idle(), "a message due now"
        with db.session() as session:
            # The sender claimed the due one and is sending it; the other is for in an hour.
            session.execute(
                update(OutboxMessage).where(col(OutboxMessage.dedupe_key) == "now").values(status=OutboxStatus.SENDING)
            )
        assert not harness._idle(), "the claimed message is still in flight"
        with db.session() as session:
            session.execute(
                update(OutboxMessage).where(col(OutboxMessage.dedupe_key) == "now").values(status=OutboxStatus.SENT)
            )
        assert harness._idle(), "sent; the other one is not due yet"
    finally:
        db.dispose()
