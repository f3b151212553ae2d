"""Priority under load: a danger sign's alert while 10,000 check-ins are being sent.

10,000 check-in messages wait in the outbox (bulk-inserted as the tick writes them: one per family, due
now) and the sender works through them at Telegram's limits x3 (90/s, enforced by the sandbox, so the
last leaves after ~110 s). A few seconds in, a family writes a danger sign; it goes the whole way: getUpdates,
the inbox, the urgent screen, the concern and the coordinators' alerts (urgent priority) written together,
the sender. The figure is the time from the family's message to the coordinator's alert being answered by
the sandbox, beside the goal of 2 s; the reference is how many check-ins were still waiting then.
"""

from __future__ import annotations

import contextlib
import time
from datetime import timedelta
from typing import Any

from bench.common import ADMIN_ID, START, TOKEN, Row, RunningClock, running_bot, settings_for, wait_until
from bench.fanout import TELEGRAM_GLOBAL, TELEGRAM_PER_CHAT, TELEGRAM_PER_GROUP
from bench.seed import FAMILY_TELEGRAM_BASE, _insert, _next_id, _person, add_families
from sandbox import Sandbox
from storage import migrate, outbox_store
from storage.db import Database
from storage.models import OutboxMessage, OutboxStatus, Person

DANGER = "I want to kill myself tonight"
GOAL_SECONDS = 2.0


def _seed(db: Database, count: int) -> None:
    add_families(db, count=count, now=START, history=False)
    coordinator = _person(_next_id(db, Person), ADMIN_ID, "coordinator", "Coco", "en", START)
    _insert(db, Person, [{**coordinator, "is_admin": True}])
    due = START - timedelta(seconds=1)
    _insert(
        db,
        OutboxMessage,
        [
            {
                "dedupe_key": f"checkin:bench:{index}",
                "chat_id": FAMILY_TELEGRAM_BASE + index,
                "method": "sendMessage",
                "payload": {"chat_id": FAMILY_TELEGRAM_BASE + index, "text": "How are things this week?"},
                "purpose": "checkin",
                "priority": 2,
                "status": OutboxStatus.PENDING,
                "attempts": 0,
                "not_before": due,
                "created_at": due,
            }
            for index in range(count)
        ],
    )


def run_priority(kind: str, url: str, *, count: int = 10_000, scale: float = 3.0, after: float = 3.0) -> list[Row]:
    migrate.upgrade(url)
    db = Database(url)
    _seed(db, count)
    db.dispose()
    limit = TELEGRAM_GLOBAL * scale
    with Sandbox(token=TOKEN) as sandbox:
        users = [sandbox.user(FAMILY_TELEGRAM_BASE + index, f"Gezin {index}") for index in range(count)]
        sandbox.user(ADMIN_ID, "Coco", language_code="en")
        sandbox.set_flood_limits(TELEGRAM_GLOBAL, TELEGRAM_PER_CHAT, TELEGRAM_PER_GROUP, scale=scale)
        settings = settings_for(
            sandbox,
            url,
            sender_global_per_second=limit,
            sender_per_chat_per_second=TELEGRAM_PER_CHAT * scale,
            sender_per_group_per_minute=TELEGRAM_PER_GROUP * scale,
        )
        with running_bot(sandbox, settings, RunningClock(START)) as bot:

            def checkins_sent() -> int:
                return sum(
                    1
                    for call in sandbox.calls_to("sendMessage")
                    if call.status == 200 and call.params.get("chat_id") != ADMIN_ID
                )

            wait_until(lambda: checkins_sent() > 0, 60, what="the fan-out started")
            time.sleep(after)
            with bot.services.db.session() as session:
                waiting, _age = outbox_store.outbox_backlog(session=session, now=bot.clock.now())
            since = time.time()
            users[count // 2].send(DANGER)

            def alerted() -> list[Any]:
                return [
                    call
                    for call in sandbox.calls_to("sendMessage")
                    if call.status == 200 and call.params.get("chat_id") == ADMIN_ID and call.time >= since
                ]

            with contextlib.suppress(TimeoutError):
                wait_until(lambda: bool(alerted()), 60, what="the coordinator alerted")
            calls = alerted()
            seconds = calls[0].time - since if calls else float("inf")
            writer = FAMILY_TELEGRAM_BASE + count // 2
            answers = [
                call.time - since
                for call in sandbox.calls_to("sendMessage")
                if call.status == 200 and call.params.get("chat_id") == writer and call.time >= since
            ]
            answered = answers[0] if answers else float("inf")
            sent = checkins_sent()
            too_many = sandbox.stats.too_many_requests
    return [
        Row(
            bench="priority",
            case=f"danger sign's alert while {count:,} check-ins go out (x{scale:g}: {limit:g}/s)",
            db=kind,
            value=seconds,
            unit="s",
            reference=float(waiting),
            goal=f"<= {GOAL_SECONDS:g} s",
            met=seconds <= GOAL_SECONDS,
            note=f"reference: check-ins still waiting when the family wrote; the family had the safety numbers "
            f"after {answered:.2f} s; {sent:,} check-ins sent by then; 429s={too_many}",
            extra={"waiting": waiting, "answered": answered, "sent_by_then": sent, "too_many_requests": too_many},
        )
    ]
