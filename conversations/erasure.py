"""Someone erases their data (/delete), and the retention policy that forgets what is no longer needed.

Erasure in the middle of work leaves nobody misinformed, all in the one transaction that erases:

* a **family** that leaves cancels its open requests: the volunteer who had accepted one is told (they
  hold the address) and the offers still waiting are withdrawn; its coordinators are told;
* a **volunteer** who leaves gives their tasks back: the family and its coordinators are told and the
  request is offered to others again; offers still waiting go to the next round; the coordinators of a
  family they supported hear it;
* a **coordinator** who leaves hands their families to the duo partner (or an admin), who is told; a
  concern they had taken is open again and goes to the family's coordinators; the duo partner is told.

Then `storage.people.erase_person` removes or scrubs every row about them (`storage.privacy`), and every
job about them is cancelled. Notices that name the leaver have purpose `erasure`: once sent, their text
is dropped from the outbox.

The retention job (`privacy.retention`, daily) deletes handled updates, sent messages, poison rows,
finished jobs, abandoned dialogue drafts and old invites after the periods in the settings.
"""

from __future__ import annotations

import logging
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from conversations import alerts, concerns
from conversations.ui import notify
from domain import requests as request_rules
from services import matching
from services.context import JobHandler, Services
from services.i18n import _, h, hi, use_language
from services.logs import event
from storage import delivery, people, retention
from storage import requests as store
from storage.db import Session
from storage.models import Concern, FamilyProfile, HelpRequest, Person, Role
from storage.privacy import PURPOSE_ERASURE

logger = logging.getLogger(__name__)

RETENTION_KIND = "privacy.retention"
RETENTION_AT = time(3, 30)


def erase(*, session: Session, services: Services, person: Person, now: datetime) -> bool:
    """Erase a person and mend what they leave behind; true when an anonymous safety stub is kept."""
    assert person.id is not None
    keep_stub = people.has_open_safety_case(session=session, person_id=person.id)
    if person.role == Role.FAMILY:
        family_leaves(session=session, services=services, family=person, now=now)
    if people.get_volunteer(session=session, person_id=person.id) is not None or store.volunteer_tasks(
        session=session, volunteer_id=person.id
    ):
        volunteer_leaves(session=session, services=services, volunteer=person, now=now)
    if person.role == Role.COORDINATOR:
        coordinator_leaves(session=session, services=services, coordinator=person, now=now)
    people.erase_person(session=session, person=person, keep_safety_stub=keep_stub, now=now)
    people.audit(
        session=session, actor_id=None, action="erased", subject_id=person.id, now=now, kept_safety_stub=keep_stub
    )
    return keep_stub


def _tell(session: Session, person: Person, key: str, text: str, now: datetime, **extra: Any) -> None:
    notify(session=session, person=person, key=key[:128], text=text, now=now, purpose=PURPOSE_ERASURE, **extra)


# --- a family leaves ------------------------------------------------------------------------------


def family_leaves(*, session: Session, services: Services, family: Person, now: datetime) -> None:
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
                with use_language(volunteer.language):
                    text = "\n".join(
                        [
                            _(
                                "ℹ️ {family} has left Waakvlam, so this task is cancelled and you do not need to go. "
                                "Please forget the address. Thank you for being ready to help!"
                            ).format(family=hi(matching.name_of(family))),
                            matching.summary(session, request, volunteer, with_family=False),
                        ]
                    )
                _tell(session, volunteer, f"left:{family.id}:task:{request.id}", text, now)
    for coordinator in alerts.coordinators_for(session, family):
        with use_language(coordinator.language):
            lines = [_("{name} has deleted their data and left Waakvlam.").format(name=hi(alerts.display(family)))]
            if cancelled:
                lines.append(
                    _("Their open requests ({count}) are cancelled; the volunteers involved have been told.").format(
                        count=hi(cancelled)
                    )
                )
        _tell(session, coordinator, f"left:{family.id}:{coordinator.id}", "\n".join(lines), now, markup=None)
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
            note = matching.withdrawn_note(closed=True)
        delivery.enqueue(
            session=session,
            dedupe_key=f"withdraw:{offer.id}:{row.id}:left",
            chat_id=row.chat_id,
            person_id=volunteer.id,
            method="editMessageText",
            payload={
                "chat_id": row.chat_id,
                "message_id": row.telegram_message_id,
                "text": f"<i>{h(note)}</i>",
                "parse_mode": "HTML",
            },
            now=now,
            purpose=matching.PURPOSE_WITHDRAW,
        )


# --- a volunteer leaves ---------------------------------------------------------------------------


