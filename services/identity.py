"""Who is writing: the person behind a Telegram user, made on first contact in a private chat."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from services.concerns import is_coordinator
from services.context import Services
from services.unreachable import person_reachable_again
from storage import people
from storage.db import Session
from storage.models import Person


@dataclass(frozen=True)
class Writer:
    """The person writing (None: a stranger outside a private chat), and whether they just became reachable."""

    person: Person | None
    back: bool


def who_writes(
    *,
    session: Session,
    services: Services,
    telegram_id: int,
    language: str,
    private: bool,
    kicked: bool,
    now: datetime,
) -> Writer:
    """Runs for every update: the person (made in a private chat, an admin from the settings promoted).

    A person the bot could not reach who writes (or unblocks it) in a private chat is reachable again, and
    what waited for them comes; `kicked` is Telegram's news that they blocked the bot, which is no sign of life."""
    person = people.get_person_by_telegram_id(session=session, telegram_id=telegram_id)
    is_admin = telegram_id in services.settings.bot_admin_ids
    if person is None and private:
        person = people.ensure_person(
            session=session, telegram_id=telegram_id, language=language, now=now, is_admin=is_admin
        )
    elif person is not None and is_admin and not person.is_admin:
        people.promote_to_admin(session=session, person=person, now=now)
    back = False
    if person is not None and not person.reachable and private and not kicked:
        back = person_reachable_again(session=session, person=person, now=now, services=services)
    return Writer(person, back)


def is_coordinator_user(*, session: Session, telegram_id: int) -> bool:
    """Whether this Telegram user is a coordinator who finished signing up (read fresh)."""
    return is_coordinator(people.get_person_by_telegram_id(session=session, telegram_id=telegram_id))
