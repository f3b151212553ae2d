"""Coordinator insight: periods, the weekly digest's rules, and anonymous figures for evaluation.

Pure rules: no Telegram, no database, no clock. Moments are aware datetimes; calendar reasoning (which
week, which Monday, which quarter) happens in the local zone, default Europe/Amsterdam.

Rules chosen here (each explainable in one sentence):

* **Periods** are whole local days, start and end included: *this week* (Monday to Sunday), *the last 4
  weeks* (this week and the three before), *this quarter*, or two typed dates (at most 366 days).
* **Worse answers**: answers score good 0, so-so 1, not good 2, "I want to talk" 2. A family's answers got
  worse when its latest answer is not "good", came in the digest's week, and scores higher than the average
  of the (up to three) answers before it. Unanswered check-ins do not count here: they are "no contact".
* **Small counts are suppressed**: a count from 1 up to the threshold minus one (default 5, so 1 to 4) is
  shown as "<5"; 0 stays 0. Within a breakdown (answers by kind, requests by kind) one suppressed cell
  could be worked out from the total, so then the next smallest cell is suppressed too. A median, share or
  number of hours that rests on fewer cases than the threshold is not shown.
* **Figures** count what happened in the period: check-ins *sent* in it (and how many of those were
  answered), requests *asked* in it (share accepted, median time from asking to the accept), tasks *done*
  in it, concerns *raised* in it (median time to the first acknowledgement). Families active: families
  with a check-in, request or concern in the period. Volunteers active: volunteers who accepted or finished
  a task in the period. Hours given: the planned length of the tasks done in the period that had a time
  window (flexible "some time this week" tasks have none), at most 12 hours a task.
* **The weekly digest** goes out on Monday at a set local time (default 08:00): the first such moment
  strictly after the previous one, so it is once a week in summer and winter time alike, and the week's
  key (ISO year and week of that Monday) makes it once a week across restarts too.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from statistics import median as _median
from zoneinfo import ZoneInfo

DEFAULT_ZONE = "Europe/Amsterdam"
DEFAULT_THRESHOLD = 5
DEFAULT_DIGEST_AT = time(8, 0)
MAX_PERIOD_DAYS = 366
MAX_TASK_HOURS = 12.0

ANSWER_SCORES: Mapping[str, int] = {"good": 0, "so_so": 1, "not_good": 2, "talk": 2}
# The answer kinds in the order figures and charts show them; "none" is a check-in nobody answered.
ANSWER_KINDS: tuple[str, ...] = ("good", "so_so", "not_good", "talk", "none")
DONE = "done"


class PeriodKind(StrEnum):
    WEEK = "week"
    FOUR_WEEKS = "4w"
    QUARTER = "quarter"
    CUSTOM = "custom"


@dataclass(frozen=True)
class Period:
    """Whole local days from `start` to `end`, both included."""

    start: date
    end: date
    kind: PeriodKind = PeriodKind.CUSTOM

    @property
    def days(self) -> int:
        """How many days the period holds, both ends included."""
        return (self.end - self.start).days + 1

    def bounds(self, zone: str = DEFAULT_ZONE) -> tuple[datetime, datetime]:
        """The period as UTC [start, end): local midnight of the first day to local midnight after the last."""
        tz = ZoneInfo(zone)
        start = datetime.combine(self.start, time(0, 0), tzinfo=tz).astimezone(UTC)
        end = datetime.combine(self.end + timedelta(days=1), time(0, 0), tzinfo=tz).astimezone(UTC)
        return start, end

    def weeks(self) -> list[date]:
        """The Mondays of the local weeks the period touches, oldest first."""
        monday = self.start - timedelta(days=self.start.weekday())
        found = []
        while monday <= self.end:
            found.append(monday)
            monday += timedelta(days=7)
        return found

    def key(self) -> str:
        """Short and safe for callback data and file names: 20261123-20261129."""
        return f"{self.start:%Y%m%d}-{self.end:%Y%m%d}"


def _require_aware(value: datetime, name: str) -> None:
    """Refuse a naive datetime: figures are counted from aware moments only."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be an aware datetime")


