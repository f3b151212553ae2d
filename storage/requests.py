"""Help requests, the offers made to volunteers, outcomes, retention, and volunteer approval and pauses.

Every change two people (or two taps) could race for is one conditional UPDATE that names the status it
expects, so it takes effect at most once on SQLite and PostgreSQL alike: of two volunteers tapping
Accept in the same second, exactly one UPDATE matches `status = 'open'`; the other touches no row.

The matching query is the coarse filter of `domain.matching` in SQL (each criterion's docstring there
gives its SQL form), so it runs on indexes; the exact rule is applied afterwards by `domain.matching`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import ColumnElement, ScalarSelect, case, exists, func, literal, or_, select, update
from sqlmodel import Session, col

from domain import requests as rules
from domain.matching import DUTCH, RequestNeed, VolunteerCandidate
from storage.db import fresh, insert_new, rowcount, saved, update_given
from storage.models import (
    FamilyProfile,
    HelpRequest,
    JobStatus,
    OutboxMessage,
    OutboxStatus,
    Person,
    RequestOffer,
    ScheduledJob,
    TaskOutcome,
    TimelineEvent,
    VolunteerArea,
    VolunteerProfile,
    VolunteerSkill,
    VolunteerStatus,
)

ACTIVE = (rules.RequestStatus.OPEN.value, rules.RequestStatus.ACCEPTED.value)


class OfferResponse(StrEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    # The request was taken by someone else, closed, or the volunteer gave the task back.
    WITHDRAWN = "withdrawn"
    CANCELLED = "cancelled"


class AcceptResult(StrEnum):
    ACCEPTED = "accepted"
    ALREADY_YOURS = "already_yours"
    TAKEN = "taken"
    CLOSED = "closed"


# --- requests -------------------------------------------------------------------------------------


def create_request(
    *,
    session: Session,
    family_id: int,
    created_by_id: int,
    kind: str,
    involves_children: bool,
    starts_at: datetime | None,
    ends_at: datetime | None,
    flexible_week: bool,
    area_id: int | None,
    destination: str | None,
    note: str | None,
    voice_file_id: str | None,
    now: datetime,
) -> HelpRequest:
    request = HelpRequest(
        family_id=family_id,
        created_by_id=created_by_id,
        kind=kind,
        involves_children=involves_children,
        starts_at=starts_at,
        ends_at=ends_at,
        flexible_week=flexible_week,
        area_id=area_id,
        destination=destination,
        note=note,
        voice_file_id=voice_file_id,
        status=rules.RequestStatus.OPEN,
        created_at=now,
    )
    return saved(session, request)


def get_request(*, session: Session, request_id: int) -> HelpRequest | None:
    """The request as stored now (never a copy cached earlier in the session)."""
    return fresh(session, HelpRequest, request_id)


def family_requests(*, session: Session, family_id: int, limit: int = 10) -> list[HelpRequest]:
    """A family's requests: active ones first, then the most recent closed ones."""
    active_first = col(HelpRequest.status).in_(ACTIVE)
    return list(
        session.execute(
            select(HelpRequest)
            .where(col(HelpRequest.family_id) == family_id)
            .order_by(active_first.desc(), col(HelpRequest.created_at).desc(), col(HelpRequest.id).desc())
            .limit(limit)
        ).scalars()
    )


def volunteer_tasks(*, session: Session, volunteer_id: int) -> list[HelpRequest]:
    """Accepted tasks of a volunteer, soonest first (flexible-week tasks last)."""
    return list(
        session.execute(
            select(HelpRequest)
            .where(
                col(HelpRequest.assigned_volunteer_id) == volunteer_id,
                col(HelpRequest.status) == rules.RequestStatus.ACCEPTED,
            )
            .order_by(col(HelpRequest.starts_at).is_(None), col(HelpRequest.starts_at), col(HelpRequest.id))
        ).scalars()
    )


def open_requests(*, session: Session, family_ids: Sequence[int] | None = None, limit: int = 20) -> list[HelpRequest]:
    """Requests nobody has accepted yet, oldest first; only these families' when given."""
    query = select(HelpRequest).where(col(HelpRequest.status) == rules.RequestStatus.OPEN)
    if family_ids is not None:
        query = query.where(col(HelpRequest.family_id).in_(list(family_ids)))
    return list(
        session.execute(query.order_by(col(HelpRequest.created_at), col(HelpRequest.id)).limit(limit)).scalars()
    )


