"""Chat with the bot from a terminal, as one of several simulated people (a developer tool).

Works from a pipe as well: each line is one action, and end of input quits.
"""

from __future__ import annotations

import os
import re
import sys
import threading
import time
from collections.abc import Callable, Mapping
from typing import TextIO

from bot.sandbox.people import SimUser
from bot.sandbox.server import Sandbox
from bot.sandbox.world import ChatMessage

HELP = """\
Type a message and press Enter to send it as the current person.
  1, 2, ...     press that button on the latest message with buttons
  :as NAME      switch person ({names})
  :voice        send a voice note       :photo     send a photo
  :sticker      send a sticker          :location  send a location
  :help         this help               :quit      leave (end of input works too)"""


_RTL_CHARACTERS = re.compile("[\u0590-\u08ff\ufb1d-\ufdff\ufe70-\ufefc]")
_ISOLATES = re.compile("[\u2066-\u2069\u200e\u200f]")


def visual(line: str) -> str:
    """A line with right-to-left text in display order, for terminals that do no bidi of their own.

    Telegram's apps lay out Arabic themselves from the logical order the bot sends; most terminals do
    not, and would print it backwards. Set DEMO_BIDI=terminal for a terminal that does (then lines are
    printed as sent). Such terminals would also show the invisible isolates around names as gaps or boxes,
    so they are left out.
    """
    if os.environ.get("DEMO_BIDI") == "terminal":
        return line
    if not _RTL_CHARACTERS.search(line):
        return _ISOLATES.sub("", line)
    import arabic_reshaper
    from bidi import get_display

    return _ISOLATES.sub("", get_display(arabic_reshaper.reshape(line)))


def render(message: ChatMessage) -> list[str]:
    """A bot message as plain lines: text without markup, numbered buttons, the reply keyboard."""
    kind = message.media_kind
    head = ""
    if kind == "document":
        head = f"[document: {message.document_name}] "
    elif kind is not None:
        head = f"[{kind}] "
    lines = f"{head}{message.text or ''}".rstrip().split("\n")
    number = 1
    for row in message.buttons:
        labels = []
        for label in row:
            labels.append(f"[{number}] {label}")
            number += 1
        lines.append("  " + "  ".join(labels))
    for row in message.reply_keyboard or []:
        lines.append("  keyboard: " + " | ".join(row))
    return [visual(line) for line in lines]


class _Screen:
    """Prints each bot message once, and again when it is edited or deleted."""

    def __init__(self, sandbox: Sandbox, personas: Mapping[str, SimUser], output: TextIO) -> None:
        self.sandbox = sandbox
        self.personas = personas
        self.output = output
        self.current = next(iter(personas))
        self.lock = threading.Lock()
        self.shown: dict[tuple[int, int], tuple[int, bool]] = {}

    def signature(self) -> tuple[int, ...]:
        with self.sandbox.world.lock:
            chats = [self.sandbox.world.chats[person.chat_id] for person in self.personas.values()]
            return tuple(len(chat.bot_messages) + sum(m.edits + m.deleted for m in chat.bot_messages) for chat in chats)

    def say(self, text: str) -> None:
        with self.lock:
            print(text, file=self.output, flush=True)

    def flush(self) -> None:
        with self.lock:
            for name, person in self.personas.items():
                for message in person.messages:
                    key = (message.chat_id, message.message_id)
                    state = (message.edits, message.deleted)
                    before = self.shown.get(key)
                    if before == state:
                        continue
                    self.shown[key] = state
                    self._print(name, message, before is not None)

    def _print(self, name: str, message: ChatMessage, changed: bool) -> None:
        to = "bot" if name == self.current else f"bot -> {name}"
        if message.deleted:
            print(f"{to}: (deleted) {(message.text or '')[:40]}", file=self.output, flush=True)
            return
        lines = render(message)
        note = "(edited) " if changed else ""
        print(f"{to}: {note}{lines[0]}", file=self.output)
        for line in lines[1:]:
            print(f"{' ' * len(to)}  {line}", file=self.output)
        self.output.flush()


def _settle(screen: _Screen, reply_wait: float, quiet: float) -> None:
    """Wait for the bot's answer: until it has been quiet a moment, or until reply_wait passes."""
    deadline = time.monotonic() + reply_wait
    baseline = screen.signature()
    changed_at: float | None = None
    while time.monotonic() < deadline:
        now = time.monotonic()
        current = screen.signature()
        if current != baseline:
            baseline, changed_at = current, now
        elif changed_at is not None and now - changed_at >= quiet:
            break
        time.sleep(0.02)
    screen.flush()


def _press_number(person: SimUser, number: int) -> str | None:
    """Press button `number` (1-based); returns a complaint if there is nothing to press."""
    with_buttons = [m for m in person.messages if m.buttons and not m.deleted]
    if with_buttons:
        message = with_buttons[-1]
        count = sum(len(row) for row in message.buttons)
        if not 1 <= number <= count:
            return f"there are buttons 1 to {count} on the latest message"
        try:
            person.press(number - 1, message=message)
        except AssertionError as error:
            return str(error)
        return None
    keyboard = person.reply_keyboard
    labels = [label for row in keyboard or [] for label in row]
    if not labels:
        return "there are no buttons to press"
    if not 1 <= number <= len(labels):
        return f"there are keyboard buttons 1 to {len(labels)}"
    person.press_reply_button(labels[number - 1])
    return None


def run_terminal(
    sandbox: Sandbox,
    personas: Mapping[str, SimUser],
    *,
    input_fn: Callable[[str], str] = input,
    output: TextIO = sys.stdout,
    reply_wait: float = 2.0,
    quiet: float = 0.3,
) -> None:
    """Chat with the bot as the personas until :quit or end of input."""
    if not personas:
        raise ValueError("run_terminal needs at least one persona")
    screen = _Screen(sandbox, personas, output)
    names = ", ".join(personas)
    actions: dict[str, Callable[[SimUser], object]] = {
        ":voice": lambda person: person.send_voice(),
        ":photo": lambda person: person.send_photo(),
        ":sticker": lambda person: person.send_sticker(),
        ":location": lambda person: person.send_location(),
    }
    stop = threading.Event()

    def watch() -> None:
        # Messages that come later (reminders, messages to the other personas) show up on their own.
        while not stop.wait(0.25):
            screen.flush()

    watcher = threading.Thread(target=watch, name="sandbox-terminal", daemon=True)
    watcher.start()
    screen.flush()
    try:
        while True:
            try:
                line = input_fn(f"{screen.current}> ").strip()
            except (EOFError, KeyboardInterrupt):
                screen.say("")
                return
            person = personas[screen.current]
            if not line:
                screen.flush()
                continue
            if line in (":quit", ":q", ":exit"):
                return
            if line == ":help":
                screen.say(HELP.format(names=names))
                continue
            if line.startswith(":as"):
                name = line[3:].strip()
                if name not in personas:
                    screen.say(f"who? choose one of: {names}")
                    continue
                screen.current = name
                screen.say(f"you are now {name} ({personas[name].first_name})")
                continue
            if line in actions:
                actions[line](person)
            elif line.startswith(":"):
                screen.say("unknown command; type :help")
                continue
            elif line.isdigit():
                complaint = _press_number(person, int(line))
                if complaint is not None:
                    screen.say(complaint)
                    continue
            else:
                person.send(line)
            _settle(screen, reply_wait, quiet)
    finally:
        stop.set()
        watcher.join()
