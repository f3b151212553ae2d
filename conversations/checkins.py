"""Check-ins (the waakvlam): every family keeps a pilot light on.

Each family has a rhythm set by its coordinator (weekly, every two weeks, every four weeks, or off), a
weekday and a part of the day; `domain.checkins` decides the moments, never in quiet hours and never
twice on one day. The check-in is one short message with four one-tap answers. No answer brings one
gentle reminder; missed check-ins in a row (or a blocked bot) bring "no contact" to the coordinator.
After a run of "good" answers the coordinator is offered a lower rhythm (or it is lowered at once when
the coordinator chose that); "We need help again" reopens contact at once.

Scheduled work is rows (`scheduledjob`): `checkin.send` (one pending per family: the next check-in),
`checkin.manual` (a coordinator's "send now" that had to wait for the end of quiet hours),
`checkin.remind` and `checkin.missed` (per check-in).
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any, Literal

from babel.dates import get_day_names
from telegram import InlineKeyboardMarkup, Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, filters

from conversations import concerns, menu
from conversations.context import BotContext
from conversations.ui import (
    answer_button,
    answer_stale,
    callback,
    int_arg,
    keyboard,
    page_of,
    pager_row,
    parse_callback,
    reply,
    retire_buttons,
    stale_text,
)
from domain import checkins as rules
from domain import escalation
from domain.permissions import Facts
from services.context import JobHandler, Services
from services.i18n import N_, _, format_day, format_stamp, format_when, h, hi, ngettext, use_language
from services.logs import event
from services.permissions import Action, authorize, refusal_text
from storage import care, delivery, people
from storage import insight as insight_store
from storage import rights as consent
from storage.db import Session
from storage.models import CheckIn, ConsentRequest, FamilyProfile, Person, Role, TimelineEvent

logger = logging.getLogger(__name__)

PREFIX = "ci"  # a family's answer: ci:<checkin>:<answer>
CONTROL = "cr"  # a coordinator's controls: cr:<action>:<family>[:<value>]
PAUSE = "cp"  # a family's pause buttons: cp:<weeks> or cp:resume

ANSWER_LABELS = {
    rules.Answer.GOOD: N_("😊 Good"),
    rules.Answer.SO_SO: N_("😐 So-so"),
    rules.Answer.NOT_GOOD: N_("😟 Not good"),
    rules.Answer.TALK: N_("💬 I want to talk to someone"),
}
RHYTHM_SENTENCES = {
    rules.Rhythm.WEEKLY: N_("every week"),
    rules.Rhythm.BIWEEKLY: N_("every two weeks"),
    rules.Rhythm.MONTHLY: N_("every four weeks"),
    rules.Rhythm.OFF: N_("off"),
}
RHYTHM_BUTTONS = {
    rules.Rhythm.WEEKLY: N_("Weekly"),
    rules.Rhythm.BIWEEKLY: N_("Every 2 weeks"),
    rules.Rhythm.MONTHLY: N_("Every 4 weeks"),
    rules.Rhythm.OFF: N_("Off"),
}
DAYPART_LABELS = {
    rules.Daypart.MORNING: N_("Morning"),
    rules.Daypart.AFTERNOON: N_("Afternoon"),
    rules.Daypart.EVENING: N_("Evening"),
}
TIMELINE_LABELS = {
    "signed_up": N_("Signed up"),
    "checkin_sent": N_("Check-in sent"),
    "checkin_answered": N_("Check-in answered"),
    "checkin_missed": N_("Check-in not answered"),
    "concern_opened": N_("Concern raised"),
    "concern_escalated": N_("Concern passed on to more coordinators"),
    "concern_claimed": N_("Concern taken by a coordinator"),
    "concern_closed": N_("Concern closed"),
    "relay_in": N_("Message to the coordinators"),
    "relay_out": N_("Message from a coordinator"),
    "volunteer_message": N_("Message from a volunteer about the family"),
    "rhythm_changed": N_("Check-in rhythm changed"),
    "paused": N_("Check-ins paused"),
    "resumed": N_("Check-ins resumed"),
    "reopened": N_("Asked for help again"),
    "unreachable": N_("Could not be reached"),
    "reachable_again": N_("Can be reached through the bot again"),
    "concern_rerouted": N_("Concern passed on: a coordinator could not be reached"),
    "concern_delivered": N_("Concern reached a coordinator after waiting"),
    "concern_reopened": N_("Concern open again: the coordinator who had taken it left"),
    "topic_created": N_("Topic created in the coordinators' group"),
    "language_offer": N_("Offered to write in another language"),
    "offered_back": N_("Offered something back"),
    "request_created": N_("Help request made"),
    "request_offered": N_("Help request offered to volunteers"),
    "request_accepted": N_("Help request accepted by a volunteer"),
    "request_unmatched": N_("Help request not taken by anyone yet"),
    "request_cancelled": N_("Help request cancelled"),
    "request_expired": N_("Help request expired"),
    "request_given_back": N_("Volunteer gave a task back"),
    "request_done": N_("Task done"),
    "request_not_happened": N_("Task did not happen"),
    "request_thanked": N_("Family thanked the volunteer"),
    "task_message": N_("A message about a task passed on between volunteer and family"),
    "support_paired": N_("Paired with a support volunteer"),
}
PAUSE_WEEKS = (1, 2, 3, 4)


def _quiet(services: Services) -> dict[str, Any]:
    settings = services.settings
    return {"quiet_start": settings.quiet_hours_start, "quiet_end": settings.quiet_hours_end}


def rhythm_sentence(rhythm: str) -> str:
    return _(RHYTHM_SENTENCES.get(rules.Rhythm(rhythm), rhythm)) if rhythm in RHYTHM_SENTENCES else rhythm


def weekday_name(weekday: int, language: str, width: Literal["abbreviated", "wide"] = "wide") -> str:
    return str(get_day_names(width, locale=language)[weekday])


def answer_label(answer: str | None) -> str:
    if answer in ANSWER_LABELS:
        return _(ANSWER_LABELS[rules.Answer(answer)])
    return answer or ""


# --- scheduling -----------------------------------------------------------------------------------


def schedule_next(
    *,
    session: Session,
    services: Services,
    family: Person,
    profile: FamilyProfile,
    now: datetime,
    cause: str,
    last_sent: datetime | None = None,
    replace: bool = True,
) -> datetime | None:
    """Replace the family's pending check-in with the next one by its rhythm; None when off.

    The `checkin.send` job itself passes `replace=False`: it was the pending one, so there is nothing to
    cancel (which saves a statement per family when thousands are due at once).
    """
    assert family.id is not None
    if replace:
        delivery.cancel_jobs(session=session, kind="checkin.send", subject_id=family.id)
    if last_sent is None:
        last = care.last_sent_checkin(session=session, family_id=family.id)
        last_sent = last.sent_at if last is not None else None
    due = rules.next_checkin_due(
        rhythm=rules.Rhythm(profile.checkin_rhythm),
        weekday=profile.checkin_weekday,
        daypart=rules.Daypart(profile.checkin_daypart),
        after=now,
        zone=family.timezone,
        last_sent=last_sent,
        paused_until=profile.checkin_paused_until,
        **_quiet(services),
    )
    if due is not None:
        delivery.schedule_job(
            session=session,
            kind="checkin.send",
            due_at=due,
            dedupe_key=f"checkin.send:{family.id}:{due:%Y%m%dT%H%M}:{cause}"[:128],
            now=now,
            subject_id=family.id,
        )
    return due


def start_family(*, session: Session, services: Services, family: Person, now: datetime) -> datetime | None:
    """A family finished sign-up: the default rhythm from the settings, and the first check-in scheduled."""
    assert family.id is not None
    settings = services.settings
    profile = care.set_rhythm(
        session=session,
        family_id=family.id,
        rhythm=settings.checkin_default_rhythm,
        weekday=settings.checkin_default_weekday,
        daypart=settings.checkin_default_daypart,
    )
    if profile is None:
        return None
    return schedule_next(session=session, services=services, family=family, profile=profile, now=now, cause="signup")


def _eligible(session: Session, family_id: int) -> tuple[Person, FamilyProfile] | None:
    family = people.get_person(session=session, person_id=family_id)
    profile = care.get_family_profile(session=session, family_id=family_id)
    if family is None or profile is None or family.role != Role.FAMILY or family.consent_at is None:
        return None
    if family.telegram_id is None:
        return None
    return family, profile


def checkin_markup(checkin_id: int) -> InlineKeyboardMarkup:
    return keyboard(
        [
            [
                (_(ANSWER_LABELS[rules.Answer.GOOD]), callback(PREFIX, checkin_id, rules.Answer.GOOD)),
                (_(ANSWER_LABELS[rules.Answer.SO_SO]), callback(PREFIX, checkin_id, rules.Answer.SO_SO)),
            ],
            [(_(ANSWER_LABELS[rules.Answer.NOT_GOOD]), callback(PREFIX, checkin_id, rules.Answer.NOT_GOOD))],
            [(_(ANSWER_LABELS[rules.Answer.TALK]), callback(PREFIX, checkin_id, rules.Answer.TALK))],
        ]
    )


def send_checkin(
    *, session: Session, services: Services, family: Person, now: datetime, due_at: datetime, manual: bool = False
) -> CheckIn:
    """One check-in: the message with its four answers, a reminder and a 'missed' moment scheduled."""
    assert family.id is not None and family.telegram_id is not None
    settings = services.settings
    checkin = care.create_checkin(session=session, family_id=family.id, due_at=due_at, now=now, manual=manual)
    assert checkin.id is not None
    with use_language(family.language):
        text = _("Hello {name}! How are things at home at the moment? One tap is enough.").format(
            name=hi(family.display_name or "")
        )
        markup = checkin_markup(checkin.id)
    delivery.enqueue(
        session=session,
        dedupe_key=f"checkin:{checkin.id}",
        chat_id=family.telegram_id,
        person_id=family.id,
        payload=concerns.text_payload(family.telegram_id, text, markup),
        now=now,
        purpose="checkin",
    )
    remind_at = rules.reminder_due_at(
        now, after=timedelta(hours=settings.checkin_reminder_hours), zone=family.timezone, **_quiet(services)
    )
    delivery.schedule_job(
        session=session,
        kind="checkin.remind",
        due_at=remind_at,
        dedupe_key=f"checkin.remind:{checkin.id}",
        now=now,
        subject_id=checkin.id,
    )
    delivery.schedule_job(
        session=session,
        kind="checkin.missed",
        due_at=now + timedelta(hours=settings.checkin_answer_hours),
        dedupe_key=f"checkin.missed:{checkin.id}",
        now=now,
        subject_id=checkin.id,
    )
    people.add_timeline(session=session, family_id=family.id, kind="checkin_sent", now=now, ref_id=checkin.id)
    return checkin


def _sent_today(session: Session, family: Person, now: datetime) -> CheckIn | None:
    assert family.id is not None
    last = care.last_sent_checkin(session=session, family_id=family.id)
    if last is None or last.sent_at is None:
        return None
    same_day = rules.local_date(last.sent_at, zone=family.timezone) == rules.local_date(now, zone=family.timezone)
    return last if same_day else None


def send_job(*, session: Session, job: Any, services: Services, now: datetime) -> None:
    """`checkin.send`: the family's rhythmic check-in, then the next one scheduled."""
    found = _eligible(session, int(job.subject_id or 0))
    if found is None:
        return
    family, profile = found
    if profile.checkin_rhythm == rules.Rhythm.OFF:
        return
    cause = f"job{job.id}"
    zone = family.timezone
    paused = profile.checkin_paused_until
    if paused is not None and rules.local_date(now, zone=zone) <= paused:
        schedule_next(session=session, services=services, family=family, profile=profile, now=now, cause=cause)
        return
    if rules.in_quiet_hours(now, zone=zone, **_quiet(services)):
        # The tick ran late (an outage): never in quiet hours, so at their end.
        later = rules.next_allowed_time(now, zone=zone, **_quiet(services))
        delivery.schedule_job(
            session=session,
            kind="checkin.send",
            due_at=later,
            dedupe_key=f"checkin.send:{family.id}:{later:%Y%m%dT%H%M}:{cause}",
            now=now,
            subject_id=family.id,
        )
        return
    earlier = _sent_today(session, family, now)
    if earlier is not None:
        schedule_next(
            session=session, services=services, family=family, profile=profile, now=now, cause=cause, last_sent=now
        )
        return
    send_checkin(session=session, services=services, family=family, now=now, due_at=job.due_at)
    schedule_next(
        session=session,
        services=services,
        family=family,
        profile=profile,
        now=now,
        cause=cause,
        last_sent=now,
        replace=False,
    )
    event(logger, "checkin.sent", family=family.id)


