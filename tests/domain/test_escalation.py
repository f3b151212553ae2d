"""The escalation chain: primary, partner, everyone; short waits in office hours, the morning rule outside them."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.escalation import (
    LEVEL_ALL,
    LEVEL_PARTNER,
    LEVEL_PRIMARY,
    EscalationPolicy,
    Target,
    expected_contact_by,
    is_office_hours,
    next_escalation_at,
    next_office_open,
    targets_for_level,
)

AMS = ZoneInfo("Europe/Amsterdam")
POLICY = EscalationPolicy()


def ams(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=AMS)


def step(now: datetime, *, level: int = LEVEL_PRIMARY, policy: EscalationPolicy = POLICY) -> datetime | None:
    return next_escalation_at(level=level, now=now, policy=policy, urgent=False)


# 2026: Tuesday 12 May is an ordinary week; Friday 27 March and Friday 23 October precede the DST Sundays.

# --- policy ---------------------------------------------------------------------------------------------------


def test_default_policy_matches_the_agreed_office_hours() -> None:
    assert POLICY.office_days == (0, 1, 2, 3, 4)
    assert (POLICY.office_start, POLICY.office_end) == (time(8, 30), time(17, 0))
    assert POLICY.wait_office == timedelta(minutes=30)
    assert POLICY.wait_outside == timedelta(hours=2)
    assert POLICY.morning_rule == time(9, 0)
    assert POLICY.zone == "Europe/Amsterdam"


@pytest.mark.parametrize(
    "kwargs",
    [
        {"office_days": ()},
        {"office_days": (0, 7)},
        {"office_start": time(17), "office_end": time(8, 30)},
        {"wait_office": timedelta(0)},
        {"wait_outside": timedelta(minutes=-5)},
        {"morning_rule": time(8, 0)},
        {"morning_rule": time(17, 0)},
    ],
)
def test_inconsistent_policies_are_refused(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        EscalationPolicy(**kwargs)  # type: ignore[arg-type]


def test_unknown_zone_is_refused_at_configuration_time() -> None:
    with pytest.raises(ValueError, match="time zone"):
        EscalationPolicy(zone="Europe/Nowhere")


def test_policy_is_frozen() -> None:
    with pytest.raises(AttributeError):
        POLICY.wait_office = timedelta(minutes=5)  # type: ignore[misc]


# --- office hours ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        (ams(2026, 5, 12, 8, 29, 59), False),
        (ams(2026, 5, 12, 8, 30), True),
        (ams(2026, 5, 12, 12, 0), True),
        (ams(2026, 5, 12, 16, 59, 59), True),
        (ams(2026, 5, 12, 17, 0), False),
        (ams(2026, 5, 15, 16, 0), True),  # Friday afternoon
        (ams(2026, 5, 16, 10, 0), False),  # Saturday
        (ams(2026, 5, 17, 10, 0), False),  # Sunday
        (ams(2026, 3, 30, 8, 30), True),  # first Monday of summer time
        (ams(2026, 10, 26, 8, 29), False),  # first Monday of winter time
    ],
)
def test_is_office_hours(moment: datetime, expected: bool) -> None:
    assert is_office_hours(moment, POLICY) is expected
    assert is_office_hours(moment.astimezone(UTC), POLICY) is expected


def test_office_hours_are_local_across_dst() -> None:
    assert is_office_hours(datetime(2026, 3, 30, 6, 30, tzinfo=UTC), POLICY)  # 08:30 CEST
    assert not is_office_hours(datetime(2026, 3, 27, 6, 30, tzinfo=UTC), POLICY)  # 07:30 CET
    assert is_office_hours(datetime(2026, 10, 26, 7, 30, tzinfo=UTC), POLICY)  # 08:30 CET
    assert not is_office_hours(datetime(2026, 10, 23, 15, 0, tzinfo=UTC), POLICY)  # 17:00 CEST


def test_closed_days_are_not_office_days() -> None:
    easter_monday = date(2026, 4, 6)
    policy = EscalationPolicy(closed_days=frozenset({easter_monday}))
    assert not is_office_hours(ams(2026, 4, 6, 10), policy)
    assert is_office_hours(ams(2026, 4, 6, 10), POLICY)


def test_naive_moments_are_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        is_office_hours(datetime(2026, 5, 12, 10), POLICY)
    with pytest.raises(ValueError, match="aware"):
        step(datetime(2026, 5, 12, 10))


@pytest.mark.parametrize(
    ("now", "opens"),
    [
        (ams(2026, 5, 12, 10, 0), ams(2026, 5, 12, 10, 0)),  # open: now
        (ams(2026, 5, 12, 7, 0), ams(2026, 5, 12, 8, 30)),
        (ams(2026, 5, 12, 17, 0), ams(2026, 5, 13, 8, 30)),
        (ams(2026, 5, 15, 18, 0), ams(2026, 5, 18, 8, 30)),  # Friday evening → Monday
        (ams(2026, 5, 16, 12, 0), ams(2026, 5, 18, 8, 30)),
        (ams(2026, 3, 27, 18, 0), ams(2026, 3, 30, 8, 30)),  # over the spring change
        (ams(2026, 10, 23, 18, 0), ams(2026, 10, 26, 8, 30)),  # over the autumn change
    ],
)
def test_next_office_open(now: datetime, opens: datetime) -> None:
    result = next_office_open(now, POLICY)
    assert result == opens
    assert result.tzinfo is UTC


def test_next_office_open_skips_closed_days() -> None:
    policy = EscalationPolicy(closed_days=frozenset({date(2026, 4, 6)}))
    assert next_office_open(ams(2026, 4, 3, 18), policy) == ams(2026, 4, 7, 8, 30)


def test_a_policy_that_never_opens_says_so() -> None:
    all_mondays = frozenset(date(2026, 1, 5) + timedelta(weeks=week) for week in range(80))
    policy = EscalationPolicy(office_days=(0,), closed_days=all_mondays)
    with pytest.raises(ValueError, match="no office day"):
        next_office_open(ams(2026, 1, 6), policy)


# --- next escalation step -------------------------------------------------------------------------------------


def test_during_office_hours_the_wait_is_short() -> None:
    assert step(ams(2026, 5, 12, 10, 0)) == ams(2026, 5, 12, 10, 30)
    assert step(ams(2026, 5, 12, 10, 30), level=LEVEL_PARTNER) == ams(2026, 5, 12, 11, 0)


def test_the_chain_ends_at_everyone() -> None:
    assert step(ams(2026, 5, 12, 11, 0), level=LEVEL_ALL) is None
    assert step(ams(2026, 5, 12, 11, 0), level=LEVEL_ALL + 1) is None


def test_urgent_concerns_have_no_steps() -> None:
    assert next_escalation_at(level=LEVEL_PRIMARY, now=ams(2026, 5, 15, 23), policy=POLICY, urgent=True) is None


def test_a_chain_that_already_reached_everyone_stops() -> None:
    now = ams(2026, 5, 12, 10)
    assert next_escalation_at(level=LEVEL_PRIMARY, now=now, policy=POLICY, urgent=False, target=Target.ALL) is None
    assert next_escalation_at(level=LEVEL_PRIMARY, now=now, policy=POLICY, urgent=False, target="all") is None
    assert next_escalation_at(level=LEVEL_PRIMARY, now=now, policy=POLICY, urgent=False, target="primary") == ams(
        2026, 5, 12, 10, 30
    )


def test_negative_level_is_refused() -> None:
    with pytest.raises(ValueError, match="level"):
        step(ams(2026, 5, 12, 10), level=-1)


def test_friday_night_concern_waits_for_monday_morning() -> None:
    # Raised 23:00 on Friday: the primary sees it at once, the partner on Monday 09:00, everyone 09:30.
    partner_at = step(ams(2026, 5, 15, 23, 0))
    assert partner_at == ams(2026, 5, 18, 9, 0)
    assert partner_at is not None
    everyone_at = step(partner_at, level=LEVEL_PARTNER)
    assert everyone_at == ams(2026, 5, 18, 9, 30)
    assert everyone_at is not None
    assert step(everyone_at, level=LEVEL_ALL) is None


def test_friday_evening_just_after_closing() -> None:
    assert step(ams(2026, 5, 15, 17, 0)) == ams(2026, 5, 18, 9, 0)


def test_weekend_concern_waits_for_monday_morning() -> None:
    assert step(ams(2026, 5, 16, 11, 0)) == ams(2026, 5, 18, 9, 0)
    assert step(ams(2026, 5, 17, 23, 59)) == ams(2026, 5, 18, 9, 0)


def test_late_afternoon_wait_that_runs_past_closing_moves_to_the_morning() -> None:
    assert step(ams(2026, 5, 12, 16, 29)) == ams(2026, 5, 12, 16, 59)
    assert step(ams(2026, 5, 12, 16, 30)) == ams(2026, 5, 13, 9, 0)  # 17:00 is already closed
    assert step(ams(2026, 5, 12, 16, 45)) == ams(2026, 5, 13, 9, 0)
    assert step(ams(2026, 5, 15, 16, 45)) == ams(2026, 5, 18, 9, 0)  # on Friday: Monday


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (ams(2026, 5, 12, 6, 0), ams(2026, 5, 12, 9, 0)),
        (ams(2026, 5, 12, 8, 29, 59), ams(2026, 5, 12, 9, 0)),
        (ams(2026, 5, 12, 8, 30), ams(2026, 5, 12, 9, 0)),  # opening: the ordinary wait ends at 09:00 too
        (ams(2026, 5, 12, 8, 31), ams(2026, 5, 12, 9, 1)),
        (ams(2026, 5, 12, 0, 0), ams(2026, 5, 12, 9, 0)),
        (ams(2026, 5, 11, 23, 59, 59), ams(2026, 5, 12, 9, 0)),
    ],
)
def test_early_morning_boundaries_are_continuous(now: datetime, expected: datetime) -> None:
    assert step(now) == expected


def test_spring_dst_weekend() -> None:
    partner_at = step(ams(2026, 3, 27, 22, 0))
    assert partner_at == ams(2026, 3, 30, 9, 0)
    assert partner_at == datetime(2026, 3, 30, 7, 0, tzinfo=UTC)


def test_autumn_dst_weekend() -> None:
    partner_at = step(ams(2026, 10, 23, 20, 0))
    assert partner_at == ams(2026, 10, 26, 9, 0)
    assert partner_at == datetime(2026, 10, 26, 8, 0, tzinfo=UTC)
    assert step(ams(2026, 10, 25, 2, 30)) == ams(2026, 10, 26, 9, 0)


def test_public_holiday_is_skipped_by_the_morning_rule() -> None:
    policy = EscalationPolicy(closed_days=frozenset({date(2026, 4, 6)}))  # Easter Monday
    assert step(ams(2026, 4, 3, 20, 0), policy=policy) == ams(2026, 4, 7, 9, 0)


def test_without_the_morning_rule_outside_hours_waits_two_hours() -> None:
    rota = EscalationPolicy(morning_rule=None)
    assert step(ams(2026, 5, 15, 23, 0), policy=rota) == ams(2026, 5, 16, 1, 0)
    assert step(ams(2026, 5, 12, 16, 45), policy=rota) == ams(2026, 5, 12, 17, 15)
    # Elapsed time, not wall time: over the spring change two hours is still two hours.
    assert step(ams(2026, 3, 29, 1, 30), policy=rota) == datetime(2026, 3, 29, 2, 30, tzinfo=UTC)


def test_a_custom_policy() -> None:
    policy = EscalationPolicy(
        office_days=(0, 1, 2, 3),
        office_start=time(9, 0),
        office_end=time(16, 0),
        wait_office=timedelta(minutes=15),
        morning_rule=time(10, 0),
    )
    assert step(ams(2026, 5, 14, 15, 40), policy=policy) == ams(2026, 5, 14, 15, 55)
    assert step(ams(2026, 5, 14, 15, 50), policy=policy) == ams(2026, 5, 18, 10, 0)  # Friday is closed


def test_escalation_steps_are_returned_in_utc() -> None:
    result = step(ams(2026, 5, 12, 10))
    assert result is not None and result.tzinfo is UTC


MOMENTS = st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2028, 12, 31), timezones=st.just(UTC))


@settings(max_examples=400, deadline=None)
@given(now=MOMENTS, level=st.sampled_from([LEVEL_PRIMARY, LEVEL_PARTNER]))
def test_steps_fall_in_office_hours_and_never_wake_anyone(now: datetime, level: int) -> None:
    result = step(now, level=level)
    assert result is not None
    assert result > now
    assert is_office_hours(result, POLICY)
    if is_office_hours(now, POLICY) and is_office_hours(now + POLICY.wait_office, POLICY):
        assert result == now + POLICY.wait_office
    else:
        assert result.astimezone(AMS).time() == time(9, 0)
        assert result - now <= timedelta(days=4)  # a long weekend at most with the default policy


@settings(max_examples=300, deadline=None)
@given(first=MOMENTS, gap=st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=3)))
def test_later_concerns_never_escalate_earlier(first: datetime, gap: timedelta) -> None:
    early, late = step(first), step(first + gap)
    assert early is not None and late is not None
    assert early <= late


# --- what the family is told ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (ams(2026, 5, 12, 14, 0), ams(2026, 5, 12, 14, 30)),
        (ams(2026, 5, 12, 14, 7), ams(2026, 5, 12, 14, 45)),
        (ams(2026, 5, 12, 14, 15, 1), ams(2026, 5, 12, 15, 0)),
        (ams(2026, 5, 12, 16, 45), ams(2026, 5, 13, 9, 0)),
        (ams(2026, 5, 15, 23, 0), ams(2026, 5, 18, 9, 0)),
        (ams(2026, 3, 28, 12, 0), ams(2026, 3, 30, 9, 0)),
    ],
)
def test_expected_contact_by(now: datetime, expected: datetime) -> None:
    result = expected_contact_by(now, POLICY)
    assert result == expected
    assert result.tzinfo is UTC


@settings(max_examples=200, deadline=None)
@given(now=MOMENTS)
def test_families_are_never_promised_too_early(now: datetime) -> None:
    promised = expected_contact_by(now, POLICY)
    partner_at = step(now)
    assert partner_at is not None
    assert partner_at <= promised < partner_at + timedelta(minutes=15)
    local = promised.astimezone(AMS)
    assert local.minute % 15 == 0 and local.second == 0 and local.microsecond == 0


# --- who hears about it ---------------------------------------------------------------------------------------


def targets(
    level: int, primary: int | None = 1, partner: int | None = 2, others: tuple[int | None, ...] = (3, 4)
) -> tuple[str, list[int]]:
    return targets_for_level(level=level, primary_id=primary, partner_id=partner, all_ids=list(others), urgent=False)


def test_full_duo_chain() -> None:
    assert targets(LEVEL_PRIMARY) == ("primary", [1])
    assert targets(LEVEL_PARTNER) == ("partner", [2])
    assert targets(LEVEL_ALL) == ("all", [1, 2, 3, 4])


def test_everyone_lists_primary_and_partner_first_without_duplicates_or_blanks() -> None:
    assert targets(LEVEL_ALL, others=(4, 2, None, 3, 1, 4)) == ("all", [1, 2, 4, 3])


def test_missing_primary_starts_with_the_partner_and_skips_a_repeat() -> None:
    assert targets(LEVEL_PRIMARY, primary=None) == ("partner", [2])
    assert targets(LEVEL_PARTNER, primary=None) == ("all", [2, 3, 4])
    assert targets(LEVEL_ALL, primary=None) == ("all", [2, 3, 4])


def test_missing_partner_goes_from_primary_to_everyone() -> None:
    assert targets(LEVEL_PRIMARY, partner=None) == ("primary", [1])
    assert targets(LEVEL_PARTNER, partner=None) == ("all", [1, 3, 4])


def test_partner_equal_to_primary_counts_once() -> None:
    assert targets(LEVEL_PARTNER, partner=1) == ("all", [1, 3, 4])


def test_no_duo_at_all_goes_to_everyone_at_once() -> None:
    assert targets(LEVEL_PRIMARY, primary=None, partner=None) == ("all", [3, 4])


def test_nobody_configured_is_an_empty_list() -> None:
    assert targets(LEVEL_PRIMARY, primary=None, partner=None, others=()) == ("all", [])


def test_urgent_goes_to_everyone_at_any_level() -> None:
    for level in (LEVEL_PRIMARY, LEVEL_PARTNER, LEVEL_ALL):
        result = targets_for_level(level=level, primary_id=1, partner_id=2, all_ids=[5, 3], urgent=True)
        assert result == ("all", [1, 2, 5, 3])


def test_target_kinds_are_plain_strings() -> None:
    kind, _ = targets(LEVEL_PRIMARY)
    assert kind == Target.PRIMARY == "primary"
    with pytest.raises(ValueError, match="level"):
        targets(-1)


def test_a_whole_chain_from_friday_night_with_the_target_kinds() -> None:
    """Walks the worker's loop: alert, wait, escalate unless acknowledged."""
    now = ams(2026, 5, 15, 23, 0)
    level = LEVEL_PRIMARY
    log: list[tuple[datetime, str]] = []
    while True:
        kind, _ = targets_for_level(level=level, primary_id=10, partner_id=20, all_ids=[10, 20, 30], urgent=False)
        log.append((now, kind))
        due = next_escalation_at(level=level, now=now, policy=POLICY, urgent=False, target=kind)
        if due is None:
            break
        now, level = due, level + 1
    assert log == [
        (ams(2026, 5, 15, 23, 0), "primary"),
        (ams(2026, 5, 18, 9, 0), "partner"),
        (ams(2026, 5, 18, 9, 30), "all"),
    ]


