"""The coordinator's side of lasting matches: /match's list, a match's card and its changes (the match meeting,
pause, resume, end with a reason, a holiday of one side), and the family card's lines about its matches.

Every change is checked through `services.permissions` (`Action.MANAGE_MATCHES`), audited, and told to both
sides as outbox rows in the same transaction; ending goes through `services.match_endings.end_match`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum

from domain import matches as rules
from domain.matches import MatchState, Rhythm, Side, StopReason
from services import match_runs, timeline
from services.callbacks import Button
from services.context import Services
from services.i18n import _, format_day, format_when, h, hi, use_language
from services.labels import name_of
from services.match_endings import end_match
from services.match_texts import (
    OUTCOME_LABELS,
    STOP_LABELS,
    audit_match,
    household_line,
    review_dates,
    rhythm_of,
    rhythm_text,
    sides,
    state_label,
    summary,
    tell,
)
from services.permissions import Action, Decision, Reason, authorize, refusal_text
from storage import job_store, people
from storage import matches as store
from storage.db import Session
from storage.match_tables import Match
from storage.models import Person, Role

logger = logging.getLogger(__name__)


# The coordinator's buttons on /match and a match's card (mt:...).
LIST = Button("mt", "list")
OPEN = Button("mt", "open", int)  # a match id
MEETING = Button("mt", "meet", int)
PAUSE = Button("mt", "pause", int)
RESUME = Button("mt", "resume", int)
END = Button("mt", "end", int)
END_WHY = Button("mt", "why", int, str)  # a match id, a StopReason
HOLIDAY = Button("mt", "hol", int, str)  # a match id, a Side
ADJUST = Button("mt", "adj", int)  # change the rhythm, time or review dates
ADD_MEMBER = Button("mt", "hh", int)  # which adult to add to the support household?
PICK_MEMBER = Button("mt", "hhp", int, int)  # a match id, a volunteer id (services.match_household)
MEMBER_PAGE = Button("mt", "hhpg", int, int)  # a match id, a page of the household list

Rows = list[list[tuple[str, str]]]
# A match whose rhythm, time and review dates can change (a proposal is ended and proposed again instead).
ADJUSTABLE = frozenset({MatchState.TRIAL, MatchState.ACTIVE, MatchState.PAUSED})


def is_coordinator(person: Person | None) -> bool:
    """Whether this person is a coordinator who has consented (and so may see /match)."""
    return person is not None and person.role == Role.COORDINATOR and person.consent_at is not None


def may_manage(*, session: Session, coordinator: Person | None, family_id: int, now: datetime) -> Decision:
    """May this coordinator propose, change or end a match of this family (audited)."""
    return authorize(session=session, actor=coordinator, action=Action.MANAGE_MATCHES, family_id=family_id, now=now)


# --- the coordinator's list and card --------------------------------------------------------------


@dataclass(frozen=True)
class Listed:
    """The matches a coordinator sees: (label, match id) with their state, or a refusal."""

    lines: list[str] = field(default_factory=list)
    buttons: list[tuple[str, int]] = field(default_factory=list)
    refused: bool = False


def overview(*, session: Session, coordinator: Person | None, now: datetime) -> Listed:
    """Every match of the families this coordinator may act for (an admin: all), open ones first."""
    if not is_coordinator(coordinator):
        return Listed(refused=True)
    assert coordinator is not None
    everyone = store.matches_for_families(session=session, family_ids=None)
    lines: list[str] = []
    buttons: list[tuple[str, int]] = []
    for match in everyone:
        decision = authorize(
            session=session, actor=coordinator, action=Action.MANAGE_MATCHES, family_id=match.family_id, audit=False
        )
        if not decision or (decision.reason == Reason.UNASSIGNED and not coordinator.is_admin):
            continue
        family, helper = sides(session, match)
        label = f"{name_of(family)} ↔ {name_of(helper)}"
        lines.append(f"• {hi(label)}: {h(state_label(match.state))}")
        if match.state in store.OPEN and match.id is not None:
            buttons.append((label, match.id))
    return Listed(lines=lines, buttons=buttons)


@dataclass(frozen=True)
class Card:
    text: str = ""
    rows: Rows = field(default_factory=list)
    note: str | None = None  # a refusal
    stale: bool = False


def _managed(session: Session, coordinator: Person | None, match_id: int, now: datetime) -> Match | Card:
    """The match if this coordinator may manage it; else a card that is stale or carries the refusal."""
    match = store.get_match(session=session, match_id=match_id)
    if match is None:
        return Card(stale=True)
    decision = may_manage(session=session, coordinator=coordinator, family_id=match.family_id, now=now)
    if not decision:
        return Card(note=refusal_text(decision))
    return match


def card(*, session: Session, services: Services, coordinator: Person | None, match_id: int, now: datetime) -> Card:
    """A match for its coordinator: what it is, its state, the next time, the latest log; its buttons."""
    found = _managed(session, coordinator, match_id, now)
    if isinstance(found, Card):
        return found
    assert coordinator is not None
    return _card_of(session, services, found, coordinator.language, now)


def _card_of(session: Session, services: Services, match: Match, language: str, now: datetime) -> Card:
    """The card of a match in the reader's language: what it is, the next time, the latest log, its buttons."""
    assert match.id is not None
    family, helper = sides(session, match)
    zone = services.settings.timezone
    with use_language(language):
        lines = [_("🤝 <b>Match</b>: {state}").format(state=h(state_label(match.state)))]
        lines += summary(match, language, family, helper)
        lines.append(
            _("Match meeting: held on {day}").format(day=h(format_day(match.meeting_held_at.date(), language)))
            if match.meeting_held_at
            else _("Match meeting: not recorded yet")
        )
        household = household_line(session=session, match_id=match.id)
        if household:
            lines.append(household)
        following = store.next_occurrence(session=session, match_id=match.id, now=now)
        if following is not None and match.state in rules.RUNNING_STATES:
            lines.append(_("Next time: {when}").format(when=h(format_when(following.starts_at, zone, language))))
        history = [row for row in store.occurrences(session=session, match_id=match.id) if row.outcome]
        if history:
            lines.append(_("Latest:"))
            for row in history[-5:]:
                lines.append(f"• {h(format_day(row.day, language))}: {h(_(OUTCOME_LABELS[row.outcome or '']))}")
        if match.end_reason:
            lines.append(_("Reason: {reason}").format(reason=h(_(STOP_LABELS.get(match.end_reason, match.end_reason)))))
        rows: Rows = []
        state = MatchState(match.state)
        if state in store.OPEN and match.meeting_held_at is None:
            rows.append([(_("📝 Match meeting held"), MEETING.data(match.id))])
        if rules.may("pause", state):
            rows.append([(_("⏸ Pause"), PAUSE.data(match.id))])
        if rules.may("resume", state):
            rows.append([(_("▶️ Resume"), RESUME.data(match.id))])
        if state in rules.RUNNING_STATES:
            rows.append(
                [
                    (_("🏖 Holiday of the family"), HOLIDAY.data(match.id, Side.FAMILY.value)),
                    (_("🏖 Holiday of the helper"), HOLIDAY.data(match.id, Side.HELPER.value)),
                ]
            )
        if state in ADJUSTABLE:
            rows.append([(_("🔧 Change the rhythm or time"), ADJUST.data(match.id))])
        if state in store.OPEN:
            rows.append([(_("👥 Add an adult of the support household"), ADD_MEMBER.data(match.id))])
        if rules.may("stop", state):
            rows.append([(_("⏹ End the match"), END.data(match.id))])
        rows.append([(_("◀ All matches"), LIST.data())])
    return Card(text="\n".join(lines), rows=rows)


