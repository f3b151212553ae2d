"""The concern escalation chain: who hears about a concern, and when it moves on to the next people.

A concern goes to the family's primary coordinator (level 0), then to the duo partner (level 1), then to
all coordinators (level 2). An acknowledgement by anyone stops the chain. An urgent concern (see
`domain.urgent`) goes to all coordinators at once and has no further steps.

**When the next step is due** (`next_escalation_at`, with the default `morning_rule`):

* During office hours the current recipient gets `wait_office` (30 minutes). If that wait ends inside
  office hours, the next step is due then.
* A step that would fall outside office hours is due at the **morning rule**: `morning_rule` (09:00)
  on the next office day. The concern itself reaches the current recipient at once, whatever the hour;
  only the *next* escalation waits. So a concern raised at 23:00 on Friday reaches the primary
  coordinator at 23:00, the partner on Monday at 09:00 (not at 23:30), everyone at 09:30. One raised at
  16:45 on a Tuesday goes to the partner on Wednesday at 09:00, not at 17:15 when the partner has gone
  home. Because 09:00 is half an hour after the office opens, the current recipient still gets the
  first half hour of the day to pick the concern up, exactly as during the day.
* Teams with an evening and weekend rota set `morning_rule=None`: outside office hours the next step is
  then simply due after `wait_outside` (2 hours). With the morning rule on, `wait_outside` is not used.
* Office hours are `office_start` inclusive to `office_end` exclusive, on `office_days` (0 = Monday),
  except `closed_days` (public holidays), all in the policy's local zone, so DST changes do not move them.

What the family is told (`expected_contact_by`) is the moment the first step's wait ends, rounded up to a
quarter of an hour: by then the primary coordinator has seen it, or the partner is being alerted.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

LEVEL_PRIMARY = 0
LEVEL_PARTNER = 1
LEVEL_ALL = 2

# Office days are searched at most this far ahead; a policy closed for longer is a configuration error.
_SEARCH_DAYS = 400
_QUARTER = timedelta(minutes=15)


class Target(StrEnum):
    PRIMARY = "primary"
    PARTNER = "partner"
    ALL = "all"


@dataclass(frozen=True)
class EscalationPolicy:
    office_days: tuple[int, ...] = (0, 1, 2, 3, 4)
    office_start: time = time(8, 30)
    office_end: time = time(17, 0)
    wait_office: timedelta = timedelta(minutes=30)
    wait_outside: timedelta = timedelta(hours=2)
    morning_rule: time | None = time(9, 0)
    zone: str = "Europe/Amsterdam"
    closed_days: frozenset[date] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        """Refuse a policy that cannot work (no office days, empty hours, waits, morning rule, unknown zone)."""
        if not self.office_days or any(not 0 <= day <= 6 for day in self.office_days):
            raise ValueError("office_days must be a non-empty selection of 0 (Monday) to 6 (Sunday)")
        if self.office_start >= self.office_end:
            raise ValueError("office_start must be before office_end")
        if self.wait_office <= timedelta(0) or self.wait_outside <= timedelta(0):
            raise ValueError("waits must be positive")
        if self.morning_rule is not None and not self.office_start <= self.morning_rule < self.office_end:
            # Outside that range "the next office morning" would not be in office hours at all.
            raise ValueError("morning_rule must lie within office hours")
        try:
            ZoneInfo(self.zone)
        except (ZoneInfoNotFoundError, ValueError) as error:
            # Fail at configuration time, not on the first concern.
            raise ValueError(f"unknown time zone {self.zone!r}") from error

    @property
    def tz(self) -> ZoneInfo:
        """The policy's time zone."""
        return ZoneInfo(self.zone)


def _require_aware(value: datetime, name: str) -> None:
    """Refuse a naive datetime (`name` says which argument it was)."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be an aware datetime")


def _local_instant(day: date, at: time, policy: EscalationPolicy) -> datetime:
    """The UTC instant of a wall-clock time on a day in the policy's zone."""
    return datetime.combine(day, at.replace(tzinfo=None, fold=0), tzinfo=policy.tz).astimezone(UTC)


def is_office_day(day: date, policy: EscalationPolicy) -> bool:
    """Whether coordinators work on this local day: an office weekday and not a closed day."""
    return day.weekday() in policy.office_days and day not in policy.closed_days


def is_office_hours(moment: datetime, policy: EscalationPolicy) -> bool:
    """Whether coordinators are at work at `moment` (start inclusive, end exclusive, local time)."""
    _require_aware(moment, "moment")
    local = moment.astimezone(policy.tz)
    return is_office_day(local.date(), policy) and policy.office_start <= local.time() < policy.office_end


def _office_days_from(day: date, policy: EscalationPolicy) -> Iterable[date]:
    """The office days from `day` on, for at most a year (a policy closed longer is an error)."""
    for offset in range(_SEARCH_DAYS):
        candidate = day + timedelta(days=offset)
        if is_office_day(candidate, policy):
            yield candidate
    raise ValueError("the escalation policy has no office day in the coming year")


def next_office_open(now: datetime, policy: EscalationPolicy) -> datetime:
    """The first moment at or after `now` when the office is open: `now` itself during office hours."""
    _require_aware(now, "now")
    if is_office_hours(now, policy):
        return now.astimezone(UTC)
    for day in _office_days_from(now.astimezone(policy.tz).date(), policy):
        opens = _local_instant(day, policy.office_start, policy)
        if opens > now:
            return opens
    raise AssertionError("unreachable")  # pragma: no cover


