"""A family's help requests as use cases: asking (also on its behalf), cancelling, thanking, giving back.

The chat's dialogue (`conversations.requests`) collects the answers and calls `send_request` once;
`conversations.my_requests` shows the family's requests and calls the rest. Every function checks rights and
state again on the server: a button can be old or forged.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from domain import permissions
from domain import requests as rules
from services import match_giveback, matching
from services.callbacks import Button
from services.context import Services
from services.i18n import _, h, hi, use_language
from services.logs import event
from services.permissions import Action, actor_of, authorize
from services.recipients import coordinators_for
from services.request_basics import name_of, summary, tell
from services.tasks import kind_label
from storage import people
from storage import requests as store
from storage.db import Session
from storage.models import FamilyProfile, HelpRequest, Person

logger = logging.getLogger(__name__)

# The request dialogue's buttons (callback data unchanged: rq:kind:lift, rq:day:20260301, rq:cx:42, ...).
KIND = Button("rq", "kind", str)
KIDS = Button("rq", "kids", str)  # "yes" / "no"
DAY = Button("rq", "day", str)  # YYYYMMDD, or "flex"
TIME = Button("rq", "time", str)  # a part of the day
AREA = Button("rq", "area", str)  # an area id, or "none"
STREET = Button("rq", "street", str)  # "skip"
NOTE = Button("rq", "note", str)  # "skip"
CONFIRM = Button("rq", "ok", str)  # "send" / "again" / "stop"
FOR_FAMILY = Button("rq", "for", int)  # a coordinator asks on this family's behalf
# Buttons outside the dialogue.
CANCEL = Button("rq", "cx", int)
CANCEL_YES = Button("rq", "cxy", int)
KEEP = Button("rq", "keep", int)
THANK = Button("rq", "thank", int)
GIVE = Button("rq", "give", str)  # what
GIVE_TO = Button("rq", "to", str, str)  # what, "support" / "hood"

GIVE_BACK = ["meal", "babysitting", "groceries", "company", "chores", "other"]
GIVE_TARGETS = ("support", "hood")


@dataclass(frozen=True)
class NewRequest:
    """Everything the family answered, as the dialogue hands it over to be sent."""

    family_id: int
    behalf: bool
    kind: str
    involves_children: bool
    starts_at: datetime | None
    ends_at: datetime | None
    flexible_week: bool
    area_id: int | None
    destination: str | None
    note: str | None
    voice_file_id: str | None
    street: str | None
    phone: str | None
    # Volunteers not to ask (a match's helper who called this time off): recorded as having said no.
    not_asked: tuple[int, ...] = ()

    def stored(self) -> dict[str, Any]:
        """The answers the request itself keeps (not the contact details, nor whom not to ask)."""
        return {name: getattr(self, name) for name in STORED_ANSWERS}


# The request's columns that take the dialogue's answers as they are.
STORED_ANSWERS = (
    "family_id",
    "kind",
    "involves_children",
    "starts_at",
    "ends_at",
    "flexible_week",
    "area_id",
    "destination",
    "note",
    "voice_file_id",
)


class Sent(StrEnum):
    """What became of sending a request."""

    REFUSED = "refused"
    ASKING = "asking"  # volunteers are being asked
    NOBODY = "nobody"  # nobody fits now: the coordinators were asked
    BEHALF = "behalf"  # sent on a family's behalf


class Cancelled(StrEnum):
    """What became of a family's cancel."""

    REFUSED = "refused"
    ALREADY_CLOSED = "already_closed"
    CANCELLED = "cancelled"


@dataclass(frozen=True)
class Thanked:
    """Whether the thanks went out, and to whom."""

    sent: bool
    volunteer_name: str


@dataclass(frozen=True)
class FamilyStart:
    """Where a new request starts: the family, its time zone, and what its profile already knows."""

    family_id: int
    zone: str
    area_id: int | None
    has_street: bool
    family_name: str


@dataclass(frozen=True)
class Listed:
    """One of the family's requests as My requests shows it."""

    request: HelpRequest
    withdrawable: bool
    status: str
    thank_name: str | None  # the volunteer to thank, when that is still to do


def is_family(person: Person | None) -> bool:
    """A signed-up family (consented): who asks for help, by `domain.permissions.can_create_request`."""
    if person is None:
        return False
    role = person.role if person.consent_at is not None else None
    actor = permissions.Actor(person_id=person.id or 0, role=role, is_admin=person.is_admin, volunteer_status=None)
    return permissions.can_create_request(actor)


