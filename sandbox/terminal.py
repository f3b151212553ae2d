"""Chat with the bot from a terminal, as one of several simulated people (a developer tool).

Works from a pipe as well: each line is one action, and end of input quits (the lines read are echoed,
so the output reads as a transcript). The bot's messages are numbered per chat (#3), so an earlier one
can be answered (`:reply 3 ...`) and its buttons pressed (`3.1`). With a group, one persona can act in
it, also in its forum topics; with a clock (the demo's), time can be moved forward.
"""

from __future__ import annotations

import os
import re
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from datetime import time as wall_time
from typing import Protocol, TextIO
from zoneinfo import ZoneInfo

from sandbox.people import SimGroup, SimUser
from sandbox.records import ChatMessage
from sandbox.server import Sandbox

GROUP = "group"
LONGEST_MOVE = timedelta(days=62)
TOMORROW_AT = wall_time(10, 0)
TOPIC_RECAP = 10

_RTL_CHARACTERS = re.compile("[\u0590-\u08ff\ufb1d-\ufdff\ufe70-\ufefc]")
_ISOLATES = re.compile("[\u2066-\u2069\u200e\u200f]")
_DURATION = re.compile(r"^(?:(\d+)\s*d)?\s*(?:(\d+)\s*h)?\s*(?:(\d+)\s*m(?:in)?)?$")
_CLOCK_TIME = re.compile(r"^(\d{1,2})(?:[:.](\d{2}))?$")
_BUTTON = re.compile(r"^(\d+)\.(\d+)$")
_REPLY = re.compile(r"^(\d+)(?:\s+(.*))?$", re.S)


class TimeControl(Protocol):
    """The clock the bot runs on, as the terminal may move it (see bot.demo.DemoTime)."""

    zone: ZoneInfo

    def now(self) -> datetime: ...

    def show(self, moment: datetime | None = None) -> str: ...

    def move_to(self, target: datetime, report: Callable[[str], None]) -> int: ...


def help_text(names: str, *, group_member: str | None, clock: bool) -> str:
    """Every command, as `:help` shows it (the group and clock lines only when there is one)."""
    lines = [
        "Type a message and press Enter to send it as the current person. The bot's messages are numbered",
        "per chat (#3); a pop-up answer to a button shows as (pop-up).",
        "  1, 2, ...        press that button on the latest message with buttons (or of the reply keyboard)",
        "  3.1              press button 1 of message #3",
        "  :reply 3 TEXT    answer message #3, as swiping it in Telegram (:reply TEXT: the latest message",
        "                   that was not the bot's answer to you, such as an alert or a message passed on)",
        "  :text TEXT       send TEXT as it is: also a plain number, or a line that starts with ':'",
        f"  :as NAME         switch person ({names})",
    ]
    if group_member is not None:
        lines += [
            f"  :as group        be in the coordinators' group (as {group_member})",
            "  :topics          list the group's topics (one per family)",
            "  :topic NAME      see a family's topic and write in it (NAME, or its number from :topics;",
            "                   :topic alone: the General topic)",
        ]
    lines += [
        "  :voice  :photo   send a voice note, a photo",
        "  :sticker         send a sticker            :location  send a location",
        "  :contact         share your phone number (as the 'share my number' button does)",
    ]
    if clock:
        lines += [
            "  :time            the demo's clock",
            "  :later 2h        move the clock forward (30m, 2h, 1d, 1d2h30m) and run the work due on the way:",
            "                   check-ins, reminders, escalation steps, follow-ups",
            f"  :tomorrow 08:00  move the clock to tomorrow at that time (default {TOMORROW_AT:%H:%M})",
        ]
    lines.append("  :help            this help                 :quit      leave (end of input works too)")
    return "\n".join(lines)


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