def volunteer_leaves(*, session: Session, services: Services, volunteer: Person, now: datetime) -> None:
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
            with use_language(family.language):
                text = "\n".join(
                    [
                        _(
                            "😔 {volunteer} can no longer help with this request. We are looking for someone else."
                        ).format(volunteer=hi(matching.name_of(volunteer))),
                        matching.summary(session, request, family, with_family=False),
                    ]
                )
            _tell(session, family, f"left:{volunteer.id}:task:{request.id}", text, now)
            for coordinator in alerts.coordinators_for(session, family):
                with use_language(coordinator.language):
                    text = _(
                        "ℹ️ {volunteer} has deleted their data and left Waakvlam. Their task for {family} ({what}) "
                        "is offered to others again."
                    ).format(
                        volunteer=hi(matching.name_of(volunteer)),
                        family=hi(matching.name_of(family)),
                        what=h(matching.kind_label(request.kind)),
                    )
                _tell(session, coordinator, f"left:{volunteer.id}:task:{request.id}:{coordinator.id}", text, now)
        people.add_timeline(
            session=session, family_id=request.family_id, kind="request_given_back", now=now, ref_id=request.id
        )
        matching.search_again(session=session, services=services, request=request, now=now)
    # Offers still waiting for their answer: the next round is asked now instead of waiting for them.
    for offer in store.pending_offers_of(session=session, volunteer_id=volunteer.id):
        assert offer.id is not None
        store.respond_offer(session=session, offer_id=offer.id, response=store.OfferResponse.WITHDRAWN, now=now)
        offered = store.get_request(session=session, request_id=offer.request_id)
        if offered is not None:
            matching.declined(session=session, services=services, request=offered, now=now)
    for family in store.supported_families(session=session, volunteer_id=volunteer.id):
        for coordinator in alerts.coordinators_for(session, family):
            with use_language(coordinator.language):
                text = _(
                    "ℹ️ {volunteer}, the support volunteer of {family}, has deleted their data and left Waakvlam."
                ).format(volunteer=hi(matching.name_of(volunteer)), family=hi(matching.name_of(family)))
            _tell(session, coordinator, f"left:{volunteer.id}:support:{family.id}:{coordinator.id}", text, now)
    event(logger, "privacy.volunteer_left", volunteer=volunteer.id, given_back=given_back)


# --- a coordinator leaves -------------------------------------------------------------------------


def coordinator_leaves(*, session: Session, services: Services, coordinator: Person, now: datetime) -> None:
    assert coordinator.id is not None
    pid = coordinator.id
    own = people.get_coordinator(session=session, person_id=pid)
    duo_partner_id = own.duo_partner_id if own is not None else None
    taken_over: dict[int, list[str]] = {}
    for profile in people.families_of_coordinator(session=session, coordinator_id=pid):
        family = people.get_person(session=session, person_id=profile.person_id)
        if profile.primary_coordinator_id == pid:
            successor = _successor(session, coordinator, profile)
            profile.primary_coordinator_id = successor
            partner = people.get_coordinator(session=session, person_id=successor) if successor else None
            profile.partner_coordinator_id = (
                partner.duo_partner_id if partner is not None and partner.duo_partner_id != pid else None
            )
            if successor is not None and family is not None and family.display_name:
                taken_over.setdefault(successor, []).append(family.display_name)
        else:
            profile.partner_coordinator_id = None
        session.add(profile)
    session.flush()
    told: set[int] = set()
    for successor_id, names in taken_over.items():
        heir = people.get_person(session=session, person_id=successor_id)
        if heir is None:
            continue
        with use_language(heir.language):
            text = "\n".join(
                [
                    _("📋 {coordinator} has left Waakvlam.").format(coordinator=hi(matching.name_of(coordinator))),
                    _("You are now the primary coordinator of: {families}.").format(
                        families=", ".join(hi(name) for name in sorted(names))
                    ),
                ]
            )
        _tell(session, heir, f"left:{pid}:families:{successor_id}", text, now)
        told.add(successor_id)
    if duo_partner_id is not None and duo_partner_id not in told:
        partner_person = people.get_person(session=session, person_id=duo_partner_id)
        if partner_person is not None:
            with use_language(partner_person.language):
                text = _("📋 {coordinator}, your duo partner, has left Waakvlam.").format(
                    coordinator=hi(matching.name_of(coordinator))
                )
            _tell(session, partner_person, f"left:{pid}:duo:{duo_partner_id}", text, now)
    for concern in people.concerns_claimed_by(session=session, coordinator_id=pid):
        _reopen_concern(session=session, services=services, concern=concern, coordinator=coordinator, now=now)
    event(logger, "privacy.coordinator_left", coordinator=pid, handed_over=sum(map(len, taken_over.values())))


