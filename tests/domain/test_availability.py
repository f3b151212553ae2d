"""Availability slots: 21 bits, local dayparts with the evening running to 03:00, any overlap fits."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.availability import (
    ALL_SLOTS,
    DAYPARTS,
    EVENINGS,
    GROUPS,
    SATURDAY,
    SLOT_COUNT,
    SUNDAY,
    WEEKDAY_AFTERNOONS,
    WEEKDAY_EVENINGS,
    WEEKDAY_MORNINGS,
    WEEKENDS,
    Daypart,
    Slot,
    daypart_index,
    fits,
    mask_for_groups,
    mask_for_window,
    mask_from_slots,
    slot_bit,
    slot_index,
    slot_of,
)

AMS = ZoneInfo("Europe/Amsterdam")
MON, TUE, WED, THU, FRI, SAT, SUN = range(7)
M, A, E = Daypart.MORNING, Daypart.AFTERNOON, Daypart.EVENING


def ams(year: int, month: int, day: int, hour: int = 0, minute: int = 0, *, fold: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=AMS, fold=fold)


def slots_from_mask(mask: int) -> list[Slot]:
    """The slots set in `mask`, Monday morning first: how the assertions read a mask."""
    return [Slot(day, part) for day in range(7) for part in DAYPARTS if mask & slot_bit(day, part)]


def slots(mask: int) -> list[tuple[int, str]]:
    return [(slot.weekday, slot.daypart.value) for slot in slots_from_mask(mask)]


# 2026: Tuesday 12 May and Saturday 16 May are ordinary days; DST starts Sunday 29 March, ends Sunday 25 October.

# --- bits -----------------------------------------------------------------------------------------------------


def test_slot_positions_follow_weekday_times_three_plus_daypart() -> None:
    assert [daypart_index(part) for part in DAYPARTS] == [0, 1, 2]
    assert slot_index(MON, M) == 0
    assert slot_index(MON, E) == 2
    assert slot_index(TUE, M) == 3
    assert slot_index(SUN, E) == 20
    assert SLOT_COUNT == 21
    assert ALL_SLOTS == 2**21 - 1


def test_slot_bit_is_a_single_bit_mask() -> None:
    assert slot_bit(MON, M) == 1
    assert slot_bit(TUE, A) == 1 << 4
    assert slot_bit(SAT, "evening") == 1 << 17


def test_the_signup_buttons_formula_matches() -> None:
    # conversations.signup stores `1 << (day * 3 + part)`; both sides must agree bit for bit.
    for day in range(7):
        for part, daypart in enumerate(DAYPARTS):
            assert slot_bit(day, daypart) == 1 << (day * 3 + part)


@pytest.mark.parametrize("weekday", [-1, 7, 10])
def test_weekday_out_of_range_is_refused(weekday: int) -> None:
    with pytest.raises(ValueError):
        slot_bit(weekday, M)
    with pytest.raises(ValueError):
        Slot(weekday, M)


def test_unknown_daypart_is_refused() -> None:
    with pytest.raises(ValueError):
        slot_bit(MON, "night")


def test_slot_accepts_stored_strings() -> None:
    assert Slot(SAT, "evening") == Slot(SAT, E)  # type: ignore[arg-type]
    assert Slot(SAT, E).index == 17


def test_mask_from_slots_accepts_slots_and_pairs_and_ignores_duplicates() -> None:
    mask = mask_from_slots([Slot(MON, M), (MON, "morning"), (SUN, E)])
    assert mask == slot_bit(MON, M) | slot_bit(SUN, E)
    assert mask_from_slots([]) == 0


@given(st.integers(min_value=0, max_value=ALL_SLOTS))
def test_mask_and_slots_round_trip(mask: int) -> None:
    assert mask_from_slots(slots_from_mask(mask)) == mask


# --- groups ---------------------------------------------------------------------------------------------------


def test_groups() -> None:
    assert slots(WEEKDAY_MORNINGS) == [(day, "morning") for day in range(5)]
    assert slots(WEEKDAY_AFTERNOONS) == [(day, "afternoon") for day in range(5)]
    assert slots(WEEKDAY_EVENINGS) == [(day, "evening") for day in range(5)]
    assert slots(SATURDAY) == [(SAT, part.value) for part in DAYPARTS]
    assert slots(SUNDAY) == [(SUN, part.value) for part in DAYPARTS]
    assert WEEKENDS == SATURDAY | SUNDAY
    assert slots(EVENINGS) == [(day, "evening") for day in range(7)]


def test_signup_groups_partition_the_week() -> None:
    masks = list(GROUPS.values())
    assert sum(masks) == ALL_SLOTS
    for index, first in enumerate(masks):
        for second in masks[index + 1 :]:
            assert first & second == 0


def test_mask_for_groups_ignores_unknown_names() -> None:
    assert mask_for_groups(["saturday", "sunday"]) == WEEKENDS
    assert mask_for_groups(["wkmorning", "gone"]) == WEEKDAY_MORNINGS
    assert mask_for_groups([]) == 0


# --- fits -----------------------------------------------------------------------------------------------------


def test_fits_needs_one_shared_slot() -> None:
    assert fits(WEEKENDS, slot_bit(SAT, E))
    assert fits(WEEKENDS, slot_bit(FRI, E) | slot_bit(SAT, M))
    assert not fits(WEEKDAY_MORNINGS, slot_bit(SAT, M))
    assert not fits(0, ALL_SLOTS)
    assert not fits(ALL_SLOTS, 0)


@given(st.integers(0, ALL_SLOTS), st.integers(0, ALL_SLOTS))
def test_fits_is_symmetric_and_means_overlap(first: int, second: int) -> None:
    assert fits(first, second) == fits(second, first)
    assert fits(first, second) == any(slot in slots_from_mask(second) for slot in slots_from_mask(first))


# --- slot of a moment -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("hour", "minute", "expected"),
    [
        (3, 0, (TUE, "morning")),
        (5, 30, (TUE, "morning")),
        (11, 59, (TUE, "morning")),
        (12, 0, (TUE, "afternoon")),
        (17, 59, (TUE, "afternoon")),
        (18, 0, (TUE, "evening")),
        (23, 59, (TUE, "evening")),
        (0, 30, (MON, "evening")),
        (2, 59, (MON, "evening")),
    ],
)
def test_slot_of_uses_local_dayparts_with_the_evening_until_three(
    hour: int, minute: int, expected: tuple[int, str]
) -> None:
    slot = slot_of(ams(2026, 5, 12, hour, minute))
    assert (slot.weekday, slot.daypart.value) == expected


def test_slot_of_converts_utc_to_local_time() -> None:
    # 10:30 UTC is 12:30 in Amsterdam summer time: afternoon, not morning.
    slot = slot_of(datetime(2026, 5, 12, 10, 30, tzinfo=UTC))
    assert (slot.weekday, slot.daypart) == (TUE, A)
    # 17:30 UTC in winter is 18:30 local: evening.
    slot = slot_of(datetime(2026, 1, 13, 17, 30, tzinfo=UTC))
    assert (slot.weekday, slot.daypart) == (TUE, E)


def test_slot_of_respects_another_zone() -> None:
    slot = slot_of(datetime(2026, 5, 12, 10, 30, tzinfo=UTC), zone="UTC")
    assert (slot.weekday, slot.daypart) == (TUE, M)


def test_slot_of_refuses_naive_datetimes() -> None:
    with pytest.raises(ValueError):
        slot_of(datetime(2026, 5, 12, 10, 0))


# --- windows --------------------------------------------------------------------------------------------------


def test_a_flexible_week_request_touches_every_slot() -> None:
    assert mask_for_window(None, None) == ALL_SLOTS
    assert mask_for_window(ams(2026, 5, 12, 10), ams(2026, 5, 12, 11), flexible_week=True) == ALL_SLOTS


def test_a_moment_without_end_touches_its_own_slot() -> None:
    assert mask_for_window(ams(2026, 5, 12, 14)) == slot_bit(TUE, A)
    assert mask_for_window(ams(2026, 5, 12, 14), ams(2026, 5, 12, 14)) == slot_bit(TUE, A)


def test_a_window_inside_one_daypart() -> None:
    assert mask_for_window(ams(2026, 5, 12, 9), ams(2026, 5, 12, 11)) == slot_bit(TUE, M)


def test_a_window_across_dayparts_touches_each() -> None:
    mask = mask_for_window(ams(2026, 5, 12, 11), ams(2026, 5, 12, 19))
    assert slots(mask) == [(TUE, "morning"), (TUE, "afternoon"), (TUE, "evening")]


def test_an_end_on_a_boundary_does_not_touch_the_next_daypart() -> None:
    assert mask_for_window(ams(2026, 5, 12, 9), ams(2026, 5, 12, 12)) == slot_bit(TUE, M)
    assert mask_for_window(ams(2026, 5, 12, 12), ams(2026, 5, 12, 18)) == slot_bit(TUE, A)


def test_late_babysitting_stays_a_saturday_evening() -> None:
    # 20:00 Saturday to 01:00 Sunday: Saturday-evening volunteers fit, Sunday-morning ones are not bothered.
    mask = mask_for_window(ams(2026, 5, 16, 20), ams(2026, 5, 17, 1))
    assert mask == slot_bit(SAT, E)


def test_an_early_lift_is_a_morning() -> None:
    assert mask_for_window(ams(2026, 5, 12, 5, 30), ams(2026, 5, 12, 7)) == slot_bit(TUE, M)


def test_a_window_over_the_night_touches_both_days() -> None:
    mask = mask_for_window(ams(2026, 5, 16, 22), ams(2026, 5, 17, 9))
    assert slots(mask) == [(SAT, "evening"), (SUN, "morning")]


def test_sunday_evening_into_monday_wraps_around_the_week() -> None:
    mask = mask_for_window(ams(2026, 5, 17, 17), ams(2026, 5, 18, 4))
    assert slots(mask) == [(MON, "morning"), (SUN, "afternoon"), (SUN, "evening")]


def test_a_window_of_a_week_or_more_touches_everything() -> None:
    assert mask_for_window(ams(2026, 5, 12, 9), ams(2026, 5, 19, 9)) == ALL_SLOTS


def test_a_window_given_in_utc_is_read_in_local_time() -> None:
    # 16:30-17:30 UTC on a summer Tuesday is 18:30-19:30 local: evening only.
    start = datetime(2026, 5, 12, 16, 30, tzinfo=UTC)
    assert mask_for_window(start, start + timedelta(hours=1)) == slot_bit(TUE, E)
    assert mask_for_window(start, start + timedelta(hours=1), "UTC") == slot_bit(TUE, A)


def test_end_before_start_is_refused() -> None:
    with pytest.raises(ValueError):
        mask_for_window(ams(2026, 5, 12, 10), ams(2026, 5, 12, 9))


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError):
        mask_for_window(datetime(2026, 5, 12, 10))
    with pytest.raises(ValueError):
        mask_for_window(ams(2026, 5, 12, 10), datetime(2026, 5, 12, 11))


def test_spring_forward_night_keeps_the_boundaries() -> None:
    # Saturday 28 March 2026 22:00 to Sunday 29 March 04:00: 02:00-03:00 does not exist that night.
    start, end = ams(2026, 3, 28, 22), ams(2026, 3, 29, 4)
    assert end.astimezone(UTC) - start.astimezone(UTC) == timedelta(hours=5)
    assert slots(mask_for_window(start, end)) == [(SAT, "evening"), (SUN, "morning")]
    assert mask_for_window(start, ams(2026, 3, 29, 3)) == slot_bit(SAT, E)


def test_fall_back_night_keeps_the_boundaries() -> None:
    # Sunday 25 October 2026: 02:00-03:00 happens twice; both belong to Saturday's evening.
    second_two_thirty = ams(2026, 10, 25, 2, 30, fold=1)
    assert slot_of(second_two_thirty) == Slot(SAT, E)
    assert mask_for_window(ams(2026, 10, 24, 23), ams(2026, 10, 25, 3)) == slot_bit(SAT, E)
    assert mask_for_window(ams(2026, 10, 24, 23), ams(2026, 10, 25, 3, 1)) == slot_bit(SAT, E) | slot_bit(SUN, M)


_instants = st.datetimes(
    min_value=datetime(2025, 1, 1),
    max_value=datetime(2027, 12, 31),
    timezones=st.just(UTC),
)


@settings(max_examples=300, deadline=None)
@given(_instants, st.integers(min_value=1, max_value=36 * 60))
def test_window_mask_equals_the_slots_of_its_minutes(start: datetime, minutes: int) -> None:
    # Brute force: every minute in the window lies in one of the touched slots, and every touched slot
    # holds at least one of those minutes. Whole minutes, so stepping by minutes misses no boundary.
    start = start.replace(second=0, microsecond=0)
    end = start + timedelta(minutes=minutes)
    expected = 0
    moment = start
    while moment < end:
        expected |= 1 << slot_of(moment).index
        moment += timedelta(minutes=1)
    assert mask_for_window(start, end) == expected


@pytest.mark.parametrize("first_day", [datetime(2026, 3, 28, tzinfo=UTC), datetime(2026, 10, 24, tzinfo=UTC)])
def test_window_mask_is_exact_around_the_dst_changes(first_day: datetime) -> None:
    # Every quarter-hour start over the change weekend, with short, medium and long windows.
    quarter = timedelta(minutes=15)
    for step in range(0, 3 * 24 * 4, 3):
        start = first_day + step * quarter
        for length in (timedelta(hours=1), timedelta(hours=5), timedelta(hours=13)):
            end = start + length
            expected = 0
            moment = start
            while moment < end:
                expected |= 1 << slot_of(moment).index
                moment += quarter
            assert mask_for_window(start, end) == expected, (start, end)