def apply_event(
    *,
    session: Session,
    request_id: int,
    event: rules.RequestEvent,
    now: datetime,
    volunteer_id: int | None = None,
) -> tuple[HelpRequest, rules.RequestStatus] | None:
    """Apply a life-cycle event (`domain.requests`) with a compare-and-set on the status.

    Returns the request and the status it had before, or None when the event does not apply (any more):
    a stale button, or someone else changed the request first. `volunteer_id` names the assigned volunteer
    the event requires (a volunteer cancelling only their own task).
    """
    request = get_request(session=session, request_id=request_id)
    if request is None:
        return None
    before = rules.RequestStatus(request.status)
    try:
        after = rules.transition(before, event)
    except rules.TransitionError:
        return None
    conditions = [col(HelpRequest.id) == request_id, col(HelpRequest.status) == before]
    if volunteer_id is not None:
        conditions.append(col(HelpRequest.assigned_volunteer_id) == volunteer_id)
    values: dict[str, object] = {"status": after}
    if rules.is_closed(after):
        values["closed_at"] = now
    if after is rules.RequestStatus.OPEN:
        # Given back by the volunteer: the question is open again and may be raised again.
        values.update(assigned_volunteer_id=None, accepted_at=None, escalated_at=None)
    result = session.execute(update(HelpRequest).where(*conditions).values(**values))
    if not rowcount(result):
        return None
    session.refresh(request)
    return request, before


def accept(*, session: Session, request_id: int, volunteer_id: int, now: datetime) -> AcceptResult:
    """First accept wins: one conditional UPDATE; a second tap or a second volunteer changes nothing."""
    result = session.execute(
        update(HelpRequest)
        .where(col(HelpRequest.id) == request_id, col(HelpRequest.status) == rules.RequestStatus.OPEN)
        .values(status=rules.RequestStatus.ACCEPTED, assigned_volunteer_id=volunteer_id, accepted_at=now)
    )
    if rowcount(result):
        session.execute(
            update(RequestOffer)
            .where(col(RequestOffer.request_id) == request_id, col(RequestOffer.volunteer_id) == volunteer_id)
            .values(response=OfferResponse.ACCEPTED, responded_at=now)
        )
        return AcceptResult.ACCEPTED
    request = get_request(session=session, request_id=request_id)
    if request is None or rules.is_closed(request.status):
        return AcceptResult.CLOSED
    if request.assigned_volunteer_id == volunteer_id:
        return AcceptResult.ALREADY_YOURS
    return AcceptResult.TAKEN


def mark_escalated(*, session: Session, request_id: int, now: datetime) -> bool:
    """Note that coordinators were told nobody accepted; true only the first time."""
    result = session.execute(
        update(HelpRequest)
        .where(
            col(HelpRequest.id) == request_id,
            col(HelpRequest.status) == rules.RequestStatus.OPEN,
            col(HelpRequest.escalated_at).is_(None),
        )
        .values(escalated_at=now)
    )
    return bool(rowcount(result))


# --- offers ---------------------------------------------------------------------------------------


def record_offer(*, session: Session, request_id: int, volunteer_id: int, now: datetime) -> RequestOffer | None:
    """Remember that a volunteer was offered a request; None when they already were."""
    offer = dict(request_id=request_id, volunteer_id=volunteer_id, offered_at=now, response=OfferResponse.PENDING)
    key = ["request_id", "volunteer_id"]
    offer_id = insert_new(session, RequestOffer, offer, conflict=key, returning=col(RequestOffer.id))
    if offer_id is None:
        return None
    session.execute(
        update(VolunteerProfile).where(col(VolunteerProfile.person_id) == volunteer_id).values(last_asked_at=now)
    )
    return fresh(session, RequestOffer, offer_id)


def link_offer_message(*, session: Session, offer_id: int, dedupe_key: str) -> int | None:
    """Link an offer to its outbox row (found by dedupe key), so its buttons can be withdrawn later."""
    outbox_id = session.execute(
        select(col(OutboxMessage.id)).where(col(OutboxMessage.dedupe_key) == dedupe_key)
    ).scalar_one_or_none()
    if outbox_id is not None:
        session.execute(update(RequestOffer).where(col(RequestOffer.id) == offer_id).values(outbox_id=outbox_id))
    return outbox_id


