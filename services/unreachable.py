"""People the bot cannot reach, and concerns nobody could receive: nothing may stay with someone unreachable.

A family's silence is a concern with its escalation chain (or a flag on its open concern); a coordinator's
open concerns go to the others at once; a volunteer's accepted tasks are named to the coordinators. A concern
that waited goes to the first coordinator who can receive it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from domain import escalation as rules
from services import timeline
from services.concerns import (
    audit_concern,
    concern_buttons,
    concern_card,
    concern_step,
    family_concern,
    name_of,
    person_of,
    topic_note,
)
from services.context import JobHandler, Services
from services.escalation import alert_level, escalate_job, no_contact
from services.groups import follow_group
from services.i18n import N_, _, current_language, h, hi, use_language
from services.logs import event
from services.outbox import REPORT_KEY, Outgoing, ToChat, ToPerson, enqueue, tell, tell_each
from services.recipients import coordinators_for, reachable_coordinators
from services.safety import not_reached_text, waiting_text
from services.tasks import kind_label, when_text
from storage import care, job_store, people
from storage import concerns as concern_store
from storage import requests as requests_store
from storage.db import Session
from storage.models import Concern, HelpRequest, OutboxMessage, Person, Role

logger = logging.getLogger(__name__)


def _can_tell(person: Person | None) -> bool:
    """Signed up and reachable through the bot."""
    return person is not None and person.telegram_id is not None and person.consent_at is not None and person.reachable


def _tell_family_kept(session: Session, concern: Concern, now: datetime) -> None:
    """The family was told "passed on", but nobody can receive it after all: tell them the truth."""
    family = person_of(session, concern.family_id)
    if family is None or not _can_tell(family) or concern.source in ("no_contact", "unreachable", "volunteer"):
        return
    tell(session=session, person=family, key=f"concern:{concern.id}:kept", now=now, text=lambda: waiting_text())


def deliver_waiting(*, session: Session, services: Services, now: datetime) -> int:
    """Bring every concern that waited for a recipient to the coordinators who can receive it now.

    Called when a coordinator finishes signing up or can be reached again. Each gets the card with its
    buttons and the messages kept so far; the family hears that it has arrived. Returns how many moved.
    """
    delivered = 0
    for concern in concern_store.waiting_concerns(session=session):
        assert concern.id is not None
        _target, notified = alert_level(
            session=session,
            services=services,
            concern=concern,
            level=concern.escalation_level,
            now=now,
            round_key=f":w{int(now.timestamp())}",
        )
        if not notified:
            continue
        delivered += 1
        family = person_of(session, concern.family_id)
        raiser = person_of(session, concern.raised_by_id)
        tell = raiser if raiser is not None and concern.source == "volunteer" else family
        if family is not None:
            timeline.note(session=session, about=concern, kind="concern_delivered", now=now)
        if tell is not None and _can_tell(tell):
            with use_language(tell.language):
                text = _("✓ Your message has now reached a coordinator. They will be in touch.")
            key = f"concern:{concern.id}:delivered:{int(now.timestamp())}"
            enqueue(session=session, to=ToPerson(tell), message=Outgoing(text=text), key=key, now=now)
        event(logger, "concern.delivered_after_wait", concern=concern.id, notified=len(notified))
    return delivered


def _reroute_level(session: Session, concern: Concern, coordinator: Person, unreachable: set[int]) -> int | None:
    """The level a concern moves to when this coordinator cannot be reached, or None when it stays."""
    concern_id = concern.id
    assert concern_id is not None and coordinator.id is not None
    if concern.claimed_by_id == coordinator.id:
        return rules.LEVEL_PRIMARY if concern_store.release_claim(session=session, concern_id=concern_id) else None
    if concern.acknowledged_at is not None or concern.waiting_since is not None:
        return None
    steps = concern_store.escalation_steps(session=session, concern_id=concern_id)
    current = steps[-1] if steps else None
    if current is None or coordinator.id not in current.notified:
        return None
    if any(person_id not in unreachable for person_id in current.notified):
        return None
    return min(concern.escalation_level + 1, rules.LEVEL_ALL)


def _rerouted(
    session: Session,
    services: Services,
    concern: Concern,
    coordinator: Person,
    notified: list[int],
    round_key: str,
    now: datetime,
) -> None:
    """The audit, the timeline and the topic say a concern went to the others."""
    audit_concern(
        session=session,
        by=None,
        action="concern_rerouted",
        concern=concern,
        now=now,
        unreachable=coordinator.id,
        notified=notified,
    )
    concern_step(
        session=session,
        services=services,
        concern=concern,
        kind="concern_rerouted",
        actor=coordinator,
        now=now,
        topic_line=N_("↪️ {coordinator} can no longer be reached through the bot; this concern went to the others."),
        topic_key=f"topic:rerouted:{concern.id}{round_key}",
        coordinator=hi(name_of(coordinator)),
    )
    if not notified:
        _tell_family_kept(session, concern, now)


def coordinator_unreachable(*, session: Session, services: Services, coordinator: Person, now: datetime) -> int:
    """A coordinator blocked the bot (or left Telegram): nothing may stay with them.

    Their claimed concerns are released and go to the others with the full context; a concern still
    waiting for them (or for a step of which they were the last reachable person) moves on at once
    instead of waiting out its turn. Returns how many concerns moved.
    """
    assert coordinator.id is not None
    unreachable = concern_store.unreachable_coordinator_ids(session=session) | {coordinator.id}
    moved = 0
    for concern in concern_store.open_concerns(session=session, limit=500):
        concern_id = concern.id
        assert concern_id is not None
        round_key = f":r{coordinator.id}.{int(now.timestamp())}"
        released = concern.claimed_by_id == coordinator.id
        level = _reroute_level(session, concern, coordinator, unreachable)
        if level is None:
            continue
        if released:
            concern = concern_store.get_concern(session=session, concern_id=concern_id) or concern
        job_store.cancel_jobs(session=session, kind="concern.escalate", subject_id=concern_id)
        _target, notified = alert_level(
            session=session,
            services=services,
            concern=concern,
            level=level,
            now=now,
            round_key=round_key,
            rerouted_from=coordinator,
        )
        moved += 1
        _rerouted(session, services, concern, coordinator, notified, round_key, now)
    event(logger, "concern.rerouted", coordinator=coordinator.id, moved=moved)
    return moved


def _flag_unreachable(
    session: Session, services: Services, concern: Concern, family: Person, now: datetime
) -> list[Person]:
    """Whoever handles the family's open concern hears that the family cannot be reached; returns them."""
    ids = (
        [concern.claimed_by_id]
        if concern.claimed_by_id is not None
        else concern_store.notified_ids(session=session, concern_id=concern.id or 0)
    )
    recipients = reachable_coordinators(session, ids)
    for coordinator in recipients:
        with use_language(coordinator.language):
            text = _(
                "⚠️ {name} can no longer be reached through the bot (they may have blocked it). "
                "Their concern is still open."
            ).format(name=hi(name_of(family)))
            text += "\n\n" + concern_card(
                session, services, concern, language=coordinator.language, level=0, private=True, now=now
            )
            buttons = concern_buttons(concern, private=True)
        enqueue(
            session=session,
            to=ToPerson(coordinator),
            message=Outgoing(text=text, buttons=buttons, purpose="alert"),
            key=f"concern:{concern.id}:familyunreachable:{coordinator.id}:{int(now.timestamp())}",
            now=now,
        )
    return recipients


