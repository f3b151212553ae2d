"""Raising a concern and walking its escalation chain until a coordinator acknowledges it.

A concern goes to the family's primary coordinator with the family's context, then to the duo partner, then
to everyone (`domain.escalation`), until someone claims it, answers the family, or closes it. Every step is
a row (`EscalationStep`) and an audit entry; nobody who can receive it means the concern waits.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any, NamedTuple

from domain import escalation as rules
from domain.priority import Priority
from services import timeline
from services.concerns import (
    audit_concern,
    audit_opened,
    concern_buttons,
    concern_card,
    family_concern,
    group_id,
    name_of,
    person_of,
    plan_next_step,
    post_to_topic,
    target_label,
    task_context,
    topic_language,
    topic_note,
)
from services.context import Services
from services.i18n import N_, _, h, hi, use_language
from services.logs import event
from services.outbox import Outgoing, ToPerson, enqueue, relay_meta
from services.recipients import reachable_coordinators, relay_recipients
from storage import concerns as concern_store
from storage import people, teams
from storage.db import Session
from storage.models import Concern, Person

logger = logging.getLogger(__name__)


class RaisedConcern(NamedTuple):
    """The concern a message joined or opened, and whether it is new."""

    concern: Concern
    new: bool


def chain_people(session: Session, concern: Concern) -> tuple[int | None, int | None, list[int]]:
    """The primary, the duo partner and every coordinator: the people of a concern's chain."""
    profile = people.get_family(session=session, person_id=concern.family_id) if concern.family_id else None
    # The chain stays within the family's team: another team's coordinators never hear of its concerns.
    team_id = teams.team_of_family(session=session, family_id=concern.family_id) if concern.family_id else None
    everyone = [c.id for c in people.coordinators(session=session, team_id=team_id) if c.id is not None]
    primary = profile.primary_coordinator_id if profile else None
    partner = profile.partner_coordinator_id if profile else None
    return primary, partner, everyone


def _copy_relayed(
    session: Session,
    concern: Concern,
    coordinator: Person,
    *,
    now: datetime,
    round_key: str,
    again: bool,
    to: int | None,
) -> None:
    """The messages relayed for a concern so far, copied to a coordinator who hears of it now."""
    assert concern.id is not None
    for from_chat_id, message_id, writer_id in concern_store.relayed_messages(session=session, concern_id=concern.id):
        # The same key as the first relay: nobody gets a message twice, unless they asked to see it again.
        key = f"relay:{from_chat_id}:{message_id}:{coordinator.id}"
        extra = {"from_chat_id": from_chat_id, "message_id": message_id, **relay_meta(writer_id or to or 0, concern.id)}
        enqueue(
            session=session,
            to=ToPerson(coordinator),
            message=Outgoing(method="copyMessage", extra=extra, purpose="relay"),
            key=f"{key}:{round_key or int(now.timestamp())}" if again else key,
            now=now,
        )


def alert(
    *,
    session: Session,
    services: Services,
    concern: Concern,
    coordinator: Person,
    level: int,
    now: datetime,
    round_key: str = "",
    rerouted_from: Person | None = None,
    again: bool = False,
) -> None:
    """The card with its buttons, then (in private chats) the messages relayed for it so far.

    So whoever hears of a concern later (the duo partner, everyone, the first coordinator after it
    waited, or someone opening it from a list) reads the same as the first recipient. `again` copies the
    messages even if this coordinator had them already (they asked to see the concern).
    """
    assert concern.id is not None and coordinator.telegram_id is not None
    with use_language(coordinator.language):
        text = concern_card(
            session,
            services,
            concern,
            language=coordinator.language,
            level=level,
            private=True,
            now=now,
            rerouted_from=rerouted_from,
        )
        buttons = concern_buttons(concern, private=True)
    to = concern.family_id if concern.family_id is not None and concern.source != "volunteer" else concern.raised_by_id
    message = Outgoing(
        text=text,
        buttons=buttons,
        extra=relay_meta(to, concern.id) if to is not None else {},
        purpose="alert",
        priority=Priority.URGENT if concern.urgent else Priority.CONCERN,
    )
    key = f"concern:{concern.id}:{level}{'u' if concern.urgent else ''}:{coordinator.id}{round_key}"
    enqueue(session=session, to=ToPerson(coordinator), message=message, key=key, now=now)
    family = person_of(session, concern.family_id)
    in_topic = (
        group_id(services, session, concern.family_id) is not None
        and concern.source != "volunteer"
        and family is not None
    )
    if in_topic or concern.source in ("no_contact", "unreachable"):
        return
    _copy_relayed(session, concern, coordinator, now=now, round_key=round_key, again=again, to=to)


