"""The simulated Telegram: users, chats, messages, files, updates and the Bot API methods.

No HTTP here. Every method assumes the caller holds `World.lock`: the server thread takes it for
each API call, and test threads take it (through SimUser / SimGroup) to act as people. Records
handed out to tests (`ChatMessage`) are only ever changed by replacing attributes under the lock,
so a test can read them without locking.
"""

from __future__ import annotations

import itertools
import json
import re
import threading
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from sandbox.formatting import EntityParseError, ParsedText, parse, utf16_len
from sandbox.spec import Spec, UploadedFile

JSON = dict[str, Any]

TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024
CALLBACK_ANSWER_LIMIT = 200
NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly the same as a "
    "current content and reply markup of the message"
)
QUERY_TOO_OLD = "query is too old and response timeout expired or query ID is invalid"
CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)
TOPIC_COLORS = frozenset({7322096, 16766590, 13338331, 9367192, 16749490, 16478047})
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
INLINE_BUTTON_NEUTRAL = frozenset({"text", "icon_custom_emoji_id", "style"})
_FILE_PREFIX = {
    "photo": "AgACAgQAAxkBAAI",
    "voice": "AwACAgQAAxkBAAI",
    "audio": "CQACAgQAAxkBAAI",
    "video": "BAACAgQAAxkBAAI",
    "document": "BQACAgQAAxkBAAI",
    "sticker": "CAACAgQAAxkBAAI",
}
_FILE_DIRS = {"photo": "photos", "voice": "voice", "audio": "music", "video": "videos", "document": "documents"}
_FILE_LIMIT = 20 * 1024 * 1024
_COMMAND = re.compile(r"^/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]+)?")
_BOT_COMMAND = re.compile(r"^[a-z0-9_]{1,32}$")
_LANGUAGE = re.compile(r"^[a-z]{2}$")
_SECRET = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
_LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})


class ApiError(Exception):
    """A Bot API error answer. `refusal`: Telegram refuses the request as such (not the moment)."""

    def __init__(self, status: int, description: str, *, parameters: JSON | None = None, refusal: bool = False) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.parameters = parameters
        self.refusal = refusal


def bad(description: str) -> ApiError:
    """A 400 that depends on the state of things (not found, not modified): bots must handle these."""
    return ApiError(400, f"Bad Request: {description}")


def refuse(description: str) -> ApiError:
    """A 400 for a request Telegram never accepts: a bug in the bot."""
    return ApiError(400, f"Bad Request: {description}", refusal=True)


_IMAGE_MAGIC = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF87a", b"GIF89a", b"RIFF")
PHOTO_LIMIT = 10 * 1024 * 1024


def _check_photo(data: bytes) -> None:
    """What Telegram checks of an uploaded photo: an image, at most 10 MB, width + height at most 10000, ratio 20."""
    if len(data) > PHOTO_LIMIT:
        raise refuse("PHOTO_SAVE_FILE_INVALID")
    if not data.startswith(_IMAGE_MAGIC):
        raise refuse("IMAGE_PROCESS_FAILED")
    if data.startswith(_IMAGE_MAGIC[0]) and len(data) >= 24:
        width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
        if not width or not height or width + height > 10000 or max(width, height) / min(width, height) > 20:
            raise refuse("PHOTO_INVALID_DIMENSIONS")


