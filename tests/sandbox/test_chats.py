"""Groups, forum topics, files, copies and forwards."""

from __future__ import annotations

import pytest
from telegram import Bot, InputFile, Message
from telegram.error import BadRequest, Forbidden

from sandbox import Sandbox
from tests.sandbox.conftest import raw_call, with_bot


def test_forum_topics_round_trip(sb: Sandbox) -> None:
    group = sb.group(-1001, "Coördinatoren", forum=True)

    async def topics(bot: Bot) -> tuple[int, Message]:
        topic = await bot.create_forum_topic(-1001, "Gezin Jansen")
        message = await bot.send_message(-1001, "Nieuw signaal", message_thread_id=topic.message_thread_id)
        await bot.edit_forum_topic(-1001, topic.message_thread_id, name="Gezin Jansen (afgerond)")
        await bot.close_forum_topic(-1001, topic.message_thread_id)
        await bot.reopen_forum_topic(-1001, topic.message_thread_id)
        return topic.message_thread_id, message

    thread_id, message = with_bot(sb, topics)
    assert message.message_thread_id == thread_id and message.is_topic_message
    assert group.topics[thread_id].name == "Gezin Jansen (afgerond)"
    assert [m.text for m in group.topics[thread_id].messages] == ["Nieuw signaal"]
    assert [m.text for m in group.wait_for_messages(1, thread_id=thread_id)] == ["Nieuw signaal"]
    assert raw_call(sb, "reopenForumTopic", chat_id=-1001, message_thread_id=thread_id)[1]["description"] == (
        "Bad Request: TOPIC_NOT_MODIFIED"
    )
    group.delete_topic(thread_id)
    assert thread_id not in group.topics
    status, body = raw_call(sb, "sendMessage", chat_id=-1001, message_thread_id=thread_id, text="nog iets")
    assert (status, body["description"]) == (400, "Bad Request: message thread not found")
    assert raw_call(sb, "sendMessage", chat_id=-1001, message_thread_id=4242, text="x")[0] == 400
    assert not sb.refusals


def test_topics_need_a_forum(sb: Sandbox) -> None:
    sb.group(-1002, "Gewone groep", forum=False)
    status, body = raw_call(sb, "createForumTopic", chat_id=-1002, name="x")
    assert (status, body["description"]) == (400, "Bad Request: the chat is not a forum")
    assert raw_call(sb, "createForumTopic", chat_id=-1002, name="x", icon_color=123)[0] == 400
    assert len(sb.refusals) == 1  # the colour is wrong whatever the chat; "not a forum" depends on it


def test_people_in_topics_and_the_general_topic(sb: Sandbox) -> None:
    coach = sb.user(7, "Coach")
    group = sb.group(-1001, "Coördinatoren", forum=True)
    thread_id = group.create_topic(coach, "Overleg")
    group.send(coach, "Wie pakt dit op?", thread_id=thread_id)
    group.send_voice(coach, thread_id=thread_id)
    group.send(coach, "Algemeen bericht")
    messages = [update["message"] for update in sb.pending_updates()]
    assert messages[0]["forum_topic_created"]["name"] == "Overleg"
    assert messages[1]["message_thread_id"] == thread_id and messages[1]["is_topic_message"] is True
    assert "voice" in messages[2]
    assert "message_thread_id" not in messages[3]
    assert group.members[7] == "member"


def test_copying_a_voice_note_into_a_topic(sb: Sandbox) -> None:
    family = sb.user(5, "Fatima")
    group = sb.group(-1001, "Coördinatoren", forum=True)
    voice = family.send_voice(duration=4)

    async def copy(bot: Bot) -> tuple[int, Message]:
        topic = await bot.create_forum_topic(-1001, "Fatima")
        copied = await bot.copy_message(
            -1001, 5, voice["message_id"], message_thread_id=topic.message_thread_id, caption="Spraakbericht van Fatima"
        )
        forwarded = await bot.forward_message(-1001, 5, voice["message_id"], message_thread_id=topic.message_thread_id)
        return copied.message_id, forwarded

    copied_id, forwarded = with_bot(sb, copy)
    copied = next(m for m in group.messages if m.message_id == copied_id)
    assert copied.media_kind == "voice" and copied.text == "Spraakbericht van Fatima"
    assert copied.raw["voice"]["file_id"] == voice["voice"]["file_id"]
    assert forwarded.forward_origin is not None and forwarded.voice is not None
    assert raw_call(sb, "copyMessage", chat_id=-1001, from_chat_id=5, message_id=999)[1]["description"] == (
        "Bad Request: message to copy not found"
    )
    assert not sb.refusals


