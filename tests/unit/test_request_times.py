"""Typed times in the request dialogue: local wall clock to UTC, windows past midnight, nonsense refused."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from conversations.requests import on_day
from domain.times import parse_window

ZONE = "Europe/Amsterdam"
DAY = date(2026, 11, 24)  # winter: UTC+1


def parse_times(text: str, day: date, zone: str) -> tuple[datetime, datetime | None] | None:
    """A typed time or window on a local day, as the request dialogue reads it."""
    window = parse_window(text)
    return on_day(window, day, zone) if window is not None else None


def utc(hour: int, minute: int = 0, day: int = 24) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        ("14:30", utc(13, 30), None),
        ("14", utc(13), None),
        ("9.15", utc(8, 15), None),
        ("19:00-23:00", utc(18), utc(22)),
        ("19 - 23 uur", utc(18), utc(22)),
        ("19:30 tot 22", utc(18, 30), utc(21)),
        ("20-1", utc(19), utc(0, day=25)),
        ("20:00-24:00", utc(19), utc(23)),
    ],
)
def test_typed_times(text: str, start: datetime, end: datetime | None) -> None:
    parsed = parse_times(text, DAY, ZONE)
    assert parsed is not None
    assert parsed[0] == start and parsed[1] == end


@pytest.mark.parametrize("text", ["", "soon", "25:00", "12:60", "14:30-24:30", "1-2-3", "<b>14</b>"])
def test_nonsense_is_refused(text: str) -> None:
    assert parse_times(text, DAY, ZONE) is None


def test_summer_time_is_two_hours_ahead() -> None:
    parsed = parse_times("14:00", date(2026, 7, 1), ZONE)
    assert parsed is not None and parsed[0] == datetime(2026, 7, 1, 12, 0, tzinfo=UTC)
