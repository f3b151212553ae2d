"""Helpers for the check-in and concern end-to-end tests: teams, families, the clock, the group."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import update
from sqlmodel import col

from services.groups import coordinator_group
from storage import care, case_tables, people
from storage.models import JobStatus, ScheduledJob
from tests.e2e.harness import Chat, Harness, expect, tr

AMS = ZoneInfo("Europe/Amsterdam")
CARE_JOBS = (
    "checkin.send",
    "checkin.manual",
    "checkin.remind",
    "checkin.missed",
    "concern.escalate",
    "question.review",
    "casework.agenda",
)


def local_now(harness: Harness) -> datetime:
    return harness.clock.now().astimezone(AMS)


def move_to(harness: Harness, moment: datetime) -> None:
    """Move the fake clock forward to `moment` (never back: the clock is shared by every test)."""
    delta = moment - harness.clock.now()
    assert delta >= timedelta(0), f"cannot move the clock back to {moment}"
    harness.advance(seconds=delta.total_seconds())


def next_local(harness: Harness, weekday: int, at: time, *, min_days: int = 1) -> datetime:
    """The next `weekday` (0 = Monday) at local `at`, at least `min_days` calendar days from today."""
    day = local_now(harness).date() + timedelta(days=min_days)
    while day.weekday() != weekday:
        day += timedelta(days=1)
    return datetime.combine(day, at, tzinfo=AMS)


def office_morning(harness: Harness) -> None:
    """A fresh Monday at 10:00 local: office hours, far from every earlier test's due work."""
    move_to(harness, next_local(harness, 0, time(10, 0)))


def quiet_world(harness: Harness) -> None:
    """Cancel every pending check-in and escalation of earlier tests, so only this test's work runs."""
    with harness.session() as session:
        session.execute(
            update(ScheduledJob)
            .where(col(ScheduledJob.kind).in_(CARE_JOBS), col(ScheduledJob.status) == JobStatus.PENDING)
            .values(status=JobStatus.CANCELLED)
        )


def reset_group(harness: Harness) -> None:
    """No coordinators' group (of any team): relays go through private chats."""
    with harness.session() as session:
        session.execute(update(case_tables.Team).values(group_chat_id=None))


def coordinators_group(harness: Harness) -> int | None:
    """The coordinators' group as every instance reads it: from the database."""
    with harness.session() as session:
        return coordinator_group(session=session, settings=harness.services.settings)


def invite_link(inviter: Chat, label: str) -> str:
    inviter.say("/invite")
    return expect(inviter.tap(label), "t.me/").split("?start=")[1].split()[0]


def new_coordinator(admin: Chat, person: Callable[..., Chat], name: str, language: str = "en") -> Chat:
    link = invite_link(admin, "A coordinator")
    chat = person(name, language_code=language)
    chat.say(f"/start {link}")
    chat.tap(tr(language, "Yes, I agree"))
    chat.say(name)
    return chat


def new_family(inviter: Chat, person: Callable[..., Chat], name: str, language: str = "en") -> Chat:
    """A family signed up through a coordinator's invite, so that coordinator is its primary."""
    link = invite_link(inviter, tr(inviter_language(inviter), "A family"))
    chat = person(name, language_code=language)
    chat.say(f"/start {link}")
    chat.tap(tr(language, "Yes, I agree"))
    chat.say(name)
    chat.tap(tr(language, "My neighbourhood is not listed"))
    expect(chat.tap("0"), tr(language, "What would you like to do?"))
    return chat


def inviter_language(chat: Chat) -> str:
    found = chat.harness.person(chat.id)
    return str(found.language) if found is not None else "en"


@dataclass
class Team:
    admin: Chat
    primary: Chat
    partner: Chat

    def ids(self) -> tuple[int, int, int]:
        harness = self.admin.harness
        return tuple(int(harness.person(chat.id).id) for chat in (self.admin, self.primary, self.partner))  # type: ignore[return-value]


def make_team(harness: Harness, admin: Chat, person: Callable[..., Chat], tag: str) -> Team:
    """Two coordinators working as a duo (primary and partner), and the admin as everyone else."""
    primary = new_coordinator(admin, person, "Pia")
    partner = new_coordinator(admin, person, "Dex")
    with harness.session() as session:
        care.set_duo_partner(
            session=session,
            coordinator_id=harness.person(primary.id).id,
            partner_id=harness.person(partner.id).id,
        )
    return Team(admin, primary, partner)


def texts_since(chat: Chat, before: int) -> list[str]:
    return [message.text or "" for message in chat.user.messages[before:]]


def family_id(harness: Harness, chat: Chat) -> int:
    found = harness.person(chat.id)
    assert found is not None and found.id is not None
    return int(found.id)


def profile(harness: Harness, chat: Chat) -> Any:
    with harness.session() as session:
        return care.get_family_profile(session=session, family_id=family_id(harness, chat))


def checkins(harness: Harness, chat: Chat) -> list[Any]:
    with harness.session() as session:
        return list(reversed(care.recent_checkins(session=session, family_id=family_id(harness, chat), limit=50)))


def next_checkin_at(harness: Harness, chat: Chat) -> datetime | None:
    with harness.session() as session:
        return care.next_job_due(session=session, kind="checkin.send", subject_id=family_id(harness, chat))


def audit_actions(harness: Harness, subject_id: int) -> list[str]:
    from sqlmodel import select

    from storage.models import AuditEntry

    with harness.session() as session:
        rows = session.exec(select(AuditEntry).where(AuditEntry.subject_id == subject_id).order_by(AuditEntry.id))
        return [row.action for row in rows]


def person_row(harness: Harness, chat: Chat) -> Any:
    with harness.session() as session:
        return people.get_person_by_telegram_id(session=session, telegram_id=chat.id)
