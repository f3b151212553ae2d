"""The waakvlam (check-in) rhythm: when the next check-in goes out, what an answer means, when to step down.

Pure rules: no Telegram, no database, no clock. Every function receives the moments it reasons about as
aware datetimes and returns UTC datetimes. Calendar reasoning (which weekday, which day, what time on the
wall) happens in the family's local zone, default Europe/Amsterdam, so a 09:30 check-in stays 09:30 on the
wall across daylight-saving changes and nothing is skipped or sent twice.

Rules chosen here (coordinators can explain them to families in one sentence each):

* **Rhythm intervals** are counted in local calendar days from the last check-in: weekly 7, biweekly 14,
  monthly 28. "Monthly" is *every four weeks on the preferred weekday* (13 a year), not "the n-th weekday
  of the month": it has no fifth-week edge cases, keeps a steady gap a family can feel, and uses the same
  arithmetic as the other rhythms.
* **The weekday is the anchor.** The next check-in is the preferred weekday nearest to
  ``last local day + interval`` (at least ``interval - 3`` days after it). A check-in that went out a day
  late (outage, quiet-hour shift) therefore does not push the whole schedule back a week, and changing the
  preferred weekday takes effect from the nearest sensible occurrence.
* **Send times** are fixed half an hour into each daypart (09:30, 13:30, 18:30 local): late enough that
  the morning rush, lunch or dinner has started to settle, early enough that a family has the rest of the
  part to answer.
* **Quiet hours** (default 21:00-08:00 local) are never used; a moment inside them moves to ``quiet_end``.
* **Nonexistent or repeated local times** (02:30 on change days) follow zoneinfo with ``fold=0``: a time in
  the spring gap lands one hour later on the wall (02:30 becomes 03:30 summer time), a repeated autumn
  time means its first occurrence.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

DEFAULT_ZONE = "Europe/Amsterdam"
DEFAULT_QUIET_START = time(21, 0)
DEFAULT_QUIET_END = time(8, 0)
DEFAULT_REMINDER_AFTER = timedelta(hours=24)


class Rhythm(StrEnum):
    WEEKLY = "weekly"
    BIWEEKLY = "biweekly"
    MONTHLY = "monthly"
    OFF = "off"


INTERVAL_DAYS: Mapping[Rhythm, int] = {Rhythm.WEEKLY: 7, Rhythm.BIWEEKLY: 14, Rhythm.MONTHLY: 28}

# Half a week either way keeps every interval on its weekday without ever landing a week early or late.
GRACE_DAYS = 3

_STEP_DOWN: Mapping[Rhythm, Rhythm] = {Rhythm.WEEKLY: Rhythm.BIWEEKLY, Rhythm.BIWEEKLY: Rhythm.MONTHLY}


class Daypart(StrEnum):
    MORNING = "morning"
    AFTERNOON = "afternoon"
    EVENING = "evening"


_SEND_TIMES: Mapping[Daypart, time] = {
    Daypart.MORNING: time(9, 30),
    Daypart.AFTERNOON: time(13, 30),
    Daypart.EVENING: time(18, 30),
}


def send_time(daypart: Daypart) -> time:
    """The local wall-clock time a check-in in this daypart goes out."""
    return _SEND_TIMES[Daypart(daypart)]


def _require_aware(value: datetime, name: str) -> None:
    """Refuse a naive datetime (`name` says which argument it was)."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be an aware datetime")


def local_date(moment: datetime, *, zone: str = DEFAULT_ZONE) -> date:
    """The calendar day `moment` falls on in `zone`."""
    _require_aware(moment, "moment")
    return moment.astimezone(ZoneInfo(zone)).date()


def local_instant(day: date, at: time, *, zone: str = DEFAULT_ZONE) -> datetime:
    """The UTC instant of a local wall-clock time (fold=0: gap times move forward, repeated times come first)."""
    naive = datetime.combine(day, at.replace(tzinfo=None, fold=0))
    return naive.replace(tzinfo=ZoneInfo(zone)).astimezone(UTC)


def _wall_time(moment: datetime, zone: str) -> time:
    """The local wall-clock time of `moment` in `zone`."""
    # fold is irrelevant for comparisons but would leak into equality checks in callers' tests.
    return moment.astimezone(ZoneInfo(zone)).time().replace(fold=0)


