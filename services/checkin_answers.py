"""Check-ins, the family's side: an answer recorded (once), what follows from it, pausing and reopening.

What an answer means and when to step down is `domain.checkins`; the schedule is `services.checkins`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum

from domain import checkins as rules
from domain import escalation
from domain.cases import CaseState
from services import concerns
from services.checkins import KEEP_RHYTHM, STEP_DOWN, answer_label, change_rhythm, rhythm_sentence, schedule_next
from services.context import Services
from services.escalation import raise_concern
from services.i18n import N_, _, format_day, h, hi, use_language
from services.logs import event
from services.outbox import Outgoing, ToPerson, enqueue
from services.question_reviews import checkins_answered
from services.recipients import coordinators_for
from storage import care, people
from storage import cases as case_store
from storage.db import Session
from storage.models import FamilyProfile, Person

logger = logging.getLogger(__name__)


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
        _concern, new_concern = raise_concern(
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
    current = profile.checkin_rhythm
    if profile.checkin_auto_step_down:
        change_rhythm(session=session, services=services, family=family, coordinator=None, now=now, rhythm=lower)
        for coordinator in coordinators_for(session, family):
            with use_language(coordinator.language):
                text = _(
                    "{name} answered 'good' {count} times in a row, so the check-ins are now {rhythm} (automatically)."
                ).format(name=hi(concerns.name_of(family)), count=hi(streak), rhythm=h(rhythm_sentence(lower)))
            key = f"stepdown:{family.id}:{checkin_id}:{coordinator.id}"
            enqueue(session=session, to=ToPerson(coordinator), message=Outgoing(text=text), key=key, now=now)
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
            buttons = [
                [(_("Yes, lower it"), STEP_DOWN.data(family.id, lower.value))],
                [(_("No, keep it"), KEEP_RHYTHM.data(family.id))],
            ]
        key = f"stepdown:{family.id}:{checkin_id}:{coordinator.id}"
        message = Outgoing(text=text, buttons=buttons)
        enqueue(session=session, to=ToPerson(coordinator), message=message, key=key, now=now)
    return None


class Recorded(StrEnum):
    """What became of a tapped answer."""

    RECORDED = "recorded"
    ALREADY = "already"  # answered before: one answer per check-in
    NOT_YOURS = "not_yours"  # not this family's check-in (or gone): a stale or forged button


@dataclass(frozen=True)
class Answered:
    """A family's answer to a check-in, recorded (or not), and what follows from it."""

    outcome: Recorded
    new_concern: bool = False
    step_note: str | None = None
    # After 'not good' or 'talk': the family's concern waits for a coordinator who can receive it.
    waiting: bool = False
    # After 'not good' or 'talk': whether it is office hours (outside them the safety numbers are shown).
    office_hours: bool = True


def answer_checkin(
    *, session: Session, services: Services, family_id: int, checkin_id: int, answer: rules.Answer, now: datetime
) -> Answered:
    """Record a family's tap on its own check-in, once; streaks, topic, concern and step-down follow."""
    checkin = care.get_checkin(session=session, checkin_id=checkin_id)
    if checkin is None or checkin.family_id != family_id:
        return Answered(Recorded.NOT_YOURS)
    if not care.answer_checkin(session=session, checkin_id=checkin_id, family_id=family_id, answer=answer, now=now):
        return Answered(Recorded.ALREADY)
    new_concern, step_note = _record_answer(session, services, family_id, checkin_id, answer, now)
    family = people.get_person(session=session, person_id=family_id)
    if family is not None:
        # Falling answers while help is linked to the family's questions: is that help helping?
        checkins_answered(session=session, services=services, family=family, now=now)
    event(logger, "checkin.answered", family=family_id, answer=str(answer))
    if answer in (rules.Answer.GOOD, rules.Answer.SO_SO):
        return Answered(Recorded.RECORDED, new_concern, step_note)
    return Answered(
        Recorded.RECORDED,
        new_concern,
        step_note,
        waiting=concerns.family_waiting(session, family_id),
        office_hours=escalation.is_office_hours(now, concerns.family_policy(services, session, family_id)),
    )


class FollowUp(StrEnum):
    """After 'so-so', what the family chose (the button's data keeps these words)."""

    HELP = "help"  # practical help: the menu
    WORD = "word"  # a word with the coordinator: a concern
    FINE = "fine"  # nothing, thanks


