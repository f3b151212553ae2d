"""Typed times: clock times as written, Dutch spoken times in the daytime, windows past midnight."""

from __future__ import annotations

from datetime import time

import pytest

from domain.times import TypedWindow, parse_window


def parse_time(text: str) -> time | None:
    """One typed time, as the request dialogue reads it: a window without an end."""
    window = parse_window(text)
    return window.start if window is not None and window.end is None else None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("14:30", time(14, 30)),
        ("9.15", time(9, 15)),
        ("14", time(14)),
        ("3", time(3)),  # bare digits: a 24-hour clock, as written
        ("14u", time(14)),
        ("10 uur", time(10)),
        ("tien uur", time(10)),
        ("Tien Uur", time(10)),
        ("3 uur", time(15)),  # "uur" makes it spoken: read in the daytime
        ("twaalf uur", time(12)),
        ("één uur", time(13)),
        ("half drie", time(14, 30)),
        ("half 3", time(14, 30)),
        ("half een", time(12, 30)),
        ("half acht", time(7, 30)),  # the first daytime reading
        ("half twaalf", time(11, 30)),
        ("kwart over vier", time(16, 15)),
        ("kwart voor vijf", time(16, 45)),
        ("kwart voor twaalf", time(11, 45)),
        ("vijf over half drie", time(14, 35)),
        ("tien voor acht", time(7, 50)),
        ("10 over 9", time(9, 10)),
        ("om half drie", time(14, 30)),
        ("half acht 's avonds", time(19, 30)),
        ("half acht ’s avonds", time(19, 30)),
        ("kwart over zeven 's ochtends", time(7, 15)),
        ("twee uur 's middags", time(14)),
        ("twaalf uur 's middags", time(12)),
        ("elf uur 's nachts", time(23)),
        ("twee uur 's nachts", time(2)),
    ],
)
def test_one_time(text: str, expected: time) -> None:
    assert parse_time(text) == expected


@pytest.mark.parametrize(
    "text",
    ["", "soon", "rond theetijd", "25:00", "12:60", "24:00", "half dertien", "half 13", "kwart", "over vier"],
)
def test_not_a_time(text: str) -> None:
    assert parse_time(text) is None


@pytest.mark.parametrize(
    ("text", "window"),
    [
        ("19:00-23:00", TypedWindow(time(19), time(23))),
        ("19 - 23 uur", TypedWindow(time(19), time(23))),
        ("19:30 tot 22", TypedWindow(time(19, 30), time(22))),
        ("van 8 tot 10", TypedWindow(time(8), time(10))),
        ("half drie tot vijf uur", TypedWindow(time(14, 30), time(17))),
        ("acht tot half tien", TypedWindow(time(8), time(9, 30))),
        ("kwart voor vijf - half zeven", TypedWindow(time(16, 45), time(18, 30))),
        ("20-1", TypedWindow(time(20), time(1), next_day=True)),
        ("20:00-24:00", TypedWindow(time(20), time(0), next_day=True)),
        ("22:00-06:00", TypedWindow(time(22), time(6), next_day=True)),
        ("23:00-19:00", TypedWindow(time(23), time(19), next_day=True)),
        ("10 tot 1 uur", TypedWindow(time(10), time(13))),  # a spoken end: the first reading after the start
        ("20 tot 1 uur", TypedWindow(time(20), time(1), next_day=True)),
    ],
)
def test_windows(text: str, window: TypedWindow) -> None:
    assert parse_window(text) == window


def test_an_end_before_the_start_is_the_next_day() -> None:
    night = parse_window("22:00-06:00")
    assert night is not None and night.next_day and night.minutes == 8 * 60
    late = parse_window("23:00-19:00")
    assert late is not None and late.next_day and late.minutes == 20 * 60
    evening = parse_window("19:00-23:00")
    assert evening is not None and not evening.next_day and evening.minutes == 4 * 60
    assert parse_window("14:30") == TypedWindow(time(14, 30)) and TypedWindow(time(14, 30)).minutes is None


@pytest.mark.parametrize("text", ["14:30-24:30", "1-2-3", "<b>14</b>", "14-", "-14", "half drie tot later"])
def test_not_a_window(text: str) -> None:
    assert parse_window(text) is None