def _within(at: time, start: time, end: time) -> bool:
    """Whether `at` lies in [start, end) on the wall clock, also for a span past midnight; empty when equal."""
    if start == end:
        return False
    if start < end:
        return start <= at < end
    return at >= start or at < end


def in_quiet_hours(
    moment: datetime,
    *,
    zone: str = DEFAULT_ZONE,
    quiet_start: time = DEFAULT_QUIET_START,
    quiet_end: time = DEFAULT_QUIET_END,
) -> bool:
    """Whether `moment` falls in the local quiet hours [quiet_start, quiet_end), which may wrap midnight.

    Equal start and end mean no quiet hours at all.
    """
    _require_aware(moment, "moment")
    return _within(_wall_time(moment, zone), quiet_start, quiet_end)


def next_allowed_time(
    moment: datetime,
    *,
    zone: str = DEFAULT_ZONE,
    quiet_start: time = DEFAULT_QUIET_START,
    quiet_end: time = DEFAULT_QUIET_END,
) -> datetime:
    """`moment` itself (in UTC) outside quiet hours, otherwise the end of those quiet hours (local quiet_end)."""
    _require_aware(moment, "moment")
    if not in_quiet_hours(moment, zone=zone, quiet_start=quiet_start, quiet_end=quiet_end):
        return moment.astimezone(UTC)
    local = moment.astimezone(ZoneInfo(zone))
    day = local.date()
    if quiet_start > quiet_end and _wall_time(moment, zone) >= quiet_start:
        day += timedelta(days=1)
    end = local_instant(day, quiet_end, zone=zone)
    if end <= moment:
        # Only when quiet_end is a repeated autumn time and `moment` is already in its second run.
        end = datetime.combine(day, quiet_end.replace(tzinfo=None, fold=1), tzinfo=ZoneInfo(zone)).astimezone(UTC)
    return end


def _on_or_after(day: date, weekday: int) -> date:
    """The first date on or after `day` that falls on `weekday` (0 = Monday)."""
    return day + timedelta(days=(weekday - day.weekday()) % 7)


def next_checkin_due(
    *,
    rhythm: Rhythm,
    weekday: int,
    daypart: Daypart,
    after: datetime,
    zone: str = DEFAULT_ZONE,
    quiet_start: time = DEFAULT_QUIET_START,
    quiet_end: time = DEFAULT_QUIET_END,
    last_sent: datetime | None = None,
    paused_until: date | None = None,
) -> datetime | None:
    """The next UTC instant strictly after `after` at which this family's check-in goes out; None when off.

    The check-in goes out on `weekday` (0 = Monday) at the daypart's send time, local. With `last_sent`,
    it is the occurrence of that weekday nearest to ``local day of last_sent + interval`` (see the module
    docstring), and never on the local day of `last_sent`. A pause is inclusive: nothing goes out on or
    before `paused_until`. When the slot falls in quiet hours it moves to the end of them. When `after`
    is already past the due occurrence (the scheduler was down, a pause ended), the next occurrence after
    `after` is used; missed ones are not caught up.
    """
    rhythm = Rhythm(rhythm)
    if rhythm is Rhythm.OFF:
        return None
    if not 0 <= weekday <= 6:
        raise ValueError("weekday must be 0 (Monday) to 6 (Sunday)")
    _require_aware(after, "after")
    at = send_time(daypart)

    # A quiet-hour shift can carry the previous day's slot past `after`, so start looking one day early.
    earliest = local_date(after, zone=zone) - timedelta(days=1)
    last_day: date | None = None
    if last_sent is not None:
        _require_aware(last_sent, "last_sent")
        last_day = local_date(last_sent, zone=zone)
        earliest = max(earliest, last_day + timedelta(days=INTERVAL_DAYS[rhythm] - GRACE_DAYS))
    if paused_until is not None:
        earliest = max(earliest, paused_until + timedelta(days=1))

    day = _on_or_after(earliest, weekday)
    # Each failed candidate fails for a reason that a week later no longer holds, so a few tries suffice.
    for _ in range(10):
        slot = local_instant(day, at, zone=zone)
        instant = next_allowed_time(slot, zone=zone, quiet_start=quiet_start, quiet_end=quiet_end)
        sent_day = local_date(instant, zone=zone)
        if instant > after and sent_day != last_day and (paused_until is None or sent_day > paused_until):
            return instant
        day += timedelta(days=7)
    raise RuntimeError("no check-in slot found; quiet hours cover the send time every day")  # pragma: no cover