def end_reasons(*, session: Session, coordinator: Person | None, match_id: int, now: datetime) -> Card:
    """'End the match': ask why (the reason is kept for the figures)."""
    found = _managed(session, coordinator, match_id, now)
    if isinstance(found, Card):
        return found
    if not rules.may("stop", MatchState(found.state)):
        return Card(stale=True)
    rows = [
        [(_(label), END_WHY.data(match_id, reason))]
        for reason, label in STOP_LABELS.items()
        if reason != StopReason.ERASED
    ]
    return Card(text=_("Why does the match end? Both sides are told kindly, without the reason."), rows=rows)


def change(
    *,
    session: Session,
    services: Services,
    coordinator: Person | None,
    match_id: int,
    move: str,
    now: datetime,
    reason: str | None = None,
) -> Card:
    """Pause, resume, end (with a reason) or record the match meeting; the card again."""
    found = _managed(session, coordinator, match_id, now)
    if isinstance(found, Card):
        return found
    assert coordinator is not None
    make = MOVES.get(move)
    if make is None or not make(session, services, found, coordinator, now, reason):
        return Card(stale=True)
    audit_match(session=session, by=coordinator, action=f"match_{move}", match=found, now=now)
    fresh = store.get_match(session=session, match_id=match_id)
    assert fresh is not None
    return _card_of(session, services, fresh, coordinator.language, now)