def manual_job(*, session: Session, job: Any, services: Services, now: datetime) -> None:
    """`checkin.manual`: a coordinator's 'send now' that waited for the end of quiet hours."""
    found = _eligible(session, int(job.subject_id or 0))
    if found is None:
        return
    family, _profile = found
    if rules.in_quiet_hours(now, zone=family.timezone, **_quiet(services)) or _sent_today(session, family, now):
        return
    send_checkin(session=session, services=services, family=family, now=now, due_at=job.due_at, manual=True)


def remind_job(*, session: Session, job: Any, services: Services, now: datetime) -> None:
    """`checkin.remind`: one gentle reminder for an unanswered check-in."""
    checkin = care.get_checkin(session=session, checkin_id=int(job.subject_id or 0))
    if checkin is None or checkin.answer is not None or checkin.missed or checkin.reminded_at is not None:
        return
    found = _eligible(session, checkin.family_id)
    if found is None:
        return
    family, _profile = found
    assert family.telegram_id is not None and checkin.id is not None
    if rules.in_quiet_hours(now, zone=family.timezone, **_quiet(services)):
        later = rules.next_allowed_time(now, zone=family.timezone, **_quiet(services))
        delivery.schedule_job(
            session=session,
            kind="checkin.remind",
            due_at=later,
            dedupe_key=f"checkin.remind:{checkin.id}:{later:%Y%m%dT%H%M}",
            now=now,
            subject_id=checkin.id,
        )
        return
    if not care.mark_reminded(session=session, checkin_id=checkin.id, now=now):
        return
    with use_language(family.language):
        text = _("Just a gentle reminder, {name}: how are things? One tap is enough, whenever it suits you.").format(
            name=hi(family.display_name or "")
        )
        markup = checkin_markup(checkin.id)
    delivery.enqueue(
        session=session,
        dedupe_key=f"checkin.remind:{checkin.id}",
        chat_id=family.telegram_id,
        person_id=family.id,
        payload=concerns.text_payload(family.telegram_id, text, markup),
        now=now,
        purpose="checkin",
    )


