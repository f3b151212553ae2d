"""A running match: its occurrences planned from the rhythm, the reminders, "not this time" and the visit log.

Occurrences are rows (`matchoccurrence`), planned three weeks ahead (`domain.matches.PLANNING_HORIZON`) and
again every week by the `match.plan` job. Each occurrence has two jobs: `match.remind` the day before (both
sides, with "🙅 Not this time") and `match.log` when it ends (the helper's one tap: it happened / it didn't /
it was difficult; the family's optional feeling). A holiday of either side, or the helper's own pause, makes
an occurrence nobody's miss. "Difficult", or two occurrences in a row that did not happen, reach the family's
coordinators as a concern (`services.escalation.raise_concern`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from typing import Any

from domain import matches as rules
from domain import volunteers as volunteer_rules
from domain.matches import MatchState, Outcome, Side
from services import timeline
from services.context import JobHandler, Services
from services.escalation import raise_concern
from services.i18n import _, format_day, format_when, h, hi, use_language
from services.labels import name_of
from services.logs import event
from services.match_contact import write_button
from services.match_texts import (
    FEEL,
    FEELINGS,
    LOG,
    OUTCOME_LABELS,
    POOL,
    SKIP,
    kind_label,
    match_coordinator,
    review_dates,
    rhythm_of,
    side_of,
    sides,
    tell,
)
from services.question_reviews import help_went_badly
from storage import job_store, people
from storage import matches as store
from storage.db import Session
from storage.match_tables import Match, MatchOccurrence
from storage.models import Person

logger = logging.getLogger(__name__)

PLAN = "match.plan"
REMIND = "match.remind"
LOG_JOB = "match.log"
REVIEW = "match.review"
REPLAN_EVERY = timedelta(days=7)
REVIEW_AT = time(10, 0)  # a review question comes in the morning of its day


# --- planning -------------------------------------------------------------------------------------


def _holidays(session: Session, match: Match, now: datetime) -> list[tuple[date, date]]:
    """The match's holidays, and the helper's own volunteering pause as one more."""
    found = store.holidays(session=session, match_id=match.id or 0)
    profile = people.get_volunteer(session=session, person_id=match.helper_id)
    if profile is not None and profile.paused_until is not None:
        found.append((rules.local_day(now), profile.paused_until))
    return found


def plan(*, session: Session, match: Match, now: datetime) -> int:
    """Plan the match's occurrences within the horizon, each with its reminder and log jobs; how many new."""
    assert match.id is not None
    if match.state not in rules.RUNNING_STATES:
        return 0
    rhythm = rhythm_of(match)
    holidays = _holidays(session, match, now)
    planned = 0
    for found in rules.next_to_plan(rhythm, planned_until=match.planned_until, now=now):
        outcome = Outcome.HOLIDAY.value if rules.in_holiday(found.day, holidays) else None
        row = store.add_occurrence(
            session=session,
            match_id=match.id,
            day=found.day,
            starts_at=found.starts_at,
            ends_at=found.ends_at,
            outcome=outcome,
        )
        if row is None or row.id is None:
            continue
        planned += 1
        if outcome is None:
            _schedule_occurrence(session, row, now)
    until = rules.local_day(now + rules.PLANNING_HORIZON, rhythm.zone)
    store.set_state(session=session, match_id=match.id, expected=[match.state], now=now, planned_until=until)
    job_store.schedule_job(
        session=session,
        kind=PLAN,
        subject_id=match.id,
        due_at=now + REPLAN_EVERY,
        dedupe_key=f"{PLAN}:{match.id}:{until.isoformat()}",
        now=now,
    )
    return planned