def _in_timeline(session: Session, match: Match, kind: str, coordinator: Person, now: datetime) -> None:
    """A coordinator's change of a match on the family's timeline."""
    timeline.note(session=session, about=match, kind=kind, now=now, by=coordinator)


def _hold_meeting(
    session: Session, services: Services, match: Match, coordinator: Person, now: datetime, reason: str | None
) -> bool:
    """Record that the match meeting was held (once, while the match is open); False: nothing to do."""
    state = MatchState(match.state)
    if state not in store.OPEN or match.meeting_held_at is not None:
        return False
    store.set_state(session=session, match_id=match.id or 0, expected=[state], now=now, meeting_held_at=now)
    _in_timeline(session, match, "match_meeting", coordinator, now)
    return True


def _pause(
    session: Session, services: Services, match: Match, coordinator: Person, now: datetime, reason: str | None
) -> bool:
    """Pause a running match: no more occurrences until it resumes (reviews stay); both sides are told."""
    state = MatchState(match.state)
    if not rules.may("pause", state):
        return False
    match_runs.stop_future(session=session, match=match, now=now, reviews_too=False)
    store.set_state(
        session=session, match_id=match.id or 0, expected=[state], now=now, state="paused", paused_from=state
    )
    match_runs.tell_paused(session, match, now, "pause")
    _in_timeline(session, match, "match_paused", coordinator, now)
    return True


def _resume(
    session: Session, services: Services, match: Match, coordinator: Person, now: datetime, reason: str | None
) -> bool:
    """Resume a paused match in the state it was paused from; the occurrences are planned again, both told."""
    state = MatchState(match.state)
    if not rules.may("resume", state):
        return False
    store.set_state(
        session=session,
        match_id=match.id or 0,
        expected=[state],
        now=now,
        state=match.paused_from or MatchState.TRIAL,
        paused_from=None,
        planned_until=None,
    )
    resumed = store.get_match(session=session, match_id=match.id or 0)
    assert resumed is not None
    match_runs.plan(session=session, match=resumed, now=now)
    match_runs.tell_paused(session, match, now, "resume")
    _in_timeline(session, match, "match_resumed", coordinator, now)
    return True


def _end(
    session: Session, services: Services, match: Match, coordinator: Person, now: datetime, reason: str | None
) -> bool:
    """End the match for one of the coordinator's reasons (never 'erased', which is for erasure only)."""
    if reason not in STOP_LABELS or reason == StopReason.ERASED or not rules.may("stop", MatchState(match.state)):
        return False
    end_match(session=session, services=services, match=match, reason=StopReason(reason), actor=coordinator, now=now)
    return True