def _button_lines(message: ChatMessage) -> list[str]:
    lines = []
    number = 1
    for row in message.buttons:
        labels = []
        for label in row:
            labels.append(f"[{number}] {label}")
            number += 1
        lines.append("  " + "  ".join(labels))
    for row in message.reply_keyboard or []:
        lines.append("  keyboard: " + " | ".join(row))
    return lines


def render(message: ChatMessage) -> list[str]:
    """A bot message as plain lines: text without markup, numbered buttons, the reply keyboard."""
    kind = message.media_kind
    head = ""
    if kind == "document":
        head = f"[document: {message.document_name}] "
    elif kind is not None:
        head = f"[{kind}] "
    lines = f"{head}{message.text or ''}".rstrip().split("\n")
    return [visual(line) for line in lines + _button_lines(message)]


@dataclass
class _View:
    """Where the current person is: their private chat, or the group (in one topic, or General)."""

    name: str
    topic: int | None = None


class _Screen:
    """Prints each bot message once with its number, again when edited or deleted, and pop-up answers."""

    def __init__(
        self,
        sandbox: Sandbox,
        personas: Mapping[str, SimUser],
        group: SimGroup | None,
        group_member: str | None,
        output: TextIO,
    ) -> None:
        self.sandbox = sandbox
        self.personas = personas
        self.group = group
        self.group_member = group_member
        self.output = output
        self.view = _View(next(iter(personas)))
        self.lock = threading.RLock()
        self.shown: dict[tuple[int, int], tuple[int, bool]] = {}
        self.shown_text: dict[tuple[int, int], str | None] = {}
        self.answers_seen: dict[int, int] = {}
        # The bot's answers to the current person's own actions: a bare :reply skips them.
        self.own_answers: set[tuple[int, int]] = set()
        self.group_topic: int | None = None  # the topic to come back to with :as group
        self.prompt: str | None = None  # shown by input() and waiting: print below it, then again
        self._moved_off_prompt = False

    # --- who and where --------------------------------------------------------------------------

    @property
    def in_group(self) -> bool:
        return self.view.name == GROUP

    def actor(self) -> SimUser:
        """The person acting now (in the group: its member)."""
        if self.in_group:
            assert self.group_member is not None
            return self.personas[self.group_member]
        return self.personas[self.view.name]

    def prompt_text(self) -> str:
        if self.in_group and self.view.topic is not None:
            return f"{GROUP}/{self.topic_name(self.view.topic)}> "
        return f"{self.view.name}> "

    def topic_name(self, thread_id: int | None) -> str:
        if self.group is None or thread_id is None:
            return "General"
        with self.sandbox.world.lock:
            topic = self.sandbox.world.chats[self.group.chat_id].topics.get(thread_id)
            if topic is None:
                return f"topic {thread_id}"
            return topic.name + (" (deleted)" if topic.deleted else "")

    def topics(self) -> list[tuple[int, str, int]]:
        """(thread id, name, how many bot messages) of the group's open topics, oldest first."""
        if self.group is None:
            return []
        return sorted((t.thread_id, t.name, len(t.messages)) for t in self.group.topics.values())

    def messages(self) -> list[ChatMessage]:
        """The bot's messages in the current chat, numbered from 1 in this order."""
        if self.in_group:
            assert self.group is not None
            return self.group.messages
        return self.personas[self.view.name].messages

    # --- printing -------------------------------------------------------------------------------

    def signature(self) -> tuple[int, ...]:
        with self.sandbox.world.lock:
            world = self.sandbox.world
            chats = [world.chats[person.chat_id] for person in self.personas.values()]
            if self.group is not None:
                chats.append(world.chats[self.group.chat_id])
            shown = [len(chat.bot_messages) + sum(m.edits + m.deleted for m in chat.bot_messages) for chat in chats]
            answers = [len(world.answers.get(person.user_id, [])) for person in self.personas.values()]
            return (*shown, *answers)

    def say(self, text: str) -> None:
        with self.lock:
            self._write(text)
            self._prompt_again()

    def _write(self, text: str) -> None:
        if self.prompt is not None and not self._moved_off_prompt:
            print(file=self.output)
            self._moved_off_prompt = True
        print(text, file=self.output, flush=True)

    def _prompt_again(self) -> None:
        if self.prompt is not None and self._moved_off_prompt:
            print(self.prompt, end="", file=self.output, flush=True)
            self._moved_off_prompt = False

    def waiting(self, prompt: str | None) -> None:
        """input() shows `prompt` now (None: the line was read)."""
        with self.lock:
            self.prompt = prompt
            self._moved_off_prompt = False

    def flush(self) -> None:
        with self.lock:
            printed = False
            for name, person in self.personas.items():
                for number, message in enumerate(person.messages, 1):
                    printed |= self._show(self._label(name), number, message)
            if self.group is not None:
                for number, message in enumerate(self.group.messages, 1):
                    printed |= self._show(self._group_label(message), number, message)
            printed |= self._answers()
            if printed:
                self._prompt_again()

    def _label(self, name: str) -> str:
        return "bot" if name == self.view.name else f"bot -> {name}"

    def _group_label(self, message: ChatMessage) -> str:
        where = "bot" if self.in_group else f"bot -> {GROUP}"
        return f"{where} [{self.topic_name(message.thread_id)}]" if message.thread_id is not None else where

    def _show(self, label: str, number: int, message: ChatMessage) -> bool:
        key = (message.chat_id, message.message_id)
        state = (message.edits, message.deleted)
        before = self.shown.get(key)
        if before == state:
            return False
        self.shown[key] = state
        head = f"#{number} {label}"
        if message.deleted:
            self._write(f"{head} (deleted): {(message.text or '')[:40]}")
            return True
        if before is not None and self.shown_text.get(key) == message.text:
            # Only the buttons changed (a tap took them away, or the bot gave new ones).
            buttons = _button_lines(message)
            self._write(f"{head} (edited): " + ("new buttons" if buttons else "buttons removed"))
            for line in buttons:
                self._write(" " * (len(head) + 2) + visual(line))
            return True
        shown_before = self.shown_text.get(key) if before is not None else None
        self.shown_text[key] = message.text
        if shown_before and message.text and message.text.startswith(shown_before) and not message.buttons:
            # A tap retired the buttons and the message kept what was chosen: show only that.
            self._write(f"{head} (edited): " + visual(message.text[len(shown_before) :].strip()))
            return True
        self.print_message(head + (" (edited)" if before is not None else ""), message)
        return True

    def print_message(self, head: str, message: ChatMessage) -> None:
        lines = render(message)
        self._write(f"{head}: {lines[0]}")
        for line in lines[1:]:
            self._write(" " * (len(head) + 2) + line)

    def _answers(self) -> bool:
        """The bot's pop-up answers to button taps (answerCallbackQuery text), once each."""
        printed = False
        with self.sandbox.world.lock:
            answers = {
                name: list(self.sandbox.world.answers.get(person.user_id, [])) for name, person in self.personas.items()
            }
        for name, given in answers.items():
            user_id = self.personas[name].user_id
            for answer in given[self.answers_seen.get(user_id, 0) :]:
                if answer.text:
                    acting = self.actor() is self.personas[name]
                    kind = "alert" if answer.show_alert else "pop-up"
                    self._write(f"{'bot' if acting else f'bot -> {name}'} ({kind}): {visual(answer.text)}")
                    printed = True
            self.answers_seen[user_id] = len(given)
        return printed


