"""Help requests (hulpvragen): kinds, the status life cycle, valid time windows, expiry, reminders.

**Life cycle.** A request is ``open`` until a volunteer accepts it. An accepted request can go back to
``open`` when the volunteer cancels, so the family's question is not lost; it ends as ``done`` or
``not_happened`` (reported after the date) or ``cancelled`` (by the family or a coordinator, before or after
acceptance). Only an ``open`` request ``expire``s: an accepted one whose time has passed is waiting for its
outcome, and that outcome is what tells coordinators whether help helps. Closed statuses are final; a
family that still needs help asks again, which keeps the history honest.

**Windows.** A request is either dated (``starts_at``, optionally ``ends_at``) or "flexible this week"
(no times). A dated request may start at most 8 weeks ahead and last at most 12 hours: longer or later
plans are a conversation with the coordinator, not a task for a neighbour.

Pure rules: no clock, no I/O. Datetimes are aware and returned in UTC; calendar reasoning (the day before,
the end of the week) happens in the local zone, default Europe/Amsterdam.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

DEFAULT_ZONE = "Europe/Amsterdam"
MAX_AHEAD = timedelta(weeks=8)
MAX_LENGTH = timedelta(hours=12)
DEFAULT_UNMATCHED_WAIT = timedelta(hours=24)
DEFAULT_UNMATCHED_LEAD = timedelta(hours=12)
DEFAULT_REMINDER_AT = time(18, 0)
DEFAULT_SHORT_NOTICE = timedelta(hours=2)
# "The end of the week" as a family reads it on a screen.
FLEXIBLE_WEEK_ENDS_AT = time(23, 59)


class RequestKind(StrEnum):
    BABYSITTING = "babysitting"
    LIFT = "lift"
    GROCERIES = "groceries"
    MEAL = "meal"
    COMPANY = "company"  # company or a walk
    HOMEWORK = "homework"
    CHORES = "chores"  # a small chore
    OTHER = "other"


# Kinds that always involve children; any other request can be flagged `involves_children` by the family.
CHILD_KINDS: frozenset[RequestKind] = frozenset({RequestKind.BABYSITTING, RequestKind.HOMEWORK})


def is_child_related(*, kind: RequestKind | str, involves_children: bool) -> bool:
    """Whether a request involves children: by its kind (babysitting, homework) or as the family said."""
    return involves_children or RequestKind(kind) in CHILD_KINDS


def required_skill(kind: RequestKind | str) -> str | None:
    """The volunteer skill a kind needs (skills are named like the kinds); "other" needs none.

    "Other" is whatever the family asks in its own words; the volunteer reads it and decides, so
    restricting it to a skill would only hide it from people who could help.
    """
    request_kind = RequestKind(kind)
    return None if request_kind is RequestKind.OTHER else request_kind.value


class RequestStatus(StrEnum):
    OPEN = "open"
    ACCEPTED = "accepted"
    DONE = "done"
    NOT_HAPPENED = "not_happened"
    CANCELLED = "cancelled"
    EXPIRED = "expired"


class RequestEvent(StrEnum):
    ACCEPT = "accept"
    VOLUNTEER_CANCEL = "volunteer_cancel"
    FAMILY_CANCEL = "family_cancel"
    COORDINATOR_CANCEL = "coordinator_cancel"
    COMPLETE = "complete"
    NOT_HAPPENED = "not_happened"
    EXPIRE = "expire"


_S = RequestStatus
_E = RequestEvent
TRANSITIONS: Mapping[tuple[RequestStatus, RequestEvent], RequestStatus] = {
    (_S.OPEN, _E.ACCEPT): _S.ACCEPTED,
    (_S.OPEN, _E.FAMILY_CANCEL): _S.CANCELLED,
    (_S.OPEN, _E.COORDINATOR_CANCEL): _S.CANCELLED,
    (_S.OPEN, _E.EXPIRE): _S.EXPIRED,
    (_S.ACCEPTED, _E.VOLUNTEER_CANCEL): _S.OPEN,
    (_S.ACCEPTED, _E.FAMILY_CANCEL): _S.CANCELLED,
    (_S.ACCEPTED, _E.COORDINATOR_CANCEL): _S.CANCELLED,
    (_S.ACCEPTED, _E.COMPLETE): _S.DONE,
    (_S.ACCEPTED, _E.NOT_HAPPENED): _S.NOT_HAPPENED,
}

ACTIVE_STATUSES: frozenset[RequestStatus] = frozenset({_S.OPEN, _S.ACCEPTED})
CLOSED_STATUSES: frozenset[RequestStatus] = frozenset(RequestStatus) - ACTIVE_STATUSES


class TransitionError(ValueError):
    """An event that does not apply to the request's current status (e.g. accepting a cancelled request)."""

    def __init__(self, current: RequestStatus, event: RequestEvent) -> None:
        """Name the status and the event that does not apply to it."""
        super().__init__(f"cannot {event.value} a request that is {current.value}")
        self.current = current
        self.event = event


