"""Relaying: a family's (or volunteer's) messages are copied to the coordinators, a coordinator's back to them.

Contents are never stored here, only message ids (copyMessage). One person's messages are paced
(`domain.relaypace`) so nobody can bury a coordinator; a danger sign is not paced and goes first.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from domain import relaypace
from domain.priority import Priority
from services.claims import take
from services.concerns import family_concern, group_id, is_waiting, name_of, person_of, topic_language
from services.context import Services
from services.escalation import raise_concern
from services.i18n import _, current_language, h, hi, language_name, use_language
from services.logs import event
from services.outbox import REPORT_KEY, Outgoing, ToPerson, ToTopic, enqueue, relay_meta
from services.permissions import Decision, may_write_to
from services.recipients import relay_recipients
from storage import care, dialogue_store, people
from storage import concerns as concern_store
from storage.db import Session, attached
from storage.models import Concern, Person, Role

logger = logging.getLogger(__name__)

# A family's free messages go straight to the coordinators this long after a coordinator wrote to it.
RELAY_WINDOW = timedelta(hours=48)
# A header ("from Coco, your coordinator") is repeated only after this much quiet.
HEADER_GAP = timedelta(minutes=30)
# The talk dialogue (conversations.talk) and its writing step, which a volunteer is put into after a task.
TALK_DIALOGUE = "talk"
WRITE_STEP = "write"
# Asked again at most this often, so someone who chose to keep their language is not pestered.
LANGUAGE_OFFER_GAP = timedelta(days=30)


@dataclass(frozen=True)
class Forwarded:
    """A message passed on: whether it opened a new concern, and whether a coordinator can receive it now."""

    new: bool
    delivered: bool


@dataclass(frozen=True)
class _Copy:
    """One message to copy: where it is, who wrote it, in which order and language."""

    sender: Person
    concern_id: int | None
    from_chat_id: int
    message_id: int
    decision: relaypace.Decision
    priority: Priority
    written_in: str | None


def written_in_label(language: str) -> str:
    """'🌐 Written in Turkish', the language named in the reader's own language."""
    return _("🌐 Written in {language}").format(language=h(language_name(language, current_language())))


def slowed_note(sender: Person) -> str:
    """For the coordinators, when one person's messages start to be spread out."""
    return _(
        "💬 {name} is sending many messages at once. Every one comes through, in order, but spread out, "
        "so that messages from others are not held up."
    ).format(name=hi(name_of(sender)))


def relay_pace(services: Services) -> relaypace.Pace:
    """The relay pace of this deployment's settings."""
    settings = services.settings
    return relaypace.Pace(
        burst=settings.relay_burst,
        every=timedelta(seconds=settings.relay_every_seconds),
        ack_gap=timedelta(seconds=settings.relay_ack_gap_seconds),
    )


def _pace_state(event_row: Any) -> relaypace.PaceState | None:
    """The pace left by a person's previous relayed message (kept on its timeline line: moments, no contents)."""
    if event_row is None:
        return None
    detail = event_row.detail or {}
    try:
        theoretical = datetime.fromisoformat(str(detail["pace"]))
    except (KeyError, ValueError):
        theoretical = event_row.at
    if theoretical.tzinfo is None:
        theoretical = theoretical.replace(tzinfo=UTC)
    return relaypace.PaceState(at=event_row.at, theoretical=theoretical, held=bool(detail.get("held")))


def _copy_message(item: _Copy, **extra: Any) -> Outgoing:
    """The copyMessage of a relayed message, in its turn."""
    return Outgoing(
        method="copyMessage",
        extra={"from_chat_id": item.from_chat_id, "message_id": item.message_id, **extra},
        purpose="relay",
        priority=item.priority,
        not_before=item.decision.due,
    )


def _to_topic(session: Session, group: int, family: Person, item: _Copy, now: datetime) -> None:
    """The family's topic gets the message (after a pace notice or a language label, when there is one)."""
    assert family.id is not None and item.sender.id is not None
    to = ToTopic(group, family.id)
    key = f"{item.from_chat_id}:{item.message_id}:topic"
    # The group's language matters only for a note or a label; most lines need neither (two reads saved).
    if item.decision.notice or item.written_in is not None:
        reader = topic_language(session, family)
        with use_language(reader):
            if item.decision.notice:
                note = Outgoing(text=slowed_note(item.sender), purpose="relay")
                enqueue(session=session, to=to, message=note, key=f"relaypace:{key}", now=now)
            if item.written_in is not None and item.written_in != reader:
                label = written_in_label(item.written_in)
                message = Outgoing(text=label, purpose="relay", priority=item.priority, not_before=item.decision.due)
                enqueue(session=session, to=to, message=message, key=f"relaylang:{key}", now=now)
    message = _copy_message(item, **relay_meta(item.sender.id, item.concern_id))
    enqueue(session=session, to=to, message=message, key=f"relay:{key}", now=now)


