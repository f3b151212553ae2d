"""A person chooses the language the bot writes in (allowed before consent: it is all we store then)."""

from __future__ import annotations

from datetime import datetime

from services.callbacks import Button
from services.i18n import shipped_languages
from storage import people
from storage.db import Session
from storage.models import Person

# lang:<code>, one button per shipped language (the data of old messages stays readable).
CHOOSE: dict[str, Button] = {code: Button("lang", code) for code in shipped_languages()}
CHOOSE_PATTERN = r"^lang:"


def chosen(data: str | None) -> str | None:
    """The shipped language a language button chose, or None for anything else."""
    return next((code for code, button in CHOOSE.items() if button.parse(data) is not None), None)


def choose_language(*, session: Session, person_id: int, language: str, now: datetime) -> Person | None:
    """Store a person's language; the fresh person, or None when they are not (or no longer) there."""
    person = people.get_person(session=session, person_id=person_id)
    if person is not None:
        people.set_language(session=session, person=person, language=language, now=now)
    return person


def language_of_user(*, session: Session, telegram_id: int, fallback: str) -> str:
    """The language of whoever has this Telegram account, or `fallback` when we know nobody by it."""
    person = people.get_person_by_telegram_id(session=session, telegram_id=telegram_id)
    return person.language if person is not None else fallback