class Answer(StrEnum):
    GOOD = "good"
    SO_SO = "so_so"
    NOT_GOOD = "not_good"
    TALK = "talk"


@dataclass(frozen=True)
class AnswerEffect:
    """What the bot does with a one-tap check-in answer.

    `urgent` is False for every answer: a tap is not evidence of danger, and free text is screened
    separately by `domain.urgent`, which is where urgent escalation comes from.
    """

    raise_concern: bool
    offer_help: bool
    offer_coordinator: bool
    thank: bool
    urgent: bool
    counts_as_good: bool


_EFFECTS: Mapping[Answer, AnswerEffect] = {
    Answer.GOOD: AnswerEffect(
        raise_concern=False, offer_help=False, offer_coordinator=False, thank=True, urgent=False, counts_as_good=True
    ),
    Answer.SO_SO: AnswerEffect(
        raise_concern=False, offer_help=True, offer_coordinator=True, thank=True, urgent=False, counts_as_good=False
    ),
    # The coordinator hears it at once and gets in touch: no choices to make first (docs/coordinators.md).
    Answer.NOT_GOOD: AnswerEffect(
        raise_concern=True, offer_help=False, offer_coordinator=False, thank=False, urgent=False, counts_as_good=False
    ),
    Answer.TALK: AnswerEffect(
        raise_concern=True, offer_help=False, offer_coordinator=False, thank=False, urgent=False, counts_as_good=False
    ),
}


def answer_effect(answer: Answer) -> AnswerEffect:
    """not_good and talk reach a coordinator at once; so_so offers a help request or a word with one."""
    return _EFFECTS[Answer(answer)]


def update_good_streak(*, streak: int, answer: Answer) -> int:
    """The run of "good" answers after this answer: anything but good starts again from zero."""
    return streak + 1 if answer_effect(answer).counts_as_good else 0


def step_down_suggestion(*, rhythm: Rhythm, good_streak: int, threshold: int = 3) -> Rhythm | None:
    """After every `threshold` good answers in a row, the next lower rhythm to suggest, else None.

    Suggesting on multiples of the threshold (3, 6, 9...) means a family that declines is asked again
    only after another full streak, whether or not the caller resets the streak. Monthly is the lowest
    rhythm: lower than that the waakvlam would go out, which is the family's or coordinator's choice.
    """
    if threshold < 1:
        raise ValueError("threshold must be at least 1")
    if good_streak < threshold or good_streak % threshold:
        return None
    return _STEP_DOWN.get(Rhythm(rhythm))


def reopen_rhythm(current: Rhythm) -> Rhythm:
    """ "We need help again": back to weekly, whatever the rhythm was (also from off)."""
    del current  # every rhythm reopens the same way; the argument keeps call sites self-explaining
    return Rhythm.WEEKLY


def reminder_due_at(
    sent_at: datetime,
    *,
    after: timedelta = DEFAULT_REMINDER_AFTER,
    zone: str = DEFAULT_ZONE,
    quiet_start: time = DEFAULT_QUIET_START,
    quiet_end: time = DEFAULT_QUIET_END,
) -> datetime:
    """When to remind a family that has not answered, moved out of quiet hours.

    Whole days in `after` are counted on the local calendar (24 hours after a 09:30 check-in is 09:30 the
    next day, also across a DST change); the rest of `after` is elapsed time.
    """
    _require_aware(sent_at, "sent_at")
    if after < timedelta(0):
        raise ValueError("after must not be negative")
    if after.days == 0:
        # In UTC: adding to a local datetime would add wall-clock time across a DST change.
        moment = sent_at.astimezone(UTC) + after
    else:
        local = sent_at.astimezone(ZoneInfo(zone))
        whole_days = timedelta(days=after.days)
        wall = local.replace(tzinfo=None) + whole_days
        moment = local_instant(wall.date(), wall.time(), zone=zone) + (after - whole_days)
    return next_allowed_time(moment, zone=zone, quiet_start=quiet_start, quiet_end=quiet_end)


def is_no_contact(*, missed_in_a_row: int, threshold: int = 2, unreachable: bool) -> bool:
    """Whether the coordinator should hear that contact with a family has gone quiet.

    `unreachable` (the family blocked the bot or left Telegram) counts at once: no reminder can arrive.
    """
    if threshold < 1:
        raise ValueError("threshold must be at least 1")
    return unreachable or missed_in_a_row >= threshold
