"""The sandbox answers like Telegram and refuses what Telegram refuses."""

from __future__ import annotations

import pytest
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Message
from telegram.error import BadRequest, InvalidToken

from sandbox import Sandbox
from tests.sandbox.conftest import HTTP, raw_call, with_bot


def test_send_message_returns_a_message_ptb_parses(sb: Sandbox) -> None:
    sb.user(42, "Ann", username="ann", language_code=None)

    async def send(bot: Bot) -> Message:
        return await bot.send_message(42, "<b>Hallo</b> &amp; <i>welkom</i>", parse_mode="HTML")

    message = with_bot(sb, send)
    assert message.text == "Hallo & welkom"
    assert [(e.type, e.offset, e.length) for e in message.entities] == [("bold", 0, 5), ("italic", 8, 6)]
    assert message.chat.id == 42 and message.chat.username == "ann"
    assert message.from_user is not None and message.from_user.is_bot
    assert sb.user(42, "Ann").last.html == "<b>Hallo</b> &amp; <i>welkom</i>"
    assert not sb.refusals


def test_message_ids_increase_per_chat(sb: Sandbox) -> None:
    sb.user(1, "A")
    sb.user(2, "B")
    ids = [raw_call(sb, "sendMessage", chat_id=chat, text="x")[1]["result"]["message_id"] for chat in (1, 1, 2)]
    assert ids == [1, 2, 1]


def test_optional_user_fields_are_omitted_not_null(sb: Sandbox) -> None:
    person = sb.user(7, "Bo", last_name=None, username=None, language_code=None)
    sent = person.send("hoi")
    assert sent["from"] == {"id": 7, "is_bot": False, "first_name": "Bo"}
    assert sent["chat"] == {"id": 7, "type": "private", "first_name": "Bo"}


def test_wrong_token_is_unauthorized(sb: Sandbox) -> None:
    response = HTTP.post(f"{sb.base_url}999:nope/getMe")
    assert response.status_code == 401
    assert response.json() == {"ok": False, "error_code": 401, "description": "Unauthorized"}

    async def get_me(bot: Bot) -> object:
        return await bot.get_me()

    wrong = Sandbox.__new__(Sandbox)
    wrong.token, wrong.host, wrong.port = "999:nope", sb.host, sb.port
    with pytest.raises(InvalidToken):
        with_bot(wrong, get_me)


def test_unknown_method_is_not_found_and_recorded(sb: Sandbox) -> None:
    status, body = raw_call(sb, "sendMesage", chat_id=1, text="x")
    assert (status, body) == (404, {"ok": False, "error_code": 404, "description": "Not Found"})
    assert sb.refusals[-1].method == "sendMesage"


def test_a_spec_method_the_sandbox_lacks_is_refused_clearly(sb: Sandbox) -> None:
    status, body = raw_call(sb, "sendPoll", chat_id=1, question="?", options=[])
    assert status == 400
    assert body["description"] == "Bad Request: the sandbox does not implement sendPoll"
    assert sb.refusals[-1].method == "sendPoll"


def test_method_names_are_case_insensitive(sb: Sandbox) -> None:
    status, body = raw_call(sb, "GETME")
    assert status == 200 and body["result"]["is_bot"] is True
    assert sb.calls[-1].method == "getMe"


def test_form_and_multipart_bodies_use_documented_types(sb: Sandbox) -> None:
    sb.user(5, "Cas")
    url = f"{sb.base_url}{sb.token}/sendMessage"
    markup = '{"inline_keyboard": [[{"text": "Ja", "callback_data": "y"}]]}'
    form = HTTP.post(url, data={"chat_id": "5", "text": "hoi", "reply_markup": markup, "disable_notification": "true"})
    assert form.status_code == 200, form.text
    upload = HTTP.post(
        f"{sb.base_url}{sb.token}/sendDocument",
        data={"chat_id": "5", "caption": "<i>bijlage</i>", "parse_mode": "HTML"},
        files={"document": ("report.csv", b"a,b\n1,2\n", "text/csv")},
    )
    assert upload.status_code == 200, upload.text
    document = sb.user(5, "Cas").last
    assert (document.document_name, document.document_bytes, document.text) == ("report.csv", b"a,b\n1,2\n", "bijlage")
    assert sb.user(5, "Cas").messages[0].buttons == [["Ja"]]


