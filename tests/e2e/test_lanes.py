"""Updates of different chats are handled side by side; each chat's own updates stay in order.

Telegram can be slow to answer (tens of milliseconds on a good day, seconds on a bad one). Here the sandbox
holds the answers to one family's chat: another family is answered meanwhile, and the first family's next
message waits until its first is done, then both are answered in the order they were written.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlmodel import select

from storage.models import InboxUpdate
from tests.e2e.harness import Chat, Harness, expect
from tests.waiting import wait_until


def _statuses(harness: Harness, chat: Chat) -> list[str]:
    """The inbox statuses of a chat's updates, oldest first."""
    with harness.session() as session:
        rows = session.exec(
            select(InboxUpdate).where(InboxUpdate.chat_id == chat.id).order_by(InboxUpdate.update_id)
        ).all()
        return [str(row.status) for row in rows]


def test_a_slow_answer_to_one_chat_holds_up_no_other_and_each_chat_keeps_its_order(
    harness: Harness, person: Callable[..., Chat]
) -> None:
    assert harness.runtime.settings.inbox_lanes > 1, "the default runs several lanes"
    slow, quick = person("Anouk", language_code="en"), person("Bram", language_code="en")
    expect(slow.say("/start"), "family")
    expect(quick.say("/start"), "family")

    harness.sandbox.hold_calls_to(slow.id)
    try:
        before = len(slow.user.messages)
        slow.user.send("/help")
        wait_until(lambda: harness.sandbox.held_now >= 1, "the answer to the first family to be held")
        slow.user.send("/privacy")
        # Another family is answered while the first family's answer is still on its way.
        quick_before = len(quick.user.messages)
        quick.user.send("/help")
        wait_until(lambda: len(quick.user.messages) > quick_before, "the second family's answer")
        assert harness.sandbox.held_now >= 1 and len(slow.user.messages) == before
        # The first family's second message waits for its first: never two of a chat's updates in hand.
        statuses = _statuses(harness, slow)
        assert statuses[-2:] == ["processing", "new"], statuses
    finally:
        harness.sandbox.release_calls_to(slow.id)
    harness.settle()
    answers = [message.text or "" for message in slow.user.messages[before:]]
    firsts = [text.splitlines()[0] for text in answers]
    assert firsts == [
        "Waakvlam keeps you in touch with neighbours who help and with your coordinator.",
        "Your privacy",
    ], answers
