"""Insight rules: periods, the Monday digest moment across DST, worse answers, suppression, medians."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from domain import insight as rules

AMS = ZoneInfo("Europe/Amsterdam")
TODAY = date(2026, 11, 25)  # a Wednesday


def local(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=AMS)


def test_presets_are_whole_local_weeks_and_quarters() -> None:
    assert rules.this_week(TODAY) == rules.Period(date(2026, 11, 23), date(2026, 11, 29), rules.PeriodKind.WEEK)
    four = rules.last_weeks(TODAY)
    assert (four.start, four.end, four.days) == (date(2026, 11, 2), date(2026, 11, 29), 28)
    assert four.weeks() == [date(2026, 11, 2), date(2026, 11, 9), date(2026, 11, 16), date(2026, 11, 23)]
    quarter = rules.this_quarter(TODAY)
    assert (quarter.start, quarter.end) == (date(2026, 10, 1), date(2026, 12, 31))
    assert rules.this_quarter(date(2027, 2, 28)).end == date(2027, 3, 31)


def test_period_bounds_are_local_midnights_in_utc() -> None:
    start, end = rules.Period(date(2027, 3, 22), date(2027, 3, 28)).bounds()
    assert start == datetime(2027, 3, 21, 23, 0, tzinfo=UTC)  # winter time
    assert end == datetime(2027, 3, 28, 22, 0, tzinfo=UTC)  # summer time from the 28th


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("week", (date(2026, 11, 23), date(2026, 11, 29))),
        ("4w", (date(2026, 11, 2), date(2026, 11, 29))),
        ("quarter", (date(2026, 10, 1), date(2026, 12, 31))),
        ("1-9-2026 30-11-2026", (date(2026, 9, 1), date(2026, 11, 30))),
        ("2026-09-01..2026-11-30", (date(2026, 9, 1), date(2026, 11, 30))),
        ("30.11.2026 tot 1.9.2026", (date(2026, 9, 1), date(2026, 11, 30))),
        ("20260901-20261130", (date(2026, 9, 1), date(2026, 11, 30))),
    ],
)
def test_parse_period(text: str, expected: tuple[date, date]) -> None:
    period = rules.parse_period(text, TODAY)
    assert period is not None and (period.start, period.end) == expected


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("kwartaal", rules.PeriodKind.QUARTER),
        ("Dit  kwartaal", rules.PeriodKind.QUARTER),
        ("deze week", rules.PeriodKind.WEEK),
        ("4 weken", rules.PeriodKind.FOUR_WEEKS),
        ("This quarter", rules.PeriodKind.QUARTER),
        ("الربع", rules.PeriodKind.QUARTER),
        ("هذا الأسبوع", rules.PeriodKind.WEEK),
        ("Çeyrek", rules.PeriodKind.QUARTER),
        ("bu hafta", rules.PeriodKind.WEEK),
        ("Kwartał", rules.PeriodKind.QUARTER),
        ("4 tygodnie", rules.PeriodKind.FOUR_WEEKS),
        ("квартал", rules.PeriodKind.QUARTER),
        ("Цей тиждень", rules.PeriodKind.WEEK),
    ],
)
def test_parse_period_reads_the_period_words_of_every_shipped_language(text: str, kind: rules.PeriodKind) -> None:
    period = rules.parse_period(text, TODAY)
    assert period == rules.preset(kind, TODAY)


def test_every_shipped_language_has_a_word_for_every_period() -> None:
    # One word per language and kind is checked by hand above; here: no kind lacks words, none is shared.
    words = [word for kind in rules.PERIOD_WORDS.values() for word in kind]
    assert len(words) == len(set(words))
    assert set(rules.PERIOD_WORDS) == {rules.PeriodKind.WEEK, rules.PeriodKind.FOUR_WEEKS, rules.PeriodKind.QUARTER}


def test_two_dates_may_be_joined_with_a_word_in_several_languages() -> None:
    for between in ("tot", "to", "do", "до", "إلى"):
        period = rules.parse_period(f"1-9-2026 {between} 30-11-2026", TODAY)
        assert period is not None and (period.start, period.end) == (date(2026, 9, 1), date(2026, 11, 30)), between


@pytest.mark.parametrize("text", ["", "yesterday", "31-02-2026 1-3-2026", "1-1-2025 1-1-2027", "1-9-2026"])
def test_parse_period_refuses_what_it_cannot_read(text: str) -> None:
    assert rules.parse_period(text, TODAY) is None


def test_the_digest_is_monday_at_eight_local_every_week_across_dst() -> None:
    first = rules.next_digest_at(local(date(2027, 3, 17), 12))
    assert first == local(date(2027, 3, 22), 8) and first.astimezone(UTC).hour == 7  # CET
    second = rules.next_digest_at(first)
    assert second == local(date(2027, 3, 29), 8) and second.astimezone(UTC).hour == 6  # CEST
    assert second - first == timedelta(days=7) - timedelta(hours=1)
    autumn = rules.next_digest_at(local(date(2027, 10, 30), 12))
    assert autumn == local(date(2027, 11, 1), 8) and autumn.astimezone(UTC).hour == 7
    # Just before and just after the moment itself.
    monday = local(date(2026, 11, 30), 8)
    assert rules.next_digest_at(monday - timedelta(seconds=1)) == monday
    assert rules.next_digest_at(monday) == monday + timedelta(days=7)
    assert rules.next_digest_at(monday, at=time(9, 30)) == local(date(2026, 11, 30), 9, 30)
    assert [rules.week_key(moment) for moment in (first, second)] == ["2027-W12", "2027-W13"]


def test_worse_answers() -> None:
    since = datetime(2026, 11, 23, tzinfo=UTC)
    recent = datetime(2026, 11, 24, tzinfo=UTC)
    assert rules.is_worsening(["good", "good", "so_so"], latest_at=recent, since=since)
    assert rules.is_worsening(["so_so", "not_good"], latest_at=recent, since=since)
    assert rules.is_worsening(["good", "so_so", "so_so", "talk"], latest_at=recent, since=since)
    assert not rules.is_worsening(["so_so", "so_so"], latest_at=recent, since=since)  # the same, not worse
    assert not rules.is_worsening(["not_good", "good"], latest_at=recent, since=since)  # better
    assert not rules.is_worsening(["not_good"], latest_at=recent, since=since)  # nothing to compare with
    assert not rules.is_worsening(["good", "not_good"], latest_at=since - timedelta(days=1), since=since)  # old news
    # Only the three answers before the latest count: a bad spell long ago does not hide a new dip.
    assert rules.is_worsening(["not_good", "not_good", "good", "good", "good", "so_so"], latest_at=recent, since=since)


def test_small_counts_are_suppressed() -> None:
    assert [rules.shown(count) for count in (0, 1, 4, 5, 12)] == ["0", "<5", "<5", "5", "12"]
    assert rules.shown(2, threshold=3) == "<3" and rules.shown(3, threshold=3) == "3"
    # One hidden cell could be worked out from the total, so the next smallest goes too.
    assert rules.shown_breakdown({"a": 3, "b": 6, "c": 20}) == {"a": "<5", "b": "<5", "c": "20"}
    assert rules.shown_breakdown({"a": 3, "b": 2, "c": 20}) == {"a": "<5", "b": "<5", "c": "20"}
    assert rules.shown_breakdown({"a": 0, "b": 6}) == {"a": "0", "b": "6"}
    assert rules.shown_share(8, 10) == "80%"
    assert rules.shown_share(3, 10) is None and rules.shown_share(4, 4) is None
    assert rules.shown_share(0, 10) == "0%"


def test_medians() -> None:
    assert rules.median([]) is None
    assert rules.median([3, 1, 2]) == 2.0
    assert rules.median_duration([timedelta(hours=1), timedelta(hours=4)]) == timedelta(hours=2, minutes=30)


def test_figures_and_their_published_form() -> None:
    period = rules.Period(date(2026, 11, 23), date(2026, 11, 29))
    sent = datetime(2026, 11, 24, 8, 30, tzinfo=UTC)
    checkins = [rules.CheckinFact(family_id=index, sent_at=sent, answer="good", missed=False) for index in range(6)]
    checkins.append(rules.CheckinFact(family_id=9, sent_at=sent, answer=None, missed=True))
    checkins.append(rules.CheckinFact(family_id=9, sent_at=sent - timedelta(days=7), answer="good", missed=False))
    figures = rules.compute_figures(period=period, checkins=checkins, requests=[], concerns=[])
    assert (figures.checkins_sent, figures.checkins_answered, figures.families_active) == (7, 6, 7)
    assert figures.answers == {"good": 6, "so_so": 0, "not_good": 0, "talk": 0, "none": 1}
    answers, asked, _accepted = rules.published_series(figures)
    assert answers["good"] == [6.0] and math.isnan(answers["none"][0]) and asked == [0.0]
    exact, _asked, _accepted = rules.exact_series(figures)
    assert exact["none"] == [1.0]
    table = {row.metric: row.value for row in rules.anonymous_table(figures) if not row.category}
    assert table["checkins_sent"] == "7" and table["requests"] == "0" and table["median_minutes_to_accept"] == ""