def missed_job(*, session: Session, job: Any, services: Services, now: datetime) -> None:
    """`checkin.missed`: no answer in time. Enough of those in a row: 'no contact' for the coordinator."""
    checkin = care.get_checkin(session=session, checkin_id=int(job.subject_id or 0))
    if checkin is None or checkin.id is None or not care.mark_missed(session=session, checkin_id=checkin.id):
        return
    family = people.get_person(session=session, person_id=checkin.family_id)
    if family is None or family.consent_at is None:
        return
    missed = care.add_missed(session=session, family_id=checkin.family_id)
    people.add_timeline(session=session, family_id=family.id, kind="checkin_missed", now=now, ref_id=checkin.id)
    language = concerns.topic_language(session, family)
    concerns.topic_note(
        session,
        services,
        family,
        f"topic:missed:{checkin.id}",
        N_("— No answer to the check-in of {day} ({count} in a row)."),
        now,
        day=h(format_day(rules.local_date(checkin.sent_at or checkin.due_at, zone=family.timezone), language)),
        count=hi(missed),
    )
    if rules.is_no_contact(
        missed_in_a_row=missed, threshold=services.settings.checkin_missed_threshold, unreachable=not family.reachable
    ):
        concerns.no_contact(session=session, services=services, family=family, reason="no_contact", now=now)


# --- the family's answers -------------------------------------------------------------------------


async def on_answer(update: Update, context: BotContext) -> None:
    """A check-in button: checked on the server (this family's own check-in, not yet answered), once."""
    parts = parse_callback(update.callback_query.data if update.callback_query else None, PREFIX)
    person = context.person
    checkin_id = int_arg(parts[0]) if parts and len(parts) == 2 else None
    if parts is None or checkin_id is None or person is None or person.role != Role.FAMILY or person.id is None:
        await answer_stale(update)
        return
    choice = parts[1]
    if choice in ("help", "word", "fine"):
        await _so_so_follow_up(update, context, checkin_id, choice)
        return
    if choice not in set(rules.Answer):
        await answer_stale(update)
        return
    answer = rules.Answer(choice)
    services = context.services
    now = context.now()
    new_concern = False
    step_note: str | None = None
    with context.session() as session:
        checkin = care.get_checkin(session=session, checkin_id=checkin_id)
        if checkin is None or checkin.family_id != person.id:
            recorded = None
        else:
            recorded = care.answer_checkin(
                session=session, checkin_id=checkin_id, family_id=person.id, answer=answer, now=now
            )
        if recorded:
            new_concern, step_note = _record_answer(session, services, person.id, checkin_id, answer, now)
    if recorded is None:
        await answer_stale(update)
        return
    await answer_button(update, None if recorded else _("You already answered this check-in. Thank you!"))
    await retire_buttons(update, show_choice=bool(recorded))
    if not recorded:
        return
    event(logger, "checkin.answered", family=person.id, answer=str(answer))
    await _reply_to_answer(update, context, checkin_id, answer, new_concern, step_note)


def _record_answer(
    session: Session, services: Services, family_id: int, checkin_id: int, answer: rules.Answer, now: datetime
) -> tuple[bool, str | None]:
    """Streaks, timeline, the topic, a concern when needed, and the waakvlam step-down."""
    family = people.get_person(session=session, person_id=family_id)
    profile = care.get_family_profile(session=session, family_id=family_id)
    assert family is not None and profile is not None
    streak = rules.update_good_streak(streak=profile.good_streak, answer=answer)
    care.set_counters(session=session, family_id=family_id, good_streak=streak, missed=0)
    people.set_reachable(session=session, person_id=family_id, reachable=True, now=now)
    people.add_timeline(
        session=session, family_id=family_id, kind="checkin_answered", now=now, ref_id=checkin_id, answer=str(answer)
    )
    with use_language(concerns.topic_language(session, family)):
        concerns.post_to_topic(
            session=session,
            services=services,
            family=family,
            key=f"topic:answer:{checkin_id}",
            text=_("Check-in answered: {answer}").format(answer=h(answer_label(answer))),
            now=now,
        )
    new_concern = False
    if rules.answer_effect(answer).raise_concern:
        _concern, new_concern = concerns.raise_concern(
            session=session, services=services, family=family, raised_by=family, source=f"checkin_{answer}", now=now
        )
    step_note = None
    suggestion = rules.step_down_suggestion(
        rhythm=rules.Rhythm(profile.checkin_rhythm),
        good_streak=streak,
        threshold=services.settings.checkin_step_down_after,
    )
    if suggestion is not None:
        step_note = _step_down(session, services, family, profile, suggestion, checkin_id, streak, now)
    return new_concern, step_note


def _step_down(
    session: Session,
    services: Services,
    family: Person,
    profile: FamilyProfile,
    lower: rules.Rhythm,
    checkin_id: int,
    streak: int,
    now: datetime,
) -> str | None:
    """Lower the rhythm at once (the coordinator chose that) or offer it to the coordinators."""
    assert family.id is not None
    from conversations.alerts import coordinators_for

    current = profile.checkin_rhythm
    if profile.checkin_auto_step_down:
        _change_rhythm(session, services, family, None, now, rhythm=lower)
        for coordinator in coordinators_for(session, family):
            with use_language(coordinator.language):
                text = _(
                    "{name} answered 'good' {count} times in a row, so the check-ins are now {rhythm} (automatically)."
                ).format(name=hi(concerns.name_of(family)), count=hi(streak), rhythm=h(rhythm_sentence(lower)))
            concerns._enqueue(
                session=session,
                key=f"stepdown:{family.id}:{checkin_id}:{coordinator.id}",
                chat_id=coordinator.telegram_id or 0,
                payload=concerns.text_payload(coordinator.telegram_id or 0, text),
                now=now,
                person_id=coordinator.id,
            )
        with use_language(family.language):
            return _(
                "Things seem to be going well, so from now on we will check in {rhythm}. "
                "Need more contact? Tap 'We need help again' in /menu."
            ).format(rhythm=h(rhythm_sentence(lower)))
    for coordinator in coordinators_for(session, family):
        with use_language(coordinator.language):
            text = _(
                "{name} answered 'good' {count} times in a row. Lower the check-ins from {current} to {lower}?"
            ).format(
                name=hi(concerns.name_of(family)),
                count=hi(streak),
                current=h(rhythm_sentence(current)),
                lower=h(rhythm_sentence(lower)),
            )
            markup = keyboard(
                [
                    [(_("Yes, lower it"), callback(CONTROL, "step", family.id, lower))],
                    [(_("No, keep it"), callback(CONTROL, "keep", family.id))],
                ]
            )
        concerns._enqueue(
            session=session,
            key=f"stepdown:{family.id}:{checkin_id}:{coordinator.id}",
            chat_id=coordinator.telegram_id or 0,
            payload=concerns.text_payload(coordinator.telegram_id or 0, text, markup),
            now=now,
            person_id=coordinator.id,
        )
    return None


