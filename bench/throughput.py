"""Update throughput: a realistic mix through the whole bot, beside a bare PTB echo bot on the same harness.

Simulated families sign up (/start, buttons, their name, a neighbourhood, children), ask for help through
the menu, write free text (offered to pass on, and passed on), and answer a check-in. Everyone takes the
same step at once, a round; the next round starts when the bot has handled every update and sent every
message it queued. The exact updates of each round are recorded and replayed, in the same rounds, to a
bare python-telegram-bot application whose only handler echoes the text back, over the same sandbox.

Telegram's flood limits are off here (in the sandbox and the sender): this measures handling, and the
fan-out benchmark measures the limits. Latency is per update: the inbox's claim, parsing, the handlers
and the replies, and marking it done (for the echo bot: its handler, which sends the reply).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from bench.common import (
    ADMIN_ID,
    START,
    TOKEN,
    UNLIMITED_SENDER,
    BotRun,
    Row,
    echo_bot,
    percentile,
    ratio,
    running_bot,
    settings_for,
)
from domain.clock import FakeClock
from sandbox import Sandbox
from services import matching
from services.i18n import use_language
from storage import people

AREA = "Centrum"
Step = Callable[[Any], bool]


def _labels(user: Any) -> list[str]:
    for message in reversed(user.messages):
        if message.buttons:
            return [label for row in message.buttons for label in row]
    return []


def say(text: str) -> Step:
    def step(user: Any) -> bool:
        user.send(text)
        return True

    return step


def tap(label: str) -> Step:
    def step(user: Any) -> bool:
        if label not in _labels(user):
            return False
        user.press(label)
        return True

    return step


def tap_first() -> Step:
    def step(user: Any) -> bool:
        if not _labels(user):
            return False
        user.press(0)
        return True

    return step


def request_step(user: Any) -> bool:
    """One answer in the help-request dialogue, whatever it asks next (Send once it can)."""
    labels = _labels(user)
    for label in ("✅ Send", "Tomorrow", "Evening (18:00-22:00)", "No", "Skip"):
        if label in labels:
            user.press(label)
            return True
    user.send("Albert Heijn, Dorpsstraat")
    return True


def script() -> list[tuple[str, Step]]:
    with use_language("en"):
        groceries = matching.kind_label("groceries")
    return [
        ("sign-up", say("/start")),
        ("sign-up", tap("We are a family")),
        ("sign-up", tap("Yes, I agree")),
        ("sign-up", say("Fam")),
        ("sign-up", tap(AREA)),
        ("sign-up", tap("2")),
        ("sign-up", say("4, 7")),
        ("help request", say("/menu")),
        ("help request", tap("🙋 Ask for help")),
        ("help request", tap(groceries)),
        ("help request", request_step),
        ("help request", request_step),
        ("help request", request_step),
        ("help request", request_step),
        ("free text", say("We are doing a bit better this week, thank you")),
        ("free text", tap("Yes, pass it on")),
        ("command", say("/help")),
        ("check-in", tap_first()),
    ]


class Recorder:
    """Records every update the sandbox queues, by round, to replay them to the echo bot."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.rounds: list[list[tuple[str, dict[str, Any]]]] = []
        world = sandbox.world
        original = world.queue_update

        def queue_update(kind: str, payload: dict[str, Any], *, filtered: bool = True) -> int | None:
            update_id = original(kind, payload, filtered=filtered)
            if update_id is not None and self.rounds:
                self.rounds[-1].append((kind, payload))
            return update_id

        world.queue_update = queue_update  # type: ignore[method-assign]
        self._world = world
        self._original = original

    def stop(self) -> None:
        self._world.queue_update = self._original  # type: ignore[method-assign]

    def new_round(self) -> None:
        self.rounds.append([])


def _time_handling(bot: BotRun) -> list[float]:
    """Each handled update's latency, from the claim to the end of its handlers, in every lane."""
    latencies: list[float] = []
    for worker in bot.runtime.workers:
        original = worker.handle_next

        async def handle_next(original: Any = original) -> bool:
            started = time.perf_counter()
            handled = await original()
            if handled:
                latencies.append(time.perf_counter() - started)
            return handled

        worker.handle_next = handle_next  # type: ignore[method-assign]
    return latencies