def _settle(screen: _Screen, reply_wait: float, quiet: float, settle: Callable[[], None] | None) -> None:
    """Wait for the bot's answer: until `settle` returns (the bot is idle), or it was quiet a moment, or
    reply_wait passed."""
    if settle is not None:
        settle()
        screen.flush()
        return
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


def _in_view(screen: _Screen, message: ChatMessage) -> bool:
    return not screen.in_group or screen.view.topic is None or message.thread_id == screen.view.topic


def _press(screen: _Screen, message: ChatMessage, index: int) -> str | None:
    """Press button `index` (0-based) of `message` as the current person; a complaint if that cannot be."""
    count = sum(len(row) for row in message.buttons)
    if not count:
        return "that message has no buttons (any more)"
    if not 0 <= index < count:
        return f"that message has buttons 1 to {count}"
    try:
        if screen.in_group:
            assert screen.group is not None
            screen.group.press(screen.actor(), index, message=message)
        else:
            screen.actor().press(index, message=message)
    except AssertionError as error:
        return str(error)
    return None


def _press_number(screen: _Screen, number: int) -> str | None:
    """Press button `number` (1-based) of the latest message with buttons, or of the reply keyboard."""
    with_buttons = [m for m in screen.messages() if m.buttons and not m.deleted and _in_view(screen, m)]
    if with_buttons:
        complaint = _press(screen, with_buttons[-1], number - 1)
        if complaint is not None and complaint.startswith("that message has buttons"):
            return complaint.replace("that message", "the latest message with buttons")
        return complaint
    if screen.in_group:
        return "there are no buttons to press here"
    person = screen.actor()
    labels = [label for row in person.reply_keyboard or [] for label in row]
    if not labels:
        return "there are no buttons to press"
    if not 1 <= number <= len(labels):
        return f"there are keyboard buttons 1 to {len(labels)}"
    person.press_reply_button(labels[number - 1])
    return None