def family_unreachable(*, session: Session, services: Services, family: Person, now: datetime) -> Concern | None:
    """A family blocked the bot: flagged on its open concern (who handles it hears now), or a new concern."""
    assert family.id is not None
    concern = family_concern(session, family.id)
    if concern is None:
        return no_contact(session=session, services=services, family=family, reason="unreachable", now=now)
    assert concern.id is not None
    if concern.source in ("no_contact", "unreachable"):
        return None
    timeline.note(session=session, about=concern, kind="unreachable", now=now)
    recipients = _flag_unreachable(session, services, concern, family, now)
    topic_note(
        session,
        services,
        family,
        f"topic:unreachable:{concern.id}:{int(now.timestamp())}",
        N_("⚠️ {name} can no longer be reached through the bot (they may have blocked it). Get in touch another way."),
        now,
        name=hi(name_of(family)),
    )
    if not recipients and not concern.waiting_since:
        # Nobody was told of the concern yet: the chain starts again and says so on the card.
        alert_level(
            session=session,
            services=services,
            concern=concern,
            level=concern.escalation_level,
            now=now,
            round_key=f":f{int(now.timestamp())}",
        )
    return concern


def report_undelivered(*, session: Session, row: OutboxMessage, now: datetime) -> None:
    """A coordinator's message to a family (or volunteer) was refused: tell that coordinator, where they wrote."""
    report = row.payload.get(REPORT_KEY)
    if not isinstance(report, dict):
        return
    coordinator = person_of(session, int(report.get("by") or 0))
    to = person_of(session, int(report.get("to") or 0))
    chat_id, message_id = report.get("chat"), report.get("message")
    if coordinator is None or not isinstance(chat_id, int) or not isinstance(message_id, int):
        return
    with use_language(coordinator.language):
        text = not_reached_text(name_of(to))
    thread = report.get("thread") if isinstance(report.get("thread"), int) else None
    private = chat_id == coordinator.telegram_id and thread is None
    message = Outgoing(
        text=text,
        extra={"reply_parameters": {"message_id": message_id, "allow_sending_without_reply": True}},
        purpose="alert",
    )
    recipient = ToPerson(coordinator) if private else ToChat(chat_id, thread)
    with use_language(coordinator.language):
        enqueue(session=session, to=recipient, message=message, key=f"notdelivered:{chat_id}:{message_id}", now=now)


