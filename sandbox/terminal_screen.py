"""What the terminal shows: bot messages as plain lines, numbered per chat, printed once and again when
edited or deleted, pop-up answers, and the prompt of the person acting.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TextIO

from sandbox.people import SimGroup, SimUser
from sandbox.records import ChatMessage
from sandbox.server import Sandbox

GROUP = "group"

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


def _button_lines(message: ChatMessage) -> list[str]:
    """A message's inline buttons numbered from 1, and its reply keyboard, as lines."""
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
class View:
    """Where the current person is: their private chat, or the group (in one topic, or General)."""

    name: str
    topic: int | None = None


class Screen:
    """Prints each bot message once with its number, again when edited or deleted, and pop-up answers."""

    def __init__(
        self,
        sandbox: Sandbox,
        personas: Mapping[str, SimUser],
        group: SimGroup | None,
        group_member: str | None,
        output: TextIO,
    ) -> None:
        """A screen for these personas (and the group), the first persona acting, nothing shown yet."""
        self.sandbox = sandbox
        self.personas = personas
        self.group = group
        self.group_member = group_member
        self.output = output
        self.view = View(next(iter(personas)))
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
        """Whether the current person is in the coordinators' group."""
        return self.view.name == GROUP

    def actor(self) -> SimUser:
        """The person acting now (in the group: its member)."""
        if self.in_group:
            assert self.group_member is not None
            return self.personas[self.group_member]
        return self.personas[self.view.name]

    def prompt_text(self) -> str:
        """The prompt: who is acting, and in the group which topic."""
        if self.in_group and self.view.topic is not None:
            return f"{GROUP}/{self.topic_name(self.view.topic)}> "
        return f"{self.view.name}> "

    def topic_name(self, thread_id: int | None) -> str:
        """A topic's name, as the terminal shows it ("General" for none)."""
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
        """A fingerprint of what the bot sent, edited, deleted and answered, to see when it goes quiet."""
        with self.sandbox.world.lock:
            world = self.sandbox.world
            chats = [world.chats[person.chat_id] for person in self.personas.values()]
            if self.group is not None:
                chats.append(world.chats[self.group.chat_id])
            shown = [len(chat.bot_messages) + sum(m.edits + m.deleted for m in chat.bot_messages) for chat in chats]
            answers = [len(world.answers.get(person.user_id, [])) for person in self.personas.values()]
            return (*shown, *answers)

    def say(self, text: str) -> None:
        """Print a line of the terminal's own, and the prompt again after it."""
        with self.lock:
            self._write(text)
            self._prompt_again()

    def _write(self, text: str) -> None:
        """Print a line, first moving off a prompt that is waiting."""
        if self.prompt is not None and not self._moved_off_prompt:
            print(file=self.output)
            self._moved_off_prompt = True
        print(text, file=self.output, flush=True)

    def _prompt_again(self) -> None:
        """Show the prompt again after lines were printed below it."""
        if self.prompt is not None and self._moved_off_prompt:
            print(self.prompt, end="", file=self.output, flush=True)
            self._moved_off_prompt = False

    def waiting(self, prompt: str | None) -> None:
        """input() shows `prompt` now (None: the line was read)."""
        with self.lock:
            self.prompt = prompt
            self._moved_off_prompt = False

    def flush(self) -> None:
        """Print what is new in every chat and the pop-up answers, then the prompt again."""
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
        """Who a private chat's message is from, as shown: "bot", or "bot -> NAME" for another persona."""
        return "bot" if name == self.view.name else f"bot -> {name}"

    def _group_label(self, message: ChatMessage) -> str:
        """Who a group message is from, as shown, with its topic."""
        where = "bot" if self.in_group else f"bot -> {GROUP}"
        return f"{where} [{self.topic_name(message.thread_id)}]" if message.thread_id is not None else where

    def _show(self, label: str, number: int, message: ChatMessage) -> bool:
        """Print a message if it is new or changed (only what changed when an edit just took buttons away)."""
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
        """Print a message under a head such as "#3 bot", continuation lines indented."""
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
