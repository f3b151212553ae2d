"""Simulated people for synchronous tests: what they send, press and see.

Each call takes the world lock, so tests may use these from any thread while the server thread
answers the bot.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sandbox.records import JSON, ChatMessage, ChatState, FileRecord
from sandbox.world import World

# Tiny but real file headers, so a bot that sniffs file types is not surprised.
_OGG = b"OggS\x00\x02" + bytes(58)
_JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(100) + b"\xff\xd9"
_WEBP = b"RIFF\x00\x00\x00\x00WEBPVP8 " + bytes(40)


def _raw(message: ChatMessage | JSON) -> tuple[int, int]:
    """The (chat id, message id) of a message given as a record or as raw JSON."""
    if isinstance(message, ChatMessage):
        return message.chat_id, message.message_id
    return int(message["chat"]["id"]), int(message["message_id"])


def _labels(keyboard: JSON) -> list[list[str]]:
    """The labels of a reply keyboard's buttons, row by row."""
    return [[button["text"] for button in row] for row in keyboard["keyboard"]]


def _describe(messages: Sequence[ChatMessage]) -> str:
    """Messages listed for an assertion's failure message."""
    return "\n".join(f"  {message!r}" for message in messages) or "  (nothing)"


class _Conversation:
    """What a private chat and a group have in common: a chat in the world with bot messages."""

    def __init__(self, world: World, chat_id: int) -> None:
        """A conversation in one chat of the world, with no messages read yet."""
        self._world = world
        self.chat_id = chat_id
        self._cursors: dict[int | None, int] = {}

    @property
    def _chat(self) -> ChatState:
        """The chat's current state (call with the lock held)."""
        return self._world.chats[self.chat_id]

    def _bot_messages(self, thread_id: int | None = None) -> list[ChatMessage]:
        """The bot's messages in the chat, or in one thread of it."""
        messages = self._chat.bot_messages
        if thread_id is None:
            return list(messages)
        return [message for message in messages if message.thread_id == thread_id]

    @property
    def messages(self) -> list[ChatMessage]:
        """The bot's messages in this chat, oldest first; edits show in place, deletions are marked."""
        with self._world.lock:
            return self._bot_messages()

    @property
    def last(self) -> ChatMessage:
        """The bot's latest message in the chat; an assertion error if there is none."""
        with self._world.lock:
            messages = self._chat.bot_messages
            if not messages:
                raise AssertionError(f"the bot has sent nothing to chat {self.chat_id}")
            return messages[-1]

    def _wait(self, n: int, timeout: float, thread_id: int | None) -> list[ChatMessage]:
        """Wait for `n` bot messages after the ones already read (in a thread, if given) and read them."""
        deadline = time.monotonic() + timeout
        with self._world.changed:
            while True:
                messages = self._bot_messages(thread_id)
                seen = self._cursors.get(thread_id, 0)
                if len(messages) >= seen + n:
                    self._cursors[thread_id] = seen + n
                    return messages[seen : seen + n]
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    where = f"chat {self.chat_id}" + (f" thread {thread_id}" if thread_id is not None else "")
                    raise AssertionError(
                        f"expected {n} new bot message(s) in {where} within {timeout}s, got "
                        f"{len(messages) - seen}:\n{_describe(messages[seen:])}"
                    )
                self._world.changed.wait(remaining)

    def _find_button(self, label_or_index: str | int, message: ChatMessage | None) -> tuple[ChatMessage, str]:
        """The message and callback data of a button by label (or position on the latest message with buttons)."""
        candidates = [message] if message is not None else list(reversed(self._chat.bot_messages))
        if isinstance(label_or_index, int):
            # A position means the latest message with buttons, not any message long enough.
            candidates = [candidate for candidate in candidates if candidate.buttons and not candidate.deleted][:1]
        for candidate in candidates:
            if candidate.deleted:
                continue
            flat = [
                (label, data)
                for row_labels, row_data in zip(candidate.buttons, candidate.callback_data, strict=True)
                for label, data in zip(row_labels, row_data, strict=True)
            ]
            if isinstance(label_or_index, int):
                if label_or_index < len(flat):
                    found: tuple[str, str | None] | None = flat[label_or_index]
                else:
                    found = None
            else:
                found = next((pair for pair in flat if pair[0] == label_or_index), None)
            if found is None:
                continue
            if found[1] is None:
                raise AssertionError(f"button {found[0]!r} has no callback_data (a URL or other button)")
            return candidate, found[1]
        shown = [
            label for candidate in candidates if not candidate.deleted for row in candidate.buttons for label in row
        ]
        raise AssertionError(
            f"no button {label_or_index!r} on the bot's messages in chat {self.chat_id}; buttons shown: {shown}"
        )

    def _send_as(
        self,
        user_id: int,
        content: JSON,
        *,
        thread_id: int | None = None,
        file: FileRecord | None = None,
        reply_to: ChatMessage | None = None,
    ) -> JSON:
        """A person sends content in this chat (writing to a bot you blocked first unblocks it)."""
        with self._world.lock:
            if self._chat.type == "private" and self._world.is_blocked(user_id):
                # Writing to a bot you blocked first unblocks it, as in the apps.
                self._world.set_blocked(user_id, False)
            return self._world.user_message(
                self._chat, user_id, content, thread_id=thread_id, file=file, reply_to=reply_to
            )

    def _media(self, kind: str, data: bytes, **extra: Any) -> FileRecord:
        """A file of this kind, stored for a person to send."""
        with self._world.lock:
            return self._world.new_file(kind, data, **extra)