def _schedule_occurrence(session: Session, row: MatchOccurrence, now: datetime) -> None:
    """An occurrence's jobs: the reminder the day before (when still ahead) and the visit log at its end."""
    occurrence = rules.Occurrence(day=row.day, starts_at=row.starts_at, ends_at=row.ends_at)
    remind = rules.reminder_at(occurrence, now=now)
    # The row is new (its jobs are scheduled once, with it); SQLite may give a row planned again after a pause
    # or an adjustment the id of one taken off, so the key also names its time and when it was planned.
    planned = f"{row.id}:{row.starts_at:%Y%m%d%H%M}:{now:%Y%m%d%H%M%S}"
    if remind is not None:
        job_store.schedule_job(
            session=session, kind=REMIND, subject_id=row.id, due_at=remind, dedupe_key=f"{REMIND}:{planned}", now=now
        )
    job_store.schedule_job(
        session=session, kind=LOG_JOB, subject_id=row.id, due_at=row.ends_at, dedupe_key=f"{LOG_JOB}:{planned}", now=now
    )


def schedule_reviews(*, session: Session, match: Match, zone: str, now: datetime, again: bool = False) -> None:
    """A `match.review` job on the morning of the trial end and of each review date (`again`: after an
    adjustment cancelled the earlier ones; a review already asked is never asked twice, see `match_reviews`)."""
    assert match.id is not None
    suffix = f":adj{now:%Y%m%d%H%M%S}" if again else ""
    for day in sorted({match.trial_end, *review_dates(match)}):
        due = rules.at_local(day, REVIEW_AT, zone)
        if again and due < now:
            continue
        job_store.schedule_job(
            session=session,
            kind=REVIEW,
            subject_id=match.id,
            due_at=max(due, now),
            dedupe_key=f"{REVIEW}:{match.id}:{day.isoformat()}{suffix}",
            now=now,
        )


def stop_future(*, session: Session, match: Match, now: datetime, reviews_too: bool) -> int:
    """Take the match's future occurrences off the plan (their jobs too); how many."""
    assert match.id is not None
    ids = store.cancel_future(session=session, match_id=match.id, after=now)
    for occurrence_id in ids:
        job_store.cancel_jobs(session=session, kind=REMIND, subject_id=occurrence_id)
        job_store.cancel_jobs(session=session, kind=LOG_JOB, subject_id=occurrence_id)
    job_store.cancel_jobs(session=session, kind=PLAN, subject_id=match.id)
    if reviews_too:
        job_store.cancel_jobs(session=session, kind=REVIEW, subject_id=match.id)
    store.set_state(session=session, match_id=match.id, expected=[match.state], now=now, planned_until=None)
    return len(ids)


def plan_job(*, session: Session, job: Any, services: Services, now: datetime) -> None:
    """Weekly: plan the next occurrences of a running match."""
    match = store.get_match(session=session, match_id=job.subject_id or 0)
    if match is not None:
        plan(session=session, match=match, now=now)


def helper_may_care_for_children(*, session: Session, services: Services, helper_id: int, today: date) -> bool:
    """The helper's VOG is valid on the day and the coordinator allowed tasks with children at intake."""
    profile = people.get_volunteer(session=session, person_id=helper_id)
    if profile is None or not profile.children_ok or profile.vog_date is None or profile.vog_date > today:
        return False
    valid_until = volunteer_rules.vog_expires_on(profile.vog_date, services.settings.vog_valid_years) - timedelta(
        days=1
    )
    return rules.helper_may_care_for_children([valid_until], on=today)


def household_may_care_for_children(*, session: Session, services: Services, match: Match, today: date) -> bool:
    """The helper and every adult of the support household (who did not decline) may care for children."""
    adults = [
        match.helper_id,
        *(row.person_id for row in store.members(session=session, match_id=match.id or 0, active_only=True)),
    ]
    return all(
        helper_may_care_for_children(session=session, services=services, helper_id=adult, today=today)
        for adult in adults
    )


def household(session: Session, match: Match) -> list[Person]:
    """The adults of the support household who agreed (besides the helper), as stored now."""
    found = []
    for row in store.members(session=session, match_id=match.id or 0, active_only=True):
        person = people.get_person(session=session, person_id=row.person_id) if row.accepted_at else None
        if person is not None:
            found.append(person)
    return found