async def _reply_to_answer(
    update: Update, context: BotContext, checkin_id: int, answer: rules.Answer, new: bool, step_note: str | None
) -> None:
    person = context.person
    assert person is not None
    services = context.services
    now = context.now()
    if answer == rules.Answer.GOOD:
        await reply(update, _("Thank you, good to hear! 😊 You can always reach us through /menu."))
    elif answer == rules.Answer.SO_SO:
        await reply(
            update,
            _("Thank you for telling us. Would something help?"),
            keyboard(
                [
                    [(_("🙋 Ask for practical help"), callback(PREFIX, checkin_id, "help"))],
                    [(_("💬 A word with my coordinator"), callback(PREFIX, checkin_id, "word"))],
                    [(_("No, thanks"), callback(PREFIX, checkin_id, "fine"))],
                ]
            ),
        )
    else:
        with context.session() as session:
            waiting = concerns.family_waiting(session, person.id or 0)
        lines = [
            _("Thank you for telling us.")
            if waiting
            else _("Thank you for telling us. I have let your coordinator know."),
            concerns.when_seen_text(services, person, now, urgent=False, waiting=waiting),
        ]
        if not waiting and not escalation.is_office_hours(now, concerns.policy(services)):
            lines.append(_("If it cannot wait:") + "\n" + concerns.safety_numbers_text())
        lines.append(_("You can write here now, or send a voice note or a photo; I will pass it on."))
        await reply(update, "\n\n".join(lines))
    if step_note:
        await reply(update, step_note)


async def _so_so_follow_up(update: Update, context: BotContext, checkin_id: int, choice: str) -> None:
    """After 'so-so': practical help (the menu), a word with the coordinator, or nothing."""
    person = context.person
    assert person is not None and person.id is not None
    with context.session() as session:
        checkin = care.get_checkin(session=session, checkin_id=checkin_id)
    if checkin is None or checkin.family_id != person.id or checkin.answer != rules.Answer.SO_SO:
        await answer_stale(update)
        return
    await answer_button(update)
    await retire_buttons(update)
    if choice == "help":
        await menu.send_menu(update, context)
        return
    if choice == "fine":
        await reply(update, _("Alright. We are here whenever you need us."))
        return
    now = context.now()
    with context.session() as session:
        family = people.get_person(session=session, person_id=person.id)
        assert family is not None
        concern, new = concerns.raise_concern(
            session=session, services=context.services, family=family, raised_by=family, source="checkin_soso", now=now
        )
        waiting = concerns.is_waiting(concern)
    await reply(update, concerns.passed_on_text(context.services, person, now, new=new, waiting=waiting))


# --- pause and "we need help again" ---------------------------------------------------------------


async def pause_menu(update: Update, context: BotContext) -> None:
    """'Pause check-ins': for a holiday, one to four weeks; or resume."""
    person = context.person
    if person is None or person.role != Role.FAMILY or person.id is None:
        return
    with context.session() as session:
        profile = care.get_family_profile(session=session, family_id=person.id)
    rows = [
        [
            (
                ngettext("{count} week", "{count} weeks", weeks).format(count=weeks),
                callback(PAUSE, weeks),
            )
            for weeks in PAUSE_WEEKS
        ]
    ]
    text = _("How long shall we pause the check-ins? You can still reach us any time with /talk.")
    if profile is not None and profile.checkin_paused_until is not None:
        text = _("The check-ins are paused until {day}.").format(
            day=h(format_day(profile.checkin_paused_until, person.language))
        )
        rows.append([(_("Resume check-ins now"), callback(PAUSE, "resume"))])
    await reply(update, text, keyboard(rows))


async def on_pause(update: Update, context: BotContext) -> None:
    """A pause button: pause until that many weeks from today (local), or resume."""
    parts = parse_callback(update.callback_query.data if update.callback_query else None, PAUSE)
    person = context.person
    weeks = int_arg(parts[0]) if parts and len(parts) == 1 else None
    resume = bool(parts) and parts is not None and parts[0] == "resume"
    if person is None or person.role != Role.FAMILY or person.id is None or not (resume or weeks in PAUSE_WEEKS):
        await answer_stale(update)
        return
    await answer_button(update)
    await retire_buttons(update)
    services = context.services
    now = context.now()
    until = None if resume else rules.local_date(now, zone=person.timezone) + timedelta(weeks=weeks or 0)
    with context.session() as session:
        family = people.get_person(session=session, person_id=person.id)
        profile = care.set_pause(session=session, family_id=person.id, until=until)
        if family is None or profile is None:
            return
        schedule_next(session=session, services=services, family=family, profile=profile, now=now, cause="pause")
        kind = "resumed" if resume else "paused"
        people.add_timeline(
            session=session, family_id=family.id, kind=kind, now=now, until=until.isoformat() if until else None
        )
        if until is not None:
            concerns.topic_note(
                session,
                services,
                family,
                f"topic:pause:{family.id}:{until}",
                N_("⏸ Check-ins paused until {day}."),
                now,
                day=h(format_day(until, concerns.topic_language(session, family))),
            )
        else:
            concerns.topic_note(
                session,
                services,
                family,
                f"topic:resume:{family.id}:{int(now.timestamp())}",
                N_("▶️ Check-ins resumed."),
                now,
            )
    if until is None:
        await reply(update, _("The check-ins are back on. Thank you!"))
    else:
        await reply(
            update,
            _("The check-ins are paused until {day}. You can still reach us any time with /talk. Enjoy!").format(
                day=h(format_day(until, person.language))
            ),
        )


