"""SIGKILL in the exact windows of docs/delivery.md (via WAAKVLAM_CRASH_AT), then a restart: nothing lost.

Every test runs the real bot as a separate process against the sandbox and kills it with SIGKILL at
a fault-injection point (services/faults.py), so no `finally`, no shutdown hook and no flush runs.
"""

from __future__ import annotations

import signal

from sandbox import Sandbox
from storage.models import InboxStatus, OutboxStatus
from tests.delivery.conftest import Bots, Store, texts, wait_until

KILLED = -signal.SIGKILL
LEASE = 1.5  # seconds; what a dead process's claims last in these tests (60 s and 2 min in production)


def _users(sandbox: Sandbox, first: int, count: int) -> list[int]:
    for user_id in range(first, first + count):
        sandbox.user(user_id, f"P{user_id}", language_code="en")
    return list(range(first, first + count))


def test_killed_between_the_outbox_commit_and_the_send(sandbox: Sandbox, store: Store, bots: Bots) -> None:
    chats = _users(sandbox, 7000, 5)
    for chat in chats:
        store.enqueue(chat, f"message for {chat}")
    doomed = bots.start(crash_at="before_send", lease_seconds=LEASE, wait=False)
    assert doomed.wait_exit() == KILLED, doomed.tail()
    # Committed, claimed by the dead sender, not sent.
    assert {row.status for row in store.outbox()} == {OutboxStatus.SENDING}
    assert all(texts(sandbox, chat) == [] for chat in chats)

    bots.start(lease_seconds=LEASE)
    wait_until(lambda: all(row.status == OutboxStatus.SENT for row in store.outbox()), 20, "all rows sent")
    for chat in chats:
        assert texts(sandbox, chat) == [f"message for {chat}"], "delivered exactly once after the restart"
    assert [row.attempts for row in store.outbox()] == [1] * len(chats)


def _start_replies(sandbox: Sandbox, bots: Bots, user_id: int) -> list[str]:
    """What a single /start shows a new person, on a healthy bot: the yardstick for 'exactly as expected'."""
    user = sandbox.user(user_id, "Control", language_code="en")
    user.send("/start")
    wait_until(lambda: len(user.messages) >= 2, 15, "the control person's replies")
    return [message.text or "" for message in user.messages]


def test_killed_between_storing_updates_and_handling_them(sandbox: Sandbox, store: Store, bots: Bots) -> None:
    people = _users(sandbox, 7100, 4)
    for user_id in people:
        sandbox.user(user_id, f"P{user_id}", language_code="en").send("/start")
    doomed = bots.start(crash_at="after_inbox_store", wait=False)
    assert doomed.wait_exit() == KILLED, doomed.tail()
    inbox = store.inbox()
    assert len(inbox) == 4 and {row.status for row in inbox.values()} == {InboxStatus.NEW}
    # Stored, but Telegram was never told: it still holds them. And nobody got an answer.
    assert len(sandbox.pending_updates()) == 4
    assert all(texts(sandbox, user_id) == [] for user_id in people)

    bots.start()
    expected = _start_replies(sandbox, bots, 7199)
    for user_id in people:
        wait_until(lambda user_id=user_id: len(texts(sandbox, user_id)) >= len(expected), 15, f"replies to {user_id}")
    wait_until(lambda: not sandbox.pending_updates(), 5, "the updates confirmed to Telegram")
    # The control's replies can be seen a moment before its update is marked done.
    wait_until(lambda: {row.status for row in store.inbox().values()} == {InboxStatus.DONE}, 10, "inbox done")
    for user_id in people:
        assert texts(sandbox, user_id) == expected
    inbox = store.inbox()
    assert len(inbox) == 5 and {row.status for row in inbox.values()} == {InboxStatus.DONE}
    assert {row.attempts for row in inbox.values()} == {1}


def test_killed_after_claiming_an_update_before_handling_it(sandbox: Sandbox, store: Store, bots: Bots) -> None:
    people = _users(sandbox, 7200, 3)
    for user_id in people:
        sandbox.user(user_id, f"P{user_id}", language_code="en").send("/start")
    doomed = bots.start(crash_at="before_handle", lease_seconds=LEASE, wait=False)
    assert doomed.wait_exit() == KILLED, doomed.tail()
    statuses = sorted(row.status for row in store.inbox().values())
    assert statuses == [InboxStatus.NEW, InboxStatus.NEW, InboxStatus.PROCESSING]

    bots.start(lease_seconds=LEASE)
    expected = _start_replies(sandbox, bots, 7299)
    for user_id in people:
        wait_until(lambda user_id=user_id: len(texts(sandbox, user_id)) >= len(expected), 15, f"replies to {user_id}")
    wait_until(lambda: {row.status for row in store.inbox().values()} == {InboxStatus.DONE}, 10, "inbox done")
    for user_id in people:
        assert texts(sandbox, user_id) == expected
    # The interrupted update was handled once more, after its claim ran out; the others once.
    assert sorted(row.attempts for row in store.inbox().values()) == [1, 1, 1, 2]


def test_killed_after_the_send_before_marking_it_sent_shows_it_at_most_twice(
    sandbox: Sandbox, store: Store, bots: Bots
) -> None:
    """The one window docs/delivery.md names: Telegram has the message, the row still says `sending`."""
    chats = _users(sandbox, 7300, 3)
    for chat in chats:
        store.enqueue(chat, f"check-in for {chat}")
    doomed = bots.start(crash_at="after_send", lease_seconds=LEASE, wait=False)
    assert doomed.wait_exit() == KILLED, doomed.tail()
    shown_before = {chat: len(texts(sandbox, chat)) for chat in chats}
    assert sum(shown_before.values()) >= 1, "Telegram accepted at least the message the process died after"
    assert all(row.status == OutboxStatus.SENDING for row in store.outbox())

    bots.start(lease_seconds=LEASE)
    wait_until(lambda: all(row.status == OutboxStatus.SENT for row in store.outbox()), 20, "all rows sent")
    for chat in chats:
        shown = texts(sandbox, chat)
        assert set(shown) == {f"check-in for {chat}"}
        assert len(shown) == shown_before[chat] + 1, "each row is sent once more after the restart, no more"
        assert len(shown) <= 2
    assert any(len(texts(sandbox, chat)) == 2 for chat in chats), "the window is real: one message shown twice"