def get_offer(*, session: Session, offer_id: int) -> RequestOffer | None:
    return fresh(session, RequestOffer, offer_id)


def find_offer(*, session: Session, request_id: int, volunteer_id: int) -> RequestOffer | None:
    return session.execute(
        select(RequestOffer).where(
            col(RequestOffer.request_id) == request_id, col(RequestOffer.volunteer_id) == volunteer_id
        )
    ).scalar_one_or_none()


def respond_offer(*, session: Session, offer_id: int, response: OfferResponse, now: datetime) -> bool:
    """Record a volunteer's answer to an offer that is still waiting for one; true if it was."""
    result = session.execute(
        update(RequestOffer)
        .where(col(RequestOffer.id) == offer_id, col(RequestOffer.response) == OfferResponse.PENDING)
        .values(response=response, responded_at=now)
    )
    return bool(rowcount(result))


def pending_offers_of(*, session: Session, volunteer_id: int) -> list[RequestOffer]:
    """Offers made to a volunteer that still wait for their answer."""
    return list(
        session.execute(
            select(RequestOffer).where(
                col(RequestOffer.volunteer_id) == volunteer_id, col(RequestOffer.response) == OfferResponse.PENDING
            )
        ).scalars()
    )


def offers_for(*, session: Session, request_id: int) -> list[RequestOffer]:
    return list(
        session.execute(
            select(RequestOffer).where(col(RequestOffer.request_id) == request_id).order_by(col(RequestOffer.id))
        ).scalars()
    )


def offered_ids(*, session: Session, request_id: int) -> set[int]:
    return set(
        session.execute(
            select(col(RequestOffer.volunteer_id)).where(col(RequestOffer.request_id) == request_id)
        ).scalars()
    )


def waiting_offers(*, session: Session, request_id: int) -> int:
    """Offers of this request nobody answered yet."""
    return int(
        session.execute(
            select(func.count()).where(
                col(RequestOffer.request_id) == request_id, col(RequestOffer.response) == OfferResponse.PENDING
            )
        ).scalar_one()
    )


def withdraw_unsent(*, session: Session, outbox_id: int) -> bool:
    """An offer message that has not left yet is never sent: true if it was still waiting."""
    result = session.execute(
        update(OutboxMessage)
        .where(col(OutboxMessage.id) == outbox_id, col(OutboxMessage.status) == OutboxStatus.PENDING)
        .values(status=OutboxStatus.FAILED, last_error="withdrawn before sending: the request was taken or closed")
    )
    return bool(rowcount(result))


def has_pending_job(*, session: Session, kind: str, subject_id: int) -> bool:
    return (
        session.execute(
            select(col(ScheduledJob.id)).where(
                col(ScheduledJob.kind) == kind,
                col(ScheduledJob.subject_id) == subject_id,
                col(ScheduledJob.status) == JobStatus.PENDING,
            )
        ).first()
        is not None
    )


def outbox_row(*, session: Session, outbox_id: int) -> OutboxMessage | None:
    return fresh(session, OutboxMessage, outbox_id)


# --- matching -------------------------------------------------------------------------------------


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
    *, session: Session, area_id: int | None, exclude_id: int, limit: int, offset: int = 0
) -> tuple[list[tuple[Person, bool]], bool]:
    """One page of approved volunteers to pair a family with, those in the family's area first.

    Returns (volunteer, in the area) pairs and whether more follow; the order is the database's, so a page
    never misses someone whose name sorts late.
    """
    nearby = exists().where(col(VolunteerArea.volunteer_id) == col(Person.id), col(VolunteerArea.area_id) == area_id)
    nearby_column = case((nearby, 0), else_=1) if area_id is not None else literal(1)
    rows = session.execute(
        select(Person, nearby_column)
        .join(VolunteerProfile, col(VolunteerProfile.person_id) == col(Person.id))
        .where(
            col(VolunteerProfile.status) == VolunteerStatus.APPROVED,
            col(Person.consent_at).is_not(None),
            col(Person.id) != exclude_id,
        )
        .order_by(nearby_column, func.lower(col(Person.display_name)), col(Person.id))
        .offset(offset)
        .limit(limit + 1)
    ).all()
    return [(person, rank == 0) for person, rank in rows[:limit]], len(rows) > limit


# --- outcomes -------------------------------------------------------------------------------------


