"""Help requests, the offers made to volunteers, outcomes and retention.

Every change two people (or two taps) could race for is one conditional UPDATE that names the status it
expects, so it takes effect at most once on SQLite and PostgreSQL alike: of two volunteers tapping
Accept in the same second, exactly one UPDATE matches `status = 'open'`; the other touches no row.

The volunteers a request could go to are found by `storage.matching`; volunteer approval, pauses and caps
are in `storage.volunteers`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from enum import StrEnum

from sqlalchemy import func, select, update
from sqlmodel import Session, col

from domain import requests as rules
from storage.db import fresh, insert_new, of_families, saved, set_once, update_given, updated
from storage.models import (
    FamilyProfile,
    HelpRequest,
    JobStatus,
    OutboxMessage,
    OutboxStatus,
    RequestOffer,
    ScheduledJob,
    TaskOutcome,
    TimelineEvent,
    VolunteerProfile,
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
    """Record a new help request, open, as the family or a coordinator asked it."""
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


def open_requests(
    *, session: Session, family_ids: Sequence[int] | None = None, limit: int = 20, team_id: int | None = None
) -> list[HelpRequest]:
    """Requests nobody has accepted yet, oldest first; only these families' (or this team's) when given."""
    query = select(HelpRequest).where(col(HelpRequest.status) == rules.RequestStatus.OPEN)
    if team_id is not None:
        in_team = select(col(FamilyProfile.person_id)).where(col(FamilyProfile.team_id) == team_id)
        query = query.where(col(HelpRequest.family_id).in_(in_team))
    query = of_families(query, HelpRequest.family_id, family_ids)
    return list(session.scalars(query.order_by(col(HelpRequest.created_at), col(HelpRequest.id)).limit(limit)))


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
    if not updated(session, HelpRequest, *conditions, **values):
        return None
    session.refresh(request)
    return request, before


def accept(*, session: Session, request_id: int, volunteer_id: int, now: datetime) -> AcceptResult:
    """First accept wins: one conditional UPDATE; a second tap or a second volunteer changes nothing."""
    still_open = col(HelpRequest.id) == request_id, col(HelpRequest.status) == rules.RequestStatus.OPEN
    accepted = {"status": rules.RequestStatus.ACCEPTED, "assigned_volunteer_id": volunteer_id, "accepted_at": now}
    if updated(session, HelpRequest, *still_open, **accepted):
        offer = col(RequestOffer.request_id) == request_id, col(RequestOffer.volunteer_id) == volunteer_id
        updated(session, RequestOffer, *offer, response=OfferResponse.ACCEPTED, responded_at=now)
        return AcceptResult.ACCEPTED
    request = get_request(session=session, request_id=request_id)
    if request is None or rules.is_closed(request.status):
        return AcceptResult.CLOSED
    if request.assigned_volunteer_id == volunteer_id:
        return AcceptResult.ALREADY_YOURS
    return AcceptResult.TAKEN


def mark_escalated(*, session: Session, request_id: int, now: datetime) -> bool:
    """Note that coordinators were told nobody accepted; true only the first time."""
    still_open = col(HelpRequest.status) == rules.RequestStatus.OPEN
    return set_once(session, HelpRequest, request_id, HelpRequest.escalated_at, still_open, escalated_at=now)


# --- offers ---------------------------------------------------------------------------------------


def record_offer(*, session: Session, request_id: int, volunteer_id: int, now: datetime) -> RequestOffer | None:
    """Remember that a volunteer was offered a request; None when they already were."""
    offer = dict(request_id=request_id, volunteer_id=volunteer_id, offered_at=now, response=OfferResponse.PENDING)
    key = ["request_id", "volunteer_id"]
    offer_id = insert_new(session, RequestOffer, offer, conflict=key, returning=col(RequestOffer.id))
    if offer_id is None:
        return None
    updated(session, VolunteerProfile, col(VolunteerProfile.person_id) == volunteer_id, last_asked_at=now)
    return fresh(session, RequestOffer, offer_id)


def link_offer_message(*, session: Session, offer_id: int, dedupe_key: str) -> int | None:
    """Link an offer to its outbox row (found by dedupe key), so its buttons can be withdrawn later."""
    outbox_id = session.execute(
        select(col(OutboxMessage.id)).where(col(OutboxMessage.dedupe_key) == dedupe_key)
    ).scalar_one_or_none()
    if outbox_id is not None:
        updated(session, RequestOffer, col(RequestOffer.id) == offer_id, outbox_id=outbox_id)
    return outbox_id


def get_offer(*, session: Session, offer_id: int) -> RequestOffer | None:
    """An offer of a request to a volunteer, read fresh, or None."""
    return fresh(session, RequestOffer, offer_id)


def offer_again(*, session: Session, offer: RequestOffer, now: datetime) -> None:
    """Ask the volunteer again on an offer they answered before: pending once more, offered now."""
    offer.response = OfferResponse.PENDING
    offer.responded_at = None
    offer.offered_at = now
    saved(session, offer)


def cancel_offer(*, session: Session, offer: RequestOffer, now: datetime) -> None:
    """The volunteer gave an accepted task back."""
    offer.response = OfferResponse.CANCELLED
    offer.responded_at = now
    saved(session, offer)


def find_offer(*, session: Session, request_id: int, volunteer_id: int) -> RequestOffer | None:
    """The offer of this request to this volunteer, or None if they were never asked."""
    return session.execute(
        select(RequestOffer).where(
            col(RequestOffer.request_id) == request_id, col(RequestOffer.volunteer_id) == volunteer_id
        )
    ).scalar_one_or_none()


def respond_offer(*, session: Session, offer_id: int, response: OfferResponse, now: datetime) -> bool:
    """Record a volunteer's answer to an offer that is still waiting for one; true if it was."""
    pending = col(RequestOffer.id) == offer_id, col(RequestOffer.response) == OfferResponse.PENDING
    return bool(updated(session, RequestOffer, *pending, response=response, responded_at=now))


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
    """Every offer of a request, in the order they were made."""
    return list(
        session.execute(
            select(RequestOffer).where(col(RequestOffer.request_id) == request_id).order_by(col(RequestOffer.id))
        ).scalars()
    )


