"""The sender's side of the family topics: forum topics created when first needed, and relay links once sent.

An outbox row aimed at a family's topic (`services.outbox.TOPIC_KEY`) gets its real chat and thread here, at
send time; a row that carries `RELAY_KEY` leaves a RelayLink once sent, so a reply to it finds its way.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import datetime, timedelta
from typing import Any

from telegram import Bot
from telegram.error import BadRequest

from services.concerns import family_context, group_id, topic_language
from services.context import Services
from services.i18n import _, use_language
from services.logs import event
from services.outbox import RELAY_KEY, REPORT_KEY, TOPIC_KEY, Outgoing, ToTopic, enqueue
from storage import care, people
from storage.db import Session
from storage.models import OutboxMessage

logger = logging.getLogger(__name__)


def thread_missing(error: BadRequest) -> bool:
    """Telegram says the topic a message went to is gone."""
    text = error.message.lower()
    return "thread not found" in text or "topic_deleted" in text or "topic deleted" in text or "topic_closed" in text


def in_chat(result: Any, chat_id: int) -> Any:
    """A send's result with the chat it went to: copyMessage answers only a message id, and `after_sent` needs both."""
    if isinstance(result, dict) and "chat" not in result:
        return {**result, "chat": {"id": chat_id}}
    return result


