"""Concerns: a family (or a volunteer about a family) reaches a human, and a human acknowledges it.

* A family taps "Talk to someone" (or sends /talk, or agrees to forward a message sent outside a
  dialogue). Text, voice notes and photos are copied to the coordinators as they are (copyMessage:
  contents are never stored here, only message ids).
* A concern goes to the family's primary coordinator with the family's context, then to the duo
  partner, then to everyone (`domain.escalation`), until someone acknowledges it: claims it ("I'll take
  this"), answers the family, or closes it. Every step is a row (`EscalationStep`) and an audit entry.
* Coordinators work from the coordinators' group: one forum topic per family (created by the sender
  when first needed, recreated if deleted) holds the family's timeline. Whatever a coordinator writes in
  the topic goes to the family; the family's answers come back into it. Without a forum the same works by
  replying to the bot's messages, in the group or in a private chat.
* Urgent words (`domain.urgent`) get the safety numbers at once and an alert to every coordinator.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date
from telegram import Bot, InlineKeyboardMarkup, Message, Update
from telegram.error import BadRequest
from telegram.ext import Application, BaseHandler, CallbackQueryHandler, CommandHandler, MessageHandler, filters

from conversations import menu, rights
from conversations.context import BotContext, services_of
from conversations.dialogue import END, STAY, Dialogue
from conversations.ui import (
    answer_button,
    answer_stale,
    callback,
    int_arg,
    keyboard,
    markup_json,
    parse_callback,
    reply,
    reply_to_message,
    retire_buttons,
    stale_text,
)
from domain import escalation as rules
from domain import relaypace
from domain.language import detect_language, worth_offering
from domain.priority import Priority
from domain.urgent import SAFETY_NUMBERS, SafetyNumber, UrgentCategory, detect_urgent, numbers_for
from services.context import JobHandler, Services
from services.groups import coordinator_group, set_coordinator_group
from services.i18n import (
    LANGUAGE_NAMES,
    N_,
    _,
    current_language,
    directed,
    format_when,
    h,
    hi,
    isolate,
    language_name,
    shipped_languages,
    use_language,
)
from services.labels import ANSWER_EMOJI, name_of
from services.logs import event
from storage import care, delivery, people
from storage import rights as rights_store
from storage.db import Session
from storage.models import CheckIn, Concern, OutboxMessage, Person, Role

logger = logging.getLogger(__name__)

PREFIX = "cc"  # concern buttons: take, close, nonote, fam
FORWARD = "cf"  # "shall I pass this on?" buttons
TALK = "talk"
CLOSE_NOTE = "concern_close"

# States of the talk dialogue.
CHOOSE_FAMILY = "choose_family"
WRITE = "write"
# State of the close-note dialogue (a coordinator's private chat).
NOTE = "note"

# Payload keys the sender resolves (see TopicResolver); never sent to Telegram.
TOPIC_KEY = "family_topic"
RELAY_KEY = "waakvlam_relay"
# On a coordinator's message to a family: whom to tell when it cannot be delivered (see report_undelivered).
REPORT_KEY = "waakvlam_report"

# A family's free messages go straight to the coordinators this long after a coordinator wrote to it.
RELAY_WINDOW = timedelta(hours=48)
# A header ("from Coco, your coordinator") is repeated only after this much quiet.
HEADER_GAP = timedelta(minutes=30)
# Asked again at most this often, so someone who chose to keep their language is not pestered.
LANGUAGE_OFFER_GAP = timedelta(days=30)
# A detected language is only ever a label; this is what a label may be (ISO 639 codes Babel knows).
KNOWN_LANGUAGE_CODES = frozenset(
    code for code in map(str, Locale("en").languages) if code.isalpha() and len(code) in (2, 3)
)

SOURCE_LABELS = {
    "talk": N_("wants to talk to someone"),
    "message": N_("sent a message for the coordinators"),
    "checkin_not_good": N_("answered the check-in: not good"),
    "checkin_talk": N_("answered the check-in: wants to talk to someone"),
    "checkin_soso": N_("answered the check-in 'so-so' and would like a word with a coordinator"),
    "reopen": N_("tapped 'we need help again'"),
    "no_contact": N_("has not answered the last check-ins: no contact with this family"),
    "unreachable": N_("can no longer be reached through the bot (they may have blocked it)"),
    "urgent": N_("sent a message that suggests danger"),
    "volunteer": N_("a volunteer raised a concern"),
    "task_hard": N_("rated a task as difficult"),
}

MEDIA = (
    filters.TEXT
    | filters.VOICE
    | filters.PHOTO
    | filters.VIDEO
    | filters.VIDEO_NOTE
    | filters.AUDIO
    | filters.Document.ALL
    | filters.LOCATION
)


# --- settings and small helpers -------------------------------------------------------------------


def policy(services: Services) -> rules.EscalationPolicy:
    settings = services.settings
    return rules.EscalationPolicy(
        office_days=tuple(settings.office_days),
        office_start=settings.office_start,
        office_end=settings.office_end,
        wait_office=timedelta(minutes=settings.escalation_wait_office_minutes),
        wait_outside=timedelta(minutes=settings.escalation_wait_outside_minutes),
        morning_rule=settings.escalation_morning_rule,
        zone=settings.timezone,
    )


def is_coordinator(person: Person | None) -> bool:
    return person is not None and person.role == Role.COORDINATOR and person.consent_at is not None


def _enqueue(
    *,
    session: Session,
    key: str,
    chat_id: int,
    payload: dict[str, Any],
    now: datetime,
    method: str = "sendMessage",
    person_id: int | None = None,
    purpose: str = "message",
    priority: Priority | None = None,
    not_before: datetime | None = None,
) -> bool:
    return delivery.enqueue(
        session=session,
        dedupe_key=key[:128],
        chat_id=chat_id,
        payload=payload,
        now=now,
        method=method,
        person_id=person_id,
        purpose=purpose,
        priority=priority,
        not_before=not_before,
    )


def text_payload(chat_id: int, text: str, markup: InlineKeyboardMarkup | None = None) -> dict[str, Any]:
    payload: dict[str, Any] = {"chat_id": chat_id, "text": text, "parse_mode": "HTML"}
    if markup is not None:
        payload["reply_markup"] = markup_json(markup)
    return payload


def relay_meta(to_person_id: int, concern_id: int | None) -> dict[str, Any]:
    """Marks an outgoing message so a reply to it finds its way back to this person."""
    return {"to": to_person_id, "concern": concern_id}


def group_id(services: Services, session: Session) -> int | None:
    return coordinator_group(session=session, settings=services.settings)


def topic_language(session: Session, family: Person | None) -> str:
    """The language the bot writes in inside the coordinators' group: the family's primary's, or an admin's."""
    if family is not None and family.id is not None:
        profile = people.get_family(session=session, person_id=family.id)
        primary = (
            people.get_person(session=session, person_id=profile.primary_coordinator_id)
            if profile and profile.primary_coordinator_id
            else None
        )
        if primary is not None:
            return primary.language
    team = people.admins(session=session) or people.coordinators(session=session)
    return team[0].language if team else "nl"


def post_to_topic(
    *,
    session: Session,
    services: Services,
    family: Person,
    key: str,
    text: str,
    now: datetime,
    markup: InlineKeyboardMarkup | None = None,
    concern_id: int | None = None,
    priority: Priority | None = None,
) -> bool:
    """A line in the family's forum topic (or the group itself, when it has no topics)."""
    group = group_id(services, session)
    if group is None or family.id is None:
        return False
    payload = text_payload(group, text, markup)
    payload[TOPIC_KEY] = family.id
    payload[RELAY_KEY] = relay_meta(family.id, concern_id)
    return _enqueue(
        session=session, key=key, chat_id=group, payload=payload, now=now, purpose="topic", priority=priority
    )


def topic_note(
    session: Session, services: Services, family: Person, key: str, message: str, now: datetime, **values: Any
) -> None:
    """A translated one-liner (msgid marked with N_) for the family's topic, in the group's language."""
    with use_language(topic_language(session, family)):
        text = _(message).format(**values)
    post_to_topic(session=session, services=services, family=family, key=key, text=text, now=now)


# --- what coordinators see about a family ---------------------------------------------------------


def checkin_summary(checkins: Sequence[CheckIn], zone: str, language: str) -> str:
    """'😊 12 Nov · — 26 Nov': the latest answers, oldest first; — for no answer, … for waiting."""
    parts = []
    for checkin in reversed(checkins):
        mark = ANSWER_EMOJI.get(checkin.answer or "", "—" if checkin.missed else "…")
        moment = checkin.sent_at or checkin.due_at
        day = format_date(moment.astimezone(ZoneInfo(zone)).date(), format="d MMM", locale=language)
        parts.append(f"{mark} {h(day)}")
    return " · ".join(parts) if parts else _("none yet")


def family_context(session: Session, family: Person, language: str) -> str:
    """Only what a coordinator needs: name, area, language, the last check-in answers, open requests."""
    assert family.id is not None
    profile = people.get_family(session=session, person_id=family.id)
    area = people.get_area(session=session, area_id=profile.area_id) if profile and profile.area_id else None
    checkins = care.recent_checkins(session=session, family_id=family.id, limit=5)
    requests = care.open_request_count(session=session, family_id=family.id)
    with use_language(language):
        lines = [
            _("<b>{name}</b> · {area} · {language}").format(
                name=hi(name_of(family)),
                area=hi(area.name if area else _("neighbourhood not listed")),
                language=h(LANGUAGE_NAMES.get(family.language, family.language)),
            ),
            _("Recent check-ins: {answers}").format(answers=checkin_summary(checkins, family.timezone, language)),
            _("Open help requests: {count}").format(count=hi(requests)),
        ]
        if not family.reachable:
            lines.append(unreachable_line(family, language))
    return "\n".join(lines)


def unreachable_line(person: Person, language: str) -> str:
    """'⚠️ Cannot be reached through the bot since …': on every card, so nobody counts on the bot."""
    since = person.unreachable_since
    if since is None:
        return _("⚠️ Cannot be reached through the bot (blocked it or left Telegram). Get in touch another way.")
    return _(
        "⚠️ Cannot be reached through the bot since {when} (blocked it or left Telegram). Get in touch another way."
    ).format(when=h(format_when(since, person.timezone, language)))


def audit_opened(session: Session, coordinator: Person, family_id: int, now: datetime, how: str) -> None:
    people.audit(
        session=session, actor_id=coordinator.id, action="family_record_opened", subject_id=family_id, now=now, via=how
    )


# --- safety answer --------------------------------------------------------------------------------


def number_line(number: SafetyNumber) -> str:
    if number.key == "emergency":
        return _("🚨 In danger right now: call {number}.").format(number=hi(number.number))
    if number.key == "veilig_thuis":
        return _(
            "🏠 Violence or abuse at home, or worried about a child: {name}, {number} (free, day and night)."
        ).format(name=h(number.name), number=hi(number.number))
    return _("💬 Thinking about suicide: {name}, call {short} or {number} (free, day and night).").format(
        name=h(number.name), short=hi(number.short_number or ""), number=hi(number.number)
    )


def safety_numbers_text(categories: Sequence[UrgentCategory] = ()) -> str:
    """Every safety number, the ones that fit these categories first."""
    first = list(numbers_for(categories))
    rest = [number for number in SAFETY_NUMBERS.values() if number not in first]
    return "\n".join(number_line(number) for number in first + rest)


