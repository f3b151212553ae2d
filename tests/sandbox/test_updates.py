"""Updates: long polling, offsets, simulated people's actions, webhooks."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any, ClassVar

import pytest
from telegram import Bot, Update
from telegram.error import BadRequest, Conflict

from sandbox import Sandbox
from tests.sandbox.conftest import TOKEN, make_bot, raw_call, with_bot
from tests.waiting import PATIENCE, wait_until, wait_until_async


def test_long_poll_wakes_as_soon_as_someone_writes(sb: Sandbox) -> None:
    person = sb.user(42, "Ann")

    async def poll(bot: Bot) -> tuple[Update, ...]:
        # A poll that would wait 100 s; it must end with the message, long before that.
        waiting = asyncio.create_task(bot.get_updates(timeout=100, read_timeout=110))
        await wait_until_async(lambda: sb.long_polls_started, "the poll to wait in the sandbox")
        assert not waiting.done()
        person.send("hallo")
        return await asyncio.wait_for(waiting, timeout=60)

    updates = with_bot(sb, poll)
    assert updates[0].message is not None and updates[0].message.text == "hallo"


def test_an_empty_long_poll_lasts_its_timeout(sb: Sandbox) -> None:
    started = time.monotonic()
    status, body = raw_call(sb, "getUpdates", timeout=1)
    assert (status, body["result"]) == (200, [])
    # It waited (at least about its timeout); how much longer a busy machine took does not matter.
    assert time.monotonic() - started >= 0.9
    assert sb.long_polls_started == 1


def test_offset_confirms_earlier_updates(sb: Sandbox) -> None:
    person = sb.user(42, "Ann")
    for text in ("een", "twee", "drie"):
        person.send(text)
    first = raw_call(sb, "getUpdates", limit=2)[1]["result"]
    assert [u["message"]["text"] for u in first] == ["een", "twee"]
    assert len(sb.pending_updates()) == 3  # fetched is not confirmed
    rest = raw_call(sb, "getUpdates", offset=first[-1]["update_id"] + 1)[1]["result"]
    assert [u["message"]["text"] for u in rest] == ["drie"]
    assert sb.confirmed_offset == first[-1]["update_id"] + 1
    raw_call(sb, "getUpdates", offset=rest[-1]["update_id"] + 1)
    assert sb.pending_updates() == []


def test_a_negative_offset_keeps_only_the_latest(sb: Sandbox) -> None:
    person = sb.user(42, "Ann")
    for text in ("een", "twee", "drie"):
        person.send(text)
    latest = raw_call(sb, "getUpdates", offset=-1)[1]["result"]
    assert [u["message"]["text"] for u in latest] == ["drie"]


def test_allowed_updates_are_remembered_and_opted_out_kinds_never_created(sb: Sandbox) -> None:
    person = sb.user(42, "Ann")
    raw_call(sb, "getUpdates", allowed_updates=["callback_query"])
    person.send("not wanted")
    assert sb.pending_updates() == [] and sb.stats.filtered_updates == 1
    raw_call(sb, "getUpdates", allowed_updates=[])  # back to Telegram's default
    person.send("wanted")
    assert len(sb.pending_updates()) == 1
    assert raw_call(sb, "getUpdates", allowed_updates=["mesage"])[0] == 400


def test_a_newer_long_poll_ends_the_older_with_conflict(sb: Sandbox) -> None:
    async def two_pollers() -> tuple[object, object]:
        async with make_bot(sb, read_timeout=10) as first, make_bot(sb, read_timeout=10) as second:
            older = asyncio.create_task(first.get_updates(timeout=30, read_timeout=40))
            # The older one is waiting before the newer one comes.
            await wait_until_async(lambda: sb.long_polls_started, "the older poll to wait")
            newer = asyncio.create_task(second.get_updates(timeout=1, read_timeout=10))
            results = await asyncio.gather(older, newer, return_exceptions=True)
            return results[0], results[1]

    older, newer = asyncio.run(two_pollers())
    assert isinstance(older, Conflict)
    assert newer == ()


def test_inject_raw_update_delivers_anything(sb: Sandbox) -> None:
    update_id = sb.inject_raw_update({"message_reaction": {"weird": True}})
    updates = raw_call(sb, "getUpdates")[1]["result"]
    assert updates == [{"update_id": update_id, "message_reaction": {"weird": True}}]


def test_person_actions_make_realistic_updates(sb: Sandbox) -> None:
    person = sb.user(42, "Ann", last_name="de Vries", username="ann", language_code="en")
    sent = person.send("/start abc123")
    person.edit(sent, "/start other")
    person.send_voice(duration=7)
    person.send_photo(caption="kijk")
    person.send_sticker()
    person.send_location(latitude=52.37, longitude=5.21)
    person.send_document(file_name="brief.pdf", data=b"%PDF-1.4", mime_type="application/pdf")
    person.send_contact()

    assert sb.pending_updates()[2]["message"]["voice"]["duration"] == 7

    async def fetch(bot: Bot) -> tuple[Update, ...]:
        return await bot.get_updates()

    updates = with_bot(sb, fetch)
    message = updates[0].message
    assert message is not None and message.text == "/start abc123"
    assert message.parse_entities() == {message.entities[0]: "/start"}
    assert message.from_user is not None and message.from_user.language_code == "en"
    edited = updates[1].edited_message
    assert edited is not None and edited.text == "/start other" and edited.edit_date is not None
    kinds = [u.message.effective_attachment.__class__.__name__ for u in updates[2:] if u.message]
    assert kinds == ["Voice", "tuple", "Sticker", "Location", "Document", "Contact"]
    assert not sb.refusals


def test_press_round_trip_through_ptb(sb: Sandbox) -> None:
    person = sb.user(42, "Ann")
    markup = {"inline_keyboard": [[{"text": "Ja", "callback_data": "yes"}, {"text": "Nee", "callback_data": "no"}]]}
    raw_call(sb, "sendMessage", chat_id=42, text="Gaat het goed?", reply_markup=markup)

    async def answer(bot: Bot) -> str:
        person.press("Nee")
        updates = await bot.get_updates(timeout=2)
        query = updates[0].callback_query
        assert query is not None and query.message is not None
        await query.answer("Dank je")
        await bot.edit_message_text("Genoteerd: nee", chat_id=42, message_id=query.message.message_id)
        return str(query.data)

    assert with_bot(sb, answer) == "no"
    assert person.callback_answers == ["Dank je"]
    assert sb.calls_to("answerCallbackQuery")[0].status == 200
    assert person.last.text == "Genoteerd: nee" and person.last.buttons == [] and person.last.edits == 1
    assert len(person.messages) == 1


def test_pressing_by_position_and_forged_data(sb: Sandbox) -> None:
    person = sb.user(42, "Ann")
    markup = {"inline_keyboard": [[{"text": "A", "callback_data": "a"}], [{"text": "B", "callback_data": "b"}]]}
    raw_call(sb, "sendMessage", chat_id=42, text="Kies", reply_markup=markup)
    raw_call(sb, "sendMessage", chat_id=42, text="Los bericht")
    assert person.press(1)["data"] == "b"  # the latest message *with* buttons
    assert person.press_raw(person.messages[0], "forged:1")["data"] == "forged:1"
    with pytest.raises(AssertionError, match="no button 'C'"):
        person.press("C")


def test_wait_for_messages_returns_new_ones_and_reports_what_came(sb: Sandbox) -> None:
    person = sb.user(42, "Ann")
    later = threading.Timer(0.1, lambda: raw_call(sb, "sendMessage", chat_id=42, text="een"))
    later.start()
    assert [m.text for m in person.wait_for_messages(1, timeout=PATIENCE)] == ["een"]
    later.join()
    raw_call(sb, "sendMessage", chat_id=42, text="twee")
    # Nothing else is on its way, so this wait ends only by its (short) timeout, and says what came.
    with pytest.raises(AssertionError, match=r"expected 2 new bot message.*got 1"):
        person.wait_for_messages(2, timeout=0.2)


def test_edits_deletes_and_their_errors(sb: Sandbox) -> None:
    person = sb.user(42, "Ann")
    markup = {"inline_keyboard": [[{"text": "Ja", "callback_data": "y"}]]}
    sent = raw_call(sb, "sendMessage", chat_id=42, text="<b>Vraag</b>", parse_mode="HTML", reply_markup=markup)
    message_id = sent[1]["result"]["message_id"]

    async def edits(bot: Bot) -> list[str]:
        errors = []
        for call in (
            bot.edit_message_text(
                "<b>Vraag</b>", chat_id=42, message_id=message_id, parse_mode="HTML", reply_markup=sent_markup()
            ),
            bot.edit_message_text("x", chat_id=42, message_id=999),
            bot.delete_message(42, 999),
        ):
            try:
                await call
            except BadRequest as error:
                errors.append(error.message)
        await bot.edit_message_reply_markup(chat_id=42, message_id=message_id)
        try:
            await bot.edit_message_reply_markup(chat_id=42, message_id=message_id)
        except BadRequest as error:
            errors.append(error.message)
        await bot.delete_message(42, message_id)
        return errors

    def sent_markup() -> Any:
        from telegram import InlineKeyboardButton, InlineKeyboardMarkup

        return InlineKeyboardMarkup([[InlineKeyboardButton("Ja", callback_data="y")]])

    errors = with_bot(sb, edits)
    assert [e.split(":")[0] for e in errors] == [
        "Message is not modified",
        "Message to edit not found",
        "Message to delete not found",
        "Message is not modified",
    ]
    assert person.last.deleted and person.last.buttons == []
    assert not sb.refusals and len(sb.rejections) == 4


def test_editing_text_without_markup_removes_the_keyboard_like_telegram(sb: Sandbox) -> None:
    person = sb.user(42, "Ann")
    markup = {"inline_keyboard": [[{"text": "Ja", "callback_data": "y"}]]}
    message_id = raw_call(sb, "sendMessage", chat_id=42, text="Vraag", reply_markup=markup)[1]["result"]["message_id"]
    assert raw_call(sb, "editMessageText", chat_id=42, message_id=message_id, text="Vraag")[0] == 200
    assert person.last.buttons == [] and person.last.text == "Vraag"


class _Receiver(BaseHTTPRequestHandler):
    received: ClassVar[list[tuple[str | None, dict[str, Any]]]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["content-length"]))
        self.received.append((self.headers.get("x-telegram-bot-api-secret-token"), json.loads(body)))
        self.send_response(200)
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""


@pytest.fixture
def receiver() -> Iterator[HTTPServer]:
    _Receiver.received = []
    server = HTTPServer(("127.0.0.1", 0), _Receiver)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_webhook_delivery_and_conflict_with_polling(sb: Sandbox, receiver: HTTPServer) -> None:
    person = sb.user(42, "Ann")
    url = f"http://127.0.0.1:{receiver.server_address[1]}/hook"
    assert raw_call(sb, "setWebhook", url=url, secret_token="s3cret")[0] == 200
    assert sb.webhook_url == url
    status, body = raw_call(sb, "getUpdates")
    assert status == 409 and "webhook is active" in body["description"]
    person.send("via webhook")
    wait_until(lambda: _Receiver.received, "the webhook delivery")
    secret, update = _Receiver.received[0]
    assert secret == "s3cret" and update["message"]["text"] == "via webhook"
    wait_until(lambda: not sb.pending_updates(), "the delivered update to be confirmed")
    assert raw_call(sb, "getWebhookInfo")[1]["result"]["pending_update_count"] == 0
    assert raw_call(sb, "setWebhook", url="https://example.org/hook")[0] == 400  # never leaves this machine
    assert raw_call(sb, "deleteWebhook")[0] == 200
    assert raw_call(sb, "getUpdates")[0] == 200


def test_dates_follow_the_given_clock_and_deleted_messages_become_inaccessible() -> None:
    with Sandbox(TOKEN, clock=lambda: 1_800_000_000.5) as sandbox:
        person = sandbox.user(1, "A")
        assert person.send("hoi")["date"] == 1_800_000_000
        markup = {"inline_keyboard": [[{"text": "Ja", "callback_data": "y"}]]}
        sent = raw_call(sandbox, "sendMessage", chat_id=1, text="Vraag", reply_markup=markup)[1]["result"]
        assert sent["date"] == 1_800_000_000
        raw_call(sandbox, "deleteMessage", chat_id=1, message_id=sent["message_id"])
        person.press_raw(person.last, "y")

        async def fetch(bot: Bot) -> tuple[Update, ...]:
            return await bot.get_updates()

        query = with_bot(sandbox, fetch)[-1].callback_query
        assert query is not None and query.message is not None and not query.message.is_accessible