async def need_help_again(update: Update, context: BotContext) -> None:
    """'We need help again': weekly check-ins again, no pause, and a coordinator contacts the family."""
    person = context.person
    if person is None or person.role != Role.FAMILY or person.id is None:
        return
    services = context.services
    now = context.now()
    with context.session() as session:
        family = people.get_person(session=session, person_id=person.id)
        profile = care.get_family_profile(session=session, family_id=person.id)
        if family is None or profile is None:
            return
        care.set_pause(session=session, family_id=person.id, until=None)
        care.set_counters(session=session, family_id=person.id, good_streak=0)
        _change_rhythm(
            session, services, family, None, now, rhythm=rules.reopen_rhythm(rules.Rhythm(profile.checkin_rhythm))
        )
        people.add_timeline(session=session, family_id=family.id, kind="reopened", now=now)
        concern, _new = concerns.raise_concern(
            session=session, services=services, family=family, raised_by=family, source="reopen", now=now
        )
        waiting = concerns.is_waiting(concern)
    await reply(
        update,
        "\n\n".join(
            [
                _("Thank you for letting us know. We are here for you."),
                concerns.when_seen_text(services, person, now, urgent=False, waiting=waiting),
                _("We will check in every week again. You can write here now; I will pass it on."),
            ]
        ),
    )


# --- coordinators ---------------------------------------------------------------------------------


def _change_rhythm(
    session: Session,
    services: Services,
    family: Person,
    coordinator: Person | None,
    now: datetime,
    *,
    rhythm: str | None = None,
    weekday: int | None = None,
    daypart: str | None = None,
) -> FamilyProfile | None:
    assert family.id is not None
    profile = care.set_rhythm(session=session, family_id=family.id, rhythm=rhythm, weekday=weekday, daypart=daypart)
    if profile is None:
        return None
    due = schedule_next(
        session=session, services=services, family=family, profile=profile, now=now, cause=f"chg{int(now.timestamp())}"
    )
    people.add_timeline(
        session=session,
        family_id=family.id,
        kind="rhythm_changed",
        now=now,
        actor_id=coordinator.id if coordinator else None,
        rhythm=profile.checkin_rhythm,
        weekday=profile.checkin_weekday,
        daypart=profile.checkin_daypart,
    )
    people.audit(
        session=session,
        actor_id=coordinator.id if coordinator else None,
        action="checkin_rhythm_changed",
        subject_id=family.id,
        now=now,
        rhythm=profile.checkin_rhythm,
    )
    del due
    return profile


def _next_due(session: Session, family_id: int) -> datetime | None:
    return care.next_job_due(session=session, kind="checkin.send", subject_id=family_id)


def card_extras(
    session: Session, services: Services, family: Person, profile: FamilyProfile, language: str
) -> list[str]:
    """The card's lines beyond the context: open concerns, the support volunteer, the latest events."""
    assert family.id is not None
    volunteer = (
        people.get_person(session=session, person_id=profile.support_volunteer_id)
        if profile.support_volunteer_id
        else None
    )
    with use_language(language):
        lines = [
            _("Open concerns: {count}").format(
                count=hi(insight_store.open_concern_count(session=session, family_id=family.id))
            ),
            _("Support volunteer: {name}").format(name=hi(concerns.name_of(volunteer)))
            if volunteer is not None
            else _("Support volunteer: none yet"),
        ]
        events = care.timeline(session=session, family_id=family.id, limit=5)
        if events:
            lines += ["", _("<b>Latest</b> (🕑 Timeline for more):")]
            lines += timeline_lines(events, language, services.settings.timezone)
            lines.append("")
    return lines


def family_card(
    session: Session, services: Services, family: Person, language: str
) -> tuple[str, InlineKeyboardMarkup]:
    """The family's context, check-in settings and the controls."""
    assert family.id is not None
    profile = care.get_family_profile(session=session, family_id=family.id)
    assert profile is not None
    fid = family.id
    with use_language(language):
        lines = [concerns.family_context(session, family, language)]
        lines += card_extras(session, services, family, profile, language)
        if profile.checkin_rhythm == rules.Rhythm.OFF:
            lines.append(_("Check-ins: off."))
        else:
            lines.append(
                _("Check-ins: {rhythm}, on {weekday}, {daypart}.").format(
                    rhythm=h(rhythm_sentence(profile.checkin_rhythm)),
                    weekday=h(weekday_name(profile.checkin_weekday, language)),
                    daypart=h(_(DAYPART_LABELS[rules.Daypart(profile.checkin_daypart)]).lower()),
                )
            )
        if profile.checkin_paused_until is not None:
            lines.append(_("Paused until {day}.").format(day=h(format_day(profile.checkin_paused_until, language))))
        due = _next_due(session, fid)
        if due is not None:
            lines.append(_("Next check-in: {when}.").format(when=h(format_when(due, family.timezone, language))))
        lines.append(
            _("Lower the rhythm automatically after {count} good answers: {state}.").format(
                count=hi(services.settings.checkin_step_down_after),
                state=_("on") if profile.checkin_auto_step_down else _("off"),
            )
        )

        def mark(selected: bool, label: str) -> str:
            return ("✓ " if selected else "") + label

        rows = [
            [(_("📨 Send a check-in now"), callback(CONTROL, "now", fid))],
            [
                (mark(profile.checkin_rhythm == rhythm, _(label)), callback(CONTROL, "rh", fid, rhythm))
                for rhythm, label in RHYTHM_BUTTONS.items()
            ],
            [
                (
                    mark(profile.checkin_weekday == day, weekday_name(day, language, "abbreviated")),
                    callback(CONTROL, "day", fid, day),
                )
                for day in range(7)
            ],
            [
                (mark(profile.checkin_daypart == part, _(label)), callback(CONTROL, "part", fid, part))
                for part, label in DAYPART_LABELS.items()
            ],
            [
                (
                    _("Lower automatically: on") if profile.checkin_auto_step_down else _("Lower automatically: off"),
                    callback(CONTROL, "auto", fid, "off" if profile.checkin_auto_step_down else "on"),
                )
            ],
            [
                (_("📈 Answers over time"), callback(CONTROL, "ans", fid)),
                (_("🕑 Timeline"), callback(CONTROL, "tl", fid)),
            ],
            [(_("🙋 I am their primary coordinator"), callback(CONTROL, "mine", fid))],
        ]
        # Every open concern opens from here: its card and messages, to take, answer or close it.
        rows[:0] = concerns.open_concern_rows(session, care.open_concerns(session=session, family_id=fid, limit=5))
    return "\n".join(lines), keyboard(rows)


def answers_text(session: Session, family: Person, language: str) -> str:
    assert family.id is not None
    profile = care.get_family_profile(session=session, family_id=family.id)
    checkins = care.recent_checkins(session=session, family_id=family.id, limit=12)
    with use_language(language):
        lines = [_("<b>Check-in answers of {name}</b>").format(name=hi(concerns.name_of(family)))]
        for checkin in reversed(checkins):
            day = h(format_day(rules.local_date(checkin.sent_at or checkin.due_at, zone=family.timezone), language))
            if checkin.answer:
                state = h(answer_label(checkin.answer))
            elif checkin.missed:
                state = _("— no answer")
            else:
                state = _("… waiting for an answer")
            lines.append(f"{day}: {state}")
        if not checkins:
            lines.append(_("No check-ins yet."))
        if profile is not None:
            lines.append(
                _("Good answers in a row: {good}. Missed in a row: {missed}.").format(
                    good=hi(profile.good_streak), missed=hi(profile.missed_checkins)
                )
            )
    return "\n".join(lines)