def transition(current: RequestStatus | str, event: RequestEvent | str) -> RequestStatus:
    """The status after `event`; raises `TransitionError` when the event does not apply."""
    status, request_event = RequestStatus(current), RequestEvent(event)
    try:
        return TRANSITIONS[(status, request_event)]
    except KeyError:
        raise TransitionError(status, request_event) from None


def is_closed(status: RequestStatus | str) -> bool:
    """Whether a status is final (done, not happened, cancelled, expired)."""
    return RequestStatus(status) in CLOSED_STATUSES


class WindowError(StrEnum):
    MISSING_START = "missing_start"
    FLEXIBLE_WITH_TIMES = "flexible_with_times"
    IN_PAST = "in_past"
    END_BEFORE_START = "end_before_start"
    TOO_FAR = "too_far"
    TOO_LONG = "too_long"


def _utc(value: datetime, name: str) -> datetime:
    """`value` in UTC, refusing a naive datetime (`name` says which argument it was)."""
    # Python compares and subtracts datetimes that share a tzinfo by their wall clocks, which is an hour off
    # across a daylight-saving change; in UTC every comparison and difference is real elapsed time.
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be an aware datetime")
    return value.astimezone(UTC)


def validate_window(
    *,
    starts_at: datetime | None,
    ends_at: datetime | None,
    flexible_week: bool,
    now: datetime,
    max_ahead: timedelta = MAX_AHEAD,
    max_length: timedelta = MAX_LENGTH,
) -> list[str]:
    """Everything wrong with a requested time window, as `WindowError` codes; empty when it is fine.

    All problems are reported at once so the dialogue can explain them together. A flexible-week request
    carries no times (``flexible_with_times`` otherwise), so a half-edited request cannot be both. An end
    equal to the start counts as ``end_before_start``: leave the end out for a moment such as a lift.
    A start in the past is refused even by a minute: the family picks the time from buttons that only
    offer future times, so a past start means the choice went stale while they were typing.
    """
    now = _utc(now, "now")
    if flexible_week:
        return [WindowError.FLEXIBLE_WITH_TIMES] if starts_at is not None or ends_at is not None else []
    if starts_at is None:
        return [WindowError.MISSING_START]
    start = _utc(starts_at, "starts_at")
    errors: list[str] = []
    if start < now:
        errors.append(WindowError.IN_PAST)
    if start - now > max_ahead:
        errors.append(WindowError.TOO_FAR)
    if ends_at is not None:
        end = _utc(ends_at, "ends_at")
        if end <= start:
            errors.append(WindowError.END_BEFORE_START)
        elif end - start > max_length:
            errors.append(WindowError.TOO_LONG)
    return errors


def end_of_local_week(moment: datetime, *, zone: str = DEFAULT_ZONE) -> datetime:
    """Sunday 23:59 local of the week `moment` falls in, as UTC."""
    tz = ZoneInfo(zone)
    local_day = _utc(moment, "moment").astimezone(tz).date()
    sunday = local_day + timedelta(days=6 - local_day.weekday())
    return datetime.combine(sunday, FLEXIBLE_WEEK_ENDS_AT, tzinfo=tz).astimezone(UTC)