def _profile(session: Session, person: Person | None) -> FamilyProfile | None:
    """The person's family profile, if any."""
    return people.get_family(session=session, person_id=person.id) if person and person.id else None


def may_act_for(*, session: Session, coordinator: Person | None, family: Person, now: datetime | None) -> bool:
    """A coordinator asks on a family's behalf: see `domain.permissions.Action.ACT_FOR_FAMILY` (audited with `now`)."""
    action = Action.ACT_FOR_FAMILY
    return bool(
        authorize(
            session=session, actor=coordinator, action=action, family_id=family.id, now=now, audit=now is not None
        )
    )


def start_for(*, session: Session, person_id: int | None, family_id: int | None, now: datetime) -> FamilyStart | None:
    """A new request for the family itself (family_id None) or, by a coordinator, on a family's behalf."""
    person = people.get_person(session=session, person_id=person_id) if person_id else None
    if person is None:
        return None
    family = person if family_id is None else people.get_person(session=session, person_id=family_id)
    profile = _profile(session, family)
    if family is None or family.id is None or profile is None or not is_family(family):
        return None
    if family_id is not None and not may_act_for(session=session, coordinator=person, family=family, now=now):
        return None
    return FamilyStart(
        family_id=family.id,
        zone=family.timezone,
        area_id=profile.area_id,
        has_street=bool(profile.street),
        family_name=name_of(family),
    )


def _may_send(session: Session, person: Person | None, family: Person | None, *, behalf: bool) -> bool:
    """The family itself, or a coordinator who may see the family's file (checked again when sending)."""
    if person is None or family is None or _profile(session, family) is None or not is_family(family):
        return False
    if not behalf:
        return person.id == family.id
    return may_act_for(session=session, coordinator=person, family=family, now=None)


def send_request(*, session: Session, services: Services, person_id: int, new: NewRequest, now: datetime) -> Sent:
    """Store the request (and what the family told about itself), start asking volunteers, tell the family."""
    person = people.get_person(session=session, person_id=person_id)
    family = people.get_person(session=session, person_id=new.family_id)
    if not _may_send(session, person, family, behalf=new.behalf):
        return Sent.REFUSED
    assert person is not None and person.id is not None and family is not None and family.id is not None
    if not new.behalf and new.street:
        store.set_contact(
            session=session, family_id=family.id, street=new.street, phone=new.phone, share_phone=bool(new.phone)
        )
    if new.area_id is not None:
        # Asked because the family had no neighbourhood yet: keep it, so the next request knows it.
        people.remember_family_area(session=session, family_id=family.id, area_id=new.area_id)
    request = store.create_request(session=session, created_by_id=person.id, now=now, **new.stored())
    for volunteer_id in new.not_asked:
        offer = store.record_offer(session=session, request_id=request.id or 0, volunteer_id=volunteer_id, now=now)
        if offer is not None and offer.id is not None:
            store.respond_offer(session=session, offer_id=offer.id, response=store.OfferResponse.DECLINED, now=now)
    asked = matching.start(session=session, services=services, request=request, now=now)
    event(logger, "request.created", request=request.id, kind=request.kind, behalf=new.behalf)
    if new.behalf:
        _tell_family_behalf(session, request, family, person, now)
        return Sent.BEHALF
    escalated = store.get_request(session=session, request_id=request.id or 0)
    nobody = asked == 0 and escalated is not None and escalated.escalated_at is not None
    return Sent.NOBODY if nobody else Sent.ASKING


def _tell_family_behalf(
    session: Session, request: HelpRequest, family: Person, coordinator: Person, now: datetime
) -> None:
    """The family hears that a coordinator asked for help for it."""
    with use_language(family.language):
        text = "\n".join(
            [
                _("📝 {coordinator} asked for help for you:").format(coordinator=hi(name_of(coordinator))),
                summary(session, request, family, with_family=False),
                _("You will hear when a volunteer accepts."),
            ]
        )
    tell(session=session, person=family, key=f"behalf:{request.id}", text=text, now=now)


# --- my requests ------------------------------------------------------------------------------------


def moment(request: HelpRequest, zone: str) -> datetime:
    """When a request is, for ordering: its start, or the end of its flexible week."""
    if request.starts_at is not None and not request.flexible_week:
        return request.starts_at.astimezone(UTC)
    return rules.end_of_local_week(request.created_at, zone=zone)