def _message(screen: _Screen, number: int) -> ChatMessage | str:
    """Message #number of the current chat, or a complaint."""
    messages = screen.messages()
    if not 1 <= number <= len(messages):
        return f"there is no message #{number} here" + (f" (#1 to #{len(messages)})" if messages else "")
    found = messages[number - 1]
    if found.deleted:
        return f"message #{number} was deleted"
    return found


def _send_text(screen: _Screen, text: str, reply_to: ChatMessage | None = None) -> None:
    if screen.in_group:
        assert screen.group is not None
        thread = reply_to.thread_id if reply_to is not None else screen.view.topic
        screen.group.send(screen.actor(), text, thread_id=thread, reply_to=reply_to)
    else:
        screen.actor().send(text, reply_to=reply_to)


def _reply(screen: _Screen, rest: str) -> str | None:
    """`:reply 3 text` (message #3) or `:reply text` (the latest message here); a complaint or None."""
    match = _REPLY.match(rest)
    if match is not None:
        if not (match.group(2) or "").strip():
            return f"what shall I answer? :reply {match.group(1)} your text"
        target = _message(screen, int(match.group(1)))
        text = match.group(2).strip()
    else:
        if not rest:
            return "usage: :reply 3 your text (answers message #3), or :reply your text (the latest message)"
        candidates = [
            m
            for m in screen.messages()
            if not m.deleted and _in_view(screen, m) and (m.chat_id, m.message_id) not in screen.own_answers
        ]
        if not candidates:
            return "there is no message here to answer (an alert or a message passed on)"
        target, text = candidates[-1], rest
    if isinstance(target, str):
        return target
    _send_text(screen, text, reply_to=target)
    return None


def _send_media(screen: _Screen, kind: str) -> str | None:
    if screen.in_group:
        assert screen.group is not None
        member, thread = screen.actor(), screen.view.topic
        if kind == "voice":
            screen.group.send_voice(member, thread_id=thread)
        elif kind == "photo":
            screen.group.send_photo(member, thread_id=thread)
        else:
            return f"in the group you can send text, :voice and :photo (not :{kind})"
        return None
    person = screen.actor()
    actions: dict[str, Callable[[], object]] = {
        "voice": person.send_voice,
        "photo": person.send_photo,
        "sticker": person.send_sticker,
        "location": person.send_location,
        "contact": person.send_contact,
    }
    actions[kind]()
    return None


