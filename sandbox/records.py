"""The records the simulated Telegram keeps (messages, chats, topics, files, webhooks) and its API errors.

Records handed out to tests (`ChatMessage`) are only ever changed by replacing attributes under
`World.lock`, so a test can read them without locking.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

JSON = dict[str, Any]


class ApiError(Exception):
    """A Bot API error answer. `refusal`: Telegram refuses the request as such (not the moment)."""

    def __init__(self, status: int, description: str, *, parameters: JSON | None = None, refusal: bool = False) -> None:
        """An error answer with its HTTP status, Telegram's description and optional parameters."""
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
        """The message fields that carry the file (a photo comes in two sizes)."""
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
        """When the message was sent, as Unix time."""
        return int(self.raw["date"])

    @property
    def entities(self) -> list[JSON]:
        """The message's formatting entities, of its text or of its caption."""
        return list(self.raw.get("entities") or self.raw.get("caption_entities") or [])

    @property
    def media_kind(self) -> str | None:
        """What kind of media the message carries (photo, voice, document, ...), or None for text."""
        for key in ("photo", "voice", "audio", "video", "document", "sticker", "location", "contact"):
            if key in self.raw:
                return key
        return None

    @property
    def document_name(self) -> str | None:
        """The file name of a document message, or None."""
        return self.file.file_name if self.file is not None and self.file.kind == "document" else None

    @property
    def document_bytes(self) -> bytes | None:
        """The contents of a document message, or None."""
        return self.file.data if self.file is not None and self.file.kind == "document" else None

    def __repr__(self) -> str:
        """A short form for test failures: where, whether deleted, what is shown, the buttons."""
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


def with_optional(base: JSON, **optional: Any) -> JSON:
    """Telegram omits absent optional fields instead of sending null; so do we."""
    base.update({key: value for key, value in optional.items() if value is not None})
    return base
