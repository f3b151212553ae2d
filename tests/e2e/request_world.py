"""Helpers for the help-request end-to-end tests: areas, families and approved volunteers made through the bot."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import time, timedelta
from typing import Any

from sqlalchemy import update
from sqlmodel import col, select

from services import matching
from services.i18n import use_language
from storage import people
from storage import requests as store
from storage.models import HelpRequest, JobStatus, OutboxMessage, RequestOffer, ScheduledJob
from tests.e2e.care_world import invite_link, move_to, next_local
from tests.e2e.harness import Chat, Harness, expect, tr

REQUEST_JOBS = tuple(matching.JOBS)
_tags = itertools.count(1)


def tag() -> str:
    return f"{next(_tags)}"


def quiet_requests(harness: Harness) -> None:
    """Cancel pending request work of earlier tests, so only this test's jobs run when the clock moves."""
    with harness.session() as session:
        session.execute(
            update(ScheduledJob)
            .where(col(ScheduledJob.kind).in_(REQUEST_JOBS), col(ScheduledJob.status) == JobStatus.PENDING)
            .values(status=JobStatus.CANCELLED)
        )


def monday_morning(harness: Harness) -> None:
    """A fresh Monday, 10:00 local: 'tomorrow evening' is then Tuesday 18:00-22:00."""
    move_to(harness, next_local(harness, 0, time(10, 0)))


def new_area(harness: Harness, name: str) -> str:
    with harness.session() as session:
        people.add_area(session=session, name=name, now=harness.clock.now())
    return name


def kind_button(kind: str, language: str) -> str:
    with use_language(language):
        return matching.kind_label(kind)


def new_family(
    inviter: Chat, person: Callable[..., Chat], name: str, area: str, language: str = "en", children: str = "0"
) -> Chat:
    """A family signed up through the coordinator's invite (so that coordinator is its own), in `area`."""
    link = invite_link(inviter, tr(inviter_language(inviter), "A family"))
    chat = person(name, language_code=language)
    chat.say(f"/start {link}")
    chat.tap(tr(language, "Yes, I agree"))
    chat.say(name)
    chat.tap(area)
    replies = chat.tap(children)
    if children != "0":
        replies = chat.tap(tr(language, "Skip"))
    expect(replies, tr(language, "What would you like to do?"))
    return chat


def inviter_language(chat: Chat) -> str:
    found = chat.harness.person(chat.id)
    return str(found.language) if found is not None else "en"


def sign_up_volunteer(
    person: Callable[..., Chat],
    name: str,
    area: str,
    skills: list[str],
    language: str = "en",
    times: tuple[str, ...] = ("Weekday evenings", "Weekday mornings", "Weekday afternoons", "Saturday", "Sunday"),
    languages: tuple[str, ...] = ("Nederlands", "English"),
) -> Chat:
    chat = person(name, language_code=language)
    chat.say("/start")
    chat.tap(tr(language, "I want to help"))
    chat.tap(tr(language, "Yes, I agree"))
    chat.say(name)
    chat.tap(f"▫️ {area}")
    chat.tap(tr(language, "Done"))
    for skill in skills:
        chat.tap(f"▫️ {tr(language, skill)}")
    chat.tap(tr(language, "Done"))
    for when in times:
        chat.tap(f"▫️ {tr(language, when)}")
    chat.tap(tr(language, "Done"))
    for spoken in languages:
        chat.tap(f"▫️ {spoken}")
    expect(chat.tap(tr(language, "Done")), "VOG")
    return chat


def vog_date(harness: Harness, days_ago: int) -> str:
    """A VOG date as a coordinator types it, `days_ago` days before today (local)."""
    from tests.e2e.care_world import local_now

    return f"{local_now(harness).date() - timedelta(days=days_ago):%d-%m-%Y}"


def approve(
    coordinator: Chat, name: str, vog_age_days: int | None, children: bool, volunteer: Chat | None = None
) -> list[str]:
    """The coordinator approves a volunteer in the bot: Volunteers, Approve, the VOG date, children or not.

    With `volunteer`, the button of that very person is pressed: the shared bot may hold an earlier
    volunteer of the same name from another test.
    """
    coordinator.say("/volunteers")
    label = f"✅ Approve {name}"
    if volunteer is None:
        coordinator.tap(label)
    else:
        found = coordinator.harness.person(volunteer.id)
        assert found is not None and found.id is not None
        message = coordinator.last
        pairs = [
            (text, data)
            for labels, datas in zip(message.buttons, message.callback_data, strict=True)
            for text, data in zip(labels, datas, strict=True)
        ]
        data = next(data for text, data in pairs if text == label and data and data.endswith(f":{found.id}"))
        before = len(coordinator.user.messages)
        coordinator.user.press_raw(message, data)
        coordinator.harness.settle()
        assert len(coordinator.user.messages) > before
    if vog_age_days is None:
        return coordinator.tap("No VOG yet")
    replies = coordinator.say(vog_date(coordinator.harness, vog_age_days))
    if any("May they also help with tasks with children" in text for text in replies):
        return coordinator.tap("Yes, also with children" if children else "Only tasks without children")
    return replies