def _choose_topic(screen: _Screen, wanted: str) -> str:
    """`:topic NAME` / `:topic 2` / `:topic`: go to that topic of the group; what to print."""
    topics = screen.topics()
    if not wanted:
        screen.view = _View(GROUP, None)
        screen.group_topic = None
        return "you are now in the coordinators' group, in General"
    chosen: tuple[int, str, int] | None = None
    if wanted.isdigit() and 1 <= int(wanted) <= len(topics):
        chosen = topics[int(wanted) - 1]
    else:
        folded = wanted.casefold()
        starts = [t for t in topics if t[1].casefold().startswith(folded)]
        contains = [t for t in topics if folded in t[1].casefold()]
        matches = starts or contains
        chosen = matches[0] if matches else None
    if chosen is None:
        known = "; ".join(f"{i}. {t[1]}" for i, t in enumerate(topics, 1)) or "none yet"
        return f"no topic like {wanted!r} (topics: {known})"
    screen.view = _View(GROUP, chosen[0])
    screen.group_topic = chosen[0]
    return f"you are now in the topic {chosen[1]} of the coordinators' group: what you write goes to the family"


def _recap_topic(screen: _Screen) -> None:
    """The latest messages of the chosen topic, numbered as in the group."""
    if screen.group is None or screen.view.topic is None:
        return
    numbered = [(n, m) for n, m in enumerate(screen.group.messages, 1) if m.thread_id == screen.view.topic]
    with screen.lock:
        if len(numbered) > TOPIC_RECAP:
            screen.say(f"  ({len(numbered) - TOPIC_RECAP} earlier messages in this topic)")
        for number, message in numbered[-TOPIC_RECAP:]:
            if not message.deleted:
                screen.print_message(f"#{number} bot", message)


def _topics_text(screen: _Screen) -> str:
    topics = screen.topics()
    if not topics:
        return "no topics yet: a family's topic opens when the family first reaches a coordinator"
    return "\n".join(f"  {i}. {name} ({count} messages)" for i, (_thread, name, count) in enumerate(topics, 1))


def _parse_duration(text: str) -> timedelta | None:
    match = _DURATION.match(text.strip().lower().replace(" ", ""))
    if match is None or not any(match.groups()):
        return None
    days, hours, minutes = (int(part or 0) for part in match.groups())
    return timedelta(days=days, hours=hours, minutes=minutes)


def _move(screen: _Screen, clock: TimeControl, target: datetime) -> None:
    if target - clock.now() > LONGEST_MOVE:
        screen.say(f"at most {LONGEST_MOVE.days} days at a time")
        return
    screen.say(f"clock: {clock.show()} -> {clock.show(target)}")

    def report(line: str) -> None:
        screen.flush()
        screen.say(line)

    ran = clock.move_to(target, report)
    screen.flush()
    screen.say(f"clock: {clock.show()} ({ran} scheduled job{'s' if ran != 1 else ''} ran)")


def _time_command(screen: _Screen, clock: TimeControl | None, command: str, rest: str) -> None:
    if clock is None:
        screen.say("the clock can only be moved in the demo (python -m bot demo)")
        return
    if command == ":time":
        screen.say(f"the demo's clock: {clock.show()} ({clock.zone.key})")
        return
    if command == ":later":
        delta = _parse_duration(rest)
        if delta is None or not delta:
            screen.say("how much later? e.g. :later 30m, :later 2h, :later 1d")
            return
        _move(screen, clock, clock.now() + delta)
        return
    at = TOMORROW_AT
    if rest:
        match = _CLOCK_TIME.match(rest.strip())
        hour, minute = (int(match.group(1)), int(match.group(2) or 0)) if match else (99, 0)
        if match is None or hour > 23 or minute > 59:
            screen.say("at what time? e.g. :tomorrow 08:00")
            return
        at = wall_time(hour, minute)
    tomorrow = clock.now().astimezone(clock.zone).date() + timedelta(days=1)
    _move(screen, clock, datetime.combine(tomorrow, at, tzinfo=clock.zone))