def record_outcome(*, session: Session, request_id: int, person_id: int, outcome: str, now: datetime) -> bool:
    """One outcome per person and request; true when this one is new."""
    row = {"request_id": request_id, "person_id": person_id, "outcome": outcome, "created_at": now}
    key = ["request_id", "person_id"]
    return insert_new(session, TaskOutcome, row, conflict=key, returning=col(TaskOutcome.id)) is not None


def get_outcome(*, session: Session, request_id: int, person_id: int) -> TaskOutcome | None:
    return session.execute(
        select(TaskOutcome)
        .where(col(TaskOutcome.request_id) == request_id, col(TaskOutcome.person_id) == person_id)
        .execution_options(populate_existing=True)
    ).scalar_one_or_none()


def outcomes_for(*, session: Session, request_id: int) -> list[TaskOutcome]:
    return list(session.execute(select(TaskOutcome).where(col(TaskOutcome.request_id) == request_id)).scalars())


def set_rating(*, session: Session, request_id: int, person_id: int, rating: str) -> bool:
    """The debrief's first tap; only once."""
    result = session.execute(
        update(TaskOutcome)
        .where(
            col(TaskOutcome.request_id) == request_id,
            col(TaskOutcome.person_id) == person_id,
            col(TaskOutcome.rating).is_(None),
        )
        .values(rating=rating)
    )
    return bool(rowcount(result))


def was_thanked(*, session: Session, request_id: int) -> bool:
    return (
        session.execute(
            select(col(TimelineEvent.id)).where(
                col(TimelineEvent.kind) == "request_thanked", col(TimelineEvent.ref_id) == request_id
            )
        ).first()
        is not None
    )


# --- retention ------------------------------------------------------------------------------------


def purge_texts(*, session: Session, closed_before: datetime, now: datetime) -> int:
    """Delete the free text of requests closed before the cutoff; kind, dates and outcome stay for figures.

    The reminders a volunteer got repeat the street, phone and note, and the messages volunteer and family
    wrote each other about the task are free text, so their sent outbox rows lose their payload too (the
    message in the chat is the reader's; our copy goes).
    """
    ids = list(
        session.execute(
            select(col(HelpRequest.id)).where(
                col(HelpRequest.closed_at).is_not(None),
                col(HelpRequest.closed_at) <= closed_before,
                col(HelpRequest.text_purged_at).is_(None),
            )
        ).scalars()
    )
    if not ids:
        return 0
    session.execute(
        update(HelpRequest)
        .where(col(HelpRequest.id).in_(ids))
        .values(note=None, destination=None, voice_file_id=None, text_purged_at=now)
    )
    for request_id in ids:
        for prefix in (f"remind:request.remind:{request_id}:", f"taskmsg:{request_id}:"):
            session.execute(
                update(OutboxMessage)
                .where(
                    col(OutboxMessage.dedupe_key).startswith(prefix),
                    col(OutboxMessage.status).in_([OutboxStatus.SENT, OutboxStatus.FAILED]),
                )
                .values(payload={})
            )
    return len(ids)


# --- volunteers -----------------------------------------------------------------------------------


def volunteers_with_status(*, session: Session, status: str, limit: int = 30) -> list[tuple[Person, VolunteerProfile]]:
    rows = session.execute(
        select(Person, VolunteerProfile)
        .join(VolunteerProfile, col(VolunteerProfile.person_id) == col(Person.id))
        .where(col(VolunteerProfile.status) == status, col(Person.consent_at).is_not(None))
        .order_by(col(Person.display_name), col(Person.id))
        .limit(limit)
    ).all()
    return [(person, profile) for person, profile in rows]


def vog_expiring(*, session: Session, cutoff: date, limit: int = 30) -> list[tuple[Person, VolunteerProfile]]:
    """Approved volunteers cleared for children whose VOG date is on or before `cutoff` (soon too old)."""
    rows = session.execute(
        select(Person, VolunteerProfile)
        .join(VolunteerProfile, col(VolunteerProfile.person_id) == col(Person.id))
        .where(
            col(VolunteerProfile.status) == VolunteerStatus.APPROVED,
            col(VolunteerProfile.children_ok),
            col(VolunteerProfile.vog_date) <= cutoff,
        )
        .order_by(col(VolunteerProfile.vog_date), col(Person.id))
        .limit(limit)
    ).all()
    return [(person, profile) for person, profile in rows]