def timeline_lines(events: list[TimelineEvent], language: str, zone: str) -> list[str]:
    """One line per event, newest first: when, and what kind of thing happened (never contents)."""
    lines = []
    with use_language(language):
        for item in events:
            label = _(TIMELINE_LABELS[item.kind]) if item.kind in TIMELINE_LABELS else item.kind
            if item.kind == "checkin_answered" and item.detail.get("answer"):
                label += ": " + answer_label(str(item.detail["answer"]))
            lines.append(f"{h(format_stamp(item.at, zone, language))} · {h(label)}")
    return lines


def timeline_text(session: Session, family: Person, language: str, zone: str) -> str:
    assert family.id is not None
    events = care.timeline(session=session, family_id=family.id, limit=30)
    with use_language(language):
        lines = [_("<b>Timeline of {name}</b>").format(name=hi(concerns.name_of(family)))]
        lines += timeline_lines(events, language, zone)
        if not events:
            lines.append(_("Nothing yet."))
    return "\n".join(lines)


def _coordinator(context: BotContext) -> Person | None:
    person = context.person
    return person if concerns.is_coordinator(person) else None


def send_now(session: Session, services: Services, family: Person, coordinator: Person, now: datetime) -> str:
    """A coordinator's 'send a check-in now': at once, or at the end of quiet hours; never twice a day."""
    assert family.id is not None
    if family.telegram_id is None or family.consent_at is None:
        return _("{name} can no longer be reached through the bot.").format(name=hi(concerns.name_of(family)))
    if _sent_today(session, family, now) is not None:
        return _("{name} already had a check-in today.").format(name=hi(concerns.name_of(family)))
    people.audit(session=session, actor_id=coordinator.id, action="checkin_sent_now", subject_id=family.id, now=now)
    if rules.in_quiet_hours(now, zone=family.timezone, **_quiet(services)):
        later = rules.next_allowed_time(now, zone=family.timezone, **_quiet(services))
        delivery.schedule_job(
            session=session,
            kind="checkin.manual",
            due_at=later,
            dedupe_key=f"checkin.manual:{family.id}:{later:%Y%m%d}",
            now=now,
            subject_id=family.id,
        )
        return _("It is quiet hours for the family; the check-in goes out at {when}.").format(
            when=h(format_when(later, family.timezone, coordinator.language))
        )
    send_checkin(session=session, services=services, family=family, now=now, due_at=now, manual=True)
    return _("The check-in is on its way to {name}.").format(name=hi(concerns.name_of(family)))


async def list_families(update: Update, context: BotContext, page: int = 0) -> None:
    """/families or the menu: the coordinator's own families; an admin without families of their own sees all."""
    coordinator = _coordinator(context)
    if coordinator is None:
        await reply(update, _("Only coordinators can do that."))
        return
    now = context.now()
    with context.session() as session:
        own = care.families(session=session, coordinator_id=coordinator.id, limit=None)
        see_all = not own and bool(
            authorize(session=session, actor=coordinator, action=Action.SEE_ALL_FAMILIES, now=now, audit=False)
        )
        everyone = own or (care.families(session=session, limit=None) if see_all else [])
        shown, page, more = page_of(everyone, page)
        buttons = [[(concerns.name_of(family), callback(CONTROL, "open", family.id))] for family in shown]
    duo = [(_("👥 My duo partner"), callback(CONTROL, "duo", 0))]
    if not buttons:
        text = _("There are no families yet.") if see_all else _("You have no families of your own yet.")
        await reply(update, text, None if see_all else keyboard([duo]))
        return
    text = _("Your families:") if own else _("All families:")
    pager = pager_row(page, more, lambda number: callback(CONTROL, "fam", number))
    if pager:
        text += "\n" + _("Page {page}").format(page=page + 1)
        buttons.append(pager)
    await reply(update, text, keyboard([*buttons, duo]))


VIEW_ACTIONS = ("open", "ans", "tl")
CHECKIN_ACTIONS = ("now", "rh", "day", "part", "auto", "step", "keep")


async def on_control(update: Update, context: BotContext) -> None:
    """A coordinator's button: family card, rhythm, day, part of day, send now, answers, timeline, step-down."""
    parts = parse_callback(update.callback_query.data if update.callback_query else None, CONTROL)
    coordinator = _coordinator(context)
    if not parts or coordinator is None or len(parts) < 2:
        await answer_stale(update)
        return
    action, target = parts[0], int_arg(parts[1])
    value = parts[2] if len(parts) > 2 else None
    if action == "duo":
        await _duo(update, context, coordinator, target or 0)
        return
    if action == "fam":  # a page of /families: the list is read again, with this coordinator's rights
        await answer_button(update)
        await retire_buttons(update)
        await list_families(update, context, page=min(target or 0, 1000))
        return
    if action in ("yes", "no"):
        await _answer_consent(update, context, coordinator, target or 0, accepted=action == "yes")
        return
    services = context.services
    now = context.now()
    note: str | None = None
    text: str | None = None
    markup: InlineKeyboardMarkup | None = None
    edit = retire = False
    with context.session() as session:
        family = people.get_person(session=session, person_id=target or 0)
        profile = care.get_family_profile(session=session, family_id=target or 0)
        if family is None or profile is None or family.role != Role.FAMILY:
            note = stale_text()
        elif action == "mine":
            note = _take_over(session, services, family, profile, coordinator, now)
        elif not (
            decision := authorize(
                session=session,
                actor=coordinator,
                action=Action.VIEW_FAMILY if action in VIEW_ACTIONS else Action.CHANGE_CHECKINS,
                family_id=family.id,
                now=now,
            )
        ):
            note = refusal_text(decision)
        elif action == "open":
            concerns.audit_opened(session, coordinator, target or 0, now, "card")
            text, markup = family_card(session, services, family, coordinator.language)
        elif action == "now":
            note = send_now(session, services, family, coordinator, now)
        elif action == "rh" and value in set(rules.Rhythm):
            _change_rhythm(session, services, family, coordinator, now, rhythm=value)
            text, markup = family_card(session, services, family, coordinator.language)
            edit = True
        elif action == "day" and value is not None and value.isdigit() and 0 <= int(value) <= 6:
            _change_rhythm(session, services, family, coordinator, now, weekday=int(value))
            text, markup = family_card(session, services, family, coordinator.language)
            edit = True
        elif action == "part" and value in set(rules.Daypart):
            _change_rhythm(session, services, family, coordinator, now, daypart=value)
            text, markup = family_card(session, services, family, coordinator.language)
            edit = True
        elif action == "auto" and value in ("on", "off"):
            care.set_rhythm(session=session, family_id=family.id or 0, auto_step_down=value == "on")
            text, markup = family_card(session, services, family, coordinator.language)
            edit = True
        elif action == "ans":
            concerns.audit_opened(session, coordinator, target or 0, now, "answers")
            text = answers_text(session, family, coordinator.language)
        elif action == "tl":
            concerns.audit_opened(session, coordinator, target or 0, now, "timeline")
            text = timeline_text(session, family, coordinator.language, services.settings.timezone)
        elif action == "step" and value in set(rules.Rhythm):
            if profile.checkin_rhythm != value:
                _change_rhythm(session, services, family, coordinator, now, rhythm=value)
                care.set_counters(session=session, family_id=family.id or 0, good_streak=0)
            note = _("Done: the check-ins are now {rhythm}.").format(rhythm=rhythm_sentence(value or ""))
            retire = True
        elif action == "keep":
            note = _("The rhythm stays as it is.")
            retire = True
        else:
            note = stale_text()
    await answer_button(update, note)
    if retire:
        await retire_buttons(update)
    if text is None:
        return
    query = update.callback_query
    if edit and query is not None and query.message is not None:
        try:
            await query.edit_message_text(text, reply_markup=markup)
        except Exception:  # unchanged (a double tap) or too old to edit: send it fresh
            await reply(update, text, markup)
        return
    await reply(update, text, markup)


