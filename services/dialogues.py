"""What a person is in the middle of with the bot: a dialogue's saved step, which /cancel stops."""

from __future__ import annotations

from storage import people
from storage.db import Session


def stop_dialogue(*, session: Session, chat_id: int) -> bool:
    """Forget the chat's unfinished dialogue (what was saved elsewhere stays); whether there was one."""
    state = people.get_dialogue(session=session, chat_id=chat_id)
    people.clear_dialogue(session=session, chat_id=chat_id)
    return state is not None
