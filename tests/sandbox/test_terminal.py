"""The terminal chat, driven by a script instead of a keyboard, against a tiny echo bot."""

from __future__ import annotations

import html
import io
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest

from sandbox import Sandbox, SimGroup
from sandbox.terminal import run_terminal
from sandbox.terminal_screen import render
from tests.sandbox.conftest import raw_call

BUTTONS = {"inline_keyboard": [[{"text": "Ja", "callback_data": "ja"}, {"text": "Nee", "callback_data": "nee"}]]}


def _said(message: dict[str, object]) -> str:
    said = str(message.get("text") or "something without text")
    contact = message.get("contact")
    if isinstance(contact, dict):
        said = f"contact {contact['phone_number']}"
    answered = message.get("reply_to_message")
    if isinstance(answered, dict):
        said = f"(to {answered.get('text')}) {said}"
    return said


def _echo(sandbox: Sandbox, stop: threading.Event) -> None:
    """Answers every message with its text in bold and two buttons (in the same topic); a press edits
    the message and pops up "Noted"."""
    api = f"{sandbox.base_url}{sandbox.token}/"
    offset = 0
    with httpx.Client(timeout=5, trust_env=False) as client:
        while not stop.is_set():
            updates = client.post(api + "getUpdates", json={"offset": offset, "timeout": 5}).json()["result"]
            for update in updates:
                offset = update["update_id"] + 1
                if "message" in update:
                    message = update["message"]
                    if "forum_topic_created" in message:
                        continue
                    answer = {
                        "chat_id": message["chat"]["id"],
                        "text": f"You said: <b>{html.escape(_said(message))}</b>",
                        "parse_mode": "HTML",
                        "reply_markup": BUTTONS,
                    }
                    if "message_thread_id" in message:
                        answer["message_thread_id"] = message["message_thread_id"]
                    client.post(api + "sendMessage", json=answer)
                elif "callback_query" in update:
                    query = update["callback_query"]
                    client.post(
                        api + "answerCallbackQuery",
                        json={"callback_query_id": query["id"], "text": f"Noted: {query['data']}"},
                    )
                    client.post(
                        api + "editMessageText",
                        json={
                            "chat_id": query["message"]["chat"]["id"],
                            "message_id": query["message"]["message_id"],
                            "text": f"Chosen: {query['data']}",
                        },
                    )


@pytest.fixture
def echo_bot(sb: Sandbox) -> Iterator[Sandbox]:
    stop = threading.Event()
    thread = threading.Thread(target=_echo, args=(sb, stop), daemon=True)
    thread.start()
    yield sb
    stop.set()
    sb.inject_raw_update({"poll": {}})  # ends the long poll now
    thread.join()


def settled(sb: Sandbox) -> Callable[[], None]:
    """The echo bot has done everything asked: it confirms updates with its next poll, after answering."""

    def settle() -> None:
        deadline = time.monotonic() + 30
        while sb.pending_updates() and time.monotonic() < deadline:
            time.sleep(0.01)

    return settle


def _script(lines: list[str | Callable[[], str]]) -> Callable[[str], str]:
    remaining = list(lines)

    def next_line(prompt: str) -> str:
        if not remaining:
            raise EOFError
        line = remaining.pop(0)
        return line() if callable(line) else line

    return next_line


def test_a_scripted_conversation(echo_bot: Sandbox) -> None:
    sb = echo_bot
    personas = {"family": sb.user(1001, "Fatima"), "volunteer": sb.user(1002, "Joost")}

    def message_to_family() -> str:
        raw_call(sb, "sendMessage", chat_id=1001, text="A reminder for the family")
        return ""

    output = io.StringIO()
    run_terminal(
        sb,
        personas,
        input_fn=_script(
            [
                "hello <there>",
                "2",
                "7",
                ":as volunteer",
                ":voice",
                message_to_family,
                ":help",
                ":bogus",
                ":as nobody",
                ":later 2h",
            ]
        ),
        output=output,
        settle=settled(sb),
    )
    shown = output.getvalue()
    assert "family> hello <there>" in shown  # what was typed, as in a transcript
    assert "#1 bot: You said: hello <there>" in shown  # markup stripped, entities decoded
    assert "[1] Ja  [2] Nee" in shown
    assert "#1 bot (edited): Chosen: nee" in shown
    assert "bot (pop-up): Noted: nee" in shown
    assert "there are no buttons to press" in shown  # the edit removed them
    assert "you are now volunteer (Joost)" in shown
    assert "#1 bot: You said: something without text" in shown
    assert "#2 bot -> family: A reminder for the family" in shown
    assert "  :as NAME         switch person (family, volunteer)" in shown
    assert ":as group" not in shown and ":tomorrow" not in shown  # no group, no clock here
    assert "unknown command; type :help" in shown
    assert "who? choose one of: family, volunteer" in shown
    assert "the clock can only be moved in the demo" in shown
    assert personas["family"].callback_answers == ["Noted: nee"]
    assert not sb.refusals


