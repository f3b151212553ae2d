"""Relay: a family's words copied to its topic in the coordinators' forum group, and a coordinator's answer
copied back, end to end over HTTP through the sandbox (getUpdates, inbox, handlers, outbox, copyMessage).

Set-up (not timed): a coordinator, the coordinators' group (/setgroup), families who sign up and raise a
concern with /talk, so each has a topic, and a first answer in each topic. Then, in rounds, every family
writes and the coordinator answers in every topic. The reference is a bare PTB echo bot that copies every
message back into its chat over the same HTTP path. Telegram's limits are off here (the group's 20/min
would set the pace otherwise); CPU is the bot thread's own.
"""

from __future__ import annotations

import time
from typing import Any

from bench.common import (
    ADMIN_ID,
    START,
    TOKEN,
    UNLIMITED_SENDER,
    Row,
    echo_bot,
    ratio,
    running_bot,
    settings_for,
)
from bench.throughput import AREA, script
from domain.clock import FakeClock
from sandbox import Sandbox
from storage import people

GROUP_ID = -1_001_234_567_890


def _copies(sandbox: Sandbox, since: float) -> int:
    return sum(1 for call in sandbox.calls_to("copyMessage") if call.status == 200 and call.time >= since)


def run_relay(kind: str, url: str, *, families: int, rounds: int) -> list[Row]:
    clock = FakeClock(START)
    with Sandbox(token=TOKEN) as sandbox:
        settings = settings_for(sandbox, url, **UNLIMITED_SENDER)
        users = [sandbox.user(800_000 + index, f"Rel{index}", language_code="en") for index in range(families)]
        admin = sandbox.user(ADMIN_ID, "Coco", language_code="en")
        family_chats = {user.user_id for user in users}
        group = sandbox.group(GROUP_ID, "Coördinatoren", forum=True)
        with running_bot(sandbox, settings, clock) as bot:
            with bot.services.db.session() as session:
                people.add_area(session=session, name=AREA, now=clock.now())
            admin.send("/start")
            bot.settle()
            admin.press("Yes, I agree")
            bot.settle()
            admin.send("Coco")
            bot.settle()
            group.send(admin, "/setgroup")
            bot.settle()
            signup = [step for label, step in script() if label == "sign-up"]
            for number, step in enumerate(signup):
                for index, user in enumerate(users):
                    if number == 3:
                        user.send(f"Rel{index}")
                    else:
                        step(user)
                bot.settle()
            for text in ("/talk", "We would like to talk to someone"):
                for user in users:
                    user.send(text)
                bot.settle(timeout=120)
            # A family's topic is named "<name> · <neighbourhood>".
            topics = {topic.name.split(" · ")[0]: thread for thread, topic in group.topics.items()}
            threads = [topics[f"Rel{index}"] for index in range(families) if f"Rel{index}" in topics]
            for thread in threads:
                group.send(admin, "Thank you, I will call you today", thread_id=thread)
            bot.settle(timeout=120)
            cpu_before = bot.cpu()
            since = time.time()
            started = time.perf_counter()
            counting = bot.sql().__enter__()
            for number in range(rounds):
                for user in users:
                    user.send(f"Message {number} from the family")
                for thread in threads:
                    group.send(admin, f"Answer {number} from the coordinator", thread_id=thread)
                bot.settle(timeout=120)
            elapsed = time.perf_counter() - started
            cpu = bot.cpu() - cpu_before
            counting.__exit__()
            relayed = _copies(sandbox, since)
            acks = sum(
                1
                for call in sandbox.calls_to("sendMessage")
                if call.status == 200 and call.time >= since and call.params.get("chat_id") in family_chats
            )
        expected = rounds * (families + len(threads))
        # The same messages to a bare echo bot that copies each back into its chat.
        with echo_bot(sandbox, copy=True) as echo:
            cpu_before = echo.cpu()
            started = time.perf_counter()
            count = 0
            for number in range(rounds):
                for user in users:
                    user.send(f"Message {number} from the family")
                for thread in threads:
                    group.send(admin, f"Answer {number} from the coordinator", thread_id=thread)
                count += families + len(threads)
                echo.wait_handled(count, timeout=120)
            echo_elapsed = time.perf_counter() - started
            echo_cpu = echo.cpu() - cpu_before
    rate, echo_rate = relayed / elapsed, count / echo_elapsed
    cpu_ms, echo_cpu_ms = cpu / max(1, relayed) * 1000, echo_cpu / max(1, count) * 1000
    note: dict[str, Any] = {"relayed": relayed, "expected": expected, "topics": len(threads)}
    return [
        Row(
            bench="relay",
            case=f"{families} families x {rounds} rounds, both ways",
            db=kind,
            value=rate,
            unit="msg/s",
            reference=echo_rate,
            ratio=ratio(rate, echo_rate),
            goal="relayed == sent",
            met=relayed == expected and len(threads) == families,
            note=f"{relayed} of {expected} relayed, {len(threads)} topics; reference: echo bot (copyMessage)",
            extra=note,
        ),
        Row(
            bench="relay",
            case="CPU per relayed message (bot thread)",
            db=kind,
            value=cpu_ms,
            unit="ms",
            reference=echo_cpu_ms,
            ratio=ratio(cpu_ms, echo_cpu_ms),
            goal="<= 2x echo",
            met=(ratio(cpu_ms, echo_cpu_ms) or 99) <= 2,
            note="reference: echo bot",
        ),
        Row(
            bench="relay",
            case="statements / transactions per relayed message",
            db=kind,
            value=counting.statements / max(1, relayed),
            unit="statements",
            reference=counting.transactions / max(1, relayed),
            note="reference column: transactions; the bot thread's, sender included",
        ),
        Row(
            bench="relay",
            case="'passed on' notes to families writing in a row",
            db=kind,
            value=float(acks),
            unit="messages",
            reference=float(rounds * families),
            goal="none for lines in a row (one per run)",
            met=acks == 0,
            note="reference: the families' lines; each family's first line came before the timed rounds",
        ),
    ]
