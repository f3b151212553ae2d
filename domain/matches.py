"""Lasting matches (koppelingen): a family and one helper meeting regularly for months. Pure rules.

A *match* links a family to one helper (a volunteer, or a support household whose adults each have their
own VOG) for regular help: a child sleeping over every other weekend, a weekly play afternoon. Its life:

    proposed --both accept--> trial --coordinator continues--> active
        |                       |  \\                             |
        +--either declines--> declined   +--pause--> paused <--+  (resume returns to where it was)
                                |                               |
                                +--------- stop (a reason) ---> ended

Rules chosen here (each one sentence a coordinator can say to a family):

* **Occurrences follow the rhythm in local time** (Europe/Amsterdam by default): "every other Saturday
  14:00-17:00" stays 14:00 on the wall across daylight-saving changes. Weekly and every-other-week count
  from the first date; chosen weekdays repeat every week; "agreed each time" has no fixed occurrences.
* **A holiday of either side pauses the rhythm**: an occurrence on a day inside a holiday does not happen
  and is nobody's miss; the rhythm itself does not shift (every other Saturday stays on its Saturdays).
* **"Not this time"** skips one occurrence; the other side is told; two skips in a row by the same side
  tell the coordinator too.
* **The visit log** is one tap from the helper: it happened, it didn't, it was difficult. "Difficult", or two
  occurrences in a row that did not happen (skipped or "it didn't"), reach a coordinator as a concern.
* **Reviews**: at the trial end and on each review date the family, the helper and the coordinator are asked
  "continue / adjust / stop"; the coordinator decides.

No clock, no database: every function receives the moments it reasons about and returns UTC datetimes.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from domain.insight import Row, breakdown_rows, median, shown, shown_share, total_row

DEFAULT_ZONE = "Europe/Amsterdam"
# How far ahead occurrences are planned (a reminder job each); later ones are planned as time goes on.
PLANNING_HORIZON = timedelta(days=21)
REMINDER_BEFORE = timedelta(days=1)
# Trials run one to two months in the source programmes; a trial end further out than this is a typo.
LONGEST_TRIAL = timedelta(days=120)
LONGEST_WINDOW = timedelta(hours=36)  # a sleepover from Saturday afternoon to Sunday evening fits
MISSES_FOR_CONCERN = 2
SKIPS_FOR_COORDINATOR = 2


class MatchState(StrEnum):
    PROPOSED = "proposed"
    TRIAL = "trial"
    ACTIVE = "active"
    PAUSED = "paused"
    DECLINED = "declined"
    ENDED = "ended"


OPEN_STATES = frozenset({MatchState.PROPOSED, MatchState.TRIAL, MatchState.ACTIVE, MatchState.PAUSED})
RUNNING_STATES = frozenset({MatchState.TRIAL, MatchState.ACTIVE})


class Side(StrEnum):
    FAMILY = "family"
    HELPER = "helper"


class RhythmKind(StrEnum):
    WEEKLY = "weekly"
    EVERY_OTHER_WEEK = "every_other_week"
    WEEKDAYS = "weekdays"  # chosen weekdays, every week
    AGREED = "agreed"  # agreed each time: no fixed occurrences


class Outcome(StrEnum):
    HAPPENED = "happened"
    DIDNT = "didnt"
    DIFFICULT = "difficult"
    SKIPPED = "skipped"  # someone said "not this time" beforehand
    HOLIDAY = "holiday"  # inside a holiday of either side: nobody's miss


class ReviewChoice(StrEnum):
    CONTINUE = "continue"
    ADJUST = "adjust"
    STOP = "stop"


class StopReason(StrEnum):
    GOAL_REACHED = "goal_reached"
    NOT_A_FIT = "not_a_fit"
    FAMILY_WITHDREW = "family_withdrew"
    HELPER_WITHDREW = "helper_withdrew"
    MOVED = "moved"
    VOG_EXPIRED = "vog_expired"
    ERASED = "erased"
    OTHER = "other"


class RhythmProblem(StrEnum):
    NO_WEEKDAYS = "no_weekdays"
    WINDOW_EMPTY = "window_empty"
    WINDOW_TOO_LONG = "window_too_long"
    TRIAL_IN_PAST = "trial_in_past"
    TRIAL_TOO_LONG = "trial_too_long"
    REVIEW_BEFORE_START = "review_before_start"
    FIRST_IN_PAST = "first_in_past"


@dataclass(frozen=True)
class Rhythm:
    """When a match meets: a kind, a first date, the weekdays (0 = Monday) and a local time window."""

    kind: RhythmKind
    first: date
    start: time
    # How long one occurrence lasts (a window may run past midnight: a sleepover).
    length: timedelta
    weekdays: frozenset[int] = field(default_factory=frozenset)
    zone: str = DEFAULT_ZONE

    def to_json(self) -> dict[str, object]:
        """The rhythm as JSON, as stored with the match."""
        return {
            "kind": self.kind.value,
            "first": self.first.isoformat(),
            "start": self.start.strftime("%H:%M"),
            "minutes": int(self.length.total_seconds() // 60),
            "weekdays": sorted(self.weekdays),
            "zone": self.zone,
        }

    @classmethod
    def from_json(cls, data: dict[str, object]) -> Rhythm:
        """A rhythm from its stored JSON (an old one without a zone: the default zone)."""
        weekdays = data.get("weekdays") or []
        assert isinstance(weekdays, list)
        return cls(
            kind=RhythmKind(str(data["kind"])),
            first=date.fromisoformat(str(data["first"])),
            start=time.fromisoformat(str(data["start"])),
            length=timedelta(minutes=int(str(data["minutes"]))),
            weekdays=frozenset(int(day) for day in weekdays),
            zone=str(data.get("zone") or DEFAULT_ZONE),
        )


@dataclass(frozen=True)
class Occurrence:
    """One planned meeting: its local day and its UTC start and end."""

    day: date
    starts_at: datetime
    ends_at: datetime


def at_local(day: date, moment: time, zone: str) -> datetime:
    """A wall-clock time on a local day as UTC (a time in the spring gap lands an hour later on the wall)."""
    # zoneinfo reads a wall time in the spring gap with the offset from before it (fold=0).
    return datetime.combine(day, moment, tzinfo=ZoneInfo(zone)).astimezone(UTC)


def _window_problems(rhythm: Rhythm) -> list[RhythmProblem]:
    """What is wrong with a rhythm's days and window, whether it starts a match or changes a running one."""
    problems: list[RhythmProblem] = []
    if rhythm.kind == RhythmKind.WEEKDAYS and not rhythm.weekdays:
        problems.append(RhythmProblem.NO_WEEKDAYS)
    if rhythm.length <= timedelta(0):
        problems.append(RhythmProblem.WINDOW_EMPTY)
    elif rhythm.length > LONGEST_WINDOW:
        problems.append(RhythmProblem.WINDOW_TOO_LONG)
    return problems