def test_earlier_buttons_replies_plain_numbers_and_a_contact(echo_bot: Sandbox) -> None:
    sb = echo_bot
    family = sb.user(1001, "Fatima")

    def message_from_elsewhere() -> str:
        raw_call(sb, "sendMessage", chat_id=1001, text="An alert for you")
        return ""

    output = io.StringIO()
    run_terminal(
        sb,
        {"family": family},
        input_fn=_script(
            [
                "first",
                "second",
                ":reply not yet",  # every message so far answered the family's own
                "1.2",  # message #1, button 2, although #2 is the latest with buttons
                ":reply 2 an answer",
                message_from_elsewhere,
                ":reply hello you",  # the latest message that was not an answer to the family's own
                ":text 3",
                ":text :-)",
                ":contact",
                "9.1",
                "4.5",
                ":reply 3",
            ]
        ),
        output=output,
        settle=settled(sb),
    )
    shown = output.getvalue()
    assert "there is no message here to answer" in shown
    assert "#1 bot (edited): Chosen: nee" in shown and "bot (pop-up): Noted: nee" in shown
    assert "#2 bot: You said: second" in shown  # untouched
    assert "#3 bot: You said: (to You said: second) an answer" in shown
    assert "#4 bot: An alert for you" in shown
    assert "#5 bot: You said: (to An alert for you) hello you" in shown
    assert "#6 bot: You said: 3" in shown
    assert "#7 bot: You said: :-)" in shown
    assert "#8 bot: You said: contact +31612345678" in shown
    assert "there is no message #9 here (#1 to #8)" in shown
    assert "that message has no buttons" in shown  # #4 came without
    assert "what shall I answer? :reply 3 your text" in shown
    assert not sb.refusals


def _topic(sb: Sandbox, group: SimGroup, name: str, text: str) -> int:
    _status, created = raw_call(sb, "createForumTopic", chat_id=group.chat_id, name=name)
    thread = int(created["result"]["message_thread_id"])
    raw_call(sb, "sendMessage", chat_id=group.chat_id, message_thread_id=thread, text=text, reply_markup=BUTTONS)
    return thread


def test_the_group_view_shows_and_writes_in_a_forum_topic(echo_bot: Sandbox) -> None:
    sb = echo_bot
    personas = {"family": sb.user(1001, "Fatima"), "coordinator": sb.user(1000, "Coco")}
    group = sb.group(-1001000000001, "Coördinatoren", forum=True)
    group.add_member(personas["coordinator"], "creator")
    thread = _topic(sb, group, "Fatima · Centrum", "Fatima wants to talk")
    other = _topic(sb, group, "Sanne · Noord", "Sanne wants to talk")
    output = io.StringIO()
    run_terminal(
        sb,
        personas,
        group=group,
        group_member="coordinator",
        input_fn=_script(
            [
                ":topics",
                ":topic fatima",
                "We will call you",
                "1",  # the latest button in this topic, not Sanne's
                ":reply 2 Sanne first",  # a reply goes into the topic of the message it answers
                ":sticker",
                ":as family",
                ":as group",  # back in the topic chosen before
                ":topic nobody",
                ":topic",
                ":help",
            ]
        ),
        output=output,
        settle=settled(sb),
    )
    shown = output.getvalue()
    assert "#1 bot -> group [Fatima · Centrum]: Fatima wants to talk" in shown
    assert "  1. Fatima · Centrum (1 messages)\n  2. Sanne · Noord (1 messages)" in shown
    assert "you are now in the topic Fatima · Centrum of the coordinators' group" in shown
    assert "group/Fatima · Centrum> We will call you" in shown
    assert "#3 bot [Fatima · Centrum]: You said: We will call you" in shown
    assert "#3 bot [Fatima · Centrum] (edited): Chosen: ja" in shown
    assert "#4 bot [Sanne · Noord]: You said: (to Sanne wants to talk) Sanne first" in shown
    assert "in the group you can send text, :voice and :photo (not :sticker)" in shown
    assert "group/Fatima · Centrum> :topic nobody" in shown
    assert "no topic like 'nobody' (topics: 1. Fatima · Centrum; 2. Sanne · Noord)" in shown
    assert "you are now in the coordinators' group, in General" in shown
    assert ":topic NAME      see a family's topic and write in it" in shown
    written = [m for m in sb.world.chats[group.chat_id].messages.values() if not m.from_bot and "text" in m.raw]
    assert [(m.text, m.thread_id) for m in written] == [("We will call you", thread), ("Sanne first", other)]
    assert personas["coordinator"].callback_answers == ["Noted: ja"]
    assert not sb.refusals