def _to_private(session: Session, coordinator: Person, item: _Copy, *, header: bool, now: datetime) -> None:
    """A coordinator's private chat gets the message, after a 'from' line when one is due."""
    assert item.sender.id is not None
    to = ToPerson(coordinator)
    key = f"{item.from_chat_id}:{item.message_id}:{coordinator.id}"
    if item.decision.notice:
        with use_language(coordinator.language):
            note = slowed_note(item.sender)
        enqueue(session=session, to=to, message=Outgoing(text=note, purpose="relay"), key=f"relaypace:{key}", now=now)
    foreign = item.written_in if item.written_in is not None and item.written_in != coordinator.language else None
    if foreign is not None or header:
        with use_language(coordinator.language):
            text = _("💬 From {name}:").format(name=hi(name_of(item.sender)))
            if foreign is not None:
                text += "\n" + written_in_label(foreign)
        message = Outgoing(
            text=text,
            extra=relay_meta(item.sender.id, item.concern_id),
            purpose="relay",
            priority=item.priority,
            not_before=item.decision.due,
        )
        enqueue(session=session, to=to, message=message, key=f"relayhead:{key}", now=now)
    message = _copy_message(item, **relay_meta(item.sender.id, item.concern_id))
    enqueue(session=session, to=to, message=message, key=f"relay:{key}", now=now)


def _remember(session: Session, item: _Copy, family: Person | None, now: datetime) -> None:
    """Kinds and ids only: what was written is never kept.

    The ids let the message be copied later to whoever hears of the concern after this (the next step of
    the chain, or after it waited)."""
    sender = item.sender
    people.add_timeline(
        session=session,
        family_id=sender.id,
        kind="relay_in",
        now=now,
        actor_id=sender.id,
        ref_id=item.concern_id,
        chat_id=item.from_chat_id,
        message_id=item.message_id,
        pace=item.decision.state.theoretical.isoformat(),
        held=item.decision.held,
    )
    if family is not None and family.id != sender.id:
        people.add_timeline(
            session=session,
            family_id=family.id,
            kind="volunteer_message",
            now=now,
            actor_id=sender.id,
            ref_id=item.concern_id,
        )


def relay_in(
    *,
    session: Session,
    services: Services,
    sender: Person,
    concern: Concern | None,
    from_chat_id: int,
    message_id: int,
    now: datetime,
    after_card: bool = False,
    written_in: str | None = None,
    urgent: bool = False,
) -> relaypace.Decision:
    """Copy a family's (or volunteer's) message to the coordinators: the family's topic, or private chats.

    In private chats a short "from" line goes first, unless the concern's card was just sent (`after_card`)
    or the same person wrote a moment ago. `written_in` (the detected language, when other than the
    reader's) is named for the coordinators, so they know at once the message may need a translator.
    The returned pace decision says whether to acknowledge or, once, to tell them they are slowed.
    """
    assert sender.id is not None
    if concern is not None and concern.family_id:
        family = person_of(session, concern.family_id)
    else:
        family = sender if sender.role == Role.FAMILY else None
    by_volunteer = (concern is not None and concern.source == "volunteer") or sender.role != Role.FAMILY
    previous_event = care.last_event(session=session, family_id=sender.id, kind="relay_in", actor_id=sender.id)
    previous = _pace_state(previous_event)
    if urgent:
        decision = relaypace.unpaced(previous, now=now)
    else:
        decision = relaypace.next_relay(previous, now=now, pace=relay_pace(services))
    priority = Priority.URGENT if urgent else Priority.NORMAL
    item = _Copy(sender, concern.id if concern else None, from_chat_id, message_id, decision, priority, written_in)
    group = group_id(services, session, family.id if family is not None else None)
    if family is not None and not by_volunteer and group is not None:
        _to_topic(session, group, family, item, now)
    else:
        last = previous_event.at if previous_event is not None else None
        header = not after_card and (last is None or now - last > HEADER_GAP)
        for coordinator in relay_recipients(session, sender, concern):
            _to_private(session, coordinator, item, header=header, now=now)
    _remember(session, item, family, now)
    if decision.notice:
        event(logger, "relay.paced", person_id=sender.id, due_in=round((decision.due - now).total_seconds()))
    return decision


