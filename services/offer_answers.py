"""A volunteer answers an offer (accept, or not this time), and either side of a task says whether it happened.

An offer is answered only by its own volunteer; an accept is checked again (still allowed to accept, and for a
task with children still approved for children with a VOG that counts), and the first accept of anyone wins.
The offer message's new text is returned for the handler to put in place of the old one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from domain import matching as match_rules
from domain import permissions
from domain import requests as rules
from services import matching
from services.context import Services
from services.i18n import _
from services.permissions import actor_of
from services.volunteers import side_of
from storage import matching as match_store
from storage import people
from storage import requests as store
from storage.db import Session
from storage.models import HelpRequest, Person, RequestOffer
from storage.requests import AcceptResult as AcceptResult  # the outcomes the handler renders


@dataclass(frozen=True)
class OfferAnswer:
    """What a tap on an offer did: the outcome, the offer message's new text, and for an accept what to send."""

    outcome: str
    edited: str = ""
    details: str = ""
    request_id: int = 0
    voice: str | None = None


def _still_safe(session: Session, services: Services, request: HelpRequest, volunteer_id: int, now: datetime) -> bool:
    """For a task with children: still approved for children, with a VOG that still counts (checked at accept)."""
    window = matching.match_window(services, now)
    candidate = match_store.candidate(session=session, volunteer_id=volunteer_id, window=window)
    if candidate is None:
        return False
    need = matching.need_for(session, request, matching.zone_of(services))
    return match_rules.is_child_approved(candidate, need) and match_rules.has_valid_vog(
        candidate, need, today=window.today, vog_valid_years=services.settings.vog_valid_years
    )


def _offer_of(
    session: Session, person: Person | None, offer_id: int
) -> tuple[RequestOffer, Person, HelpRequest, str] | None:
    """The offer, the volunteer fresh, its request and the offer message's text, when it is this volunteer's."""
    if person is None or person.id is None:
        return None
    offer = store.get_offer(session=session, offer_id=offer_id)
    fresh = people.get_person(session=session, person_id=person.id)
    request = store.get_request(session=session, request_id=offer.request_id) if offer is not None else None
    if offer is None or fresh is None or request is None or offer.volunteer_id != person.id:
        return None
    row = store.outbox_row(session=session, outbox_id=offer.outbox_id) if offer.outbox_id else None
    return offer, fresh, request, str(row.payload.get("text", "")) if row is not None else ""


def _answered_before(offer: RequestOffer, request: HelpRequest, person: Person, original: str) -> OfferAnswer:
    """An offer answered before, or a request taken or closed meanwhile."""
    if offer.response == store.OfferResponse.ACCEPTED and request.assigned_volunteer_id == person.id:
        return OfferAnswer(store.AcceptResult.ALREADY_YOURS)
    if offer.response == store.OfferResponse.DECLINED:
        return OfferAnswer("already_declined")
    return _too_late(original, closed=rules.is_closed(request.status))


def _too_late(original: str, *, closed: bool) -> OfferAnswer:
    """The request was closed or taken by someone else: the offer message says so."""
    outcome = store.AcceptResult.CLOSED if closed else store.AcceptResult.TAKEN
    return OfferAnswer(outcome, matching.offer_ended_text(original, matching.withdrawn_note(closed=closed)))


def accept_offer(
    *, session: Session, services: Services, person: Person | None, offer_id: int, now: datetime
) -> OfferAnswer:
    """Accept: this volunteer's own offer only, still allowed and safe; the first accept of anyone wins."""
    found = _offer_of(session, person, offer_id)
    if found is None:
        return OfferAnswer("stale")
    _offer, fresh, request, original = found
    volunteer_id = fresh.id or 0
    actor = actor_of(session=session, person=fresh)
    allowed = permissions.can_accept_request(actor, offer_exists=True, request_family_id=request.family_id)
    if not allowed or not _still_safe(session, services, request, volunteer_id, now):
        return OfferAnswer("not_allowed")
    outcome = store.accept(session=session, request_id=request.id or 0, volunteer_id=volunteer_id, now=now)
    if outcome != store.AcceptResult.ACCEPTED:
        return _ended(outcome, original)
    matching.accepted(session=session, services=services, request=request, volunteer=fresh, now=now)
    request = store.get_request(session=session, request_id=request.id or 0) or request
    edited = matching.summary(session, request, fresh) + "\n\n" + _("✅ You accepted this.")
    details = matching.details(session, request, fresh)
    return OfferAnswer(outcome, edited, details, request.id or 0, request.voice_file_id)


def _ended(outcome: str, original: str) -> OfferAnswer:
    """An accept that came too late: the offer message says so."""
    if outcome in (store.AcceptResult.TAKEN, store.AcceptResult.CLOSED):
        return _too_late(original, closed=outcome == store.AcceptResult.CLOSED)
    return OfferAnswer(outcome)


def decline_offer(
    *, session: Session, services: Services, person: Person | None, offer_id: int, now: datetime
) -> OfferAnswer:
    """Not this time: recorded once; the next volunteer may be asked."""
    found = _offer_of(session, person, offer_id)
    if found is None:
        return OfferAnswer("stale")
    offer, fresh, request, original = found
    if not store.respond_offer(session=session, offer_id=offer_id, response=store.OfferResponse.DECLINED, now=now):
        return _answered_before(offer, request, fresh, original)
    matching.declined(session=session, services=services, request=request, now=now)
    note = _("You passed on this one. Thank you for letting us know.")
    return OfferAnswer("declined", matching.offer_ended_text(original, note))


def record_outcome(
    *, session: Session, services: Services, person: Person | None, request_id: int, happened: bool, now: datetime
) -> tuple[str | None, bool]:
    """Did it happen? Either side answers once; the first answer closes the request. (side, recorded)."""
    request = store.get_request(session=session, request_id=request_id)
    fresh = people.get_person(session=session, person_id=person.id) if person and person.id else None
    if request is None or fresh is None or request.status == rules.RequestStatus.OPEN:
        return None, False
    side = side_of(request, fresh)
    answerable = (rules.RequestStatus.ACCEPTED, rules.RequestStatus.DONE, rules.RequestStatus.NOT_HAPPENED)
    if side is None or request.status not in answerable:
        return side, False
    recorded = matching.record_outcome(
        session=session, services=services, request=request, person=fresh, happened=happened, now=now
    )
    return side, recorded
