"""Lasting matches: occurrences in local time across DST, holidays, misses, reviews and the lifecycle."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from domain.matches import (
    MatchState,
    Outcome,
    ReviewChoice,
    Rhythm,
    RhythmKind,
    RhythmProblem,
    Side,
    adjust_problems,
    after_accept,
    after_review,
    give_back_rows,
    helper_may_care_for_children,
    in_holiday,
    may,
    misses_in_a_row,
    needs_coordinator,
    next_to_plan,
    occurrences,
    reminder_at,
    reviews_due,
    rhythm_problems,
    skips_in_a_row,
)

AMS = ZoneInfo("Europe/Amsterdam")
SATURDAYS = Rhythm(
    kind=RhythmKind.EVERY_OTHER_WEEK, first=date(2026, 10, 10), start=time(14, 0), length=timedelta(hours=3)
)


def test_every_other_saturday_across_the_autumn_change_keeps_its_wall_time() -> None:
    found = occurrences(SATURDAYS, since=date(2026, 10, 1), until=date(2026, 12, 19))
    assert [item.day for item in found] == [
        date(2026, 10, 10),
        date(2026, 10, 24),
        date(2026, 11, 7),
        date(2026, 11, 21),
        date(2026, 12, 5),
        date(2026, 12, 19),
    ]
    # 14:00 on the wall: 12:00 UTC in summer time, 13:00 UTC after 25 October.
    assert found[1].starts_at == datetime(2026, 10, 24, 12, 0, tzinfo=UTC)
    assert found[2].starts_at == datetime(2026, 11, 7, 13, 0, tzinfo=UTC)
    assert found[2].ends_at - found[2].starts_at == timedelta(hours=3)


def test_a_sleepover_over_the_change_night_ends_at_its_wall_time() -> None:
    sleepover = Rhythm(kind=RhythmKind.WEEKLY, first=date(2026, 10, 24), start=time(15, 0), length=timedelta(hours=20))
    (night,) = occurrences(sleepover, since=date(2026, 10, 24), until=date(2026, 10, 24))
    assert night.starts_at == datetime(2026, 10, 24, 13, 0, tzinfo=UTC)  # 15:00 summer time
    assert night.ends_at == datetime(2026, 10, 25, 10, 0, tzinfo=UTC)  # 11:00 winter time: 21 real hours


def test_a_time_in_the_spring_gap_lands_an_hour_later_on_the_wall() -> None:
    early = Rhythm(kind=RhythmKind.WEEKLY, first=date(2027, 3, 28), start=time(2, 30), length=timedelta(hours=1))
    (found,) = occurrences(early, since=date(2027, 3, 28), until=date(2027, 3, 28))
    assert found.starts_at == datetime(2027, 3, 28, 1, 30, tzinfo=UTC)  # 03:30 summer time


def test_chosen_weekdays_repeat_every_week_and_agreed_each_time_has_none() -> None:
    weekdays = Rhythm(
        kind=RhythmKind.WEEKDAYS,
        first=date(2026, 11, 2),
        start=time(15, 30),
        length=timedelta(hours=2),
        weekdays=frozenset({1, 3}),
    )
    days = [item.day for item in occurrences(weekdays, since=date(2026, 11, 1), until=date(2026, 11, 15))]
    assert days == [date(2026, 11, 3), date(2026, 11, 5), date(2026, 11, 10), date(2026, 11, 12)]
    agreed = Rhythm(kind=RhythmKind.AGREED, first=date(2026, 11, 2), start=time(10), length=timedelta(hours=1))
    assert occurrences(agreed, since=date(2026, 11, 1), until=date(2027, 1, 1)) == []


def test_planning_goes_ahead_three_weeks_and_never_plans_a_day_twice() -> None:
    now = datetime(2026, 10, 9, 8, 0, tzinfo=UTC)
    first = next_to_plan(SATURDAYS, planned_until=None, now=now)
    assert [item.day for item in first] == [date(2026, 10, 10), date(2026, 10, 24)]
    later = next_to_plan(SATURDAYS, planned_until=first[-1].day, now=now + timedelta(days=14))
    assert [item.day for item in later] == [date(2026, 11, 7)]
    assert next_to_plan(SATURDAYS, planned_until=None, now=now, ends_on=date(2026, 10, 20))[-1].day == date(
        2026, 10, 10
    )


def test_the_reminder_is_the_day_before_and_never_in_the_past() -> None:
    (first,) = occurrences(SATURDAYS, since=date(2026, 10, 10), until=date(2026, 10, 10))
    assert reminder_at(first, now=datetime(2026, 10, 1, tzinfo=UTC)) == first.starts_at - timedelta(days=1)
    assert reminder_at(first, now=first.starts_at - timedelta(hours=2)) is None


def test_holidays_include_both_ends() -> None:
    holidays = [(date(2026, 12, 19), date(2027, 1, 3))]
    assert in_holiday(date(2026, 12, 19), holidays) and in_holiday(date(2027, 1, 3), holidays)
    assert not in_holiday(date(2026, 12, 18), holidays)


def test_a_difficult_visit_or_two_misses_in_a_row_reach_a_coordinator() -> None:
    assert needs_coordinator([Outcome.HAPPENED, Outcome.DIFFICULT])
    assert needs_coordinator([Outcome.DIDNT, Outcome.HOLIDAY, Outcome.SKIPPED])
    assert misses_in_a_row([Outcome.DIDNT, Outcome.HOLIDAY, Outcome.SKIPPED]) == 2
    assert not needs_coordinator([Outcome.DIDNT, Outcome.HAPPENED, Outcome.DIDNT])
    assert not needs_coordinator([Outcome.DIFFICULT, Outcome.HAPPENED])
    assert not needs_coordinator([])


def test_skips_are_counted_per_side() -> None:
    assert skips_in_a_row([Side.FAMILY, Side.HELPER, Side.HELPER], Side.HELPER) == 2
    assert skips_in_a_row([Side.FAMILY, Side.HELPER, None], Side.HELPER) == 0


def test_the_lifecycle_refuses_what_no_longer_fits() -> None:
    assert may("decline", MatchState.PROPOSED) and not may("decline", MatchState.TRIAL)
    assert not may("accept", MatchState.ENDED) and not may("made_up", MatchState.TRIAL)
    assert after_accept(family_accepted=True, helper_accepted=False) == MatchState.PROPOSED
    assert after_accept(family_accepted=True, helper_accepted=True) == MatchState.TRIAL
    assert after_review(MatchState.TRIAL, ReviewChoice.CONTINUE) == MatchState.ACTIVE
    assert after_review(MatchState.TRIAL, ReviewChoice.ADJUST) == MatchState.TRIAL
    assert after_review(MatchState.ACTIVE, ReviewChoice.STOP) == MatchState.ENDED


def test_reviews_due_include_the_trial_end_once() -> None:
    due = reviews_due(
        trial_end=date(2026, 12, 1),
        reviews=[date(2026, 12, 1), date(2027, 2, 1)],
        asked=[],
        today=date(2026, 12, 2),
    )
    assert due == [date(2026, 12, 1)]
    assert reviews_due(trial_end=date(2026, 12, 1), reviews=[], asked=[date(2026, 12, 1)], today=date(2027, 1, 1)) == []


def test_a_rhythm_that_makes_no_sense_is_named() -> None:
    today = date(2026, 10, 1)
    assert rhythm_problems(SATURDAYS, trial_end=date(2026, 12, 1), reviews=[date(2027, 1, 5)], today=today) == []
    bad = Rhythm(kind=RhythmKind.WEEKDAYS, first=date(2026, 10, 5), start=time(9), length=timedelta(0))
    problems = rhythm_problems(bad, trial_end=date(2026, 9, 1), reviews=[date(2026, 9, 30)], today=today)
    assert problems == [
        RhythmProblem.NO_WEEKDAYS,
        RhythmProblem.WINDOW_EMPTY,
        RhythmProblem.TRIAL_IN_PAST,
        RhythmProblem.REVIEW_BEFORE_START,
    ]
    far = rhythm_problems(SATURDAYS, trial_end=date(2027, 6, 1), reviews=[], today=today)
    assert far == [RhythmProblem.TRIAL_TOO_LONG]


def test_a_rhythm_reads_back_from_json() -> None:
    assert Rhythm.from_json(SATURDAYS.to_json()) == SATURDAYS


def test_every_adult_of_a_household_needs_a_valid_vog_for_children() -> None:
    on = date(2026, 11, 1)
    assert helper_may_care_for_children([date(2027, 1, 1), date(2028, 1, 1)], on=on)
    assert not helper_may_care_for_children([date(2027, 1, 1), None], on=on)
    assert not helper_may_care_for_children([date(2026, 10, 31)], on=on)
    assert not helper_may_care_for_children([], on=on)


def test_the_match_figures_count_kinds_weeks_times_held_and_stops_with_small_counts_withheld() -> None:
    from domain.matches import MatchFact, match_rows

    start = datetime(2026, 9, 1, 12, 0, tzinfo=UTC)
    started = [MatchFact("sleepover", start, None, None) for _ in range(6)]
    ended = [MatchFact("company", start, start + timedelta(weeks=10), "goal_reached") for _ in range(5)]
    outcomes = ["happened"] * 8 + ["difficult"] + ["didnt"] + ["holiday"] * 3
    rows = {(r.metric, r.category): r.value for r in match_rows(started, ended, outcomes, threshold=5)}
    assert rows[("matches_started", "")] == "6" and rows[("matches_by_kind", "sleepover")] == "6"
    assert rows[("median_weeks_matched", "")] == "10.0"
    assert rows[("match_times_held_share", "")] == "90%"  # a holiday is nobody's miss: 9 of 10 held
    assert rows[("matches_ended_by_reason", "goal_reached")] == "5"
    few = {(r.metric, r.category): r.value for r in match_rows(started[:2], ended[:2], ["didnt"], threshold=5)}
    assert few[("matches_started", "")] == "<5" and few[("median_weeks_matched", "")] == ""
    assert few[("match_times_held_share", "")] == ""


def test_a_new_rhythm_for_a_running_match_keeps_its_wall_time_and_refuses_a_past_start() -> None:
    today = date(2026, 10, 20)
    weekly = Rhythm(kind=RhythmKind.WEEKLY, first=date(2026, 10, 21), start=time(10), length=timedelta(hours=2))
    assert adjust_problems(weekly, reviews=[date(2027, 1, 5)], today=today) == []
    # Adjusted on a day before the change: the times after it stay at 10:00 on the wall, an hour later in UTC.
    found = occurrences(weekly, since=today, until=date(2026, 11, 4))
    assert [row.starts_at.astimezone(AMS).hour for row in found] == [10, 10, 10]
    assert [row.starts_at.hour for row in found] == [8, 9, 9]
    past = Rhythm(kind=RhythmKind.WEEKDAYS, first=date(2026, 10, 1), start=time(9), length=timedelta(hours=40))
    assert adjust_problems(past, reviews=[today], today=today) == [
        RhythmProblem.NO_WEEKDAYS,
        RhythmProblem.WINDOW_TOO_LONG,
        RhythmProblem.FIRST_IN_PAST,
        RhythmProblem.REVIEW_BEFORE_START,
    ]


def test_offers_back_are_counted_for_everyone_together_with_small_counts_withheld() -> None:
    rows = give_back_rows(["happened", "didnt", None, "happened"], threshold=5)
    assert [(row.metric, row.value) for row in rows] == [
        ("give_backs_offered", "<5"),
        ("give_backs_happened_share", ""),
    ]
    many = give_back_rows(["happened"] * 6 + ["didnt"] * 2 + [None] * 2, threshold=5)
    assert [row.value for row in many] == ["10", "75%"]