def rhythm_problems(rhythm: Rhythm, *, trial_end: date, reviews: Sequence[date], today: date) -> list[RhythmProblem]:
    """Why a proposed rhythm and trial make no sense (empty when they do)."""
    problems = _window_problems(rhythm)
    if trial_end <= today or trial_end <= rhythm.first:
        problems.append(RhythmProblem.TRIAL_IN_PAST)
    elif trial_end - rhythm.first > LONGEST_TRIAL:
        problems.append(RhythmProblem.TRIAL_TOO_LONG)
    if any(review <= rhythm.first or review <= today for review in reviews):
        problems.append(RhythmProblem.REVIEW_BEFORE_START)
    return problems


def adjust_problems(rhythm: Rhythm, *, reviews: Sequence[date], today: date) -> list[RhythmProblem]:
    """Why a new rhythm for a running match makes no sense (the trial end stays as it was; empty: it does)."""
    problems = _window_problems(rhythm)
    if rhythm.first < today:
        problems.append(RhythmProblem.FIRST_IN_PAST)
    if any(review <= today for review in reviews):
        problems.append(RhythmProblem.REVIEW_BEFORE_START)
    return problems


def _days(rhythm: Rhythm, since: date, until: date) -> Iterable[date]:
    """The local days of the rhythm from `since` to `until` inclusive (never before the first date)."""
    day = max(since, rhythm.first)
    if rhythm.kind == RhythmKind.AGREED:
        return
    while day <= until:
        offset = (day - rhythm.first).days
        if (
            (rhythm.kind == RhythmKind.WEEKLY and offset % 7 == 0)
            or (rhythm.kind == RhythmKind.EVERY_OTHER_WEEK and offset % 14 == 0)
            or (rhythm.kind == RhythmKind.WEEKDAYS and day.weekday() in rhythm.weekdays)
        ):
            yield day
        day += timedelta(days=1)


