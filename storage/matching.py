"""The volunteers a request could be offered to: the matching query, the shortlist for placing by name, pairs.

The query is the coarse filter of `domain.matching` in SQL (each criterion's docstring there gives its SQL
form), so it runs on indexes; the exact rule is applied afterwards by `domain.matching`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import ColumnElement, ScalarSelect, case, exists, func, literal, or_, select
from sqlmodel import Session, col

from domain import requests as rules
from domain.matching import DUTCH, RequestNeed, VolunteerCandidate
from storage.models import (
    Person,
    RequestOffer,
    VolunteerArea,
    VolunteerProfile,
    VolunteerSkill,
    VolunteerStatus,
)


@dataclass(frozen=True)
class MatchWindow:
    """The dates a match query needs: today (local), the start of the cap week, the VOG cutoff."""

    today: date
    week_start: datetime
    vog_cutoff: date


def _language_condition(family_language: str | None) -> ColumnElement[bool]:
    """Coarse form of `domain.matching.speaks_with_family`: every volunteer it accepts passes this."""
    spoken = "," + col(VolunteerProfile.languages) + ","
    family = (family_language or DUTCH).strip().lower().replace("_", "-").split("-")[0] or DUTCH
    # ",nl" also matches a regional "nl-NL"; the exact rule settles the rest.
    return or_(
        col(VolunteerProfile.languages) == "",
        spoken.like(f"%,{DUTCH}%"),
        spoken.like(f"%,{family}%"),
    )


def _offers_this_week(window: MatchWindow) -> ScalarSelect[int]:
    """Subquery: how many offers a volunteer got since the start of the cap week."""
    return (
        select(func.count())
        .where(
            col(RequestOffer.volunteer_id) == col(VolunteerProfile.person_id),
            col(RequestOffer.offered_at) >= window.week_start,
        )
        .correlate(VolunteerProfile)
        .scalar_subquery()
    )


def _candidate_filter(need: RequestNeed, window: MatchWindow, exclude: Iterable[int]) -> list[object]:
    """The criteria of `domain.matching.eligible` in SQL, except the area (see `matching_candidates`)."""
    skill = rules.required_skill(need.kind)
    conditions: list[object] = [
        # Nearly every volunteer is approved, so the status index would select almost everyone; SQLite has no
        # statistics to know that and would start from it. Wrapped in coalesce, the area index leads instead.
        func.coalesce(col(VolunteerProfile.status), "") == VolunteerStatus.APPROVED,
        or_(col(VolunteerProfile.paused_until).is_(None), col(VolunteerProfile.paused_until) < window.today),
        col(VolunteerProfile.availability).op("&")(need.slots_mask) != 0,
        _language_condition(need.family_language),
        _offers_this_week(window) < col(VolunteerProfile.weekly_cap),
    ]
    if need.family_id is not None:
        conditions.append(col(VolunteerProfile.person_id) != need.family_id)
    if skill is not None:
        conditions.append(
            exists().where(
                col(VolunteerSkill.volunteer_id) == col(VolunteerProfile.person_id), col(VolunteerSkill.skill) == skill
            )
        )
    if need.child_related:
        conditions.extend(
            [
                col(VolunteerProfile.children_ok),
                col(VolunteerProfile.vog_date) > window.vog_cutoff,
                col(VolunteerProfile.vog_date) <= window.today,
            ]
        )
    skip = sorted(set(exclude))
    if skip:
        conditions.append(col(VolunteerProfile.person_id).not_in(skip))
    return conditions


def _asking_order(item: tuple[VolunteerProfile, int]) -> tuple[bool, float, int]:
    """The order of the SQL below, in Python: never asked first, then least recently asked, then by id."""
    asked = item[0].last_asked_at
    return (asked is not None, asked.timestamp() if asked is not None else 0.0, item[0].person_id)


def matching_candidates(
    *,
    session: Session,
    need: RequestNeed,
    window: MatchWindow,
    exclude: Iterable[int] = (),
    limit: int = 50,
) -> list[VolunteerCandidate]:
    """Volunteers who may fit, least recently asked first (never asked first), as domain candidates.

    The SQL is the coarse filter on indexes: it starts from the family's area (`volunteerarea.area_id`),
    so it reads the few hundred volunteers of one neighbourhood rather than every approved one, and checks
    skill rows, the weekly offer count and the rest per volunteer by key. The family's own support volunteer
    serves every area and is looked up by key on its own. (People who erased their data have no volunteer
    profile any more, so no join with `person` is needed.) Pass the result through `domain.matching.rank`
    or `plan_waves` for the exact rule and order.
    """
    exclude = set(exclude)
    conditions = _candidate_filter(need, window, exclude)
    columns = (VolunteerProfile, _offers_this_week(window).label("offers"))
    rows: list[tuple[VolunteerProfile, int]] = []
    if need.area_id is not None:
        found = session.execute(
            select(*columns)
            .select_from(VolunteerArea)
            .join(VolunteerProfile, col(VolunteerProfile.person_id) == col(VolunteerArea.volunteer_id))
            .where(col(VolunteerArea.area_id) == need.area_id, *conditions)  # type: ignore[arg-type]
            .order_by(
                # Never asked first (false sorts before true on both databases), then least recently asked.
                col(VolunteerProfile.last_asked_at).is_not(None),
                col(VolunteerProfile.last_asked_at),
                col(VolunteerProfile.person_id),
            )
            .limit(limit)
        ).all()
        rows = [(profile, int(offers)) for profile, offers in found]
    support = need.support_volunteer_id
    if support is not None and support not in exclude and all(profile.person_id != support for profile, _ in rows):
        found_support = session.execute(
            select(*columns).where(col(VolunteerProfile.person_id) == support, *conditions)  # type: ignore[arg-type]
        ).first()
        if found_support is not None:
            rows.append((found_support[0], int(found_support[1])))
    rows.sort(key=_asking_order)
    return _candidates(session, rows[:limit])


def candidate(*, session: Session, volunteer_id: int, window: MatchWindow) -> VolunteerCandidate | None:
    """One volunteer as a domain candidate, whatever their status (for the support volunteer and placing)."""
    row = session.execute(
        select(VolunteerProfile, _offers_this_week(window).label("offers"))
        .join(Person, col(Person.id) == col(VolunteerProfile.person_id))
        .where(col(VolunteerProfile.person_id) == volunteer_id, col(Person.telegram_id).is_not(None))
    ).first()
    if row is None:
        return None
    found = _candidates(session, [(row[0], int(row[1]))])
    return found[0] if found else None


def _candidates(session: Session, rows: Sequence[tuple[VolunteerProfile, int]]) -> list[VolunteerCandidate]:
    """The volunteers of these profile rows as `domain.matching` candidates, with their areas and skills."""
    ids = [profile.person_id for profile, _offers in rows]
    areas: dict[int, set[int]] = {person_id: set() for person_id in ids}
    skills: dict[int, set[str]] = {person_id: set() for person_id in ids}
    if ids:
        for volunteer_id, area_id in session.execute(
            select(col(VolunteerArea.volunteer_id), col(VolunteerArea.area_id)).where(
                col(VolunteerArea.volunteer_id).in_(ids)
            )
        ).all():
            areas[volunteer_id].add(area_id)
        for volunteer_id, skill in session.execute(
            select(col(VolunteerSkill.volunteer_id), col(VolunteerSkill.skill)).where(
                col(VolunteerSkill.volunteer_id).in_(ids)
            )
        ).all():
            skills[volunteer_id].add(skill)
    return [
        VolunteerCandidate(
            person_id=profile.person_id,
            status=profile.status,
            area_ids=frozenset(areas[profile.person_id]),
            skills=frozenset(skills[profile.person_id]),
            availability_mask=profile.availability,
            languages=frozenset(code for code in profile.languages.split(",") if code),
            vog_date=profile.vog_date,
            children_ok=profile.children_ok,
            paused_until=profile.paused_until,
            weekly_cap=profile.weekly_cap,
            offers_this_week=offers,
            last_asked_at=profile.last_asked_at,
        )
        for profile, offers in rows
    ]


def placeable_volunteers(
    *, session: Session, need: RequestNeed, window: MatchWindow, limit: int = 8
) -> list[tuple[Person, bool]]:
    """Volunteers a coordinator may place a request with by name, with whether they fit it fully.

    A coordinator may look past area, skill, availability and the weekly cap, never past approval, a pause
    or the rule for children (a valid VOG and approval for children), and never offer a family its own
    request. Those who fit fully come first.
    """
    conditions: list[object] = [
        col(VolunteerProfile.status) == VolunteerStatus.APPROVED,
        or_(col(VolunteerProfile.paused_until).is_(None), col(VolunteerProfile.paused_until) < window.today),
        col(Person.telegram_id).is_not(None),
    ]
    if need.family_id is not None:
        conditions.append(col(VolunteerProfile.person_id) != need.family_id)
    if need.child_related:
        conditions.extend(
            [
                col(VolunteerProfile.children_ok),
                col(VolunteerProfile.vog_date) > window.vog_cutoff,
                col(VolunteerProfile.vog_date) <= window.today,
            ]
        )
    fitting = {
        candidate.person_id for candidate in matching_candidates(session=session, need=need, window=window, limit=limit)
    }
    # Those who fit are ordered first by the database itself: sorting a name-ordered slice afterwards would
    # drop a fitting volunteer whose name comes late in the alphabet. Then those of the request's
    # neighbourhood (they know it; one at their weekly cap is still the first a coordinator asks), then the rest.
    in_area = exists(
        select(col(VolunteerArea.volunteer_id)).where(
            col(VolunteerArea.volunteer_id) == col(Person.id), col(VolunteerArea.area_id) == need.area_id
        )
    )
    rows = list(
        session.execute(
            select(Person)
            .join(VolunteerProfile, col(VolunteerProfile.person_id) == col(Person.id))
            .where(*conditions)  # type: ignore[arg-type]
            .order_by(
                case((col(Person.id).in_(fitting), 0), else_=1),
                case((in_area, 0), else_=1),
                func.lower(col(Person.display_name)),
                col(Person.id),
            )
            .limit(limit)
        ).scalars()
    )
    return [(person, person.id in fitting) for person in rows]


def pairing_candidates(
    *,
    session: Session,
    area_id: int | None,
    exclude_id: int,
    limit: int,
    offset: int = 0,
    exclude_ids: Sequence[int] = (),
) -> tuple[list[tuple[Person, bool]], bool]:
    """One page of approved volunteers to pair a family with, those in the family's area first.

    Returns (volunteer, in the area) pairs and whether more follow; the order is the database's, so a page
    never misses someone whose name sorts late. `exclude_ids` (as `exclude_id`) are left out of every page.
    """
    nearby = exists().where(col(VolunteerArea.volunteer_id) == col(Person.id), col(VolunteerArea.area_id) == area_id)
    nearby_column = case((nearby, 0), else_=1) if area_id is not None else literal(1)
    rows = session.execute(
        select(Person, nearby_column)
        .join(VolunteerProfile, col(VolunteerProfile.person_id) == col(Person.id))
        .where(
            col(VolunteerProfile.status) == VolunteerStatus.APPROVED,
            col(Person.consent_at).is_not(None),
            col(Person.id).not_in([exclude_id, *exclude_ids]),
        )
        .order_by(nearby_column, func.lower(col(Person.display_name)), col(Person.id))
        .offset(offset)
        .limit(limit + 1)
    ).all()
    return [(person, rank == 0) for person, rank in rows[:limit]], len(rows) > limit