def expires_at(
    *,
    starts_at: datetime | None,
    ends_at: datetime | None,
    flexible_week: bool,
    created_at: datetime,
    zone: str = DEFAULT_ZONE,
) -> datetime:
    """When an open request stops being offered, in UTC.

    A dated request expires at its end (a babysitting evening can still be taken while it runs), or at its
    start when it has no end (a lift at 14:00 is of no use at 14:05). A flexible-week request expires at
    Sunday 23:59 local of the week it was created in.
    """
    if flexible_week:
        return end_of_local_week(created_at, zone=zone)
    if starts_at is None:
        raise ValueError("a dated request needs starts_at")
    if ends_at is not None:
        return _utc(ends_at, "ends_at")
    return _utc(starts_at, "starts_at")


def is_past(
    *,
    starts_at: datetime | None,
    ends_at: datetime | None,
    flexible_week: bool,
    created_at: datetime,
    now: datetime,
    zone: str = DEFAULT_ZONE,
) -> bool:
    """True when a request's time is over (its end, its start without an end, or its flexible week).

    A past request can no longer be withdrawn by the family: it waits for its outcome, or expires.
    """
    moment = expires_at(
        starts_at=starts_at, ends_at=ends_at, flexible_week=flexible_week, created_at=created_at, zone=zone
    )
    return _utc(now, "now") >= moment


def expiry_due(*, status: RequestStatus | str, expires_at: datetime, now: datetime) -> bool:
    """True when the `expire` event should be applied now: still open and past its expiry."""
    return RequestStatus(status) is RequestStatus.OPEN and _utc(now, "now") >= _utc(expires_at, "expires_at")


def unmatched_escalation_due(
    *,
    created_at: datetime,
    starts_at: datetime | None,
    now: datetime,
    wait: timedelta = DEFAULT_UNMATCHED_WAIT,
    lead: timedelta = DEFAULT_UNMATCHED_LEAD,
) -> bool:
    """True when coordinators should hear that nobody took an open request.

    Either nobody accepted within `wait` of its creation, or its start is within `lead` (also when the start
    has already passed), whichever comes first: a request for tonight cannot wait a day. The caller asks
    only for open requests that were not escalated yet. A flexible-week request has no start; pass its
    `expires_at` as `starts_at` so it is raised before the week runs out, or None for the wait alone.
    """
    now = _utc(now, "now")
    if now - _utc(created_at, "created_at") >= wait:
        return True
    return starts_at is not None and _utc(starts_at, "starts_at") - now <= lead


def reminder_times(
    *,
    starts_at: datetime,
    now: datetime,
    zone: str = DEFAULT_ZONE,
    day_before_at: time = DEFAULT_REMINDER_AT,
    short_notice: timedelta = DEFAULT_SHORT_NOTICE,
) -> list[datetime]:
    """When to remind the volunteer (and family) of an accepted task, in UTC; planned at `now`.

    Normally one reminder at `day_before_at` (18:00) local on the day before the start, in that day's own
    UTC offset, so it stays 18:00 on the wall across a daylight-saving change. When that moment has already
    passed at planning time, `short_notice` (2 hours) before the start instead; when that has passed too but
    the task has not begun, at once (`now`): the confirmation promises a reminder, and a task ten minutes
    away still needs one. A task that has begun gets none. Always at most one moment, so never two reminders.
    """
    start, now = _utc(starts_at, "starts_at"), _utc(now, "now")
    tz = ZoneInfo(zone)
    day_before: date = start.astimezone(tz).date() - timedelta(days=1)
    evening_before = datetime.combine(day_before, day_before_at.replace(tzinfo=None, fold=0), tzinfo=tz)
    evening_before_utc = evening_before.astimezone(UTC)
    if evening_before_utc > now:
        return [evening_before_utc]
    shortly_before = start - short_notice
    if shortly_before > now:
        return [shortly_before]
    if start > now:
        return [now]
    return []