def test_a_chain_without_partner_stops_after_everyone() -> None:
    now = ams(2026, 5, 12, 10, 0)
    kinds = []
    level = LEVEL_PRIMARY
    while True:
        kind, _ = targets_for_level(level=level, primary_id=10, partner_id=None, all_ids=[10, 30], urgent=False)
        kinds.append(kind)
        due = next_escalation_at(level=level, now=now, policy=POLICY, urgent=False, target=kind)
        if due is None:
            break
        now, level = due, level + 1
    assert kinds == ["primary", "all"]


def test_first_reachable_step_skips_people_who_cannot_be_reached() -> None:
    from domain.escalation import first_reachable_step

    chain = {"primary_id": 1, "partner_id": 2, "all_ids": [1, 2, 3, 4], "urgent": False}
    assert first_reachable_step(level=0, **chain) == (0, "primary", [1])  # type: ignore[arg-type]
    assert first_reachable_step(level=0, unreachable={1}, **chain) == (1, "partner", [2])  # type: ignore[arg-type]
    assert first_reachable_step(level=0, unreachable={1, 2}, **chain) == (2, "all", [3, 4])  # type: ignore[arg-type]
    assert first_reachable_step(level=1, unreachable={2, 3}, **chain) == (2, "all", [1, 4])  # type: ignore[arg-type]
    # Nobody left: the concern waits (empty ids), the chain does not run past "all".
    assert first_reachable_step(level=0, unreachable={1, 2, 3, 4}, **chain) == (2, "all", [])  # type: ignore[arg-type]
    # Without a partner the step after the primary is everyone; urgent goes to everyone reachable.
    assert first_reachable_step(
        level=0, primary_id=1, partner_id=None, all_ids=[1, 3], urgent=False, unreachable={1}
    ) == (1, "all", [3])
    assert first_reachable_step(
        level=2, primary_id=1, partner_id=2, all_ids=[1, 2, 3], urgent=True, unreachable={2}
    ) == (2, "all", [1, 3])
    assert first_reachable_step(level=0, primary_id=None, partner_id=None, all_ids=[], urgent=False) == (0, "all", [])
