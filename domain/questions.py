"""The family's own questions (hulpvragen in its own words), their reviews and the casework meeting. Pure rules.

A *question* is what the family itself wants to change ("get out of the house more", "a break for me"), in
its own words. Help (one-off requests, lasting matches) is linked to the question it serves, and every few
weeks the family is asked, one tap, whether that help helps. Rules chosen here, each one sentence a
coordinator can say to a family:

* **The family's question leads.** The family writes, rewords and ends its questions; a coordinator may
  suggest one, which counts only once the family accepts it. Per question the family decides whether
  volunteers may help with it, and which one helper may read it.
* **A review is never a nag**: at most one review message to a family per week, none in quiet hours, none
  while the family has an open concern (the coordinators are talking with it then). With several questions
  due in the same week, the one waiting longest goes first and the next one the week after.
* **Help that does not work is stopped, not doubled**: two "no" answers in a row about a question, a visit
  marked "difficult" or falling check-in answers make a coordinator task: continue, change or stop, with a
  reason from a short list. Stopping ends the linked help kindly and starts nothing heavier by itself.
* **A casework meeting** about each family every 3 to 6 weeks (a setting per family, 4 by default); the
  family's coordinators get the agenda a few days before it.

No clock, no database: every function receives the moments it reasons about.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from domain.insight import Row, breakdown_rows, median, shown, shown_share, total_row

MAX_QUESTION_CHARS = 300
MIN_QUESTION_CHARS = 3
DEFAULT_REVIEW_WEEKS = 4
REVIEW_WEEK_CHOICES = (2, 4, 6, 8)
DEFAULT_CASEWORK_WEEKS = 4
CASEWORK_WEEK_CHOICES = (3, 4, 5, 6)
# At most one review message per family in this time.
REVIEW_GAP = timedelta(days=7)
AGENDA_DAYS_BEFORE = 3
AGENDA_AT = time(9, 0)
REVIEW_AT = time(10, 30)
NOS_FOR_DECISION = 2
# A helper's "how is it going for you?" comes with the family's reviews, at most this often per helper.
HELPER_REVIEW_GAP = timedelta(weeks=4)


class QuestionState(StrEnum):
    SUGGESTED = "suggested"  # a coordinator's suggestion the family has not accepted yet
    ACTIVE = "active"
    NOT_NEEDED = "not_needed"  # the family says it is no longer needed
    STOPPED = "stopped"  # a coordinator decided to stop the help for it
    DECLINED = "declined"  # the family did not take a coordinator's suggestion


OPEN_STATES = frozenset({QuestionState.ACTIVE})


class Theme(StrEnum):
    """The plain suggestions a family can pick, and the themes the anonymous figures count (never words)."""

    OUT_MORE = "out_more"
    BREAK = "break"
    SPORT = "sport"
    FORMS = "forms"
    OWN = "own"  # in the family's own words


SUGGESTED_THEMES = (Theme.OUT_MORE, Theme.BREAK, Theme.SPORT, Theme.FORMS)


class ReviewAnswer(StrEnum):
    HELPS = "helps"
    A_BIT = "a_bit"
    NO = "no"
    NOT_NEEDED = "not_needed"


class HelperFeeling(StrEnum):
    """A helper's answer to "how is it going for you?"."""

    GOOD = "good"
    OKAY = "okay"
    HARD = "hard"


class DecisionCause(StrEnum):
    TWO_NOS = "two_nos"
    DIFFICULT_VISIT = "difficult_visit"
    FALLING_CHECKINS = "falling_checkins"
    HELPER_HARD = "helper_hard"
    CASEWORK = "casework"


class Decision(StrEnum):
    CONTINUE = "continue"
    CHANGE = "change"
    STOP = "stop"


class DecisionReason(StrEnum):
    """The short list a decision's reason comes from (free text would invite diagnoses into the figures)."""

    HELPS = "helps"
    MORE_TIME = "more_time"
    OTHER_HELP = "other_help"
    OTHER_HELPER = "other_helper"
    NOT_HELPING = "not_helping"
    NOT_NEEDED = "not_needed"
    FAMILY_WISH = "family_wish"
    HELPER_STOPPED = "helper_stopped"


