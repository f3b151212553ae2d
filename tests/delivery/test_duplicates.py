"""The same update delivered three times (same update_id) has one effect: polled, and by webhook retries."""

from __future__ import annotations

import socket

import httpx

from bot.web import SECRET_HEADER, WEBHOOK_PATH
from sandbox import Sandbox
from storage.models import InboxStatus
from tests.delivery.conftest import Bots, Store, texts, wait_until


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _settled(sandbox: Sandbox, store: Store, *chats: int, replies: int) -> None:
    for chat in chats:
        wait_until(lambda chat=chat: len(texts(sandbox, chat)) >= replies, 15, f"replies to {chat}")
    wait_until(lambda: {row.status for row in store.inbox().values()} == {InboxStatus.DONE}, 10, "inbox done")


def test_an_update_polled_three_times_acts_once(sandbox: Sandbox, store: Store, bots: Bots) -> None:
    control = sandbox.user(7600, "Once", language_code="en")
    control.send("/start")
    twice = sandbox.user(7601, "Thrice", language_code="en")
    twice.send("/start")
    (update,) = [u for u in sandbox.pending_updates() if u["message"]["chat"]["id"] == 7601]
    sandbox.inject_raw_update(update, keep_update_id=True)
    sandbox.inject_raw_update(update, keep_update_id=True)
    assert [u["update_id"] for u in sandbox.pending_updates()].count(update["update_id"]) == 3

    bots.start()
    _settled(sandbox, store, 7600, 7601, replies=2)
    wait_until(lambda: not sandbox.pending_updates(), 5, "all confirmed")
    assert texts(sandbox, 7601) == texts(sandbox, 7600), "the same replies as a single /start"
    assert len(store.inbox()) == 2


def test_a_webhook_update_retried_three_times_acts_once(sandbox: Sandbox, store: Store, bots: Bots) -> None:
    port = _free_port()
    secret = "s3cret-for-tests"
    bots.start(
        webhook_url=f"http://127.0.0.1:{port}",
        webhook_secret=secret,
        webhook_listen="127.0.0.1",
        webhook_port=port,
    )
    assert sandbox.webhook_url == f"http://127.0.0.1:{port}{WEBHOOK_PATH}"
    control = sandbox.user(7610, "Once", language_code="en")
    control.send("/start")  # delivered by the sandbox's webhook loop, as Telegram does
    _settled(sandbox, store, 7610, replies=2)

    # Telegram retries when it did not see our 200 in time: the very same body, three times.
    sandbox.user(7611, "Thrice", language_code="en")
    update = {
        "update_id": 990_001,
        "message": {
            "message_id": 1,
            "date": 1_700_000_000,
            "chat": {"id": 7611, "type": "private", "first_name": "Thrice"},
            "from": {"id": 7611, "is_bot": False, "first_name": "Thrice", "language_code": "en"},
            "text": "/start",
            "entities": [{"type": "bot_command", "offset": 0, "length": 6}],
        },
    }
    url = f"http://127.0.0.1:{port}{WEBHOOK_PATH}"
    with httpx.Client(timeout=5, trust_env=False) as client:
        statuses = [client.post(url, json=update, headers={SECRET_HEADER: secret}).status_code for _ in range(3)]
        _settled(sandbox, store, 7611, replies=2)
        statuses.append(client.post(url, json=update, headers={SECRET_HEADER: secret}).status_code)  # after handling
    assert statuses == [200, 200, 200, 200]
    wait_until(lambda: store.inbox()[990_001].status == InboxStatus.DONE, 5, "handled")
    assert texts(sandbox, 7611) == texts(sandbox, 7610), "the same replies as a single /start"
    assert store.inbox()[990_001].attempts == 1