def tell_paused(session: Session, match: Match, now: datetime, what: str, *, household_too: bool = False) -> None:
    """Tell both sides (with `household_too`, also the helper's household) that their match is paused or goes
    on ('pause' or 'resume')."""
    family, helper = sides(session, match)
    readers = [(family, helper), (helper, family)]
    if household_too:
        readers += [(member, family) for member in household(session, match)]
    for reader, other in readers:
        if reader is None:
            continue
        with use_language(reader.language):
            if what == "pause":
                text = _("⏸ The match with {name} is paused for now. Your coordinator will tell you when it goes on.")
            else:
                text = _("▶️ The match with {name} goes on. You get a reminder the day before each time.")
        tell(
            session,
            reader,
            f"match.{what}:{match.id}:{reader.id}:{now:%Y%m%d%H%M}",
            text.format(name=hi(name_of(other))),
            now,
        )


def _suspend_for_vog(session: Session, match: Match, now: datetime) -> None:
    """The helper's VOG no longer covers children: the match pauses and its coordinator is told."""
    assert match.id is not None
    stop_future(session=session, match=match, now=now, reviews_too=False)
    store.set_state(
        session=session, match_id=match.id, expected=[match.state], now=now, state="paused", paused_from=match.state
    )
    family, helper = sides(session, match)
    coordinator = match_coordinator(session, match)
    if coordinator is not None:
        with use_language(coordinator.language):
            text = _(
                "📄 The match of {family} with {helper} is paused: the helper's VOG no longer covers help with "
                "children. Resume it once the VOG is renewed."
            ).format(family=hi(name_of(family)), helper=hi(name_of(helper)))
        tell(session, coordinator, f"match.vog:{match.id}:{now:%Y%m%d}", text, now)
    tell_paused(session, match, now, "pause", household_too=True)
    timeline.note(session=session, about=match, kind="match_paused", now=now, reason="vog")
    event(logger, "match.vog_suspended", match=match.id)


# --- the reminder and "not this time" -------------------------------------------------------------


def _occurrence_and_match(session: Session, occurrence_id: int) -> tuple[MatchOccurrence, Match] | None:
    """An occurrence with its match, or None when either is gone."""
    occurrence = store.get_occurrence(session=session, occurrence_id=occurrence_id)
    if occurrence is None:
        return None
    match = store.get_match(session=session, match_id=occurrence.match_id)
    return (occurrence, match) if match is not None else None


def remind_job(*, session: Session, job: Any, services: Services, now: datetime) -> None:
    """The day before an occurrence: both sides are reminded, each with "Not this time"."""
    found = _occurrence_and_match(session, job.subject_id or 0)
    if found is None:
        return
    occurrence, match = found
    if match.state not in rules.RUNNING_STATES or occurrence.outcome is not None:
        return
    if rules.in_holiday(occurrence.day, _holidays(session, match, now)):
        store.set_outcome(session=session, occurrence_id=occurrence.id or 0, outcome=Outcome.HOLIDAY, now=now)
        job_store.cancel_jobs(session=session, kind=LOG_JOB, subject_id=occurrence.id or 0)
        return
    if match.involves_children and not household_may_care_for_children(
        session=session, services=services, match=match, today=occurrence.day
    ):
        _suspend_for_vog(session, match, now)
        return
    if not store.mark_reminded(session=session, occurrence_id=occurrence.id or 0, now=now):
        return
    family, helper = sides(session, match)
    zone = services.settings.timezone
    for reader, other in ((family, helper), (helper, family)):
        if reader is None:
            continue
        with use_language(reader.language):
            text = _("🗓 Tomorrow: {kind} with {name}, {when}.").format(
                kind=h(kind_label(match.kind)),
                name=hi(name_of(other)),
                when=h(format_when(occurrence.starts_at, zone, reader.language)),
            )
            text += "\n" + _("If it cannot go ahead, tap below: {name} will be told.").format(name=hi(name_of(other)))
            buttons = [
                [(_("🙅 Not this time"), SKIP.data(occurrence.id))],
                [write_button(match.id or 0, name_of(other))],
            ]
        tell(session, reader, f"match.remind:{occurrence.id}:{reader.id}", text, now, buttons)
    for member in household(session, match):
        with use_language(member.language):
            text = _("🗓 Tomorrow: {kind} with {name}, {when}.").format(
                kind=h(kind_label(match.kind)),
                name=hi(name_of(family)),
                when=h(format_when(occurrence.starts_at, zone, member.language)),
            )
        tell(session, member, f"match.remind:{occurrence.id}:{member.id}", text, now)
    event(logger, "match.reminded", match=match.id, occurrence=occurrence.id)


