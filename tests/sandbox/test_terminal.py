"""The terminal chat, driven by a script instead of a keyboard, against a tiny echo bot."""

from __future__ import annotations

import html
import io
import threading
from collections.abc import Callable, Iterator

import httpx
import pytest

from bot.sandbox import Sandbox
from bot.sandbox.terminal import render, run_terminal
from tests.sandbox.conftest import raw_call

BUTTONS = {"inline_keyboard": [[{"text": "Ja", "callback_data": "ja"}, {"text": "Nee", "callback_data": "nee"}]]}


def _echo(sandbox: Sandbox, stop: threading.Event) -> None:
    """Answers every message with its text in bold and two buttons; a press edits the message."""
    api = f"{sandbox.base_url}{sandbox.token}/"
    offset = 0
    with httpx.Client(timeout=5, trust_env=False) as client:
        while not stop.is_set():
            updates = client.post(api + "getUpdates", json={"offset": offset, "timeout": 5}).json()["result"]
            for update in updates:
                offset = update["update_id"] + 1
                if "message" in update:
                    message = update["message"]
                    said = message.get("text") or "something without text"
                    client.post(
                        api + "sendMessage",
                        json={
                            "chat_id": message["chat"]["id"],
                            "text": f"You said: <b>{html.escape(said)}</b>",
                            "parse_mode": "HTML",
                            "reply_markup": BUTTONS,
                        },
                    )
                elif "callback_query" in update:
                    query = update["callback_query"]
                    client.post(api + "answerCallbackQuery", json={"callback_query_id": query["id"]})
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
            ]
        ),
        output=output,
        reply_wait=2.0,
        quiet=0.1,
    )
    shown = output.getvalue()
    assert "bot: You said: hello <there>" in shown  # markup stripped, entities decoded
    assert "[1] Ja  [2] Nee" in shown
    assert "bot: (edited) Chosen: nee" in shown
    assert "there are no buttons to press" in shown  # the edit removed them
    assert "you are now volunteer (Joost)" in shown
    assert "bot: You said: something without text" in shown
    assert "bot -> family: A reminder for the family" in shown
    assert ":as NAME      switch person (family, volunteer)" in shown
    assert "unknown command; type :help" in shown
    assert "who? choose one of: family, volunteer" in shown
    assert personas["family"].callback_answers == [""]
    assert not sb.refusals


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
    from bot.sandbox.terminal import visual

    line = "\u200fمرحبا \u2068Sara\u2069 112"
    # Display order, read from the right: the greeting (its letters joined), then the name, then the number.
    assert visual(line) == "112 Sara \ufe8e\ufe92\ufea3\ufeae\ufee3"
    assert visual("Hallo Sara") == "Hallo Sara"
    monkeypatch.setenv("DEMO_BIDI", "terminal")
    assert visual(line) == line
