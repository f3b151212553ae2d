"""When volunteers are usually free, as a 21-bit mask: seven weekdays times three dayparts.

Slot ``weekday * 3 + daypart_index`` (weekday 0 = Monday, daypart 0 morning, 1 afternoon, 2 evening) is
bit number ``weekday * 3 + daypart_index`` of the mask. An int is cheap to store in one column and lets the
database test "any overlap" with a single bitwise AND (``availability & :mask != 0``), which works the same
in SQLite and PostgreSQL.

**Daypart boundaries** (local wall clock): morning 03:00-12:00, afternoon 12:00-18:00, evening 18:00 until
03:00 the next day. Ending the evening at 03:00 rather than midnight keeps a babysitting job from 20:00 to
01:00 a *Saturday evening* job instead of also touching Sunday morning, while an early lift at 05:30 is
still a morning. 03:00 also exists exactly once on the nights the clocks change in the Netherlands (they
skip or repeat 02:00-03:00), so no boundary ever falls in a missing or doubled hour.

Pure rules: no clock, no I/O. Datetimes must be aware; slots are worked out in the given local zone.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

DEFAULT_ZONE = "Europe/Amsterdam"


class Daypart(StrEnum):
    MORNING = "morning"
    AFTERNOON = "afternoon"
    EVENING = "evening"


DAYPARTS: tuple[Daypart, ...] = (Daypart.MORNING, Daypart.AFTERNOON, Daypart.EVENING)
DAYS_PER_WEEK = 7
SLOT_COUNT = DAYS_PER_WEEK * len(DAYPARTS)
ALL_SLOTS = (1 << SLOT_COUNT) - 1

# Where each daypart starts on the local wall clock; the evening runs into the next day until MORNING_START.
MORNING_START = time(3, 0)
AFTERNOON_START = time(12, 0)
EVENING_START = time(18, 0)
_STARTS: tuple[time, ...] = (MORNING_START, AFTERNOON_START, EVENING_START)


@dataclass(frozen=True)
class Slot:
    """One weekday-daypart combination, e.g. Saturday evening."""

    weekday: int
    daypart: Daypart

    def __post_init__(self) -> None:
        """Refuse a weekday outside the week and read a stored daypart string as the enum."""
        if not 0 <= self.weekday < DAYS_PER_WEEK:
            raise ValueError(f"weekday must be 0 (Monday) to 6 (Sunday), not {self.weekday}")
        # Accept the plain strings stored in the database ("evening") as well as the enum.
        object.__setattr__(self, "daypart", Daypart(self.daypart))

    @property
    def index(self) -> int:
        """This slot's bit position in a mask."""
        return slot_index(self.weekday, self.daypart)


def daypart_index(daypart: Daypart | str) -> int:
    """The position of a daypart within a day: 0 morning, 1 afternoon, 2 evening."""
    return DAYPARTS.index(Daypart(daypart))


def slot_index(weekday: int, daypart: Daypart | str) -> int:
    """The bit position of a slot: ``weekday * 3 + daypart_index``."""
    if not 0 <= weekday < DAYS_PER_WEEK:
        raise ValueError(f"weekday must be 0 (Monday) to 6 (Sunday), not {weekday}")
    return weekday * len(DAYPARTS) + daypart_index(daypart)


def slot_bit(weekday: int, daypart: Daypart | str) -> int:
    """The mask with only this slot set (``1 << slot_index``), ready to combine with ``|`` and ``&``."""
    return 1 << slot_index(weekday, daypart)


def mask_from_slots(slots: Iterable[Slot | tuple[int, Daypart | str]]) -> int:
    """The mask with these slots set (`Slot`s or (weekday, daypart) pairs); duplicates count once."""
    mask = 0
    for slot in slots:
        weekday, daypart = (slot.weekday, slot.daypart) if isinstance(slot, Slot) else slot
        mask |= slot_bit(weekday, daypart)
    return mask


def _weekdays_mask(weekdays: Iterable[int], dayparts: Iterable[Daypart]) -> int:
    """Every given daypart on every given weekday, as a mask (builds the sign-up groups below)."""
    parts = tuple(dayparts)
    return mask_from_slots((weekday, daypart) for weekday in weekdays for daypart in parts)


