"""The simulated Telegram's message methods (send, copy, forward, edit, delete, callbacks, files).

`World` is `sandbox.chat_api.ChatApi` (the state in `sandbox.state`, the bot's and chats' methods) with
the message methods and `handlers`, the table the server dispatches API calls through. No HTTP here;
every method assumes the caller holds `lock`.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cached_property
from typing import Any
from urllib.parse import urlsplit

from sandbox.chat_api import ChatApi
from sandbox.entities import EntityParseError, ParsedText
from sandbox.formatting import parse
from sandbox.records import (
    JSON,
    CallbackAnswer,
    ChatMessage,
    ChatState,
    FileRecord,
    Markup,
    bad,
    refuse,
    with_optional,
)
from sandbox.spec import UploadedFile
from sandbox.state import CONTENT_KEYS

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
_FILE_LIMIT = 20 * 1024 * 1024
INLINE_BUTTON_NEUTRAL = frozenset({"text", "icon_custom_emoji_id", "style"})
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


def _labels(rows: list[list[JSON]]) -> list[list[str]]:
    """The labels of a keyboard's buttons, row by row, as a test reads them."""
    return [[str(button["text"]) for button in row] for row in rows]


class World(ChatApi):
    """The simulated Telegram as the bot sees it: `ChatApi` plus the message methods."""

    @cached_property
    def handlers(self) -> dict[str, Callable[[JSON], Any]]:
        """The Bot API methods by lower-case name, as the server dispatches to them."""
        return {
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

    def _message(self, chat: ChatState, message_id: int, missing: str) -> ChatMessage:
        """A message of the chat that was not deleted; the given error otherwise."""
        message = chat.messages.get(message_id)
        if message is None or message.deleted:
            raise bad(missing)
        return message

    def _text(self, params: JSON, key: str, entities_key: str, limit: int) -> ParsedText:
        """A text or caption parameter parsed with its parse_mode or entities, checked for length and emptiness."""
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
        """Refuse an inline button Telegram refuses: no text, no action, or more than one action."""
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
        """The message `reply_parameters` names (in this chat or another), or None; an error if it is gone."""
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
        """Give a message the labels and callback data of its inline keyboard, as tests read them."""
        rows = inline["inline_keyboard"] if inline is not None else []
        message.buttons = _labels(rows)
        message.callback_data = [[button.get("callback_data") for button in row] for row in rows]

    @staticmethod
    def _entities_content(parsed: ParsedText, text_key: str, entities_key: str) -> JSON:
        """The message fields for parsed text: the text and, if any, its entities."""
        content: JSON = {text_key: parsed.text}
        if parsed.entities:
            content[entities_key] = parsed.entities
        return content

    def send_message(self, params: JSON) -> JSON:
        """sendMessage: a text message to a chat, with its keyboard."""
        parsed = self._text(params, "text", "entities", TEXT_LIMIT)
        markup = self._markup(params)
        chat = self._writable_chat(params["chat_id"])
        content = self._entities_content(parsed, "text", "entities")
        return self._deliver(chat, params, content, markup, html=params["text"]).raw

    def _caption(self, params: JSON) -> tuple[JSON, str | None]:
        """The caption fields of a media message and its HTML source ({} and None without a caption)."""
        if "caption" not in params:
            return {}, None
        parsed = self._text(params, "caption", "caption_entities", CAPTION_LIMIT)
        if not parsed.text:
            return {}, params["caption"]
        return self._entities_content(parsed, "caption", "caption_entities"), params["caption"]

    def _input_file(self, value: UploadedFile | str, kind: str, params: JSON) -> FileRecord:
        """The file a send call names: a new upload (photos checked as Telegram does) or a known file id."""
        if isinstance(value, UploadedFile):
            meta: JSON = {}
            if kind in ("voice", "audio", "video"):
                meta["duration"] = params.get("duration", 1)
            if kind == "video":
                meta.update(width=params.get("width", 640), height=params.get("height", 360))
            if kind == "audio":
                with_optional(meta, title=params.get("title"), performer=params.get("performer"))
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
        """sendDocument, sendPhoto, sendVoice, sendAudio and sendVideo: a file with an optional caption."""
        caption, html = self._caption(params)
        markup = self._markup(params)
        chat = self._writable_chat(params["chat_id"])
        record = self._input_file(params[kind], kind, params)
        content = {**record.content(), **caption}
        return self._deliver(chat, params, content, markup, html=html, file=record).raw

    def _source(self, params: JSON, missing: str) -> ChatMessage:
        """The message a copy or forward names; an error if it is gone or has nothing to copy."""
        source_chat = self._chat(params["from_chat_id"])
        message = self._message(source_chat, params["message_id"], missing)
        if not any(key in message.raw for key in CONTENT_KEYS):
            raise bad("the message can't be copied")
        if message.raw.get("has_protected_content"):
            raise bad("message has protected content and can't be forwarded")
        return message

    def copy_message(self, params: JSON) -> JSON:
        """copyMessage: the same content sent anew by the bot, without a link to the original."""
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
        """forwardMessage: the message sent on, showing who wrote it."""
        source = self._source(params, "message to forward not found")
        content: JSON = {key: source.raw[key] for key in CONTENT_KEYS if key in source.raw}
        content["forward_origin"] = {"type": "user", "sender_user": source.raw["from"], "date": source.date}
        chat = self._writable_chat(params["chat_id"])
        if params.get("protect_content"):
            content["has_protected_content"] = True
        return self._deliver(chat, params, content, (None, None, False), html=source.html, file=source.file).raw

    def _editable(self, params: JSON) -> tuple[ChatState, ChatMessage]:
        """The chat and message an edit call names; refused for inline messages, an error if it is gone."""
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
        """Replace a message's fields and keyboard after an edit; the edited Message object."""
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
        """editMessageText: new text (and keyboard) for a text message; not-modified when nothing changes."""
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
        """editMessageReplyMarkup: a new inline keyboard (or none); not-modified when nothing changes."""
        _chat, message = self._editable(params)
        inline, _keyboard, _removes = self._markup(params)
        if "reply_markup" in params and inline is None:
            raise refuse("only an inline keyboard can be set when editing a message")
        if message.raw.get("reply_markup") == inline:
            raise bad(NOT_MODIFIED)
        return self._apply_edit(message, dict(message.raw), inline)

    def delete_message(self, params: JSON) -> bool:
        """deleteMessage: in a group only the bot's own messages, unless it administers the group."""
        chat = self._chat(params["chat_id"])
        message = self._message(chat, params["message_id"], "message to delete not found")
        if chat.type != "private" and not message.from_bot and chat.bot_status != "administrator":
            raise bad("message can't be deleted")
        message.deleted = True
        self.changed.notify_all()
        return True

    def answer_callback_query(self, params: JSON) -> bool:
        """answerCallbackQuery: the pop-up or alert for a pressed button, once, while the query is fresh."""
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
        """sendChatAction: "typing" and the like (only checked, nothing is shown)."""
        if params["action"] not in CHAT_ACTIONS:
            raise refuse("wrong parameter action in request")
        chat = self._writable_chat(params["chat_id"])
        self._thread(chat, params.get("message_thread_id"))
        return True

    def get_file(self, params: JSON) -> JSON:
        """getFile: the download path of a known file of at most 20 MB."""
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
