"""How the sender reacts to Telegram's refusals, through the sandbox, in one running bot process.

Already covered elsewhere, so not repeated here: a 403 (blocked) family becomes unreachable and its
coordinator hears of it (tests/e2e/test_checkins.py), and the coordinators' group follows a migration
(tests/e2e/test_concerns.py). Here: 429 for one row only, a permanent 400, a plain message to a
migrated group, and 5xx and dropped connections retried with backoff.
"""

from __future__ import annotations

from sandbox import Sandbox
from storage.models import OutboxStatus
from tests.delivery.conftest import ADMIN_ID, Bots, Store, texts, wait_until


def _plain(text: str) -> str:
    """A message as a reader sees it: without the invisible isolate controls (U+2066-U+2069)."""
    return text.translate(dict.fromkeys(range(0x2066, 0x206A)))


def _rows(store: Store, prefix: str) -> dict[str, object]:
    return {row.dedupe_key: row for row in store.outbox() if row.dedupe_key.startswith(prefix)}


def _all_final(store: Store, prefix: str) -> bool:
    rows = _rows(store, prefix)
    return bool(rows) and all(row.status in (OutboxStatus.SENT, OutboxStatus.FAILED) for row in rows.values())  # type: ignore[attr-defined]


def test_429_400_migration_and_faults(sandbox: Sandbox, store: Store, bots: Bots) -> None:
    sandbox.user(ADMIN_ID, "Coco", language_code="en")
    store.admin()
    # The bot thinks a chat takes 10 a second; the sandbox, like Telegram, allows 1.
    bots.start(sender_per_chat_per_second=10)

    # --- 429 with retry_after holds back that chat's row only ------------------------------------
    sandbox.set_flood_limits(global_per_second=None, per_chat_per_second=1, per_group_per_minute=None)
    busy = 7700
    others = list(range(7701, 7711))
    for chat in [busy, *others]:
        sandbox.user(chat, f"C{chat}", language_code="en")
    for index in range(3):
        store.enqueue(busy, f"busy {index}", key=f"r429:busy:{index}")
    for chat in others:
        store.enqueue(chat, f"hello {chat}", key=f"r429:{chat}")
    wait_until(lambda: _all_final(store, "r429:"), 20, "the 429 round delivered")
    calls = [call for call in sandbox.calls_to("sendMessage") if call.params.get("chat_id") in [busy, *others]]
    refused = [call for call in calls if call.status == 429]
    assert refused and {call.params["chat_id"] for call in refused} == {busy}, "only the busy chat got 429"
    busy_ok = [call.time for call in calls if call.status == 200 and call.params["chat_id"] == busy]
    others_ok = [call.time for call in calls if call.status == 200 and call.params["chat_id"] != busy]
    assert max(others_ok) < busy_ok[1], "the other chats did not wait for the busy chat's retry"
    assert busy_ok[1] - refused[0].time >= 0.9, "the retry waited for retry_after (1 s)"
    assert sorted(texts(sandbox, busy)) == ["busy 0", "busy 1", "busy 2"]
    assert all(texts(sandbox, chat) == [f"hello {chat}"] for chat in others)
    rows = _rows(store, "r429:")
    assert all(row.status == OutboxStatus.SENT for row in rows.values())  # type: ignore[attr-defined]
    assert all(row.attempts == 1 for row in rows.values()), "a 429 is not counted as a failed attempt"  # type: ignore[attr-defined]
    sandbox.set_flood_limits(None, None, None)

    # --- "chat not found" for a person: failed, the reason kept, she is unreachable, a coordinator told --
    ghost = store.person(7720, "Gerda")  # her chat does not exist in Telegram (the sandbox)
    store.enqueue(7720, "you will not get this", key="r400:ghost", person_id=ghost)
    wait_until(lambda: _all_final(store, "r400:"), 10, "the 400 round settled")
    (row,) = _rows(store, "r400:").values()
    assert row.status == OutboxStatus.FAILED  # type: ignore[attr-defined]
    assert "chat not found" in (row.last_error or "").lower()  # type: ignore[attr-defined]
    # Names arrive wrapped in bidi isolates (FSI ... PDI, see `services.i18n.hi`); read the alert without them.
    wait_until(
        lambda: [text for text in texts(sandbox, ADMIN_ID) if "Gerda can no longer be reached" in _plain(text)],
        10,
        "the alert",
    )
    assert len([call for call in sandbox.calls_to("sendMessage") if call.params.get("chat_id") == 7720]) == 1

    # --- a group that became a supergroup: a plain message follows it to the new id ---------------
    member = sandbox.user(7730, "Mia", language_code="en")
    group = sandbox.group(-4_730, "Oude buurtgroep", forum=False, supergroup=False)
    group.send(member, "/hello")  # so the bot is in it
    new_id = group.migrate_to_supergroup()
    store.enqueue(-4_730, "Bijeenkomst dinsdag", key="rmig:1")
    store.enqueue(-4_730, "Bijeenkomst woensdag", key="rmig:2")
    wait_until(lambda: _all_final(store, "rmig:"), 10, "the migrated group's messages")
    assert sorted(texts(sandbox, new_id)) == ["Bijeenkomst dinsdag", "Bijeenkomst woensdag"]
    assert all(row.status == OutboxStatus.SENT and row.chat_id == new_id for row in _rows(store, "rmig:").values())  # type: ignore[attr-defined]

    # --- 500/502 and dropped connections: retried with backoff until delivered, once -----------------
    sandbox.set_faults(server_error_rate=0.25, drop_rate=0.15, seed=4)
    flaky = list(range(7740, 7760))
    for chat in flaky:
        sandbox.user(chat, f"F{chat}", language_code="en")
        store.enqueue(chat, f"reminder {chat}", key=f"rflt:{chat}")
    wait_until(lambda: _all_final(store, "rflt:"), 30, "the faulty round delivered")
    sandbox.set_faults()
    assert sum(sandbox.stats.faults.values()) > 0, "the sandbox did fail some calls"
    rows = _rows(store, "rflt:")
    assert all(row.status == OutboxStatus.SENT for row in rows.values())  # type: ignore[attr-defined]
    assert all(texts(sandbox, chat) == [f"reminder {chat}"] for chat in flaky), "delivered once each"
    assert max(row.attempts for row in rows.values()) > 1  # type: ignore[attr-defined]
    for row in rows.values():
        # Waits of at least 0.5 s, 1 s, 2 s ... after the 1st, 2nd, 3rd ... failure (backoff with jitter).
        failures = row.attempts - 1  # type: ignore[attr-defined]
        waited = (row.sent_at - row.created_at).total_seconds()  # type: ignore[attr-defined]
        assert waited >= 0.5 * (2**failures - 1) - 0.05, (row.dedupe_key, failures, waited)  # type: ignore[attr-defined]
    assert not sandbox.refusals, sandbox.refusals[:3]