def relay_out(
    *,
    session: Session,
    services: Services,
    coordinator: Person,
    to: Person,
    from_chat_id: int,
    message_id: int,
    now: datetime,
    thread_id: int | None = None,
) -> bool:
    """Copy a coordinator's message to a family (or volunteer); the reply acknowledges their open concern.

    False when the bot cannot reach them (no chat, or they blocked it). The rows carry who wrote, so a
    refusal found only when sending is reported back to that coordinator (`report_undelivered`).
    """
    assert to.id is not None and coordinator.id is not None
    if to.telegram_id is None or not to.reachable:
        return False
    report = {"by": coordinator.id, "to": to.id, "chat": from_chat_id, "message": message_id, "thread": thread_id}
    last = care.last_event_at(session=session, family_id=to.id, kinds=("relay_out",), actor_id=coordinator.id)
    if last is None or now - last > HEADER_GAP:
        with use_language(to.language):
            text = (
                _("💬 Message from {name}, your coordinator:")
                if to.role == Role.FAMILY
                else _("💬 Message from coordinator {name}:")
            ).format(name=hi(name_of(coordinator)))
        message = Outgoing(text=text, extra={REPORT_KEY: report}, purpose="relay")
        enqueue(
            session=session, to=ToPerson(to), message=message, key=f"relayouthead:{from_chat_id}:{message_id}", now=now
        )
    copy = Outgoing(
        method="copyMessage",
        extra={"from_chat_id": from_chat_id, "message_id": message_id, REPORT_KEY: report},
        purpose="relay",
    )
    enqueue(session=session, to=ToPerson(to), message=copy, key=f"relayout:{from_chat_id}:{message_id}", now=now)
    people.add_timeline(session=session, family_id=to.id, kind="relay_out", now=now, actor_id=coordinator.id)
    concern = (
        family_concern(session, to.id)
        if to.role == Role.FAMILY
        else concern_store.open_concern_raised_by(session=session, person_id=to.id)
    )
    # Read just now: a concern that is claimed and acknowledged needs no claim (two UPDATEs saved per answer).
    if concern is not None and concern.id is not None and not (concern.claimed_by_id and concern.acknowledged_at):
        take(session=session, services=services, concern=concern, coordinator=coordinator, now=now, tell_raiser=False)
    return True


def conversation_open(*, session: Session, person: Person, now: datetime) -> Concern | bool | None:
    """Whether a free message from this person goes straight on: their open concern, or a recent reply."""
    assert person.id is not None
    if person.role == Role.FAMILY:
        concern = family_concern(session, person.id)
    else:
        concern = concern_store.open_concern_raised_by(session=session, person_id=person.id)
    if concern is not None:
        return concern
    last = care.last_event_at(session=session, family_id=person.id, kinds=("relay_out",))
    return last is not None and now - last <= RELAY_WINDOW


@dataclass(frozen=True)
class Relayed:
    """A free message relayed within an open conversation: the pace decision and whether it waits."""

    decision: relaypace.Decision
    waiting: bool


def relay_free_message(
    *,
    session: Session,
    services: Services,
    person: Person,
    from_chat_id: int,
    message_id: int,
    written_in: str | None,
    now: datetime,
) -> Relayed | None:
    """A message outside any dialogue: relayed when a conversation is open, else None (offer to forward it).

    `person` is the writer as this update loaded them; it joins this session without being read again."""
    sender = attached(session=session, row=person)
    open_ = conversation_open(session=session, person=sender, now=now)
    if open_ is False:
        return None
    concern = open_ if isinstance(open_, Concern) else None
    decision = relay_in(
        session=session,
        services=services,
        sender=sender,
        concern=concern,
        from_chat_id=from_chat_id,
        message_id=message_id,
        now=now,
        written_in=written_in,
    )
    return Relayed(decision, is_waiting(concern))


