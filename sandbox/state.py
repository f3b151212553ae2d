"""What the simulated Telegram holds (users, chats, messages, files, updates) and what its people do.

No HTTP and no Bot API methods here (those are `sandbox.world.World`, built on `WorldState`). Every method
assumes the caller holds `lock`: the server thread takes it for each API call, and test threads take it
(through SimUser / SimGroup) to act as people.
"""

from __future__ import annotations

import itertools
import re
import threading
from collections import Counter, deque
from collections.abc import Callable

from sandbox.entities import utf16_len
from sandbox.records import (
    JSON,
    ApiError,
    CallbackAnswer,
    CallbackQuery,
    ChatMessage,
    ChatState,
    FileRecord,
    Webhook,
    bad,
    with_optional,
)
from sandbox.spec import Spec

# Telegram's default when a bot never chose: everything except these three.
DEFAULT_EXCLUDED_UPDATES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})
CONTENT_KEYS = (
    "text",
    "entities",
    "caption",
    "caption_entities",
    "photo",
    "voice",
    "audio",
    "video",
    "document",
    "sticker",
    "location",
    "contact",
    "animation",
    "video_note",
)
_FILE_PREFIX = {
    "photo": "AgACAgQAAxkBAAI",
    "voice": "AwACAgQAAxkBAAI",
    "audio": "CQACAgQAAxkBAAI",
    "video": "BAACAgQAAxkBAAI",
    "document": "BQACAgQAAxkBAAI",
    "sticker": "CAACAgQAAxkBAAI",
}
_FILE_DIRS = {"photo": "photos", "voice": "voice", "audio": "music", "video": "videos", "document": "documents"}
_COMMAND = re.compile(r"^/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]+)?")