# The card's changes by name: each returns False when the match's state no longer allows it (a stale button).
MOVES: dict[str, Callable[[Session, Services, Match, Person, datetime, str | None], bool]] = {
    "meeting": _hold_meeting,
    "pause": _pause,
    "resume": _resume,
    "end": _end,
}


# --- holidays -------------------------------------------------------------------------------------


class HolidayResult(StrEnum):
    DONE = "done"
    BAD_DATES = "bad_dates"
    GONE = "gone"


def add_holiday(
    *,
    session: Session,
    services: Services,
    coordinator: Person | None,
    match_id: int,
    side: str,
    first: date,
    last: date,
    now: datetime,
) -> HolidayResult:
    """A holiday of one side: occurrences on those days do not happen and are nobody's miss; both are told."""
    found = _managed(session, coordinator, match_id, now)
    if isinstance(found, Card):
        return HolidayResult.GONE
    match = found
    today = rules.local_day(now)
    if side not in (Side.FAMILY, Side.HELPER) or match.state not in rules.RUNNING_STATES:
        return HolidayResult.GONE
    if last < first or last < today or (last - first).days > 120:
        return HolidayResult.BAD_DATES
    store.add_holiday(session=session, match_id=match_id, side=side, first=first, last=last, now=now)
    for row in store.occurrences(session=session, match_id=match_id):
        if row.outcome is None and row.starts_at > now and rules.in_holiday(row.day, [(first, last)]):
            store.set_outcome(session=session, occurrence_id=row.id or 0, outcome="holiday", now=now)
            job_store.cancel_jobs(session=session, kind=match_runs.REMIND, subject_id=row.id or 0)
            job_store.cancel_jobs(session=session, kind=match_runs.LOG_JOB, subject_id=row.id or 0)
    family, helper = sides(session, match)
    for reader in (family, helper):
        if reader is None:
            continue
        with use_language(reader.language):
            text = _("🏖 No meetings of your match from {first} to {last} (a holiday). After that it goes on as usual.")
            text = text.format(first=h(format_day(first, reader.language)), last=h(format_day(last, reader.language)))
        tell(session, reader, f"match.holiday:{match_id}:{first.isoformat()}:{reader.id}", text, now)
    timeline.note(session=session, about=match, kind="match_holiday", now=now, by=coordinator, side=side)
    return HolidayResult.DONE


def match_lines_for_family(*, session: Session, family_id: int, language: str) -> list[str]:
    """The family card's lines about its matches (open ones)."""
    lines: list[str] = []
    with use_language(language):
        for match in store.matches_of(session=session, person_id=family_id):
            if match.family_id != family_id:
                continue
            _family, helper = sides(session, match)
            lines.append(
                _("Match with {name}: {state}").format(name=hi(name_of(helper)), state=h(state_label(match.state)))
            )
    return lines


# --- adjusting a running match --------------------------------------------------------------------


@dataclass(frozen=True)
class AdjustStart:
    """What the adjusting dialogue needs of the match (or the card that says why it cannot change)."""

    match_id: int = 0
    family_id: int = 0
    helper_id: int = 0
    kind: str = ""
    trial_end: date | None = None
    in_trial: bool = False
    refused: Card | None = None


def adjust_start(*, session: Session, coordinator: Person | None, match_id: int, now: datetime) -> AdjustStart:
    """'Change the rhythm or time': may this coordinator, and may this match change now."""
    found = _managed(session, coordinator, match_id, now)
    if isinstance(found, Card):
        return AdjustStart(refused=found)
    if MatchState(found.state) not in ADJUSTABLE:
        return AdjustStart(refused=Card(stale=True))
    in_trial = found.state == MatchState.TRIAL or found.paused_from == MatchState.TRIAL
    return AdjustStart(
        match_id=match_id,
        family_id=found.family_id,
        helper_id=found.helper_id,
        kind=found.kind,
        trial_end=found.trial_end,
        in_trial=in_trial,
    )


