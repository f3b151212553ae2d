"""Volunteer rules: approval after intake, the VOG certificate, pauses and the week a weekly cap counts in.

**VOG** (Verklaring Omtrent het Gedrag, the Dutch certificate of conduct) has no legal expiry; the
programme accepts one that is younger than ``vog_valid_years`` (default 3). It is required for anything
involving children, not for a lift or groceries: a coordinator may approve a volunteer without a (recent)
VOG, but then only for tasks without children. A VOG dated in the future is a typing error and blocks the
approval, so a wrong date can never make a certificate look valid for years longer than it is.

Pure rules: no clock, no I/O. `today` is the coordinator's local date; `now` is an aware datetime.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

DEFAULT_ZONE = "Europe/Amsterdam"
DEFAULT_VOG_VALID_YEARS = 3
DEFAULT_VOG_WARN_BEFORE = timedelta(days=30)


class VolunteerStatus(StrEnum):
    """As stored in ``volunteerprofile.status``."""

    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


class ApprovalProblem(StrEnum):
    """Why a coordinator cannot approve at all."""

    ALREADY_APPROVED = "already_approved"
    VOG_IN_FUTURE = "vog_in_future"


class ChildrenProblem(StrEnum):
    """Why an approval does not extend to tasks with children."""

    NOT_REQUESTED = "not_requested"
    NO_VOG = "no_vog"
    VOG_EXPIRED = "vog_expired"


@dataclass(frozen=True)
class ApprovalDecision:
    """What approving would do: `allowed`, and whether it covers children (with the reason if not)."""

    allowed: bool
    problem: ApprovalProblem | None
    children_ok: bool
    children_problem: ChildrenProblem | None


def _add_years(day: date, years: int) -> date:
    """The same date `years` later; 29 February becomes the 28th (a certificate ends a day early, not late)."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        # 29 February in a year without one: the 28th, the earlier of the two candidates, because
        # for a child-safety certificate ending a day early is the safe mistake.
        return day.replace(year=day.year + years, day=28)


def vog_expires_on(vog_date: date, years: int = DEFAULT_VOG_VALID_YEARS) -> date:
    """The first day the VOG no longer counts: its `years`-th anniversary."""
    if years < 1:
        raise ValueError("a VOG must stay valid for at least a year")
    return _add_years(vog_date, years)


def vog_is_valid(vog_date: date | None, *, today: date, years: int = DEFAULT_VOG_VALID_YEARS) -> bool:
    """True for a VOG dated no later than today and younger than `years`."""
    return vog_date is not None and vog_date <= today < vog_expires_on(vog_date, years)


def vog_cutoff(*, today: date, years: int = DEFAULT_VOG_VALID_YEARS) -> date:
    """The newest VOG date that is already too old on `today`.

    The database form of `vog_is_valid`: ``vog_date > :cutoff AND vog_date <= :today``. Expiry dates never
    decrease as the VOG date increases, so everything on or before the cutoff is expired and everything
    after it is not.
    """
    cutoff = _add_years(today, -years)
    # Going back from today can land a day early or late around 29 February; settle it with the forward rule.
    while vog_expires_on(cutoff, years) > today:
        cutoff -= timedelta(days=1)
    while vog_expires_on(cutoff + timedelta(days=1), years) <= today:
        cutoff += timedelta(days=1)
    return cutoff


def approve(
    *,
    status: VolunteerStatus | str,
    vog_date: date | None,
    today: date,
    vog_valid_years: int = DEFAULT_VOG_VALID_YEARS,
    for_children: bool = True,
) -> ApprovalDecision:
    """Whether a coordinator may approve this volunteer, and whether the approval covers children.

    Pending and rejected volunteers can be approved (a coordinator may reconsider after a second talk);
    an approved one cannot be approved again. `for_children` is the coordinator's own choice after the
    intake; even when it is set, children are only covered with a valid VOG.
    """
    if vog_date is not None and vog_date > today:
        return ApprovalDecision(
            allowed=False, problem=ApprovalProblem.VOG_IN_FUTURE, children_ok=False, children_problem=None
        )
    if VolunteerStatus(status) is VolunteerStatus.APPROVED:
        return ApprovalDecision(
            allowed=False, problem=ApprovalProblem.ALREADY_APPROVED, children_ok=False, children_problem=None
        )
    children_problem: ChildrenProblem | None = None
    if not for_children:
        children_problem = ChildrenProblem.NOT_REQUESTED
    elif vog_date is None:
        children_problem = ChildrenProblem.NO_VOG
    elif not vog_is_valid(vog_date, today=today, years=vog_valid_years):
        children_problem = ChildrenProblem.VOG_EXPIRED
    return ApprovalDecision(
        allowed=True, problem=None, children_ok=children_problem is None, children_problem=children_problem
    )


def can_reject(status: VolunteerStatus | str) -> bool:
    """Pending volunteers can be turned down and approved ones withdrawn; a rejection is not repeated."""
    return VolunteerStatus(status) is not VolunteerStatus.REJECTED


def vog_reminder_due(
    *,
    vog_date: date | None,
    today: date,
    years: int = DEFAULT_VOG_VALID_YEARS,
    warn_before: timedelta = DEFAULT_VOG_WARN_BEFORE,
) -> bool:
    """True from `warn_before` ahead of the expiry onwards, also after it, until a new VOG date is entered.

    The caller remembers that it sent the reminder; staying true after expiry means a volunteer who was
    paused or unreachable during the warning period is still told once.
    """
    if vog_date is None:
        return False
    return today >= vog_expires_on(vog_date, years) - warn_before


def is_paused(paused_until: date | None, today: date) -> bool:
    """A pause "until 14 July" includes 14 July; the volunteer is back the day after."""
    return paused_until is not None and today <= paused_until


def _require_aware(value: datetime, name: str) -> None:
    """Refuse a naive datetime (`name` says which argument it was)."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be an aware datetime")


def week_start(now: datetime, zone: str = DEFAULT_ZONE) -> datetime:
    """Monday 00:00 local of the week `now` falls in, as UTC; the weekly cap counts offers from here.

    Counted in local weeks, so a volunteer's week starts at their midnight in summer and winter alike
    (22:00 or 23:00 UTC on Sunday).
    """
    _require_aware(now, "now")
    tz = ZoneInfo(zone)
    local_day = now.astimezone(tz).date()
    monday = local_day - timedelta(days=local_day.weekday())
    return datetime.combine(monday, time(0, 0), tzinfo=tz).astimezone(UTC)


def under_weekly_cap(*, weekly_cap: int, offers_this_week: int) -> bool:
    """A cap of 3 allows three offers in a week; a cap of 0 means "ask me nothing for now"."""
    return offers_this_week < weekly_cap