def may_withdraw(request: HelpRequest, zone: str, now: datetime) -> bool:
    """Still open or accepted and its time not over: the family may withdraw it."""
    past = rules.is_past(
        starts_at=request.starts_at,
        ends_at=request.ends_at,
        flexible_week=request.flexible_week,
        created_at=request.created_at,
        now=now,
        zone=zone,
    )
    return request.status in store.ACTIVE and not past


def _listed(session: Session, request: HelpRequest, withdraw: bool) -> Listed:
    """One request's line: its status as the family reads it, and whom to thank."""
    assert request.id is not None
    status = matching.status_text(session, request)
    if not withdraw and request.status in store.ACTIVE:
        # Its time is over: accepted help is done (the outcome is asked); open help found nobody.
        ended = rules.RequestStatus.DONE
        if request.status != rules.RequestStatus.ACCEPTED:
            ended = rules.RequestStatus.EXPIRED
        status = _(matching.STATUS_LABELS[ended])
    thank_name = None
    if (
        not withdraw
        and request.status == rules.RequestStatus.DONE
        and not store.was_thanked(session=session, request_id=request.id)
        and request.assigned_volunteer_id
    ):
        volunteer = people.get_person(session=session, person_id=request.assigned_volunteer_id)
        thank_name = name_of(volunteer) if volunteer is not None else None
    return Listed(request=request, withdrawable=withdraw, status=status, thank_name=thank_name)


def family_requests(*, session: Session, family: Person, now: datetime) -> list[Listed]:
    """The family's last requests: coming up first, soonest first; then those over or closed, latest first."""
    assert family.id is not None
    zone = family.timezone
    found = store.family_requests(session=session, family_id=family.id, limit=10)
    upcoming = sorted((r for r in found if may_withdraw(r, zone, now)), key=lambda r: moment(r, zone))
    coming = {request.id for request in upcoming}
    over = sorted((r for r in found if r.id not in coming), key=lambda r: moment(r, zone), reverse=True)
    return [_listed(session, request, request.id in coming) for request in upcoming + over]


def cancel_preview(*, session: Session, person: Person | None, request_id: int, now: datetime) -> str | None:
    """The summary of the family's own request it may still withdraw, else None."""
    request = store.get_request(session=session, request_id=request_id)
    if request is None or person is None or person.id != request.family_id:
        return None
    if not may_withdraw(request, person.timezone, now):
        return None
    return matching.summary(session, request, person, with_family=False)


def cancel_request(
    *, session: Session, services: Services, person_id: int | None, request_id: int, now: datetime
) -> Cancelled:
    """The family cancels its own request (rights and status checked again, once)."""
    fresh = people.get_person(session=session, person_id=person_id) if person_id else None
    request = store.get_request(session=session, request_id=request_id)
    if fresh is None or request is None or request.id is None:
        return Cancelled.REFUSED
    event_name = permissions.cancel_event(
        actor_of(session=session, person=fresh), request.family_id, request.assigned_volunteer_id
    )
    # Families cancel their own requests here; coordinators and volunteers have their own buttons.
    allowed = event_name == permissions.FAMILY_CANCEL and (
        request.status not in store.ACTIVE or may_withdraw(request, fresh.timezone, now)
    )
    if not allowed:
        return Cancelled.REFUSED
    changed = store.apply_event(session=session, request_id=request.id, event=rules.RequestEvent.FAMILY_CANCEL, now=now)
    if changed is None:
        return Cancelled.ALREADY_CLOSED
    matching.family_cancelled(session=session, services=services, request=changed[0], before=changed[1], now=now)
    event(logger, "request.cancelled", request=request_id, by="family")
    return Cancelled.CANCELLED


def thank_volunteer(*, session: Session, person_id: int | None, request_id: int | None, now: datetime) -> Thanked:
    """The family thanks the volunteer of a task that happened; once per request."""
    fresh = people.get_person(session=session, person_id=person_id) if person_id else None
    request = store.get_request(session=session, request_id=request_id) if request_id else None
    sent = (
        fresh is not None
        and request is not None
        and matching.thank(session=session, request=request, family=fresh, now=now)
    )
    volunteer = (
        people.get_person(session=session, person_id=request.assigned_volunteer_id)
        if request is not None and request.assigned_volunteer_id
        else None
    )
    return Thanked(sent=sent, volunteer_name=name_of(volunteer))


# --- giving back ------------------------------------------------------------------------------------


def support_volunteer(*, session: Session, family_id: int) -> Person | None:
    """The family's own support volunteer, if it has one."""
    profile = people.get_family(session=session, person_id=family_id)
    if profile is None or not profile.support_volunteer_id:
        return None
    return people.get_person(session=session, person_id=profile.support_volunteer_id)