def occurrences(rhythm: Rhythm, *, since: date, until: date) -> list[Occurrence]:
    """Every occurrence whose local day lies in [since, until], with its UTC start and end."""
    found = []
    for day in _days(rhythm, since, until):
        starts_at = at_local(day, rhythm.start, rhythm.zone)
        # The end is on the wall too: a sleepover from 15:00 to 11:00 next day ends at 11:00 after a DST change.
        local_start = starts_at.astimezone(ZoneInfo(rhythm.zone)).replace(tzinfo=None)
        ends_wall = local_start + rhythm.length
        ends_at = at_local(ends_wall.date(), ends_wall.time(), rhythm.zone)
        found.append(Occurrence(day=day, starts_at=starts_at, ends_at=ends_at))
    return found


def in_holiday(day: date, holidays: Iterable[tuple[date, date]]) -> bool:
    """Whether a local day lies inside one of the (first, last) holiday ranges, both ends included."""
    return any(first <= day <= last for first, last in holidays)


def local_day(moment: datetime, zone: str = DEFAULT_ZONE) -> date:
    """The local calendar day of a moment in the given time zone."""
    return moment.astimezone(ZoneInfo(zone)).date()


def next_to_plan(
    rhythm: Rhythm, *, planned_until: date | None, now: datetime, ends_on: date | None = None
) -> list[Occurrence]:
    """The occurrences not planned yet within the planning horizon from now (none after `ends_on`)."""
    today = local_day(now, rhythm.zone)
    since = today if planned_until is None else max(today, planned_until + timedelta(days=1))
    until = local_day(now + PLANNING_HORIZON, rhythm.zone)
    if ends_on is not None:
        until = min(until, ends_on)
    return [found for found in occurrences(rhythm, since=since, until=until) if found.starts_at > now]


def reminder_at(occurrence: Occurrence, *, now: datetime) -> datetime | None:
    """When both sides are reminded: the day before; None when that moment has passed."""
    moment = occurrence.starts_at - REMINDER_BEFORE
    return moment if moment > now else None


def misses_in_a_row(outcomes: Sequence[Outcome]) -> int:
    """How many of the latest occurrences in a row did not happen (holidays are passed over)."""
    count = 0
    for outcome in reversed(outcomes):
        if outcome == Outcome.HOLIDAY:
            continue
        if outcome in (Outcome.DIDNT, Outcome.SKIPPED):
            count += 1
        else:
            break
    return count


def needs_coordinator(outcomes: Sequence[Outcome]) -> bool:
    """A visit was difficult, or two in a row did not happen: a coordinator hears of it as a concern."""
    if not outcomes:
        return False
    latest = next((outcome for outcome in reversed(outcomes) if outcome != Outcome.HOLIDAY), None)
    return latest == Outcome.DIFFICULT or misses_in_a_row(outcomes) >= MISSES_FOR_CONCERN


def skips_in_a_row(skipped_by: Sequence[Side | None], side: Side) -> int:
    """How many of the latest occurrences in a row `side` called off ("not this time")."""
    count = 0
    for who in reversed(skipped_by):
        if who != side:
            break
        count += 1
    return count


# What may happen to a match in each state; everything else is a stale or forged tap.
_MOVES: dict[str, frozenset[MatchState]] = {
    "accept": frozenset({MatchState.PROPOSED}),
    "decline": frozenset({MatchState.PROPOSED}),
    "continue": frozenset({MatchState.TRIAL, MatchState.ACTIVE}),
    "pause": frozenset({MatchState.TRIAL, MatchState.ACTIVE}),
    "resume": frozenset({MatchState.PAUSED}),
    "adjust": frozenset({MatchState.PROPOSED, MatchState.TRIAL, MatchState.ACTIVE, MatchState.PAUSED}),
    "stop": frozenset(OPEN_STATES),
    "skip": frozenset(RUNNING_STATES),
    "log": frozenset(RUNNING_STATES | {MatchState.PAUSED, MatchState.ENDED}),
}


