"""Check-ins (the waakvlam): every family keeps a pilot light on. The use cases, without Telegram.

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
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import partial
from typing import Any, Literal

from babel.dates import get_day_names

from domain import checkins as rules
from services import concerns
from services.callbacks import Button
from services.case_texts import TIMELINE_LABELS as CASE_TIMELINE_LABELS
from services.context import JobHandler, Services
from services.escalation import no_contact
from services.i18n import N_, _, format_day, h, hi, use_language
from services.logs import event
from services.match_texts import TIMELINE_LABELS as MATCH_TIMELINE_LABELS
from services.outbox import Outgoing, ToPerson, enqueue
from storage import care, job_store, people
from storage.db import Session
from storage.models import CheckIn, FamilyProfile, Person, Role, ScheduledJob

logger = logging.getLogger(__name__)

# A family's answer: ci:<check-in>:<answer> (no action part: buttons sent before the codec keep working).
ANSWER = Button("ci", "", int, str)
# A family's pause buttons: cp:<weeks>, cp:resume.
PAUSE_FOR = Button("cp", "", int)
RESUME = Button("cp", "resume")
# A coordinator's answer to an offer to lower a family's rhythm: cr:step:<family>:<rhythm>, cr:keep:<family>.
STEP_DOWN = Button("cr", "step", int, str)
KEEP_RHYTHM = Button("cr", "keep", int)


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
    "question_named": N_("Named a question of its own"),
    "question_reworded": N_("Put a question in other words"),
    "question_suggested": N_("A question suggested by a coordinator"),
    "question_declined": N_("Did not take up a suggested question"),
    "question_linked": N_("Help linked to a question"),
    "question_reviewed": N_("Answered 'does it help?'"),
    "question_to_decide": N_("A decision about a question is due"),
    "question_decided": N_("Decided about a question"),
    "question_not_needed": N_("A question is no longer needed"),
    "question_stopped": N_("Help for a question stopped"),
    "casework_held": N_("Casework meeting held"),
    "team_moved": N_("Moved to another team"),
    "coordinator_left_team": N_("Its coordinator moved to another team"),
    **MATCH_TIMELINE_LABELS,  # the steps of a lasting match (services.match_texts)
    **CASE_TIMELINE_LABELS,  # the steps of a family's case (services.case_texts)
}

PAUSE_WEEKS = (1, 2, 3, 4)


def quiet_hours(services: Services) -> dict[str, Any]:
    """The quiet hours as keyword arguments for `domain.checkins`."""
    settings = services.settings
    return {"quiet_start": settings.quiet_hours_start, "quiet_end": settings.quiet_hours_end}


def rhythm_sentence(rhythm: str) -> str:
    """'every week', 'every two weeks', ... in the current language."""
    return _(RHYTHM_SENTENCES.get(rules.Rhythm(rhythm), rhythm)) if rhythm in RHYTHM_SENTENCES else rhythm


def weekday_name(weekday: int, language: str, width: Literal["abbreviated", "wide"] = "wide") -> str:
    """A weekday's name (0 = Monday) in a language."""
    return str(get_day_names(width, locale=language)[weekday])