class SimUser(_Conversation):
    """A person in a private chat with the bot (the chat id is the user id)."""

    def __init__(self, world: World, user_id: int) -> None:
        """The person with this id, in their private chat with the bot."""
        super().__init__(world, user_id)
        self.user_id = user_id

    @property
    def info(self) -> JSON:
        """The Telegram User object the bot sees."""
        with self._world.lock:
            return dict(self._world.users[self.user_id])

    @property
    def first_name(self) -> str:
        """The person's first name, as the bot sees it."""
        return str(self.info["first_name"])

    def __repr__(self) -> str:
        """The person's id and first name, for test failures."""
        # No lock: repr may be called while the lock is held (in error messages).
        return f"<SimUser {self.user_id} {self._world.users[self.user_id]['first_name']!r}>"

    def send(self, text: str, *, reply_to: ChatMessage | None = None) -> JSON:
        """Send a text message; a leading /command gets its bot_command entity (`/start payload` works)."""
        return self._send_as(self.user_id, self._world.text_content(text), reply_to=reply_to)

    def send_voice(self, duration: int = 3, data: bytes = _OGG) -> JSON:
        """The person sends a voice note."""
        record = self._media("voice", data, mime_type="audio/ogg", meta={"duration": duration})
        return self._send_as(self.user_id, record.content(), file=record)

    def send_photo(self, caption: str | None = None, data: bytes = _JPEG) -> JSON:
        """The person sends a photo, with a caption if given."""
        record = self._media("photo", data)
        return self._send_as(self.user_id, _captioned(record, caption), file=record)

    def send_sticker(self, emoji: str = "👍") -> JSON:
        """The person sends a sticker."""
        meta = {"type": "regular", "width": 512, "height": 512, "is_animated": False, "is_video": False, "emoji": emoji}
        record = self._media("sticker", _WEBP, meta=meta)
        return self._send_as(self.user_id, record.content(), file=record)

    def send_location(self, latitude: float = 52.3676, longitude: float = 4.9041) -> JSON:
        """The person shares a location (Amsterdam by default)."""
        return self._send_as(self.user_id, {"location": {"latitude": latitude, "longitude": longitude}})

    def send_document(
        self,
        file_name: str = "note.txt",
        data: bytes = b"A note from a simulated person.\n",
        mime_type: str = "text/plain",
        caption: str | None = None,
    ) -> JSON:
        """The person sends a file, with a caption if given."""
        record = self._media("document", data, file_name=file_name, mime_type=mime_type)
        return self._send_as(self.user_id, _captioned(record, caption), file=record)

    def send_contact(
        self, phone_number: str = "+31612345678", first_name: str | None = None, last_name: str | None = None
    ) -> JSON:
        """Share a contact; by default their own, as the "share my number" button does."""
        info = self.info
        contact: JSON = {"phone_number": phone_number, "first_name": first_name or info["first_name"]}
        if first_name is None:
            contact["user_id"] = self.user_id
            if "last_name" in info:
                contact["last_name"] = info["last_name"]
        if last_name is not None:
            contact["last_name"] = last_name
        return self._send_as(self.user_id, {"contact": contact})

    def edit(self, message: ChatMessage | JSON, new_text: str) -> JSON:
        """Edit one of this person's text messages; the bot gets an edited_message update."""
        chat_id, message_id = _raw(message)
        with self._world.lock:
            return self._world.edit_user_message(self._world.chats[chat_id], message_id, new_text)

    def press(self, label_or_index: str | int, message: ChatMessage | None = None) -> JSON:
        """Press an inline button by label (or 0-based position) on the latest bot message that has it."""
        with self._world.lock:
            target, data = self._find_button(label_or_index, message)
            return self._world.press(self.user_id, target, data)

    def press_raw(self, message: ChatMessage | JSON, data: str) -> JSON:
        """Send a callback query with any data for a message, as a modified client could."""
        chat_id, message_id = _raw(message)
        with self._world.lock:
            return self._world.press(self.user_id, self._world.chats[chat_id].messages[message_id], data)

    def press_reply_button(self, label: str) -> JSON:
        """Tap a button of the reply keyboard currently shown: it sends its text (or contact, location)."""
        with self._world.lock:
            shown = self._chat.reply_keyboard
            keyboard = shown.keyboard_markup if shown is not None else None
            if keyboard is None:
                raise AssertionError(f"no reply keyboard is shown to {self!r}")
            button = next((b for row in keyboard["keyboard"] for b in row if b["text"] == label), None)
            if button is None:
                raise AssertionError(f"no reply keyboard button {label!r}; shown: {_labels(keyboard)}")
            if keyboard.get("one_time_keyboard"):
                self._chat.reply_keyboard = None
        if button.get("request_contact"):
            return self.send_contact()
        if button.get("request_location"):
            return self.send_location()
        return self.send(label)

    @property
    def callback_answers(self) -> list[str]:
        """The texts of the bot's answers to this person's button presses ('' when silent)."""
        with self._world.lock:
            return [answer.text for answer in self._world.answers.get(self.user_id, [])]

    @property
    def reply_keyboard(self) -> list[list[str]] | None:
        """The reply keyboard the app shows now, if any."""
        with self._world.lock:
            shown = self._chat.reply_keyboard
            return shown.reply_keyboard if shown is not None else None

    def wait_for_messages(self, n: int = 1, timeout: float = 5.0) -> list[ChatMessage]:
        """The next n bot messages since the last wait; fails listing what did arrive."""
        return self._wait(n, timeout, None)


