"""The requests nobody took: a coordinator sees those of the families they may see, and asks one named
volunteer personally (only volunteers who may do the task; for children, approved for children with a VOG
that counts). The volunteer still accepts or passes like any offer."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from domain import requests as rules
from services import matching
from services.approvals import coordinator_of, may_see
from services.concerns import name_of
from services.context import Services
from services.permissions import Action, team_scope
from storage import matching as match_store
from storage import people
from storage import requests as store
from storage.db import Session
from storage.models import HelpRequest, Person

MAX_OPTIONS = 24  # volunteers offered as buttons
MAX_REQUESTS = 100  # open requests looked at


@dataclass(frozen=True)
class OpenRequest:
    """An open request with its family, its neighbourhood's name and how many were asked."""

    request: HelpRequest
    family: Person | None
    area: str
    asked: int


def open_requests(
    *, session: Session, person: Person | None, now: datetime, limit: int
) -> tuple[Person, list[OpenRequest]] | None:
    """The coordinator and the open requests of the families they may see (None for anyone else)."""
    coordinator = coordinator_of(session=session, person=person, now=now, action=Action.SEE_REQUESTS)
    if coordinator is None:
        return None
    items = [
        request
        for request in store.open_requests(session=session, limit=MAX_REQUESTS, team_id=team_scope(coordinator))
        if may_see(session=session, coordinator=coordinator, family_id=request.family_id)
    ][:limit]
    return coordinator, [
        OpenRequest(
            request,
            people.get_person(session=session, person_id=request.family_id),
            matching.area_name(session, request),
            len(store.offered_ids(session=session, request_id=request.id or 0)),
        )
        for request in items
    ]


@dataclass(frozen=True)
class Placing:
    """Placing a request: still open for this coordinator (`ok`), its summary, and whom they may ask."""

    request: HelpRequest
    ok: bool
    summary: str = ""
    options: list[tuple[Person, bool]] = field(default_factory=list)


def placing(
    *, session: Session, services: Services, person: Person | None, request_id: int, now: datetime
) -> Placing | None:
    """Whom the coordinator may ask for this request (and whether each fits well); None for a forged button."""
    coordinator = coordinator_of(session=session, person=person, now=now)
    request = store.get_request(session=session, request_id=request_id)
    if coordinator is None or request is None:
        return None
    if not _open_for(session, coordinator, request, now):
        return Placing(request, False)
    summary = matching.summary(session, request, coordinator)
    return Placing(request, True, summary, _placeable(session, services, request, now))


def _placeable(session: Session, services: Services, request: HelpRequest, now: datetime) -> list[tuple[Person, bool]]:
    """The volunteers who may do this task (for children: with a valid VOG), and whether each fits well."""
    return match_store.placeable_volunteers(
        session=session,
        need=matching.need_for(session, request, matching.zone_of(services)),
        window=matching.match_window(services, now),
        limit=MAX_OPTIONS,
    )


def _open_for(session: Session, coordinator: Person | None, request: HelpRequest | None, now: datetime) -> bool:
    """Whether this coordinator may place this request now (still open, a family they may see; audited)."""
    return (
        coordinator is not None
        and request is not None
        and request.status == rules.RequestStatus.OPEN
        and may_see(session=session, coordinator=coordinator, family_id=request.family_id, now=now)
    )


def place_with(
    *, session: Session, services: Services, person: Person | None, request_id: int, volunteer_id: int, now: datetime
) -> tuple[str, str]:
    """Offer the request to one named volunteer: (forged | stale | not_allowed | asked | waiting, their name)."""
    coordinator = coordinator_of(session=session, person=person, now=now)
    request = store.get_request(session=session, request_id=request_id)
    volunteer = people.get_person(session=session, person_id=volunteer_id)
    if coordinator is None or request is None or volunteer is None:
        return "forged", ""
    if not _open_for(session, coordinator, request, now):
        return "stale", ""
    name = name_of(volunteer)
    if volunteer.id not in {found.id for found, _fits in _placeable(session, services, request, now)}:
        return "not_allowed", name
    if not matching.send_offer(
        session=session, request=request, volunteer=volunteer, now=now, how="placed", placed_by=coordinator
    ):
        return "waiting", name
    store.mark_escalated(session=session, request_id=request.id or 0, now=now)
    people.audit(
        session=session,
        actor_id=coordinator.id,
        action="request_placed",
        subject_id=request.family_id,
        now=now,
        request=request.id,
        volunteer=volunteer.id,
    )
    return "asked", name
