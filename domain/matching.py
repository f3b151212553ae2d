"""Which volunteers get a help request, and in which order.

This module is the exact rule. With 10,000 volunteers the database does the coarse filter with indexes, so
every criterion is a separate small predicate whose docstring gives its SQL form; the storage query and
`eligible` must stay the same rule, criterion by criterion. `eligible` checks them in a fixed order and
returns the first failing reason, so a coordinator asking "why was she not asked?" gets one clear answer.

**Order of asking.** The family's own support volunteer (steungezin) is asked first and alone, because a
known face is the heart of the programme; the others are asked after `support_wait`. Among the others the
one asked least recently goes first (never asked before everybody), ties by person id, so requests spread
over the neighbourhood instead of landing on the same few helpful people.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum

from domain.availability import fits
from domain.requests import is_child_related, required_skill
from domain.volunteers import (
    DEFAULT_VOG_VALID_YEARS,
    VolunteerStatus,
    is_paused,
    under_weekly_cap,
    vog_is_valid,
)

DUTCH = "nl"
DEFAULT_SUPPORT_WAIT = timedelta(hours=4)
DEFAULT_WAVE_SIZE = 5


class Ineligible(StrEnum):
    NOT_APPROVED = "not_approved"
    OWN_REQUEST = "own_request"
    PAUSED = "paused"
    AREA = "area"
    SKILL = "skill"
    AVAILABILITY = "availability"
    LANGUAGE = "language"
    CAP = "cap"
    NOT_CHILD_APPROVED = "not_child_approved"
    VOG_EXPIRED = "vog_expired"


@dataclass(frozen=True)
class VolunteerCandidate:
    person_id: int
    status: str
    area_ids: frozenset[int]
    skills: frozenset[str]
    availability_mask: int
    languages: frozenset[str]
    vog_date: date | None
    children_ok: bool
    paused_until: date | None
    weekly_cap: int
    offers_this_week: int
    last_asked_at: datetime | None


@dataclass(frozen=True)
class RequestNeed:
    kind: str
    involves_children: bool
    area_id: int | None
    slots_mask: int
    family_language: str | None
    support_volunteer_id: int | None
    # The asking family's person id: a family that also volunteers is never offered its own request.
    family_id: int | None = None

    @property
    def child_related(self) -> bool:
        """Whether the task involves children, so only child-approved volunteers (a valid VOG) may get it."""
        return is_child_related(kind=self.kind, involves_children=self.involves_children)


@dataclass(frozen=True)
class Wave:
    """Offer the request to these volunteers at `at` (UTC), in this order."""

    at: datetime
    volunteer_ids: list[int]


def _primary_language(code: str) -> str:
    """The language part of a code ("nl-NL" -> "nl"), lower case."""
    # Telegram and older rows carry regional tags ("nl-NL", "en_US"); matching is by language only.
    return code.strip().lower().replace("_", "-").split("-")[0]


# --- the criteria, one predicate each ---------------------------------------------------------------------


def is_approved(candidate: VolunteerCandidate) -> bool:
    """SQL: ``volunteerprofile.status = 'approved'``."""
    return candidate.status == VolunteerStatus.APPROVED


def is_someone_else(candidate: VolunteerCandidate, need: RequestNeed) -> bool:
    """SQL: ``person_id <> :family_id`` (skipped when the family is unknown)."""
    return need.family_id is None or candidate.person_id != need.family_id


def is_active(candidate: VolunteerCandidate, *, today: date) -> bool:
    """Not on a pause (a pause includes its last day). SQL: ``paused_until IS NULL OR paused_until < :today``."""
    return not is_paused(candidate.paused_until, today)


def serves_area(candidate: VolunteerCandidate, need: RequestNeed) -> bool:
    """Helps in the family's area; the family's own support volunteer everywhere.

    A coordinator linked that support volunteer to this family on purpose, knowing where both live, so the
    neighbourhood list does not apply to them. A family without an area matches only its support volunteer;
    everyone else reaches coordinators as unmatched, which is right: someone must place the family first.

    SQL: ``EXISTS (SELECT 1 FROM volunteerarea va WHERE va.volunteer_id = p.id AND va.area_id = :area_id)
    OR p.id = :support_volunteer_id``.
    """
    if need.support_volunteer_id is not None and candidate.person_id == need.support_volunteer_id:
        return True
    return need.area_id is not None and need.area_id in candidate.area_ids


def has_skill(candidate: VolunteerCandidate, need: RequestNeed) -> bool:
    """Offers the kind of help asked for; "other" needs no particular skill.

    SQL: ``EXISTS (SELECT 1 FROM volunteerskill vs WHERE vs.volunteer_id = p.id AND vs.skill = :skill)``,
    left out when the kind needs no skill.
    """
    skill = required_skill(need.kind)
    return skill is None or skill in candidate.skills


def is_usually_free(candidate: VolunteerCandidate, need: RequestNeed) -> bool:
    """Usually free in at least one slot the request touches. SQL: ``(availability & :slots_mask) <> 0``."""
    return fits(candidate.availability_mask, need.slots_mask)


def speaks_with_family(candidate: VolunteerCandidate, need: RequestNeed) -> bool:
    """The volunteer speaks the family's language, or Dutch.

    Dutch is always accepted because it is the common language of the programme: a family that uses the bot
    in Arabic or Polish usually still manages a short practical task in Dutch, and demanding the family's
    own language would leave most families with a smaller language without any help. The family can flag
    a language problem as a concern, and the coordinator then links a suitable volunteer by hand. When the
    family's language is Dutch (or unknown) the rule therefore simply means "speaks Dutch".
    A volunteer with no languages recorded counts as Dutch-speaking: every volunteer goes through an intake
    with a Dutch coordinator, and an empty field is a missing answer, not a volunteer without language.

    SQL (languages stored as a comma-separated list, e.g. ``'nl,ar'``):
    ``languages = '' OR ',' || languages || ',' LIKE '%,nl,%' OR ',' || languages || ',' LIKE :family_pattern``.
    """
    spoken = {_primary_language(code) for code in candidate.languages if code.strip()}
    if not spoken:
        return True
    family = _primary_language(need.family_language) if need.family_language else DUTCH
    return DUTCH in spoken or family in spoken


def is_under_cap(candidate: VolunteerCandidate) -> bool:
    """Fewer offers this local week than the volunteer's own cap.

    SQL: ``(SELECT count(*) FROM requestoffer o WHERE o.volunteer_id = p.id AND o.offered_at >= :week_start)
    < weekly_cap``, with ``week_start`` from `domain.volunteers.week_start`.
    """
    return under_weekly_cap(weekly_cap=candidate.weekly_cap, offers_this_week=candidate.offers_this_week)


def is_child_approved(candidate: VolunteerCandidate, need: RequestNeed) -> bool:
    """Approved for children when the request involves them. SQL: ``NOT :child_related OR children_ok``."""
    return not need.child_related or candidate.children_ok


def has_valid_vog(
    candidate: VolunteerCandidate, need: RequestNeed, *, today: date, vog_valid_years: int = DEFAULT_VOG_VALID_YEARS
) -> bool:
    """A VOG younger than `vog_valid_years` when the request involves children.

    SQL: ``NOT :child_related OR (vog_date > :cutoff AND vog_date <= :today)``, with ``cutoff`` from
    `domain.volunteers.vog_cutoff`.
    """
    return not need.child_related or vog_is_valid(candidate.vog_date, today=today, years=vog_valid_years)


def eligible(
    candidate: VolunteerCandidate,
    need: RequestNeed,
    *,
    today: date,
    vog_valid_years: int = DEFAULT_VOG_VALID_YEARS,
) -> Ineligible | None:
    """None when the volunteer may be offered the request, otherwise the first reason they may not."""
    checks: tuple[tuple[Ineligible, bool], ...] = (
        (Ineligible.NOT_APPROVED, is_approved(candidate)),
        (Ineligible.OWN_REQUEST, is_someone_else(candidate, need)),
        (Ineligible.PAUSED, is_active(candidate, today=today)),
        (Ineligible.AREA, serves_area(candidate, need)),
        (Ineligible.SKILL, has_skill(candidate, need)),
        (Ineligible.AVAILABILITY, is_usually_free(candidate, need)),
        (Ineligible.LANGUAGE, speaks_with_family(candidate, need)),
        (Ineligible.CAP, is_under_cap(candidate)),
        (Ineligible.NOT_CHILD_APPROVED, is_child_approved(candidate, need)),
        (Ineligible.VOG_EXPIRED, has_valid_vog(candidate, need, today=today, vog_valid_years=vog_valid_years)),
    )
    for reason, passed in checks:
        if not passed:
            return reason
    return None


def _asking_order(candidate: VolunteerCandidate) -> tuple[bool, float, int]:
    """Sort key: who was asked least recently goes first (never asked before all), then by id."""
    asked = candidate.last_asked_at
    # Timestamps compare across time zones; never-asked sorts before every real moment.
    return (asked is not None, asked.timestamp() if asked is not None else 0.0, candidate.person_id)


def rank(
    candidates: Iterable[VolunteerCandidate],
    need: RequestNeed,
    *,
    today: date,
    limit: int,
    vog_valid_years: int = DEFAULT_VOG_VALID_YEARS,
    exclude: Iterable[int] = (),
) -> list[int]:
    """Person ids of eligible candidates, least recently asked first (never asked first), ties by id.

    At most `limit`; each person once; nobody in `exclude` (for instance those already offered it).
    Eligibility includes the weekly cap, so a full week never gets another offer.
    """
    if limit < 0:
        raise ValueError("limit must not be negative")
    skip = set(exclude)
    chosen: dict[int, VolunteerCandidate] = {}
    for candidate in candidates:
        if candidate.person_id in skip or candidate.person_id in chosen:
            continue
        if eligible(candidate, need, today=today, vog_valid_years=vog_valid_years) is None:
            chosen[candidate.person_id] = candidate
    ordered = sorted(chosen.values(), key=_asking_order)
    return [candidate.person_id for candidate in ordered[:limit]]


def plan_waves(
    *,
    need: RequestNeed,
    candidates: Iterable[VolunteerCandidate],
    today: date,
    now: datetime,
    support_wait: timedelta = DEFAULT_SUPPORT_WAIT,
    wave_size: int = DEFAULT_WAVE_SIZE,
    starts_at: datetime | None = None,
    already_offered: Iterable[int] = (),
    vog_valid_years: int = DEFAULT_VOG_VALID_YEARS,
) -> list[Wave]:
    """The offers to send for a request: who, and when. Empty when nobody fits.

    With an eligible support volunteer: that person alone at `now`, then up to `wave_size` ranked others
    at ``now + support_wait``. Without one: the ranked others at `now`. When `starts_at` is given, the
    others are asked no later than halfway to the start, so a request for tonight does not spend its only
    hours waiting for one person. Later waves are planned by calling again with `already_offered`, once the
    first answers and the weekly caps have moved.
    """
    for value, name in ((now, "now"), (starts_at, "starts_at")):
        if value is not None and (value.tzinfo is None or value.utcoffset() is None):
            raise ValueError(f"{name} must be an aware datetime")
    if wave_size < 1:
        raise ValueError("wave_size must be at least 1")
    pool = list(candidates)
    offered = set(already_offered)
    now_utc = now.astimezone(UTC)
    waves: list[Wave] = []
    others_at = now_utc
    support_id = need.support_volunteer_id
    if support_id is not None and support_id not in offered:
        support = next((candidate for candidate in pool if candidate.person_id == support_id), None)
        if support is not None and eligible(support, need, today=today, vog_valid_years=vog_valid_years) is None:
            waves.append(Wave(at=now_utc, volunteer_ids=[support_id]))
            others_at = now_utc + support_wait
            if starts_at is not None:
                halfway = now_utc + (starts_at.astimezone(UTC) - now_utc) / 2
                others_at = max(now_utc, min(others_at, halfway))
    if support_id is not None:
        # Once asked, the support volunteer is never asked again among the others.
        offered.add(support_id)
    others = rank(pool, need, today=today, limit=wave_size, vog_valid_years=vog_valid_years, exclude=offered)
    if others:
        waves.append(Wave(at=others_at, volunteer_ids=others))
    return waves
