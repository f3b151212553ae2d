"""Times a family types: clock times, Dutch spoken times and windows such as "19:00-23:00" or "22:00-06:00".

**Clock times** are read as written, on a 24-hour clock: ``14:30``, ``9.15``, ``14``; an end may be ``24:00``.

**Spoken times** (Dutch, the hours one to twelve in words or digits): ``tien uur``, ``10 uur``,
``half drie`` (2:30), ``kwart over vier`` (4:15), ``kwart voor vijf`` (4:45), ``vijf over half drie``
(2:35), ``tien voor acht`` (7:50), optionally after ``om`` and before ``uur``. A spoken time says nothing
about morning or evening, so a start is read in the daytime, the first reading from 07:00 to 19:59 (help
is asked for the day: ``half drie`` is 14:30, ``half acht`` is 07:30); ``'s ochtends``, ``'s middags``,
``'s avonds`` or ``'s nachts`` after it decides instead (``half acht 's avonds`` is 19:30). A spoken end
is the first reading after the start (``acht tot half tien`` is 08:00-09:30, ``20 tot 1 uur`` ends at
01:00).

**Windows.** An end that is not after its start is read as the next day (``22:00-06:00`` is a night,
8 hours); `TypedWindow.next_day` says so, so the dialogue can explain an end read that way when the
window becomes too long (``23:00-19:00`` is 20 hours, not the evening).

Pure: no clock, no zone; the dialogue puts the wall-clock times on a day in the family's zone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import time

DAY_READING_FROM = 7 * 60  # 07:00, in minutes after midnight
DAY_READING_UNTIL = 20 * 60  # up to 19:59
_HALF_DAY = 12 * 60
_DAY = 24 * 60

NUMBERS = {
    "een": 1,
    "één": 1,
    "eén": 1,
    "twee": 2,
    "drie": 3,
    "vier": 4,
    "vijf": 5,
    "zes": 6,
    "zeven": 7,
    "acht": 8,
    "negen": 9,
    "tien": 10,
    "elf": 11,
    "twaalf": 12,
}
_NUMBER = r"(\d{1,2}|" + "|".join(sorted(NUMBERS, key=len, reverse=True)) + r")"
_CLOCK = re.compile(r"^(\d{1,2})(?:[:.](\d{2}))?\s*(?:u|uur)?$")
_SPOKEN = re.compile(
    rf"^(?:(?:(kwart|{_NUMBER})\s+(over|voor)\s+)?(half)\s+|(kwart|{_NUMBER})\s+(over|voor)\s+)?{_NUMBER}(?:\s+uur)?$"
)
_PART_OF_DAY = re.compile(r"\s*['’`]?s\s*(ochtends|morgens|middags|avonds|nachts)$")
_SEPARATOR = re.compile(r"\s*(?:-|–|—|\btot\b|\bto\b|\buntil\b)\s*")
_LEAD = re.compile(r"^(?:om|van|from|at|vanaf)\s+")


@dataclass(frozen=True)
class _Reading:
    """A typed time: exact minutes after midnight, or a spoken time as minutes on a 12-hour dial."""

    minutes: int
    spoken: bool
    part_of_day: str | None = None

    def readings(self) -> list[int]:
        """The minutes after midnight this can mean: one exact time, or both halves of the day for a spoken one."""
        if not self.spoken:
            return [self.minutes]
        if self.part_of_day is None:
            return [self.minutes, self.minutes + _HALF_DAY]
        return [self._with_part_of_day()]

    def _with_part_of_day(self) -> int:
        """A spoken time with its part of the day ("'s avonds") as minutes after midnight."""
        dial, twelve = self.minutes, self.minutes < 60  # the dial's first hour is twelve o'clock
        if self.part_of_day == "middags":
            return dial + _HALF_DAY  # twaalf uur 's middags is 12:00
        if self.part_of_day == "avonds":
            return dial if twelve else dial + _HALF_DAY
        if self.part_of_day == "nachts":
            return dial + _HALF_DAY if dial >= 9 * 60 else dial  # elf uur 's nachts is 23:00, twee uur 02:00
        return dial  # 's ochtends, 's morgens

    def as_start(self) -> int:
        """The reading of a start time: the daytime one when there is one, else the first."""
        options = self.readings()
        daytime = [value for value in options if DAY_READING_FROM <= value < DAY_READING_UNTIL]
        return (daytime or options)[0]

    def as_end_after(self, start: int) -> int:
        """The reading that comes first after `start` (minutes may reach 24:00 and beyond for the next day)."""
        return min(options for options in (_after(value, start) for value in self.readings()))


def _after(value: int, start: int) -> int:
    """`value` moved on by whole days until it comes after `start` (minutes after midnight)."""
    while value <= start:
        value += _DAY
    return value


def _number(word: str) -> int | None:
    """An hour word or number from 1 to 12 ("drie", "3"), or None."""
    value = int(word) if word.isdigit() else NUMBERS.get(word)
    return value if value is not None and 1 <= value <= 12 else None


def _spoken(text: str) -> _Reading | None:
    """A Dutch spoken time ("half drie", "kwart voor vijf 's middags") on the 12-hour dial, or None."""
    part = _PART_OF_DAY.search(text)
    part_of_day = part.group(1) if part else None
    if part:
        text = text[: part.start()].strip()
    found = _SPOKEN.match(text)
    if found is None:
        return None
    half_amount, half_direction, half, amount, direction, hour_word = (
        found.group(1),
        found.group(3),
        found.group(4),
        found.group(5),
        found.group(7),
        found.group(8),
    )
    hour = _number(hour_word)
    if hour is None:
        return None
    dial = (hour % 12) * 60
    if half:
        dial -= 30
        if half_amount:
            shift = 15 if half_amount == "kwart" else _number(half_amount)
            if shift is None or shift >= 30:
                return None
            dial += shift if half_direction == "over" else -shift
    elif amount:
        shift = 15 if amount == "kwart" else _number(amount)
        if shift is None:
            return None
        dial += shift if direction == "over" else -shift
    return _Reading(dial % _HALF_DAY, spoken=True, part_of_day=part_of_day)


def _reading(text: str, *, end: bool) -> _Reading | None:
    """One typed time: a clock time ("14:30", "10 uur") or a spoken one; an end may be 24:00."""
    text = " ".join(text.split())
    found = _CLOCK.match(text)
    if found is not None:
        hour, minute = int(found.group(1)), int(found.group(2) or 0)
        said_hour = text.endswith("uur") or text.endswith("u")
        if said_hour and found.group(2) is None and 1 <= hour <= 12:
            return _Reading((hour % 12) * 60, spoken=True)  # "10 uur", "3 uur": spoken, read in the daytime
        if minute > 59 or hour > 24 or (hour == 24 and (minute or not end)):
            return None
        return _Reading(hour * 60 + minute, spoken=False)
    return _spoken(text)


@dataclass(frozen=True)
class TypedWindow:
    """Wall-clock times as typed; `next_day` when the end falls on the day after the start."""

    start: time
    end: time | None = None
    next_day: bool = False

    @property
    def minutes(self) -> int | None:
        """The length in minutes, or None without an end."""
        if self.end is None:
            return None
        length = (self.end.hour * 60 + self.end.minute) - (self.start.hour * 60 + self.start.minute)
        return length + _DAY if self.next_day else length


def parse_window(text: str) -> TypedWindow | None:
    """A time ("14:30", "half drie") or a window ("19:00-23:00", "22:00-06:00", "half acht tot tien uur").

    An end that is not after the start is read as the next day. None for anything else.
    """
    cleaned = _LEAD.sub("", " ".join(text.strip().lower().split()))
    if not cleaned or "<" in cleaned:
        return None
    parts = _SEPARATOR.split(cleaned)
    if len(parts) > 2 or not all(parts):
        return None
    first = _reading(parts[0], end=False)
    if first is None:
        return None
    start = first.as_start()
    if len(parts) == 1:
        return TypedWindow(start=time(start // 60, start % 60))
    second = _reading(parts[1], end=True)
    if second is None:
        return None
    end = second.as_end_after(start)
    end_of_day = end % _DAY
    return TypedWindow(
        start=time(start // 60, start % 60),
        end=time(end_of_day // 60, end_of_day % 60),
        next_day=end >= _DAY,
    )