def _record_step(
    session: Session, concern: Concern, level: int, target: str, notified: list[int], now: datetime
) -> None:
    """The step's row and audit entry."""
    assert concern.id is not None
    concern_store.set_level(session=session, concern_id=concern.id, level=level)
    concern.escalation_level = level
    concern_store.add_escalation_step(
        session=session, concern_id=concern.id, level=level, target=target, notified=notified, now=now
    )
    audit_concern(
        session=session,
        by=None,
        action="escalation_step",
        concern=concern,
        now=now,
        level=level,
        target=target,
        notified=notified,
    )


def alert_level(
    *,
    session: Session,
    services: Services,
    concern: Concern,
    level: int,
    now: datetime,
    round_key: str = "",
    rerouted_from: Person | None = None,
) -> tuple[str, list[int]]:
    """Alert the people of one level of the chain, record the step, schedule the next one.

    Recipients who cannot be reached are skipped and an empty step moves on at once
    (`rules.first_reachable_step`). When nobody in the chain can receive it, the reachable admins get it
    (also one who has not finished signing up: the deployment named them); when nobody at all can, the
    concern is marked waiting and `deliver_waiting` brings it to the first coordinator who can.
    `round_key` makes the keys of a second round (re-routing, delivery after waiting) new.
    """
    assert concern.id is not None
    level, target, recipients = _step_recipients(session, concern, level)
    notified: list[int] = []
    for coordinator in recipients:
        assert coordinator.id is not None
        alert(
            session=session,
            services=services,
            concern=concern,
            coordinator=coordinator,
            level=level,
            now=now,
            round_key=round_key,
            rerouted_from=rerouted_from,
        )
        notified.append(coordinator.id)
        if concern.family_id is not None:
            audit_opened(session, coordinator, concern.family_id, now, "alert")
    _record_step(session, concern, level, target, notified, now)
    _after_step(session, services, concern, level, target, notified=bool(notified), now=now, round_key=round_key)
    return target, notified


def _step_recipients(session: Session, concern: Concern, level: int) -> tuple[int, str, list[Person]]:
    """The first step at or after `level` that reaches someone, and whom it reaches (else the reachable admins)."""
    primary, partner, everyone = chain_people(session, concern)
    level, target, ids = rules.first_reachable_step(
        level=level,
        primary_id=primary,
        partner_id=partner,
        all_ids=everyone,
        urgent=concern.urgent,
        unreachable=concern_store.unreachable_coordinator_ids(session=session),
    )
    recipients = reachable_coordinators(session, ids)
    if not recipients:
        recipients = [admin for admin in concern_store.reachable_admins(session=session) if admin.id is not None]
    return level, target, recipients


def _after_step(
    session: Session,
    services: Services,
    concern: Concern,
    level: int,
    target: str,
    *,
    notified: bool,
    now: datetime,
    round_key: str,
) -> None:
    """Mark the concern waiting when the step reached nobody; otherwise clear that and schedule the next step."""
    assert concern.id is not None
    if not notified:
        if concern_store.set_waiting(session=session, concern_id=concern.id, since=now):
            concern.waiting_since = now
        event(logger, "concern.waiting", logging.WARNING, concern=concern.id, step=level)
        return
    if concern_store.set_waiting(session=session, concern_id=concern.id, since=None):
        concern.waiting_since = None
    next_key = f"{level + 1}{round_key}"
    plan_next_step(
        session=session, services=services, concern=concern, level=level, key=next_key, now=now, target=target
    )


def task_note(
    *, session: Session, services: Services, concern: Concern, rater: Person, request_id: int, now: datetime
) -> None:
    """A task-related worry that joins an open concern: its context goes to whoever handles that concern."""
    assert concern.id is not None and rater.id is not None
    family = person_of(session, concern.family_id)
    if (
        family is not None
        and concern.source != "volunteer"
        and group_id(services, session, concern.family_id) is not None
    ):
        language = topic_language(session, family)
        with use_language(language):
            text = _("🔔 {name} wrote about a task:").format(name=hi(name_of(rater))) + "\n"
            text += task_context(session, request_id, rater.id, language)
        key = f"topic:tasknote:{concern.id}:{request_id}:{rater.id}"
        post_to_topic(
            session=session, services=services, family=family, key=key, text=text, now=now, concern_id=concern.id
        )
        return
    for coordinator in relay_recipients(session, rater, concern):
        with use_language(coordinator.language):
            text = _("🔔 {name} wrote about a task:").format(name=hi(name_of(rater))) + "\n"
            text += task_context(session, request_id, rater.id, coordinator.language)
        enqueue(
            session=session,
            to=ToPerson(coordinator),
            message=Outgoing(text=text, extra=relay_meta(rater.id, concern.id), purpose="alert"),
            key=f"tasknote:{concern.id}:{request_id}:{rater.id}:{coordinator.id}",
            now=now,
        )