_WORKDAYS = range(5)
WEEKDAY_MORNINGS = _weekdays_mask(_WORKDAYS, [Daypart.MORNING])
WEEKDAY_AFTERNOONS = _weekdays_mask(_WORKDAYS, [Daypart.AFTERNOON])
WEEKDAY_EVENINGS = _weekdays_mask(_WORKDAYS, [Daypart.EVENING])
SATURDAY = _weekdays_mask([5], DAYPARTS)
SUNDAY = _weekdays_mask([6], DAYPARTS)
WEEKENDS = SATURDAY | SUNDAY
EVENINGS = _weekdays_mask(range(DAYS_PER_WEEK), [Daypart.EVENING])

# The choices offered at sign-up, keyed like the sign-up buttons; together they cover every slot.
GROUPS: Mapping[str, int] = {
    "wkmorning": WEEKDAY_MORNINGS,
    "wkafternoon": WEEKDAY_AFTERNOONS,
    "wkevening": WEEKDAY_EVENINGS,
    "saturday": SATURDAY,
    "sunday": SUNDAY,
}


def mask_for_groups(groups: Iterable[str]) -> int:
    """The union of named groups; unknown names are ignored because they come from old buttons."""
    mask = 0
    for group in groups:
        mask |= GROUPS.get(group, 0)
    return mask


def fits(volunteer_mask: int, request_mask: int) -> bool:
    """True when the volunteer is usually free in at least one slot the request touches."""
    return volunteer_mask & request_mask != 0


def _utc(value: datetime, name: str) -> datetime:
    """`value` in UTC, refusing a naive datetime (`name` says which argument it was)."""
    # Datetimes sharing a tzinfo compare and subtract by wall clock, an hour off across a DST change; UTC is not.
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be an aware datetime")
    return value.astimezone(UTC)


def _local_instant(day: date, at: time, zone: ZoneInfo) -> datetime:
    """The UTC instant of a local wall-clock time on a local day."""
    return datetime.combine(day, at, tzinfo=zone).astimezone(UTC)


def _daypart_of_wall_time(at: time) -> int:
    """The daypart index of a local wall-clock time; the small hours belong to the evening."""
    if at < MORNING_START or at >= EVENING_START:
        return daypart_index(Daypart.EVENING)
    return daypart_index(Daypart.MORNING) if at < AFTERNOON_START else daypart_index(Daypart.AFTERNOON)


def slot_of(moment: datetime, *, zone: str = DEFAULT_ZONE) -> Slot:
    """The slot an instant falls in locally; the small hours belong to the previous day's evening."""
    local = _utc(moment, "moment").astimezone(ZoneInfo(zone))
    day = local.date()
    if local.time() < MORNING_START:
        day -= timedelta(days=1)
    return Slot(day.weekday(), DAYPARTS[_daypart_of_wall_time(local.time())])


def mask_for_window(
    start: datetime | None,
    end: datetime | None = None,
    zone: str = DEFAULT_ZONE,
    *,
    flexible_week: bool = False,
) -> int:
    """The slots a requested time window touches, in local time.

    The window is ``[start, end)``; a window that ends exactly when a daypart begins does not touch it.
    Without `end` the request is a moment (a lift at 14:00) and touches only the slot it falls in.
    A "flexible this week" request (``flexible_week=True`` or no `start`) touches every slot, so any
    volunteer's availability fits it. A window of a week or more also touches every slot.
    """
    if flexible_week or start is None:
        return ALL_SLOTS
    start = _utc(start, "start")
    if end is not None:
        end = _utc(end, "end")
        if end < start:
            raise ValueError("end must not be before start")
    if end is None or end == start:
        return 1 << slot_of(start, zone=zone).index
    if end - start >= timedelta(days=DAYS_PER_WEEK):
        return ALL_SLOTS
    tz = ZoneInfo(zone)
    # Walk the dayparts from the local day before `start` (its evening may still be running) to the
    # local day of `end`; each daypart is an interval of real time between two local boundaries.
    day = start.astimezone(tz).date() - timedelta(days=1)
    last_day = end.astimezone(tz).date()
    mask = 0
    while day <= last_day:
        boundaries = [_local_instant(day, at, tz) for at in _STARTS]
        boundaries.append(_local_instant(day + timedelta(days=1), MORNING_START, tz))
        for part_index in range(len(DAYPARTS)):
            part_start, part_end = boundaries[part_index], boundaries[part_index + 1]
            if part_start < end and start < part_end:
                mask |= 1 << (day.weekday() * len(DAYPARTS) + part_index)
        day += timedelta(days=1)
    return mask