# --- what the sender calls when Telegram refuses for good ----------------------------------------


def task_lines(session: Session, tasks: list[HelpRequest]) -> str:
    """'• Babysitting for Hanna, Tue 24 Nov 18:00' for each task."""
    lines = []
    for task in tasks[:10]:
        family = people.get_person(session=session, person_id=task.family_id)
        lines.append(
            _("• {task} for {family}, {when}").format(
                task=h(kind_label(task.kind)),
                family=hi(name_of(family) if family else _("(no name)")),
                when=h(when_text(task, family.timezone if family else "Europe/Amsterdam", current_language())),
            )
        )
    return "\n".join(lines)


def _unreachable_text(session: Session, person: Person, tasks: list[HelpRequest], *, rerouted: bool) -> str:
    """For a coordinator: this person cannot be reached (and what that means for their concerns or tasks)."""
    text = _(
        "⚠️ {name} can no longer be reached through the bot (they may have blocked it). Please get in touch another way."
    ).format(name=hi(name_of(person)))
    if rerouted:
        text += "\n" + _("Their open concerns have gone to the other coordinators.")
    if tasks:
        text += "\n\n" + _("Accepted tasks they can no longer be told about:") + "\n" + task_lines(session, tasks)
    return text


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
    if person.role == Role.FAMILY:
        people.add_timeline(session=session, family_id=person.id, kind="unreachable", now=now)
        if services is not None and person.consent_at is not None:
            family_unreachable(session=session, services=services, family=person, now=now)
            return True
    rerouted = person.role == Role.COORDINATOR and services is not None
    if rerouted:
        assert services is not None
        coordinator_unreachable(session=session, services=services, coordinator=person, now=now)
    tasks = (
        requests_store.volunteer_tasks(session=session, volunteer_id=person.id) if person.role == Role.VOLUNTEER else []
    )
    for coordinator in coordinators_for(session, person):
        if not coordinator.reachable:
            continue
        tell(
            session=session,
            person=coordinator,
            key=f"unreachable:{person.id}:{coordinator.id}:{now:%Y%m%d}",
            now=now,
            purpose="alert",
            text=lambda: _unreachable_text(session, person, tasks, rerouted=rerouted),
        )
    return True