class WorldState:
    """The state of the simulated Telegram and the actions of the people in it."""

    def __init__(
        self,
        token: str,
        spec: Spec,
        *,
        bot_username: str,
        bot_name: str,
        privacy_mode: bool,
        clock: Callable[[], float],
    ) -> None:
        """An empty world for one bot: no users, chats or updates yet, every update type the default allows."""
        self.token = token
        self.clock = clock
        self.spec = spec
        self.lock = threading.Lock()
        self.changed = threading.Condition(self.lock)
        self.on_update: Callable[[], None] = lambda: None
        self.bot_user: JSON = {
            "id": int(token.split(":", 1)[0]),
            "is_bot": True,
            "first_name": bot_name,
            "username": bot_username,
        }
        self.privacy_mode = privacy_mode
        self.users: dict[int, JSON] = {}
        self.chats: dict[int, ChatState] = {}
        self.files: dict[str, FileRecord] = {}
        self.files_by_path: dict[str, FileRecord] = {}
        self.updates: deque[JSON] = deque()
        self.next_update_id = 1000
        self.confirmed_offset = 0
        self.allowed_updates = spec.update_types - DEFAULT_EXCLUDED_UPDATES
        self.webhook: Webhook | None = None
        self.queries: dict[str, CallbackQuery] = {}
        self.answers: dict[int, list[CallbackAnswer]] = {}
        self.commands: dict[tuple[str, str], list[JSON]] = {}
        self.menu_buttons: dict[int | None, JSON] = {}
        self.delivered: Counter[int] = Counter()
        self.filtered_updates = 0
        self._file_numbers = itertools.count(1)
        self._query_numbers = itertools.count(1)

    def now(self) -> int:
        """Unix time for message dates, from the clock the sandbox was given."""
        return int(self.clock())

    # --- people, chats and updates (the simulated side) -----------------------------------------

    def add_user(
        self,
        user_id: int,
        first_name: str,
        last_name: str | None,
        username: str | None,
        language_code: str | None,
    ) -> JSON:
        """Add (or update) a person with a private chat with the bot; returns their User object."""
        user = with_optional(
            {"id": user_id, "is_bot": False, "first_name": first_name},
            last_name=last_name,
            username=username,
            language_code=language_code,
        )
        self.users[user_id] = user
        info = with_optional(
            {"id": user_id, "type": "private", "first_name": first_name}, last_name=last_name, username=username
        )
        chat = self.chats.get(user_id)
        if chat is None:
            self.chats[user_id] = ChatState(user_id, "private", info, bot_status="member")
        else:
            chat.info = info
        return user

    def add_group(self, chat_id: int, title: str, *, forum: bool, supergroup: bool) -> ChatState:
        """Add a group, supergroup or forum (the bot an administrator in it); an existing one is returned as it is."""
        chat = self.chats.get(chat_id)
        if chat is not None:
            return chat
        if forum and not supergroup:
            raise ValueError("only supergroups can be forums")
        kind = "supergroup" if supergroup else "group"
        info = with_optional({"id": chat_id, "type": kind, "title": title}, is_forum=True if forum else None)
        # In a forum, id 1 is the General topic; topics and messages come after it.
        chat = ChatState(chat_id, kind, info, is_forum=forum, next_message_id=2 if forum else 1)
        self.chats[chat_id] = chat
        return chat

    def queue_update(self, kind: str, payload: JSON, *, filtered: bool = True) -> int | None:
        """Queue an update for the bot (unless it opted out of the kind); its update_id, or None if filtered."""
        if filtered and kind not in self.allowed_updates:
            # Telegram never creates updates the bot opted out of.
            self.filtered_updates += 1
            return None
        update_id = self.next_update_id
        self.next_update_id += 1
        self.updates.append({"update_id": update_id, kind: payload})
        self.on_update()
        return update_id

    def _bot_sees(self, chat: ChatState, raw: JSON) -> bool:
        """Group privacy mode: a non-admin bot only gets commands, replies to it and mentions."""
        if chat.type == "private":
            return True
        if chat.bot_status in ("left", "kicked"):
            return False
        if not self.privacy_mode or chat.bot_status == "administrator":
            return True
        text = raw.get("text") or raw.get("caption") or ""
        if not any(key in raw for key in CONTENT_KEYS):
            return True
        reply = raw.get("reply_to_message")
        return (
            text.startswith("/")
            or f"@{self.bot_user['username']}" in text
            or (reply is not None and reply.get("from", {}).get("id") == self.bot_user["id"])
        )

    def user_message(
        self,
        chat: ChatState,
        user_id: int,
        content: JSON,
        *,
        thread_id: int | None = None,
        file: FileRecord | None = None,
        reply_to: ChatMessage | None = None,
    ) -> JSON:
        """A person writes in a chat: the message is stored and, if the bot may see it, an update queued."""
        if chat.migrated_to is not None:
            raise AssertionError(f"chat {chat.id} was migrated to {chat.migrated_to}; use the new chat")
        if chat.type != "private" and chat.members.get(user_id) not in ("member", "administrator", "creator"):
            chat.members[user_id] = "member"
        if thread_id is not None and chat.is_forum:
            topic = chat.topics.get(thread_id)
            if topic is None or topic.deleted:
                raise AssertionError(f"no topic {thread_id} in chat {chat.id}")
        message = self._store(
            chat, sender=self.users[user_id], content=content, thread_id=thread_id, reply_to=reply_to, file=file
        )
        if self._bot_sees(chat, message.raw):
            self.queue_update("message", message.raw)
        return dict(message.raw)

    def text_content(self, text: str) -> JSON:
        """The fields of a text message as a person types it (a leading /command gets its entity)."""
        content: JSON = {"text": text}
        command = _COMMAND.match(text)
        if command:
            content["entities"] = [{"type": "bot_command", "offset": 0, "length": utf16_len(command.group())}]
        return content

    def new_file(
        self,
        kind: str,
        data: bytes,
        *,
        file_name: str | None = None,
        mime_type: str | None = None,
        meta: JSON | None = None,
    ) -> FileRecord:
        """Store a file under a fresh file id and download path, as Telegram does for an upload."""
        number = next(self._file_numbers)
        extension = (file_name or "").rpartition(".")[2] if file_name and "." in file_name else "bin"
        if kind == "voice":
            extension = "oga"
        elif kind == "photo":
            extension = "jpg"
        record = FileRecord(
            file_id=f"{_FILE_PREFIX.get(kind, 'BQACAgQAAxkBAAI')}{number:08d}",
            file_unique_id=f"AgAD{number:06d}",
            kind=kind,
            data=data,
            file_name=file_name,
            mime_type=mime_type,
            meta=dict(meta or {}),
            path=f"{_FILE_DIRS.get(kind, kind + 's')}/file_{number}.{extension}",
        )
        self.files[record.file_id] = record
        self.files_by_path[record.path] = record
        if kind == "photo":
            self.files[record.file_id + "s"] = record
        return record

    def press(self, user_id: int, message: ChatMessage, data: str) -> JSON:
        """A person presses an inline button: a callback query is queued for the bot."""
        chat = self.chats[message.chat_id]
        query_id = str(next(self._query_numbers) * 7919 + 4_000_000_000)
        self.queries[query_id] = CallbackQuery(user_id, chat.id)
        query: JSON = {
            "id": query_id,
            "from": self.users[user_id],
            # A deleted message reaches the bot as an InaccessibleMessage (date 0), as on Telegram.
            "message": message.raw
            if not message.deleted
            else {"chat": chat.info, "message_id": message.message_id, "date": 0},
            "chat_instance": str(abs(chat.id) * 7919 + 1_000_000_007),
            "data": data,
        }
        self.queue_update("callback_query", query)
        return query

    def edit_user_message(self, chat: ChatState, message_id: int, new_text: str) -> JSON:
        """A person edits a text message they sent: an edited_message update is queued."""
        message = chat.messages.get(message_id)
        if message is None or message.from_bot or "text" not in message.raw:
            raise AssertionError(f"no text message {message_id} from a person in chat {chat.id}")
        raw = {key: value for key, value in message.raw.items() if key not in ("text", "entities")}
        raw.update(self.text_content(new_text))
        raw["edit_date"] = self.now()
        message.raw = raw
        message.text = message.html = new_text
        message.edits += 1
        if self._bot_sees(chat, raw):
            self.queue_update("edited_message", raw)
        return dict(raw)

    def migrate(self, chat: ChatState, by_user: int) -> ChatState:
        """A basic group becomes a supergroup under a new id; the bot gets the service message from each."""
        if chat.type != "group":
            raise AssertionError("only basic groups can be migrated to a supergroup")
        new_id = -1_000_000_000_000 - abs(chat.id)
        new = self.add_group(new_id, chat.info["title"], forum=False, supergroup=True)
        new.members = dict(chat.members)
        new.bot_status = chat.bot_status
        chat.migrated_to = new_id
        sender = self.users[by_user]
        old_notice = self._store(chat, sender=sender, content={"migrate_to_chat_id": new_id})
        self.queue_update("message", old_notice.raw)
        new_notice = self._store(new, sender=sender, content={"migrate_from_chat_id": chat.id})
        self.queue_update("message", new_notice.raw)
        return new

    def set_bot_status(self, chat: ChatState, status: str, by: JSON) -> None:
        """The bot's membership changes (added, removed, blocked, left): Telegram tells the bot."""
        old = chat.bot_status
        if old == status:
            return
        chat.bot_status = status
        self.queue_update(
            "my_chat_member",
            {
                "chat": chat.info,
                "from": by,
                "date": self.now(),
                "old_chat_member": self._member(chat, self.bot_user, old),
                "new_chat_member": self._member(chat, self.bot_user, status),
            },
        )

    def set_blocked(self, user_id: int, blocked: bool) -> None:
        """A person blocks (or unblocks) the bot, with the my_chat_member update Telegram sends."""
        self.set_bot_status(self.chats[user_id], "kicked" if blocked else "member", self.users[user_id])

    def is_blocked(self, user_id: int) -> bool:
        """Whether the person has blocked the bot."""
        return self.chats[user_id].bot_status == "kicked"

    def take_updates(self, offset: int | None, limit: int) -> list[JSON]:
        """Confirm the updates before `offset` (a negative one keeps only the last ones); the next `limit` updates."""
        if offset is not None:
            if offset < 0:
                while len(self.updates) > -offset:
                    self.updates.popleft()
            else:
                while self.updates and self.updates[0]["update_id"] < offset:
                    self.updates.popleft()
                self.confirmed_offset = max(self.confirmed_offset, offset)
        return list(itertools.islice(self.updates, limit))

    # --- helpers for the Bot API side -------------------------------------------------------------

    def _chat(self, chat_id: int | str) -> ChatState:
        """The chat an API call names (by id or @username); the errors Telegram gives for a missing or migrated one."""
        chat: ChatState | None = None
        if isinstance(chat_id, int):
            chat = self.chats.get(chat_id)
        elif chat_id.startswith("@"):
            chat = next((c for c in self.chats.values() if c.info.get("username") == chat_id[1:]), None)
            chat = chat if chat is not None and chat.type != "private" else None
        if chat is None:
            raise bad("chat not found")
        if chat.migrated_to is not None:
            raise ApiError(
                400,
                "Bad Request: group chat was upgraded to a supergroup chat",
                parameters={"migrate_to_chat_id": chat.migrated_to},
            )
        return chat

    def _writable_chat(self, chat_id: int | str) -> ChatState:
        """The chat, if the bot may write in it (403 when blocked or no longer a member)."""
        chat = self._chat(chat_id)
        if chat.type == "private" and chat.bot_status == "kicked":
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        if chat.type != "private" and chat.bot_status in ("left", "kicked"):
            kind = "supergroup" if chat.type == "supergroup" else "group"
            verb = "was kicked from" if chat.bot_status == "kicked" else "is not a member of"
            raise ApiError(403, f"Forbidden: bot {verb} the {kind} chat")
        return chat

    def _thread(self, chat: ChatState, thread_id: int | None) -> int | None:
        """The thread a message goes to (None for General or none); an error for a missing or closed topic."""
        if thread_id is None:
            return None
        if chat.is_forum:
            if thread_id == 1:  # the General topic takes no thread id
                return None
            topic = chat.topics.get(thread_id)
            if topic is None or topic.deleted:
                raise bad("message thread not found")
            if topic.closed and chat.bot_status != "administrator":
                raise bad("TOPIC_CLOSED")
            return thread_id
        start = chat.messages.get(thread_id)
        if chat.type == "private" or start is None or start.deleted:
            raise bad("message thread not found")
        return thread_id

    def _store(
        self,
        chat: ChatState,
        *,
        sender: JSON,
        content: JSON,
        thread_id: int | None = None,
        reply_to: ChatMessage | None = None,
        inline: JSON | None = None,
        file: FileRecord | None = None,
    ) -> ChatMessage:
        """Add a message to a chat with the next message id, as everyone in the chat sees it."""
        message_id = chat.next_message_id
        chat.next_message_id += 1
        raw: JSON = {"message_id": message_id, "from": sender, "chat": chat.info, "date": self.now()}
        if thread_id is not None:
            raw["message_thread_id"] = thread_id
            if chat.is_forum:
                raw["is_topic_message"] = True
        if reply_to is not None:
            raw["reply_to_message"] = {k: v for k, v in reply_to.raw.items() if k != "reply_to_message"}
        raw.update(content)
        if inline is not None:
            raw["reply_markup"] = inline
        shown = content.get("text", content.get("caption"))
        message = ChatMessage(
            chat.id, message_id, raw, sender is self.bot_user, thread_id, html=shown, text=shown, file=file
        )
        chat.messages[message_id] = message
        return message

    def _member(self, chat: ChatState, user: JSON, status: str) -> JSON:
        """A ChatMember object for a user with this status (an administrator with the usual rights)."""
        member: JSON = {"status": status, "user": user}
        if status == "administrator":
            rights = (
                "can_manage_chat",
                "can_delete_messages",
                "can_manage_video_chats",
                "can_restrict_members",
                "can_promote_members",
                "can_change_info",
                "can_invite_users",
                "can_post_stories",
                "can_edit_stories",
                "can_delete_stories",
                "can_pin_messages",
            )
            member.update({right: True for right in rights})
            member.update({"can_be_edited": False, "is_anonymous": False, "can_promote_members": False})
            if chat.is_forum:
                member["can_manage_topics"] = True
        elif status == "creator":
            member["is_anonymous"] = False
        elif status == "kicked":
            member["until_date"] = 0
        return member