def _tell(
    session: Session, person: Person | None, key: str, text: Any, now: datetime, markup: Any = None, **kw: Any
) -> None:
    """A message to another coordinator, in their language, through the outbox."""
    if person is None or person.telegram_id is None:
        return
    with use_language(person.language):
        body = _(text).format(**kw)
        buttons = markup() if callable(markup) else None
    concerns._enqueue(
        session=session,
        key=key,
        chat_id=person.telegram_id,
        payload=concerns.text_payload(person.telegram_id, body, buttons),
        now=now,
        person_id=person.id,
    )


def _consent_buttons(request_id: int) -> Any:
    def build() -> InlineKeyboardMarkup:
        return keyboard(
            [[(_("✅ Agree"), callback(CONTROL, "yes", request_id)), (_("No"), callback(CONTROL, "no", request_id))]]
        )

    return build


def _make_primary(
    session: Session, family: Person, previous_id: int | None, new: Person, actor: Person, now: datetime, how: str
) -> None:
    """Make `new` the family's primary; the previous primary is always told (unless they did it themselves)."""
    assert family.id is not None and new.id is not None
    care.set_coordinators(session=session, family_id=family.id, primary_id=new.id)
    people.audit(
        session=session,
        actor_id=actor.id,
        action="primary_coordinator_set",
        subject_id=family.id,
        now=now,
        primary=new.id,
        previous=previous_id,
        how=how,
    )
    if previous_id is not None and previous_id not in (actor.id, new.id):
        previous = people.get_person(session=session, person_id=previous_id)
        _tell(
            session,
            previous,
            f"primary:{family.id}:{new.id}:{int(now.timestamp())}",
            N_("{coordinator} is now the primary coordinator of {name}, instead of you."),
            now,
            coordinator=hi(concerns.name_of(new)),
            name=hi(concerns.name_of(family)),
        )


def _take_over(
    session: Session, services: Services, family: Person, profile: FamilyProfile, coordinator: Person, now: datetime
) -> str:
    """'I am their primary coordinator': at once for an admin or an unassigned family; otherwise ask the primary."""
    assert family.id is not None and coordinator.id is not None
    name = hi(concerns.name_of(family))
    previous_id = profile.primary_coordinator_id
    if previous_id == coordinator.id:
        return _("You are already the primary coordinator of {name}.").format(name=name)
    direct = authorize(session=session, actor=coordinator, action=Action.TAKE_OVER, family_id=family.id, now=now)
    if direct:
        _make_primary(session, family, previous_id, coordinator, coordinator, now, str(direct.reason))
        return _("You are now the primary coordinator of {name}.").format(name=name)
    asked = authorize(session=session, actor=coordinator, action=Action.ASK_TAKE_OVER, family_id=family.id, now=now)
    primary = people.get_person(session=session, person_id=previous_id or 0)
    if not asked or primary is None or primary.id is None:
        return refusal_text(asked)
    request = consent.ask_consent(
        session=session,
        kind="primary",
        requester_id=coordinator.id,
        approver_id=primary.id,
        family_id=family.id,
        now=now,
    )
    if request is None or request.id is None:
        return _("You already asked; {primary} has not answered yet.").format(primary=hi(concerns.name_of(primary)))
    _tell(
        session,
        primary,
        f"consent:{request.id}",
        N_("{coordinator} would like to become the primary coordinator of {name}. Do you agree?"),
        now,
        _consent_buttons(request.id),
        coordinator=hi(concerns.name_of(coordinator)),
        name=name,
    )
    return _("I have asked {primary}, the primary coordinator of {name}. You will hear the answer here.").format(
        primary=hi(concerns.name_of(primary)), name=name
    )


def _consent_decision(session: Session, coordinator: Person, request: ConsentRequest, now: datetime) -> Any:
    if request.kind == "primary" and request.family_id is not None:
        facts = consent.family_facts(session=session, family_id=request.family_id)
        facts = replace(facts, addressed_to=request.approver_id)
        action = Action.ANSWER_TAKE_OVER
    else:
        facts = Facts(addressed_to=request.approver_id)
        action = Action.ANSWER_DUO
    return authorize(
        session=session, actor=coordinator, action=action, family_id=request.family_id, facts=facts, now=now
    )


async def _answer_consent(
    update: Update, context: BotContext, coordinator: Person, request_id: int, *, accepted: bool
) -> None:
    """The colleague asked agrees or not: only they may answer, once; the one who asked hears it."""
    now = context.now()
    retire = False
    with context.session() as session:
        request = consent.get_consent(session=session, request_id=request_id)
        decision = _consent_decision(session, coordinator, request, now) if request is not None else None
        requester = people.get_person(session=session, person_id=request.requester_id) if request else None
        family = (
            people.get_person(session=session, person_id=request.family_id) if request and request.family_id else None
        )
        if request is None or decision is None or requester is None:
            note = stale_text()
        elif not decision:
            note = refusal_text(decision)
        elif not consent.answer_consent(session=session, request_id=request_id, accepted=accepted, now=now):
            note = _("You already answered this.")
        else:
            retire = True
            note = _answer_effect(session, request, coordinator, requester, family, accepted, now)
    await answer_button(update, note)
    if retire:
        await retire_buttons(update)
        await reply(update, note)