class Skipped(StrEnum):
    DONE = "done"
    GONE = "gone"  # not theirs, over, or already called off


@dataclass(frozen=True)
class SkipResult:
    result: Skipped
    other_name: str = ""
    day: date | None = None


def skip(
    *, session: Session, services: Services, person: Person | None, occurrence_id: int, now: datetime
) -> SkipResult:
    """'Not this time' from either side: the occurrence is off, the other side told, after repeats the coordinator."""
    found = _occurrence_and_match(session, occurrence_id)
    if found is None:
        return SkipResult(Skipped.GONE)
    occurrence, match = found
    side = side_of(match, person)
    if side is None or not rules.may("skip", MatchState(match.state)) or occurrence.starts_at <= now:
        return SkipResult(Skipped.GONE)
    if not store.set_outcome(
        session=session, occurrence_id=occurrence_id, outcome=Outcome.SKIPPED, now=now, skipped_by=side.value
    ):
        return SkipResult(Skipped.GONE)
    job_store.cancel_jobs(session=session, kind=LOG_JOB, subject_id=occurrence_id)
    job_store.cancel_jobs(session=session, kind=REMIND, subject_id=occurrence_id)
    family, helper = sides(session, match)
    me, other = (family, helper) if side == Side.FAMILY else (helper, family)
    if other is not None:
        with use_language(other.language):
            text = _("🙅 {name} cannot make it this time ({day}). The next time stays as planned.").format(
                name=hi(name_of(me)), day=h(format_day(occurrence.day, other.language))
            )
            buttons = None
            if side == Side.HELPER:
                # The family may ask for this one time to go to other volunteers (with its OK).
                text += "\n" + _("Would you like other volunteers to be asked for this one time?")
                buttons = [[(_("📣 Ask other volunteers"), POOL.data(occurrence_id))]]
        tell(session, other, f"match.skip:{occurrence_id}", text, now, buttons)
    timeline.note(session=session, about=match, kind="match_skipped", now=now, by=me, side=side.value)
    history = store.occurrences(session=session, match_id=match.id or 0)
    done = [row for row in history if row.outcome is not None]
    skipped_by = [Side(row.skipped_by) if row.skipped_by else None for row in done]
    repeats = rules.skips_in_a_row(skipped_by, side)
    concern = _concern_if_needed(session, services, match, me, history, now)
    coordinator = match_coordinator(session, match)
    if not concern and repeats >= rules.SKIPS_FOR_COORDINATOR and coordinator is not None:
        with use_language(coordinator.language):
            text = _("🙅 {name} called off the match with {other} again ({count} times in a row).").format(
                name=hi(name_of(me)), other=hi(name_of(other)), count=hi(repeats)
            )
        tell(session, coordinator, f"match.skips:{occurrence_id}", text, now)
    return SkipResult(Skipped.DONE, other_name=name_of(other), day=occurrence.day)


def _concern_if_needed(
    session: Session,
    services: Services,
    match: Match,
    raised_by: Person | None,
    history: list[MatchOccurrence],
    now: datetime,
) -> bool:
    """A difficult visit or two misses in a row: a concern for the family's coordinators; True when raised."""
    outcomes = [Outcome(row.outcome) for row in history if row.outcome is not None]
    if not rules.needs_coordinator(outcomes):
        return False
    family = people.get_person(session=session, person_id=match.family_id)
    if family is None:
        return False
    latest = next((outcome for outcome in reversed(outcomes) if outcome != Outcome.HOLIDAY), None)
    source = "match_difficult" if latest == Outcome.DIFFICULT else "match_missed"
    raise_concern(session=session, services=services, family=family, raised_by=raised_by, source=source, now=now)
    if match.id is not None:
        # The family's questions this match serves get a decision: is this help helping?
        help_went_badly(session=session, services=services, kind="match", ref_id=match.id, now=now)
    event(logger, "match.concern", match=match.id, source=source)
    return True


