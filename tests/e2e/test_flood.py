"""One family flooding /talk cannot hold up another family's danger sign, and loses nothing itself.

Telegram lets a bot send about one message a second to one chat. The flood limits are on, in the
sandbox and in the bot's sender alike; the order of what the coordinator receives is the sandbox's
order of calls, never a time measured. (The seconds printed are for docs/safety.md, not asserted.)
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
from sqlmodel import col, select

from domain.ratelimit import Limits
from sandbox import Sandbox
from services.settings import Settings
from storage.models import OutboxMessage
from tests.e2e.care_world import new_coordinator, new_family, office_morning, quiet_world, reset_group, texts_since
from tests.e2e.harness import Chat, Harness, expect, tr

FLOOD = 100
DANGER = "My husband hits me and I am afraid to go home"
NOTICE = "You are sending a lot at once, so I am passing your messages on a little more slowly."


@pytest.fixture(autouse=True)
def _isolated(harness: Harness) -> Iterator[None]:
    quiet_world(harness)
    reset_group(harness)
    office_morning(harness)
    yield
    quiet_world(harness)
    reset_group(harness)


@contextmanager
def flood_limits(harness: Harness) -> Iterator[Callable[[float], None]]:
    """Telegram's limits on both sides; the callable scales them (sandbox first, so it is never the stricter)."""
    sandbox: Sandbox = harness.sandbox
    sender = harness.runtime.sender
    assert sender is not None
    shipped = sender.schedule.limits
    # The sender's shipped defaults are Telegram's limits (the harness widens them for the other tests).
    telegram = Settings(_env_file=None)  # type: ignore[call-arg]

    def scale(factor: float) -> None:
        sandbox.set_flood_limits(global_per_second=30, per_chat_per_second=1, per_group_per_minute=20, scale=factor)
        sender.schedule.limits = Limits(
            global_per_second=telegram.sender_global_per_second * factor,
            per_chat_per_second=telegram.sender_per_chat_per_second * factor,
            per_group_per_minute=telegram.sender_per_group_per_minute * factor,
            margin=telegram.sender_margin_seconds,
        )

    scale(1.0)
    try:
        yield scale
    finally:
        sender.schedule.limits = shipped
        sandbox.set_flood_limits(None, None, None)


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {timeout}s for {what}")
        time.sleep(0.02)


def test_a_flood_of_relayed_messages_does_not_hold_up_another_familys_danger_sign(
    harness: Harness, coordinator: Chat, person: Callable[..., Chat]
) -> None:
    sandbox = harness.sandbox
    mira = new_coordinator(coordinator, person, "Mira")
    fenna = new_family(mira, person, "Fenna")
    omar = new_family(mira, person, "Omar")
    # Fenna opens a conversation with /talk, then writes 99 more lines straight after each other.
    fenna.say("/talk")
    expect(fenna.say("line 1"), "passed this on to your coordinator")
    counters = harness.services.counters
    retries_before = counters.get("sender_retry_after", 0)
    with flood_limits(harness) as scale:
        sandbox.reset_counters()
        fenna_before, mira_before = len(fenna.user.messages), len(mira.user.messages)
        for number in range(2, FLOOD + 1):
            fenna.user.send(f"line {number}")
        # Another family of the same coordinator writes a danger sign while the copies are queued.
        started = time.time()
        omar.user.send(DANGER)

        def urgent_alert_queued() -> bool:
            with harness.session() as session:
                return (
                    session.exec(
                        select(OutboxMessage).where(
                            col(OutboxMessage.chat_id) == mira.id,
                            col(OutboxMessage.purpose) == "alert",
                            col(OutboxMessage.dedupe_key).contains("u:"),  # concern:{id}:{level}u:{coordinator}
                        )
                    ).first()
                    is not None
                )

        wait_for(urgent_alert_queued, "the urgent alert to be queued")
        queued = time.time()
        copies_when_queued = sum(text.startswith("line ") for text in texts_since(mira, mira_before))
        wait_for(lambda: any("URGENT" in text for text in texts_since(mira, mira_before)), "the urgent alert")
        to_mira = texts_since(mira, mira_before)
        card = next(index for index, text in enumerate(to_mira) if "URGENT" in text)
        copies_before = sum(text.startswith("line ") for text in to_mira[:card])
        alert_call = next(
            call
            for call in sandbox.calls
            if call.params.get("chat_id") == mira.id and "URGENT" in str(call.params.get("text", ""))
        )
        print(
            f"\nflood: the urgent alert reached the coordinator {alert_call.time - started:.1f}s after the danger "
            f"sign ({alert_call.time - queued:.1f}s after it was queued), after {copies_before} of the flood's copies "
            f"({copies_when_queued} had been sent when it was queued)"
        )
        # Only a copy already on its way may still go first (one at a time to a chat at 1 a second).
        assert copies_before <= copies_when_queued + 1, to_mira[: card + 1]
        assert copies_before < FLOOD - 10
        wait_for(lambda: DANGER in texts_since(mira, mira_before), "the danger message itself")
        to_mira = texts_since(mira, mira_before)
        assert sum(text.startswith("line ") for text in to_mira[: to_mira.index(DANGER)]) <= copies_when_queued + 2, (
            "the danger message itself follows its alert, not the flood"
        )

        # The rest of the flood follows, paced: every line, once, in the order written.
        scale(10.0)
        harness.advance(minutes=20)
        harness.settle(timeout=60)
        lines = [text for text in texts_since(mira, mira_before) if text.startswith("line ")]
        assert lines == [f"line {number}" for number in range(2, FLOOD + 1)], "nothing lost, nothing twice, in order"
        expect(texts_since(mira, mira_before), "Fenna is sending many messages at once")
        # Fenna heard once that her messages are slowed, and nothing for each line.
        to_fenna = texts_since(fenna, fenna_before)
        assert [text for text in to_fenna if NOTICE in text] == to_fenna and len(to_fenna) == 1, to_fenna
        expect(to_fenna, "None are lost", "112")
        # The sender never went over a limit towards the flood's chats. (Other chats are left out: answers to
        # the person writing are not booked in the sender's schedule, so on a busy machine the strict sandbox
        # may refuse a queued message that follows one within the same second; the sender retries it.)
        refused = [call for call in sandbox.calls if call.status == 429]
        retries = counters.get("sender_retry_after", 0) - retries_before
        chats = sorted({call.params.get("chat_id") for call in refused})
        print(f"429 answers: {len(refused)}, to {chats}; retried by the sender: {retries}")
        assert not [call for call in refused if call.params.get("chat_id") in (mira.id, fenna.id)], refused
    expect(texts_since(omar, 0), "112", "0800-2000")


def test_lines_in_a_row_need_one_acknowledgement(
    harness: Harness, coordinator: Chat, person: Callable[..., Chat]
) -> None:
    nora = new_coordinator(coordinator, person, "Nora", language="nl")
    sem = new_family(nora, person, "Sem", language="nl")
    sem.say("/talk")
    expect(sem.say("We hebben een probleem met de huur"), tr("nl", "✓ I have passed this on to your coordinator."))
    replies = [sem.say(line) for line in ("De brief kwam gisteren", "Er staat een datum in", "Vrijdag al", "Help")]
    assert replies == [[], [], [], []], "one acknowledgement for lines in a row"
    assert [text for text in texts_since(nora, 0) if text in ("Vrijdag al", "Help")] == ["Vrijdag al", "Help"]
    harness.advance(minutes=10)
    expect(sem.say("Nog een vraag"), tr("nl", "✓ Passed on to your coordinator."))