def _answer_effect(
    session: Session,
    request: ConsentRequest,
    coordinator: Person,
    requester: Person,
    family: Person | None,
    accepted: bool,
    now: datetime,
) -> str:
    names = {"coordinator": hi(concerns.name_of(coordinator)), "requester": hi(concerns.name_of(requester))}
    key = f"consent:{request.id}:answer"
    if request.kind == "primary" and family is not None:
        names["name"] = hi(concerns.name_of(family))
        if not accepted:
            _tell(
                session,
                requester,
                key,
                N_("{coordinator} would rather stay the primary coordinator of {name}."),
                now,
                **names,
            )
            return _("{requester} has been told that you keep {name}.").format(**names)
        profile = care.get_family_profile(session=session, family_id=family.id or 0)
        previous = profile.primary_coordinator_id if profile else None
        _make_primary(session, family, previous, requester, coordinator, now, "consent")
        _tell(
            session,
            requester,
            key,
            N_("{coordinator} agreed: you are now the primary coordinator of {name}."),
            now,
            **names,
        )
        return _("Done: {requester} is now the primary coordinator of {name}.").format(**names)
    if not accepted:
        _tell(session, requester, key, N_("{coordinator} would rather not be your duo partner."), now, **names)
        return _("{requester} has been told.").format(**names)
    _set_duo(session, requester, coordinator, coordinator, now)
    _tell(session, requester, key, N_("{coordinator} agreed: you are now duo partners."), now, **names)
    return _("Done: {requester} is now your duo partner.").format(**names)


def _set_duo(session: Session, coordinator: Person, partner: Person, actor: Person, now: datetime) -> None:
    care.set_duo_partner(session=session, coordinator_id=coordinator.id or 0, partner_id=partner.id)
    people.audit(
        session=session,
        actor_id=actor.id,
        action="duo_partner_set",
        subject_id=partner.id,
        now=now,
        coordinator=coordinator.id,
    )


async def _duo(update: Update, context: BotContext, coordinator: Person, partner_id: int) -> None:
    """'My duo partner': pick a colleague, who is asked first (a duo sees each other's families); admins at once."""
    now = context.now()
    with context.session() as session:
        if partner_id == 0:
            options = [
                (c.display_name or str(c.id), c.id)
                for c in people.coordinators(session=session)
                if c.id != coordinator.id and c.consent_at is not None
            ]
            profile = people.get_coordinator(session=session, person_id=coordinator.id or 0)
            current = (
                people.get_person(session=session, person_id=profile.duo_partner_id)
                if profile and profile.duo_partner_id
                else None
            )
        else:
            partner = people.get_person(session=session, person_id=partner_id)
            if not concerns.is_coordinator(partner) or partner is None or partner_id == coordinator.id:
                await answer_stale(update)
                return
            name = hi(concerns.name_of(partner))
            direct = authorize(session=session, actor=coordinator, action=Action.SET_DUO, now=now)
            asked = direct or authorize(session=session, actor=coordinator, action=Action.ASK_DUO, now=now)
            request = None
            if direct:
                _set_duo(session, coordinator, partner, coordinator, now)
                note = _("{name} is now your duo partner.").format(name=name)
            elif asked and coordinator.id is not None:
                request = consent.ask_consent(
                    session=session,
                    kind="duo",
                    requester_id=coordinator.id,
                    approver_id=partner_id,
                    family_id=None,
                    now=now,
                )
                note = (
                    _("I have asked {name}. You will hear the answer here.").format(name=name)
                    if request is not None
                    else _("You already asked; {primary} has not answered yet.").format(primary=name)
                )
                if request is not None and request.id is not None:
                    _tell(
                        session,
                        partner,
                        f"consent:{request.id}",
                        N_(
                            "{coordinator} would like to be your duo partner: you would see each other's "
                            "families and their concerns. Do you agree?"
                        ),
                        now,
                        _consent_buttons(request.id),
                        coordinator=hi(concerns.name_of(coordinator)),
                    )
            else:
                note = refusal_text(asked)
    if partner_id != 0:
        await answer_button(update)
        await retire_buttons(update)
        await reply(update, note)
        return
    await answer_button(update)
    if not options:
        await reply(update, _("There are no other coordinators yet."))
        return
    text = (
        _("Your duo partner is {name}. Choose someone else to change it:").format(name=hi(concerns.name_of(current)))
        if current
        else _("Who is your duo partner?")
    )
    await reply(update, text, keyboard([[(name, callback(CONTROL, "duo", person_id))] for name, person_id in options]))


async def topic_command(update: Update, context: BotContext) -> None:
    """/family, /checkin and /answers inside a family's topic in the coordinators' group."""
    coordinator = _coordinator(context)
    message = update.effective_message
    if coordinator is None or message is None or not message.text:
        return
    family_id = concerns.topic_family(context, update)
    if family_id is None:
        await message.reply_text(_("Use this in a family's topic."))
        return
    command = message.text.split()[0].split("@")[0].lstrip("/")
    now = context.now()
    markup: InlineKeyboardMarkup | None = None
    with context.session() as session:
        family = people.get_person(session=session, person_id=family_id)
        if family is None or care.get_family_profile(session=session, family_id=family_id) is None:
            return
        action = Action.CHANGE_CHECKINS if command == "checkin" else Action.VIEW_FAMILY
        decision = authorize(session=session, actor=coordinator, action=action, family_id=family_id, now=now)
        if not decision:
            text = refusal_text(decision)
        elif command == "checkin":
            text = send_now(session, context.services, family, coordinator, now)
        elif command == "answers":
            concerns.audit_opened(session, coordinator, family_id, now, "answers")
            text = answers_text(session, family, coordinator.language)
        else:
            concerns.audit_opened(session, coordinator, family_id, now, "card")
            text, markup = family_card(session, context.services, family, coordinator.language)
    await message.reply_text(text, reply_markup=markup)


# --- registration ---------------------------------------------------------------------------------


def build_first() -> list[BaseHandler[Any, Any, Any]]:
    """Buttons that work at any time (also in the middle of a dialogue) and the coordinators' commands."""
    group = filters.UpdateType.MESSAGE & filters.ChatType.GROUPS
    private = filters.UpdateType.MESSAGE & filters.ChatType.PRIVATE
    return [
        CallbackQueryHandler(on_answer, pattern=rf"^{PREFIX}:"),
        CallbackQueryHandler(on_control, pattern=rf"^{CONTROL}:"),
        CallbackQueryHandler(on_pause, pattern=rf"^{PAUSE}:"),
        CommandHandler("families", list_families, filters=private),
        CommandHandler(["family", "checkin", "answers", "rhythm"], topic_command, filters=group),
    ]


def register_menu() -> None:
    family = {str(Role.FAMILY)}
    menu.add("pause", N_("Pause check-ins"), family, pause_menu)
    menu.add("again", N_("We need help again"), family, need_help_again)
    menu.add("families", N_("Families"), {str(Role.COORDINATOR)}, list_families)


JOBS: dict[str, JobHandler] = {
    "checkin.send": send_job,
    "checkin.manual": manual_job,
    "checkin.remind": remind_job,
    "checkin.missed": missed_job,
}
