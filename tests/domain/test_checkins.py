"""The waakvlam rhythm: weekday-anchored, DST-proof, never in quiet hours, never twice a day."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from domain.checkins import (
    GRACE_DAYS,
    INTERVAL_DAYS,
    Answer,
    AnswerEffect,
    Daypart,
    Rhythm,
    answer_effect,
    in_quiet_hours,
    is_no_contact,
    local_date,
    local_instant,
    next_allowed_time,
    next_checkin_due,
    reminder_due_at,
    reopen_rhythm,
    send_time,
    step_down_suggestion,
    update_good_streak,
)

AMS = ZoneInfo("Europe/Amsterdam")
TUESDAY = 1
SUNDAY = 6


def ams(year: int, month: int, day: int, hour: int = 0, minute: int = 0, *, fold: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=AMS, fold=fold)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def wall(moment: datetime) -> tuple[date, time]:
    local = moment.astimezone(AMS)
    return local.date(), local.time()


# --- dayparts -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("daypart", "expected"),
    [(Daypart.MORNING, time(9, 30)), (Daypart.AFTERNOON, time(13, 30)), (Daypart.EVENING, time(18, 30))],
)
def test_send_time_is_half_an_hour_into_the_daypart(daypart: Daypart, expected: time) -> None:
    assert send_time(daypart) == expected
    assert send_time(Daypart(str(daypart))) == expected


# --- local wall-clock helpers ---------------------------------------------------------------------------------


def test_local_instant_is_utc_and_follows_summer_time() -> None:
    assert local_instant(date(2026, 1, 6), time(9, 30)) == utc(2026, 1, 6, 8, 30)
    assert local_instant(date(2026, 7, 7), time(9, 30)) == utc(2026, 7, 7, 7, 30)
    assert local_instant(date(2026, 1, 6), time(9, 30)).tzinfo is UTC


def test_nonexistent_spring_time_moves_forward_an_hour() -> None:
    moment = local_instant(date(2026, 3, 29), time(2, 30))
    assert moment == utc(2026, 3, 29, 1, 30)
    assert wall(moment) == (date(2026, 3, 29), time(3, 30))


def test_repeated_autumn_time_means_its_first_occurrence() -> None:
    moment = local_instant(date(2026, 10, 25), time(2, 30))
    assert moment == utc(2026, 10, 25, 0, 30)
    assert moment.astimezone(AMS).utcoffset() == timedelta(hours=2)


def test_local_date_uses_the_zone_not_utc() -> None:
    assert local_date(utc(2026, 6, 1, 22, 30)) == date(2026, 6, 2)
    assert local_date(utc(2026, 6, 1, 22, 30), zone="UTC") == date(2026, 6, 1)


# --- quiet hours ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("hour", "minute", "quiet"),
    [(20, 59, False), (21, 0, True), (23, 59, True), (0, 0, True), (3, 0, True), (7, 59, True), (8, 0, False)],
)
def test_default_quiet_hours_wrap_midnight(hour: int, minute: int, quiet: bool) -> None:
    assert in_quiet_hours(ams(2026, 5, 12, hour, minute)) is quiet


def test_quiet_hours_within_one_day_and_switched_off() -> None:
    start, end = time(12, 0), time(14, 0)
    assert not in_quiet_hours(ams(2026, 5, 12, 11, 59), quiet_start=start, quiet_end=end)
    assert in_quiet_hours(ams(2026, 5, 12, 12, 0), quiet_start=start, quiet_end=end)
    assert not in_quiet_hours(ams(2026, 5, 12, 14, 0), quiet_start=start, quiet_end=end)
    assert not in_quiet_hours(ams(2026, 5, 12, 23, 0), quiet_start=time(8), quiet_end=time(8))


def test_quiet_hours_are_judged_in_the_given_zone() -> None:
    moment = utc(2026, 5, 12, 20, 30)  # 22:30 in Amsterdam, 20:30 in UTC
    assert in_quiet_hours(moment)
    assert not in_quiet_hours(moment, zone="UTC")


def test_next_allowed_time_keeps_moments_outside_quiet_hours() -> None:
    moment = ams(2026, 5, 12, 10, 0)
    assert next_allowed_time(moment) == moment
    assert next_allowed_time(moment).tzinfo is UTC


def test_next_allowed_time_moves_late_evening_to_next_morning() -> None:
    assert next_allowed_time(ams(2026, 5, 12, 22, 15)) == ams(2026, 5, 13, 8, 0)


def test_next_allowed_time_moves_small_hours_to_same_morning() -> None:
    assert next_allowed_time(ams(2026, 5, 13, 3, 0)) == ams(2026, 5, 13, 8, 0)


def test_next_allowed_time_across_the_spring_change() -> None:
    moved = next_allowed_time(ams(2026, 3, 28, 23, 0))
    assert wall(moved) == (date(2026, 3, 29), time(8, 0))
    assert moved == utc(2026, 3, 29, 6, 0)


def test_next_allowed_time_with_quiet_end_inside_the_spring_gap() -> None:
    moved = next_allowed_time(ams(2026, 3, 29, 1, 30), quiet_start=time(1, 0), quiet_end=time(2, 30))
    assert wall(moved) == (date(2026, 3, 29), time(3, 30))


def test_next_allowed_time_during_the_repeated_autumn_hour() -> None:
    second_run = ams(2026, 10, 25, 2, 15, fold=1)
    moved = next_allowed_time(second_run, quiet_start=time(1, 0), quiet_end=time(2, 30))
    assert moved > second_run
    assert moved == utc(2026, 10, 25, 1, 30)


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        in_quiet_hours(datetime(2026, 5, 12, 10))
    with pytest.raises(ValueError, match="aware"):
        next_checkin_due(
            rhythm=Rhythm.WEEKLY, weekday=TUESDAY, daypart=Daypart.MORNING, after=datetime(2026, 5, 12, 10)
        )


@settings(max_examples=300)
@given(
    moment=st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2028, 12, 31), timezones=st.just(UTC)),
    start=st.times(),
    end=st.times(),
)
def test_next_allowed_time_is_never_earlier_and_never_quiet(moment: datetime, start: time, end: time) -> None:
    # A quiet_end inside the spring gap lands an hour later, which a near-24-hour quiet span may cover again.
    assume(not time(2) <= end < time(3))
    moved = next_allowed_time(moment, quiet_start=start, quiet_end=end)
    assert moved >= moment
    assert not in_quiet_hours(moved, quiet_start=start, quiet_end=end)
    assert moved - moment <= timedelta(hours=25)


# --- next check-in --------------------------------------------------------------------------------------------


def due(**kwargs: object) -> datetime | None:
    defaults: dict[str, object] = {"rhythm": Rhythm.WEEKLY, "weekday": TUESDAY, "daypart": Daypart.MORNING}
    return next_checkin_due(**{**defaults, **kwargs})  # type: ignore[arg-type]


def test_off_means_no_checkin() -> None:
    assert due(rhythm=Rhythm.OFF, after=ams(2026, 5, 11, 10)) is None
    assert due(rhythm="off", after=ams(2026, 5, 11, 10)) is None


def test_first_checkin_is_the_next_preferred_weekday() -> None:
    # Monday 11 May 2026 → Tuesday 12 May 09:30 local (07:30 UTC in summer).
    result = due(after=ams(2026, 5, 11, 10))
    assert result == utc(2026, 5, 12, 7, 30)
    assert result is not None and result.tzinfo is UTC


def test_first_checkin_later_the_same_day() -> None:
    assert due(after=ams(2026, 5, 12, 8, 0)) == ams(2026, 5, 12, 9, 30)


def test_result_is_strictly_after_after() -> None:
    assert due(after=ams(2026, 5, 12, 9, 30)) == ams(2026, 5, 19, 9, 30)
    assert due(after=ams(2026, 5, 12, 9, 29)) == ams(2026, 5, 12, 9, 30)


@pytest.mark.parametrize(("daypart", "hour"), [(Daypart.AFTERNOON, 13), (Daypart.EVENING, 18)])
def test_each_daypart_sends_at_its_time(daypart: Daypart, hour: int) -> None:
    assert due(daypart=daypart, after=ams(2026, 5, 11, 10)) == ams(2026, 5, 12, hour, 30)


def test_rhythm_given_as_text_works() -> None:
    assert due(rhythm="weekly", daypart="morning", after=ams(2026, 5, 11, 10)) == ams(2026, 5, 12, 9, 30)


@pytest.mark.parametrize("weekday", [-1, 7])
def test_weekday_out_of_range_is_refused(weekday: int) -> None:
    with pytest.raises(ValueError, match="weekday"):
        due(weekday=weekday, after=ams(2026, 5, 11, 10))


@pytest.mark.parametrize(("rhythm", "days"), [(Rhythm.WEEKLY, 7), (Rhythm.BIWEEKLY, 14), (Rhythm.MONTHLY, 28)])
def test_interval_counts_from_last_sent(rhythm: Rhythm, days: int) -> None:
    last = ams(2026, 5, 12, 9, 30)
    assert due(rhythm=rhythm, last_sent=last, after=last) == ams(2026, 5, 12, 9, 30) + timedelta(days=days)


def test_monthly_is_every_four_weeks_on_the_weekday() -> None:
    sent = ams(2026, 1, 6, 9, 30)
    dates = []
    for _ in range(13):
        next_sent = due(rhythm=Rhythm.MONTHLY, last_sent=sent, after=sent)
        assert next_sent is not None
        dates.append(local_date(next_sent))
        sent = next_sent
    assert all(day.weekday() == TUESDAY for day in dates)
    assert [later - earlier for earlier, later in pairwise(dates)] == [timedelta(days=28)] * 12
    assert dates[-1] == date(2027, 1, 5)  # thirteen check-ins a year


def test_a_late_checkin_does_not_push_the_schedule_a_week() -> None:
    # Tuesday's check-in went out on Wednesday (an outage); the next stays on Tuesday, six days later.
    late = ams(2026, 5, 13, 10, 0)
    assert due(last_sent=late, after=late) == ams(2026, 5, 19, 9, 30)
    assert due(rhythm=Rhythm.BIWEEKLY, last_sent=late, after=late) == ams(2026, 5, 26, 9, 30)
    assert due(rhythm=Rhythm.MONTHLY, last_sent=late, after=late) == ams(2026, 6, 9, 9, 30)


def test_changing_the_weekday_takes_the_nearest_sensible_occurrence() -> None:
    last = ams(2026, 5, 12, 9, 30)  # a Tuesday
    assert due(weekday=4, last_sent=last, after=last) == ams(2026, 5, 22, 9, 30)  # Friday after next: 10 days
    assert due(weekday=5, last_sent=last, after=last) == ams(2026, 5, 16, 9, 30)  # Saturday: 4 days
    assert due(weekday=0, last_sent=last, after=last) == ams(2026, 5, 18, 9, 30)  # Monday: 6 days


def test_never_twice_on_one_local_day() -> None:
    # A check-in sent by hand early on Tuesday: the scheduled Tuesday one is skipped.
    manual = ams(2026, 5, 12, 8, 15)
    result = due(last_sent=manual, after=manual)
    assert result is not None
    assert local_date(result) != local_date(manual)


def test_when_the_scheduler_was_down_missed_slots_are_not_caught_up() -> None:
    last = ams(2026, 5, 12, 9, 30)
    assert due(last_sent=last, after=ams(2026, 6, 3, 12, 0)) == ams(2026, 6, 9, 9, 30)


def test_pause_is_inclusive_of_its_last_day() -> None:
    after = ams(2026, 5, 11, 10)
    assert due(after=after, paused_until=date(2026, 5, 12)) == ams(2026, 5, 19, 9, 30)
    assert due(after=after, paused_until=date(2026, 5, 11)) == ams(2026, 5, 12, 9, 30)
    assert due(after=after, paused_until=date(2026, 7, 1)) == ams(2026, 7, 7, 9, 30)


def test_pause_and_rhythm_together_take_the_later() -> None:
    last = ams(2026, 5, 12, 9, 30)
    assert due(rhythm=Rhythm.BIWEEKLY, last_sent=last, after=last, paused_until=date(2026, 5, 15)) == ams(
        2026, 5, 26, 9, 30
    )
    assert due(rhythm=Rhythm.BIWEEKLY, last_sent=last, after=last, paused_until=date(2026, 5, 27)) == ams(
        2026, 6, 2, 9, 30
    )


def test_send_time_inside_custom_quiet_hours_moves_to_their_end() -> None:
    result = due(after=ams(2026, 5, 11, 10), quiet_start=time(21, 0), quiet_end=time(10, 0))
    assert result == ams(2026, 5, 12, 10, 0)


def test_evening_inside_early_quiet_hours_moves_to_next_morning() -> None:
    result = due(daypart=Daypart.EVENING, after=ams(2026, 5, 11, 10), quiet_start=time(18, 0), quiet_end=time(8))
    assert result == ams(2026, 5, 13, 8, 0)


def test_quiet_shift_of_yesterdays_slot_still_counts() -> None:
    # Monday evening's slot moves to Tuesday 08:00; asked on Tuesday 07:00 it is still ahead.
    result = due(
        weekday=0,
        daypart=Daypart.EVENING,
        after=ams(2026, 5, 12, 7, 0),
        quiet_start=time(18, 0),
        quiet_end=time(8, 0),
    )
    assert result == ams(2026, 5, 12, 8, 0)


@pytest.mark.parametrize(
    ("start", "change_day", "offset_before", "offset_after"),
    [(date(2026, 3, 3), date(2026, 3, 29), 1, 2), (date(2026, 10, 6), date(2026, 10, 25), 2, 1)],
)
@pytest.mark.parametrize("weekday", range(7))
@pytest.mark.parametrize("daypart", list(Daypart))
def test_weekly_checkins_keep_their_wall_time_through_dst(
    start: date, change_day: date, offset_before: int, offset_after: int, weekday: int, daypart: Daypart
) -> None:
    sent: datetime | None = None
    after = datetime.combine(start, time(0), tzinfo=AMS)
    seen: list[datetime] = []
    for _ in range(8):
        result = due(weekday=weekday, daypart=daypart, last_sent=sent, after=after)
        assert result is not None
        seen.append(result)
        sent = after = result
    days = [local_date(moment) for moment in seen]
    assert all(moment.astimezone(AMS).time() == send_time(daypart) for moment in seen)
    assert all(day.weekday() == weekday for day in days)
    assert [later - earlier for earlier, later in pairwise(days)] == [timedelta(days=7)] * 7
    offsets = {moment.astimezone(AMS).utcoffset() for moment in seen}
    assert offsets == {timedelta(hours=offset_before), timedelta(hours=offset_after)}
    if weekday == change_day.weekday():
        assert change_day in days


def test_checkin_on_the_spring_change_sunday_itself() -> None:
    saturday = ams(2026, 3, 28, 12, 0)
    result = due(weekday=SUNDAY, after=saturday)
    assert result == utc(2026, 3, 29, 7, 30)  # 09:30 summer time
    following = due(weekday=SUNDAY, last_sent=result, after=result)
    assert following == utc(2026, 4, 5, 7, 30)


def test_checkin_on_the_autumn_change_sunday_itself() -> None:
    saturday = ams(2026, 10, 24, 12, 0)
    result = due(weekday=SUNDAY, after=saturday)
    assert result == utc(2026, 10, 25, 8, 30)  # 09:30 winter time
    previous = ams(2026, 10, 18, 9, 30)
    assert due(weekday=SUNDAY, last_sent=previous, after=previous) == result


def test_other_zones_are_respected() -> None:
    result = due(after=utc(2026, 5, 11, 12), zone="Europe/Istanbul")
    assert result == datetime(2026, 5, 12, 9, 30, tzinfo=ZoneInfo("Europe/Istanbul"))


UTC_MOMENTS = st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2028, 12, 31), timezones=st.just(UTC))


@settings(max_examples=400, deadline=None)
@given(
    rhythm=st.sampled_from([Rhythm.WEEKLY, Rhythm.BIWEEKLY, Rhythm.MONTHLY]),
    weekday=st.integers(0, 6),
    daypart=st.sampled_from(list(Daypart)),
    after=UTC_MOMENTS,
    since_last=st.none() | st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=60)),
    pause_days=st.none() | st.integers(-10, 60),
)
def test_next_checkin_properties(
    rhythm: Rhythm,
    weekday: int,
    daypart: Daypart,
    after: datetime,
    since_last: timedelta | None,
    pause_days: int | None,
) -> None:
    last_sent = None if since_last is None else after - since_last
    paused_until = None if pause_days is None else local_date(after) + timedelta(days=pause_days)
    result = next_checkin_due(
        rhythm=rhythm, weekday=weekday, daypart=daypart, after=after, last_sent=last_sent, paused_until=paused_until
    )
    assert result is not None
    assert result.tzinfo is UTC
    assert result > after
    result_day, result_time = wall(result)
    assert result_day.weekday() == weekday
    assert result_time == send_time(daypart)
    assert not in_quiet_hours(result)
    earliest = local_date(after)
    if last_sent is not None:
        last_day = local_date(last_sent)
        assert result_day != last_day
        assert (result_day - last_day).days >= INTERVAL_DAYS[rhythm] - GRACE_DAYS
        earliest = max(earliest, last_day + timedelta(days=INTERVAL_DAYS[rhythm] - GRACE_DAYS))
    if paused_until is not None:
        assert result_day > paused_until
        earliest = max(earliest, paused_until + timedelta(days=1))
    # Nothing valid was skipped: the occurrence a week earlier fails one of the rules.
    previous_day = result_day - timedelta(days=7)
    previous = local_instant(previous_day, send_time(daypart))
    assert previous <= after or previous_day < earliest


# --- answers and stepping -------------------------------------------------------------------------------------


def test_not_good_and_talk_raise_a_concern_at_once() -> None:
    for answer in (Answer.NOT_GOOD, Answer.TALK):
        effect = answer_effect(answer)
        assert effect.raise_concern
        assert not effect.thank
        assert not effect.counts_as_good


def test_not_good_and_talk_offer_no_choices_the_coordinator_gets_in_touch() -> None:
    for answer in (Answer.NOT_GOOD, Answer.TALK):
        effect = answer_effect(answer)
        assert not effect.offer_help and not effect.offer_coordinator


def test_so_so_offers_help_or_a_word_with_the_coordinator() -> None:
    effect = answer_effect(Answer.SO_SO)
    assert effect == AnswerEffect(
        raise_concern=False, offer_help=True, offer_coordinator=True, thank=True, urgent=False, counts_as_good=False
    )


def test_good_thanks_and_counts() -> None:
    effect = answer_effect("good")  # type: ignore[arg-type]
    assert effect.thank and effect.counts_as_good
    assert not effect.raise_concern and not effect.offer_help


def test_no_tap_answer_is_urgent_by_itself() -> None:
    assert not any(answer_effect(answer).urgent for answer in Answer)


def test_answer_effects_are_frozen() -> None:
    effect = answer_effect(Answer.GOOD)
    with pytest.raises(AttributeError):
        effect.thank = False  # type: ignore[misc]


def test_good_streak_grows_on_good_and_resets_otherwise() -> None:
    assert update_good_streak(streak=2, answer=Answer.GOOD) == 3
    for answer in (Answer.SO_SO, Answer.NOT_GOOD, Answer.TALK):
        assert update_good_streak(streak=5, answer=answer) == 0


@pytest.mark.parametrize(
    ("rhythm", "streak", "expected"),
    [
        (Rhythm.WEEKLY, 2, None),
        (Rhythm.WEEKLY, 3, Rhythm.BIWEEKLY),
        (Rhythm.WEEKLY, 4, None),
        (Rhythm.WEEKLY, 6, Rhythm.BIWEEKLY),
        (Rhythm.BIWEEKLY, 3, Rhythm.MONTHLY),
        (Rhythm.MONTHLY, 3, None),
        (Rhythm.OFF, 3, None),
        (Rhythm.WEEKLY, 0, None),
    ],
)
def test_step_down_suggestion(rhythm: Rhythm, streak: int, expected: Rhythm | None) -> None:
    assert step_down_suggestion(rhythm=rhythm, good_streak=streak) == expected


def test_step_down_threshold_is_configurable() -> None:
    assert step_down_suggestion(rhythm=Rhythm.WEEKLY, good_streak=2, threshold=2) == Rhythm.BIWEEKLY
    assert step_down_suggestion(rhythm=Rhythm.WEEKLY, good_streak=4, threshold=5) is None
    with pytest.raises(ValueError, match="threshold"):
        step_down_suggestion(rhythm=Rhythm.WEEKLY, good_streak=3, threshold=0)


@pytest.mark.parametrize("current", list(Rhythm))
def test_we_need_help_again_goes_back_to_weekly(current: Rhythm) -> None:
    assert reopen_rhythm(current) is Rhythm.WEEKLY


# --- missed check-ins -----------------------------------------------------------------------------------------


def test_reminder_a_day_later_at_the_same_wall_time() -> None:
    assert reminder_due_at(ams(2026, 5, 12, 9, 30)) == ams(2026, 5, 13, 9, 30)


def test_reminder_across_the_spring_change_keeps_wall_time() -> None:
    reminder = reminder_due_at(ams(2026, 3, 28, 9, 30))
    assert wall(reminder) == (date(2026, 3, 29), time(9, 30))
    assert reminder - ams(2026, 3, 28, 9, 30) == timedelta(hours=23)


def test_reminder_across_the_autumn_change_keeps_wall_time() -> None:
    reminder = reminder_due_at(ams(2026, 10, 24, 18, 30))
    assert wall(reminder) == (date(2026, 10, 25), time(18, 30))
    assert reminder - ams(2026, 10, 24, 18, 30) == timedelta(hours=25)


def test_reminder_in_quiet_hours_waits_for_the_morning() -> None:
    assert reminder_due_at(ams(2026, 5, 12, 20, 30), after=timedelta(hours=1)) == ams(2026, 5, 13, 8, 0)
    assert reminder_due_at(ams(2026, 5, 12, 22, 0)) == ams(2026, 5, 14, 8, 0)


def test_short_reminder_is_elapsed_time() -> None:
    sent = ams(2026, 5, 12, 13, 30)
    assert reminder_due_at(sent, after=timedelta(hours=3)) == sent + timedelta(hours=3)
    assert reminder_due_at(sent, after=timedelta(days=1, hours=2)) == ams(2026, 5, 13, 15, 30)


def test_short_reminder_over_the_spring_change_is_real_elapsed_time() -> None:
    sent = ams(2026, 3, 29, 0, 30)  # winter time; the clocks jump at 02:00
    reminder = reminder_due_at(sent, after=timedelta(hours=3), quiet_start=time(8), quiet_end=time(8))
    assert reminder - sent == timedelta(hours=3)
    assert wall(reminder) == (date(2026, 3, 29), time(4, 30))


def test_reminder_refuses_negative_delay() -> None:
    with pytest.raises(ValueError, match="negative"):
        reminder_due_at(ams(2026, 5, 12, 9, 30), after=timedelta(hours=-1))


@pytest.mark.parametrize(
    ("missed", "unreachable", "expected"),
    [(0, False, False), (1, False, False), (2, False, True), (5, False, True), (0, True, True)],
)
def test_no_contact(missed: int, unreachable: bool, expected: bool) -> None:
    assert is_no_contact(missed_in_a_row=missed, unreachable=unreachable) is expected


def test_no_contact_threshold() -> None:
    assert is_no_contact(missed_in_a_row=2, threshold=3, unreachable=False) is False
    assert is_no_contact(missed_in_a_row=3, threshold=3, unreachable=False) is True
    with pytest.raises(ValueError, match="threshold"):
        is_no_contact(missed_in_a_row=3, threshold=0, unreachable=False)