def _successor(session: Session, leaving: Person, profile: FamilyProfile) -> int | None:
    """Who takes a family over: its duo partner coordinator, else the leaver's duo partner, else an admin."""
    own = people.get_coordinator(session=session, person_id=leaving.id or 0)
    for candidate in (profile.partner_coordinator_id, own.duo_partner_id if own else None):
        if candidate is not None and candidate != leaving.id:
            found = people.get_person(session=session, person_id=candidate)
            if found is not None and found.role == Role.COORDINATOR and found.telegram_id is not None:
                return candidate
    for admin in people.admins(session=session):
        if admin.id != leaving.id:
            return admin.id
    others = [c for c in people.coordinators(session=session) if c.id != leaving.id]
    return others[0].id if others else None


def _reopen_concern(
    *, session: Session, services: Services, concern: Concern, coordinator: Person, now: datetime
) -> None:
    """A concern the leaver had taken is open again: the family's coordinators get it with the Take button,
    and the escalation chain goes on if nobody takes it."""
    assert concern.id is not None
    people.reopen_concern(session=session, concern_id=concern.id)
    session.refresh(concern)
    family = people.get_person(session=session, person_id=concern.family_id) if concern.family_id else None
    recipients = (
        alerts.coordinators_for(session, family) if family is not None else people.coordinators(session=session)
    )
    for recipient in recipients:
        if recipient.id == coordinator.id or recipient.telegram_id is None:
            continue
        with use_language(recipient.language):
            head = _("⚠️ {coordinator} had taken this concern but has left Waakvlam. Please pick it up.").format(
                coordinator=hi(matching.name_of(coordinator))
            )
            card = concerns.concern_card(
                session,
                services,
                concern,
                language=recipient.language,
                level=concern.escalation_level,
                private=True,
                now=now,
            )
            markup = concerns.concern_markup(concern, private=True)
        key = f"left:{coordinator.id}:concern:{concern.id}:{recipient.id}"
        _tell(session, recipient, key, f"{head}\n\n{card}", now, markup=markup)
    due = concerns.rules.next_escalation_at(
        level=concern.escalation_level, now=now, policy=concerns.policy(services), urgent=concern.urgent
    )
    if due is not None:
        delivery.schedule_job(
            session=session,
            kind="concern.escalate",
            due_at=due,
            dedupe_key=f"concern.escalate:{concern.id}:reopened:{int(now.timestamp())}",
            now=now,
            subject_id=concern.id,
        )
    if family is not None:
        people.add_timeline(session=session, family_id=family.id, kind="concern_reopened", now=now, ref_id=concern.id)


# --- retention ------------------------------------------------------------------------------------


def _next_run(services: Services, after: datetime) -> datetime:
    zone = ZoneInfo(services.settings.timezone)
    local = after.astimezone(zone)
    moment = datetime.combine(local.date(), RETENTION_AT, tzinfo=zone)
    if moment <= local:
        moment = datetime.combine(local.date() + timedelta(days=1), RETENTION_AT, tzinfo=zone)
    return moment


def schedule_retention(*, session: Session, services: Services, after: datetime, now: datetime) -> None:
    due = _next_run(services, after)
    delivery.schedule_job(
        session=session, kind=RETENTION_KIND, due_at=due, dedupe_key=f"{RETENTION_KIND}:{due:%Y%m%d}", now=now
    )


def ensure_retention(services: Services) -> None:
    """At start: make sure the next retention run is scheduled (a no-op when it already is)."""
    now = services.clock.now()
    with services.db.session() as session:
        schedule_retention(session=session, services=services, after=now, now=now)


def retention_job(*, session: Session, job: Any, services: Services, now: datetime) -> None:
    """`privacy.retention`: forget what has been kept long enough, then schedule tomorrow's run."""
    settings = services.settings
    counts = retention.purge(
        session=session,
        now=now,
        handled_updates=timedelta(days=settings.retention_handled_updates_days),
        sent_messages=timedelta(days=settings.retention_sent_messages_days),
        poison=timedelta(days=settings.retention_poison_days),
        finished_jobs=timedelta(days=settings.retention_finished_jobs_days),
        dialogues=timedelta(days=settings.retention_dialogue_days),
        invites=timedelta(days=settings.retention_invites_days),
    )
    event(logger, "privacy.retention", **counts)
    schedule_retention(session=session, services=services, after=now, now=now)


JOBS: dict[str, JobHandler] = {RETENTION_KIND: retention_job}