def waiting_text() -> str:
    """The truth when no coordinator can receive a concern yet: it is kept, and the numbers for now."""
    return (
        _(
            "No coordinator is available through the bot yet. Your message is kept and will reach the first "
            "coordinator who is; I will tell you when it has."
        )
        + "\n\n"
        + _("If it cannot wait:")
        + "\n"
        + safety_numbers_text()
    )


def is_waiting(concern: Concern | None) -> bool:
    return concern is not None and concern.waiting_since is not None and concern.status != care.ConcernStatus.CLOSED


def family_waiting(session: Session, family_id: int) -> bool:
    """Whether the family's own open concern is still waiting for a coordinator who can receive it."""
    return is_waiting(family_concern(session, family_id))


def when_seen_text(services: Services, person: Person, now: datetime, *, urgent: bool, waiting: bool = False) -> str:
    """What the family is told about when a coordinator will see the message (the truth when nobody can)."""
    if waiting:
        return waiting_text()
    pol = policy(services)
    in_office = rules.is_office_hours(now, pol)
    if urgent:
        if in_office:
            return _("The coordinators have been alerted right away.")
        return _(
            "The coordinators have been alerted. It is outside office hours, so they may only see it by {when}."
        ).format(when=h(format_when(rules.next_office_open(now, pol), person.timezone, person.language)))
    when = h(format_when(rules.expected_contact_by(now, pol), person.timezone, person.language))
    if in_office:
        return _("A coordinator will contact you by {when}.").format(when=when)
    return _("It is outside office hours now. A coordinator will see your message and contact you by {when}.").format(
        when=when
    )


def passed_on_text(services: Services, person: Person, now: datetime, *, new: bool, waiting: bool = False) -> str:
    """The family's confirmation: passed on, when they will hear back, and out of hours the numbers.

    While the concern waits for a coordinator who can receive it, the family hears exactly that.
    """
    if waiting:
        if not new:
            return _("✓ Kept with your earlier message. It will reach the first coordinator who is available.")
        return waiting_text()
    if not new:
        return _("✓ Passed on to your coordinator.")
    lines = [_("✓ I have passed this on to your coordinator."), when_seen_text(services, person, now, urgent=False)]
    if not rules.is_office_hours(now, policy(services)):
        lines.append(_("If it cannot wait:") + "\n" + safety_numbers_text())
    lines.append(_("You can send more (text, a voice note or a photo); I will pass it on too."))
    return "\n\n".join(lines)


# --- raising and escalating -----------------------------------------------------------------------


def _chain_people(session: Session, concern: Concern) -> tuple[int | None, int | None, list[int]]:
    profile = people.get_family(session=session, person_id=concern.family_id) if concern.family_id else None
    everyone = [c.id for c in people.coordinators(session=session) if c.id is not None]
    primary = profile.primary_coordinator_id if profile else None
    partner = profile.partner_coordinator_id if profile else None
    return primary, partner, everyone


def concern_markup(concern: Concern, *, private: bool) -> InlineKeyboardMarkup:
    assert concern.id is not None
    rows = [
        [
            (_("✋ I'll take this"), callback(PREFIX, "take", concern.id)),
            (_("✅ Close"), callback(PREFIX, "close", concern.id)),
        ]
    ]
    if private and concern.family_id is not None:
        rows.append([(_("📋 Family and check-ins"), callback("cr", "open", concern.family_id))])
    return keyboard(rows)


def concern_card(
    session: Session,
    services: Services,
    concern: Concern,
    *,
    language: str,
    level: int,
    private: bool,
    now: datetime,
    rerouted_from: Person | None = None,
) -> str:
    """The alert a coordinator reads: what happened, about whom, and where the messages are."""
    family = people.get_person(session=session, person_id=concern.family_id) if concern.family_id else None
    raiser = people.get_person(session=session, person_id=concern.raised_by_id) if concern.raised_by_id else None
    # Someone who never consented: the alert says only what is needed to answer them (docs/safety.md).
    unconsented = family is None and raiser is not None and raiser.consent_at is None
    with use_language(language):
        if concern.urgent and unconsented:
            head = _(
                "🚨 <b>URGENT</b>: someone who has not signed up wrote a message that suggests danger. "
                "They were shown the emergency numbers. What they wrote is not passed on: they gave no consent. "
                "Please act now: reply to this message to write to them; your reply goes to them."
            )
            return head
        if concern.urgent:
            head = _("🚨 <b>URGENT</b>: {name} sent a message that suggests danger. Please act now.").format(
                name=hi(name_of(family or raiser))
            )
        elif concern.source == "volunteer":
            head = _("🔔 Volunteer {volunteer} raised a concern about {name}.").format(
                volunteer=hi(name_of(raiser)), name=hi(name_of(family)) if family else _("(no family chosen)")
            )
        elif concern.source == "unreachable":
            head = _(
                "⚠️ {name} can no longer be reached through the bot (they may have blocked it). "
                "Please get in touch another way."
            ).format(name=hi(name_of(family)))
        elif concern.source == "no_contact":
            head = _("⚠️ No contact with {name}: the last check-ins were not answered. Please follow up.").format(
                name=hi(name_of(family))
            )
        else:
            head = _("🔔 {name} {what}.").format(
                name=hi(name_of(family)), what=h(_(SOURCE_LABELS.get(concern.source, SOURCE_LABELS["talk"])))
            )
        lines = [head]
        if rerouted_from is not None:
            lines.append(
                _("↪️ {name} can no longer be reached through the bot, so this concern comes to you.").format(
                    name=hi(name_of(rerouted_from))
                )
            )
        if concern.waiting_since is not None:
            lines.append(
                _("⏳ No coordinator could receive this since {when}; it waited for you.").format(
                    when=h(format_when(concern.waiting_since, services.settings.timezone, language))
                )
            )
        if level > rules.LEVEL_PRIMARY and not concern.urgent:
            lines.append(
                _("⏫ Nobody has picked this up since {when}.").format(
                    when=h(format_when(concern.created_at, services.settings.timezone, language))
                )
            )
        task = task_context(session, concern.request_id, concern.raised_by_id, language)
        if task:
            lines.append(task)
        if family is not None:
            lines.append(family_context(session, family, language))
        if concern.source in ("no_contact", "unreachable"):
            pass
        elif private and (group_id(services, session) is None or concern.source == "volunteer" or family is None):
            lines.append(_("Their messages follow below. Reply to any of them to answer; your reply goes to them."))
        elif private:
            lines.append(_("Their messages are in the family's topic in the coordinators' group."))
        else:
            lines.append(_("Whatever you write in this topic goes to the family."))
    return "\n\n".join(lines)


def task_context(session: Session, request_id: int | None, rater_id: int | None, language: str) -> str:
    """Which task a concern raised after a task is about: what, when, which volunteer, and a 'Difficult' rating."""
    if request_id is None:
        return ""
    from conversations import matching
    from storage import requests as request_store

    request = request_store.get_request(session=session, request_id=request_id)
    if request is None:
        return ""
    volunteer = (
        people.get_person(session=session, person_id=request.assigned_volunteer_id)
        if request.assigned_volunteer_id
        else None
    )
    outcome = (
        request_store.get_outcome(session=session, request_id=request.id or 0, person_id=rater_id) if rater_id else None
    )
    zone = people.get_person(session=session, person_id=request.family_id)
    with use_language(language):
        line = _("About the task: {what}, {when}, with volunteer {volunteer}.").format(
            what=h(matching.kind_label(request.kind)),
            when=h(matching.when_text(request, zone.timezone if zone else "Europe/Amsterdam", language)),
            volunteer=hi(name_of(volunteer)),
        )
        if outcome is not None and outcome.rating == "hard":
            line += "\n" + _("They rated it: 😟 Difficult.")
    return line


def task_note(
    *, session: Session, services: Services, concern: Concern, rater: Person, request_id: int, now: datetime
) -> None:
    """A task-related worry that joins an open concern: its context goes to whoever handles that concern."""
    assert concern.id is not None and rater.id is not None
    family = people.get_person(session=session, person_id=concern.family_id) if concern.family_id else None
    if family is not None and concern.source != "volunteer" and group_id(services, session) is not None:
        language = topic_language(session, family)
        with use_language(language):
            text = (
                _("🔔 {name} wrote about a task:").format(name=hi(name_of(rater)))
                + "\n"
                + task_context(session, request_id, rater.id, language)
            )
        post_to_topic(
            session=session,
            services=services,
            family=family,
            key=f"topic:tasknote:{concern.id}:{request_id}:{rater.id}",
            text=text,
            now=now,
            concern_id=concern.id,
        )
        return
    for coordinator in relay_recipients(session, rater, concern):
        assert coordinator.telegram_id is not None
        with use_language(coordinator.language):
            text = (
                _("🔔 {name} wrote about a task:").format(name=hi(name_of(rater)))
                + "\n"
                + task_context(session, request_id, rater.id, coordinator.language)
            )
        payload = text_payload(coordinator.telegram_id, text)
        payload[RELAY_KEY] = relay_meta(rater.id, concern.id)
        _enqueue(
            session=session,
            key=f"tasknote:{concern.id}:{request_id}:{rater.id}:{coordinator.id}",
            chat_id=coordinator.telegram_id,
            payload=payload,
            now=now,
            person_id=coordinator.id,
            purpose="alert",
        )