def _captioned(record: FileRecord, caption: str | None) -> JSON:
    """A file's message content with a caption, if any."""
    content = record.content()
    if caption:
        content["caption"] = caption
    return content


@dataclass(frozen=True)
class TopicView:
    thread_id: int
    name: str
    closed: bool
    messages: list[ChatMessage]


class SimGroup(_Conversation):
    """A group or supergroup (optionally a forum) with the bot in it."""

    def __init__(self, world: World, chat_id: int) -> None:
        """The group with this id; `old_chat_id` is set once it migrated from a basic group."""
        super().__init__(world, chat_id)
        self.old_chat_id: int | None = None

    @property
    def title(self) -> str:
        """The group's title."""
        with self._world.lock:
            return str(self._chat.info["title"])

    def __repr__(self) -> str:
        """The group's id and title, for test failures."""
        return f"<SimGroup {self.chat_id} {self._chat.info['title']!r}>"

    @property
    def members(self) -> dict[int, str]:
        """User id -> status (member, administrator, creator, left, kicked)."""
        with self._world.lock:
            return dict(self._chat.members)

    def add_member(self, user: SimUser, status: str = "member") -> None:
        """Make a person a member of the group, with this status."""
        with self._world.lock:
            self._chat.members[user.user_id] = status

    @property
    def topics(self) -> dict[int, TopicView]:
        """Open and closed forum topics (deleted ones are gone), with the bot's messages in each."""
        with self._world.lock:
            chat = self._chat
            return {
                topic.thread_id: TopicView(
                    topic.thread_id, topic.name, topic.closed, self._bot_messages(topic.thread_id)
                )
                for topic in chat.topics.values()
                if not topic.deleted
            }

    def send(
        self, user: SimUser, text: str, thread_id: int | None = None, *, reply_to: ChatMessage | None = None
    ) -> JSON:
        """A member writes in the group (in a topic, or as an answer to a message, if given)."""
        return self._send_as(user.user_id, self._world.text_content(text), thread_id=thread_id, reply_to=reply_to)

    def send_voice(self, user: SimUser, thread_id: int | None = None, duration: int = 3) -> JSON:
        """A member sends a voice note in the group."""
        record = self._media("voice", _OGG, mime_type="audio/ogg", meta={"duration": duration})
        return self._send_as(user.user_id, record.content(), thread_id=thread_id, file=record)

    def send_photo(self, user: SimUser, caption: str | None = None, thread_id: int | None = None) -> JSON:
        """A member sends a photo in the group."""
        record = self._media("photo", _JPEG)
        return self._send_as(user.user_id, _captioned(record, caption), thread_id=thread_id, file=record)

    def press(self, user: SimUser, label_or_index: str | int, message: ChatMessage | None = None) -> JSON:
        """A member presses a button of the bot's (by label or position) in the group."""
        with self._world.lock:
            target, data = self._find_button(label_or_index, message)
            return self._world.press(user.user_id, target, data)

    def create_topic(self, user: SimUser, name: str, icon_color: int = 7322096) -> int:
        """A member opens a topic; the bot gets the forum_topic_created service message."""
        with self._world.lock:
            if not self._chat.is_forum:
                raise AssertionError(f"{self!r} is not a forum")
            creator = self._world.users[user.user_id]
            return self._world.add_topic(self._chat, name, icon_color, None, creator).thread_id

    def delete_topic(self, thread_id: int) -> None:
        """An admin deletes a topic with everything in it; the bot's later sends there fail."""
        with self._world.lock:
            topic = self._chat.topics.get(thread_id)
            if topic is None or topic.deleted:
                raise AssertionError(f"no topic {thread_id} in {self!r}")
            self._world.remove_topic(self._chat, topic)

    def migrate_to_supergroup(self, by: SimUser | None = None) -> int:
        """Upgrade a basic group; this object follows the new chat. Returns the new chat id."""
        with self._world.lock:
            user_id = by.user_id if by is not None else self._any_member()
            new = self._world.migrate(self._chat, user_id)
        self.old_chat_id, self.chat_id = self.chat_id, new.id
        self._cursors.clear()
        return new.id

    def _any_member(self) -> int:
        """The first member still in the group, to act when no one was named."""
        members = [user_id for user_id, status in self._chat.members.items() if status != "left"]
        if not members:
            raise AssertionError(f"{self!r} has no members to act; pass by=")
        return members[0]

    def add_bot(self, by: SimUser, status: str = "administrator") -> None:
        """Someone adds the bot (back) to the group: a my_chat_member update follows."""
        with self._world.lock:
            self._world.set_bot_status(self._chat, status, self._world.users[by.user_id])

    def remove_bot(self, by: SimUser) -> None:
        """Someone removes the bot: a my_chat_member update, and the bot's sends get 403 after."""
        with self._world.lock:
            self._world.set_bot_status(self._chat, "kicked", self._world.users[by.user_id])

    def wait_for_messages(self, n: int = 1, thread_id: int | None = None, timeout: float = 5.0) -> list[ChatMessage]:
        """The next n bot messages (in one thread, if given) since the last wait for that thread."""
        return self._wait(n, timeout, thread_id)