def blocked_the_bot(*, session: Session, services: Services, person_id: int, now: datetime) -> bool:
    """Telegram says this person blocked the bot: act now (read fresh), not only when the next message bounces."""
    person = people.get_person(session=session, person_id=person_id)
    if person is None:
        return False
    return person_unreachable(session=session, person=person, now=now, services=services)


def person_reachable_again(*, session: Session, person: Person, now: datetime, services: Services) -> bool:
    """They wrote to the bot (or unblocked it): messages reach them again; a coordinator gets what waited."""
    if person.id is None or not people.set_reachable(session=session, person_id=person.id, reachable=True, now=now):
        return False
    person.reachable = True
    person.unreachable_since = None
    if person.role == Role.FAMILY:
        people.add_timeline(session=session, family_id=person.id, kind="reachable_again", now=now)
    if (person.role == Role.COORDINATOR and person.consent_at is not None) or person.is_admin:
        deliver_waiting(session=session, services=services, now=now)
    return True


def on_unreachable(
    *, session: Session, row: OutboxMessage, reason: str, now: datetime, services: Services | None = None
) -> None:
    """Telegram refused for good (blocked, deactivated, chat not found): whoever wrote hears, nothing waits."""
    if services is not None and row.payload.get(REPORT_KEY) is not None:
        report_undelivered(session=session, row=row, now=now)
    person = person_of(session, row.person_id)
    if person is not None:
        person_unreachable(session=session, person=person, now=now, services=services)


def unreachable_hook(services: Services) -> Callable[..., None]:
    """`on_unreachable` with the services, so a family's silence opens a concern with its escalation chain."""

    def hook(*, session: Session, row: OutboxMessage, reason: str, now: datetime) -> None:
        """The sender's call when a person cannot be reached."""
        on_unreachable(session=session, row=row, reason=reason, now=now, services=services)

    return hook


def on_undeliverable(*, session: Session, row: OutboxMessage, reason: str, now: datetime) -> None:
    """A permanent refusal. Coordinators hear of it, unless the failed message was such an alert."""
    if row.payload.get(REPORT_KEY) is not None:
        report_undelivered(session=session, row=row, now=now)
    if row.purpose == "alert":
        return
    person = person_of(session, row.person_id)
    staff = people.admins(session=session) or people.coordinators(session=session)
    tell_each(
        session=session,
        people=[coordinator for coordinator in staff if person is None or coordinator.id != person.id],
        key=f"undeliverable:{row.id}",
        now=now,
        purpose="alert",
        text=lambda: _("A message to {name} could not be delivered ({reason}).").format(
            name=hi(name_of(person)) if person else _("a chat"), reason=h(reason[:120])
        ),
    )


def on_migrated(services: Services) -> Callable[..., None]:
    """A group became a supergroup: follow it to its new id everywhere it is remembered."""

    def migrate(*, session: Session, old_chat_id: int, new_chat_id: int) -> None:
        """Follow a group that became a supergroup to its new id."""
        follow_group(session=session, settings=services.settings, old_chat_id=old_chat_id, new_chat_id=new_chat_id)
        care.move_chat(session=session, old_chat_id=old_chat_id, new_chat_id=new_chat_id)

    return migrate


def no_contact_job(*, session: Session, job: Any, services: Services, now: datetime) -> None:
    """`concern.no_contact`: a family became unreachable (the sender saw a 403)."""
    family = people.get_person(session=session, person_id=int(job.subject_id or 0))
    if family is None or family.role != Role.FAMILY or family.consent_at is None:
        return
    no_contact(session=session, services=services, family=family, reason="unreachable", now=now)


# The concerns' scheduled work: the next step of an escalation, and "no contact" after a blocked bot.
JOBS: dict[str, JobHandler] = {"concern.escalate": escalate_job, "concern.no_contact": no_contact_job}