def run_throughput(kind: str, url: str, *, families: int, network_ms: float = 0.0) -> list[Row]:
    """The update mix through the bot and the echo bot; with `network_ms`, each API answer takes that long."""
    clock = FakeClock(START)
    with Sandbox(token=TOKEN) as sandbox:
        sandbox.answer_delay = network_ms / 1000
        # With answers at once, lanes buy nothing (the work is all CPU) and would blur each update's own
        # handling time with its neighbours': one lane, as the echo bot has. Over a network, the default.
        lanes = {} if network_ms else {"inbox_lanes": 1}
        settings = settings_for(sandbox, url, **UNLIMITED_SENDER, **lanes)
        users = [sandbox.user(700_000 + index, f"Fam{index}", language_code="en") for index in range(families)]
        admin = sandbox.user(ADMIN_ID, "Coco", language_code="en")
        recorder = Recorder(sandbox)
        steps = script()
        elapsed: dict[str, float] = {}
        counts: dict[str, int] = {}
        skipped = 0
        with running_bot(sandbox, settings, clock) as bot:
            with bot.services.db.session() as session:
                people.add_area(session=session, name=AREA, now=clock.now())
            for action in (say("/start"), tap("Yes, I agree"), say("Coco")):
                action(admin)
                bot.settle()
            latencies = _time_handling(bot)
            sql = bot.sql().__enter__()
            cpu_before = bot.cpu()
            tick_cpu = 0.0
            tick_sql = (0, 0)
            for label, step in steps:
                if label == "check-in":
                    # Two weeks on: every family's first check-in is due; not timed, and the tick's own
                    # work (not an update's) is not counted.
                    clock.advance(timedelta(days=15))
                    before, counted = bot.cpu(), (sql.statements, sql.transactions)
                    bot.tick()
                    tick_cpu += bot.cpu() - before
                    tick_sql = (sql.statements - counted[0], sql.transactions - counted[1])
                    bot.settle(timeout=120)
                recorder.new_round()
                started = time.perf_counter()
                for user in users:
                    if not step(user):
                        skipped += 1
                bot.settle(timeout=120)
                elapsed[label] = elapsed.get(label, 0.0) + time.perf_counter() - started
                counts[label] = counts.get(label, 0) + len(recorder.rounds[-1])
            cpu = bot.cpu() - cpu_before - tick_cpu
            sql.__exit__()
            statements, transactions = sql.statements - tick_sql[0], sql.transactions - tick_sql[1]
        recorder.stop()
        sandbox_refusals = len(sandbox.refusals)
        total_updates = sum(counts.values())
        bot_seconds = sum(elapsed.values())
        # The same updates, in the same rounds, to the bare echo bot.
        with echo_bot(sandbox) as echo:
            echo_cpu_before = echo.cpu()
            echo_seconds = 0.0
            expected = 0
            for round_updates in recorder.rounds:
                started = time.perf_counter()
                for update_kind, payload in round_updates:
                    sandbox.inject_raw_update({update_kind: payload})
                expected += len(round_updates)
                echo.wait_handled(expected, timeout=120)
                echo_seconds += time.perf_counter() - started
            echo_cpu = echo.cpu() - echo_cpu_before
            echo_latencies = list(echo.latencies)
    bot_rate = total_updates / bot_seconds
    echo_rate = total_updates / echo_seconds
    mix = ", ".join(f"{label} {count}" for label, count in counts.items())
    rows = [
        Row(
            bench="throughput",
            case=f"{families} families, {total_updates} updates",
            db=kind,
            value=bot_rate,
            unit="updates/s",
            reference=echo_rate,
            ratio=ratio(bot_rate, echo_rate),
            goal=">= 0.33 of echo",
            met=(ratio(bot_rate, echo_rate) or 0) >= 0.33,
            note=f"mix: {mix}; {skipped} steps skipped; refusals {sandbox_refusals}",
            extra={"counts": counts, "seconds": elapsed, "echo_seconds": echo_seconds},
        ),
        Row(
            bench="throughput",
            case="handling latency p50",
            db=kind,
            value=percentile(latencies, 0.5) * 1000,
            unit="ms",
            reference=percentile(echo_latencies, 0.5) * 1000,
            ratio=ratio(percentile(latencies, 0.5), percentile(echo_latencies, 0.5)),
            note="reference: echo bot",
        ),
        Row(
            bench="throughput",
            case="handling latency p99",
            db=kind,
            value=percentile(latencies, 0.99) * 1000,
            unit="ms",
            reference=percentile(echo_latencies, 0.99) * 1000,
            ratio=ratio(percentile(latencies, 0.99), percentile(echo_latencies, 0.99)),
            goal="<= 3x echo",
            met=(ratio(percentile(latencies, 0.99), percentile(echo_latencies, 0.99)) or 99) <= 3,
            note="reference: echo bot",
        ),
        Row(
            bench="throughput",
            case="CPU per update (bot thread)",
            db=kind,
            value=cpu / total_updates * 1000,
            unit="ms",
            reference=echo_cpu / total_updates * 1000,
            ratio=ratio(cpu, echo_cpu),
            note="reference: echo bot; the tick's own work left out; sending the replies and messages counted",
        ),
        Row(
            bench="throughput",
            case="statements / transactions per update",
            db=kind,
            value=statements / total_updates,
            unit="statements",
            reference=transactions / total_updates,
            note="reference column: transactions; the bot thread's, sender included, tick left out",
            extra={"statements": statements, "transactions": transactions},
        ),
    ]
    if network_ms:
        return _over_network(rows[:3], network_ms, settings.inbox_lanes)
    return rows


def _over_network(rows: list[Row], network_ms: float, lanes: int) -> list[Row]:
    """The throughput and p99 rows, named for the network's delay (the CPU and statements are as without it)."""
    rate, _p50, p99 = rows
    where = f"{network_ms:g} ms per API answer"
    rate.case = f"{rate.case}, {where}"
    rate.note = f"{lanes} lanes; the echo bot handles one update at a time (PTB's default); {rate.note}"
    p99.case = f"{p99.case}, {where}"
    return [rate, p99]
