"""Telling coordinators when delivery fails or a family leaves: a silent family is a concern."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlmodel import Session, col

from bot.context import JobHandler, Services
from bot.i18n import _, h, hi, use_language
from conversations.ui import notify
from storage import people
from storage.models import Concern, FamilyTopic, OutboxMessage, Person, RelayLink, Role

JOBS: dict[str, JobHandler] = {}


def coordinators_for(session: Session, person: Person) -> list[Person]:
    """The family's own coordinators, or every coordinator when the family has none (yet)."""
    recipients: list[Person] = []
    if person.id is not None and person.role == Role.FAMILY:
        family = people.get_family(session=session, person_id=person.id)
        for coordinator_id in (family.primary_coordinator_id, family.partner_coordinator_id) if family else ():
            coordinator = people.get_person(session=session, person_id=coordinator_id) if coordinator_id else None
            if coordinator is not None and coordinator.telegram_id is not None:
                recipients.append(coordinator)
    if not recipients:
        recipients = [c for c in people.coordinators(session=session) if c.id != person.id]
    return recipients


def display(person: Person) -> str:
    return person.display_name or _("(no name)")


def on_unreachable(
    *, session: Session, row: OutboxMessage, reason: str, now: datetime, services: Services | None = None
) -> None:
    """Telegram answered 403: the person blocked the bot. Their coordinators must follow up."""
    if row.person_id is None:
        return
    person = people.get_person(session=session, person_id=row.person_id)
    if person is None or not people.set_reachable(session=session, person_id=row.person_id, reachable=False, now=now):
        return
    if person.role == Role.FAMILY and services is not None and person.consent_at is not None:
        # A concern like any other: primary, duo partner, everyone, until someone acknowledges it.
        from conversations import concerns

        people.add_timeline(session=session, family_id=person.id, kind="unreachable", now=now)
        concerns.no_contact(session=session, services=services, family=person, reason="unreachable", now=now)
        return
    if person.role == Role.FAMILY:
        session.add(Concern(family_id=person.id, source="unreachable", created_at=now))
        people.add_timeline(session=session, family_id=person.id, kind="unreachable", now=now)
    for coordinator in coordinators_for(session, person):
        with use_language(coordinator.language):
            text = _(
                "⚠️ {name} can no longer be reached through the bot (they may have blocked it). "
                "Please get in touch another way."
            ).format(name=hi(display(person)))
        notify(
            session=session,
            person=coordinator,
            key=f"unreachable:{person.id}:{coordinator.id}:{now:%Y%m%d}",
            text=text,
            now=now,
            purpose="alert",
        )


def unreachable_hook(services: Services) -> Any:
    """`on_unreachable` with the services, so a family's silence opens a concern with its escalation chain."""

    def hook(*, session: Session, row: OutboxMessage, reason: str, now: datetime) -> None:
        on_unreachable(session=session, row=row, reason=reason, now=now, services=services)

    return hook


def on_undeliverable(*, session: Session, row: OutboxMessage, reason: str, now: datetime) -> None:
    """A permanent refusal. Coordinators hear of it, unless the failed message was such an alert."""
    if row.purpose == "alert":
        return
    person = people.get_person(session=session, person_id=row.person_id) if row.person_id else None
    for coordinator in people.admins(session=session) or people.coordinators(session=session):
        if person is not None and coordinator.id == person.id:
            continue
        with use_language(coordinator.language):
            text = _("A message to {name} could not be delivered ({reason}).").format(
                name=hi(display(person)) if person else _("a chat"), reason=h(reason[:120])
            )
        notify(
            session=session,
            person=coordinator,
            key=f"undeliverable:{row.id}:{coordinator.id}",
            text=text,
            now=now,
            purpose="alert",
        )


def on_migrated(services: Services) -> Any:
    """A group became a supergroup: follow it to its new id everywhere it is remembered."""

    def migrate(*, session: Session, old_chat_id: int, new_chat_id: int) -> None:
        from conversations.common import save_coordinator_group

        if services.coordinator_group_id == old_chat_id:
            save_coordinator_group(services, session, new_chat_id)
        session.execute(update(FamilyTopic).where(col(FamilyTopic.chat_id) == old_chat_id).values(chat_id=new_chat_id))
        session.execute(update(RelayLink).where(col(RelayLink.chat_id) == old_chat_id).values(chat_id=new_chat_id))

    return migrate
