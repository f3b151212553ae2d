"""The coordinators' group: which Telegram group it is, read fresh so every instance agrees after /setgroup."""

from __future__ import annotations

from datetime import datetime

from services.settings import Settings
from storage import care, outbox_store, people
from storage.db import Session

COORDINATOR_GROUP_KEY = "coordinator_group_id"


def coordinator_group(*, session: Session, settings: Settings) -> int | None:
    """The group set with /setgroup (or followed after a migration), else the configured one."""
    stored = care.get_setting(session=session, key=COORDINATOR_GROUP_KEY)
    return int(stored) if stored is not None else settings.coordinator_group_id


def set_coordinator_group(*, session: Session, chat_id: int) -> None:
    """Make a group the coordinators' group, in the caller's transaction."""
    care.save_setting(session=session, key=COORDINATOR_GROUP_KEY, value=str(chat_id))


def is_coordinator_group(*, session: Session, settings: Settings, chat_id: int) -> bool:
    """Whether a chat is the coordinators' group (as set now)."""
    return coordinator_group(session=session, settings=settings) == chat_id


def make_coordinator_group(*, session: Session, chat_id: int, now: datetime) -> None:
    """/setgroup by an admin: make a group the coordinators' group, audited."""
    set_coordinator_group(session=session, chat_id=chat_id)
    people.audit(
        session=session, actor_id=None, action="coordinator_group_set", subject_id=None, now=now, chat_id=chat_id
    )


def follow_migration(
    *, session: Session, settings: Settings, old_chat_id: int, new_chat_id: int, now: datetime
) -> None:
    """The coordinators' group became a supergroup: the group, its topics, relay links and waiting messages follow."""
    if coordinator_group(session=session, settings=settings) == old_chat_id:
        set_coordinator_group(session=session, chat_id=new_chat_id)
    care.move_topics(session=session, old_chat_id=old_chat_id, new_chat_id=new_chat_id)
    care.move_relay_links(session=session, old_chat_id=old_chat_id, new_chat_id=new_chat_id)
    outbox_store.move_chat(session=session, old_chat_id=old_chat_id, new_chat_id=new_chat_id)
    people.audit(
        session=session,
        actor_id=None,
        action="coordinator_group_migrated",
        subject_id=None,
        now=now,
        chat_id=new_chat_id,
    )
