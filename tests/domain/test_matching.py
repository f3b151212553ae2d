"""Matching: one predicate per criterion, the first failing reason, fair ranking and the support volunteer first."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.availability import ALL_SLOTS, WEEKDAY_MORNINGS, WEEKENDS, Daypart, slot_bit
from domain.matching import (
    Ineligible,
    RequestNeed,
    VolunteerCandidate,
    Wave,
    eligible,
    has_skill,
    has_valid_vog,
    is_active,
    is_approved,
    is_child_approved,
    is_someone_else,
    is_under_cap,
    is_usually_free,
    plan_waves,
    rank,
    serves_area,
    speaks_with_family,
)
from domain.volunteers import vog_cutoff

AMS = ZoneInfo("Europe/Amsterdam")
TODAY = date(2026, 5, 12)
NOW = datetime(2026, 5, 12, 8, 0, tzinfo=UTC)
SATURDAY_EVENING = slot_bit(5, Daypart.EVENING)
HOME = 7
OTHER_AREA = 8


def volunteer(person_id: int = 1, **changes: object) -> VolunteerCandidate:
    base = VolunteerCandidate(
        person_id=person_id,
        status="approved",
        area_ids=frozenset({HOME}),
        skills=frozenset({"babysitting", "lift", "groceries"}),
        availability_mask=WEEKENDS,
        languages=frozenset({"nl"}),
        vog_date=date(2025, 1, 10),
        children_ok=True,
        paused_until=None,
        weekly_cap=3,
        offers_this_week=0,
        last_asked_at=None,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def need(**changes: object) -> RequestNeed:
    base = RequestNeed(
        kind="lift",
        involves_children=False,
        area_id=HOME,
        slots_mask=SATURDAY_EVENING,
        family_language="nl",
        support_volunteer_id=None,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def why(candidate: VolunteerCandidate, request: RequestNeed, **kwargs: object) -> str | None:
    return eligible(candidate, request, today=TODAY, **kwargs)  # type: ignore[arg-type]


# --- each criterion -------------------------------------------------------------------------------------------


def test_a_fitting_volunteer_is_eligible() -> None:
    assert why(volunteer(), need()) is None
    assert why(volunteer(), need(kind="babysitting")) is None


@pytest.mark.parametrize("status", ["pending", "rejected", ""])
def test_only_approved_volunteers(status: str) -> None:
    assert not is_approved(volunteer(status=status))
    assert why(volunteer(status=status), need()) == "not_approved"


def test_a_family_is_never_offered_its_own_request() -> None:
    request = need(family_id=1)
    assert not is_someone_else(volunteer(1), request)
    assert why(volunteer(1), request) == Ineligible.OWN_REQUEST
    assert why(volunteer(2), request) is None
    assert is_someone_else(volunteer(1), need())


def test_paused_through_the_last_day() -> None:
    assert why(volunteer(paused_until=TODAY), need()) == "paused"
    assert why(volunteer(paused_until=TODAY + timedelta(days=10)), need()) == "paused"
    assert is_active(volunteer(paused_until=TODAY - timedelta(days=1)), today=TODAY)
    assert is_active(volunteer(paused_until=None), today=TODAY)


def test_area() -> None:
    assert why(volunteer(area_ids=frozenset({OTHER_AREA})), need()) == "area"
    assert why(volunteer(area_ids=frozenset({OTHER_AREA, HOME})), need()) is None
    assert why(volunteer(area_ids=frozenset()), need()) == "area"


def test_the_support_volunteer_is_not_bound_to_areas() -> None:
    far = volunteer(5, area_ids=frozenset({OTHER_AREA}))
    assert serves_area(far, need(support_volunteer_id=5))
    assert not serves_area(far, need(support_volunteer_id=6))


def test_a_family_without_area_matches_only_its_support_volunteer() -> None:
    request = need(area_id=None, support_volunteer_id=5)
    assert why(volunteer(1), request) == "area"
    assert why(volunteer(5), request) is None


def test_skill_matches_the_kind() -> None:
    assert why(volunteer(skills=frozenset({"groceries"})), need(kind="lift")) == "skill"
    assert has_skill(volunteer(skills=frozenset({"meal"})), need(kind="meal"))
    # "other" is the family's own words; anyone may read it and decide.
    assert has_skill(volunteer(skills=frozenset()), need(kind="other"))


def test_availability_needs_an_overlapping_slot() -> None:
    assert why(volunteer(availability_mask=WEEKDAY_MORNINGS), need()) == "availability"
    assert why(volunteer(availability_mask=0), need()) == "availability"
    assert is_usually_free(volunteer(availability_mask=WEEKDAY_MORNINGS), need(slots_mask=ALL_SLOTS))


@pytest.mark.parametrize(
    ("languages", "family_language", "ok"),
    [
        ({"nl"}, "nl", True),
        ({"en"}, "nl", False),
        ({"ar"}, "ar", True),
        ({"nl"}, "ar", True),  # Dutch is the common ground
        ({"en", "tr"}, "ar", False),
        ({"en", "ar"}, "ar", True),
        ({"NL-nl"}, "nl", True),  # regional tags and case do not matter
        ({"pl"}, "pl_PL", True),
        ({"en"}, None, False),  # unknown family language counts as Dutch
        ({"nl"}, None, True),
        (set(), "ar", True),  # nothing recorded counts as Dutch
        ({" "}, "nl", True),
    ],
)
def test_language(languages: set[str], family_language: str | None, ok: bool) -> None:
    candidate = volunteer(languages=frozenset(languages))
    request = need(family_language=family_language)
    assert speaks_with_family(candidate, request) is ok
    assert (why(candidate, request) is None) is ok
    if not ok:
        assert why(candidate, request) == "language"


def test_weekly_cap_is_never_exceeded() -> None:
    assert is_under_cap(volunteer(weekly_cap=3, offers_this_week=2))
    assert why(volunteer(weekly_cap=3, offers_this_week=3), need()) == "cap"
    assert why(volunteer(weekly_cap=3, offers_this_week=5), need()) == "cap"
    assert why(volunteer(weekly_cap=0, offers_this_week=0), need()) == "cap"


def test_child_requests_need_approval_for_children() -> None:
    candidate = volunteer(children_ok=False)
    assert why(candidate, need(kind="babysitting")) == "not_child_approved"
    assert why(replace(candidate, skills=frozenset({"homework"})), need(kind="homework")) == "not_child_approved"
    assert why(candidate, need(kind="lift", involves_children=True)) == "not_child_approved"
    assert why(candidate, need(kind="lift")) is None
    assert is_child_approved(candidate, need())


def test_child_requests_need_a_recent_vog() -> None:
    old = volunteer(vog_date=date(2023, 5, 12))
    assert why(old, need(kind="babysitting")) == "vog_expired"
    assert why(old, need(kind="babysitting"), vog_valid_years=5) is None
    assert why(volunteer(vog_date=None), need(kind="babysitting")) == "vog_expired"
    assert why(volunteer(vog_date=TODAY + timedelta(days=1)), need(kind="babysitting")) == "vog_expired"
    # An old VOG does not matter for a lift without children.
    assert why(old, need(kind="lift")) is None
    assert why(volunteer(vog_date=None), need(kind="lift")) is None


def test_the_first_failing_reason_is_reported_in_a_fixed_order() -> None:
    hopeless = volunteer(
        status="pending",
        paused_until=TODAY,
        area_ids=frozenset(),
        skills=frozenset(),
        availability_mask=0,
        languages=frozenset({"en"}),
        weekly_cap=0,
        children_ok=False,
        vog_date=None,
    )
    request = need(kind="babysitting", family_id=1)
    order = [
        ("not_approved", {"status": "approved"}),
        ("own_request", {"person_id": 2}),
        ("paused", {"paused_until": None}),
        ("area", {"area_ids": frozenset({HOME})}),
        ("skill", {"skills": frozenset({"babysitting"})}),
        ("availability", {"availability_mask": WEEKENDS}),
        ("language", {"languages": frozenset({"nl"})}),
        ("cap", {"weekly_cap": 3}),
        ("not_child_approved", {"children_ok": True}),
        ("vog_expired", {"vog_date": date(2025, 1, 1)}),
    ]
    candidate = replace(hopeless, person_id=1)
    for reason, fix in order:
        assert why(candidate, request) == reason
        candidate = replace(candidate, **fix)  # type: ignore[arg-type]
    assert why(candidate, request) is None
    assert [reason for reason, _fix in order] == [reason.value for reason in Ineligible]


def test_the_vog_predicate_agrees_with_its_sql_form() -> None:
    cutoff = vog_cutoff(today=TODAY, years=3)
    for offset in range(-3, 4):
        vog = cutoff + timedelta(days=offset)
        candidate = volunteer(vog_date=vog)
        assert has_valid_vog(candidate, need(kind="babysitting"), today=TODAY) == (cutoff < vog <= TODAY)


# --- ranking --------------------------------------------------------------------------------------------------


def test_rank_never_asked_first_then_least_recently_then_by_id() -> None:
    candidates = [
        volunteer(10, last_asked_at=NOW - timedelta(days=1)),
        volunteer(11, last_asked_at=NOW - timedelta(days=5)),
        volunteer(12),
        volunteer(9),
        volunteer(13, last_asked_at=NOW - timedelta(days=5)),
    ]
    assert rank(candidates, need(), today=TODAY, limit=10) == [9, 12, 11, 13, 10]


def test_rank_compares_moments_not_wall_clocks() -> None:
    # 09:00 in Amsterdam (07:00 UTC) is earlier than 08:00 UTC.
    candidates = [
        volunteer(1, last_asked_at=datetime(2026, 5, 11, 8, 0, tzinfo=UTC)),
        volunteer(2, last_asked_at=datetime(2026, 5, 11, 9, 0, tzinfo=AMS)),
    ]
    assert rank(candidates, need(), today=TODAY, limit=2) == [2, 1]


def test_rank_leaves_out_ineligible_and_respects_limit_and_exclusions() -> None:
    candidates = [
        volunteer(1),
        volunteer(2, offers_this_week=3),
        volunteer(3, status="pending"),
        volunteer(4),
        volunteer(5),
        volunteer(1),  # the same person twice counts once
    ]
    assert rank(candidates, need(), today=TODAY, limit=10) == [1, 4, 5]
    assert rank(candidates, need(), today=TODAY, limit=2) == [1, 4]
    assert rank(candidates, need(), today=TODAY, limit=0) == []
    assert rank(candidates, need(), today=TODAY, limit=10, exclude=[4]) == [1, 5]
    assert rank([], need(), today=TODAY, limit=5) == []
    with pytest.raises(ValueError):
        rank(candidates, need(), today=TODAY, limit=-1)


def test_rank_passes_vog_validity_on() -> None:
    candidates = [volunteer(1, vog_date=date(2022, 1, 1)), volunteer(2)]
    assert rank(candidates, need(kind="babysitting"), today=TODAY, limit=5) == [2]
    assert rank(candidates, need(kind="babysitting"), today=TODAY, limit=5, vog_valid_years=5) == [1, 2]


_candidates = st.lists(
    st.builds(
        volunteer,
        person_id=st.integers(1, 40),
        status=st.sampled_from(["approved", "approved", "pending"]),
        weekly_cap=st.integers(0, 4),
        offers_this_week=st.integers(0, 5),
        availability_mask=st.integers(0, ALL_SLOTS),
        last_asked_at=st.none() | st.datetimes(min_value=datetime(2026, 1, 1), timezones=st.just(UTC)),
    ),
    max_size=30,
)


@settings(max_examples=200)
@given(_candidates, st.integers(0, 10))
def test_ranked_ids_are_eligible_unique_and_under_cap(candidates: list[VolunteerCandidate], limit: int) -> None:
    ranked = rank(candidates, need(), today=TODAY, limit=limit)
    assert len(ranked) == len(set(ranked)) <= limit
    for person_id in ranked:
        # The same person may come twice (two rows of one volunteer); one of them must fit.
        assert any(
            eligible(candidate, need(), today=TODAY) is None and candidate.offers_this_week < candidate.weekly_cap
            for candidate in candidates
            if candidate.person_id == person_id
        )


# --- waves ----------------------------------------------------------------------------------------------------


def test_the_support_volunteer_is_asked_first_and_alone() -> None:
    candidates = [volunteer(1), volunteer(2), volunteer(3, last_asked_at=NOW - timedelta(days=1))]
    waves = plan_waves(need=need(support_volunteer_id=3), candidates=candidates, today=TODAY, now=NOW)
    assert waves == [
        Wave(at=NOW, volunteer_ids=[3]),
        Wave(at=NOW + timedelta(hours=4), volunteer_ids=[1, 2]),
    ]


def test_without_eligible_support_volunteer_the_others_go_at_once() -> None:
    candidates = [volunteer(1), volunteer(2), volunteer(3, paused_until=TODAY)]
    waves = plan_waves(need=need(support_volunteer_id=3), candidates=candidates, today=TODAY, now=NOW)
    assert waves == [Wave(at=NOW, volunteer_ids=[1, 2])]
    # A support volunteer who is not among the candidates at all.
    assert plan_waves(need=need(support_volunteer_id=99), candidates=candidates, today=TODAY, now=NOW) == [
        Wave(at=NOW, volunteer_ids=[1, 2])
    ]


def test_no_support_volunteer_means_one_wave() -> None:
    waves = plan_waves(need=need(), candidates=[volunteer(1), volunteer(2)], today=TODAY, now=NOW)
    assert waves == [Wave(at=NOW, volunteer_ids=[1, 2])]


def test_only_the_support_volunteer_fits() -> None:
    waves = plan_waves(
        need=need(support_volunteer_id=3),
        candidates=[volunteer(3), volunteer(4, status="pending")],
        today=TODAY,
        now=NOW,
    )
    assert waves == [Wave(at=NOW, volunteer_ids=[3])]


def test_nobody_fits() -> None:
    assert plan_waves(need=need(), candidates=[volunteer(1, status="pending")], today=TODAY, now=NOW) == []
    assert plan_waves(need=need(), candidates=[], today=TODAY, now=NOW) == []


def test_wave_size_and_wait_are_configurable() -> None:
    candidates = [volunteer(person_id) for person_id in range(1, 10)]
    waves = plan_waves(
        need=need(support_volunteer_id=9),
        candidates=candidates,
        today=TODAY,
        now=NOW,
        support_wait=timedelta(hours=1),
        wave_size=3,
    )
    assert waves == [Wave(at=NOW, volunteer_ids=[9]), Wave(at=NOW + timedelta(hours=1), volunteer_ids=[1, 2, 3])]
    with pytest.raises(ValueError):
        plan_waves(need=need(), candidates=candidates, today=TODAY, now=NOW, wave_size=0)


def test_a_soon_start_shortens_the_support_wait_to_half_the_time_left() -> None:
    candidates = [volunteer(1), volunteer(2)]
    request = need(support_volunteer_id=2)
    waves = plan_waves(need=request, candidates=candidates, today=TODAY, now=NOW, starts_at=NOW + timedelta(hours=3))
    assert waves[1].at == NOW + timedelta(hours=1, minutes=30)
    far = plan_waves(need=request, candidates=candidates, today=TODAY, now=NOW, starts_at=NOW + timedelta(days=2))
    assert far[1].at == NOW + timedelta(hours=4)
    late = plan_waves(need=request, candidates=candidates, today=TODAY, now=NOW, starts_at=NOW - timedelta(hours=1))
    assert late[1].at == NOW


def test_later_waves_skip_those_already_offered() -> None:
    candidates = [volunteer(person_id) for person_id in range(1, 8)]
    request = need(support_volunteer_id=1)
    waves = plan_waves(
        need=request, candidates=candidates, today=TODAY, now=NOW, wave_size=3, already_offered=[1, 2, 3, 4]
    )
    # The support volunteer was asked already: no waiting for them again.
    assert waves == [Wave(at=NOW, volunteer_ids=[5, 6, 7])]


def test_waves_are_in_utc() -> None:
    local_now = NOW.astimezone(AMS)
    waves = plan_waves(
        need=need(support_volunteer_id=1), candidates=[volunteer(1), volunteer(2)], today=TODAY, now=local_now
    )
    assert all(wave.at.tzinfo is UTC for wave in waves)
    assert waves[0].at == NOW


def test_naive_moments_are_refused() -> None:
    with pytest.raises(ValueError):
        plan_waves(need=need(), candidates=[], today=TODAY, now=datetime(2026, 5, 12, 8))
    with pytest.raises(ValueError):
        plan_waves(need=need(), candidates=[], today=TODAY, now=NOW, starts_at=datetime(2026, 5, 12, 20))


def test_the_first_wave() -> None:
    candidates = [volunteer(1), volunteer(2)]
    waves = plan_waves(need=need(support_volunteer_id=2), candidates=candidates, today=TODAY, now=NOW)
    assert waves[0] == Wave(at=NOW, volunteer_ids=[2])
    assert plan_waves(need=need(), candidates=candidates, today=TODAY, now=NOW)[0] == Wave(at=NOW, volunteer_ids=[1, 2])


def test_a_family_that_volunteers_is_not_its_own_support() -> None:
    candidates = [volunteer(1), volunteer(2)]
    waves = plan_waves(need=need(family_id=1), candidates=candidates, today=TODAY, now=NOW)
    assert waves == [Wave(at=NOW, volunteer_ids=[2])]
