"""The Bot API methods about the bot and its chats: getMe, webhooks and getUpdates, commands, getChat,
chat members, forum topics and leaving a chat.

`ChatApi` adds them to `sandbox.state.WorldState`; `sandbox.world.World` adds the message methods.
Every method assumes the caller holds `lock`.
"""

from __future__ import annotations

import json
import re
from urllib.parse import urlsplit

from sandbox.records import (
    JSON,
    ApiError,
    ChatState,
    Topic,
    Webhook,
    bad,
    refuse,
    with_optional,
)
from sandbox.state import DEFAULT_EXCLUDED_UPDATES, WorldState

TOPIC_COLORS = frozenset({7322096, 16766590, 13338331, 9367192, 16749490, 16478047})
_BOT_COMMAND = re.compile(r"^[a-z0-9_]{1,32}$")
_LANGUAGE = re.compile(r"^[a-z]{2}$")
_SECRET = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
_LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})


def _scope_key(scope: JSON | None) -> str:
    """A command scope as a key for the commands table (the default scope when none is given)."""
    return json.dumps(scope or {"type": "default"}, sort_keys=True)


class ChatApi(WorldState):
    """The simulated Telegram's answers about the bot itself, its chats and their topics."""

    def get_me(self, _params: JSON) -> JSON:
        """getMe: the bot's User object with what it can do."""
        return {
            **self.bot_user,
            "can_join_groups": True,
            "can_read_all_group_messages": not self.privacy_mode,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    def log_out(self, _params: JSON) -> bool:
        """logOut and close: nothing to do in the sandbox."""
        return True

    def set_webhook(self, params: JSON) -> bool:
        """setWebhook: deliver updates to a local URL from now on (an empty URL removes the webhook)."""
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
        """deleteWebhook: back to getUpdates (dropping the queued updates, if asked)."""
        if params.get("drop_pending_updates"):
            self.updates.clear()
        self.webhook = None
        return True

    def get_webhook_info(self, _params: JSON) -> JSON:
        """getWebhookInfo: the URL, the queued updates and the last delivery error."""
        webhook = self.webhook
        info: JSON = {"url": "", "has_custom_certificate": False, "pending_update_count": len(self.updates)}
        if webhook is not None:
            info["url"] = webhook.url
            info["max_connections"] = webhook.max_connections
            with_optional(
                info,
                allowed_updates=webhook.allowed_updates,
                last_error_date=webhook.last_error_date,
                last_error_message=webhook.last_error_message,
            )
        return info

    def _set_allowed(self, allowed: list[str]) -> None:
        """Set the update kinds the bot wants (an empty list: Telegram's default); unknown kinds are refused."""
        unknown = sorted(set(allowed) - self.spec.update_types)
        if unknown:
            raise refuse(f"unknown update types in allowed_updates: {', '.join(unknown)}")
        self.allowed_updates = frozenset(allowed) if allowed else self.spec.update_types - DEFAULT_EXCLUDED_UPDATES

    def get_updates(self, params: JSON) -> list[JSON]:
        """getUpdates without waiting: confirm up to `offset` and hand out what is queued (409 with a webhook)."""
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
        """How many updates one getUpdates may return: `limit`, between 1 and 100."""
        return min(max(int(params.get("limit", 100)), 1), 100)

    def _commands_key(self, params: JSON) -> tuple[str, str]:
        """The key of a command list: its scope and language (a valid two-letter code or none)."""
        language = params.get("language_code", "")
        if language and not _LANGUAGE.match(language):
            raise refuse(f"invalid language_code {language!r}: use a two-letter ISO 639-1 code")
        scope = params.get("scope")
        if scope is not None and "chat_id" in scope:
            self._chat(scope["chat_id"])
        return _scope_key(scope), language

    def set_my_commands(self, params: JSON) -> bool:
        """setMyCommands: the bot's command list for a scope and language, checked as Telegram does."""
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
        """getMyCommands: the command list set for a scope and language."""
        return list(self.commands.get(self._commands_key(params), []))

    def delete_my_commands(self, params: JSON) -> bool:
        """deleteMyCommands: forget the command list of a scope and language."""
        self.commands.pop(self._commands_key(params), None)
        return True

    def set_chat_menu_button(self, params: JSON) -> bool:
        """setChatMenuButton: the menu button of a private chat, or the default for all."""
        chat_id = params.get("chat_id")
        if chat_id is not None and self._chat(chat_id).type != "private":
            raise bad("chat not found")
        self.menu_buttons[chat_id] = params.get("menu_button", {"type": "default"})
        return True

    def get_chat(self, params: JSON) -> JSON:
        """getChat: a ChatFullInfo of a chat the bot is in."""
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
        """getChatMember: the bot's or a person's membership of a chat."""
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
        """The forum chat a topic call names; an error if it is no forum or the bot may not manage topics."""
        chat = self._writable_chat(params["chat_id"])
        if not chat.is_forum:
            raise bad("the chat is not a forum")
        if chat.bot_status != "administrator":
            raise bad("not enough rights to manage topics")
        return chat

    def _topic(self, chat: ChatState, thread_id: int) -> Topic:
        """A topic of the chat that still exists; an error otherwise."""
        topic = chat.topics.get(thread_id)
        if topic is None or topic.deleted:
            raise bad("message thread not found")
        return topic

    def _topic_notice(self, chat: ChatState, topic: Topic, content: JSON) -> None:
        """The service message a change to a topic leaves in it."""
        self._store(chat, sender=self.bot_user, content=content, thread_id=topic.thread_id)

    def create_forum_topic(self, params: JSON) -> JSON:
        """createForumTopic: a new topic with a checked name and colour; its ForumTopic object."""
        name = params["name"]
        if not 1 <= len(name) <= 128:
            raise refuse("TOPIC_NAME_INVALID: a topic name is 1-128 characters")
        color = params.get("icon_color", 7322096)
        if color not in TOPIC_COLORS:
            raise refuse(f"TOPIC_ICON_COLOR_INVALID: {color} is not one of {sorted(TOPIC_COLORS)}")
        chat = self._forum(params)
        topic = self.add_topic(chat, name, color, params.get("icon_custom_emoji_id"), self.bot_user)
        return with_optional(
            {"message_thread_id": topic.thread_id, "name": topic.name, "icon_color": topic.icon_color},
            icon_custom_emoji_id=topic.icon_custom_emoji_id,
        )

    def add_topic(self, chat: ChatState, name: str, color: int, emoji: str | None, creator: JSON) -> Topic:
        """Open a topic in a forum, with the service message and its update (also for a person's topic)."""
        # A topic's id is the id of the service message that opened it.
        topic = Topic(chat.next_message_id, name, color, emoji)
        chat.topics[topic.thread_id] = topic
        created = with_optional({"name": name, "icon_color": color}, icon_custom_emoji_id=emoji)
        message = self._store(chat, sender=creator, content={"forum_topic_created": created}, thread_id=topic.thread_id)
        if creator is not self.bot_user:
            self.queue_update("message", message.raw)
        return topic

    def edit_forum_topic(self, params: JSON) -> bool:
        """editForumTopic: a new name or icon for a topic (not-modified when nothing changes)."""
        chat = self._forum(params)
        topic = self._topic(chat, params["message_thread_id"])
        name = params.get("name", topic.name)
        emoji = params.get("icon_custom_emoji_id", topic.icon_custom_emoji_id)
        if not 1 <= len(name) <= 128:
            raise refuse("TOPIC_NAME_INVALID: a topic name is 1-128 characters")
        if name == topic.name and emoji == topic.icon_custom_emoji_id:
            raise bad("TOPIC_NOT_MODIFIED")
        topic.name, topic.icon_custom_emoji_id = name, emoji
        edited = with_optional({"name": name}, icon_custom_emoji_id=emoji)
        self._topic_notice(chat, topic, {"forum_topic_edited": edited})
        return True

    def set_topic_closed(self, params: JSON, *, closed: bool) -> bool:
        """closeForumTopic and reopenForumTopic (not-modified when it already is)."""
        chat = self._forum(params)
        topic = self._topic(chat, params["message_thread_id"])
        if topic.closed == closed:
            raise bad("TOPIC_NOT_MODIFIED")
        topic.closed = closed
        self._topic_notice(chat, topic, {"forum_topic_closed" if closed else "forum_topic_reopened": {}})
        return True

    def delete_forum_topic(self, params: JSON) -> bool:
        """deleteForumTopic: the topic and its messages go."""
        chat = self._forum(params)
        self.remove_topic(chat, self._topic(chat, params["message_thread_id"]))
        return True

    def remove_topic(self, chat: ChatState, topic: Topic) -> None:
        """Mark a topic and every message in it deleted."""
        topic.deleted = True
        for message in chat.messages.values():
            if message.thread_id == topic.thread_id:
                message.deleted = True
        self.changed.notify_all()

    def leave_chat(self, params: JSON) -> bool:
        """leaveChat: the bot leaves a group, with the my_chat_member update."""
        chat = self._chat(params["chat_id"])
        if chat.type == "private":
            raise bad("chat member status can't be changed in private chats")
        if chat.bot_status in ("left", "kicked"):
            raise ApiError(403, f"Forbidden: bot is not a member of the {chat.type} chat")
        self.set_bot_status(chat, "left", self.bot_user)
        return True
