"""Telling coordinators when delivery fails or a family leaves: a silent family is a concern."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from telegram import Update
from telegram.ext import BaseHandler, ChatMemberHandler

from conversations.context import BotContext
from conversations.ui import notify
from services.context import JobHandler, Services
from services.groups import coordinator_group, set_coordinator_group
from services.i18n import _, current_language, h, hi, use_language
from storage import care, people
from storage import requests as requests_store
from storage.db import Session
from storage.models import HelpRequest, OutboxMessage, Person, Role

JOBS: dict[str, JobHandler] = {}


def coordinators_for(session: Session, person: Person) -> list[Person]:
    """The family's own coordinators, or every coordinator when the family has none (yet).

    Only those the bot can reach: with both of the family's own unreachable, everyone else is told.
    """
    recipients: list[Person] = []
    if person.id is not None and person.role == Role.FAMILY:
        family = people.get_family(session=session, person_id=person.id)
        for coordinator_id in (family.primary_coordinator_id, family.partner_coordinator_id) if family else ():
            coordinator = people.get_person(session=session, person_id=coordinator_id) if coordinator_id else None
            if coordinator is not None and coordinator.telegram_id is not None and coordinator.reachable:
                recipients.append(coordinator)
    if not recipients:
        recipients = [c for c in people.coordinators(session=session) if c.id != person.id and c.reachable]
    return recipients


def display(person: Person) -> str:
    return person.display_name or _("(no name)")


def on_unreachable(
    *, session: Session, row: OutboxMessage, reason: str, now: datetime, services: Services | None = None
) -> None:
    """Telegram refused for good (blocked, deactivated, chat not found): whoever wrote hears, nothing waits."""
    if services is not None and row.payload.get("waakvlam_report") is not None:
        from conversations import concerns

        concerns.report_undelivered(session=session, row=row, now=now)
    if row.person_id is None:
        return
    person = people.get_person(session=session, person_id=row.person_id)
    if person is None:
        return
    person_unreachable(session=session, person=person, now=now, services=services)


def person_unreachable(*, session: Session, person: Person, now: datetime, services: Services | None) -> bool:
    """The bot can no longer write to this person (a 403, or Telegram said they blocked it). True if news.

    A family's silence is a concern with its escalation chain (or a flag on its open concern); a
    coordinator's open concerns go to the others at once; a volunteer's accepted tasks are named to
    the coordinators, who must find someone else or call.
    """
    if person.id is None or not people.set_reachable(session=session, person_id=person.id, reachable=False, now=now):
        return False
    person.reachable = False
    person.unreachable_since = now
    if person.role == Role.FAMILY and services is not None and person.consent_at is not None:
        from conversations import concerns

        people.add_timeline(session=session, family_id=person.id, kind="unreachable", now=now)
        concerns.family_unreachable(session=session, services=services, family=person, now=now)
        return True
    if person.role == Role.FAMILY:
        people.add_timeline(session=session, family_id=person.id, kind="unreachable", now=now)
    if person.role == Role.COORDINATOR and services is not None:
        from conversations import concerns

        concerns.coordinator_unreachable(session=session, services=services, coordinator=person, now=now)
    tasks = (
        requests_store.volunteer_tasks(session=session, volunteer_id=person.id) if person.role == Role.VOLUNTEER else []
    )
    for coordinator in coordinators_for(session, person):
        if not coordinator.reachable:
            continue
        with use_language(coordinator.language):
            text = _(
                "⚠️ {name} can no longer be reached through the bot (they may have blocked it). "
                "Please get in touch another way."
            ).format(name=hi(display(person)))
            if person.role == Role.COORDINATOR and services is not None:
                text += "\n" + _("Their open concerns have gone to the other coordinators.")
            if tasks:
                text += (
                    "\n\n" + _("Accepted tasks they can no longer be told about:") + "\n" + task_lines(session, tasks)
                )
        notify(
            session=session,
            person=coordinator,
            key=f"unreachable:{person.id}:{coordinator.id}:{now:%Y%m%d}",
            text=text,
            now=now,
            purpose="alert",
        )
    return True


def task_lines(session: Session, tasks: list[HelpRequest]) -> str:
    """'• Babysitting for Hanna, Tue 24 Nov 18:00' for each task."""
    from conversations import matching

    lines = []
    for task in tasks[:10]:
        family = people.get_person(session=session, person_id=task.family_id)
        lines.append(
            _("• {task} for {family}, {when}").format(
                task=h(matching.kind_label(task.kind)),
                family=hi(display(family) if family else _("(no name)")),
                when=h(matching.when_text(task, family.timezone if family else "Europe/Amsterdam", current_language())),
            )
        )
    return "\n".join(lines)


def person_reachable_again(*, session: Session, person: Person, now: datetime, services: Services) -> bool:
    """They wrote to the bot (or unblocked it): messages reach them again; a coordinator gets what waited."""
    if person.id is None or not people.set_reachable(session=session, person_id=person.id, reachable=True, now=now):
        return False
    person.reachable = True
    person.unreachable_since = None
    if person.role == Role.FAMILY:
        people.add_timeline(session=session, family_id=person.id, kind="reachable_again", now=now)
    if (person.role == Role.COORDINATOR and person.consent_at is not None) or person.is_admin:
        from conversations import concerns

        concerns.deliver_waiting(session=session, services=services, now=now)
    return True


def unreachable_hook(services: Services) -> Any:
    """`on_unreachable` with the services, so a family's silence opens a concern with its escalation chain."""

    def hook(*, session: Session, row: OutboxMessage, reason: str, now: datetime) -> None:
        on_unreachable(session=session, row=row, reason=reason, now=now, services=services)

    return hook


def on_undeliverable(*, session: Session, row: OutboxMessage, reason: str, now: datetime) -> None:
    """A permanent refusal. Coordinators hear of it, unless the failed message was such an alert."""
    if row.payload.get("waakvlam_report") is not None:
        from conversations import concerns

        concerns.report_undelivered(session=session, row=row, now=now)
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
        if coordinator_group(session=session, settings=services.settings) == old_chat_id:
            set_coordinator_group(session=session, chat_id=new_chat_id)
        care.move_chat(session=session, old_chat_id=old_chat_id, new_chat_id=new_chat_id)

    return migrate


async def my_chat_member(update: Update, context: BotContext) -> None:
    """Telegram says the person blocked the bot: act now, not only when the next message bounces."""
    change = update.my_chat_member
    person = context.person
    if change is None or change.chat.type != "private" or person is None:
        return
    if change.new_chat_member.status != "kicked":
        return  # unblocking is handled in load_person, as for any sign of life
    now = context.now()
    with context.session() as session:
        fresh = people.get_person(session=session, person_id=person.id or 0)
        if fresh is not None:
            person_unreachable(session=session, person=fresh, now=now, services=context.services)


def build() -> list[BaseHandler[Any, Any, Any]]:
    return [ChatMemberHandler(my_chat_member, ChatMemberHandler.MY_CHAT_MEMBER)]