class TopicResolver:
    """Turns outbox rows aimed at "the family's topic" into real chat and thread ids, at send time.

    A row with `family_topic` goes to the coordinators' group (its current id, also after a migration)
    in that family's forum topic. The topic is created with createForumTopic when missing and created
    again when Telegram says the thread no longer exists. A group without topics gets the message without
    a thread. Rows with `waakvlam_relay` leave a RelayLink once sent, so a reply to them finds its way.
    """

    NOT_FORUM_RECHECK = 600.0

    def __init__(self, services: Services) -> None:
        """A resolver with a lock per family's topic and a memory of groups that turned out to have no topics."""
        self.services = services
        self._locks: dict[int, asyncio.Lock] = {}
        self._not_forum: dict[int, float] = {}

    @staticmethod
    def handles(row: OutboxMessage) -> bool:
        """Whether a row needs this resolver (a topic to find, or a link or report to keep)."""
        return TOPIC_KEY in row.payload or RELAY_KEY in row.payload or REPORT_KEY in row.payload

    @staticmethod
    def _thread(session: Session, family_id: int, group: int) -> int | None:
        """The family's known thread in this group."""
        topic = care.get_topic(session=session, family_id=family_id)
        return topic.thread_id if topic is not None and topic.chat_id == group else None

    def _topic_name(self, family_id: int) -> tuple[str, str]:
        """The new topic's name ('Hanna · Westwijk') and the language the group reads."""
        with self.services.db.session() as session:
            family = people.get_person(session=session, person_id=family_id)
            profile = people.get_family(session=session, person_id=family_id)
            area = people.get_area(session=session, area_id=profile.area_id) if profile and profile.area_id else None
            language = topic_language(session, family)
        name = (family.display_name if family and family.display_name else f"#{family_id}")[:64]
        return (f"{name} · {area.name}" if area else name)[:128], language

    def _opened(self, family_id: int, group: int, thread: int, language: str) -> None:
        """Remember a new topic and post the family's context as its first line."""
        now = self.services.clock.now()
        with self.services.db.session() as session:
            care.save_topic(session=session, family_id=family_id, chat_id=group, thread_id=thread)
            family = people.get_person(session=session, person_id=family_id)
            if family is None or family.consent_at is None:
                return
            with use_language(language):
                header = (
                    family_context(session, family, language)
                    + "\n\n"
                    + _("This topic holds the family's timeline. Whatever you write here goes to the family.")
                )
                # Right after the message that opened the topic, before anything else waiting for it.
                message = Outgoing(text=header, purpose="topic", not_before=now - timedelta(seconds=1))
                key = f"topic:header:{family_id}:{thread}"
                enqueue(session=session, to=ToTopic(group, family_id), message=message, key=key, now=now)
            people.add_timeline(session=session, family_id=family_id, kind="topic_created", now=now, ref_id=thread)

    async def thread_for(self, bot: Bot, family_id: int, group: int, *, recreate: bool = False) -> int | None:
        """The family's thread, created (or created again) when missing; None in a group without topics."""
        lock = self._locks.setdefault(family_id, asyncio.Lock())
        async with lock:
            if recreate:
                with self.services.db.session() as session:
                    care.drop_topic(session=session, family_id=family_id)
            else:
                with self.services.db.session() as session:
                    thread = self._thread(session, family_id, group)
                if thread is not None:
                    return thread
            if time.monotonic() < self._not_forum.get(group, 0.0):
                return None
            name, language = self._topic_name(family_id)
            try:
                result = await bot.do_api_request("createForumTopic", api_kwargs={"chat_id": group, "name": name})
            except BadRequest as error:
                # Not a forum (or the bot may not manage topics): plain group messages, replies still work.
                self._not_forum[group] = time.monotonic() + self.NOT_FORUM_RECHECK
                event(logger, "topic.not_forum", logging.WARNING, error=error.message[:80])
                return None
            thread = int(result["message_thread_id"]) if isinstance(result, dict) else None
            if thread is None:
                return None
            self._opened(family_id, group, thread, language)
            event(logger, "topic.created", family=family_id, recreated=recreate)
            return thread

    async def call(self, bot: Bot, row: OutboxMessage) -> Any:
        """Send one row, in the family's topic when it is aimed at one (a deleted topic is made again)."""
        payload = dict(row.payload)
        payload.pop(RELAY_KEY, None)
        payload.pop(REPORT_KEY, None)
        family_id = payload.pop(TOPIC_KEY, None)
        if family_id is None:
            return await bot.do_api_request(row.method, api_kwargs=payload)
        # The group and the known thread in one transaction; the lock is taken only to make a missing topic.
        with self.services.db.session() as session:
            group = group_id(self.services, session, int(family_id)) or int(payload["chat_id"])
            thread = self._thread(session, int(family_id), group)
        payload["chat_id"] = group
        if thread is None:
            thread = await self.thread_for(bot, int(family_id), group)
        if thread is not None:
            payload["message_thread_id"] = thread
        try:
            return in_chat(await bot.do_api_request(row.method, api_kwargs=payload), group)
        except BadRequest as error:
            if thread is None or not thread_missing(error):
                raise
        # The topic was deleted in Telegram: make a new one and send there.
        thread = await self.thread_for(bot, int(family_id), group, recreate=True)
        if thread is None:
            payload.pop("message_thread_id", None)
        else:
            payload["message_thread_id"] = thread
        return in_chat(await bot.do_api_request(row.method, api_kwargs=payload), group)

    def after_sent(self, *, session: Session, row: OutboxMessage, result: Any, now: datetime) -> None:
        """Keep a RelayLink for a sent message that a reply should find its way back from."""
        meta = row.payload.get(RELAY_KEY)
        message_id = result.get("message_id") if isinstance(result, dict) else None
        if not isinstance(meta, dict) or message_id is None or not meta.get("to"):
            return
        chat = result.get("chat") if isinstance(result, dict) else None
        chat_id = chat.get("id") if isinstance(chat, dict) else None
        if chat_id is None:
            in_topic = TOPIC_KEY in row.payload
            family_id = row.payload.get(TOPIC_KEY)
            chat_id = group_id(self.services, session, family_id) if in_topic else row.payload.get("chat_id")
        if chat_id is None:
            return
        care.add_relay_link(
            session=session,
            chat_id=int(chat_id),
            message_id=int(message_id),
            family_id=int(meta["to"]),
            concern_id=meta.get("concern"),
            now=now,
        )