def forward(
    *,
    session: Session,
    services: Services,
    person_id: int,
    messages: Sequence[tuple[int, int, str | None]],
    source: str,
    now: datetime,
    family_id: int | None = None,
) -> Forwarded | None:
    """Open (or reuse) the concern and copy the messages (chat, message, language) in order.

    A volunteer's concern is about the family `family_id` (or nobody in particular); a family's is about itself."""
    sender = people.get_person(session=session, person_id=person_id)
    if sender is None:
        return None
    family = person_of(session, family_id)
    if sender.role == Role.VOLUNTEER:
        raised = raise_concern(
            session=session, services=services, family=family, raised_by=sender, source="volunteer", now=now
        )
    else:
        raised = raise_concern(
            session=session, services=services, family=sender, raised_by=sender, source=source, now=now
        )
    for index, (chat_id, message_id, written_in) in enumerate(messages):
        relay_in(
            session=session,
            services=services,
            sender=sender,
            concern=raised.concern,
            from_chat_id=chat_id,
            message_id=message_id,
            now=now,
            after_card=raised.new and index == 0,
            written_in=written_in,
        )
    return Forwarded(raised.new, not is_waiting(raised.concern))


def language_offer_due(*, session: Session, person_id: int, now: datetime) -> bool:
    """Whether a language switch may be offered now (not within a month of the last offer); records it."""
    last = care.last_event_at(session=session, family_id=person_id, kinds=("language_offer",))
    if last is not None and now - last < LANGUAGE_OFFER_GAP:
        return False
    people.add_timeline(session=session, family_id=person_id, kind="language_offer", now=now)
    return True


def start_writing(*, session: Session, person: Person, family_id: int | None, now: datetime) -> None:
    """Put a volunteer straight into the talk dialogue's writing step, about this family (after a task)."""
    if person.telegram_id is None:
        return
    dialogue_store.save_dialogue(
        session=session,
        chat_id=person.telegram_id,
        dialogue=TALK_DIALOGUE,
        step=WRITE_STEP,
        data={"family": family_id, "held": []},
        now=now,
    )


def volunteer_families(*, session: Session, volunteer: Person) -> list[tuple[int, str]]:
    """The families (id, name) a volunteer may raise a concern about: those they have (had) a task with."""
    return [
        (family.id, name_of(family))
        for family in care.volunteer_families(session=session, volunteer_id=volunteer.id or 0)
        if family.id is not None
    ]


# --- a coordinator writes to a family -------------------------------------------------------------


@dataclass(frozen=True)
class Written:
    """A coordinator's message to a family: the rights decision, whether it is on its way, and to whom."""

    decision: Decision
    sent: bool
    name: str


def _write(
    session: Session,
    services: Services,
    coordinator: Person,
    to: Person,
    link_chat_id: int | None,
    from_chat_id: int,
    message_id: int,
    thread_id: int | None,
    now: datetime,
) -> Written:
    """Check the right to write to `to`, then copy the coordinator's message to them."""
    assert to.id is not None
    # Read at the start of this update (bot.app.load_person): fresh for the rights check, not read again.
    coordinator = attached(session=session, row=coordinator)
    decision = may_write_to(session=session, coordinator=coordinator, to_id=to.id, link_chat_id=link_chat_id, now=now)
    sent = bool(decision) and relay_out(
        session=session,
        services=services,
        coordinator=coordinator,
        to=to,
        from_chat_id=from_chat_id,
        message_id=message_id,
        now=now,
        thread_id=thread_id,
    )
    return Written(decision, sent, name_of(to))


def reply_to_relayed(
    *,
    session: Session,
    services: Services,
    coordinator: Person,
    chat_id: int,
    replied_to_id: int,
    message_id: int,
    now: datetime,
) -> Written | None:
    """A coordinator replies to a relayed message: it goes to that message's family (None: not a relayed one)."""
    link = care.get_relay_link(session=session, chat_id=chat_id, message_id=replied_to_id)
    to = person_of(session, link.family_id) if link is not None else None
    if link is None or to is None or to.id is None:
        return None
    return _write(session, services, coordinator, to, link.chat_id, chat_id, message_id, None, now)


def write_in_topic(
    *,
    session: Session,
    services: Services,
    coordinator: Person,
    chat_id: int,
    message_id: int,
    thread_id: int | None,
    now: datetime,
) -> Written | Literal[False] | None:
    """A coordinator writes in a family's topic: it goes to the family.

    False: this is no family's topic (the message may be a reply to a relayed one); None: the family is gone."""
    family_id = topic_family(session=session, chat_id=chat_id, thread_id=thread_id)
    if family_id is None:
        return False
    family = person_of(session, family_id)
    if family is None or family.id is None:
        return None
    return _write(session, services, coordinator, family, None, chat_id, message_id, thread_id, now)


def topic_family(*, session: Session, chat_id: int, thread_id: int | None) -> int | None:
    """The family whose forum topic this thread of the chat is, or None (also outside a topic)."""
    if thread_id is None:
        return None
    return care.family_for_thread(session=session, chat_id=chat_id, thread_id=thread_id)