def offered_ids(*, session: Session, request_id: int) -> set[int]:
    """The volunteers a request has been offered to."""
    return set(
        session.scalars(select(col(RequestOffer.volunteer_id)).where(col(RequestOffer.request_id) == request_id))
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
    pending = col(OutboxMessage.id) == outbox_id, col(OutboxMessage.status) == OutboxStatus.PENDING
    withdrawn = "withdrawn before sending: the request was taken or closed"
    return bool(updated(session, OutboxMessage, *pending, status=OutboxStatus.FAILED, last_error=withdrawn))


def has_pending_job(*, session: Session, kind: str, subject_id: int) -> bool:
    """Whether a job of this kind for this subject is still waiting to run."""
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
    """An outbox message, read fresh, or None."""
    return fresh(session, OutboxMessage, outbox_id)


# --- outcomes -------------------------------------------------------------------------------------


def record_outcome(*, session: Session, request_id: int, person_id: int, outcome: str, now: datetime) -> bool:
    """One outcome per person and request; true when this one is new."""
    row = {"request_id": request_id, "person_id": person_id, "outcome": outcome, "created_at": now}
    key = ["request_id", "person_id"]
    return insert_new(session, TaskOutcome, row, conflict=key, returning=col(TaskOutcome.id)) is not None


def get_outcome(*, session: Session, request_id: int, person_id: int) -> TaskOutcome | None:
    """How this person said a task went, read fresh, or None."""
    return session.execute(
        select(TaskOutcome)
        .where(col(TaskOutcome.request_id) == request_id, col(TaskOutcome.person_id) == person_id)
        .execution_options(populate_existing=True)
    ).scalar_one_or_none()


def outcomes_for(*, session: Session, request_id: int) -> list[TaskOutcome]:
    """What the family and the volunteer said about how a task went."""
    return list(session.execute(select(TaskOutcome).where(col(TaskOutcome.request_id) == request_id)).scalars())


def set_rating(*, session: Session, request_id: int, person_id: int, rating: str) -> bool:
    """The debrief's first tap; only once."""
    unrated = col(TaskOutcome.request_id) == request_id, col(TaskOutcome.person_id) == person_id
    return bool(updated(session, TaskOutcome, *unrated, col(TaskOutcome.rating).is_(None), rating=rating))


def was_thanked(*, session: Session, request_id: int) -> bool:
    """Whether the family already thanked the volunteer for this task."""
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


# --- family contact and counts ----------------------------------------------------------------


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