def _existing_concern(session: Session, family: Person | None, raised_by: Person | None, source: str) -> Concern | None:
    """The open concern a new worry joins: the family's own, or the one this volunteer raised about it."""
    if family is not None and family.id is not None and source != "volunteer":
        return family_concern(session, family.id)
    if raised_by is not None and raised_by.id is not None:
        existing = concern_store.open_concern_raised_by(session=session, person_id=raised_by.id)
        if existing is not None and family is not None and existing.family_id not in (None, family.id):
            return None
        return existing
    return None


def _open_in_topic(
    session: Session, services: Services, family: Person, concern: Concern, *, level: int, now: datetime
) -> None:
    """The family's timeline and topic hear of a new (or newly urgent) concern."""
    urgent = concern.urgent
    if concern.source == "volunteer" and not urgent:
        topic_note(
            session,
            services,
            family,
            f"topic:volunteer:{concern.id}",
            N_("🔔 A volunteer raised a concern about this family; it was sent to the coordinators privately."),
            now,
        )
        return
    language = topic_language(session, family)
    with use_language(language):
        text = concern_card(session, services, concern, language=language, level=level, private=False, now=now)
        buttons = concern_buttons(concern, private=False)
    post_to_topic(
        session=session,
        services=services,
        family=family,
        key=f"topic:concern:{concern.id}:{level}{'u' if urgent else ''}",
        text=text,
        now=now,
        buttons=buttons,
        concern_id=concern.id,
        priority=Priority.URGENT if urgent else Priority.CONCERN,
    )


def raise_concern(
    *,
    session: Session,
    services: Services,
    family: Person | None,
    raised_by: Person | None,
    source: str,
    now: datetime,
    urgent: bool = False,
    request_id: int | None = None,
) -> RaisedConcern:
    """Open a concern (or reuse the family's open one) and alert the first people.

    An urgent message about an open concern makes that concern urgent: everyone is alerted at once.
    `request_id` names the task a concern raised after a task is about; its card shows that task. When
    the concern joins an open one, the task's context is sent to whoever handles that one (`task_note`).
    """
    existing = _existing_concern(session, family, raised_by, source)
    if existing is not None and not (urgent and not existing.urgent):
        if request_id is not None and raised_by is not None:
            task_note(
                session=session, services=services, concern=existing, rater=raised_by, request_id=request_id, now=now
            )
        return RaisedConcern(existing, False)
    if existing is not None:
        concern = concern_store.make_urgent(session=session, concern=existing)
    else:
        who = raised_by or family
        concern = concern_store.create_concern(
            session=session,
            family_id=family.id if family else None,
            raised_by_id=raised_by.id if raised_by else None,
            source="urgent" if urgent else source,
            now=now,
            urgent=urgent,
            language=who.language if who is not None else None,
            request_id=request_id,
        )
    assert concern.id is not None
    level = rules.LEVEL_ALL if urgent else rules.LEVEL_PRIMARY
    alert_level(session=session, services=services, concern=concern, level=level, now=now)
    if family is not None:
        timeline.note(
            session=session,
            about=concern,
            kind="concern_opened",
            now=now,
            by=raised_by,
            source=concern.source,
            urgent=urgent,
        )
        _open_in_topic(session, services, family, concern, level=level, now=now)
    event(logger, "concern.opened", concern=concern.id, source=concern.source, urgent=urgent)
    return RaisedConcern(concern, True)


def escalate_job(*, session: Session, job: Any, services: Services, now: datetime) -> None:
    """`concern.escalate`: nobody acknowledged in time, so the next people in the chain are alerted."""
    concern = concern_store.get_concern(session=session, concern_id=int(job.subject_id or 0))
    if concern is None or concern.status == concern_store.ConcernStatus.CLOSED or concern.acknowledged_at is not None:
        return
    level = concern.escalation_level + 1
    if level > rules.LEVEL_ALL:
        return
    target, _notified = alert_level(session=session, services=services, concern=concern, level=level, now=now)
    family = person_of(session, concern.family_id)
    if family is not None:
        timeline.note(session=session, about=concern, kind="concern_escalated", now=now, level=level)
        if concern.source != "volunteer":
            topic_note(
                session,
                services,
                family,
                f"topic:escalated:{concern.id}:{level}",
                N_("⏫ Nobody has picked this up yet, so it went to: {who}."),
                now,
                who=h(target_label(target)),
            )
    event(logger, "concern.escalated", concern=concern.id, step=level, target=target)


def no_contact(*, session: Session, services: Services, family: Person, reason: str, now: datetime) -> Concern | None:
    """Contact with a family went quiet (missed check-ins, or the bot was blocked): coordinators follow up."""
    assert family.id is not None
    existing = concern_store.open_concern(session=session, family_id=family.id, sources=("no_contact", "unreachable"))
    if existing is not None:
        return None
    raised = raise_concern(session=session, services=services, family=family, raised_by=None, source=reason, now=now)
    return raised.concern
