"""Help requests: kinds, the life cycle, windows, expiry, unmatched escalation, reminders and retention."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.requests import (
    ACTIVE_STATUSES,
    CHILD_KINDS,
    CLOSED_STATUSES,
    RequestEvent,
    RequestKind,
    RequestStatus,
    TransitionError,
    WindowError,
    end_of_local_week,
    expires_at,
    expiry_due,
    is_child_related,
    is_closed,
    is_past,
    reminder_times,
    required_skill,
    transition,
    unmatched_escalation_due,
    validate_window,
)

AMS = ZoneInfo("Europe/Amsterdam")
S = RequestStatus
E = RequestEvent


def ams(year: int, month: int, day: int, hour: int = 0, minute: int = 0, *, fold: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=AMS, fold=fold)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


NOW = ams(2026, 5, 12, 10)  # a Tuesday


# --- kinds ----------------------------------------------------------------------------------------------------


def test_kinds_are_the_stored_strings() -> None:
    assert [kind.value for kind in RequestKind] == [
        "babysitting",
        "lift",
        "groceries",
        "meal",
        "company",
        "homework",
        "chores",
        "other",
    ]


def test_child_kinds() -> None:
    assert {RequestKind.BABYSITTING, RequestKind.HOMEWORK} == CHILD_KINDS
    assert is_child_related(kind="babysitting", involves_children=False)
    assert is_child_related(kind=RequestKind.HOMEWORK, involves_children=False)
    assert not is_child_related(kind="lift", involves_children=False)
    # A lift to school with the children is flagged by the family.
    assert is_child_related(kind="lift", involves_children=True)


def test_required_skill_is_the_kind_except_other() -> None:
    for kind in RequestKind:
        expected = None if kind is RequestKind.OTHER else kind.value
        assert required_skill(kind) == expected
    assert required_skill("meal") == "meal"


def test_unknown_kind_is_an_error() -> None:
    with pytest.raises(ValueError):
        required_skill("gardening")


# --- life cycle -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("current", "event", "expected"),
    [
        (S.OPEN, E.ACCEPT, S.ACCEPTED),
        (S.OPEN, E.FAMILY_CANCEL, S.CANCELLED),
        (S.OPEN, E.COORDINATOR_CANCEL, S.CANCELLED),
        (S.OPEN, E.EXPIRE, S.EXPIRED),
        (S.ACCEPTED, E.VOLUNTEER_CANCEL, S.OPEN),
        (S.ACCEPTED, E.FAMILY_CANCEL, S.CANCELLED),
        (S.ACCEPTED, E.COORDINATOR_CANCEL, S.CANCELLED),
        (S.ACCEPTED, E.COMPLETE, S.DONE),
        (S.ACCEPTED, E.NOT_HAPPENED, S.NOT_HAPPENED),
    ],
)
def test_legal_transitions(current: RequestStatus, event: RequestEvent, expected: RequestStatus) -> None:
    assert transition(current, event) is expected
    assert transition(current.value, event.value) is expected


@pytest.mark.parametrize(
    ("current", "event"),
    [
        (S.OPEN, E.VOLUNTEER_CANCEL),
        (S.OPEN, E.COMPLETE),
        (S.OPEN, E.NOT_HAPPENED),
        (S.ACCEPTED, E.ACCEPT),
        (S.ACCEPTED, E.EXPIRE),
    ],
)
def test_illegal_transitions_raise(current: RequestStatus, event: RequestEvent) -> None:
    with pytest.raises(TransitionError) as raised:
        transition(current, event)
    assert raised.value.current is current
    assert raised.value.event is event
    assert isinstance(raised.value, ValueError)


@pytest.mark.parametrize("closed", sorted(CLOSED_STATUSES))
@pytest.mark.parametrize("event", list(RequestEvent))
def test_closed_statuses_are_final(closed: RequestStatus, event: RequestEvent) -> None:
    with pytest.raises(TransitionError):
        transition(closed, event)
    assert is_closed(closed)


def test_status_sets() -> None:
    assert {S.OPEN, S.ACCEPTED} == ACTIVE_STATUSES
    assert {S.DONE, S.NOT_HAPPENED, S.CANCELLED, S.EXPIRED} == CLOSED_STATUSES
    assert not is_closed("open")


def test_unknown_status_or_event_is_an_error() -> None:
    with pytest.raises(ValueError):
        transition("lost", "accept")
    with pytest.raises(ValueError):
        transition("open", "steal")


# --- windows --------------------------------------------------------------------------------------------------


def test_a_good_window_has_no_errors() -> None:
    assert (
        validate_window(
            starts_at=NOW + timedelta(hours=3), ends_at=NOW + timedelta(hours=5), flexible_week=False, now=NOW
        )
        == []
    )
    assert validate_window(starts_at=NOW + timedelta(hours=3), ends_at=None, flexible_week=False, now=NOW) == []
    assert validate_window(starts_at=NOW, ends_at=None, flexible_week=False, now=NOW) == []


def test_flexible_week_needs_no_times() -> None:
    assert validate_window(starts_at=None, ends_at=None, flexible_week=True, now=NOW) == []
    assert validate_window(starts_at=NOW, ends_at=None, flexible_week=True, now=NOW) == ["flexible_with_times"]


def test_a_dated_request_needs_a_start() -> None:
    assert validate_window(starts_at=None, ends_at=None, flexible_week=False, now=NOW) == [WindowError.MISSING_START]


def test_in_past() -> None:
    errors = validate_window(starts_at=NOW - timedelta(minutes=1), ends_at=None, flexible_week=False, now=NOW)
    assert errors == ["in_past"]


def test_end_before_start_also_when_equal() -> None:
    start = NOW + timedelta(hours=2)
    assert validate_window(starts_at=start, ends_at=start - timedelta(hours=1), flexible_week=False, now=NOW) == [
        "end_before_start"
    ]
    assert validate_window(starts_at=start, ends_at=start, flexible_week=False, now=NOW) == ["end_before_start"]


def test_too_far_is_more_than_eight_weeks() -> None:
    assert validate_window(starts_at=NOW + timedelta(weeks=8), ends_at=None, flexible_week=False, now=NOW) == []
    errors = validate_window(starts_at=NOW + timedelta(weeks=8, minutes=1), ends_at=None, flexible_week=False, now=NOW)
    assert errors == ["too_far"]


def test_too_long_is_more_than_twelve_hours() -> None:
    start = NOW + timedelta(days=1)
    assert validate_window(starts_at=start, ends_at=start + timedelta(hours=12), flexible_week=False, now=NOW) == []
    errors = validate_window(
        starts_at=start, ends_at=start + timedelta(hours=12, minutes=1), flexible_week=False, now=NOW
    )
    assert errors == ["too_long"]


def test_length_is_real_time_across_the_autumn_change() -> None:
    # 20:00 Saturday to 07:30 Sunday on the wall is 12.5 hours of real time in the night clocks go back.
    start, end = ams(2026, 10, 24, 20), ams(2026, 10, 25, 7, 30)
    now = ams(2026, 10, 20, 9)
    assert validate_window(starts_at=start, ends_at=end, flexible_week=False, now=now) == ["too_long"]
    # ... and 10.5 hours in the spring night.
    assert (
        validate_window(
            starts_at=ams(2026, 3, 28, 20),
            ends_at=ams(2026, 3, 29, 7, 30),
            flexible_week=False,
            now=now - timedelta(days=210),
        )
        == []
    )


def test_several_problems_are_reported_together() -> None:
    errors = validate_window(
        starts_at=NOW - timedelta(hours=1), ends_at=NOW - timedelta(hours=2), flexible_week=False, now=NOW
    )
    assert errors == ["in_past", "end_before_start"]
    errors = validate_window(
        starts_at=NOW + timedelta(weeks=10), ends_at=NOW + timedelta(weeks=10, hours=13), flexible_week=False, now=NOW
    )
    assert errors == ["too_far", "too_long"]


def test_limits_can_be_configured() -> None:
    start = NOW + timedelta(weeks=9)
    assert (
        validate_window(
            starts_at=start,
            ends_at=start + timedelta(hours=20),
            flexible_week=False,
            now=NOW,
            max_ahead=timedelta(weeks=12),
            max_length=timedelta(hours=24),
        )
        == []
    )


def test_naive_datetimes_are_programming_errors() -> None:
    with pytest.raises(ValueError):
        validate_window(starts_at=datetime(2026, 5, 13), ends_at=None, flexible_week=False, now=NOW)
    with pytest.raises(ValueError):
        validate_window(starts_at=None, ends_at=None, flexible_week=True, now=datetime(2026, 5, 13))


# --- expiry ---------------------------------------------------------------------------------------------------


def test_a_dated_request_expires_at_its_end_or_else_its_start() -> None:
    start, end = ams(2026, 5, 14, 19), ams(2026, 5, 14, 23)
    assert expires_at(starts_at=start, ends_at=end, flexible_week=False, created_at=NOW) == utc(2026, 5, 14, 21)
    assert expires_at(starts_at=start, ends_at=None, flexible_week=False, created_at=NOW) == utc(2026, 5, 14, 17)
    assert expires_at(starts_at=start, ends_at=None, flexible_week=False, created_at=NOW).tzinfo is UTC


def test_a_flexible_request_expires_sunday_2359_local() -> None:
    assert expires_at(starts_at=None, ends_at=None, flexible_week=True, created_at=NOW) == utc(2026, 5, 17, 21, 59)
    # Created on Sunday itself: the same evening.
    sunday = ams(2026, 5, 17, 9)
    assert expires_at(starts_at=None, ends_at=None, flexible_week=True, created_at=sunday) == utc(2026, 5, 17, 21, 59)
    # Created on Monday 00:30 local (Sunday 22:30 UTC): the coming Sunday, not the one just past.
    monday = utc(2026, 5, 17, 22, 30)
    assert expires_at(starts_at=None, ends_at=None, flexible_week=True, created_at=monday) == utc(2026, 5, 24, 21, 59)


def test_week_end_follows_the_clock_change() -> None:
    # The week of 23 March 2026 ends on Sunday 29 March in summer time, 21:59 UTC; the next in winter is 22:59.
    assert end_of_local_week(ams(2026, 3, 23, 9)) == utc(2026, 3, 29, 21, 59)
    assert end_of_local_week(ams(2026, 10, 19, 9)) == utc(2026, 10, 25, 22, 59)
    assert end_of_local_week(ams(2026, 10, 19, 9), zone="UTC") == utc(2026, 10, 25, 23, 59)


def test_a_dated_request_without_start_cannot_expire() -> None:
    with pytest.raises(ValueError):
        expires_at(starts_at=None, ends_at=None, flexible_week=False, created_at=NOW)


def test_expiry_due_only_for_open_requests() -> None:
    moment = ams(2026, 5, 14, 23)
    assert expiry_due(status="open", expires_at=moment, now=moment)
    assert not expiry_due(status="open", expires_at=moment, now=moment - timedelta(seconds=1))
    assert not expiry_due(status="accepted", expires_at=moment, now=moment + timedelta(days=1))
    assert not expiry_due(status=S.CANCELLED, expires_at=moment, now=moment + timedelta(days=1))


# --- unmatched escalation -------------------------------------------------------------------------------------


def test_escalate_after_a_day_without_acceptance() -> None:
    start = NOW + timedelta(days=5)
    assert not unmatched_escalation_due(created_at=NOW, starts_at=start, now=NOW + timedelta(hours=23, minutes=59))
    assert unmatched_escalation_due(created_at=NOW, starts_at=start, now=NOW + timedelta(hours=24))


def test_escalate_when_the_start_comes_close() -> None:
    start = NOW + timedelta(hours=20)
    assert not unmatched_escalation_due(created_at=NOW, starts_at=start, now=NOW + timedelta(hours=7, minutes=59))
    assert unmatched_escalation_due(created_at=NOW, starts_at=start, now=NOW + timedelta(hours=8))


def test_a_request_for_tonight_escalates_at_once() -> None:
    assert unmatched_escalation_due(created_at=NOW, starts_at=NOW + timedelta(hours=6), now=NOW)


def test_a_start_already_passed_escalates() -> None:
    assert unmatched_escalation_due(created_at=NOW, starts_at=NOW - timedelta(minutes=5), now=NOW)


def test_a_flexible_request_uses_the_wait_or_its_week_end() -> None:
    assert not unmatched_escalation_due(created_at=NOW, starts_at=None, now=NOW + timedelta(hours=23))
    assert unmatched_escalation_due(created_at=NOW, starts_at=None, now=NOW + timedelta(hours=24))
    sunday_morning = ams(2026, 5, 17, 8)
    week_end = end_of_local_week(sunday_morning)
    assert unmatched_escalation_due(created_at=sunday_morning, starts_at=week_end, now=ams(2026, 5, 17, 12))


def test_escalation_waits_are_configurable() -> None:
    kwargs = {
        "created_at": NOW,
        "starts_at": NOW + timedelta(days=3),
        "wait": timedelta(hours=2),
        "lead": timedelta(hours=1),
    }
    assert not unmatched_escalation_due(now=NOW + timedelta(hours=1), **kwargs)  # type: ignore[arg-type]
    assert unmatched_escalation_due(now=NOW + timedelta(hours=2), **kwargs)  # type: ignore[arg-type]


# --- reminders ------------------------------------------------------------------------------------------------


def test_reminder_at_six_the_evening_before() -> None:
    start = ams(2026, 5, 14, 10)
    assert reminder_times(starts_at=start, now=NOW) == [utc(2026, 5, 13, 16)]


def test_reminder_two_hours_before_when_accepted_after_six_the_day_before() -> None:
    start = ams(2026, 5, 14, 10)
    assert reminder_times(starts_at=start, now=ams(2026, 5, 13, 18, 30)) == [utc(2026, 5, 14, 6)]
    # Exactly 18:00 is too late for the 18:00 reminder.
    assert reminder_times(starts_at=start, now=ams(2026, 5, 13, 18)) == [utc(2026, 5, 14, 6)]


def test_a_reminder_at_once_when_the_start_is_less_than_two_hours_away() -> None:
    start = ams(2026, 5, 14, 10)
    assert reminder_times(starts_at=start, now=ams(2026, 5, 14, 8, 30)) == [ams(2026, 5, 14, 8, 30)]
    assert reminder_times(starts_at=start, now=ams(2026, 5, 14, 9, 50)) == [ams(2026, 5, 14, 9, 50)]
    assert reminder_times(starts_at=start, now=ams(2026, 5, 14, 8)) == [ams(2026, 5, 14, 8)]


def test_no_reminder_once_the_task_has_begun() -> None:
    start = ams(2026, 5, 14, 10)
    assert reminder_times(starts_at=start, now=start) == []
    assert reminder_times(starts_at=start, now=ams(2026, 5, 14, 10, 5)) == []


def test_reminder_for_a_task_just_after_midnight_is_the_evening_before() -> None:
    start = ams(2026, 5, 15, 0, 30)
    assert reminder_times(starts_at=start, now=NOW) == [utc(2026, 5, 14, 16)]


def test_reminder_stays_at_six_on_the_wall_across_the_spring_change() -> None:
    # Task on Monday 30 March 2026 (summer time); the day before is Sunday 29 March, already summer time.
    assert reminder_times(starts_at=ams(2026, 3, 30, 10), now=ams(2026, 3, 25, 9)) == [utc(2026, 3, 29, 16)]
    # Task on Sunday 29 March: the reminder is Saturday 18:00 winter time.
    assert reminder_times(starts_at=ams(2026, 3, 29, 10), now=ams(2026, 3, 25, 9)) == [utc(2026, 3, 28, 17)]


def test_reminder_stays_at_six_on_the_wall_across_the_autumn_change() -> None:
    assert reminder_times(starts_at=ams(2026, 10, 26, 10), now=ams(2026, 10, 20, 9)) == [utc(2026, 10, 25, 17)]
    assert reminder_times(starts_at=ams(2026, 10, 25, 10), now=ams(2026, 10, 20, 9)) == [utc(2026, 10, 24, 16)]


def test_short_notice_reminder_is_real_time_across_the_night_of_the_change() -> None:
    # Start Sunday 25 October 03:30 local (winter); two real hours earlier is 02:30 summer time, 00:30 UTC.
    start = ams(2026, 10, 25, 3, 30)
    assert reminder_times(starts_at=start, now=ams(2026, 10, 24, 20)) == [utc(2026, 10, 25, 0, 30)]


def test_reminder_settings_and_zone() -> None:
    start = utc(2026, 5, 14, 10)
    assert reminder_times(starts_at=start, now=utc(2026, 5, 1), zone="UTC", day_before_at=time(19, 30)) == [
        utc(2026, 5, 13, 19, 30)
    ]
    assert reminder_times(starts_at=start, now=utc(2026, 5, 13, 20), zone="UTC", short_notice=timedelta(hours=1)) == [
        utc(2026, 5, 14, 9)
    ]


@given(
    st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2028, 1, 1), timezones=st.just(UTC)),
    st.integers(min_value=0, max_value=14 * 24 * 60),
)
def test_reminders_are_always_between_planning_and_start(start: datetime, minutes_ahead: int) -> None:
    now = start - timedelta(minutes=minutes_ahead)
    moments = reminder_times(starts_at=start, now=now)
    assert len(moments) == (1 if now < start else 0), "one reminder for a task not begun, never two"
    for moment in moments:
        assert now <= moment < start
        if moment == now:
            assert start - now <= timedelta(hours=2), "at once only when the usual moments have passed"
            continue
        local = moment.astimezone(AMS)
        is_evening_before = local.time() == time(18, 0) and local.date() == start.astimezone(AMS).date() - timedelta(
            days=1
        )
        assert is_evening_before or moment == start - timedelta(hours=2)


# --- retention ------------------------------------------------------------------------------------------------


def test_a_request_is_past_after_its_end_or_its_start_or_its_week() -> None:
    created = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)  # Monday
    start = datetime(2026, 11, 24, 17, 0, tzinfo=UTC)
    end = start + timedelta(hours=4)

    def past(now: datetime, *, ends_at: datetime | None = end, flexible: bool = False) -> bool:
        return is_past(
            starts_at=None if flexible else start,
            ends_at=None if flexible else ends_at,
            flexible_week=flexible,
            created_at=created,
            now=now,
        )

    assert not past(start + timedelta(hours=1)) and past(end)
    assert not past(start - timedelta(minutes=1), ends_at=None) and past(start, ends_at=None)
    sunday_night = datetime(2026, 11, 29, 22, 59, tzinfo=UTC)  # 23:59 in Amsterdam
    assert not past(sunday_night - timedelta(minutes=1), flexible=True) and past(sunday_night, flexible=True)