@pytest.mark.parametrize(
    ("params", "reason"),
    [
        ({"chat_id": 5}, 'parameter "text" is required'),
        ({"chat_id": 5, "text": "x", "disable_notfication": True}, 'unknown parameter "disable_notfication"'),
        ({"chat_id": "five", "text": "x"}, "chat not found"),
        ({"chat_id": 5, "text": "x", "message_thread_id": "abc"}, 'parameter "message_thread_id" must be'),
        ({"chat_id": 5, "text": ""}, "message text is empty"),
        ({"chat_id": 5, "text": "  \n "}, "message text is empty"),
        ({"chat_id": 5, "text": "<b></b>", "parse_mode": "HTML"}, "message text is empty"),
        ({"chat_id": 5, "text": "x" * 4097}, "message is too long"),
        ({"chat_id": 5, "text": "<b>x", "parse_mode": "HTML"}, "can't parse entities: Can't find end tag"),
        ({"chat_id": 5, "text": "a < b", "parse_mode": "HTML"}, 'Unsupported start tag ""'),
        ({"chat_id": 5, "text": "Tom & Jerry", "parse_mode": "HTML"}, 'Unescaped "&"'),
        ({"chat_id": 5, "text": "<b>a<i>b</b></i>", "parse_mode": "HTML"}, "Unmatched end tag"),
        ({"chat_id": 5, "text": "<span>x</span>", "parse_mode": "HTML"}, 'must have class "tg-spoiler"'),
        ({"chat_id": 5, "text": "1.5", "parse_mode": "MarkdownV2"}, "Character '.' is reserved"),
        ({"chat_id": 5, "text": "x", "parse_mode": "XML"}, "unsupported parse_mode"),
    ],
)
def test_sendmessage_refusals(sb: Sandbox, params: dict[str, object], reason: str) -> None:
    sb.user(5, "Cas")
    status, body = raw_call(sb, "sendMessage", **params)
    assert status == 400
    assert body["ok"] is False and body["error_code"] == 400
    assert body["description"].startswith("Bad Request: ")
    assert reason in body["description"]
    assert not sb.user(5, "Cas").messages


def test_length_counts_after_entity_parsing(sb: Sandbox) -> None:
    sb.user(5, "Cas")
    status, _ = raw_call(sb, "sendMessage", chat_id=5, text="<b>" + "x" * 4096 + "</b>", parse_mode="HTML")
    assert status == 200
    status, _ = raw_call(sb, "sendMessage", chat_id=5, text="&lt;" * 4097, parse_mode="HTML")
    assert status == 400
    status, body = raw_call(sb, "sendMessage", chat_id=5, text="&lt;b&gt;", parse_mode="HTML")
    assert status == 200 and body["result"]["text"] == "<b>"
    assert len(sb.refusals) == 1


def test_refusals_keep_method_params_and_reason(sb: Sandbox) -> None:
    sb.user(5, "Cas")
    raw_call(sb, "sendMessage", chat_id=5, text="<b>x", parse_mode="HTML")
    refusal = sb.refusals[0]
    assert refusal.method == "sendMessage"
    assert refusal.params["text"] == "<b>x"
    assert "can't parse entities" in refusal.reason


def _keyboard(*buttons: dict[str, object]) -> dict[str, object]:
    return {"inline_keyboard": [list(buttons)]}


@pytest.mark.parametrize(
    ("button", "ok"),
    [
        ({"text": "Ja", "callback_data": "x" * 64}, True),
        ({"text": "Ja", "callback_data": "x" * 65}, False),
        ({"text": "Ja", "callback_data": "é" * 33}, False),  # 66 bytes in UTF-8
        ({"text": "Ja", "callback_data": ""}, False),
        ({"text": "Ja", "callback_data": "a", "url": "https://example.org"}, False),
        ({"text": "Ja"}, False),
        ({"text": "", "callback_data": "a"}, False),
        ({"text": "Site", "url": "https://example.org"}, True),
        ({"text": "Site", "url": "javascript:alert(1)"}, False),
        ({"text": "Ja", "callbackdata": "a"}, False),
    ],
)
def test_inline_buttons_are_checked(sb: Sandbox, button: dict[str, object], ok: bool) -> None:
    sb.user(5, "Cas")
    status, body = raw_call(sb, "sendMessage", chat_id=5, text="Kies", reply_markup=_keyboard(button))
    assert (status == 200) is ok, body
    assert bool(sb.refusals) is not ok


def test_ptb_raises_bad_request_for_a_too_long_callback_data(sb: Sandbox) -> None:
    sb.user(5, "Cas")
    markup = InlineKeyboardMarkup([[InlineKeyboardButton("Ja", callback_data="y" * 65)]])

    async def send(bot: Bot) -> None:
        await bot.send_message(5, "Kies", reply_markup=markup)

    with pytest.raises(BadRequest, match=r"(?i)button_data_invalid"):
        with_bot(sb, send)


