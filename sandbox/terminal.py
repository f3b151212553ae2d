"""Chat with the bot from a terminal, as one of several simulated people (a developer tool).

Works from a pipe as well: each line is one action, and end of input quits (the lines read are echoed,
so the output reads as a transcript). The bot's messages are numbered per chat (#3), so an earlier one
can be answered (`:reply 3 ...`) and its buttons pressed (`3.1`). With a group, one persona can act in
it, also in its forum topics; with a clock (the demo's), time can be moved forward.
"""

from __future__ import annotations

import re
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from datetime import time as wall_time
from enum import Enum
from typing import Protocol, TextIO
from zoneinfo import ZoneInfo

from sandbox.people import SimGroup, SimUser
from sandbox.records import ChatMessage
from sandbox.server import Sandbox
from sandbox.terminal_screen import GROUP, Screen, View

LONGEST_MOVE = timedelta(days=62)
TOMORROW_AT = wall_time(10, 0)
TOPIC_RECAP = 10

_DURATION = re.compile(r"^(?:(\d+)\s*d)?\s*(?:(\d+)\s*h)?\s*(?:(\d+)\s*m(?:in)?)?$")
_CLOCK_TIME = re.compile(r"^(\d{1,2})(?:[:.](\d{2}))?$")
_BUTTON = re.compile(r"^(\d+)\.(\d+)$")
_REPLY = re.compile(r"^(\d+)(?:\s+(.*))?$", re.S)


class TimeControl(Protocol):
    """The clock the bot runs on, as the terminal may move it (see bot.demo.DemoTime)."""

    zone: ZoneInfo

    def now(self) -> datetime:
        """The bot's current time."""

    def show(self, moment: datetime | None = None) -> str:
        """A moment (now by default) as the terminal shows it, in local time."""

    def move_to(self, target: datetime, report: Callable[[str], None]) -> int:
        """Move the clock to `target`, running the work due on the way; how many jobs ran."""


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


def _settle(screen: Screen, reply_wait: float, quiet: float, settle: Callable[[], None] | None) -> None:
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


def _in_view(screen: Screen, message: ChatMessage) -> bool:
    """Whether a message is in the chat or topic the current person looks at."""
    return not screen.in_group or screen.view.topic is None or message.thread_id == screen.view.topic


def _press(screen: Screen, message: ChatMessage, index: int) -> str | None:
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


def _press_number(screen: Screen, number: int) -> str | None:
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


def _message(screen: Screen, number: int) -> ChatMessage | str:
    """Message #number of the current chat, or a complaint."""
    messages = screen.messages()
    if not 1 <= number <= len(messages):
        return f"there is no message #{number} here" + (f" (#1 to #{len(messages)})" if messages else "")
    found = messages[number - 1]
    if found.deleted:
        return f"message #{number} was deleted"
    return found


def _send_text(screen: Screen, text: str, reply_to: ChatMessage | None = None) -> None:
    """The current person sends text (in the group: in the current topic, or the topic of the answered message)."""
    if screen.in_group:
        assert screen.group is not None
        thread = reply_to.thread_id if reply_to is not None else screen.view.topic
        screen.group.send(screen.actor(), text, thread_id=thread, reply_to=reply_to)
    else:
        screen.actor().send(text, reply_to=reply_to)


def _reply(screen: Screen, rest: str) -> str | None:
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


def _send_media(screen: Screen, kind: str) -> str | None:
    """The current person sends a voice note, photo, sticker, location or contact; a complaint if not possible here."""
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


def _choose_topic(screen: Screen, wanted: str) -> str:
    """`:topic NAME` / `:topic 2` / `:topic`: go to that topic of the group; what to print."""
    topics = screen.topics()
    if not wanted:
        screen.view = View(GROUP, None)
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
    screen.view = View(GROUP, chosen[0])
    screen.group_topic = chosen[0]
    return f"you are now in the topic {chosen[1]} of the coordinators' group: what you write goes to the family"


def _recap_topic(screen: Screen) -> None:
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


def _topics_text(screen: Screen) -> str:
    """The group's topics, numbered, with how many messages each has."""
    topics = screen.topics()
    if not topics:
        return "no topics yet: a family's topic opens when the family first reaches a coordinator"
    return "\n".join(f"  {i}. {name} ({count} messages)" for i, (_thread, name, count) in enumerate(topics, 1))


def _parse_duration(text: str) -> timedelta | None:
    """A duration such as 30m, 2h or 1d2h30m, or None."""
    match = _DURATION.match(text.strip().lower().replace(" ", ""))
    if match is None or not any(match.groups()):
        return None
    days, hours, minutes = (int(part or 0) for part in match.groups())
    return timedelta(days=days, hours=hours, minutes=minutes)


def _move(screen: Screen, clock: TimeControl, target: datetime) -> None:
    """Move the clock to `target` (at most LONGEST_MOVE at a time), reporting what ran."""
    if target - clock.now() > LONGEST_MOVE:
        screen.say(f"at most {LONGEST_MOVE.days} days at a time")
        return
    screen.say(f"clock: {clock.show()} -> {clock.show(target)}")

    def report(line: str) -> None:
        """Print a line about work that ran, after the messages it caused."""
        screen.flush()
        screen.say(line)

    ran = clock.move_to(target, report)
    screen.flush()
    screen.say(f"clock: {clock.show()} ({ran} scheduled job{'s' if ran != 1 else ''} ran)")