REASONS_FOR: dict[Decision, tuple[DecisionReason, ...]] = {
    Decision.CONTINUE: (DecisionReason.HELPS, DecisionReason.MORE_TIME, DecisionReason.FAMILY_WISH),
    Decision.CHANGE: (DecisionReason.OTHER_HELP, DecisionReason.OTHER_HELPER, DecisionReason.NOT_HELPING),
    Decision.STOP: (
        DecisionReason.NOT_HELPING,
        DecisionReason.NOT_NEEDED,
        DecisionReason.FAMILY_WISH,
        DecisionReason.HELPER_STOPPED,
    ),
}


class TextProblem(StrEnum):
    EMPTY = "empty"
    TOO_LONG = "too_long"


def clean_text(text: str | None) -> str:
    """The question as the family wrote it, with runs of white space folded (its words stay its own)."""
    return " ".join((text or "").split())


def text_problem(text: str | None) -> TextProblem | None:
    """Why a question's words cannot be saved as they are, or None."""
    cleaned = clean_text(text)
    if len(cleaned) < MIN_QUESTION_CHARS:
        return TextProblem.EMPTY
    if len(cleaned) > MAX_QUESTION_CHARS:
        return TextProblem.TOO_LONG
    return None


def shortened(text: str) -> str:
    """The first part of a too long question, cut at a word, for "keep the first part"."""
    cleaned = clean_text(text)
    if len(cleaned) <= MAX_QUESTION_CHARS:
        return cleaned
    cut = cleaned[: MAX_QUESTION_CHARS - 1]
    space = cut.rfind(" ")
    return (cut[:space] if space > MAX_QUESTION_CHARS // 2 else cut).rstrip(" ,.;:") + "…"


def reason_allowed(decision: Decision, reason: DecisionReason) -> bool:
    """Whether the reason belongs to the decision's short list (a forged button may combine anything)."""
    return reason in REASONS_FOR[decision]


def clamp_weeks(weeks: int, choices: Sequence[int]) -> int | None:
    """A rhythm in weeks if it is one of the choices offered, else None."""
    return weeks if weeks in choices else None


def local_moment(day: date, at: time, zone: str) -> datetime:
    """A wall-clock time on a local day, as an aware datetime (DST-correct)."""
    return datetime.combine(day, at, tzinfo=ZoneInfo(zone))


def first_review_at(created_at: datetime, *, every_weeks: int, zone: str) -> datetime:
    """When a new question is first reviewed: `every_weeks` after it was named, at the review time."""
    day = created_at.astimezone(ZoneInfo(zone)).date() + timedelta(weeks=every_weeks)
    return local_moment(day, REVIEW_AT, zone)


def next_review_after(asked_at: datetime, *, every_weeks: int, zone: str) -> datetime:
    """The review after one asked at `asked_at`: the same wall-clock time, `every_weeks` later."""
    day = asked_at.astimezone(ZoneInfo(zone)).date() + timedelta(weeks=every_weeks)
    return local_moment(day, REVIEW_AT, zone)


@dataclass(frozen=True)
class DueQuestion:
    """An active question with when its review is due."""

    question_id: int
    review_at: datetime


@dataclass(frozen=True)
class ReviewPlan:
    """What the review job does now: ask about one question, or wait until `wait_until`."""

    ask: int | None
    wait_until: datetime | None


def plan_review(
    due: Sequence[DueQuestion],
    *,
    now: datetime,
    last_review_message_at: datetime | None,
    open_concern: bool,
) -> ReviewPlan:
    """Which question to ask about now (the one waiting longest), or when to look again.

    Never more than one review message per `REVIEW_GAP`; while a concern is open nothing is asked and the
    job looks again a week later. Quiet hours are the caller's (`domain.checkins.next_allowed_time`).
    """
    if not due:
        return ReviewPlan(None, None)
    earliest = min(due, key=lambda item: (item.review_at, item.question_id))
    if open_concern:
        return ReviewPlan(None, max(now, earliest.review_at) + REVIEW_GAP)
    if last_review_message_at is not None and now < last_review_message_at + REVIEW_GAP:
        return ReviewPlan(None, max(earliest.review_at, last_review_message_at + REVIEW_GAP))
    if earliest.review_at > now:
        return ReviewPlan(None, earliest.review_at)
    return ReviewPlan(earliest.question_id, None)


def needs_decision(answers: Sequence[str]) -> bool:
    """`answers` oldest first (a question's family review answers): the latest two were "no"."""
    latest = [answer for answer in answers if answer in ReviewAnswer.__members__.values()][-NOS_FOR_DECISION:]
    return len(latest) == NOS_FOR_DECISION and all(answer == ReviewAnswer.NO for answer in latest)


def next_casework_on(last_on: date | None, *, today: date, every_weeks: int) -> date:
    """The next casework meeting: `every_weeks` after the last one (or from today), never in the past."""
    start = last_on if last_on is not None else today
    day = start + timedelta(weeks=every_weeks)
    return max(day, today + timedelta(days=AGENDA_DAYS_BEFORE))


def agenda_at(meeting_on: date, *, zone: str) -> datetime:
    """When the agenda of a meeting on `meeting_on` goes to the family's coordinators."""
    return local_moment(meeting_on - timedelta(days=AGENDA_DAYS_BEFORE), AGENDA_AT, zone)


# --- figures for the evaluation (anonymous: themes and counts, never words) -----------------------


@dataclass(frozen=True)
class QuestionFact:
    """A question as the figures see it: its theme and moments, no words and no family."""

    theme: str
    created_at: datetime
    first_help_at: datetime | None


@dataclass(frozen=True)
class ReviewFact:
    """A family's review answer and when it was given."""

    answer: str
    answered_at: datetime


def question_rows(
    questions: Sequence[QuestionFact],
    reviews: Sequence[ReviewFact],
    stop_reasons: Sequence[str],
    *,
    zone: str,
    threshold: int,
) -> list[Row]:
    """The evaluation figures as published rows: questions by theme, the share "helps" per month, help stopped
    by reason, and the median days from a question to its first help. Small counts are suppressed."""
    rows = [total_row("questions_named", shown(len(questions), threshold))]
    themes = Counter(fact.theme for fact in questions)
    rows += breakdown_rows("questions_by_theme", themes, threshold)
    judged = [fact for fact in reviews if fact.answer in (ReviewAnswer.HELPS, ReviewAnswer.A_BIT, ReviewAnswer.NO)]
    helps = sum(fact.answer == ReviewAnswer.HELPS for fact in judged)
    rows.append(total_row("reviews_answered", shown(len(reviews), threshold)))
    rows.append(total_row("reviews_helps_share", shown_share(helps, len(judged), threshold) or ""))
    by_month: dict[str, list[ReviewFact]] = {}
    for fact in judged:
        by_month.setdefault(fact.answered_at.astimezone(ZoneInfo(zone)).strftime("%Y-%m"), []).append(fact)
    for month in sorted(by_month):
        given = by_month[month]
        share = shown_share(sum(f.answer == ReviewAnswer.HELPS for f in given), len(given), threshold)
        rows.append(Row("reviews_helps_share", "", month, share or ""))
    rows.append(total_row("help_stopped", shown(len(stop_reasons), threshold)))
    reasons = Counter(stop_reasons)
    rows += breakdown_rows("help_stopped_by_reason", reasons, threshold)
    waits = [
        (fact.first_help_at - fact.created_at).total_seconds() / 86400
        for fact in questions
        if fact.first_help_at is not None and fact.first_help_at >= fact.created_at
    ]
    middle = median(waits) if len(waits) >= threshold else None
    rows.append(total_row("median_days_to_first_help", f"{middle:.1f}" if middle is not None else ""))
    return rows
