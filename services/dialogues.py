"""What a person is in the middle of with the bot: a dialogue's saved step, which /cancel stops."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from storage import dialogue_store
from storage.db import Session


@dataclass(frozen=True)
class SavedStep:
    """A chat's dialogue, the step it waits at, and the draft saved with it."""

    dialogue: str
    step: str
    data: dict[str, Any]


def saved_step(*, session: Session, chat_id: int) -> SavedStep | None:
    """The dialogue and step a chat is at, read fresh (the router asks before every update), or None."""
    state = dialogue_store.get_dialogue(session=session, chat_id=chat_id)
    if state is None:
        return None
    return SavedStep(dialogue=state.dialogue, step=state.step, data=dict(state.data))


def save_step(*, session: Session, chat_id: int, dialogue: str, step: str, data: dict[str, Any], now: datetime) -> None:
    """Save the step a chat's dialogue waits at next, with its draft."""
    dialogue_store.save_dialogue(session=session, chat_id=chat_id, dialogue=dialogue, step=step, data=data, now=now)


def end_dialogue(*, session: Session, chat_id: int) -> None:
    """A dialogue reached its end: forget its step and draft."""
    dialogue_store.clear_dialogue(session=session, chat_id=chat_id)


def stop_dialogue(*, session: Session, chat_id: int) -> bool:
    """Forget the chat's unfinished dialogue (what was saved elsewhere stays); whether there was one."""
    state = dialogue_store.get_dialogue(session=session, chat_id=chat_id)
    dialogue_store.clear_dialogue(session=session, chat_id=chat_id)
    return state is not None