def test_uploads_and_file_ids(sb: Sandbox) -> None:
    person = sb.user(5, "Ann")
    photo = person.send_photo(caption="foto")

    async def files(bot: Bot) -> tuple[bytes, str]:
        document = await bot.send_document(5, InputFile(b'{"a": 1}', filename="data.json"), caption="Je gegevens")
        assert document.document is not None
        again = await bot.send_document(5, document.document.file_id)
        assert again.document is not None and again.document.file_id == document.document.file_id
        await bot.send_photo(5, photo["photo"][-1]["file_id"])
        await bot.send_voice(5, b"OggS" + bytes(20), duration=3)
        await bot.send_audio(5, b"ID3" + bytes(20), filename="liedje.mp3")
        await bot.send_video(5, b"\x00\x00\x00\x18ftyp" + bytes(20), filename="film.mp4")
        file = await bot.get_file(photo["photo"][-1]["file_id"])
        content = bytes(await file.download_as_bytearray())
        try:
            await bot.send_voice(5, document.document.file_id)
        except BadRequest as error:
            return content, error.message
        raise AssertionError("a document was accepted as a voice note")

    content, mismatch = with_bot(sb, files)
    assert content.startswith(b"\xff\xd8")
    assert "can't use file of type document as voice" in mismatch.lower()
    kinds = [m.media_kind for m in person.messages]
    assert kinds == ["document", "document", "photo", "voice", "audio", "video"]
    assert person.messages[0].document_bytes == b'{"a": 1}' and person.messages[0].document_name == "data.json"
    assert raw_call(sb, "sendDocument", chat_id=5, document="unknown-file-id")[1]["description"] == (
        "Bad Request: wrong file identifier/HTTP URL specified"
    )
    assert raw_call(sb, "sendPhoto", chat_id=5, photo="https://example.org/a.jpg")[0] == 400  # no network
    assert raw_call(sb, "sendPhoto", chat_id=5, photo=photo["photo"][-1]["file_id"], caption="x" * 1025)[0] == 400


def test_replies_and_unknown_chats(sb: Sandbox) -> None:
    person = sb.user(5, "Ann")
    sent = person.send("vraag")
    status, body = raw_call(
        sb, "sendMessage", chat_id=5, text="antwoord", reply_parameters={"message_id": sent["message_id"]}
    )
    assert status == 200 and body["result"]["reply_to_message"]["text"] == "vraag"
    status, body = raw_call(sb, "sendMessage", chat_id=5, text="x", reply_parameters={"message_id": 999})
    assert body["description"] == "Bad Request: message to be replied not found"
    status, body = raw_call(sb, "sendMessage", chat_id=999, text="x")
    assert (status, body["description"]) == (400, "Bad Request: chat not found")


def test_privacy_mode_in_groups_where_the_bot_is_no_admin(sb: Sandbox) -> None:
    member = sb.user(5, "Ann")
    group = sb.group(-1003, "Buurtapp", forum=False)
    group.remove_bot(by=member)
    group.add_bot(by=member, status="member")
    sb.reset_counters()
    raw_call(sb, "getUpdates", offset=sb.pending_updates()[-1]["update_id"] + 1)
    group.send(member, "gewoon kletsen")
    group.send(member, "/start")
    group.send(member, "hoi @waakvlam_sandbox_bot")
    texts = [update["message"]["text"] for update in sb.pending_updates()]
    assert texts == ["/start", "hoi @waakvlam_sandbox_bot"]


def test_leaving_and_being_removed_from_a_group(sb: Sandbox) -> None:
    member = sb.user(5, "Ann")
    group = sb.group(-1004, "Buurtapp", forum=False)

    async def leave(bot: Bot) -> str:
        await bot.leave_chat(-1004)
        try:
            await bot.send_message(-1004, "hallo?")
        except Forbidden as error:
            return error.message
        raise AssertionError("a bot that left could still write")

    assert "not a member" in with_bot(sb, leave)
    group.add_bot(by=member)
    assert raw_call(sb, "sendMessage", chat_id=-1004, text="terug")[0] == 200
    group.remove_bot(by=member)
    assert "kicked" in raw_call(sb, "sendMessage", chat_id=-1004, text="x")[1]["description"]
    statuses = [u["my_chat_member"]["new_chat_member"]["status"] for u in sb.pending_updates()]
    assert statuses == ["left", "administrator", "kicked"]


def test_group_press_and_messages(sb: Sandbox) -> None:
    coach = sb.user(7, "Coach")
    group = sb.group(-1001, "Coördinatoren", forum=False)
    markup = {"inline_keyboard": [[{"text": "Ik pak het op", "callback_data": "claim:1"}]]}
    raw_call(sb, "sendMessage", chat_id=-1001, text="Nieuw signaal", reply_markup=markup)
    query = group.press(coach, "Ik pak het op")
    assert query["from"]["id"] == 7 and query["message"]["chat"]["id"] == -1001
    assert [m.text for m in group.messages] == ["Nieuw signaal"]
    with pytest.raises(AssertionError):
        sb.group(-1001, "x").migrate_to_supergroup()  # already a supergroup