def may(move: str, state: MatchState) -> bool:
    """Whether `move` can happen to a match in `state` (a decline after acceptance cannot)."""
    return state in _MOVES.get(move, frozenset())


def after_accept(*, family_accepted: bool, helper_accepted: bool) -> MatchState:
    """Both sides said yes: the trial starts; until then the proposal waits for the other."""
    return MatchState.TRIAL if family_accepted and helper_accepted else MatchState.PROPOSED


def after_review(state: MatchState, choice: ReviewChoice) -> MatchState:
    """The coordinator's decision at a review: continue (a trial becomes active), adjust (stays), stop."""
    if choice == ReviewChoice.STOP:
        return MatchState.ENDED
    if choice == ReviewChoice.CONTINUE and state == MatchState.TRIAL:
        return MatchState.ACTIVE
    return state


def reviews_due(*, trial_end: date | None, reviews: Sequence[date], asked: Iterable[date], today: date) -> list[date]:
    """Review dates (the trial end among them) that have come and were not asked yet, oldest first."""
    dates = sorted({*reviews, *([trial_end] if trial_end else [])})
    done = set(asked)
    return [day for day in dates if day <= today and day not in done]


def helper_may_care_for_children(vog_valid_until: Sequence[date | None], *, on: date) -> bool:
    """Every adult of the helper's household has a VOG valid on the day (no VOG at all: no)."""
    return bool(vog_valid_until) and all(until is not None and until >= on for until in vog_valid_until)


# --- figures for the evaluation (anonymous: kinds, counts and shares) -----------------------------


@dataclass(frozen=True)
class MatchFact:
    """A match as the figures see it: its kind, when it started and ended, and why (no names, no ids)."""

    kind: str
    started_at: datetime | None
    ended_at: datetime | None
    end_reason: str | None


def match_rows(
    started: Sequence[MatchFact], ended: Sequence[MatchFact], outcomes: Sequence[str], *, threshold: int
) -> list[Row]:
    """Matches started by kind, the median weeks a match lasted, the share of times held, stops by reason."""
    rows = [total_row("matches_started", shown(len(started), threshold))]
    kinds = Counter(fact.kind for fact in started)
    rows += breakdown_rows("matches_by_kind", kinds, threshold)
    weeks = [
        (fact.ended_at - fact.started_at).days / 7
        for fact in ended
        if fact.started_at is not None and fact.ended_at is not None and fact.ended_at >= fact.started_at
    ]
    middle = median(weeks) if len(weeks) >= threshold else None
    rows.append(total_row("median_weeks_matched", f"{middle:.1f}" if middle is not None else ""))
    judged = [
        outcome
        for outcome in outcomes
        if outcome in (Outcome.HAPPENED, Outcome.DIFFICULT, Outcome.DIDNT, Outcome.SKIPPED)
    ]
    held = sum(outcome in (Outcome.HAPPENED, Outcome.DIFFICULT) for outcome in judged)
    rows.append(total_row("match_times_held_share", shown_share(held, len(judged), threshold) or ""))
    rows.append(total_row("matches_ended", shown(len(ended), threshold)))
    reasons = Counter(fact.end_reason or "other" for fact in ended)
    rows += breakdown_rows("matches_ended_by_reason", reasons, threshold)
    return rows


GIVE_BACK_OUTCOMES = frozenset({"happened", "didnt"})


def give_back_rows(outcomes: Sequence[str | None], *, threshold: int) -> list[Row]:
    """Offers back to a support volunteer in the period, and the share of the known ones that happened.

    Counted for the whole programme, never per family or per volunteer: giving back is no score."""
    known = [outcome for outcome in outcomes if outcome in GIVE_BACK_OUTCOMES]
    happened = sum(outcome == "happened" for outcome in known)
    return [
        total_row("give_backs_offered", shown(len(outcomes), threshold)),
        total_row("give_backs_happened_share", shown_share(happened, len(known), threshold) or ""),
    ]