def approve_volunteer(
    *,
    session: Session,
    volunteer_id: int,
    approver_id: int,
    vog_date: date | None,
    children_ok: bool,
    weekly_cap: int | None,
    now: datetime,
) -> bool:
    """Approve a pending or rejected volunteer (once: a second coordinator's tap changes nothing)."""
    values: dict[str, object] = {
        "status": VolunteerStatus.APPROVED,
        "vog_date": vog_date,
        "children_ok": children_ok,
        "approved_by_id": approver_id,
        "approved_at": now,
    }
    if weekly_cap is not None:
        values["weekly_cap"] = weekly_cap
    result = session.execute(
        update(VolunteerProfile)
        .where(
            col(VolunteerProfile.person_id) == volunteer_id, col(VolunteerProfile.status) != VolunteerStatus.APPROVED
        )
        .values(**values)
    )
    if rowcount(result):
        # A family that volunteers: its coordinator's approval is recorded on the family too.
        session.execute(
            update(FamilyProfile).where(col(FamilyProfile.person_id) == volunteer_id).values(may_volunteer=True)
        )
    return bool(rowcount(result))


def reject_volunteer(*, session: Session, volunteer_id: int) -> str | None:
    """Turn down a pending volunteer or withdraw an approved one; returns the status it had, or None."""
    profile = session.get(VolunteerProfile, volunteer_id, populate_existing=True)
    if profile is None or profile.status == VolunteerStatus.REJECTED:
        return None
    before = profile.status
    result = session.execute(
        update(VolunteerProfile)
        .where(col(VolunteerProfile.person_id) == volunteer_id, col(VolunteerProfile.status) == before)
        .values(status=VolunteerStatus.REJECTED, children_ok=False)
    )
    if rowcount(result):
        session.execute(
            update(FamilyProfile).where(col(FamilyProfile.person_id) == volunteer_id).values(may_volunteer=False)
        )
    return before if rowcount(result) else None


def renew_vog(*, session: Session, volunteer_id: int, vog_date: date, children_ok: bool) -> bool:
    """A new VOG date for an approved volunteer (and whether they may help with children)."""
    result = session.execute(
        update(VolunteerProfile)
        .where(
            col(VolunteerProfile.person_id) == volunteer_id, col(VolunteerProfile.status) == VolunteerStatus.APPROVED
        )
        .values(vog_date=vog_date, children_ok=children_ok)
    )
    return bool(rowcount(result))


def set_pause(*, session: Session, volunteer_id: int, until: date | None) -> bool:
    result = session.execute(
        update(VolunteerProfile).where(col(VolunteerProfile.person_id) == volunteer_id).values(paused_until=until)
    )
    return bool(rowcount(result))


def set_weekly_cap(*, session: Session, volunteer_id: int, cap: int) -> bool:
    result = session.execute(
        update(VolunteerProfile).where(col(VolunteerProfile.person_id) == volunteer_id).values(weekly_cap=cap)
    )
    return bool(rowcount(result))


def set_support_volunteer(*, session: Session, family_id: int, volunteer_id: int | None) -> int | None:
    """Pair a family with a support volunteer (or unpair); returns the previous one."""
    profile = session.get(FamilyProfile, family_id, populate_existing=True)
    if profile is None:
        return None
    previous = profile.support_volunteer_id
    session.execute(
        update(FamilyProfile).where(col(FamilyProfile.person_id) == family_id).values(support_volunteer_id=volunteer_id)
    )
    return previous


def supported_families(*, session: Session, volunteer_id: int) -> list[Person]:
    return list(
        session.execute(
            select(Person)
            .join(FamilyProfile, col(FamilyProfile.person_id) == col(Person.id))
            .where(col(FamilyProfile.support_volunteer_id) == volunteer_id)
            .order_by(col(Person.display_name))
        ).scalars()
    )


def set_contact(
    *,
    session: Session,
    family_id: int,
    street: str | None = None,
    phone: str | None = None,
    share_phone: bool | None = None,
) -> None:
    """What a family shares with the volunteer who accepts: street, and phone when they agree."""
    where = col(FamilyProfile.person_id) == family_id
    update_given(session, FamilyProfile, where, street=street, phone=phone, share_phone=share_phone)


def counts_by_status(*, session: Session) -> dict[str, int]:
    """How many requests are in each status: the figures that stay after the texts are gone."""
    rows = session.execute(select(col(HelpRequest.status), func.count()).group_by(col(HelpRequest.status))).all()
    return {str(status): int(count) for status, count in rows}
