"""The language buttons (`lang:<code>`) and whose language a Telegram account has (the choice is stored by
`services.signup.choose_language`)."""

from __future__ import annotations

from services.callbacks import Button
from services.i18n import shipped_languages
from storage import people
from storage.db import Session

# lang:<code>, one button per shipped language (the data of old messages stays readable).
CHOOSE: dict[str, Button] = {code: Button("lang", code) for code in shipped_languages()}
CHOOSE_PATTERN = r"^lang:"


def chosen(data: str | None) -> str | None:
    """The shipped language a language button chose, or None for anything else."""
    return next((code for code, button in CHOOSE.items() if button.parse(data) is not None), None)


def language_of_user(*, session: Session, telegram_id: int, fallback: str) -> str:
    """The language of whoever has this Telegram account, or `fallback` when we know nobody by it."""
    person = people.get_person_by_telegram_id(session=session, telegram_id=telegram_id)
    return person.language if person is not None else fallback
