"""Volunteer rules: approval, VOG validity and reminders, pauses and the local week of the weekly cap."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.volunteers import (
    ApprovalDecision,
    ApprovalProblem,
    ChildrenProblem,
    VolunteerStatus,
    approve,
    can_reject,
    is_paused,
    under_weekly_cap,
    vog_cutoff,
    vog_expires_on,
    vog_is_valid,
    vog_reminder_due,
    week_start,
)

AMS = ZoneInfo("Europe/Amsterdam")
TODAY = date(2026, 5, 12)


def ams(year: int, month: int, day: int, hour: int = 0, minute: int = 0, *, fold: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=AMS, fold=fold)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


# --- VOG ------------------------------------------------------------------------------------------------------


def test_vog_expires_on_its_anniversary() -> None:
    assert vog_expires_on(date(2023, 5, 12), 3) == date(2026, 5, 12)
    assert vog_expires_on(date(2023, 5, 12)) == date(2026, 5, 12)
    assert vog_expires_on(date(2025, 1, 31), 1) == date(2026, 1, 31)


def test_a_leap_day_vog_expires_on_the_28th() -> None:
    assert vog_expires_on(date(2024, 2, 29), 3) == date(2027, 2, 28)
    assert vog_expires_on(date(2024, 2, 29), 4) == date(2028, 2, 29)


def test_vog_validity_needs_at_least_a_year() -> None:
    with pytest.raises(ValueError):
        vog_expires_on(date(2024, 1, 1), 0)


def test_vog_is_valid_until_the_day_before_its_anniversary() -> None:
    vog = date(2023, 5, 13)
    assert vog_is_valid(vog, today=TODAY, years=3)
    assert vog_is_valid(vog, today=date(2026, 5, 12), years=3)
    assert not vog_is_valid(vog, today=date(2026, 5, 13), years=3)
    assert not vog_is_valid(None, today=TODAY)


def test_a_vog_from_today_is_valid_and_one_from_tomorrow_is_not() -> None:
    assert vog_is_valid(TODAY, today=TODAY)
    assert not vog_is_valid(TODAY + timedelta(days=1), today=TODAY)


def test_vog_cutoff_examples() -> None:
    assert vog_cutoff(today=date(2026, 5, 12), years=3) == date(2023, 5, 12)
    # On 28 February 2027 a VOG from 29 February 2024 has just expired (the safe side).
    assert vog_cutoff(today=date(2027, 2, 28), years=3) == date(2024, 2, 29)
    assert vog_cutoff(today=date(2028, 2, 29), years=3) == date(2025, 2, 28)


@given(
    today=st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 1, 1)),
    years=st.integers(min_value=1, max_value=10),
    age_days=st.integers(min_value=-10, max_value=12 * 366),
)
def test_vog_cutoff_is_the_sql_form_of_vog_is_valid(today: date, years: int, age_days: int) -> None:
    vog = today - timedelta(days=age_days)
    cutoff = vog_cutoff(today=today, years=years)
    assert vog_is_valid(vog, today=today, years=years) == (cutoff < vog <= today)


def test_vog_reminder_starts_a_month_ahead_and_stays_due() -> None:
    vog = date(2023, 6, 11)  # expires 11 June 2026
    assert not vog_reminder_due(vog_date=vog, today=date(2026, 5, 11))
    assert vog_reminder_due(vog_date=vog, today=date(2026, 5, 12))
    assert vog_reminder_due(vog_date=vog, today=date(2026, 6, 11))
    assert vog_reminder_due(vog_date=vog, today=date(2026, 9, 1))


def test_vog_reminder_honours_years_and_warning() -> None:
    vog = date(2025, 6, 11)
    assert not vog_reminder_due(vog_date=vog, today=TODAY, years=1, warn_before=timedelta(days=7))
    assert vog_reminder_due(vog_date=vog, today=date(2026, 6, 4), years=1, warn_before=timedelta(days=7))


def test_no_vog_no_reminder() -> None:
    assert not vog_reminder_due(vog_date=None, today=TODAY)


# --- approval -------------------------------------------------------------------------------------------------


def test_approve_a_pending_volunteer_with_a_recent_vog_for_children() -> None:
    decision = approve(status="pending", vog_date=date(2025, 1, 1), today=TODAY, vog_valid_years=3)
    assert decision == ApprovalDecision(allowed=True, problem=None, children_ok=True, children_problem=None)


def test_approve_without_vog_is_allowed_but_not_for_children() -> None:
    decision = approve(status=VolunteerStatus.PENDING, vog_date=None, today=TODAY)
    assert decision.allowed
    assert not decision.children_ok
    assert decision.children_problem is ChildrenProblem.NO_VOG


def test_an_old_vog_cannot_approve_for_children() -> None:
    decision = approve(status="pending", vog_date=date(2023, 5, 12), today=TODAY, vog_valid_years=3)
    assert decision.allowed
    assert not decision.children_ok
    assert decision.children_problem is ChildrenProblem.VOG_EXPIRED
    assert approve(status="pending", vog_date=date(2023, 5, 12), today=TODAY, vog_valid_years=5).children_ok


def test_a_vog_date_in_the_future_blocks_approval() -> None:
    decision = approve(status="pending", vog_date=TODAY + timedelta(days=1), today=TODAY)
    assert not decision.allowed
    assert decision.problem is ApprovalProblem.VOG_IN_FUTURE
    assert not decision.children_ok


def test_the_coordinator_may_approve_without_children() -> None:
    decision = approve(status="pending", vog_date=date(2025, 1, 1), today=TODAY, for_children=False)
    assert decision.allowed
    assert not decision.children_ok
    assert decision.children_problem is ChildrenProblem.NOT_REQUESTED


def test_a_rejected_volunteer_can_be_reconsidered_but_approved_is_final() -> None:
    assert approve(status="rejected", vog_date=None, today=TODAY).allowed
    decision = approve(status="approved", vog_date=None, today=TODAY)
    assert not decision.allowed
    assert decision.problem is ApprovalProblem.ALREADY_APPROVED


def test_an_unknown_status_is_an_error() -> None:
    with pytest.raises(ValueError):
        approve(status="maybe", vog_date=None, today=TODAY)


def test_reject() -> None:
    assert can_reject("pending")
    assert can_reject(VolunteerStatus.APPROVED)
    assert not can_reject("rejected")


# --- pause and cap --------------------------------------------------------------------------------------------


def test_a_pause_includes_its_last_day() -> None:
    assert not is_paused(None, TODAY)
    assert is_paused(TODAY, TODAY)
    assert is_paused(TODAY + timedelta(days=3), TODAY)
    assert not is_paused(TODAY - timedelta(days=1), TODAY)


def test_weekly_cap() -> None:
    assert under_weekly_cap(weekly_cap=3, offers_this_week=2)
    assert not under_weekly_cap(weekly_cap=3, offers_this_week=3)
    assert not under_weekly_cap(weekly_cap=0, offers_this_week=0)


# --- the cap week ---------------------------------------------------------------------------------------------


def test_week_start_is_local_monday_midnight_in_utc() -> None:
    # Tuesday 12 May 2026 (summer time): Monday 11 May 00:00 local is Sunday 10 May 22:00 UTC.
    assert week_start(ams(2026, 5, 12, 15)) == utc(2026, 5, 10, 22)
    assert week_start(ams(2026, 5, 12, 15)).tzinfo is UTC
    # Winter: 23:00 UTC.
    assert week_start(ams(2026, 1, 14, 9)) == utc(2026, 1, 11, 23)


def test_week_start_on_the_boundaries() -> None:
    assert week_start(ams(2026, 5, 11, 0)) == utc(2026, 5, 10, 22)
    assert week_start(ams(2026, 5, 10, 23, 59)) == utc(2026, 5, 3, 22)
    # Sunday 22:30 UTC is already Monday locally.
    assert week_start(utc(2026, 5, 10, 22, 30)) == utc(2026, 5, 10, 22)


def test_week_across_the_spring_change_is_an_hour_shorter() -> None:
    # The week of Sunday 29 March 2026 starts in winter time and ends in summer time.
    start = week_start(ams(2026, 3, 29, 12))
    end = week_start(ams(2026, 3, 30, 12))  # the next week's
    assert start == utc(2026, 3, 22, 23)
    assert end == utc(2026, 3, 29, 22)
    assert end - start == timedelta(days=7, hours=-1)


def test_week_across_the_autumn_change_is_an_hour_longer() -> None:
    start = week_start(ams(2026, 10, 25, 2, 30, fold=1))
    end = week_start(ams(2026, 10, 26, 12))  # the next week's
    assert start == utc(2026, 10, 18, 22)
    assert end == utc(2026, 10, 25, 23)
    assert end - start == timedelta(days=7, hours=1)


def test_week_start_in_another_zone() -> None:
    assert week_start(utc(2026, 5, 12, 15), zone="UTC") == utc(2026, 5, 11)


def test_week_start_refuses_naive_datetimes() -> None:
    with pytest.raises(ValueError):
        week_start(datetime(2026, 5, 12))


@given(st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2035, 1, 1), timezones=st.just(UTC)))
def test_every_moment_lies_in_its_week(moment: datetime) -> None:
    start = week_start(moment)
    assert start <= moment < start + timedelta(days=7, hours=1)  # a week is 7 days, an hour more or less at DST
    local_start = start.astimezone(AMS)
    assert (local_start.weekday(), local_start.hour, local_start.minute) == (0, 0, 0)
    assert week_start(start) == start