class FakeTime:
    """A clock the terminal moves, recording where to."""

    zone = ZoneInfo("Europe/Amsterdam")

    def __init__(self) -> None:
        self.moment = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)  # 10:00 in Amsterdam
        self.moves: list[datetime] = []

    def now(self) -> datetime:
        return self.moment

    def show(self, moment: datetime | None = None) -> str:
        return (moment or self.moment).astimezone(self.zone).strftime("%a %d %b %H:%M")

    def move_to(self, target: datetime, report: Callable[[str], None]) -> int:
        report("  a step on the way")
        self.moves.append(target)
        self.moment = target
        return 2


def test_the_clock_commands(sb: Sandbox) -> None:
    clock = FakeTime()
    output = io.StringIO()
    run_terminal(
        sb,
        {"family": sb.user(1001, "Fatima")},
        clock=clock,
        input_fn=_script(
            [
                ":time",
                ":later 90m",
                ":later 1d2h",
                ":tomorrow 08:00",
                ":tomorrow",
                ":later soon",
                ":later 0m",
                ":tomorrow 25:00",
                ":later 63d",
                ":help",
            ]
        ),
        output=output,
    )
    shown = output.getvalue()
    start = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
    zone = FakeTime.zone
    assert clock.moves == [
        start + timedelta(minutes=90),
        start + timedelta(days=1, hours=3, minutes=30),
        datetime(2026, 12, 4, 8, 0, tzinfo=zone),
        datetime(2026, 12, 5, 10, 0, tzinfo=zone),
    ]
    assert "the demo's clock: Wed 02 Dec 10:00 (Europe/Amsterdam)" in shown
    assert (
        "clock: Wed 02 Dec 10:00 -> Wed 02 Dec 11:30\n  a step on the way\nclock: Wed 02 Dec 11:30 (2 scheduled"
        in shown
    )
    assert "how much later? e.g. :later 30m" in shown
    assert shown.count("how much later?") == 2
    assert "at what time? e.g. :tomorrow 08:00" in shown
    assert "at most 62 days at a time" in shown
    assert ":tomorrow 08:00  move the clock to tomorrow at that time (default 10:00)" in shown


def test_quit_and_end_of_input_end_quietly(sb: Sandbox) -> None:
    personas = {"family": sb.user(1001, "Fatima")}
    run_terminal(sb, personas, input_fn=_script([":quit", "never read"]), output=io.StringIO())
    run_terminal(sb, personas, input_fn=_script([]), output=io.StringIO())
    assert sb.pending_updates() == []


def test_render_shows_documents_buttons_and_keyboards(sb: Sandbox) -> None:
    person = sb.user(5, "Ann")
    keyboard = {"keyboard": [["Ja", "Nee"], ["Later"]]}
    raw_call(sb, "sendMessage", chat_id=5, text="<i>Kies</i>\nmaar", parse_mode="HTML", reply_markup=keyboard)
    assert render(person.last) == ["Kies", "maar", "  keyboard: Ja | Nee", "  keyboard: Later"]
    document = httpx.post(
        f"{sb.base_url}{sb.token}/sendDocument",
        data={"chat_id": "5"},
        files={"document": ("gegevens.json", b"{}", "application/json")},
        timeout=5,
    )
    assert document.status_code == 200
    assert render(person.last) == ["[document: gegevens.json]"]


def test_arabic_is_shown_in_display_order_unless_the_terminal_does_bidi(monkeypatch: pytest.MonkeyPatch) -> None:
    from sandbox.terminal_screen import visual

    line = "\u200fمرحبا \u2068Sara\u2069 112"
    # Display order, read from the right: the greeting (its letters joined), then the name, then the number.
    assert visual(line) == "112 Sara \ufe8e\ufe92\ufea3\ufeae\ufee3"
    assert visual("Hello Sara") == "Hello Sara"
    monkeypatch.setenv("DEMO_BIDI", "terminal")
    assert visual(line) == line