@dataclass(eq=False)
class FileRecord:
    file_id: str
    file_unique_id: str
    kind: str
    data: bytes
    file_name: str | None = None
    mime_type: str | None = None
    meta: JSON = field(default_factory=dict)
    path: str = ""

    def media(self) -> JSON:
        """The file as Telegram shows it inside a message (Document, Voice, ...)."""
        described: JSON = {"file_id": self.file_id, "file_unique_id": self.file_unique_id, **self.meta}
        if self.file_name is not None:
            described["file_name"] = self.file_name
        if self.mime_type is not None:
            described["mime_type"] = self.mime_type
        described["file_size"] = len(self.data)
        return described

    def content(self) -> JSON:
        if self.kind == "photo":
            small = {"file_id": self.file_id + "s", "file_unique_id": self.file_unique_id + "s"}
            return {
                "photo": [
                    {**small, "width": 90, "height": 90, "file_size": max(1, len(self.data) // 10)},
                    {**self.media(), "width": 800, "height": 600},
                ]
            }
        return {self.kind: self.media()}


@dataclass(eq=False)
class ChatMessage:
    """One message as the people in the chat see it. Bot messages are what `SimUser.messages` lists."""

    chat_id: int
    message_id: int
    raw: JSON
    from_bot: bool
    thread_id: int | None = None
    html: str | None = None  # text or caption exactly as the bot sent it
    text: str | None = None  # text or caption as shown, after entity parsing
    buttons: list[list[str]] = field(default_factory=list)
    callback_data: list[list[str | None]] = field(default_factory=list)
    reply_keyboard: list[list[str]] | None = None
    keyboard_markup: JSON | None = field(default=None, repr=False)
    file: FileRecord | None = None
    deleted: bool = False
    edits: int = 0

    @property
    def date(self) -> int:
        return int(self.raw["date"])

    @property
    def entities(self) -> list[JSON]:
        return list(self.raw.get("entities") or self.raw.get("caption_entities") or [])

    @property
    def media_kind(self) -> str | None:
        for key in ("photo", "voice", "audio", "video", "document", "sticker", "location", "contact"):
            if key in self.raw:
                return key
        return None

    @property
    def document_name(self) -> str | None:
        return self.file.file_name if self.file is not None and self.file.kind == "document" else None

    @property
    def document_bytes(self) -> bytes | None:
        return self.file.data if self.file is not None and self.file.kind == "document" else None

    def __repr__(self) -> str:
        state = " deleted" if self.deleted else ""
        shown = self.text if self.text is not None else f"[{self.media_kind}]"
        return f"<ChatMessage {self.chat_id}/{self.message_id}{state}: {shown!r} buttons={self.buttons}>"


@dataclass(eq=False)
class Topic:
    thread_id: int
    name: str
    icon_color: int
    icon_custom_emoji_id: str | None = None
    closed: bool = False
    deleted: bool = False


@dataclass(eq=False)
class ChatState:
    id: int
    type: str
    info: JSON
    is_forum: bool = False
    messages: dict[int, ChatMessage] = field(default_factory=dict)
    bot_messages: list[ChatMessage] = field(default_factory=list)
    next_message_id: int = 1
    topics: dict[int, Topic] = field(default_factory=dict)
    members: dict[int, str] = field(default_factory=dict)  # user id -> status
    bot_status: str = "administrator"
    migrated_to: int | None = None
    reply_keyboard: ChatMessage | None = None


@dataclass
class CallbackQuery:
    user_id: int
    chat_id: int
    answered: bool = False


@dataclass(frozen=True)
class CallbackAnswer:
    text: str
    show_alert: bool
    url: str | None


@dataclass
class Webhook:
    url: str
    secret_token: str | None
    max_connections: int
    allowed_updates: list[str] | None
    last_error_date: int | None = None
    last_error_message: str | None = None


# (inline keyboard, reply keyboard, whether it removes the reply keyboard)
Markup = tuple[JSON | None, JSON | None, bool]


def _scope_key(scope: JSON | None) -> str:
    return json.dumps(scope or {"type": "default"}, sort_keys=True)


def _labels(rows: list[list[JSON]]) -> list[list[str]]:
    return [[str(button["text"]) for button in row] for row in rows]


def _with_optional(base: JSON, **optional: Any) -> JSON:
    """Telegram omits absent optional fields instead of sending null; so do we."""
    base.update({key: value for key, value in optional.items() if value is not None})
    return base


class World:
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
        self.handlers: dict[str, Callable[[JSON], Any]] = {
            "getme": self.get_me,
            "logout": self.log_out,
            "close": self.log_out,
            "setwebhook": self.set_webhook,
            "deletewebhook": self.delete_webhook,
            "getwebhookinfo": self.get_webhook_info,
            "sendmessage": self.send_message,
            "editmessagetext": self.edit_message_text,
            "editmessagereplymarkup": self.edit_message_reply_markup,
            "deletemessage": self.delete_message,
            "answercallbackquery": self.answer_callback_query,
            "sendchataction": self.send_chat_action,
            "setmycommands": self.set_my_commands,
            "getmycommands": self.get_my_commands,
            "deletemycommands": self.delete_my_commands,
            "setchatmenubutton": self.set_chat_menu_button,
            "senddocument": lambda p: self.send_media(p, "document"),
            "sendphoto": lambda p: self.send_media(p, "photo"),
            "sendvoice": lambda p: self.send_media(p, "voice"),
            "sendaudio": lambda p: self.send_media(p, "audio"),
            "sendvideo": lambda p: self.send_media(p, "video"),
            "copymessage": self.copy_message,
            "forwardmessage": self.forward_message,
            "getfile": self.get_file,
            "getchat": self.get_chat,
            "getchatmember": self.get_chat_member,
            "createforumtopic": self.create_forum_topic,
            "editforumtopic": self.edit_forum_topic,
            "closeforumtopic": lambda p: self.set_topic_closed(p, closed=True),
            "reopenforumtopic": lambda p: self.set_topic_closed(p, closed=False),
            "deleteforumtopic": self.delete_forum_topic,
            "leavechat": self.leave_chat,
        }

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
        user = _with_optional(
            {"id": user_id, "is_bot": False, "first_name": first_name},
            last_name=last_name,
            username=username,
            language_code=language_code,
        )
        self.users[user_id] = user
        info = _with_optional(
            {"id": user_id, "type": "private", "first_name": first_name}, last_name=last_name, username=username
        )
        chat = self.chats.get(user_id)
        if chat is None:
            self.chats[user_id] = ChatState(user_id, "private", info, bot_status="member")
        else:
            chat.info = info
        return user

    def add_group(self, chat_id: int, title: str, *, forum: bool, supergroup: bool) -> ChatState:
        chat = self.chats.get(chat_id)
        if chat is not None:
            return chat
        if forum and not supergroup:
            raise ValueError("only supergroups can be forums")
        kind = "supergroup" if supergroup else "group"
        info = _with_optional({"id": chat_id, "type": kind, "title": title}, is_forum=True if forum else None)
        # In a forum, id 1 is the General topic; topics and messages come after it.
        chat = ChatState(chat_id, kind, info, is_forum=forum, next_message_id=2 if forum else 1)
        self.chats[chat_id] = chat
        return chat

    def queue_update(self, kind: str, payload: JSON, *, filtered: bool = True) -> int | None:
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
        self.set_bot_status(self.chats[user_id], "kicked" if blocked else "member", self.users[user_id])

    def is_blocked(self, user_id: int) -> bool:
        return self.chats[user_id].bot_status == "kicked"

    def take_updates(self, offset: int | None, limit: int) -> list[JSON]:
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
        chat = self._chat(chat_id)
        if chat.type == "private" and chat.bot_status == "kicked":
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        if chat.type != "private" and chat.bot_status in ("left", "kicked"):
            kind = "supergroup" if chat.type == "supergroup" else "group"
            verb = "was kicked from" if chat.bot_status == "kicked" else "is not a member of"
            raise ApiError(403, f"Forbidden: bot {verb} the {kind} chat")
        return chat

    def _thread(self, chat: ChatState, thread_id: int | None) -> int | None:
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

    def _message(self, chat: ChatState, message_id: int, missing: str) -> ChatMessage:
        message = chat.messages.get(message_id)
        if message is None or message.deleted:
            raise bad(missing)
        return message

    def _text(self, params: JSON, key: str, entities_key: str, limit: int) -> ParsedText:
        raw = params.get(key, "")
        mode = params.get("parse_mode")
        if mode is not None and mode.lower() not in ("html", "markdownv2", "markdown", ""):
            raise refuse(f"unsupported parse_mode {mode!r}")
        try:
            parsed = parse(raw, mode, params.get(entities_key))
        except EntityParseError as error:
            raise refuse(f"can't parse entities: {error}") from None
        if key == "text" and not parsed.text:
            raise refuse("message text is empty")
        if parsed.length > limit:
            raise refuse("message is too long" if key == "text" else "message caption is too long")
        return parsed

    def _markup(self, params: JSON) -> Markup:
        """Check reply_markup; return (inline keyboard, reply keyboard labels, removes the keyboard)."""
        markup = params.get("reply_markup")
        if markup is None:
            return None, None, False
        if "inline_keyboard" in markup:
            for row in markup["inline_keyboard"]:
                for button in row:
                    self._check_inline_button(button)
            return markup, None, False
        if "keyboard" in markup:
            for row in markup["keyboard"]:
                for button in row:
                    if not button.get("text"):
                        raise refuse("keyboard button text must not be empty")
                    if len(set(button) - INLINE_BUTTON_NEUTRAL) > 1:
                        raise refuse("a keyboard button can request only one thing")
            return None, markup, False
        return None, None, bool(markup.get("remove_keyboard"))

    @staticmethod
    def _check_inline_button(button: JSON) -> None:
        if not button.get("text"):
            raise refuse("can't parse inline keyboard button: button text must not be empty")
        actions = sorted(set(button) - INLINE_BUTTON_NEUTRAL)
        if not actions:
            raise refuse("can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard")
        if len(actions) > 1:
            raise refuse(
                f"can't parse inline keyboard button: exactly one action field is allowed, got {', '.join(actions)}"
            )
        data = button.get("callback_data")
        if data is not None and not 1 <= len(data.encode("utf-8")) <= 64:
            raise refuse(f"BUTTON_DATA_INVALID: callback_data must be 1-64 bytes, got {len(data.encode('utf-8'))}")
        url = button.get("url")
        if url is not None and urlsplit(url).scheme not in ("http", "https", "tg"):
            raise refuse(f"BUTTON_URL_INVALID: {url!r}")

    def _reply_to(self, chat: ChatState, params: JSON) -> ChatMessage | None:
        reply = params.get("reply_parameters")
        if reply is None:
            return None
        target = self.chats.get(reply["chat_id"]) if "chat_id" in reply else chat
        message = target.messages.get(reply["message_id"]) if target is not None else None
        if message is None or message.deleted:
            if reply.get("allow_sending_without_reply"):
                return None
            raise bad("message to be replied not found")
        return message

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

    def _deliver(
        self,
        chat: ChatState,
        params: JSON,
        content: JSON,
        markup: Markup,
        *,
        html: str | None,
        file: FileRecord | None = None,
    ) -> ChatMessage:
        """Store a bot message and show it to the people in the chat."""
        thread_id = self._thread(chat, params.get("message_thread_id"))
        reply_to = self._reply_to(chat, params)
        inline, keyboard, removes = markup
        message = self._store(
            chat,
            sender=self.bot_user,
            content=content,
            thread_id=thread_id,
            reply_to=reply_to,
            inline=inline,
            file=file,
        )
        message.html = html
        self._set_buttons(message, inline)
        if keyboard is not None:
            message.reply_keyboard = _labels(keyboard["keyboard"])
            message.keyboard_markup = keyboard
            chat.reply_keyboard = message
        elif removes:
            chat.reply_keyboard = None
        chat.bot_messages.append(message)
        self.delivered[chat.id] += 1
        self.changed.notify_all()
        return message

    @staticmethod
    def _set_buttons(message: ChatMessage, inline: JSON | None) -> None:
        rows = inline["inline_keyboard"] if inline is not None else []
        message.buttons = _labels(rows)
        message.callback_data = [[button.get("callback_data") for button in row] for row in rows]

    @staticmethod
    def _entities_content(parsed: ParsedText, text_key: str, entities_key: str) -> JSON:
        content: JSON = {text_key: parsed.text}
        if parsed.entities:
            content[entities_key] = parsed.entities
        return content

    def _member(self, chat: ChatState, user: JSON, status: str) -> JSON:
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

    # --- Bot API methods --------------------------------------------------------------------------

    def get_me(self, _params: JSON) -> JSON:
        return {
            **self.bot_user,
            "can_join_groups": True,
            "can_read_all_group_messages": not self.privacy_mode,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    def log_out(self, _params: JSON) -> bool:
        return True

    def set_webhook(self, params: JSON) -> bool:
        url = params["url"]
        if params.get("drop_pending_updates"):
            self.updates.clear()
        if not url:
            self.webhook = None
            return True
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise refuse("bad webhook: An HTTPS URL must be provided for webhook")
        if parts.hostname not in _LOOPBACK:
            raise refuse("the sandbox delivers webhooks only to 127.0.0.1 or localhost")
        secret = params.get("secret_token")
        if secret is not None and not _SECRET.match(secret):
            raise refuse("bad webhook: secret token contains unallowed characters")
        allowed = params.get("allowed_updates")
        if allowed is not None:
            self._set_allowed(allowed)
        self.webhook = Webhook(url, secret, params.get("max_connections", 40), allowed)
        self.on_update()
        return True

    def delete_webhook(self, params: JSON) -> bool:
        if params.get("drop_pending_updates"):
            self.updates.clear()
        self.webhook = None
        return True

    def get_webhook_info(self, _params: JSON) -> JSON:
        webhook = self.webhook
        info: JSON = {"url": "", "has_custom_certificate": False, "pending_update_count": len(self.updates)}
        if webhook is not None:
            info["url"] = webhook.url
            info["max_connections"] = webhook.max_connections
            _with_optional(
                info,
                allowed_updates=webhook.allowed_updates,
                last_error_date=webhook.last_error_date,
                last_error_message=webhook.last_error_message,
            )
        return info

    def _set_allowed(self, allowed: list[str]) -> None:
        unknown = sorted(set(allowed) - self.spec.update_types)
        if unknown:
            raise refuse(f"unknown update types in allowed_updates: {', '.join(unknown)}")
        self.allowed_updates = frozenset(allowed) if allowed else self.spec.update_types - DEFAULT_EXCLUDED_UPDATES

    def get_updates(self, params: JSON) -> list[JSON]:
        if self.webhook is not None:
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        if "allowed_updates" in params:
            self._set_allowed(params["allowed_updates"])
        return self.take_updates(params.get("offset"), self.poll_limit(params))

    @staticmethod
    def poll_limit(params: JSON) -> int:
        return min(max(int(params.get("limit", 100)), 1), 100)

    def send_message(self, params: JSON) -> JSON:
        parsed = self._text(params, "text", "entities", TEXT_LIMIT)
        markup = self._markup(params)
        chat = self._writable_chat(params["chat_id"])
        content = self._entities_content(parsed, "text", "entities")
        return self._deliver(chat, params, content, markup, html=params["text"]).raw

    def _caption(self, params: JSON) -> tuple[JSON, str | None]:
        if "caption" not in params:
            return {}, None
        parsed = self._text(params, "caption", "caption_entities", CAPTION_LIMIT)
        if not parsed.text:
            return {}, params["caption"]
        return self._entities_content(parsed, "caption", "caption_entities"), params["caption"]

    def _input_file(self, value: UploadedFile | str, kind: str, params: JSON) -> FileRecord:
        if isinstance(value, UploadedFile):
            meta: JSON = {}
            if kind in ("voice", "audio", "video"):
                meta["duration"] = params.get("duration", 1)
            if kind == "video":
                meta.update(width=params.get("width", 640), height=params.get("height", 360))
            if kind == "audio":
                _with_optional(meta, title=params.get("title"), performer=params.get("performer"))
            if kind == "photo":
                _check_photo(value.data)
            name = value.filename if kind in ("document", "audio", "video") else None
            mime = value.content_type if kind != "photo" else None
            return self.new_file(kind, value.data, file_name=name, mime_type=mime, meta=meta)
        if value.startswith(("http://", "https://")):
            raise refuse("the sandbox does not download files from URLs; upload the file or use a file_id")
        record = self.files.get(value)
        if record is None:
            raise bad("wrong file identifier/HTTP URL specified")
        if record.kind != kind:
            raise refuse(f"can't use file of type {record.kind.capitalize()} as {kind.capitalize()}")
        return record

    def send_media(self, params: JSON, kind: str) -> JSON:
        caption, html = self._caption(params)
        markup = self._markup(params)
        chat = self._writable_chat(params["chat_id"])
        record = self._input_file(params[kind], kind, params)
        content = {**record.content(), **caption}
        return self._deliver(chat, params, content, markup, html=html, file=record).raw

    def _source(self, params: JSON, missing: str) -> ChatMessage:
        source_chat = self._chat(params["from_chat_id"])
        message = self._message(source_chat, params["message_id"], missing)
        if not any(key in message.raw for key in CONTENT_KEYS):
            raise bad("the message can't be copied")
        if message.raw.get("has_protected_content"):
            raise bad("message has protected content and can't be forwarded")
        return message

    def copy_message(self, params: JSON) -> JSON:
        markup = self._markup(params)
        source = self._source(params, "message to copy not found")
        content = {key: source.raw[key] for key in CONTENT_KEYS if key in source.raw}
        html = source.html
        if "caption" in params:
            if "text" in content:
                raise refuse("caption can't be set when copying a text message")
            content.pop("caption", None)
            content.pop("caption_entities", None)
            extra, html = self._caption(params)
            content.update(extra)
        chat = self._writable_chat(params["chat_id"])
        message = self._deliver(chat, params, content, markup, html=html, file=source.file)
        return {"message_id": message.message_id}

    def forward_message(self, params: JSON) -> JSON:
        source = self._source(params, "message to forward not found")
        content: JSON = {key: source.raw[key] for key in CONTENT_KEYS if key in source.raw}
        content["forward_origin"] = {"type": "user", "sender_user": source.raw["from"], "date": source.date}
        chat = self._writable_chat(params["chat_id"])
        if params.get("protect_content"):
            content["has_protected_content"] = True
        return self._deliver(chat, params, content, (None, None, False), html=source.html, file=source.file).raw

    def _editable(self, params: JSON) -> tuple[ChatState, ChatMessage]:
        if "inline_message_id" in params:
            raise refuse("the sandbox does not implement inline messages")
        if "chat_id" not in params or "message_id" not in params:
            raise refuse("chat_id and message_id are required to edit a message")
        chat = self._writable_chat(params["chat_id"])
        message = self._message(chat, params["message_id"], "message to edit not found")
        if not message.from_bot:
            raise bad("message can't be edited")
        return chat, message

    def _apply_edit(self, message: ChatMessage, raw: JSON, inline: JSON | None) -> JSON:
        raw.pop("reply_markup", None)
        if inline is not None:
            raw["reply_markup"] = inline
        raw["edit_date"] = self.now()
        message.raw = raw
        self._set_buttons(message, inline)
        message.edits += 1
        self.changed.notify_all()
        return raw

    def edit_message_text(self, params: JSON) -> JSON:
        parsed = self._text(params, "text", "entities", TEXT_LIMIT)
        _chat, message = self._editable(params)
        if "text" not in message.raw:
            raise bad("there is no text in the message to edit")
        inline, _keyboard, _removes = self._markup(params)
        if "reply_markup" in params and inline is None:
            raise refuse("only an inline keyboard can be set when editing a message")
        content = self._entities_content(parsed, "text", "entities")
        unchanged = (
            message.raw["text"] == parsed.text
            and message.raw.get("entities", []) == parsed.entities
            and message.raw.get("reply_markup") == inline
        )
        if unchanged:
            raise bad(NOT_MODIFIED)
        raw = {key: value for key, value in message.raw.items() if key not in ("text", "entities")}
        raw.update(content)
        message.text = parsed.text
        message.html = params["text"]
        return self._apply_edit(message, raw, inline)

    def edit_message_reply_markup(self, params: JSON) -> JSON:
        _chat, message = self._editable(params)
        inline, _keyboard, _removes = self._markup(params)
        if "reply_markup" in params and inline is None:
            raise refuse("only an inline keyboard can be set when editing a message")
        if message.raw.get("reply_markup") == inline:
            raise bad(NOT_MODIFIED)
        return self._apply_edit(message, dict(message.raw), inline)

    def delete_message(self, params: JSON) -> bool:
        chat = self._chat(params["chat_id"])
        message = self._message(chat, params["message_id"], "message to delete not found")
        if chat.type != "private" and not message.from_bot and chat.bot_status != "administrator":
            raise bad("message can't be deleted")
        message.deleted = True
        self.changed.notify_all()
        return True

    def answer_callback_query(self, params: JSON) -> bool:
        text = params.get("text", "")
        if len(text) > CALLBACK_ANSWER_LIMIT:
            raise refuse(f"MESSAGE_TOO_LONG: a callback answer is at most 200 characters, got {len(text)}")
        url = params.get("url")
        if url is not None and not url.startswith(("https://t.me/", "t.me/", "tg://")):
            raise refuse("URL_INVALID: only t.me links to the bot or game URLs are allowed")
        query = self.queries.get(params["callback_query_id"])
        if query is None or query.answered:
            raise bad(QUERY_TOO_OLD)
        query.answered = True
        answer = CallbackAnswer(text, bool(params.get("show_alert")), url)
        self.answers.setdefault(query.user_id, []).append(answer)
        self.changed.notify_all()
        return True

    def send_chat_action(self, params: JSON) -> bool:
        if params["action"] not in CHAT_ACTIONS:
            raise refuse("wrong parameter action in request")
        chat = self._writable_chat(params["chat_id"])
        self._thread(chat, params.get("message_thread_id"))
        return True

    def _commands_key(self, params: JSON) -> tuple[str, str]:
        language = params.get("language_code", "")
        if language and not _LANGUAGE.match(language):
            raise refuse(f"invalid language_code {language!r}: use a two-letter ISO 639-1 code")
        scope = params.get("scope")
        if scope is not None and "chat_id" in scope:
            self._chat(scope["chat_id"])
        return _scope_key(scope), language

    def set_my_commands(self, params: JSON) -> bool:
        commands = params["commands"]
        if len(commands) > 100:
            raise refuse("too many commands: at most 100")
        for command in commands:
            if not _BOT_COMMAND.match(command["command"]):
                raise refuse(f"BOT_COMMAND_INVALID: {command['command']!r} (1-32 of a-z, 0-9 and _)")
            if not 1 <= len(command["description"]) <= 256:
                raise refuse(f"BOT_COMMAND_DESCRIPTION_INVALID for {command['command']!r} (1-256 characters)")
        key = self._commands_key(params)
        if commands:
            self.commands[key] = commands
        else:
            self.commands.pop(key, None)
        return True

    def get_my_commands(self, params: JSON) -> list[JSON]:
        return list(self.commands.get(self._commands_key(params), []))

    def delete_my_commands(self, params: JSON) -> bool:
        self.commands.pop(self._commands_key(params), None)
        return True

    def set_chat_menu_button(self, params: JSON) -> bool:
        chat_id = params.get("chat_id")
        if chat_id is not None and self._chat(chat_id).type != "private":
            raise bad("chat not found")
        self.menu_buttons[chat_id] = params.get("menu_button", {"type": "default"})
        return True

    def get_file(self, params: JSON) -> JSON:
        record = self.files.get(params["file_id"])
        if record is None:
            raise bad("invalid file_id")
        if len(record.data) > _FILE_LIMIT:
            raise bad("file is too big")
        return {
            "file_id": params["file_id"],
            "file_unique_id": record.file_unique_id,
            "file_size": len(record.data),
            "file_path": record.path,
        }

    def get_chat(self, params: JSON) -> JSON:
        chat = self._chat(params["chat_id"])
        gifts = {
            "unlimited_gifts": False,
            "limited_gifts": False,
            "unique_gifts": False,
            "premium_subscription": False,
            "gifts_from_channels": False,
        }
        return {**chat.info, "accent_color_id": 0, "max_reaction_count": 11, "accepted_gift_types": gifts}

    def get_chat_member(self, params: JSON) -> JSON:
        chat = self._chat(params["chat_id"])
        user_id = params["user_id"]
        if user_id == self.bot_user["id"]:
            return self._member(chat, self.bot_user, chat.bot_status)
        user = self.users.get(user_id)
        if user is None:
            raise bad("user not found")
        if chat.type == "private":
            if user_id != chat.id:
                raise bad("user not found")
            return self._member(chat, user, "member")
        return self._member(chat, user, chat.members.get(user_id, "left"))

    def _forum(self, params: JSON) -> ChatState:
        chat = self._writable_chat(params["chat_id"])
        if not chat.is_forum:
            raise bad("the chat is not a forum")
        if chat.bot_status != "administrator":
            raise bad("not enough rights to manage topics")
        return chat

    def _topic(self, chat: ChatState, thread_id: int) -> Topic:
        topic = chat.topics.get(thread_id)
        if topic is None or topic.deleted:
            raise bad("message thread not found")
        return topic

    def _topic_notice(self, chat: ChatState, topic: Topic, content: JSON) -> None:
        self._store(chat, sender=self.bot_user, content=content, thread_id=topic.thread_id)

    def create_forum_topic(self, params: JSON) -> JSON:
        name = params["name"]
        if not 1 <= len(name) <= 128:
            raise refuse("TOPIC_NAME_INVALID: a topic name is 1-128 characters")
        color = params.get("icon_color", 7322096)
        if color not in TOPIC_COLORS:
            raise refuse(f"TOPIC_ICON_COLOR_INVALID: {color} is not one of {sorted(TOPIC_COLORS)}")
        chat = self._forum(params)
        topic = self.add_topic(chat, name, color, params.get("icon_custom_emoji_id"), self.bot_user)
        return _with_optional(
            {"message_thread_id": topic.thread_id, "name": topic.name, "icon_color": topic.icon_color},
            icon_custom_emoji_id=topic.icon_custom_emoji_id,
        )

    def add_topic(self, chat: ChatState, name: str, color: int, emoji: str | None, creator: JSON) -> Topic:
        # A topic's id is the id of the service message that opened it.
        topic = Topic(chat.next_message_id, name, color, emoji)
        chat.topics[topic.thread_id] = topic
        created = _with_optional({"name": name, "icon_color": color}, icon_custom_emoji_id=emoji)
        message = self._store(chat, sender=creator, content={"forum_topic_created": created}, thread_id=topic.thread_id)
        if creator is not self.bot_user:
            self.queue_update("message", message.raw)
        return topic

    def edit_forum_topic(self, params: JSON) -> bool:
        chat = self._forum(params)
        topic = self._topic(chat, params["message_thread_id"])
        name = params.get("name", topic.name)
        emoji = params.get("icon_custom_emoji_id", topic.icon_custom_emoji_id)
        if not 1 <= len(name) <= 128:
            raise refuse("TOPIC_NAME_INVALID: a topic name is 1-128 characters")
        if name == topic.name and emoji == topic.icon_custom_emoji_id:
            raise bad("TOPIC_NOT_MODIFIED")
        topic.name, topic.icon_custom_emoji_id = name, emoji
        edited = _with_optional({"name": name}, icon_custom_emoji_id=emoji)
        self._topic_notice(chat, topic, {"forum_topic_edited": edited})
        return True

    def set_topic_closed(self, params: JSON, *, closed: bool) -> bool:
        chat = self._forum(params)
        topic = self._topic(chat, params["message_thread_id"])
        if topic.closed == closed:
            raise bad("TOPIC_NOT_MODIFIED")
        topic.closed = closed
        self._topic_notice(chat, topic, {"forum_topic_closed" if closed else "forum_topic_reopened": {}})
        return True

    def delete_forum_topic(self, params: JSON) -> bool:
        chat = self._forum(params)
        self.remove_topic(chat, self._topic(chat, params["message_thread_id"]))
        return True

    def remove_topic(self, chat: ChatState, topic: Topic) -> None:
        topic.deleted = True
        for message in chat.messages.values():
            if message.thread_id == topic.thread_id:
                message.deleted = True
        self.changed.notify_all()

    def leave_chat(self, params: JSON) -> bool:
        chat = self._chat(params["chat_id"])
        if chat.type == "private":
            raise bad("chat member status can't be changed in private chats")
        if chat.bot_status in ("left", "kicked"):
            raise ApiError(403, f"Forbidden: bot is not a member of the {chat.type} chat")
        self.set_bot_status(chat, "left", self.bot_user)
        return True
