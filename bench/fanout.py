"""Fan-out against Telegram's limit: N check-ins due at the same minute, sent through the outbox.

The sandbox enforces Telegram's flood limits (30 messages/s overall, 1/s per chat, 20/min per group).
Sending 10,000 messages at the real 30/s takes 333 s, so limits are scaled: the sandbox's limits and the
sender's settings are both multiplied by `scale` (the safety margin on every window stays 0.05 s, the
same share of a window as in production). A second run raises both 100-fold to show where the sender
itself tops out.

Telegram's window admits a full second's worth at once, so a rate is measured the way the window
counts: `N / (last send - first send + 1 s)`, against the best the limit allows for N messages,
`N / (ceil(N / limit) * 1 s)`.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections import Counter

from bench.common import START, TOKEN, Row, RunningClock, ratio, running_bot, settings_for, wait_until
from bench.seed import FAMILY_TELEGRAM_BASE, add_families
from sandbox import Sandbox
from storage import migrate, outbox_store
from storage.db import Database

TELEGRAM_GLOBAL = 30.0
TELEGRAM_PER_CHAT = 1.0
TELEGRAM_PER_GROUP = 20.0


def run_fanout(kind: str, url: str, *, count: int, scale: float, label: str) -> list[Row]:
    migrate.upgrade(url)
    db = Database(url)
    add_families(db, count=count, now=START, due_at=START, history=True)
    db.dispose()
    clock = RunningClock(START)
    limit = TELEGRAM_GLOBAL * scale
    with Sandbox(token=TOKEN) as sandbox:
        for index in range(count):
            sandbox.user(FAMILY_TELEGRAM_BASE + index, f"Gezin {index}")
        sandbox.set_flood_limits(TELEGRAM_GLOBAL, TELEGRAM_PER_CHAT, TELEGRAM_PER_GROUP, scale=scale)
        settings = settings_for(
            sandbox,
            url,
            sender_global_per_second=limit,
            sender_per_chat_per_second=TELEGRAM_PER_CHAT * scale,
            sender_per_group_per_minute=TELEGRAM_PER_GROUP * scale,
        )
        with running_bot(sandbox, settings, clock, poll=False) as bot:
            sandbox.reset_counters()
            started = time.perf_counter()
            ran = bot.tick()
            tick_seconds = time.perf_counter() - started
            budget = 60.0 + 3 * count / limit

            def delivered() -> int:
                return sum(sandbox.stats.delivered.values())

            with contextlib.suppress(TimeoutError):  # a stall is reported as lost messages
                wait_until(lambda: delivered() >= count, budget, poll=0.05, what=f"{count} check-ins delivered")
            # Anything sent twice would arrive now.
            time.sleep(0.5)
            stats = sandbox.stats
            sends = sorted(call.time for call in sandbox.calls_to("sendMessage") if call.status == 200)
            with bot.services.db.session() as session:
                outbox = outbox_store.outbox_counts(session=session)
            counters = dict(bot.services.counters)
    per_chat: Counter[int] = Counter(stats.delivered)
    lost = sum(1 for index in range(count) if per_chat[FAMILY_TELEGRAM_BASE + index] == 0)
    duplicated = sum(max(0, seen - 1) for seen in per_chat.values())
    span = sends[-1] - sends[0] if len(sends) > 1 else 0.0
    achieved = len(sends) / (span + 1.0)
    allowed = count / (math.ceil(count / limit) * 1.0)
    raw = (len(sends) - 1) / span if span > 0 else float("nan")
    case = f"N={count:,}, limit x{scale:g} ({limit:g}/s)"
    fast = label == "raised"
    rate_row = Row(
        bench="fanout",
        case=case + (" (sender ceiling)" if fast else ""),
        db=kind,
        value=achieved,
        unit="msg/s",
        reference=allowed,
        ratio=ratio(achieved, allowed),
        goal="" if fast else ">= 0.95",
        met=None if fast else (ratio(achieved, allowed) or 0) >= 0.95,
        note=f"raw {raw:.0f} msg/s over {span:.1f}s; tick {ran} jobs in {tick_seconds:.2f}s",
        extra={"count": count, "scale": scale, "span_seconds": span, "raw_rate": raw, "outbox": outbox},
    )
    integrity = Row(
        bench="fanout",
        case=case + " 429s/lost/dup",
        db=kind,
        value=float(stats.too_many_requests),
        unit="429s",
        reference=float(count),
        ratio=None,
        goal="0/0/0",
        met=stats.too_many_requests == 0 and lost == 0 and duplicated == 0,
        note=f"429s={stats.too_many_requests} lost={lost} dup={duplicated}; sender {counters}",
        extra={"queued": ran, "delivered": sum(per_chat.values()), "lost": lost, "duplicated": duplicated},
    )
    tick_rate = count / tick_seconds if tick_seconds else None
    tick_row = Row(
        bench="fanout",
        case=f"N={count:,}: tick writes check-ins",
        db=kind,
        value=tick_rate,
        unit="check-ins/s",
        reference=TELEGRAM_GLOBAL,
        ratio=ratio(tick_rate, TELEGRAM_GLOBAL),
        goal="> 1 (faster than Telegram takes them)",
        met=(ratio(tick_rate, TELEGRAM_GLOBAL) or 0) > 1,
        note=f"{ran} jobs ran (check-ins with their reminder, 'missed' and next jobs)",
    )
    return [rate_row, integrity] + ([] if fast else [tick_row])