def _time_command(screen: Screen, clock: TimeControl | None, command: str, rest: str) -> None:
    """`:time`, `:later 2h` and `:tomorrow 08:00`, when there is a clock."""
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


class _Outcome(Enum):
    """What a terminal command did: the session ends, or the line was handled without the bot."""

    QUIT = "quit"
    DONE = "done"


@dataclass
class _Session:
    """What the command loop needs besides the screen: the personas, the clock and the help text."""

    screen: Screen
    personas: Mapping[str, SimUser]
    clock: TimeControl | None
    names: str
    help_message: str


def _switch(session: _Session, rest: str) -> None:
    """`:as NAME` / `:as group`: act as another persona, or in the coordinators' group."""
    screen, personas = session.screen, session.personas
    if rest == GROUP and screen.group_member is not None:
        screen.view = View(GROUP, screen.group_topic)
        screen.say(
            f"you are now in the coordinators' group as {screen.group_member} "
            f"({screen.actor().first_name}); :topics lists the families' topics"
        )
    elif rest in personas:
        screen.view = View(rest)
        screen.say(f"you are now {rest} ({personas[rest].first_name})")
    else:
        choices = session.names + (f", {GROUP}" if screen.group_member is not None else "")
        screen.say(f"who? choose one of: {choices}")


def _terminal_command(session: _Session, command: str, rest: str) -> _Outcome | None:
    """The commands that do not talk to the bot (:quit, :help, :as, :topics, :topic, the clock); None if not one."""
    screen = session.screen
    if command in (":quit", ":q", ":exit"):
        return _Outcome.QUIT
    if command == ":help":
        screen.say(session.help_message)
    elif command == ":as":
        _switch(session, rest)
    elif command == ":topics" and screen.group_member is not None:
        screen.say(_topics_text(screen))
    elif command == ":topic" and screen.group_member is not None:
        screen.say(_choose_topic(screen, rest))
        _recap_topic(screen)
    elif command in (":time", ":later", ":tomorrow"):
        _time_command(screen, session.clock, command, rest)
    else:
        return None
    return _Outcome.DONE


def _act(screen: Screen, line: str, command: str, rest: str) -> str | None:
    """A line that acts towards the bot (text, :reply, media, a button); a complaint if it cannot be done."""
    button = _BUTTON.match(line)
    if command == ":text":
        if not rest:
            return "what shall I send? :text 3 sends the text 3"
        _send_text(screen, line.partition(" ")[2])
    elif command == ":reply":
        return _reply(screen, rest)
    elif command in (":voice", ":photo", ":sticker", ":location", ":contact"):
        return _send_media(screen, command[1:])
    elif line.startswith(":"):
        return "unknown command; type :help (:text sends a line that starts with ':')"
    elif button is not None:
        found = _message(screen, int(button.group(1)))
        return found if isinstance(found, str) else _press(screen, found, int(button.group(2)) - 1)
    elif line.isdigit():
        return _press_number(screen, int(line))
    else:
        _send_text(screen, line)
    return None


def _read_line(screen: Screen, input_fn: Callable[[str], str], real_input: bool) -> str | None:
    """The next line typed (echoed when it came from a pipe, for a transcript), or None at end of input."""
    prompt = screen.prompt_text()
    screen.waiting(prompt if real_input else None)
    try:
        line = input_fn(prompt).strip()
    except (EOFError, KeyboardInterrupt):
        screen.waiting(None)
        screen.say("")
        return None
    screen.waiting(None)
    # input() shows its prompt and a terminal echoes what is typed; from a pipe, echo it, for a transcript.
    if real_input and not sys.stdin.isatty():
        screen.say(line)
    elif not real_input:
        screen.say(prompt + line)
    return line


def _watch(screen: Screen, stop: threading.Event) -> None:
    """Show messages that come later (reminders, messages to the other personas) on their own."""
    while not stop.wait(0.25):
        screen.flush()


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
    screen = Screen(sandbox, personas, group, group_member if group is not None else None, output)
    names = ", ".join(personas)
    help_message = help_text(names, group_member=screen.group_member, clock=clock is not None)
    session = _Session(screen, personas, clock, names, help_message)
    stop = threading.Event()
    watcher = threading.Thread(target=_watch, args=(screen, stop), name="sandbox-terminal", daemon=True)
    watcher.start()
    screen.flush()
    try:
        while (line := _read_line(screen, input_fn, input_fn is input)) is not None:
            if not line:
                screen.flush()
                continue
            command, _space, rest = line.partition(" ")
            rest = rest.strip()
            outcome = _terminal_command(session, command, rest)
            if outcome is _Outcome.QUIT:
                return
            if outcome is _Outcome.DONE:
                continue
            before = screen.messages()
            complaint = _act(screen, line, command, rest)
            if complaint is not None:
                screen.say(complaint)
                continue
            _settle(screen, reply_wait, quiet, settle)
            screen.own_answers.update((m.chat_id, m.message_id) for m in screen.messages()[len(before) :])
    finally:
        stop.set()
        watcher.join()