def offer_back(*, session: Session, person_id: int, kind: str, target: str, now: datetime) -> bool:
    """Tell the family's coordinators (and the support volunteer, when it is for them); false if not allowed."""
    fresh = people.get_person(session=session, person_id=person_id)
    if fresh is None or fresh.id is None or not is_family(fresh) or _profile(session, fresh) is None:
        return False
    if kind not in GIVE_BACK or target not in GIVE_TARGETS:
        return False
    support = support_volunteer(session=session, family_id=fresh.id) if target == "support" else None
    if target == "support" and support is None:
        return False
    stamp = f"{now:%Y%m%d%H%M}"
    for coordinator in coordinators_for(session, fresh):
        with use_language(coordinator.language):
            what = kind_label(kind)
            if support is not None:
                text = _("💛 {family} would like to do something in return for {name}: {what}.").format(
                    family=hi(name_of(fresh)), name=hi(name_of(support)), what=h(what)
                )
            else:
                text = _("💛 {family} would like to help someone in the neighbourhood: {what}.").format(
                    family=hi(name_of(fresh)), what=h(what)
                )
            text += "\n" + _("Please get in touch to arrange it.")
        tell(
            session=session, person=coordinator, key=f"giveback:{fresh.id}:{coordinator.id}:{stamp}", text=text, now=now
        )
    if support is not None:
        # Recorded, so whether it happened can be told and counted (never as points).
        give_back_id = match_giveback.record(session=session, family=fresh, helper=support, kind=kind, now=now)
        with use_language(support.language):
            text = _(
                "💛 {family} would like to do something for you in return: {what}. "
                "Your coordinator will help to arrange it."
            ).format(family=hi(name_of(fresh)), what=h(kind_label(kind)))
            text += "\n" + _("Once it has happened (or if it did not work out), tap below.")
            buttons = match_giveback.buttons(give_back_id)
        tell(
            session=session,
            person=support,
            key=f"giveback:{fresh.id}:{support.id}:{stamp}",
            text=text,
            now=now,
            buttons=buttons,
        )
    people.add_timeline(
        session=session, family_id=fresh.id, kind="offered_back", now=now, actor_id=fresh.id, what=kind, to=target
    )
    return True


# --- the dialogue's questions -------------------------------------------------------------------------


def open_areas(*, session: Session) -> list[tuple[int, str]]:
    """The neighbourhoods a family can choose, as (id, name)."""
    return [(area.id, area.name) for area in people.active_areas(session=session) if area.id is not None]


def area_open(*, session: Session, area_id: int) -> bool:
    """Whether this neighbourhood can still be chosen."""
    area = people.get_area(session=session, area_id=area_id)
    return area is not None and area.active


def as_stored(new: NewRequest, *, created_by_id: int, now: datetime) -> HelpRequest:
    """The request as it would be stored, for the confirmation (not added to any session)."""
    return HelpRequest(created_by_id=created_by_id, created_at=now, **new.stored())


def confirmation(*, session: Session, new: NewRequest, reader: Person, now: datetime) -> str:
    """Everything the request says, for the asker to check before it is sent."""
    draft = as_stored(new, created_by_id=reader.id or 0, now=now)
    family = people.get_person(session=session, person_id=new.family_id)
    profile = people.get_family(session=session, person_id=new.family_id)
    lines = [_("<b>Please check the request</b>")]
    if new.behalf:
        lines.append(_("For: {family}").format(family=hi(name_of(family))))
    lines.append(_("What: {what}").format(what=h(kind_label(draft.kind))))
    if rules.is_child_related(kind=draft.kind, involves_children=draft.involves_children):
        lines.append(_("👶 With children."))
    lines.append(_("When: {when}").format(when=h(matching.when_text(draft, reader.timezone, reader.language))))
    lines.append(_("Where: {area}").format(area=hi(matching.area_name(session, draft))))
    if draft.destination:
        lines.append(matching.described(draft))
    if draft.note:
        lines.append(_("Note: {note}").format(note=h(draft.note)))
    if draft.voice_file_id:
        lines.append(_("🎤 With your voice note."))
    street = new.street or (profile.street if profile else None)
    if street and not new.behalf:
        lines.append(_("Address for the volunteer: {street}").format(street=h(street)))
        shares = new.phone or (profile is not None and profile.share_phone and bool(profile.phone))
        lines.append(_("Your phone number is shared too.") if shares else _("Your phone number is not shared."))
        lines.append(_("Only the volunteer who accepts sees the address."))
    return "\n".join(lines)