def _next_morning(moment: datetime, policy: EscalationPolicy, morning: time) -> datetime:
    """The morning rule's time on the first office day at which it is later than `moment`."""
    for day in _office_days_from(moment.astimezone(policy.tz).date(), policy):
        due = _local_instant(day, morning, policy)
        if due > moment:
            return due
    raise AssertionError("unreachable")  # pragma: no cover


def next_escalation_at(
    *,
    level: int,
    now: datetime,
    policy: EscalationPolicy,
    urgent: bool,
    target: Target | str | None = None,
) -> datetime | None:
    """When the chain moves past `level` if nobody has acknowledged by then; None when it ends here.

    `now` is the moment `level` was alerted. The chain ends at level 2, for urgent concerns (everyone
    was alerted at once), and when `target` (the kind `targets_for_level` returned for this level) is
    already "all" because the family has no distinct primary or partner. See the module docstring for
    office hours and the morning rule.
    """
    _require_aware(now, "now")
    if level < 0:
        raise ValueError("level must not be negative")
    if urgent or level >= LEVEL_ALL or target == Target.ALL:
        return None
    # Waits are elapsed time; adding to a local datetime would add wall-clock time across a DST change.
    now = now.astimezone(UTC)
    morning = policy.morning_rule
    in_office = is_office_hours(now, policy)
    if morning is None:
        return now + (policy.wait_office if in_office else policy.wait_outside)
    if in_office:
        due = now + policy.wait_office
        if is_office_hours(due, policy):
            return due
        return _next_morning(due, policy, morning)
    return _next_morning(now, policy, morning)


def expected_contact_by(now: datetime, policy: EscalationPolicy) -> datetime:
    """What a family is told after raising a (non-urgent) concern: "a coordinator sees this by ...".

    The end of the primary coordinator's turn, rounded up to a quarter of an hour in local time so the
    family reads a plain clock time.
    """
    due = next_escalation_at(level=LEVEL_PRIMARY, now=now, policy=policy, urgent=False)
    if due is None:  # pragma: no cover - level 0 of a non-urgent concern always has a next step
        raise AssertionError("level 0 always has a next step")
    local = due.astimezone(policy.tz)
    into_quarter = timedelta(minutes=local.minute % 15, seconds=local.second, microseconds=local.microsecond)
    if into_quarter:
        due += _QUARTER - into_quarter
    return due


def _unique(ids: Iterable[int | None]) -> list[int]:
    """The ids in order, without None and without repeats."""
    seen: list[int] = []
    for user_id in ids:
        if user_id is not None and user_id not in seen:
            seen.append(user_id)
    return seen


def targets_for_level(
    *,
    level: int,
    primary_id: int | None,
    partner_id: int | None,
    all_ids: Iterable[int | None],
    urgent: bool,
) -> tuple[str, list[int]]:
    """Who hears about a concern at `level`: ("primary" | "partner" | "all", ids in alerting order).

    Missing or repeated people are skipped so every step reaches someone new: without a primary the chain
    starts at the partner; without a distinct partner the step after the primary is everyone. "All" lists
    the primary and partner first, then the other coordinators, without duplicates. An urgent concern goes
    to all at once. An empty "all" list means nobody is configured; the caller must fall back to admins.
    """
    if level < 0:
        raise ValueError("level must not be negative")
    everyone = _unique([primary_id, partner_id, *all_ids])
    if urgent:
        return Target.ALL, everyone
    steps: list[tuple[str, list[int]]] = []
    if primary_id is not None:
        steps.append((Target.PRIMARY, [primary_id]))
    if partner_id is not None and partner_id != primary_id:
        steps.append((Target.PARTNER, [partner_id]))
    steps.append((Target.ALL, everyone))
    return steps[min(level, len(steps) - 1)]


def close_needs_note(*, urgent: bool, note: str | None) -> bool:
    """True when this close must wait for a note: an urgent concern (a danger sign) is never closed without
    a short note of what was done, so the duo partner and a later reader know; other concerns may be."""
    return urgent and not (note or "").strip()


def first_reachable_step(
    *,
    level: int,
    primary_id: int | None,
    partner_id: int | None,
    all_ids: Iterable[int | None],
    urgent: bool,
    unreachable: Iterable[int] = (),
) -> tuple[int, str, list[int]]:
    """The first step at or after `level` that reaches someone: (level, target, reachable ids).

    A recipient who cannot receive messages (blocked the bot, deleted their account) is skipped, and a
    step left with nobody moves the chain on at once instead of waiting out its turn: a blocked primary
    means the duo partner hears of the concern now, not after the office wait (or on Monday morning).
    When even "all" has nobody left the ids are empty: the concern waits for the first coordinator who
    can receive it (the caller falls back to admins and keeps the concern visibly waiting).
    """
    skip = set(unreachable)
    everyone = list(all_ids)
    while True:
        target, ids = targets_for_level(
            level=level, primary_id=primary_id, partner_id=partner_id, all_ids=everyone, urgent=urgent
        )
        reachable = [person_id for person_id in ids if person_id not in skip]
        if reachable or target == Target.ALL:
            return level, target, reachable
        level += 1
