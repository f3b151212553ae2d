"""2,000 messages queued at once to 2,000 chats: all arrive, once each, with no 429 from a flood-limited Telegram.

Telegram's limits (30 a second overall, 1 a second per chat) are scaled by SCALE on both sides, the
sandbox's enforcement and the bot's settings, so the test takes seconds instead of 70.
"""

from __future__ import annotations

from collections import Counter

from sqlmodel import select

from sandbox import Sandbox
from storage import outbox_store
from storage.models import OutboxMessage, OutboxStatus
from tests.delivery.conftest import Bots, Store, wait_until

COUNT = 2_000
SCALE = 10.0
FIRST_CHAT = 1_000_000


def test_two_thousand_chats_at_once_within_the_flood_limits(sandbox: Sandbox, store: Store, bots: Bots) -> None:
    chats = range(FIRST_CHAT, FIRST_CHAT + COUNT)
    for chat in chats:
        sandbox.user(chat, f"F{chat}", language_code="en")
    sandbox.set_flood_limits(global_per_second=30, per_chat_per_second=1, per_group_per_minute=20, scale=SCALE)
    now = store.now()
    with store.session() as session:
        for chat in chats:
            outbox_store.enqueue(
                session=session,
                dedupe_key=f"fanout:{chat}",
                chat_id=chat,
                payload={"chat_id": chat, "text": "Buurtfeest"},
                now=now,
            )
    bots.start(
        sender_global_per_second=30 * SCALE,
        sender_per_chat_per_second=1 * SCALE,
        sender_per_group_per_minute=20 * SCALE,
        sender_max_in_flight=16,
        # The default margin: each message waits for the answer to the one it follows in a window, so
        # neither a busy machine's stalled event loop nor network jitter can crowd a window at Telegram.
    )
    wait_until(
        lambda: sandbox.stats.by_method_status["sendMessage", 200] >= COUNT, 90, "all messages accepted", every=0.5
    )
    with store.session() as session:
        wait_until(
            lambda: outbox_store.outbox_counts(session=session) == {OutboxStatus.SENT: COUNT},
            10,
            "every row marked sent",
        )
        assert session.exec(select(OutboxMessage).where(OutboxMessage.attempts != 1)).first() is None

    stats = sandbox.stats
    assert stats.too_many_requests == 0, "the sender never went over a limit"
    assert stats.by_method_status["sendMessage", 429] == 0
    per_chat = Counter({chat: len(sandbox.delivered(chat)) for chat in chats})
    assert set(per_chat.values()) == {1}, "every chat got it, and only once"

    sends = sorted(call.time for call in sandbox.calls_to("sendMessage") if call.status == 200)
    seconds = sends[-1] - sends[0]
    achieved = (len(sends) - 1) / seconds
    allowed = 30 * SCALE
    print(
        f"\nfan-out: {len(sends)} messages in {seconds:.2f}s = {achieved:.0f}/s "
        f"of {allowed:.0f}/s allowed ({achieved / allowed:.0%}; unscaled {achieved / SCALE:.1f}/s of 30/s)"
    )
