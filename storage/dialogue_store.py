"""A chat's place in a dialogue (its step and draft), kept in the database so a restart or another instance
continues it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete, select
from sqlmodel import Session, col

from storage.db import dialect_insert
from storage.models import DialogueState

# Built once: the dialogue router reads a chat's step before every update.
_STEP_OF_CHAT = (
    select(DialogueState)
    .where(col(DialogueState.chat_id) == bindparam("chat_id"))
    .execution_options(populate_existing=True)
)


def get_dialogue(*, session: Session, chat_id: int) -> DialogueState | None:
    """Where a chat is in a dialogue (its step and draft), read fresh, or None."""
    return session.execute(_STEP_OF_CHAT, {"chat_id": chat_id}).scalar_one_or_none()


# The upsert that saves a chat's step, built once per dialect: it runs as each update is finished.
_SAVE_DIALOGUE: dict[str, Any] = {}


def save_dialogue(
    *, session: Session, chat_id: int, dialogue: str, step: str, data: dict[str, Any], now: datetime
) -> None:
    """Save a chat's dialogue, step and draft: one statement, whether the chat had a step before or not."""
    # On the table and the session's connection: steps are always read fresh (`_STEP_OF_CHAT`), so the ORM's
    # bookkeeping would add cost and nothing else.
    connection = session.connection()
    dialect = connection.dialect.name
    statement = _SAVE_DIALOGUE.get(dialect)
    if statement is None:
        insert = dialect_insert(dialect)(_table)
        statement = insert.on_conflict_do_update(
            index_elements=["chat_id"],
            set_={name: insert.excluded[name] for name in ("dialogue", "step", "data", "updated_at")},
        )
        _SAVE_DIALOGUE[dialect] = statement
    values = {"chat_id": chat_id, "dialogue": dialogue, "step": step, "data": dict(data), "updated_at": now}
    connection.execute(statement, values)


_table = DialogueState.__table__  # type: ignore[attr-defined]
_CLEAR_DIALOGUE = delete(_table).where(_table.c.chat_id == bindparam("chat_id"))


def clear_dialogue(*, session: Session, chat_id: int) -> None:
    """End a chat's dialogue: forget its step and draft."""
    session.connection().execute(_CLEAR_DIALOGUE, {"chat_id": chat_id})