def new_volunteer(
    coordinator: Chat,
    person: Callable[..., Chat],
    name: str,
    area: str,
    skills: list[str],
    *,
    language: str = "en",
    vog_age_days: int | None = 30,
    children: bool = True,
) -> Chat:
    chat = sign_up_volunteer(person, name, area, skills, language=language)
    expect(approve(coordinator, name, vog_age_days, children, chat), f"{name} is approved")
    return chat


@dataclass
class Asked:
    replies: list[str]

    @property
    def text(self) -> str:
        return "\n".join(self.replies)


def ask(
    chat: Chat,
    kind: str,
    *,
    language: str = "en",
    day: str = "Tomorrow",
    window: str | None = "Evening (18:00-22:00)",
    typed_time: str | None = None,
    children: bool | None = None,
    description: str | None = None,
    destination: str | None = None,
    street: str | None = None,
    share_phone: bool = False,
    note: str | None = None,
    voice_note: bool = False,
) -> Asked:
    """A family asks for help through the menu, answering each question, and sends it."""
    chat.say("/menu")
    expect(chat.tap(tr(language, "🙋 Ask for help")), tr(language, "What would you like help with?"))
    replies = chat.tap(kind_button(kind, language))
    if description is not None:
        replies = chat.say(description)
    if children is not None:
        replies = chat.tap(tr(language, "Yes") if children else tr(language, "No"))
    replies = chat.tap(tr(language, day) if day in ("Tomorrow", "Today", "📅 Flexible, some time this week") else day)
    if typed_time is not None:
        replies = chat.say(typed_time)
    elif window is not None and day != "📅 Flexible, some time this week":
        replies = chat.tap(tr(language, window))
    if destination is not None:
        replies = chat.say(destination)
    street_question = tr(
        language,
        "Which street and house number should the volunteer come to? "
        "Only the volunteer who accepts your request sees it. We remember it for next time.",
    )
    if street_question in (chat.last.text or ""):
        if street is None:
            replies = chat.tap(tr(language, "Skip"))
        else:
            chat.say(street)
            before = len(chat.user.messages)
            chat.user.press_reply_button(tr(language, "📞 Share my number" if share_phone else "No, thank you"))
            chat.harness.settle()
            replies = [message.text or "" for message in chat.user.messages[before:]]
    if voice_note:
        replies = chat.send("voice")
    elif note is not None:
        replies = chat.say(note)
    else:
        replies = chat.tap(tr(language, "Skip"))
    expect(replies, tr(language, "<b>Please check the request</b>").replace("<b>", "").replace("</b>", ""))
    return Asked(chat.tap(tr(language, "✅ Send")))


def offers_to(chat: Chat) -> list[Any]:
    """The offer messages a volunteer got, as they look now (with buttons, or as edited after they ended)."""
    harness = chat.harness
    harness.settle()
    with harness.session() as session:
        ids = set(
            session.exec(
                select(OutboxMessage.telegram_message_id)
                .join(RequestOffer, col(RequestOffer.outbox_id) == col(OutboxMessage.id))
                .where(OutboxMessage.chat_id == chat.id)
            )
        )
        # Offers asked again (a reopened or placed request) have their own rows, found by their keys.
        ids |= set(
            session.exec(
                select(OutboxMessage.telegram_message_id).where(
                    OutboxMessage.chat_id == chat.id, col(OutboxMessage.dedupe_key).startswith("offer:")
                )
            )
        )
    return [message for message in chat.user.messages if message.message_id in ids]


def last_request(harness: Harness, family: Chat) -> HelpRequest:
    with harness.session() as session:
        person = people.get_person_by_telegram_id(session=session, telegram_id=family.id)
        assert person is not None and person.id is not None
        found = store.family_requests(session=session, family_id=person.id, limit=1)
        assert found, "the family has no request"
        return store.get_request(session=session, request_id=found[0].id or 0) or found[0]


def offered_ids(harness: Harness, request_id: int) -> set[int]:
    with harness.session() as session:
        return set(session.exec(select(RequestOffer.volunteer_id).where(RequestOffer.request_id == request_id)))


def person_id(harness: Harness, chat: Chat) -> int:
    found = harness.person(chat.id)
    assert found is not None and found.id is not None
    return int(found.id)