def answer_label(answer: str | None) -> str:
    """A check-in answer's label in the current language."""
    if answer in ANSWER_LABELS:
        return _(ANSWER_LABELS[rules.Answer(answer)])
    return answer or ""


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
        job_store.cancel_jobs(session=session, kind="checkin.send", subject_id=family.id)
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
        **quiet_hours(services),
    )
    if due is not None:
        job_store.schedule_job(
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
    """The family and its profile when it can get a check-in (signed up, reachable through Telegram)."""
    family = people.get_person(session=session, person_id=family_id)
    profile = care.get_family_profile(session=session, family_id=family_id)
    if family is None or profile is None or family.role != Role.FAMILY or family.consent_at is None:
        return None
    if family.telegram_id is None:
        return None
    return family, profile


def checkin_buttons(checkin_id: int) -> list[list[tuple[str, str]]]:
    """The four one-tap answers under a check-in, in the current language."""

    def answer(choice: rules.Answer) -> tuple[str, str]:
        """One answer button (label, data) under the check-in."""
        return _(ANSWER_LABELS[choice]), ANSWER.data(checkin_id, choice.value)

    return [
        [answer(rules.Answer.GOOD), answer(rules.Answer.SO_SO)],
        [answer(rules.Answer.NOT_GOOD)],
        [answer(rules.Answer.TALK)],
    ]


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
        buttons = checkin_buttons(checkin.id)
    message = Outgoing(text=text, buttons=buttons, purpose="checkin")
    enqueue(session=session, to=ToPerson(family), message=message, key=f"checkin:{checkin.id}", now=now)
    remind_at = rules.reminder_due_at(
        now, after=timedelta(hours=settings.checkin_reminder_hours), zone=family.timezone, **quiet_hours(services)
    )
    missed_at = now + timedelta(hours=settings.checkin_answer_hours)
    for kind, due in (("checkin.remind", remind_at), ("checkin.missed", missed_at)):
        job_store.schedule_job(
            session=session, kind=kind, due_at=due, dedupe_key=f"{kind}:{checkin.id}", now=now, subject_id=checkin.id
        )
    people.add_timeline(session=session, family_id=family.id, kind="checkin_sent", now=now, ref_id=checkin.id)
    return checkin


def wait_for_quiet_end(
    *,
    session: Session,
    services: Services,
    family: Person,
    kind: str,
    subject_id: int | None,
    key: Callable[[datetime], str],
    now: datetime,
) -> datetime | None:
    """In the family's quiet hours: the job planned again for their end, which is returned; else None (go on)."""
    if not rules.in_quiet_hours(now, zone=family.timezone, **quiet_hours(services)):
        return None
    later = rules.next_allowed_time(now, zone=family.timezone, **quiet_hours(services))
    job_store.schedule_job(
        session=session, kind=kind, due_at=later, dedupe_key=key(later), now=now, subject_id=subject_id
    )
    return later


def sent_today(*, session: Session, family: Person, now: datetime) -> CheckIn | None:
    """Today's check-in of the family, if one went out already (never two a day)."""
    assert family.id is not None
    last = care.last_sent_checkin(session=session, family_id=family.id)
    if last is None or last.sent_at is None:
        return None
    same_day = rules.local_date(last.sent_at, zone=family.timezone) == rules.local_date(now, zone=family.timezone)
    return last if same_day else None


def send_job(*, session: Session, job: ScheduledJob, services: Services, now: datetime) -> None:
    """`checkin.send`: the family's rhythmic check-in, then the next one scheduled."""
    found = _eligible(session, int(job.subject_id or 0))
    if found is None:
        return
    family, profile = found
    if profile.checkin_rhythm == rules.Rhythm.OFF:
        return
    cause = f"job{job.id}"
    plan_next = partial(
        schedule_next, session=session, services=services, family=family, profile=profile, now=now, cause=cause
    )
    paused = profile.checkin_paused_until
    if paused is not None and rules.local_date(now, zone=family.timezone) <= paused:
        plan_next()
        return
    # The tick ran late (an outage): never in quiet hours, so at their end.
    if wait_for_quiet_end(
        session=session,
        services=services,
        family=family,
        kind="checkin.send",
        subject_id=family.id,
        key=lambda later: f"checkin.send:{family.id}:{later:%Y%m%dT%H%M}:{cause}",
        now=now,
    ):
        return
    earlier = sent_today(session=session, family=family, now=now)
    if earlier is not None:
        plan_next(last_sent=now)
        return
    send_checkin(session=session, services=services, family=family, now=now, due_at=job.due_at)
    plan_next(last_sent=now, replace=False)
    event(logger, "checkin.sent", family=family.id)


def manual_job(*, session: Session, job: ScheduledJob, services: Services, now: datetime) -> None:
    """`checkin.manual`: a coordinator's 'send now' that waited for the end of quiet hours."""
    found = _eligible(session, int(job.subject_id or 0))
    if found is None:
        return
    family, _profile = found
    if rules.in_quiet_hours(now, zone=family.timezone, **quiet_hours(services)):
        return
    if sent_today(session=session, family=family, now=now):
        return
    send_checkin(session=session, services=services, family=family, now=now, due_at=job.due_at, manual=True)


def remind_job(*, session: Session, job: ScheduledJob, services: Services, now: datetime) -> None:
    """`checkin.remind`: one gentle reminder for an unanswered check-in."""
    checkin = care.get_checkin(session=session, checkin_id=int(job.subject_id or 0))
    if checkin is None or checkin.answer is not None or checkin.missed or checkin.reminded_at is not None:
        return
    found = _eligible(session, checkin.family_id)
    if found is None:
        return
    family, _profile = found
    assert family.telegram_id is not None and checkin.id is not None
    if wait_for_quiet_end(
        session=session,
        services=services,
        family=family,
        kind="checkin.remind",
        subject_id=checkin.id,
        key=lambda later: f"checkin.remind:{checkin.id}:{later:%Y%m%dT%H%M}",
        now=now,
    ):
        return
    if not care.mark_reminded(session=session, checkin_id=checkin.id, now=now):
        return
    with use_language(family.language):
        text = _("Just a gentle reminder, {name}: how are things? One tap is enough, whenever it suits you.").format(
            name=hi(family.display_name or "")
        )
        buttons = checkin_buttons(checkin.id)
    message = Outgoing(text=text, buttons=buttons, purpose="checkin")
    enqueue(session=session, to=ToPerson(family), message=message, key=f"checkin.remind:{checkin.id}", now=now)


def missed_job(*, session: Session, job: ScheduledJob, services: Services, now: datetime) -> None:
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
        no_contact(session=session, services=services, family=family, reason="no_contact", now=now)


def change_rhythm(
    *,
    session: Session,
    services: Services,
    family: Person,
    coordinator: Person | None,
    now: datetime,
    rhythm: str | None = None,
    weekday: int | None = None,
    daypart: str | None = None,
) -> FamilyProfile | None:
    """Set a family's rhythm, weekday or part of day; the next check-in is planned again, logged and audited."""
    assert family.id is not None
    profile = care.set_rhythm(session=session, family_id=family.id, rhythm=rhythm, weekday=weekday, daypart=daypart)
    if profile is None:
        return None
    schedule_next(
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
    return profile


JOBS: dict[str, JobHandler] = {
    "checkin.send": send_job,
    "checkin.manual": manual_job,
    "checkin.remind": remind_job,
    "checkin.missed": missed_job,
}
