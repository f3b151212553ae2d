"""An update the bot could not handle, after its retries: the person and a coordinator are told.

Nothing of what was written goes into these messages: only who it was (their name if they signed up),
so a coordinator can get in touch, and the update's number for whoever looks into the error.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from services.concerns import person_of
from services.context import Services
from services.i18n import _, hi, use_language
from services.logs import event
from services.outbox import Outgoing, ToChat, ToPerson, enqueue
from storage import inbox_store, people
from storage.db import Session
from storage.models import Person, Role

logger = logging.getLogger(__name__)


def _who(person: Person | None) -> str:
    """The person's name for the coordinators, only when they signed up."""
    if person is None or person.consent_at is None or not person.display_name:
        return _("someone who has not signed up")
    return person.display_name


def _team(session: Session, person: Person | None) -> list[Person]:
    """The family's own coordinators first, then the admins: the people who can look into it."""
    found: list[Person] = []
    if person is not None and person.id is not None and person.role == Role.FAMILY and person.consent_at is not None:
        profile = people.get_family(session=session, person_id=person.id)
        for coordinator_id in (profile.primary_coordinator_id, profile.partner_coordinator_id) if profile else ():
            coordinator = person_of(session, coordinator_id)
            if coordinator is not None:
                found.append(coordinator)
    found.extend(people.admins(session=session))
    unique: dict[int, Person] = {}
    for coordinator in found:
        if (
            coordinator.id is not None
            and coordinator.telegram_id is not None
            and coordinator.id != (person and person.id)
        ):
            unique.setdefault(coordinator.id, coordinator)
    return list(unique.values())


def _sorry_text(told: int) -> str:
    """The person's apology: a coordinator was told, or not."""
    if told:
        return _(
            "Sorry, something went wrong on our side and I could not handle your last message. "
            "I have told a coordinator, who will look into it. If it is urgent, call 112."
        )
    return _(
        "Sorry, something went wrong on our side and I could not handle your last message. "
        "Please try again later, or send /help. If it is urgent, call 112."
    )


def failed_update(
    *,
    session: Session,
    services: Services,
    update_id: int,
    payload: dict[str, Any] | None,
    reason: str,
    now: datetime,
) -> None:
    """Tell a coordinator and the person (in a private chat) that a message could not be handled."""
    user_id, chat_type = inbox_store.sender_of(payload)
    person = people.get_person_by_telegram_id(session=session, telegram_id=user_id) if user_id is not None else None
    told = 0
    for coordinator in _team(session, person):
        with use_language(coordinator.language):
            text = _(
                "⚠️ The bot could not handle a message from {name}, also after trying again. What they wrote "
                "is not shown here. Please get in touch with them. (For whoever looks into it: update {update}.)"
            ).format(name=hi(_who(person)), update=hi(update_id))
        told += enqueue(
            session=session,
            to=ToPerson(coordinator),
            message=Outgoing(text=text, purpose="alert"),
            key=f"handover:{update_id}:{coordinator.id}",
            now=now,
        )
    if user_id is not None and chat_type == "private":
        language = person.language if person is not None else None
        with use_language(language):
            text = _sorry_text(told)
            # The sender's own chat, also when they never signed up (no person row to address).
            to = ToPerson(person) if person is not None and person.telegram_id == user_id else ToChat(user_id)
            enqueue(
                session=session,
                to=to,
                message=Outgoing(text=text, purpose="reply"),
                key=f"handover:{update_id}:sender",
                now=now,
            )
    event(logger, "update.handed_over", update_id=update_id, coordinators=told, reason=reason[:40])