def _does_not_fit(match: Match, state: MatchState, rhythm: Rhythm, reviews: list[date], today: date) -> bool:
    """Whether a new rhythm and review dates do not fit: the rhythm's problems, or a review date within the trial
    of a match that is not (or was not, before its pause) active."""
    return bool(rules.adjust_problems(rhythm, reviews=reviews, today=today)) or (
        state != MatchState.ACTIVE
        and match.paused_from != MatchState.ACTIVE
        and any(d <= match.trial_end for d in reviews)
    )


def adjust(
    *,
    session: Session,
    services: Services,
    coordinator: Person | None,
    match_id: int,
    rhythm: Rhythm,
    reviews: list[date],
    now: datetime,
) -> Card:
    """A new rhythm, time window and review dates for a running, trial or paused match.

    The future times of the old rhythm go (their reminders too) and the new ones are planned, in local time;
    both sides are told what changed in their own language; the change is in the timeline and the audit."""
    found = _managed(session, coordinator, match_id, now)
    if isinstance(found, Card):
        return found
    assert coordinator is not None and found.id is not None
    match = found
    state = MatchState(match.state)
    if state not in ADJUSTABLE:
        return Card(stale=True)
    zone = services.settings.timezone
    if _does_not_fit(match, state, rhythm, reviews, rules.local_day(now, zone)):
        return Card(note=_("The days or times do not fit together. Please start again with /match."))
    before = rhythm_of(match)
    before_reviews = review_dates(match)
    match_runs.stop_future(session=session, match=match, now=now, reviews_too=True)
    if not store.set_state(
        session=session,
        match_id=match_id,
        expected=[state],
        now=now,
        rhythm=rhythm.to_json(),
        reviews=[day.isoformat() for day in sorted(set(reviews))],
        planned_until=None,
    ):
        return Card(stale=True)
    changed = store.get_match(session=session, match_id=match_id)
    assert changed is not None
    match_runs.plan(session=session, match=changed, now=now)
    match_runs.schedule_reviews(session=session, match=changed, zone=zone, now=now, again=True)
    _tell_adjusted(session, changed, before, before_reviews, now)
    _in_timeline(session, changed, "match_adjusted", coordinator, now)
    audit_match(
        session=session,
        by=coordinator,
        action="match_adjust",
        match=changed,
        now=now,
        rhythm=rhythm.to_json(),
        before=before.to_json(),
    )
    fresh = store.get_match(session=session, match_id=match_id)
    assert fresh is not None
    return _card_of(session, services, fresh, coordinator.language, now)


def _tell_adjusted(session: Session, match: Match, before: Rhythm, before_reviews: list[date], now: datetime) -> None:
    """Both sides (and the household's adults) hear what changed, each in their own language."""
    family, helper = sides(session, match)
    after = rhythm_of(match)
    readers = [(family, helper), (helper, family)]
    for member in store.members(session=session, match_id=match.id or 0, active_only=True):
        readers.append((people.get_person(session=session, person_id=member.person_id), family))
    for reader, other in readers:
        if reader is None:
            continue
        with use_language(reader.language):
            lines = [
                _("🔧 Your coordinator changed the match with {name}.").format(name=hi(name_of(other))),
                _("From now on: {rhythm}").format(rhythm=h(rhythm_text(after, reader.language))),
                _("Before: {rhythm}").format(rhythm=h(rhythm_text(before, reader.language))),
            ]
            reviews = review_dates(match)
            if reviews != before_reviews:
                days = ", ".join(format_day(day, reader.language) for day in reviews) or _("none for now")
                lines.append(_("New review dates: {days}").format(days=h(days)))
            lines.append(_("You get a reminder the day before each time, as before."))
        tell(session, reader, f"match.adjust:{match.id}:{reader.id}:{now:%Y%m%d%H%M%S}", "\n".join(lines), now)