def _alert(
    session: Session,
    services: Services,
    concern: Concern,
    coordinator: Person,
    *,
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
        markup = concern_markup(concern, private=True)
    payload = text_payload(coordinator.telegram_id, text, markup)
    to = concern.family_id if concern.family_id is not None and concern.source != "volunteer" else concern.raised_by_id
    if to is not None:
        payload[RELAY_KEY] = relay_meta(to, concern.id)
    _enqueue(
        session=session,
        key=f"concern:{concern.id}:{level}{'u' if concern.urgent else ''}:{coordinator.id}{round_key}",
        chat_id=coordinator.telegram_id,
        payload=payload,
        now=now,
        person_id=coordinator.id,
        purpose="alert",
        priority=Priority.URGENT if concern.urgent else Priority.CONCERN,
    )
    family = people.get_person(session=session, person_id=concern.family_id) if concern.family_id else None
    in_topic = group_id(services, session) is not None and concern.source != "volunteer" and family is not None
    if in_topic or concern.source in ("no_contact", "unreachable"):
        return
    for from_chat_id, message_id, writer_id in care.relayed_messages(session=session, concern_id=concern.id):
        # The same key as the first relay: nobody gets a message twice, unless they asked to see it again.
        key = f"relay:{from_chat_id}:{message_id}:{coordinator.id}"
        _enqueue(
            session=session,
            key=f"{key}:{round_key or int(now.timestamp())}" if again else key,
            chat_id=coordinator.telegram_id,
            payload={
                "chat_id": coordinator.telegram_id,
                "from_chat_id": from_chat_id,
                "message_id": message_id,
                RELAY_KEY: relay_meta(writer_id or to or 0, concern.id),
            },
            now=now,
            method="copyMessage",
            person_id=coordinator.id,
            purpose="relay",
        )


def _alert_ids(session: Session, concern: Concern, ids: Sequence[int]) -> list[Person]:
    """The people of a step who can receive an alert now."""
    found: list[Person] = []
    for person_id in ids:
        coordinator = people.get_person(session=session, person_id=person_id)
        if coordinator is None or coordinator.telegram_id is None or not coordinator.reachable:
            continue
        if coordinator.role == Role.COORDINATOR:
            found.append(coordinator)
    return found


def _alert_level(
    session: Session,
    services: Services,
    concern: Concern,
    level: int,
    now: datetime,
    *,
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
    primary, partner, everyone = _chain_people(session, concern)
    level, target, ids = rules.first_reachable_step(
        level=level,
        primary_id=primary,
        partner_id=partner,
        all_ids=everyone,
        urgent=concern.urgent,
        unreachable=care.unreachable_coordinator_ids(session=session),
    )
    recipients = _alert_ids(session, concern, ids)
    if not recipients:
        recipients = [admin for admin in care.reachable_admins(session=session) if admin.id is not None]
    notified: list[int] = []
    for coordinator in recipients:
        assert coordinator.id is not None
        _alert(
            session,
            services,
            concern,
            coordinator,
            level=level,
            now=now,
            round_key=round_key,
            rerouted_from=rerouted_from,
        )
        notified.append(coordinator.id)
        if concern.family_id is not None:
            audit_opened(session, coordinator, concern.family_id, now, "alert")
    care.set_level(session=session, concern_id=concern.id, level=level)
    concern.escalation_level = level
    care.add_escalation_step(
        session=session, concern_id=concern.id, level=level, target=target, notified=notified, now=now
    )
    people.audit(
        session=session,
        actor_id=None,
        action="escalation_step",
        subject_id=concern.family_id,
        now=now,
        concern=concern.id,
        level=level,
        target=target,
        notified=notified,
    )
    if not notified:
        if care.set_waiting(session=session, concern_id=concern.id, since=now):
            concern.waiting_since = now
        event(logger, "concern.waiting", logging.WARNING, concern=concern.id, step=level)
        return target, notified
    if care.set_waiting(session=session, concern_id=concern.id, since=None):
        concern.waiting_since = None
    due = rules.next_escalation_at(level=level, now=now, policy=policy(services), urgent=concern.urgent, target=target)
    if due is not None:
        delivery.schedule_job(
            session=session,
            kind="concern.escalate",
            due_at=due,
            dedupe_key=f"concern.escalate:{concern.id}:{level + 1}{round_key}",
            now=now,
            subject_id=concern.id,
        )
    return target, notified


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
) -> tuple[Concern, bool]:
    """Open a concern (or reuse the family's open one) and alert the first people; returns (concern, new).

    An urgent message about an open concern makes that concern urgent: everyone is alerted at once.
    `request_id` names the task a concern raised after a task is about; its card shows that task. When
    the concern joins an open one, the task's context is sent to whoever handles that one (`task_note`).
    """
    existing: Concern | None = None
    if family is not None and family.id is not None and source != "volunteer":
        existing = family_concern(session, family.id)
    elif raised_by is not None and raised_by.id is not None:
        existing = care.open_concern_raised_by(session=session, person_id=raised_by.id)
        if existing is not None and family is not None and existing.family_id not in (None, family.id):
            existing = None
    if existing is not None and not (urgent and not existing.urgent):
        if request_id is not None and raised_by is not None:
            task_note(
                session=session, services=services, concern=existing, rater=raised_by, request_id=request_id, now=now
            )
        return existing, False
    if existing is not None:
        assert existing.id is not None
        existing.urgent = True
        existing.acknowledged_at = None
        session.add(existing)
        session.flush()
        concern = existing
    else:
        concern = care.create_concern(
            session=session,
            family_id=family.id if family else None,
            raised_by_id=raised_by.id if raised_by else None,
            source="urgent" if urgent else source,
            now=now,
            urgent=urgent,
            language=who.language if (who := raised_by or family) is not None else None,
            request_id=request_id,
        )
    assert concern.id is not None
    level = rules.LEVEL_ALL if urgent else rules.LEVEL_PRIMARY
    _alert_level(session, services, concern, level, now)
    if family is not None:
        people.add_timeline(
            session=session,
            family_id=family.id,
            kind="concern_opened",
            now=now,
            actor_id=raised_by.id if raised_by else None,
            ref_id=concern.id,
            source=concern.source,
            urgent=urgent,
        )
        if source != "volunteer" or urgent:
            with use_language(topic_language(session, family)):
                text = concern_card(
                    session,
                    services,
                    concern,
                    language=topic_language(session, family),
                    level=level,
                    private=False,
                    now=now,
                )
                markup = concern_markup(concern, private=False)
            post_to_topic(
                session=session,
                services=services,
                family=family,
                key=f"topic:concern:{concern.id}:{level}{'u' if urgent else ''}",
                text=text,
                now=now,
                markup=markup,
                concern_id=concern.id,
                priority=Priority.URGENT if urgent else Priority.CONCERN,
            )
        else:
            topic_note(
                session,
                services,
                family,
                f"topic:volunteer:{concern.id}",
                N_("🔔 A volunteer raised a concern about this family; it was sent to the coordinators privately."),
                now,
            )
    event(logger, "concern.opened", concern=concern.id, source=concern.source, urgent=urgent)
    return concern, True


def family_concern(session: Session, family_id: int) -> Concern | None:
    """The family's own open concern (not one a volunteer raised about them)."""
    return care.open_concern(session=session, family_id=family_id, exclude_sources=("volunteer",))


def escalate_job(*, session: Session, job: Any, services: Services, now: datetime) -> None:
    """`concern.escalate`: nobody acknowledged in time, so the next people in the chain are alerted."""
    concern = care.get_concern(session=session, concern_id=int(job.subject_id or 0))
    if concern is None or concern.status == care.ConcernStatus.CLOSED or concern.acknowledged_at is not None:
        return
    level = concern.escalation_level + 1
    if level > rules.LEVEL_ALL:
        return
    target, _notified = _alert_level(session, services, concern, level, now)
    family = people.get_person(session=session, person_id=concern.family_id) if concern.family_id else None
    if family is not None:
        people.add_timeline(
            session=session, family_id=family.id, kind="concern_escalated", now=now, ref_id=concern.id, level=level
        )
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


def target_label(target: str) -> str:
    labels = {
        rules.Target.PRIMARY: _("the primary coordinator"),
        rules.Target.PARTNER: _("the duo partner"),
        rules.Target.ALL: _("all coordinators"),
    }
    return labels.get(rules.Target(target), target)


def no_contact(*, session: Session, services: Services, family: Person, reason: str, now: datetime) -> Concern | None:
    """Contact with a family went quiet (missed check-ins, or the bot was blocked): coordinators follow up."""
    assert family.id is not None
    existing = care.open_concern(session=session, family_id=family.id, sources=("no_contact", "unreachable"))
    if existing is not None:
        return None
    concern, _new = raise_concern(
        session=session, services=services, family=family, raised_by=None, source=reason, now=now
    )
    return concern


def no_contact_job(*, session: Session, job: Any, services: Services, now: datetime) -> None:
    """`concern.no_contact`: a family became unreachable (the sender saw a 403)."""
    family = people.get_person(session=session, person_id=int(job.subject_id or 0))
    if family is None or family.role != Role.FAMILY or family.consent_at is None:
        return
    no_contact(session=session, services=services, family=family, reason="unreachable", now=now)


# --- people the bot cannot reach, and concerns nobody could receive -------------------------------


def _tell_family_kept(session: Session, concern: Concern, now: datetime) -> None:
    """The family was told "passed on", but nobody can receive it after all: tell them the truth."""
    family = people.get_person(session=session, person_id=concern.family_id) if concern.family_id else None
    if family is None or family.telegram_id is None or family.consent_at is None or not family.reachable:
        return
    if concern.source in ("no_contact", "unreachable", "volunteer"):
        return
    with use_language(family.language):
        text = waiting_text()
    _enqueue(
        session=session,
        key=f"concern:{concern.id}:kept",
        chat_id=family.telegram_id,
        payload=text_payload(family.telegram_id, text),
        now=now,
        person_id=family.id,
    )


def deliver_waiting(*, session: Session, services: Services, now: datetime) -> int:
    """Bring every concern that waited for a recipient to the coordinators who can receive it now.

    Called when a coordinator finishes signing up or can be reached again. Each gets the card with its
    buttons and the messages kept so far; the family hears that it has arrived. Returns how many moved.
    """
    delivered = 0
    for concern in care.waiting_concerns(session=session):
        assert concern.id is not None
        _target, notified = _alert_level(
            session, services, concern, concern.escalation_level, now, round_key=f":w{int(now.timestamp())}"
        )
        if not notified:
            continue
        delivered += 1
        family = people.get_person(session=session, person_id=concern.family_id) if concern.family_id else None
        raiser = people.get_person(session=session, person_id=concern.raised_by_id) if concern.raised_by_id else None
        tell = raiser if raiser is not None and concern.source == "volunteer" else family
        if family is not None:
            people.add_timeline(
                session=session, family_id=family.id, kind="concern_delivered", now=now, ref_id=concern.id
            )
        if tell is not None and tell.telegram_id is not None and tell.consent_at is not None and tell.reachable:
            with use_language(tell.language):
                text = _("✓ Your message has now reached a coordinator. They will be in touch.")
            _enqueue(
                session=session,
                key=f"concern:{concern.id}:delivered:{int(now.timestamp())}",
                chat_id=tell.telegram_id,
                payload=text_payload(tell.telegram_id, text),
                now=now,
                person_id=tell.id,
            )
        event(logger, "concern.delivered_after_wait", concern=concern.id, notified=len(notified))
    return delivered


def coordinator_unreachable(*, session: Session, services: Services, coordinator: Person, now: datetime) -> int:
    """A coordinator blocked the bot (or left Telegram): nothing may stay with them.

    Their claimed concerns are released and go to the others with the full context; a concern still
    waiting for them (or for a step of which they were the last reachable person) moves on at once
    instead of waiting out its turn. Returns how many concerns moved.
    """
    assert coordinator.id is not None
    unreachable = care.unreachable_coordinator_ids(session=session) | {coordinator.id}
    moved = 0
    for concern in care.open_concerns(session=session, limit=500):
        concern_id = concern.id
        assert concern_id is not None
        round_key = f":r{coordinator.id}.{int(now.timestamp())}"
        if concern.claimed_by_id == coordinator.id:
            if not care.release_claim(session=session, concern_id=concern_id):
                continue
            concern = care.get_concern(session=session, concern_id=concern_id) or concern
            level = rules.LEVEL_PRIMARY
        elif concern.acknowledged_at is None and concern.waiting_since is None:
            steps = care.escalation_steps(session=session, concern_id=concern_id)
            current = steps[-1] if steps else None
            if current is None or coordinator.id not in current.notified:
                continue
            if any(person_id not in unreachable for person_id in current.notified):
                continue
            level = min(concern.escalation_level + 1, rules.LEVEL_ALL)
        else:
            continue
        delivery.cancel_jobs(session=session, kind="concern.escalate", subject_id=concern_id)
        _target, notified = _alert_level(
            session, services, concern, level, now, round_key=round_key, rerouted_from=coordinator
        )
        moved += 1
        people.audit(
            session=session,
            actor_id=None,
            action="concern_rerouted",
            subject_id=concern.family_id,
            now=now,
            concern=concern.id,
            unreachable=coordinator.id,
            notified=notified,
        )
        family = people.get_person(session=session, person_id=concern.family_id) if concern.family_id else None
        if family is not None:
            people.add_timeline(
                session=session,
                family_id=family.id,
                kind="concern_rerouted",
                now=now,
                actor_id=coordinator.id,
                ref_id=concern.id,
            )
            if concern.source != "volunteer":
                topic_note(
                    session,
                    services,
                    family,
                    f"topic:rerouted:{concern.id}{round_key}",
                    N_("↪️ {coordinator} can no longer be reached through the bot; this concern went to the others."),
                    now,
                    coordinator=hi(name_of(coordinator)),
                )
        if not notified:
            _tell_family_kept(session, concern, now)
    event(logger, "concern.rerouted", coordinator=coordinator.id, moved=moved)
    return moved


def family_unreachable(*, session: Session, services: Services, family: Person, now: datetime) -> Concern | None:
    """A family blocked the bot: flagged on its open concern (who handles it hears now), or a new concern."""
    assert family.id is not None
    concern = family_concern(session, family.id)
    if concern is None:
        return no_contact(session=session, services=services, family=family, reason="unreachable", now=now)
    assert concern.id is not None
    if concern.source in ("no_contact", "unreachable"):
        return None
    people.add_timeline(session=session, family_id=family.id, kind="unreachable", now=now, ref_id=concern.id)
    if concern.claimed_by_id is not None:
        ids = [concern.claimed_by_id]
    else:
        ids = care.notified_ids(session=session, concern_id=concern.id)
    recipients = _alert_ids(session, concern, ids)
    for coordinator in recipients:
        assert coordinator.telegram_id is not None
        with use_language(coordinator.language):
            text = (
                _(
                    "⚠️ {name} can no longer be reached through the bot (they may have blocked it). "
                    "Their concern is still open."
                ).format(name=hi(name_of(family)))
                + "\n\n"
                + concern_card(
                    session, services, concern, language=coordinator.language, level=0, private=True, now=now
                )
            )
            markup = concern_markup(concern, private=True)
        _enqueue(
            session=session,
            key=f"concern:{concern.id}:familyunreachable:{coordinator.id}:{int(now.timestamp())}",
            chat_id=coordinator.telegram_id,
            payload=text_payload(coordinator.telegram_id, text, markup),
            now=now,
            person_id=coordinator.id,
            purpose="alert",
        )
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
        _alert_level(session, services, concern, concern.escalation_level, now, round_key=f":f{int(now.timestamp())}")
    return concern


def report_undelivered(*, session: Session, row: OutboxMessage, now: datetime) -> None:
    """A coordinator's message to a family (or volunteer) was refused: tell that coordinator, where they wrote."""
    report = row.payload.get(REPORT_KEY)
    if not isinstance(report, dict):
        return
    coordinator = people.get_person(session=session, person_id=int(report.get("by") or 0))
    to = people.get_person(session=session, person_id=int(report.get("to") or 0))
    chat_id, message_id = report.get("chat"), report.get("message")
    if coordinator is None or not isinstance(chat_id, int) or not isinstance(message_id, int):
        return
    with use_language(coordinator.language):
        text = not_reached_text(name_of(to))
    payload = text_payload(chat_id, text)
    payload["reply_parameters"] = {"message_id": message_id, "allow_sending_without_reply": True}
    if isinstance(report.get("thread"), int):
        payload["message_thread_id"] = report["thread"]
    _enqueue(
        session=session,
        key=f"notdelivered:{chat_id}:{message_id}",
        chat_id=chat_id,
        payload=payload,
        now=now,
        person_id=coordinator.id if chat_id == coordinator.telegram_id else None,
        purpose="alert",
    )


# --- relaying -------------------------------------------------------------------------------------


def written_in_label(language: str) -> str:
    """'🌐 Written in Turkish', the language named in the reader's own language."""
    return _("🌐 Written in {language}").format(language=h(language_name(language, current_language())))


def relay_pace(services: Services) -> relaypace.Pace:
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


def slowed_text() -> str:
    """The one notice a person gets when their messages are relayed more slowly than they write them."""
    return "\n\n".join(
        [
            _(
                "You are sending a lot at once, so I am passing your messages on a little more slowly. "
                "None are lost: your coordinator gets every one, in the order you sent them."
            ),
            _("If it cannot wait:") + "\n" + safety_numbers_text(),
        ]
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

    One person's messages are paced (domain/relaypace.py): above a burst they are due later, in order,
    so nobody can bury a coordinator; the returned decision says whether to acknowledge or, once, to
    tell them so. An `urgent` message (a danger sign) is not paced and is sent before everything else.
    """
    assert sender.id is not None
    family = (
        people.get_person(session=session, person_id=concern.family_id)
        if concern is not None and concern.family_id
        else (sender if sender.role == Role.FAMILY else None)
    )
    by_volunteer = (concern is not None and concern.source == "volunteer") or sender.role != Role.FAMILY
    copy = {"from_chat_id": from_chat_id, "message_id": message_id}
    concern_id = concern.id if concern else None
    previous_event = care.last_event(session=session, family_id=sender.id, kind="relay_in", actor_id=sender.id)
    previous = _pace_state(previous_event)
    if urgent:
        decision = relaypace.unpaced(previous, now=now)
    else:
        decision = relaypace.next_relay(previous, now=now, pace=relay_pace(services))
    order: dict[str, Any] = {
        "not_before": decision.due,
        "priority": Priority.URGENT if urgent else Priority.NORMAL,
    }
    group = group_id(services, session)
    if family is not None and not by_volunteer and group is not None:
        topic_reader = topic_language(session, family)
        if decision.notice:
            with use_language(topic_reader):
                note = slowed_note(sender)
            _enqueue(
                session=session,
                key=f"relaypace:{from_chat_id}:{message_id}:topic",
                chat_id=group,
                payload={**text_payload(group, note), TOPIC_KEY: family.id},
                now=now,
                purpose="relay",
            )
        if written_in is not None and written_in != topic_reader:
            with use_language(topic_reader):
                label = written_in_label(written_in)
            _enqueue(
                session=session,
                key=f"relaylang:{from_chat_id}:{message_id}:topic",
                chat_id=group,
                payload={**text_payload(group, label), TOPIC_KEY: family.id},
                now=now,
                purpose="relay",
                **order,
            )
        payload = {"chat_id": group, **copy, TOPIC_KEY: family.id, RELAY_KEY: relay_meta(sender.id, concern_id)}
        _enqueue(
            session=session,
            key=f"relay:{from_chat_id}:{message_id}:topic",
            chat_id=group,
            payload=payload,
            now=now,
            method="copyMessage",
            purpose="relay",
            **order,
        )
    else:
        last = previous_event.at if previous_event is not None else None
        for coordinator in relay_recipients(session, sender, concern):
            assert coordinator.telegram_id is not None
            if decision.notice:
                with use_language(coordinator.language):
                    note = slowed_note(sender)
                _enqueue(
                    session=session,
                    key=f"relaypace:{from_chat_id}:{message_id}:{coordinator.id}",
                    chat_id=coordinator.telegram_id,
                    payload=text_payload(coordinator.telegram_id, note),
                    now=now,
                    person_id=coordinator.id,
                    purpose="relay",
                )
            foreign = written_in if written_in is not None and written_in != coordinator.language else None
            if foreign is not None or (not after_card and (last is None or now - last > HEADER_GAP)):
                with use_language(coordinator.language):
                    text = _("💬 From {name}:").format(name=hi(name_of(sender)))
                    if foreign is not None:
                        text += "\n" + written_in_label(foreign)
                payload = text_payload(coordinator.telegram_id, text)
                payload[RELAY_KEY] = relay_meta(sender.id, concern_id)
                _enqueue(
                    session=session,
                    key=f"relayhead:{from_chat_id}:{message_id}:{coordinator.id}",
                    chat_id=coordinator.telegram_id,
                    payload=payload,
                    now=now,
                    person_id=coordinator.id,
                    purpose="relay",
                    **order,
                )
            payload = {"chat_id": coordinator.telegram_id, **copy, RELAY_KEY: relay_meta(sender.id, concern_id)}
            _enqueue(
                session=session,
                key=f"relay:{from_chat_id}:{message_id}:{coordinator.id}",
                chat_id=coordinator.telegram_id,
                payload=payload,
                now=now,
                method="copyMessage",
                person_id=coordinator.id,
                purpose="relay",
                **order,
            )
    # Kinds and ids only: what was written is never kept. The ids let the message be copied later to
    # whoever hears of the concern after this (the next step of the chain, or after it waited).
    people.add_timeline(
        session=session,
        family_id=sender.id,
        kind="relay_in",
        now=now,
        actor_id=sender.id,
        ref_id=concern_id,
        chat_id=from_chat_id,
        message_id=message_id,
        pace=decision.state.theoretical.isoformat(),
        held=decision.held,
    )
    if family is not None and family.id != sender.id:
        people.add_timeline(
            session=session,
            family_id=family.id,
            kind="volunteer_message",
            now=now,
            actor_id=sender.id,
            ref_id=concern_id,
        )
    if decision.notice:
        event(logger, "relay.paced", person_id=sender.id, due_in=round((decision.due - now).total_seconds()))
    return decision


def slowed_note(sender: Person) -> str:
    """For the coordinators, when one person's messages start to be spread out."""
    return _(
        "💬 {name} is sending many messages at once. Every one comes through, in order, but spread out, "
        "so that messages from others are not held up."
    ).format(name=hi(name_of(sender)))


def relay_recipients(session: Session, sender: Person, concern: Concern | None) -> list[Person]:
    """Who gets a relayed message in private chats: the claimer, else everyone alerted, else the family's team.

    Only people who can receive it; nobody while the concern waits (the message goes with the concern to
    the first coordinator who can receive it).
    """
    if is_waiting(concern):
        return []
    ids: list[int] = []
    if concern is not None and concern.id is not None:
        if concern.claimed_by_id is not None:
            ids = [concern.claimed_by_id]
        else:
            ids = care.notified_ids(session=session, concern_id=concern.id)
    if not ids and sender.id is not None:
        last_writer = _last_writer(session, sender.id)
        if last_writer is not None:
            ids = [last_writer]
    if not ids:
        from conversations.alerts import coordinators_for

        return [c for c in coordinators_for(session, sender) if c.telegram_id is not None and c.reachable]
    found = [people.get_person(session=session, person_id=person_id) for person_id in ids]
    return [
        c for c in found if c is not None and c.telegram_id is not None and c.role == Role.COORDINATOR and c.reachable
    ]


def _last_writer(session: Session, person_id: int) -> int | None:
    events = care.timeline(session=session, family_id=person_id, limit=20)
    for item in events:
        if item.kind == "relay_out" and item.actor_id is not None:
            return item.actor_id
    return None


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
        _enqueue(
            session=session,
            key=f"relayouthead:{from_chat_id}:{message_id}",
            chat_id=to.telegram_id,
            payload={**text_payload(to.telegram_id, text), REPORT_KEY: report},
            now=now,
            person_id=to.id,
            purpose="relay",
        )
    _enqueue(
        session=session,
        key=f"relayout:{from_chat_id}:{message_id}",
        chat_id=to.telegram_id,
        payload={
            "chat_id": to.telegram_id,
            "from_chat_id": from_chat_id,
            "message_id": message_id,
            REPORT_KEY: report,
        },
        now=now,
        method="copyMessage",
        person_id=to.id,
        purpose="relay",
    )
    people.add_timeline(session=session, family_id=to.id, kind="relay_out", now=now, actor_id=coordinator.id)
    concern = (
        family_concern(session, to.id)
        if to.role == Role.FAMILY
        else care.open_concern_raised_by(session=session, person_id=to.id)
    )
    if concern is not None and concern.id is not None:
        _take(session, services, concern, coordinator, now, tell_raiser=False)
    return True


def _take(
    session: Session,
    services: Services,
    concern: Concern,
    coordinator: Person,
    now: datetime,
    *,
    tell_raiser: bool = True,
) -> bool:
    """Claim for this coordinator (acknowledging it), tell the others who were alerted and the topic.

    The person who raised it hears who picked it up, unless the coordinator is already writing to them.
    """
    assert concern.id is not None and coordinator.id is not None
    if not care.claim(session=session, concern_id=concern.id, coordinator_id=coordinator.id, now=now):
        care.acknowledge(session=session, concern_id=concern.id, now=now)
        return False
    family = people.get_person(session=session, person_id=concern.family_id) if concern.family_id else None
    people.audit(
        session=session,
        actor_id=coordinator.id,
        action="concern_claimed",
        subject_id=concern.family_id,
        now=now,
        concern=concern.id,
    )
    primary, partner, _everyone = _chain_people(session, concern)
    others = set(care.notified_ids(session=session, concern_id=concern.id))
    others.update(person_id for person_id in (primary, partner) if person_id is not None)
    others.discard(coordinator.id)
    for person_id in sorted(others):
        other = people.get_person(session=session, person_id=person_id)
        if other is None or other.telegram_id is None:
            continue
        with use_language(other.language):
            text = _("✋ {coordinator} has taken the concern about {name}.").format(
                coordinator=hi(name_of(coordinator)), name=hi(name_of(family)) if family else _("(no family)")
            )
        _enqueue(
            session=session,
            key=f"claimed:{concern.id}:{person_id}",
            chat_id=other.telegram_id,
            payload=text_payload(other.telegram_id, text),
            now=now,
            person_id=other.id,
            purpose="alert",
        )
    if family is not None:
        people.add_timeline(
            session=session,
            family_id=family.id,
            kind="concern_claimed",
            now=now,
            actor_id=coordinator.id,
            ref_id=concern.id,
        )
        if concern.source != "volunteer":
            topic_note(
                session,
                services,
                family,
                f"topic:claimed:{concern.id}",
                N_("✋ {coordinator} has taken this."),
                now,
                coordinator=hi(name_of(coordinator)),
            )
    raiser = people.get_person(session=session, person_id=concern.raised_by_id) if concern.raised_by_id else None
    if tell_raiser and raiser is not None and raiser.telegram_id is not None and raiser.consent_at is not None:
        with use_language(raiser.language):
            text = _("{coordinator} from the team has picked up your message and will be in touch.").format(
                coordinator=hi(name_of(coordinator))
            )
        _enqueue(
            session=session,
            key=f"claimed:{concern.id}:raiser",
            chat_id=raiser.telegram_id,
            payload=text_payload(raiser.telegram_id, text),
            now=now,
            person_id=raiser.id,
        )
    event(logger, "concern.claimed", concern=concern.id, coordinator=coordinator.id)
    return True


def close_concern(
    session: Session, services: Services, concern: Concern, coordinator: Person, note: str | None, now: datetime
) -> bool:
    assert concern.id is not None
    if rules.close_needs_note(urgent=concern.urgent, note=note):
        return False
    if not care.close(session=session, concern_id=concern.id, coordinator_id=coordinator.id or 0, note=note, now=now):
        return False
    delivery.cancel_jobs(session=session, kind="concern.escalate", subject_id=concern.id)
    people.audit(
        session=session,
        actor_id=coordinator.id,
        action="concern_closed",
        subject_id=concern.family_id,
        now=now,
        concern=concern.id,
    )
    family = people.get_person(session=session, person_id=concern.family_id) if concern.family_id else None
    if family is not None:
        people.add_timeline(
            session=session,
            family_id=family.id,
            kind="concern_closed",
            now=now,
            actor_id=coordinator.id,
            ref_id=concern.id,
        )
        if concern.source != "volunteer":
            if note:
                topic_note(
                    session,
                    services,
                    family,
                    f"topic:closed:{concern.id}",
                    N_("✅ Closed by {coordinator}: {note}"),
                    now,
                    coordinator=hi(name_of(coordinator)),
                    note=h(note),
                )
            else:
                topic_note(
                    session,
                    services,
                    family,
                    f"topic:closed:{concern.id}",
                    N_("✅ Closed by {coordinator}."),
                    now,
                    coordinator=hi(name_of(coordinator)),
                )
    others = set(care.notified_ids(session=session, concern_id=concern.id))
    others.discard(coordinator.id or 0)
    for person_id in sorted(others):
        other = people.get_person(session=session, person_id=person_id)
        if other is None or other.telegram_id is None:
            continue
        with use_language(other.language):
            text = _("✅ {coordinator} closed the concern about {name}.").format(
                coordinator=hi(name_of(coordinator)), name=hi(name_of(family)) if family else _("(no family)")
            )
        _enqueue(
            session=session,
            key=f"closed:{concern.id}:{person_id}",
            chat_id=other.telegram_id,
            payload=text_payload(other.telegram_id, text),
            now=now,
            person_id=other.id,
        )
    event(logger, "concern.closed", concern=concern.id, coordinator=coordinator.id)
    return True


# --- the family's side ----------------------------------------------------------------------------


def conversation_open(session: Session, person: Person, now: datetime) -> Concern | bool | None:
    """Whether a free message from this person goes straight on: their open concern, or a recent reply."""
    assert person.id is not None
    if person.role == Role.FAMILY:
        concern = family_concern(session, person.id)
    else:
        concern = care.open_concern_raised_by(session=session, person_id=person.id)
    if concern is not None:
        return concern
    last = care.last_event_at(session=session, family_id=person.id, kinds=("relay_out",))
    return last is not None and now - last <= RELAY_WINDOW


def forward_now(
    context: BotContext, person: Person, message: Message, *, source: str, family: Person | None = None
) -> tuple[bool, bool]:
    """Open (or reuse) the concern and copy the message; returns (new concern, reached a coordinator)."""
    services = context.services
    now = context.now()
    with context.session() as session:
        fresh = people.get_person(session=session, person_id=person.id or 0)
        if fresh is None:
            return False, False
        if fresh.role == Role.VOLUNTEER:
            concern, new = raise_concern(
                session=session, services=services, family=family, raised_by=fresh, source="volunteer", now=now
            )
        else:
            concern, new = raise_concern(
                session=session, services=services, family=fresh, raised_by=fresh, source=source, now=now
            )
        relay_in(
            session=session,
            services=services,
            sender=fresh,
            concern=concern,
            from_chat_id=message.chat_id,
            message_id=message.message_id,
            now=now,
            after_card=new,
            written_in=detect_language(message.text or message.caption),
        )
        delivered = not is_waiting(concern)
    return new, delivered


async def outside_message(update: Update, context: BotContext) -> bool:
    """A message outside any dialogue from someone signed up (called by the fallback). True if handled.

    A coordinator's reply to a relayed message goes to its family. A family's or volunteer's message goes
    straight on while a concern is open or a coordinator wrote recently; otherwise it is offered for
    forwarding, so nothing a family writes is silently ignored.
    """
    person = context.person
    message = update.effective_message
    if person is None or person.consent_at is None or message is None or person.id is None:
        return False
    if is_coordinator(person):
        return await coordinator_reply(update, context)
    if person.role not in (Role.FAMILY, Role.VOLUNTEER):
        return False
    written_in = detect_language(message.text or message.caption)
    with context.session() as session:
        fresh = people.get_person(session=session, person_id=person.id)
        assert fresh is not None
        open_ = conversation_open(session, fresh, context.now())
    if open_ is not False:
        concern = open_ if isinstance(open_, Concern) else None
        now = context.now()
        with context.session() as session:
            fresh = people.get_person(session=session, person_id=person.id)
            assert fresh is not None
            paced = relay_in(
                session=session,
                services=context.services,
                sender=fresh,
                concern=concern,
                from_chat_id=message.chat_id,
                message_id=message.message_id,
                now=now,
                written_in=written_in,
            )
        # Five lines in a row need one "passed on"; the first one held back gets the one notice instead.
        # While nobody can receive the concern, each message is confirmed as kept: the truth, every time.
        waiting = is_waiting(concern)
        if paced.notice:
            await reply(update, slowed_text())
        elif paced.ack or waiting:
            await reply(update, passed_on_text(context.services, person, now, new=False, waiting=waiting))
        await offer_language_switch(update, context, written_in)
        return True
    forward = [FORWARD, "yes", message.message_id] + ([written_in] if written_in else [])
    await message.reply_text(
        _("Shall I pass this on to your coordinator? A person will read it.")
        if person.role == Role.FAMILY
        else _("Shall I pass this on to the coordinators? A person will read it."),
        reply_markup=keyboard(
            [
                [(_("Yes, pass it on"), callback(*forward))],
                [(_("No, thanks"), callback(FORWARD, "no"))],
            ]
        ),
    )
    await offer_language_switch(update, context, written_in)
    return True


async def offer_language_switch(update: Update, context: BotContext, written_in: str | None) -> None:
    """Free text in another shipped language than the chosen one: offer, in that language, to switch.

    Only an offer: the person's own choice stays until they tap it.
    """
    person = context.person
    if person is None or person.id is None:
        return
    found = worth_offering(written_in, person.language, shipped_languages())
    if found is None:
        return
    now = context.now()
    with context.session() as session:
        last = care.last_event_at(session=session, family_id=person.id, kinds=("language_offer",))
        if last is not None and now - last < LANGUAGE_OFFER_GAP:
            return
        people.add_timeline(session=session, family_id=person.id, kind="language_offer", now=now)
    current = person.language
    with use_language(found):
        question = _("It looks like you wrote in {language}. Shall I write to you in {language} from now on?").format(
            language=hi(LANGUAGE_NAMES.get(found, found))
        )
        yes = _("Yes, in {language}").format(language=LANGUAGE_NAMES.get(found, found))
    with use_language(current):
        no = _("No, keep {language}").format(language=LANGUAGE_NAMES.get(current, current))
    event(logger, "language.offered", person_id=person.id, language=found)
    await reply(update, question, keyboard([[(yes, callback("lang", found))], [(no, callback("lang", current))]]))


async def forward_button(update: Update, context: BotContext) -> None:
    """'Pass it on?' Yes copies that message (from this chat only) to the coordinators; No does nothing."""
    parts = parse_callback(update.callback_query.data if update.callback_query else None, FORWARD)
    person = context.person
    chat = update.effective_chat
    if not parts or person is None or person.consent_at is None or chat is None or chat.type != "private":
        await answer_stale(update)
        return
    await answer_button(update)
    await retire_buttons(update)
    if parts[0] != "yes" or len(parts) not in (2, 3) or person.role not in (Role.FAMILY, Role.VOLUNTEER):
        await reply(update, _("Alright, I have not passed it on. You can reach a person any time with /talk."))
        return
    message_id = int_arg(parts[1])
    if message_id is None:
        return
    # Only a label for the coordinators, but still untrusted: a known language code or nothing.
    written_in = parts[2] if len(parts) == 3 and parts[2] in KNOWN_LANGUAGE_CODES else None
    services = context.services
    now = context.now()
    with context.session() as session:
        fresh = people.get_person(session=session, person_id=person.id or 0)
        assert fresh is not None
        if fresh.role == Role.VOLUNTEER:
            concern, new = raise_concern(
                session=session, services=services, family=None, raised_by=fresh, source="volunteer", now=now
            )
        else:
            concern, new = raise_concern(
                session=session, services=services, family=fresh, raised_by=fresh, source="message", now=now
            )
        relay_in(
            session=session,
            services=services,
            sender=fresh,
            concern=concern,
            from_chat_id=chat.id,
            message_id=message_id,
            now=now,
            after_card=new,
            written_in=written_in,
        )
        waiting = is_waiting(concern)
    await reply(update, passed_on_text(services, person, now, new=new, waiting=waiting))


# --- urgent words ---------------------------------------------------------------------------------


class _UrgentFilter(filters.MessageFilter):
    """Text or a caption that suggests danger (pure check, no I/O)."""

    def filter(self, message: Message) -> bool:
        text = message.text or message.caption
        return bool(text) and detect_urgent(text or "") is not None


URGENT = _UrgentFilter(name="urgent")


class UrgentScreen(MessageHandler[BotContext, None]):
    """Screens every private message from families, volunteers and newcomers, also inside a dialogue.

    Registered before the dialogues, so a danger sign is answered even in the middle of a help request.
    Coordinators are not screened (their words are professional and a closing note may mention the
    police); like the dialogue router, it reads who is writing from the database.
    """

    def __init__(self) -> None:
        super().__init__(
            filters.UpdateType.MESSAGE & filters.ChatType.PRIVATE & ~filters.COMMAND & URGENT, urgent_message
        )
        self._application: Application[Any, Any, Any, Any, Any, Any] | None = None

    def bind(self, application: Application[Any, Any, Any, Any, Any, Any]) -> None:
        self._application = application

    def check_update(self, update: object) -> Any:
        result = super().check_update(update)
        if not result or self._application is None or not isinstance(update, Update):
            return result
        user = update.effective_user
        if user is None:
            return result
        services = services_of(self._application)
        with services.db.session() as session:
            person = people.get_person_by_telegram_id(session=session, telegram_id=user.id)
        return None if is_coordinator(person) else result


def safety_key(chat_id: int, message_id: int) -> str:
    """The dedupe key of the safety answer to one message: a re-run of its handler sends nothing twice."""
    return f"safety:{chat_id}:{message_id}"


def urgent_outcome_text(
    services: Services, person: Person, now: datetime, *, consented: bool, alerted: bool, waiting: bool = False
) -> str:
    """What the person is told after the numbers: only what happened."""
    if waiting and consented:
        return _(
            "No coordinator is available through the bot yet. Your message is kept and will reach the first "
            "coordinator who is. Please call the numbers above if you or someone else is in danger."
        )
    if not alerted:
        return _("I could not reach a coordinator just now. Please call one of these numbers.")
    if not consented:
        return _(
            "You have not signed up, so I did not pass on what you wrote. I have told the coordinators that "
            "someone here may be in danger; a coordinator may write to you in this chat."
        )
    return (
        _("I have passed your message on to the coordinators.")
        + " "
        + when_seen_text(services, person, now, urgent=True)
    )


def record_urgent(
    *,
    session: Session,
    services: Services,
    sender: Person,
    chat_id: int,
    message_id: int,
    categories: Sequence[UrgentCategory],
    category: str | None,
    written_in: str | None,
    now: datetime,
) -> str:
    """Concern, alerts and the safety answer, in one transaction; returns the answer's outbox key.

    Nothing is sent before this commits, so a failing Telegram cannot lose the alert. Someone who did not
    consent gets the numbers and the coordinators an alert without what they wrote (see docs/safety.md).
    """
    key = safety_key(chat_id, message_id)
    if delivery.outbox_status_by_key(session=session, dedupe_key=key) is not None:
        return key  # handled before (the process died after committing): nothing twice
    consented = sender.consent_at is not None
    family = sender if sender.role == Role.FAMILY and consented else None
    concern, new = raise_concern(
        session=session, services=services, family=family, raised_by=sender, source="urgent", now=now, urgent=True
    )
    assert concern.id is not None
    alerted = bool(care.notified_ids(session=session, concern_id=concern.id))
    if consented:
        relay_in(
            session=session,
            services=services,
            sender=sender,
            concern=concern,
            from_chat_id=chat_id,
            message_id=message_id,
            now=now,
            after_card=new,
            written_in=written_in,
            urgent=True,
        )
    people.audit(
        session=session,
        actor_id=sender.id,
        action="urgent_detected",
        subject_id=family.id if family else sender.id,
        now=now,
        concern=concern.id,
        category=category,
        consented=consented,
        alerted=alerted,
    )
    lines = [
        _("I am a bot, so I cannot help you myself. Please call now if you or someone else is in danger:"),
        safety_numbers_text(categories),
        urgent_outcome_text(services, sender, now, consented=consented, alerted=alerted, waiting=is_waiting(concern)),
    ]
    delivery.enqueue(
        session=session,
        dedupe_key=key,
        chat_id=chat_id,
        person_id=sender.id,
        payload=text_payload(chat_id, directed("\n\n".join(lines), sender.language)),
        now=now,
        purpose="safety",
    )
    return key


async def urgent_message(update: Update, context: BotContext) -> None:
    """Danger in a message: the safety numbers at once, and every coordinator alerted.

    The concern, the coordinators' alerts and the safety answer are committed together first; then the
    answer is sent at once through the outbox (so if Telegram fails, the sender retries it).
    """
    person = context.person
    message = update.effective_message
    chat = update.effective_chat
    if message is None or chat is None:
        return
    if is_coordinator(person):  # pragma: no cover - UrgentScreen lets coordinators' messages pass
        return
    match = detect_urgent(message.text or message.caption or "")
    categories = sorted(match.categories) if match else []
    category = str(match.category) if match else None
    now = context.now()
    services = context.services
    if person is None or person.id is None:  # pragma: no cover - load_person makes one in private chats
        await reply(
            update,
            _("I am a bot, so I cannot help you myself. Please call now if you or someone else is in danger:")
            + "\n\n"
            + safety_numbers_text(categories),
        )
        return
    with context.session() as session:
        fresh = people.get_person(session=session, person_id=person.id)
        assert fresh is not None
        key = record_urgent(
            session=session,
            services=services,
            sender=fresh,
            chat_id=chat.id,
            message_id=message.message_id,
            categories=categories,
            category=category,
            written_in=detect_language(message.text or message.caption),
            now=now,
        )
    event(logger, "urgent.detected", person_id=person.id, category=category)
    if services.deliver_now is not None:
        await services.deliver_now(key)


# --- talk dialogue --------------------------------------------------------------------------------


async def prompt_write(update: Update, context: BotContext) -> None:
    await reply(
        update,
        _(
            "What would you like to tell us? Write it here, or send a voice note or a photo. "
            "I will pass it on to a coordinator as it is."
        ),
    )


async def start_talk(update: Update, context: BotContext) -> str | None:
    """/talk or the menu button: ask what to pass on (a volunteer first chooses which family)."""
    person = context.person
    if update.callback_query is not None:
        await answer_button(update)
    if person is None or person.consent_at is None:
        await reply(update, _("You are not signed up yet. Send /start to begin."))
        return END
    if is_coordinator(person):
        await reply(update, _("This is for families and volunteers. Use /families to see your families."))
        return END
    if person.role == Role.VOLUNTEER:
        with context.session() as session:
            options = [
                (p.id, name_of(p)) for p in care.volunteer_families(session=session, volunteer_id=person.id or 0)
            ]
        if options:
            rows = [[(name, callback(PREFIX, "about", family_id))] for family_id, name in options]
            rows.append([(_("Something else"), callback(PREFIX, "about", "none"))])
            await reply(update, _("Which family is it about?"), keyboard(rows))
            return CHOOSE_FAMILY
    await prompt_write(update, context)
    return WRITE


MAX_HELD = 20


def family_buttons(session: Session, volunteer: Person) -> InlineKeyboardMarkup | None:
    """The 'which family is it about?' buttons for a volunteer: the families they helped, and 'Something else'."""
    options = [(p.id, name_of(p)) for p in care.volunteer_families(session=session, volunteer_id=volunteer.id or 0)]
    if not options:
        return None
    rows = [[(name, callback(PREFIX, "about", family_id))] for family_id, name in options]
    rows.append([(_("Something else"), callback(PREFIX, "about", "none"))])
    return keyboard(rows)


async def hold_message(update: Update, context: BotContext) -> str | None:
    """A volunteer writes before choosing the family: the message is kept and goes on once they choose."""
    message = update.effective_message
    person = context.person
    if message is None or person is None:
        return STAY
    held = list(context.dialogue.get("held") or [])
    if len(held) < MAX_HELD:
        held.append([message.chat_id, message.message_id, detect_language(message.text or message.caption)])
    context.dialogue["held"] = held
    with context.session() as session:
        markup = family_buttons(session, person)
    await reply(
        update,
        _(
            "I have kept your message; it will not get lost. Which family is it about? "
            "Tap a name, or 'Something else'. Then I pass it on."
        ),
        markup,
    )
    return STAY


def forward_held(
    context: BotContext, person: Person, held: Sequence[Sequence[Any]], family: Person | None
) -> tuple[bool, bool]:
    """Pass on the messages a volunteer wrote before choosing the family, in order; returns (new, delivered)."""
    services = context.services
    now = context.now()
    new = False
    with context.session() as session:
        fresh = people.get_person(session=session, person_id=person.id or 0)
        if fresh is None:
            return False, False
        concern, new = raise_concern(
            session=session, services=services, family=family, raised_by=fresh, source="volunteer", now=now
        )
        for index, (chat_id, message_id, written_in) in enumerate(held):
            relay_in(
                session=session,
                services=services,
                sender=fresh,
                concern=concern,
                from_chat_id=int(chat_id),
                message_id=int(message_id),
                now=now,
                after_card=new and index == 0,
                written_in=written_in if isinstance(written_in, str) else None,
            )
    return new, True


def start_writing(*, session: Session, person: Person, family_id: int | None, now: datetime) -> None:
    """Put a volunteer straight into the talk dialogue's writing step, about this family (after a task)."""
    if person.telegram_id is None:
        return
    people.save_dialogue(
        session=session, chat_id=person.telegram_id, dialogue=TALK, step=WRITE, data={"family": family_id}, now=now
    )


async def choose_family(update: Update, context: BotContext) -> str | None:
    """A volunteer picks the family the concern is about (checked again: only families they helped)."""
    parts = parse_callback(update.callback_query.data if update.callback_query else None, PREFIX)
    person = context.person
    if not parts or parts[0] != "about" or len(parts) != 2 or person is None:
        await answer_button(update, _("That button belongs to an earlier question."))
        return STAY
    family_id = int_arg(parts[1]) if parts[1] != "none" else None
    if family_id is not None:
        with context.session() as session:
            allowed = {p.id for p in care.volunteer_families(session=session, volunteer_id=person.id or 0)}
        if family_id not in allowed:
            await answer_stale(update)
            return STAY
    await answer_button(update)
    await retire_buttons(update)
    context.dialogue["family"] = family_id
    held = context.dialogue.get("held") or []
    if held:
        family: Person | None = None
        if family_id is not None:
            with context.session() as session:
                family = people.get_person(session=session, person_id=family_id)
        new, _delivered = forward_held(context, person, held, family)
        await reply(update, passed_on_text(context.services, person, context.now(), new=new))
        return END
    await prompt_write(update, context)
    return WRITE


async def write(update: Update, context: BotContext) -> str | None:
    """The message to pass on, as it is (text, voice note, photo): screened for danger, then copied."""
    message = update.effective_message
    person = context.person
    if message is None or person is None:
        return STAY
    if detect_urgent(message.text or message.caption or "") is not None:
        await urgent_message(update, context)
        return END
    family: Person | None = None
    family_id = context.dialogue.get("family")
    if family_id:
        with context.session() as session:
            family = people.get_person(session=session, person_id=int(family_id))
    new, delivered = forward_now(context, person, message, source="talk", family=family)
    await reply(update, passed_on_text(context.services, person, context.now(), new=new, waiting=not delivered))
    return END


async def write_unexpected(update: Update, context: BotContext) -> str | None:
    """A button or command while we wait for the message."""
    if update.callback_query is not None:
        await answer_button(update, _("That button belongs to an earlier question."))
    await prompt_write(update, context)
    return STAY


# --- coordinators: claim, close, reply ------------------------------------------------------------


def _coordinator_button(update: Update, context: BotContext) -> tuple[list[str], Person] | None:
    parts = parse_callback(update.callback_query.data if update.callback_query else None, PREFIX)
    person = context.person
    if not parts or len(parts) != 2 or not is_coordinator(person):
        return None
    assert person is not None
    return parts, person


async def concern_button(update: Update, context: BotContext) -> None:
    """'I'll take this' and 'Close' on an alert, in a private chat or in the coordinators' group."""
    found = _coordinator_button(update, context)
    if found is None:
        await answer_stale(update)
        return
    (action, value), coordinator = found
    concern_id = int_arg(value)
    now = context.now()
    services = context.services
    closed = False
    with context.session() as session:
        concern = care.get_concern(session=session, concern_id=concern_id or 0)
        if concern is None:
            answer = stale_text()
        elif concern.status == care.ConcernStatus.CLOSED:
            answer = _("This concern is already closed.")
        elif not (decision := _may(session, coordinator, action, concern, now)):
            answer = rights.refusal_text(decision)
        elif action == "take":
            if _take(session, services, concern, coordinator, now):
                answer = _("You have taken this. The others can see it.")
            elif concern.claimed_by_id == coordinator.id:
                answer = _("You have already taken this.")
            else:
                claimer = people.get_person(session=session, person_id=concern.claimed_by_id or 0)
                answer = _("{name} has already taken this.").format(name=isolate(name_of(claimer)))
        elif action == "close":
            answer = _ask_close_note(session, services, concern, coordinator, update, now)
        elif action == "show":
            _alert(
                session,
                services,
                concern,
                coordinator,
                level=concern.escalation_level,
                now=now,
                round_key=f":s{update.update_id}",
                again=True,
            )
            if concern.family_id is not None:
                audit_opened(session, coordinator, concern.family_id, now, "concern_list")
            answer = _("Here it is, with its messages.")
        elif action == "nonote" and rules.close_needs_note(urgent=concern.urgent, note=None):
            answer = urgent_needs_note_text()
        elif action == "nonote":
            people.clear_dialogue(session=session, chat_id=coordinator.telegram_id or 0)
            closed = close_concern(session, services, concern, coordinator, None, now)
            answer = _("Closed.") if closed else _("This concern is already closed.")
        else:
            answer = stale_text()
    await answer_button(update, answer)
    if closed:
        await retire_buttons(update)
        await reply(update, _("✅ Closed. Thank you."))


def concern_label(session: Session, concern: Concern) -> str:
    """'🔔 Hanna: wants to talk to someone', for lists and buttons."""
    family = people.get_person(session=session, person_id=concern.family_id) if concern.family_id else None
    raiser = people.get_person(session=session, person_id=concern.raised_by_id) if concern.raised_by_id else None
    mark = "🚨" if concern.urgent else ("⏳" if concern.waiting_since is not None else "🔔")
    return _("{mark} {name}: {what}").format(
        mark=mark,
        name=name_of(family or raiser),
        what=_(SOURCE_LABELS.get(concern.source, SOURCE_LABELS["talk"])),
    )


def open_concern_rows(session: Session, concerns: Sequence[Concern]) -> list[list[tuple[str, str]]]:
    """One button per open concern; tapping it sends its card and messages, to take, answer or close it."""
    rows = []
    for concern in concerns:
        assert concern.id is not None
        rows.append([(concern_label(session, concern)[:60], callback(PREFIX, "show", concern.id))])
    return rows


async def list_concerns(update: Update, context: BotContext) -> None:
    """/concerns (or the menu): every open concern, the waiting ones marked, each one tap from its card."""
    if update.callback_query is not None:
        await answer_button(update)
    coordinator = context.person
    if not is_coordinator(coordinator):
        await reply(update, _("This is for coordinators."))
        return
    assert coordinator is not None
    with context.session() as session:
        # Only the concerns this coordinator may take: another duo's families stay out of the list.
        found = [
            concern
            for concern in care.open_concerns(session=session, limit=200)
            if rights.check(session, coordinator, rights.Action.CLAIM_CONCERN, concern=concern, audit=False)
        ][:30]
        lines = [_("<b>Open concerns</b>")]
        for concern in found:
            claimer = people.get_person(session=session, person_id=concern.claimed_by_id or 0)
            state = (
                _("taken by {name}").format(name=hi(name_of(claimer)))
                if claimer is not None
                else _("waiting for a coordinator who can receive it")
                if concern.waiting_since is not None
                else _("not taken yet")
            )
            lines.append(
                _("{label} · since {when} · {state}").format(
                    label=h(concern_label(session, concern)),
                    when=h(format_when(concern.created_at, context.services.settings.timezone, coordinator.language)),
                    state=state,
                )
            )
        rows = open_concern_rows(session, found)
    if not found:
        await reply(update, _("There are no open concerns."))
        return
    lines.append(_("Tap one to see it with its messages, and take, answer or close it."))
    await reply(update, "\n".join(lines), keyboard(rows))


def _may(session: Session, coordinator: Person, action: str, concern: Concern, now: datetime) -> rights.Decision:
    """Seeing, taking and closing: only coordinators alerted about the concern, the family's duo, or an admin."""
    what = rights.Action.CLAIM_CONCERN if action in ("take", "show") else rights.Action.CLOSE_CONCERN
    return rights.check(session, coordinator, what, concern=concern, now=now)


def urgent_needs_note_text() -> str:
    return _("An urgent concern is closed only with a short note of what was done. Please write one.")


def _ask_close_note(
    session: Session, services: Services, concern: Concern, coordinator: Person, update: Update, now: datetime
) -> str:
    """Closing asks for a short note in the coordinator's private chat (a group is shared by everyone)."""
    assert concern.id is not None and coordinator.telegram_id is not None
    people.save_dialogue(
        session=session,
        chat_id=coordinator.telegram_id,
        dialogue=CLOSE_NOTE,
        step=NOTE,
        data={"concern": concern.id},
        now=now,
    )
    family = people.get_person(session=session, person_id=concern.family_id) if concern.family_id else None
    with use_language(coordinator.language):
        name = hi(name_of(family)) if family else _("(no family)")
        markup: InlineKeyboardMarkup | None = None
        if concern.urgent:
            # A danger sign is closed only with a note of what was done (domain.escalation.close_needs_note).
            text = _("Closing the urgent concern about {name}. Write a short note: what was done.").format(name=name)
        else:
            text = _("Closing the concern about {name}. Write a short note (what was done), or tap 'No note'.").format(
                name=name
            )
            markup = keyboard([[(_("No note"), callback(PREFIX, "nonote", concern.id))]])
    _enqueue(
        session=session,
        key=f"closeask:{concern.id}:{coordinator.id}:{int(now.timestamp())}",
        chat_id=coordinator.telegram_id,
        payload=text_payload(coordinator.telegram_id, text, markup),
        now=now,
        person_id=coordinator.id,
    )
    chat = update.effective_chat
    if chat is not None and chat.type == "private":
        return _("Please write a short note.")
    return _("I have sent you a private message to write a short note.")


async def close_note(update: Update, context: BotContext) -> str | None:
    """The coordinator's closing note."""
    message = update.effective_message
    coordinator = context.person
    if message is None or not is_coordinator(coordinator):
        return END
    assert coordinator is not None
    note = " ".join((message.text or "").split())[:500]
    with context.session() as session:
        concern = care.get_concern(session=session, concern_id=int(context.dialogue.get("concern") or 0))
        urgent = concern is not None and concern.urgent
    if not note:
        await reply(update, urgent_needs_note_text() if urgent else _("Please write a short note, or tap 'No note'."))
        return STAY
    with context.session() as session:
        concern = care.get_concern(session=session, concern_id=int(context.dialogue.get("concern") or 0))
        decision = _may(session, coordinator, "close", concern, context.now()) if concern is not None else None
        closed = (
            concern is not None
            and bool(decision)
            and close_concern(session, context.services, concern, coordinator, note, context.now())
        )
    if decision is not None and not decision:
        await reply(update, rights.refusal_text(decision))
        return END
    await reply(update, _("✅ Closed. Thank you.") if closed else _("This concern is already closed."))
    return END


async def close_note_unexpected(update: Update, context: BotContext) -> str | None:
    """Anything but text while a closing note is expected."""
    await reply(update, _("Please write a short note, or tap 'No note'. Send /cancel to keep it open."))
    return STAY


async def coordinator_reply(update: Update, context: BotContext) -> bool:
    """A coordinator replies to a relayed message (private chat or group): it goes to that family."""
    message = update.effective_message
    coordinator = context.person
    if message is None or not is_coordinator(coordinator) or message.reply_to_message is None:
        return False
    assert coordinator is not None
    now = context.now()
    with context.session() as session:
        link = care.get_relay_link(
            session=session, chat_id=message.chat_id, message_id=message.reply_to_message.message_id
        )
        to = people.get_person(session=session, person_id=link.family_id) if link else None
        if to is None or to.id is None:
            return False
        decision = _may_write(session, coordinator, to.id, link.chat_id if link else None, now)
        sent = bool(decision) and relay_out(
            session=session,
            services=context.services,
            coordinator=coordinator,
            to=to,
            from_chat_id=message.chat_id,
            message_id=message.message_id,
            now=now,
        )
        name = name_of(to)
    if not decision:
        await reply_to_message(update, rights.refusal_text(decision))
    elif sent:
        # Only queued: if Telegram refuses it, "✗ Not delivered" follows (report_undelivered).
        await reply_to_message(update, _("✓ On its way to {name}.").format(name=hi(name)))
    else:
        await reply_to_message(update, not_reached_text(name))
    return True


def not_reached_text(name: str) -> str:
    return _(
        "✗ Not delivered: {name} can no longer be reached through the bot (blocked it or left Telegram). "
        "Please get in touch another way."
    ).format(name=hi(name))


# --- the coordinators' group ----------------------------------------------------------------------


def _thread_family(session: Session, message: Message) -> int | None:
    if not message.is_topic_message or message.message_thread_id is None:
        return None
    return care.family_for_thread(session=session, chat_id=message.chat_id, thread_id=message.message_thread_id)


async def group_message(update: Update, context: BotContext) -> None:
    """A coordinator writes in a family's topic, or replies to a relayed message: it goes to the family."""
    message = update.effective_message
    coordinator = context.person
    if message is None or not is_coordinator(coordinator):
        return
    assert coordinator is not None
    with context.session() as session:
        family_id = _thread_family(session, message)
    if family_id is None:
        await coordinator_reply(update, context)
        return
    now = context.now()
    with context.session() as session:
        family = people.get_person(session=session, person_id=family_id)
        if family is None:
            return
        decision = _may_write(session, coordinator, family_id, None, now)
        sent = bool(decision) and relay_out(
            session=session,
            services=context.services,
            coordinator=coordinator,
            to=family,
            from_chat_id=message.chat_id,
            message_id=message.message_id,
            now=now,
            thread_id=message.message_thread_id,
        )
        name = name_of(family)
    if not decision:
        await message.reply_text(rights.refusal_text(decision))
    elif not sent:
        await message.reply_text(not_reached_text(name))


def _may_write(
    session: Session, coordinator: Person, to_id: int, link_chat_id: int | None, now: datetime
) -> rights.Decision:
    """Writing to a family (or a volunteer): see `domain.permissions.authorize`, WRITE_TO_FAMILY."""
    facts = rights_store.relay_facts(
        session=session, to_id=to_id, actor_chat_id=coordinator.telegram_id or 0, link_chat_id=link_chat_id
    )
    return rights.check(session, coordinator, rights.Action.WRITE_TO_FAMILY, family_id=to_id, facts=facts, now=now)


async def group_migrated(update: Update, context: BotContext) -> None:
    """The coordinators' group became a supergroup: follow it to its new id."""
    message = update.effective_message
    if message is None or message.migrate_to_chat_id is None:
        return
    old, new = message.chat_id, int(message.migrate_to_chat_id)
    with context.session() as session:
        if group_id(context.services, session) == old:
            set_coordinator_group(session=session, chat_id=new)
        care.move_topics(session=session, old_chat_id=old, new_chat_id=new)
        care.move_relay_links(session=session, old_chat_id=old, new_chat_id=new)
        delivery.move_chat(session=session, old_chat_id=old, new_chat_id=new)
        people.audit(
            session=session,
            actor_id=None,
            action="coordinator_group_migrated",
            subject_id=None,
            now=context.now(),
            chat_id=new,
        )
    event(logger, "group.migrated", old=old, new=new)


def topic_family(context: BotContext, update: Update) -> int | None:
    message = update.effective_message
    if message is None:
        return None
    with context.session() as session:
        return _thread_family(session, message)


async def close_command(update: Update, context: BotContext) -> None:
    """/close <note> in a family's topic: close the family's open concern with that note."""
    coordinator = context.person
    if not is_coordinator(coordinator):
        return
    assert coordinator is not None
    family_id = topic_family(context, update)
    if family_id is None:
        await reply_in_thread(update, _("Use /close in a family's topic."))
        return
    note = " ".join(context.args or [])[:500] or None
    needs_note = False
    with context.session() as session:
        concern = family_concern(session, family_id)
        decision = _may(session, coordinator, "close", concern, context.now()) if concern is not None else None
        needs_note = concern is not None and rules.close_needs_note(urgent=concern.urgent, note=note)
        closed = (
            concern is not None
            and bool(decision)
            and not needs_note
            and close_concern(session, context.services, concern, coordinator, note, context.now())
        )
    if decision is not None and not decision:
        await reply_in_thread(update, rights.refusal_text(decision))
    elif needs_note:
        await reply_in_thread(
            update, urgent_needs_note_text() + "\n" + _("For example: /close Called her, she is safe.")
        )
    elif not closed:
        await reply_in_thread(update, _("There is no open concern for this family."))


async def take_command(update: Update, context: BotContext) -> None:
    """/take in a family's topic: "I'll take this" for the family's open concern."""
    coordinator = context.person
    if not is_coordinator(coordinator):
        return
    assert coordinator is not None
    family_id = topic_family(context, update)
    if family_id is None:
        await reply_in_thread(update, _("Use /take in a family's topic."))
        return
    with context.session() as session:
        concern = family_concern(session, family_id)
        decision = _may(session, coordinator, "take", concern, context.now()) if concern is not None else None
        taken = (
            concern is not None
            and bool(decision)
            and _take(session, context.services, concern, coordinator, context.now())
        )
    if decision is not None and not decision:
        await reply_in_thread(update, rights.refusal_text(decision))
    elif not taken:
        await reply_in_thread(update, _("There is no open concern for this family that is not taken yet."))


async def reply_in_thread(update: Update, text: str) -> None:
    await reply_to_message(update, text)


# --- the sender's side: forum topics and relay links ----------------------------------------------


def thread_missing(error: BadRequest) -> bool:
    text = error.message.lower()
    return "thread not found" in text or "topic_deleted" in text or "topic deleted" in text or "topic_closed" in text


class TopicResolver:
    """Turns outbox rows aimed at "the family's topic" into real chat and thread ids, at send time.

    A row with `family_topic` goes to the coordinators' group (its current id, also after a migration)
    in that family's forum topic. The topic is created with createForumTopic when missing and created
    again when Telegram says the thread no longer exists. A group without topics gets the message without
    a thread. Rows with `waakvlam_relay` leave a RelayLink once sent, so a reply to them finds its way.
    """

    NOT_FORUM_RECHECK = 600.0

    def __init__(self, services: Services) -> None:
        self.services = services
        self._locks: dict[int, asyncio.Lock] = {}
        self._not_forum: dict[int, float] = {}

    @staticmethod
    def handles(row: OutboxMessage) -> bool:
        return TOPIC_KEY in row.payload or RELAY_KEY in row.payload or REPORT_KEY in row.payload

    def _thread(self, family_id: int, group: int) -> int | None:
        with self.services.db.session() as session:
            topic = care.get_topic(session=session, family_id=family_id)
            return topic.thread_id if topic is not None and topic.chat_id == group else None

    def _topic_name(self, family_id: int) -> tuple[str, str]:
        with self.services.db.session() as session:
            family = people.get_person(session=session, person_id=family_id)
            profile = people.get_family(session=session, person_id=family_id)
            area = people.get_area(session=session, area_id=profile.area_id) if profile and profile.area_id else None
            language = topic_language(session, family)
        name = (family.display_name if family and family.display_name else f"#{family_id}")[:64]
        return (f"{name} · {area.name}" if area else name)[:128], language

    async def thread_for(self, bot: Bot, family_id: int, group: int, *, recreate: bool = False) -> int | None:
        lock = self._locks.setdefault(family_id, asyncio.Lock())
        async with lock:
            if recreate:
                with self.services.db.session() as session:
                    care.drop_topic(session=session, family_id=family_id)
            else:
                thread = self._thread(family_id, group)
                if thread is not None:
                    return thread
            if time.monotonic() < self._not_forum.get(group, 0.0):
                return None
            name, language = self._topic_name(family_id)
            try:
                result = await bot.do_api_request("createForumTopic", api_kwargs={"chat_id": group, "name": name})
            except BadRequest as error:
                # Not a forum (or the bot may not manage topics): plain group messages, replies still work.
                self._not_forum[group] = time.monotonic() + self.NOT_FORUM_RECHECK
                event(logger, "topic.not_forum", logging.WARNING, error=error.message[:80])
                return None
            thread = int(result["message_thread_id"]) if isinstance(result, dict) else None
            if thread is None:
                return None
            now = self.services.clock.now()
            with self.services.db.session() as session:
                care.save_topic(session=session, family_id=family_id, chat_id=group, thread_id=thread)
                family = people.get_person(session=session, person_id=family_id)
                if family is not None and family.consent_at is not None:
                    with use_language(language):
                        header = (
                            family_context(session, family, language)
                            + "\n\n"
                            + _("This topic holds the family's timeline. Whatever you write here goes to the family.")
                        )
                    payload = text_payload(group, header)
                    payload[TOPIC_KEY] = family_id
                    # Right after the message that opened the topic, before anything else waiting for it.
                    delivery.enqueue(
                        session=session,
                        dedupe_key=f"topic:header:{family_id}:{thread}",
                        chat_id=group,
                        payload=payload,
                        now=now,
                        purpose="topic",
                        not_before=now - timedelta(seconds=1),
                    )
                    people.add_timeline(
                        session=session, family_id=family_id, kind="topic_created", now=now, ref_id=thread
                    )
            event(logger, "topic.created", family=family_id, recreated=recreate)
            return thread

    async def call(self, bot: Bot, row: OutboxMessage) -> Any:
        payload = dict(row.payload)
        payload.pop(RELAY_KEY, None)
        payload.pop(REPORT_KEY, None)
        family_id = payload.pop(TOPIC_KEY, None)
        if family_id is None:
            return await bot.do_api_request(row.method, api_kwargs=payload)
        with self.services.db.session() as session:
            group = group_id(self.services, session) or int(payload["chat_id"])
        payload["chat_id"] = group
        thread = await self.thread_for(bot, int(family_id), group)
        if thread is not None:
            payload["message_thread_id"] = thread
        try:
            return await bot.do_api_request(row.method, api_kwargs=payload)
        except BadRequest as error:
            if thread is None or not thread_missing(error):
                raise
        # The topic was deleted in Telegram: make a new one and send there.
        thread = await self.thread_for(bot, int(family_id), group, recreate=True)
        if thread is None:
            payload.pop("message_thread_id", None)
        else:
            payload["message_thread_id"] = thread
        return await bot.do_api_request(row.method, api_kwargs=payload)

    def after_sent(self, *, session: Session, row: OutboxMessage, result: Any, now: datetime) -> None:
        meta = row.payload.get(RELAY_KEY)
        message_id = result.get("message_id") if isinstance(result, dict) else None
        if not isinstance(meta, dict) or message_id is None or not meta.get("to"):
            return
        chat = result.get("chat") if isinstance(result, dict) else None
        chat_id = chat.get("id") if isinstance(chat, dict) else None
        if chat_id is None:
            in_topic = TOPIC_KEY in row.payload
            chat_id = group_id(self.services, session) if in_topic else row.payload.get("chat_id")
        if chat_id is None:
            return
        care.add_relay_link(
            session=session,
            chat_id=int(chat_id),
            message_id=int(message_id),
            family_id=int(meta["to"]),
            concern_id=meta.get("concern"),
            now=now,
        )


# --- registration ---------------------------------------------------------------------------------


def build() -> list[Dialogue]:
    """The talk dialogue and the closing-note dialogue (registered with the dialogue router)."""
    private = filters.ChatType.PRIVATE
    anything = filters.UpdateType.MESSAGE & private & ~filters.COMMAND
    talk = Dialogue(
        name=TALK,
        entry_points=[
            CommandHandler("talk", start_talk, filters=filters.UpdateType.MESSAGE & private),
            CallbackQueryHandler(start_talk, pattern=r"^menu:talk$"),
        ],
        states={
            CHOOSE_FAMILY: [
                CallbackQueryHandler(choose_family, pattern=rf"^{PREFIX}:about:"),
                MessageHandler(anything & MEDIA, hold_message),
                MessageHandler(anything, write_unexpected),
            ],
            WRITE: [
                MessageHandler(anything & MEDIA, write),
                MessageHandler(anything, write_unexpected),
            ],
        },
    )
    note = Dialogue(
        name=CLOSE_NOTE,
        entry_points=[],
        states={
            NOTE: [
                MessageHandler(anything & filters.TEXT, close_note),
                MessageHandler(anything, close_note_unexpected),
            ]
        },
    )
    return [talk, note]


def build_first(application: Application[Any, Any, Any, Any, Any, Any]) -> list[BaseHandler[Any, Any, Any]]:
    """Before the dialogues: the group relay, buttons that work at any time, and the urgent-word screen."""
    group = filters.ChatType.GROUPS
    screen = UrgentScreen()
    screen.bind(application)
    return [
        MessageHandler(group & filters.StatusUpdate.MIGRATE, group_migrated),
        CommandHandler("close", close_command, filters=filters.UpdateType.MESSAGE & group),
        CommandHandler("take", take_command, filters=filters.UpdateType.MESSAGE & group),
        MessageHandler(filters.UpdateType.MESSAGE & group & ~filters.COMMAND & MEDIA, group_message),
        CallbackQueryHandler(concern_button, pattern=rf"^{PREFIX}:(take|close|nonote|show):"),
        CommandHandler("concerns", list_concerns, filters=filters.UpdateType.MESSAGE & filters.ChatType.PRIVATE),
        CallbackQueryHandler(forward_button, pattern=rf"^{FORWARD}:"),
        screen,
    ]


def register_menu() -> None:
    menu.add("talk", N_("Talk to someone"), {str(Role.FAMILY), str(Role.VOLUNTEER)})
    menu.add("concerns", N_("Open concerns"), {str(Role.COORDINATOR)}, list_concerns)


JOBS: dict[str, JobHandler] = {"concern.escalate": escalate_job, "concern.no_contact": no_contact_job}