@dataclass(frozen=True)
class Followed:
    """What a follow-up after 'so-so' led to: for a word with the coordinator, whether it is new and waits."""

    choice: FollowUp
    new: bool = False
    waiting: bool = False


def follow_up(
    *, session: Session, services: Services, family_id: int, checkin_id: int, choice: FollowUp, now: datetime
) -> Followed | None:
    """A follow-up button under the family's own 'so-so' answer; a word with the coordinator raises a concern.

    None: not this family's check-in, or not answered 'so-so' (a stale or forged button).
    """
    checkin = care.get_checkin(session=session, checkin_id=checkin_id)
    if checkin is None or checkin.family_id != family_id or checkin.answer != rules.Answer.SO_SO:
        return None
    if choice != FollowUp.WORD:
        return Followed(choice)
    family = people.get_person(session=session, person_id=family_id)
    assert family is not None
    concern, new = raise_concern(
        session=session, services=services, family=family, raised_by=family, source="checkin_soso", now=now
    )
    return Followed(choice, new=new, waiting=concerns.is_waiting(concern))


def paused_until(*, session: Session, family_id: int) -> date | None:
    """Until when the family paused its check-ins (None: not paused)."""
    profile = care.get_family_profile(session=session, family_id=family_id)
    return profile.checkin_paused_until if profile is not None else None


@dataclass(frozen=True)
class Paused:
    """A pause set (until a day) or lifted (until None); not done when the family has no profile."""

    done: bool
    until: date | None = None


def pause(*, session: Session, services: Services, family_id: int, weeks: int | None, now: datetime) -> Paused:
    """Pause the family's check-ins for some weeks from today (local), or resume them (weeks None)."""
    family = people.get_person(session=session, person_id=family_id)
    if family is None:
        return Paused(done=False)
    until = None if weeks is None else rules.local_date(now, zone=family.timezone) + timedelta(weeks=weeks)
    profile = care.set_pause(session=session, family_id=family_id, until=until)
    if profile is None:
        return Paused(done=False)
    schedule_next(session=session, services=services, family=family, profile=profile, now=now, cause="pause")
    kind = "resumed" if until is None else "paused"
    people.add_timeline(
        session=session, family_id=family_id, kind=kind, now=now, until=until.isoformat() if until else None
    )
    if until is not None:
        day = h(format_day(until, concerns.topic_language(session, family)))
        key = f"topic:pause:{family_id}:{until}"
        concerns.topic_note(session, services, family, key, N_("⏸ Check-ins paused until {day}."), now, day=day)
    else:
        key = f"topic:resume:{family_id}:{int(now.timestamp())}"
        concerns.topic_note(session, services, family, key, N_("▶️ Check-ins resumed."), now)
    return Paused(done=True, until=until)


@dataclass(frozen=True)
class Reopened:
    """'We need help again' done: whether the family's concern waits for a coordinator who can receive it."""

    waiting: bool


def reopen(*, session: Session, services: Services, family_id: int, now: datetime) -> Reopened | None:
    """'We need help again': weekly check-ins again, no pause, and a concern so a coordinator gets in touch."""
    family = people.get_person(session=session, person_id=family_id)
    profile = care.get_family_profile(session=session, family_id=family_id)
    if family is None or profile is None:
        return None
    care.set_pause(session=session, family_id=family_id, until=None)
    care.set_counters(session=session, family_id=family_id, good_streak=0)
    rhythm = rules.reopen_rhythm(rules.Rhythm(profile.checkin_rhythm))
    change_rhythm(session=session, services=services, family=family, coordinator=None, now=now, rhythm=rhythm)
    people.add_timeline(session=session, family_id=family_id, kind="reopened", now=now)
    # In the waakvlam (check-ins only) this one tap is the way back to active support.
    if profile.case_state == CaseState.WAAKVLAM and case_store.move(
        session=session,
        family_id=family_id,
        expected=CaseState.WAAKVLAM,
        target=CaseState.ACTIVE,
        reason=None,
        actor_id=family_id,
        now=now,
    ):
        people.add_timeline(session=session, family_id=family_id, kind="case_asked_again", now=now, actor_id=family_id)
    concern, _new = raise_concern(
        session=session, services=services, family=family, raised_by=family, source="reopen", now=now
    )
    return Reopened(waiting=concerns.is_waiting(concern))