def run_terminal(
    sandbox: Sandbox,
    personas: Mapping[str, SimUser],
    *,
    group: SimGroup | None = None,
    group_member: str | None = None,
    clock: TimeControl | None = None,
    settle: Callable[[], None] | None = None,
    input_fn: Callable[[str], str] = input,
    output: TextIO = sys.stdout,
    reply_wait: float = 2.0,
    quiet: float = 0.3,
) -> None:
    """Chat with the bot as the personas (and `group_member` in `group`) until :quit or end of input.

    `clock` lets :later and :tomorrow move time; `settle` waits until the bot has done what a person's
    action asked (without it: until the chats were quiet for `quiet` seconds, at most `reply_wait`).
    """
    if not personas:
        raise ValueError("run_terminal needs at least one persona")
    if group is not None and group_member not in personas:
        raise ValueError("a group needs group_member: the persona who acts in it")
    screen = _Screen(sandbox, personas, group, group_member if group is not None else None, output)
    names = ", ".join(personas)
    help_message = help_text(names, group_member=screen.group_member, clock=clock is not None)
    real_input = input_fn is input
    # input() shows its prompt and a terminal echoes what is typed; from a pipe, echo it, for a transcript.
    echo_line = real_input and not sys.stdin.isatty()
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
            prompt = screen.prompt_text()
            screen.waiting(prompt if real_input else None)
            try:
                line = input_fn(prompt).strip()
            except (EOFError, KeyboardInterrupt):
                screen.waiting(None)
                screen.say("")
                return
            screen.waiting(None)
            if echo_line:
                screen.say(line)
            elif not real_input:
                screen.say(prompt + line)
            if not line:
                screen.flush()
                continue
            command, _space, rest = line.partition(" ")
            rest = rest.strip()
            complaint: str | None = None
            if command in (":quit", ":q", ":exit"):
                return
            if command == ":help":
                screen.say(help_message)
                continue
            if command == ":as":
                if rest == GROUP and screen.group_member is not None:
                    screen.view = _View(GROUP, screen.group_topic)
                    screen.say(
                        f"you are now in the coordinators' group as {screen.group_member} "
                        f"({screen.actor().first_name}); :topics lists the families' topics"
                    )
                elif rest in personas:
                    screen.view = _View(rest)
                    screen.say(f"you are now {rest} ({personas[rest].first_name})")
                else:
                    choices = names + (f", {GROUP}" if screen.group_member is not None else "")
                    screen.say(f"who? choose one of: {choices}")
                continue
            if command == ":topics" and screen.group_member is not None:
                screen.say(_topics_text(screen))
                continue
            if command == ":topic" and screen.group_member is not None:
                screen.say(_choose_topic(screen, rest))
                _recap_topic(screen)
                continue
            if command in (":time", ":later", ":tomorrow"):
                _time_command(screen, clock, command, rest)
                continue
            button = _BUTTON.match(line)
            before = screen.messages()
            if command == ":text":
                if not rest:
                    complaint = "what shall I send? :text 3 sends the text 3"
                else:
                    _send_text(screen, line.partition(" ")[2])
            elif command == ":reply":
                complaint = _reply(screen, rest)
            elif command in (":voice", ":photo", ":sticker", ":location", ":contact"):
                complaint = _send_media(screen, command[1:])
            elif line.startswith(":"):
                complaint = "unknown command; type :help (:text sends a line that starts with ':')"
            elif button is not None:
                found = _message(screen, int(button.group(1)))
                complaint = found if isinstance(found, str) else _press(screen, found, int(button.group(2)) - 1)
            elif line.isdigit():
                complaint = _press_number(screen, int(line))
            else:
                _send_text(screen, line)
            if complaint is not None:
                screen.say(complaint)
                continue
            _settle(screen, reply_wait, quiet, settle)
            screen.own_answers.update((m.chat_id, m.message_id) for m in screen.messages()[len(before) :])
    finally:
        stop.set()
        watcher.join()
