"""Someone erases their data (/delete): what they leave behind is mended, then they are forgotten.

The use case behind /delete (the dialogue is in `conversations.common`).

Erasure in the middle of work leaves nobody misinformed, all in the one transaction that erases:

* a **family** that leaves cancels its open requests: the volunteer who had accepted one is told (they
  hold the address) and the offers still waiting are withdrawn; its coordinators are told;
* a **volunteer** who leaves gives their tasks back: the family and its coordinators are told and the
  request is offered to others again; offers still waiting go to the next round; the coordinators of a
  family they supported hear it;
* a **coordinator** who leaves hands their families to the duo partner (or an admin), who is told
  (`services.erasure.hand_over_families`); a concern they had taken is open again and goes to the family's
  coordinators; the duo partner is told.

Then `storage.people.erase_person` removes or scrubs every row about them (`storage.privacy`), and every
job about them is cancelled. Notices that name the leaver have purpose `erasure`: once sent, their text
is dropped from the outbox.

The retention job (`privacy.retention`, daily) lives in `services.erasure`; `JOBS` registers it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from domain import requests as request_rules
from services import erasure as erasure_service
from services import match_endings, matching, questions, referrals, timeline
from services.context import JobHandler, Services
from services.erasure import coordinator_leaves, tell
from services.i18n import _, h, hi, use_language
from services.labels import name_of
from services.logs import event
from services.offers import edit_sent_offer
from services.recipients import coordinators_for
from storage import people
from storage import requests as store
from storage import volunteers as volunteer_store
from storage.db import Session
from storage.models import HelpRequest, Person, Role

logger = logging.getLogger(__name__)


def erase(*, session: Session, services: Services, person: Person, now: datetime) -> bool:
    """Erase a person and mend what they leave behind; true when an anonymous safety stub is kept."""
    assert person.id is not None
    keep_stub = people.has_open_safety_case(session=session, person_id=person.id)
    # Their lasting matches end first: the other side is told, without details.
    match_endings.person_leaves(session=session, services=services, person=person, now=now)
    if person.role == Role.FAMILY:
        family_leaves(session=session, services=services, family=person, now=now)
    if people.get_volunteer(session=session, person_id=person.id) is not None or store.volunteer_tasks(
        session=session, volunteer_id=person.id
    ):
        volunteer_leaves(session=session, services=services, volunteer=person, now=now)
    if person.role == Role.COORDINATOR:
        coordinator_leaves(session=session, services=services, coordinator=person, now=now)
    questions.person_leaves(session=session, person=person)
    referrals.person_leaves(session=session, person_id=person.id)
    people.erase_person(session=session, person=person, keep_safety_stub=keep_stub, now=now)
    people.audit(
        session=session, actor_id=None, action="erased", subject_id=person.id, now=now, kept_safety_stub=keep_stub
    )
    return keep_stub


def erase_by_id(*, session: Session, services: Services, person_id: int, now: datetime) -> bool:
    """/delete confirmed: erase the person (read fresh) as `erase` does; true when a safety stub is kept."""
    person = people.get_person(session=session, person_id=person_id)
    assert person is not None and person.id is not None
    return erase(session=session, services=services, person=person, now=now)


def _tell(session: Session, person: Person, key: str, text: str, now: datetime) -> None:
    """A notice about someone who left (`services.erasure.tell`)."""
    tell(session=session, person=person, key=key, text=text, now=now)


def _task_notice(
    session: Session, person: Person, request: HelpRequest, key: str, now: datetime, head: Callable[[], str]
) -> None:
    """A notice about a task: `head()` and the task's summary, in the person's language."""
    with use_language(person.language):
        text = "\n".join([head(), matching.summary(session, request, person, with_family=False)])
    _tell(session, person, key, text, now)


# --- a family leaves ------------------------------------------------------------------------------


def family_leaves(*, session: Session, services: Services, family: Person, now: datetime) -> None:
    """A family leaves: its open requests are cancelled, whoever had one is told, and so are its coordinators."""
    assert family.id is not None
    cancelled = 0
    for request in store.family_requests(session=session, family_id=family.id, limit=1000):
        if request.status not in (request_rules.RequestStatus.OPEN, request_rules.RequestStatus.ACCEPTED):
            continue
        assert request.id is not None
        changed = store.apply_event(
            session=session, request_id=request.id, event=request_rules.RequestEvent.FAMILY_CANCEL, now=now
        )
        if changed is None:
            continue
        request, before = changed
        assert request.id is not None
        cancelled += 1
        _withdraw_quietly(session=session, request=request, now=now)
        matching.cancel_jobs(session, request.id, "request.followup", "request.withdraw")
        matching.closed(session=session, services=services, request=request, now=now)
        if before == request_rules.RequestStatus.ACCEPTED and request.assigned_volunteer_id is not None:
            volunteer = people.get_person(session=session, person_id=request.assigned_volunteer_id)
            if volunteer is not None:
                _task_notice(
                    session,
                    volunteer,
                    request,
                    f"left:{family.id}:task:{request.id}",
                    now,
                    lambda: _(
                        "ℹ️ {family} has left Waakvlam, so this task is cancelled and you do not need to go. "
                        "Please forget the address. Thank you for being ready to help!"
                    ).format(family=hi(name_of(family))),
                )
    for coordinator in coordinators_for(session, family):
        with use_language(coordinator.language):
            lines = [_("{name} has deleted their data and left Waakvlam.").format(name=hi(name_of(family)))]
            if cancelled:
                lines.append(
                    _("Their open requests ({count}) are cancelled; the volunteers involved have been told.").format(
                        count=hi(cancelled)
                    )
                )
        _tell(session, coordinator, f"left:{family.id}:{coordinator.id}", "\n".join(lines), now)
    event(logger, "privacy.family_left", family=family.id, cancelled=cancelled)


def _withdraw_quietly(*, session: Session, request: HelpRequest, now: datetime) -> None:
    """Take back the offers still waiting; a sent one is edited to a short note that no longer names the family."""
    assert request.id is not None
    for offer in store.offers_for(session=session, request_id=request.id):
        if offer.id is None or not store.respond_offer(
            session=session, offer_id=offer.id, response=store.OfferResponse.WITHDRAWN, now=now
        ):
            continue
        if offer.outbox_id is None or store.withdraw_unsent(session=session, outbox_id=offer.outbox_id):
            continue
        row = store.outbox_row(session=session, outbox_id=offer.outbox_id)
        volunteer = people.get_person(session=session, person_id=offer.volunteer_id)
        if row is None or row.telegram_message_id is None or volunteer is None:
            continue
        with use_language(volunteer.language):
            text = f"<i>{h(matching.withdrawn_note(closed=True))}</i>"
        key = f"withdraw:{offer.id}:{row.id}:left"
        edit_sent_offer(session=session, row=row, volunteer=volunteer, key=key, text=text, now=now)


# --- a volunteer leaves ---------------------------------------------------------------------------


def volunteer_leaves(*, session: Session, services: Services, volunteer: Person, now: datetime) -> None:
    """A volunteer leaves: tasks go back to be offered again, waiting offers to the next round, all told."""
    assert volunteer.id is not None
    given_back = 0
    for request in store.volunteer_tasks(session=session, volunteer_id=volunteer.id):
        assert request.id is not None
        changed = store.apply_event(
            session=session,
            request_id=request.id,
            event=request_rules.RequestEvent.VOLUNTEER_CANCEL,
            now=now,
            volunteer_id=volunteer.id,
        )
        if changed is None:
            continue
        request = changed[0]
        assert request.id is not None
        given_back += 1
        offer = store.find_offer(session=session, request_id=request.id, volunteer_id=volunteer.id)
        if offer is not None and offer.id is not None:
            store.respond_offer(session=session, offer_id=offer.id, response=store.OfferResponse.CANCELLED, now=now)
        matching.cancel_jobs(session, request.id, "request.remind", "request.followup")
        family = people.get_person(session=session, person_id=request.family_id)
        if family is not None:
            _task_notice(
                session,
                family,
                request,
                f"left:{volunteer.id}:task:{request.id}",
                now,
                lambda: _(
                    "😔 {volunteer} can no longer help with this request. We are looking for someone else."
                ).format(volunteer=hi(name_of(volunteer))),
            )
            for coordinator in coordinators_for(session, family):
                with use_language(coordinator.language):
                    text = _(
                        "ℹ️ {volunteer} has deleted their data and left Waakvlam. Their task for {family} ({what}) "
                        "is offered to others again."
                    ).format(
                        volunteer=hi(name_of(volunteer)),
                        family=hi(name_of(family)),
                        what=h(matching.kind_label(request.kind)),
                    )
                _tell(session, coordinator, f"left:{volunteer.id}:task:{request.id}:{coordinator.id}", text, now)
        timeline.note(session=session, about=request, kind="request_given_back", now=now)
        matching.search_again(session=session, services=services, request=request, now=now)
    # Offers still waiting for their answer: the next round is asked now instead of waiting for them.
    for offer in store.pending_offers_of(session=session, volunteer_id=volunteer.id):
        assert offer.id is not None
        store.respond_offer(session=session, offer_id=offer.id, response=store.OfferResponse.WITHDRAWN, now=now)
        offered = store.get_request(session=session, request_id=offer.request_id)
        if offered is not None:
            matching.declined(session=session, services=services, request=offered, now=now)
    _support_ends(session=session, volunteer=volunteer, now=now)
    event(logger, "privacy.volunteer_left", volunteer=volunteer.id, given_back=given_back)


def _support_ends(*, session: Session, volunteer: Person, now: datetime) -> None:
    """The coordinators of the families a leaving volunteer supported hear that the support ends."""
    assert volunteer.id is not None
    for family in volunteer_store.supported_families(session=session, volunteer_id=volunteer.id):
        for coordinator in coordinators_for(session, family):
            with use_language(coordinator.language):
                text = _(
                    "ℹ️ {volunteer}, the support volunteer of {family}, has deleted their data and left Waakvlam."
                ).format(volunteer=hi(name_of(volunteer)), family=hi(name_of(family)))
            _tell(session, coordinator, f"left:{volunteer.id}:support:{family.id}:{coordinator.id}", text, now)


JOBS: dict[str, JobHandler] = erasure_service.JOBS