def test_reply_keyboard_and_its_buttons(sb: Sandbox) -> None:
    person = sb.user(5, "Cas")
    keyboard = {"keyboard": [["Ja", {"text": "Deel nummer", "request_contact": True}]], "one_time_keyboard": True}
    assert raw_call(sb, "sendMessage", chat_id=5, text="Kies", reply_markup=keyboard)[0] == 200
    assert person.last.reply_keyboard == [["Ja", "Deel nummer"]]
    shared = person.press_reply_button("Deel nummer")
    assert shared["contact"]["user_id"] == 5
    assert person.reply_keyboard is None  # one-time keyboards hide after use
    assert raw_call(sb, "sendMessage", chat_id=5, text="Nog eens", reply_markup=keyboard)[0] == 200
    assert person.press_reply_button("Ja")["text"] == "Ja"
    assert raw_call(sb, "sendMessage", chat_id=5, text="Klaar", reply_markup={"remove_keyboard": True})[0] == 200
    assert person.reply_keyboard is None


def test_callback_answer_length_and_double_answers(sb: Sandbox) -> None:
    person = sb.user(5, "Cas")
    raw_call(sb, "sendMessage", chat_id=5, text="Kies", reply_markup=_keyboard({"text": "Ja", "callback_data": "y"}))
    query = person.press("Ja")
    status, _ = raw_call(sb, "answerCallbackQuery", callback_query_id=query["id"], text="x" * 201)
    assert status == 400 and "MESSAGE_TOO_LONG" in sb.refusals[-1].reason
    assert raw_call(sb, "answerCallbackQuery", callback_query_id=query["id"], text="Genoteerd")[0] == 200
    status, body = raw_call(sb, "answerCallbackQuery", callback_query_id=query["id"])
    assert status == 400 and "query is too old" in body["description"]
    assert person.callback_answers == ["Genoteerd"]
    assert len(sb.rejections) == 1 and len(sb.refusals) == 1


def test_commands_per_scope_and_language(sb: Sandbox) -> None:
    sb.user(5, "Cas")
    commands = [{"command": "start", "description": "Begin"}]
    assert raw_call(sb, "setMyCommands", commands=commands, language_code="nl")[0] == 200
    scope = {"type": "chat", "chat_id": 5}
    assert raw_call(sb, "setMyCommands", commands=[{"command": "help", "description": "Hulp"}], scope=scope)[0] == 200
    assert sb.my_commands(language_code="nl") == commands
    assert sb.my_commands() == []
    assert raw_call(sb, "getMyCommands", scope=scope)[1]["result"][0]["command"] == "help"
    assert raw_call(sb, "setMyCommands", commands=[{"command": "Start!", "description": "x"}])[0] == 400
    assert raw_call(sb, "setMyCommands", commands=commands, language_code="dutch")[0] == 400
    assert raw_call(sb, "setMyCommands", commands=commands, scope={"type": "galaxy"})[0] == 400
    assert raw_call(sb, "deleteMyCommands", language_code="nl")[0] == 200
    assert sb.my_commands(language_code="nl") == []
    assert raw_call(sb, "setChatMenuButton", chat_id=5, menu_button={"type": "commands"})[0] == 200
    assert len(sb.refusals) == 3


def test_chat_and_member_lookups_parse_in_ptb(sb: Sandbox) -> None:
    person = sb.user(5, "Cas", last_name="Bos")
    group = sb.group(-1001, "Coördinatoren", forum=True)
    group.add_member(person, "administrator")

    async def look(bot: Bot) -> tuple[object, ...]:
        private = await bot.get_chat(5)
        forum = await bot.get_chat(-1001)
        member = await bot.get_chat_member(-1001, 5)
        me = await bot.get_chat_member(-1001, bot.id)
        return private.last_name, forum.is_forum, member.status, me.status

    assert with_bot(sb, look) == ("Bos", True, "administrator", "administrator")
    status, body = raw_call(sb, "getChatMember", chat_id=-1001, user_id=999)
    assert status == 400 and body["description"] == "Bad Request: user not found"


def test_chat_actions(sb: Sandbox) -> None:
    sb.user(5, "Cas")
    assert raw_call(sb, "sendChatAction", chat_id=5, action="typing")[0] == 200
    assert raw_call(sb, "sendChatAction", chat_id=5, action="dancing")[0] == 400
    assert raw_call(sb, "sendChatAction", chat_id=6, action="typing")[1]["description"] == "Bad Request: chat not found"


def test_log_out_and_close(sb: Sandbox) -> None:
    assert raw_call(sb, "logOut") == (200, {"ok": True, "result": True})
    assert raw_call(sb, "close") == (200, {"ok": True, "result": True})
