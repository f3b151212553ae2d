"""Updates the library or the database cannot take, between good ones: the good ones are all handled."""

from __future__ import annotations

import socket
from datetime import UTC, datetime
from typing import Any

import httpx
from sqlmodel import select

from sandbox import Sandbox
from storage import inbox_store, migrate
from storage.db import Database
from storage.models import InboxStatus, InboxUpdate
from tests.delivery.conftest import Bots, Store, texts, wait_until

FROM = {"id": 7480, "is_bot": False, "first_name": "Nochat"}
BAD: list[tuple[str, dict[str, Any]]] = [
    # What Update.de_json raises on: kept aside as poison, with the library's error.
    ("poison", {"message": "not an object"}),
    ("poison", {"message": {"message_id": 1, "date": 0, "chat": 5}}),
    ("poison", {"message": {"message_id": 1, "date": "yesterday", "chat": {"id": 7481, "type": "private"}}}),
    # Parses, but the handlers raise on it: failed, with the handler's error.
    ("failed", {"message": {"message_id": 1, "date": 0, "text": "hoi", "from": FROM}}),
    # A chat id no database column holds (Telegram's fit in 64 bits): stored, then failed in the handler.
    (
        "failed",
        {
            "message": {
                "message_id": 1,
                "date": 0,
                "text": "/start",
                "chat": {"id": 2**70, "type": "private"},
                "from": FROM,
            }
        },
    ),
]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_bad_updates_in_a_batch_are_put_aside_and_the_good_ones_handled(
    sandbox: Sandbox, store: Store, bots: Bots
) -> None:
    good: list[int] = []
    bad: dict[int, str] = {}
    for index, (status, update) in enumerate(BAD):
        user = sandbox.user(7400 + index, f"G{index}", language_code="en")
        user.send("/start")
        good.append(user.user_id)
        bad[sandbox.inject_raw_update(update)] = status
    last = sandbox.user(7499, "Last", language_code="en")
    last.send("/start")
    good.append(last.user_id)
    assert len(sandbox.pending_updates()) == 2 * len(BAD) + 1  # one getUpdates batch

    port = _free_port()
    # Short pauses between the tries of an update whose handler fails (2 s, then 8 s as shipped).
    bot = bots.start(http_port=port, inbox_retry_seconds=0.2)
    for user_id in good:
        wait_until(lambda user_id=user_id: len(texts(sandbox, user_id)) >= 2, 15, f"replies to {user_id}")
    wait_until(lambda: all(row.status in ("done", "poison", "failed") for row in store.inbox().values()), 10, "inbox")
    inbox = store.inbox()
    for update_id, status in bad.items():
        row = inbox[update_id]
        assert row.status == status, (update_id, row.status, row.error)
        assert row.error, "the error is kept with the update"
        assert row.payload is not None, "a bad update is kept aside whole, for someone to look at"
        if status == "failed":
            assert row.attempts == 3, "a failing handler is tried again before the update is given up on"
    assert {inbox[update_id].status for update_id in inbox if update_id not in bad} == {InboxStatus.DONE}
    assert all(len(texts(sandbox, user_id)) == 2 for user_id in good)

    # Counted where operators look.
    metrics = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5, trust_env=False).text
    assert 'waakvlam_updates_total{status="poison"} 3' in metrics
    assert 'waakvlam_updates_total{status="failed"} 2' in metrics

    # The batch was confirmed once and never fetched again; the poller is alive and takes new updates.
    wait_until(lambda: not sandbox.pending_updates(), 5, "the batch confirmed")
    assert sandbox.confirmed_offset > max(bad)
    later = sandbox.user(7498, "Later", language_code="en")
    later.send("/start")
    wait_until(lambda: len(later.messages) >= 2, 10, "a reply to an update after the bad batch")
    assert bot.alive()
    assert len(store.inbox()) == 2 * len(BAD) + 2


def test_an_update_the_database_refuses_is_kept_aside_without_holding_up_the_batch(database_url: str) -> None:
    """PostgreSQL's json refuses NaN (Python's json module produces it); SQLite stores it."""
    migrate.upgrade(database_url)
    db = Database(database_url)
    now = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
    updates = [
        {"update_id": 1, "message": {"chat": {"id": 1}, "text": "a"}},
        {"update_id": 2, "message": {"chat": {"id": 2}, "location": {"latitude": float("nan"), "longitude": 0}}},
        {"update_id": 3, "message": {"chat": {"id": 2**70}, "text": "c"}},
        {"update_id": 4, "message": {"chat": {"id": 1}, "text": "d"}},
    ]
    try:
        with db.session() as session:
            assert inbox_store.store_updates(session=session, raw_updates=updates, now=now) == 4
        with db.session() as session:
            rows = {row.update_id: row for row in session.exec(select(InboxUpdate))}
        assert [rows[i].status for i in (1, 3, 4)] == [InboxStatus.NEW] * 3
        assert rows[3].chat_id is None and rows[3].payload is not None
        if db.dialect == "postgresql":
            assert rows[2].status == InboxStatus.POISON and (rows[2].error or "").startswith("not storable")
            assert rows[2].payload is None
        else:
            assert rows[2].status == InboxStatus.NEW
    finally:
        db.dispose()