def local_date(moment: datetime, zone: str = DEFAULT_ZONE) -> date:
    """The local calendar day of an aware moment in the given time zone."""
    _require_aware(moment, "moment")
    return moment.astimezone(ZoneInfo(zone)).date()


def week_of(day: date) -> date:
    """The Monday of the week `day` is in."""
    return day - timedelta(days=day.weekday())


def this_week(today: date) -> Period:
    """The week (Monday to Sunday) that holds this day."""
    monday = week_of(today)
    return Period(monday, monday + timedelta(days=6), PeriodKind.WEEK)


def last_weeks(today: date, weeks: int = 4) -> Period:
    """The last few whole weeks up to and including this day's week (four by default)."""
    monday = week_of(today)
    return Period(monday - timedelta(days=7 * (weeks - 1)), monday + timedelta(days=6), PeriodKind.FOUR_WEEKS)


def this_quarter(today: date) -> Period:
    """The calendar quarter that holds this day."""
    first_month = 3 * ((today.month - 1) // 3) + 1
    start = date(today.year, first_month, 1)
    next_start = date(today.year + 1, 1, 1) if first_month == 10 else date(today.year, first_month + 3, 1)
    return Period(start, next_start - timedelta(days=1), PeriodKind.QUARTER)


def preset(kind: str, today: date) -> Period | None:
    """The period a preset button names (week, four weeks, quarter), or None for anything else."""
    if kind == PeriodKind.WEEK:
        return this_week(today)
    if kind == PeriodKind.FOUR_WEEKS:
        return last_weeks(today)
    if kind == PeriodKind.QUARTER:
        return this_quarter(today)
    return None


_DMY = re.compile(r"^(\d{1,2})[-/.](\d{1,2})[-/.](\d{4})$")
_YMD = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
_KEY = re.compile(r"^(\d{8})-(\d{8})$")
# The period words of every shipped language (nl, en, ar, tr, pl, uk), lower case, spaces as "_".
# /stats and /export both read a typed period here, so a word works the same after either command.
PERIOD_WORDS: dict[PeriodKind, tuple[str, ...]] = {
    PeriodKind.WEEK: (
        *("week", "this_week"),  # en
        *("deze_week", "weekje"),  # nl
        *("أسبوع", "الأسبوع", "هذا_الأسبوع"),  # ar
        *("hafta", "bu_hafta"),  # tr
        *("tydzień", "tydzien", "ten_tydzień", "ten_tydzien"),  # pl
        *("тиждень", "цей_тиждень"),  # uk
    ),
    PeriodKind.FOUR_WEEKS: (
        *("4w", "4weeks", "4_weeks", "four_weeks", "month"),  # en
        *("4_weken", "4weken", "vier_weken", "maand"),  # nl
        *("4_أسابيع", "شهر", "الشهر"),  # ar
        *("4_hafta", "dört_hafta", "ay"),  # tr
        *("4_tygodnie", "cztery_tygodnie", "miesiąc", "miesiac"),  # pl
        *("4_тижні", "чотири_тижні", "місяць"),  # uk
    ),
    PeriodKind.QUARTER: (
        *("quarter", "this_quarter", "q"),  # en
        *("kwartaal", "dit_kwartaal"),  # nl
        *("ربع", "الربع", "ربع_سنة", "هذا_الربع"),  # ar
        *("çeyrek", "ceyrek", "bu_çeyrek", "bu_ceyrek"),  # tr
        *("kwartał", "kwartal", "ten_kwartał", "ten_kwartal"),  # pl
        *("квартал", "цей_квартал"),  # uk
    ),
}
_WORDS: dict[str, PeriodKind] = {word: kind for kind, words in PERIOD_WORDS.items() for word in words}
# Words between two dates: "1-9-2026 tot 30-11-2026".
_BETWEEN = ("to", "tot", "t/m", "until", "إلى", "الى", "do", "до")


def parse_day(text: str) -> date | None:
    """24-11-2026, 24/11/2026, 24.11.2026 or 2026-11-24."""
    text = text.strip()
    try:
        found = _DMY.match(text)
        if found:
            return date(int(found.group(3)), int(found.group(2)), int(found.group(1)))
        found = _YMD.match(text)
        if found:
            return date(int(found.group(1)), int(found.group(2)), int(found.group(3)))
    except ValueError:
        return None
    return None


def custom(start: date, end: date) -> Period | None:
    """Two dates in either order, at most `MAX_PERIOD_DAYS` days apart."""
    if end < start:
        start, end = end, start
    period = Period(start, end, PeriodKind.CUSTOM)
    return period if period.days <= MAX_PERIOD_DAYS else None


def parse_period(text: str, today: date) -> Period | None:
    """A period word in any shipped language ('week', 'kwartaal', 'çeyrek', ...; see `PERIOD_WORDS`),
    a key '20260901-20261130', or two dates ('1-9-2026 30-11-2026', '..', 'tot')."""
    cleaned = " ".join(text.split()).lower()
    if not cleaned:
        return None
    word = cleaned.replace(" ", "_")
    if word in _WORDS:
        return preset(_WORDS[word], today)
    found = _KEY.match(cleaned)
    if found:
        try:
            start = datetime.strptime(found.group(1), "%Y%m%d").date()  # noqa: DTZ007 (a calendar day)
            end = datetime.strptime(found.group(2), "%Y%m%d").date()  # noqa: DTZ007
        except ValueError:
            return None
        return custom(start, end)
    parts = [part for part in re.split(r"\s+|\.\.|\s+-\s+|–|—", cleaned) if part and part not in _BETWEEN]
    if len(parts) != 2:
        return None
    first, second = parse_day(parts[0]), parse_day(parts[1])
    if first is None or second is None:
        return None
    return custom(first, second)


# --- the weekly digest ----------------------------------------------------------------------------


def next_digest_at(
    after: datetime, *, at: time = DEFAULT_DIGEST_AT, weekday: int = 0, zone: str = DEFAULT_ZONE
) -> datetime:
    """The first `weekday` (0 = Monday) at local `at` strictly after `after`, as UTC."""
    _require_aware(after, "after")
    tz = ZoneInfo(zone)
    day = after.astimezone(tz).date()
    for offset in range(8):
        candidate = day + timedelta(days=offset)
        if candidate.weekday() != weekday:
            continue
        moment = datetime.combine(candidate, at, tzinfo=tz).astimezone(UTC)
        if moment > after:
            return moment
    raise AssertionError("a weekday comes round within eight days")  # pragma: no cover


def week_key(moment: datetime, zone: str = DEFAULT_ZONE) -> str:
    """'2026-W49': the ISO week of the local day, the digest's once-a-week key."""
    year, week, _day = local_date(moment, zone).isocalendar()
    return f"{year}-W{week:02d}"


def is_worsening(answers: Sequence[str], *, latest_at: datetime | None, since: datetime) -> bool:
    """`answers` oldest first (answered check-ins only): the latest is worse than the ones before it."""
    scores = [ANSWER_SCORES[answer] for answer in answers if answer in ANSWER_SCORES]
    if len(scores) < 2 or latest_at is None or latest_at < since:
        return False
    latest, before = scores[-1], scores[-4:-1]
    return latest > 0 and latest > sum(before) / len(before)


# --- statistics -----------------------------------------------------------------------------------


def median(values: Iterable[float]) -> float | None:
    """The median of some numbers, or None when there are none."""
    found = list(values)
    return float(_median(found)) if found else None


def median_duration(values: Iterable[timedelta]) -> timedelta | None:
    """The median of some durations, or None when there are none."""
    seconds = median(value.total_seconds() for value in values)
    return None if seconds is None else timedelta(seconds=seconds)


def suppressed_mark(threshold: int = DEFAULT_THRESHOLD) -> str:
    """What is shown instead of a count too small to publish, such as '<5'."""
    return f"<{threshold}"


def is_small(count: int, threshold: int = DEFAULT_THRESHOLD) -> bool:
    """Whether a count is too small to publish: from 1 up to the threshold minus one (0 stays 0)."""
    return 0 < count < threshold


def shown(count: int, threshold: int = DEFAULT_THRESHOLD) -> str:
    """A count as it may be published: 1 up to the threshold minus one becomes '<5'."""
    return suppressed_mark(threshold) if is_small(count, threshold) else str(count)


def shown_breakdown(counts: Mapping[str, int], threshold: int = DEFAULT_THRESHOLD) -> dict[str, str]:
    """A breakdown as it may be published: small cells suppressed, and one more if only one was."""
    result = {key: shown(value, threshold) for key, value in counts.items()}
    small = [key for key, value in counts.items() if is_small(value, threshold)]
    if len(small) == 1:
        others = sorted((value, key) for key, value in counts.items() if value >= threshold)
        if others:
            result[others[0][1]] = suppressed_mark(threshold)
    return result


def shown_share(part: int, whole: int, threshold: int = DEFAULT_THRESHOLD) -> str | None:
    """'80%', or None when the share would rest on a small count."""
    if whole < threshold or is_small(part, threshold):
        return None
    return f"{round(100 * part / whole)}%"


# --- figures --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CheckinFact:
    family_id: int
    sent_at: datetime
    answer: str | None
    missed: bool


@dataclass(frozen=True)
class RequestFact:
    family_id: int
    kind: str
    status: str
    created_at: datetime
    accepted_at: datetime | None
    closed_at: datetime | None
    starts_at: datetime | None
    ends_at: datetime | None
    volunteer_id: int | None


@dataclass(frozen=True)
class ConcernFact:
    family_id: int | None
    created_at: datetime
    acknowledged_at: datetime | None


@dataclass(frozen=True)
class Figures:
    """Exact figures of a period; publish them only through `anonymous_table`."""

    period: Period
    families_active: int
    checkins_sent: int
    checkins_answered: int
    answers: dict[str, int]
    answers_by_week: dict[date, dict[str, int]]
    requests: int
    requests_by_kind: dict[str, int]
    requests_by_week: dict[date, int]
    accepted_by_week: dict[date, int]
    requests_accepted: int
    median_accept: timedelta | None
    tasks_done: int
    concerns: int
    concerns_acknowledged: int
    median_acknowledge: timedelta | None
    volunteers_active: int
    hours_given: float
    tasks_with_hours: int
    weeks: list[date] = field(default_factory=list)


def _within(moment: datetime | None, start: datetime, end: datetime) -> bool:
    """Whether a moment (if any) falls in [start, end)."""
    return moment is not None and start <= moment < end


@dataclass
class _CheckinTally:
    """The check-in figures of a period, as they are counted."""

    answers: dict[str, int]
    by_week: dict[date, dict[str, int]]
    sent: int = 0
    answered: int = 0


@dataclass
class _RequestTally:
    """The request and task figures of a period, as they are counted."""

    by_week: dict[date, int]
    accepted_by_week: dict[date, int]
    kinds: Counter[str] = field(default_factory=Counter)
    waits: list[timedelta] = field(default_factory=list)
    volunteers: set[int] = field(default_factory=set)
    asked: int = 0
    accepted: int = 0
    done: int = 0
    with_hours: int = 0
    hours: float = 0.0


@dataclass
class _ConcernTally:
    """The concern figures of a period, as they are counted."""

    waits: list[timedelta] = field(default_factory=list)
    raised: int = 0
    acknowledged: int = 0


def _count_checkins(
    checkins: Iterable[CheckinFact], start: datetime, end: datetime, weeks: list[date], zone: str, families: set[int]
) -> _CheckinTally:
    """Check-ins sent in the period, by answer and by week (their families are added to `families`)."""
    tally = _CheckinTally(
        answers=dict.fromkeys(ANSWER_KINDS, 0), by_week={week: dict.fromkeys(ANSWER_KINDS, 0) for week in weeks}
    )
    for checkin in checkins:
        if not _within(checkin.sent_at, start, end):
            continue
        tally.sent += 1
        families.add(checkin.family_id)
        kind = checkin.answer if checkin.answer is not None and checkin.answer in ANSWER_SCORES else "none"
        tally.answered += kind != "none"
        tally.answers[kind] += 1
        week = week_of(local_date(checkin.sent_at, zone))
        tally.by_week.setdefault(week, dict.fromkeys(ANSWER_KINDS, 0))[kind] += 1
    return tally


def _count_requests(
    requests: Iterable[RequestFact], start: datetime, end: datetime, weeks: list[date], zone: str, families: set[int]
) -> _RequestTally:
    """Requests asked and accepted in the period, tasks done in it and the hours they took, active volunteers."""
    tally = _RequestTally(by_week=dict.fromkeys(weeks, 0), accepted_by_week=dict.fromkeys(weeks, 0))
    for request in requests:
        if _within(request.created_at, start, end):
            tally.asked += 1
            families.add(request.family_id)
            tally.kinds[request.kind] += 1
            week = week_of(local_date(request.created_at, zone))
            tally.by_week[week] = tally.by_week.get(week, 0) + 1
            if request.accepted_at is not None:
                tally.accepted += 1
                tally.accepted_by_week[week] = tally.accepted_by_week.get(week, 0) + 1
                tally.waits.append(max(timedelta(0), request.accepted_at - request.created_at))
        finished = request.status == DONE and _within(request.closed_at, start, end)
        if request.volunteer_id is not None and (finished or _within(request.accepted_at, start, end)):
            tally.volunteers.add(request.volunteer_id)
        if finished:
            tally.done += 1
            if request.starts_at is not None and request.ends_at is not None and request.ends_at > request.starts_at:
                tally.with_hours += 1
                tally.hours += min(MAX_TASK_HOURS, (request.ends_at - request.starts_at).total_seconds() / 3600)
    return tally


def _count_concerns(
    concerns: Iterable[ConcernFact], start: datetime, end: datetime, families: set[int]
) -> _ConcernTally:
    """Concerns raised in the period and how soon they were acknowledged (their families added to `families`)."""
    tally = _ConcernTally()
    for concern in concerns:
        if not _within(concern.created_at, start, end):
            continue
        tally.raised += 1
        if concern.family_id is not None:
            families.add(concern.family_id)
        if concern.acknowledged_at is not None:
            tally.acknowledged += 1
            tally.waits.append(max(timedelta(0), concern.acknowledged_at - concern.created_at))
    return tally


def compute_figures(
    *,
    period: Period,
    checkins: Iterable[CheckinFact],
    requests: Iterable[RequestFact],
    concerns: Iterable[ConcernFact],
    zone: str = DEFAULT_ZONE,
) -> Figures:
    """Every figure of the period from the facts (facts outside the period are ignored)."""
    start, end = period.bounds(zone)
    weeks = period.weeks()
    families: set[int] = set()
    checked = _count_checkins(checkins, start, end, weeks, zone, families)
    asked = _count_requests(requests, start, end, weeks, zone, families)
    raised = _count_concerns(concerns, start, end, families)
    return Figures(
        period=period,
        families_active=len(families),
        checkins_sent=checked.sent,
        checkins_answered=checked.answered,
        answers=checked.answers,
        answers_by_week=checked.by_week,
        requests=asked.asked,
        requests_by_kind=dict(sorted(asked.kinds.items())),
        requests_by_week=asked.by_week,
        accepted_by_week=asked.accepted_by_week,
        requests_accepted=asked.accepted,
        median_accept=median_duration(asked.waits),
        tasks_done=asked.done,
        concerns=raised.raised,
        concerns_acknowledged=raised.acknowledged,
        median_acknowledge=median_duration(raised.waits),
        volunteers_active=len(asked.volunteers),
        hours_given=round(asked.hours, 1),
        tasks_with_hours=asked.with_hours,
        weeks=weeks,
    )


@dataclass(frozen=True)
class Row:
    """One published figure: a stable machine name, a category (answer kind, request kind, week) and a value.

    `value` is what may be shown ('12', '<5', '80%', '3.5'), or '' when it is withheld (see the module rules).
    """

    metric: str
    category: str
    week: str
    value: str


def total_row(metric: str, value: str) -> Row:
    """A figure for the whole period: neither category nor week."""
    return Row(metric, "", "", value)


def breakdown_rows(metric: str, counts: Mapping[str, int], threshold: int) -> list[Row]:
    """A breakdown as published rows, one a category (small cells suppressed as by `shown_breakdown`)."""
    return [Row(metric, key, "", value) for key, value in shown_breakdown(counts, threshold).items()]


def _minutes(value: timedelta | None, count: int, threshold: int) -> str:
    """A median duration as whole minutes for the table, or '' when there is none or it rests on a small count."""
    return "" if value is None or count < threshold else str(round(value.total_seconds() / 60))


def anonymous_table(figures: Figures, threshold: int = DEFAULT_THRESHOLD) -> list[Row]:
    """Everything that may leave the bot: counts, shares and medians, small counts suppressed. No ids."""
    t = threshold
    rows = [
        total_row("period_start", figures.period.start.isoformat()),
        total_row("period_end", figures.period.end.isoformat()),
        total_row("suppression_threshold", str(t)),
        total_row("families_active", shown(figures.families_active, t)),
        total_row("checkins_sent", shown(figures.checkins_sent, t)),
        total_row("checkins_answered", shown(figures.checkins_answered, t)),
    ]
    rows += breakdown_rows("checkin_answers", figures.answers, t)
    for week in figures.weeks:
        cells = shown_breakdown(figures.answers_by_week.get(week, {}), t)
        rows += [Row("checkin_answers_by_week", kind, week.isoformat(), cells.get(kind, "0")) for kind in ANSWER_KINDS]
    rows.append(total_row("requests", shown(figures.requests, t)))
    rows += breakdown_rows("requests_by_kind", figures.requests_by_kind, t)
    rows += [
        Row("requests_by_week", "", week.isoformat(), shown(figures.requests_by_week.get(week, 0), t))
        for week in figures.weeks
    ]
    rows += [
        total_row("requests_accepted", shown(figures.requests_accepted, t)),
        total_row("requests_accepted_share", shown_share(figures.requests_accepted, figures.requests, t) or ""),
        total_row("median_minutes_to_accept", _minutes(figures.median_accept, figures.requests_accepted, t)),
        total_row("tasks_done", shown(figures.tasks_done, t)),
        total_row("concerns", shown(figures.concerns, t)),
        total_row(
            "median_minutes_to_acknowledge", _minutes(figures.median_acknowledge, figures.concerns_acknowledged, t)
        ),
        total_row("volunteers_active", shown(figures.volunteers_active, t)),
        total_row("hours_given", f"{figures.hours_given:g}" if figures.tasks_with_hours >= t else ""),
    ]
    return rows


Series = tuple[dict[str, list[float]], list[float], list[float]]


def _series(figures: Figures, value: Callable[[int], float]) -> Series:
    """The weekly chart's series (answers by kind, requests asked, accepted), each count drawn as `value` says."""
    answers = {
        kind: [value(figures.answers_by_week.get(week, {}).get(kind, 0)) for week in figures.weeks]
        for kind in ANSWER_KINDS
    }
    asked = [value(figures.requests_by_week.get(week, 0)) for week in figures.weeks]
    accepted = [value(figures.accepted_by_week.get(week, 0)) for week in figures.weeks]
    return answers, asked, accepted


def published_series(figures: Figures, threshold: int = DEFAULT_THRESHOLD) -> Series:
    """The weekly chart's series as they may be published: suppressed cells become NaN (drawn as gaps)."""

    def value(count: int) -> float:
        """A count as the chart may draw it: NaN (a gap) when it is too small to publish."""
        return math.nan if is_small(count, threshold) else float(count)

    return _series(figures, value)


def exact_series(figures: Figures) -> Series:
    """The weekly chart's series exactly, for a coordinator's own digest."""
    return _series(figures, float)
