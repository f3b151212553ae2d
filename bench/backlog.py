"""Backlog: what claiming the next inbox update and the next outbox row costs with 0 or 10,000 waiting.

A fresh database; at each size the inbox holds that many updates waiting (spread over 1,000 chats, or all
in one chat, the case of one person writing a flood), and the outbox that many messages due. Each figure
is the median of repeated claims (the best of five rounds, sizes taking turns), each in its own
transaction, as the inbox worker and the sender make them (the claimed row is finished untimed, so the
next claim finds the same backlog less one). The reference is the same claim with nothing else waiting;
flat is 1.0. The claim's statements are explained, and their plans' key words are in the note.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import insert

from bench.common import START, Row, median, ratio
from bench.growth import captured, explain
from bench.seed import analyse
from storage import inbox_store, migrate, outbox_store
from storage.db import Database
from storage.models import InboxStatus, InboxUpdate, OutboxMessage, OutboxStatus

LEASE = timedelta(minutes=2)
GOAL = "flat: <= 1.5x the claim with none waiting"


def _update(update_id: int, chat_id: int) -> dict[str, Any]:
    payload = {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": 0,
            "chat": {"id": chat_id, "type": "private"},
            "from": {"id": chat_id, "is_bot": False, "first_name": "B"},
            "text": "hello",
        },
    }
    return {
        "update_id": update_id,
        "chat_id": chat_id,
        "payload": payload,
        "status": InboxStatus.NEW,
        "attempts": 0,
        "received_at": START,
    }


def _message(number: int, chat_id: int) -> dict[str, Any]:
    return {
        "dedupe_key": f"backlog:{number}",
        "chat_id": chat_id,
        "method": "sendMessage",
        "payload": {"chat_id": chat_id, "text": "hello"},
        "purpose": "message",
        "priority": 2,
        "status": OutboxStatus.PENDING,
        "attempts": 0,
        "not_before": START - timedelta(seconds=1),
        "created_at": START - timedelta(seconds=1),
    }


class _Ids:
    def __init__(self) -> None:
        self.next = 1

    def take(self, count: int) -> range:
        ids = range(self.next, self.next + count)
        self.next += count
        return ids


def _fill_inbox(db: Database, ids: _Ids, count: int, chats: int) -> None:
    rows = [_update(update_id, 5_000_000 + update_id % chats) for update_id in ids.take(count)]
    with db.session() as session:
        for start in range(0, len(rows), 2_000):
            session.execute(insert(InboxUpdate), rows[start : start + 2_000])


def _fill_outbox(db: Database, ids: _Ids, count: int) -> None:
    rows = [_message(number, 6_000_000 + number % 1_000) for number in ids.take(count)]
    with db.session() as session:
        for start in range(0, len(rows), 2_000):
            session.execute(insert(OutboxMessage), rows[start : start + 2_000])


def _clear(db: Database) -> None:
    with db.session() as session:
        session.execute(InboxUpdate.__table__.delete())  # type: ignore[attr-defined]
        session.execute(OutboxMessage.__table__.delete())  # type: ignore[attr-defined]


def _timed(claim: Callable[[], Any], finish: Callable[[Any], None], repeat: int) -> float:
    times = []
    for _ in range(repeat + 1):
        started = time.perf_counter()
        claimed = claim()
        times.append(time.perf_counter() - started)
        assert claimed, "a claim found nothing"
        finish(claimed)
    return median(times[1:])


def run_backlog(
    kind: str, url: str, *, sizes: tuple[int, ...] = (0, 10_000), repeat: int = 100, rounds: int = 5
) -> list[Row]:
    migrate.upgrade(url)
    db = Database(url)
    now = START

    def claim_update() -> Any:
        with db.session() as session:
            return inbox_store.claim_update(session=session, instance="bench", now=now, lease=LEASE)

    def finish_update(row: Any) -> None:
        with db.session() as session:
            inbox_store.finish_update(session=session, update_id=row.update_id, status=InboxStatus.DONE, now=now)

    def claim_message() -> Any:
        with db.session() as session:
            return outbox_store.claim_outbox(session=session, instance="bench", now=now, lease=LEASE, limit=1)

    def finish_message(rows: Any) -> None:
        with db.session() as session:
            outbox_store.mark_sent(session=session, message_id=rows[0].id, now=now, telegram_message_id=1)

    rows: list[Row] = []
    base: dict[str, float] = {}
    cases = [
        ("inbox", "claim the next update", 1_000),
        ("inbox1", "claim the next update, all waiting in one chat", 1),
        ("outbox", "claim the next outbox row", 0),
    ]
    for key, label, chats in cases:
        measured: dict[int, float] = {}
        plans: dict[int, str] = {}
        # Sizes alternate over a few rounds and the best round counts: the machine's other work comes
        # and goes, the backlog's cost does not.
        for _round in range(rounds):
            for size in sizes:
                _clear(db)
                ids = _Ids()
                # The rows claimed while timing come first; `size` more wait behind them all along.
                if key.startswith("inbox"):
                    _fill_inbox(db, ids, repeat + 2 + size, chats)
                    analyse(db)
                    seconds = _timed(claim_update, finish_update, repeat)
                    with captured(db) as statements:
                        claim_update()
                else:
                    _fill_outbox(db, ids, repeat + 2 + size)
                    analyse(db)
                    seconds = _timed(claim_message, finish_message, repeat)
                    with captured(db) as statements:
                        claim_message()
                plans[size] = explain(db, statements)[0]
                measured[size] = min(measured.get(size, seconds), seconds)
        for size in sizes:
            seconds = measured[size]
            base.setdefault(key, seconds)
            flat = ratio(seconds, base[key])
            rows.append(
                Row(
                    bench="backlog",
                    case=f"{label}, {size:,} more waiting",
                    db=kind,
                    value=seconds * 1000,
                    unit="ms/claim",
                    reference=base[key] * 1000,
                    ratio=flat,
                    goal=GOAL if size else "",
                    met=(flat or 0) <= 1.5 if size else None,
                    note=f"plan: {plans[size]}",
                )
            )
    db.dispose()
    return rows