# --- the visit log --------------------------------------------------------------------------------


def log_job(*, session: Session, job: Any, services: Services, now: datetime) -> None:
    """When an occurrence ends: the helper is asked what happened, the family how it was (optional)."""
    found = _occurrence_and_match(session, job.subject_id or 0)
    if found is None:
        return
    occurrence, match = found
    if occurrence.outcome is not None or match.state not in (*rules.RUNNING_STATES, MatchState.PAUSED):
        return
    family, helper = sides(session, match)
    day = occurrence.day
    # The helper and every adult of the household who agreed may tap it; the first tap counts.
    for adult in (helper, *household(session, match)):
        if adult is None:
            continue
        with use_language(adult.language):
            text = _("How did it go with {name} ({day})? One tap is enough.").format(
                name=hi(name_of(family)), day=h(format_day(day, adult.language))
            )
            buttons = [
                [(_(OUTCOME_LABELS[outcome]), LOG.data(occurrence.id, outcome.value))]
                for outcome in (Outcome.HAPPENED, Outcome.DIDNT, Outcome.DIFFICULT)
            ]
        key = f"match.log:{occurrence.id}" if adult is helper else f"match.log:{occurrence.id}:{adult.id}"
        tell(session, adult, key, text, now, buttons)
    if family is not None:
        with use_language(family.language):
            text = _("How was the time with {name} ({day}) for you? You may skip this.").format(
                name=hi(name_of(helper)), day=h(format_day(day, family.language))
            )
            buttons = [[(_(label), FEEL.data(occurrence.id, key)) for key, label in FEELINGS.items()]]
        tell(session, family, f"match.feel:{occurrence.id}", text, now, buttons)


class Logged(StrEnum):
    DONE = "done"
    CONCERN = "concern"  # recorded, and the coordinators hear of it
    GONE = "gone"


def _timeline_logged(session: Session, match: Match, person: Person | None, now: datetime, **detail: str) -> None:
    """The family's timeline notes what the helper logged or the family felt after an occurrence."""
    timeline.note(session=session, about=match, kind="match_logged", now=now, by=person, **detail)


def log_visit(
    *, session: Session, services: Services, person: Person | None, occurrence_id: int, outcome: str, now: datetime
) -> Logged:
    """The helper's one tap after an occurrence; "difficult" or two misses in a row raise a concern."""
    found = _occurrence_and_match(session, occurrence_id)
    if found is None or outcome not in (Outcome.HAPPENED, Outcome.DIDNT, Outcome.DIFFICULT):
        return Logged.GONE
    occurrence, match = found
    in_household = person is not None and any(adult.id == person.id for adult in household(session, match))
    if (side_of(match, person) != Side.HELPER and not in_household) or occurrence.starts_at > now:
        return Logged.GONE
    if not rules.may("log", MatchState(match.state)):
        return Logged.GONE
    if not store.set_outcome(session=session, occurrence_id=occurrence_id, outcome=outcome, now=now):
        return Logged.GONE
    _timeline_logged(session, match, person, now, outcome=outcome)
    history = store.occurrences(session=session, match_id=match.id or 0)
    if outcome != Outcome.HAPPENED and _concern_if_needed(session, services, match, person, history, now):
        return Logged.CONCERN
    return Logged.DONE


def feel(*, session: Session, person: Person | None, occurrence_id: int, feeling: str, now: datetime) -> bool:
    """The family's optional feeling after an occurrence; once."""
    found = _occurrence_and_match(session, occurrence_id)
    if found is None or feeling not in FEELINGS:
        return False
    occurrence, match = found
    if side_of(match, person) != Side.FAMILY or occurrence.starts_at > now:
        return False
    if not store.set_feeling(session=session, occurrence_id=occurrence_id, feeling=feeling):
        return False
    _timeline_logged(session, match, person, now, feeling=feeling)
    return True


JOBS: dict[str, JobHandler] = {PLAN: plan_job, REMIND: remind_job, LOG_JOB: log_job}
