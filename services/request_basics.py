"""What every part of a help request's way shares: its words, its moments, a message to a person, a job.

Offers (`services.offers`), what happens to a request (`services.request_flow`) and the jobs
(`services.matching`) build on these; the chat's modules read the same words.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from domain import matching as match_rules
from domain import requests as rules
from domain import volunteers as volunteer_rules
from domain.availability import mask_for_window
from services import outbox
from services.concerns import name_of
from services.context import Services
from services.i18n import N_, _, h, hi
from services.outbox import Outgoing, ToPerson
from services.tasks import kind_label, when_text
from storage import job_store, people
from storage import matching as match_store
from storage.db import Session
from storage.models import HelpRequest, Person

STATUS_LABELS = {
    rules.RequestStatus.OPEN: N_("waiting for a volunteer"),
    rules.RequestStatus.DONE: N_("done"),
    rules.RequestStatus.NOT_HAPPENED: N_("did not happen"),
    rules.RequestStatus.CANCELLED: N_("cancelled"),
    rules.RequestStatus.EXPIRED: N_("expired: nobody could take it"),
}
# Questions after a task are asked in the daytime only.
DAY_STARTS = time(9, 0)
DAY_ENDS = time(20, 30)
ASK_AT = time(10, 0)


def tell(
    *,
    session: Session,
    person: Person,
    key: str,
    text: str,
    now: datetime,
    buttons: Sequence[Sequence[tuple[str, str]]] = (),
    purpose: str = "message",
) -> bool:
    """Queue a message to a person's private chat in the caller's transaction (false: queued before, or unreachable)."""
    message = Outgoing(text=text, buttons=buttons, purpose=purpose)
    return outbox.enqueue(session=session, to=ToPerson(person), message=message, key=key, now=now)


def schedule(session: Session, kind: str, subject_id: int, due_at: datetime, now: datetime, key: str) -> None:
    """A job of this kind about this request (or offer), once per key."""
    job_store.schedule_job(
        session=session, kind=kind, due_at=due_at, dedupe_key=f"{kind}:{key}"[:128], now=now, subject_id=subject_id
    )


def cancel_jobs(session: Session, request_id: int, *kinds: str) -> None:
    """Drop the planned jobs of these kinds for a request."""
    for kind in kinds:
        job_store.cancel_jobs(session=session, kind=kind, subject_id=request_id)


# --- words ----------------------------------------------------------------------------------------


def area_name(session: Session, request: HelpRequest) -> str:
    """The request's neighbourhood by name (or that it is not listed)."""
    area = people.get_area(session=session, area_id=request.area_id) if request.area_id else None
    return area.name if area is not None else _("neighbourhood not listed")


def status_text(session: Session, request: HelpRequest) -> str:
    """What is happening to a request, as its family reads it."""
    if request.status == rules.RequestStatus.ACCEPTED:
        volunteer = (
            people.get_person(session=session, person_id=request.assigned_volunteer_id)
            if request.assigned_volunteer_id
            else None
        )
        return _("accepted by {name}").format(name=hi(name_of(volunteer)))
    label = STATUS_LABELS.get(rules.RequestStatus(request.status))
    return _(label) if label else request.status


def summary(session: Session, request: HelpRequest, reader: Person, *, with_family: bool = True) -> str:
    """The short form anyone may see: first name of the family, area, what, when. Never the family's problems."""
    family = people.get_person(session=session, person_id=request.family_id)
    lines = []
    if with_family:
        lines.append(
            _("{family} in {area} asks for: <b>{what}</b>").format(
                family=hi(name_of(family)), area=hi(area_name(session, request)), what=h(kind_label(request.kind))
            )
        )
    else:
        lines.append(
            _("<b>{what}</b> in {area}").format(what=h(kind_label(request.kind)), area=hi(area_name(session, request)))
        )
    lines.append(_("When: {when}").format(when=h(when_text(request, reader.timezone, reader.language))))
    if request.destination:
        lines.append(described(request))
    if rules.is_child_related(kind=request.kind, involves_children=request.involves_children):
        lines.append(_("👶 With children."))
    return "\n".join(lines)


def described(request: HelpRequest) -> str:
    """The family's own words on what the task is: where a lift goes, or what "something else" is.

    Shown before accepting (the family is told so when typing it); the street address never is.
    """
    if request.kind == rules.RequestKind.LIFT:
        return _("Lift to: {destination}").format(destination=h(request.destination or ""))
    return _("Details: {description}").format(description=h(request.destination or ""))


def details(session: Session, request: HelpRequest, volunteer: Person) -> str:
    """What only the volunteer who accepted sees: street, phone (if the family agreed), note (and the summary)."""
    family = people.get_person(session=session, person_id=request.family_id)
    profile = people.get_family(session=session, person_id=request.family_id)
    lines = [summary(session, request, volunteer)]
    if profile is not None and profile.street:
        lines.append(_("Address: {street}").format(street=h(profile.street)))
    if profile is not None and profile.share_phone and profile.phone:
        lines.append(_("Phone: {phone}").format(phone=h(profile.phone)))
    if request.note:
        lines.append(_("Note from {family}: {note}").format(family=hi(name_of(family)), note=h(request.note)))
    if request.voice_file_id:
        lines.append(_("🎤 {family} added a voice note.").format(family=hi(name_of(family))))
    if profile is None or not profile.street:
        lines.append(_("The family did not share an address here; please agree on it through your coordinator."))
    return "\n".join(lines)


# --- the moment of things -------------------------------------------------------------------------


def zone_of(services: Services) -> str:
    """The bot's time zone, in which days and times of requests are read."""
    return services.settings.timezone


def local_today(services: Services, now: datetime) -> date:
    """Today's date in the bot's time zone."""
    return now.astimezone(ZoneInfo(zone_of(services))).date()


def match_window(services: Services, now: datetime) -> match_store.MatchWindow:
    """The dates matching needs now: today, this week's start, the oldest VOG that still counts."""
    zone = zone_of(services)
    today = local_today(services, now)
    return match_store.MatchWindow(
        today=today,
        week_start=volunteer_rules.week_start(now, zone),
        vog_cutoff=volunteer_rules.vog_cutoff(today=today, years=services.settings.vog_valid_years),
    )


def expires_at(request: HelpRequest, zone: str) -> datetime:
    """When an open request stops being worth offering."""
    return rules.expires_at(
        starts_at=request.starts_at,
        ends_at=request.ends_at,
        flexible_week=request.flexible_week,
        created_at=request.created_at,
        zone=zone,
    )


def in_daytime(moment: datetime, zone: str) -> datetime:
    """The moment itself in the daytime, else 10:00 local on the next suitable morning."""
    tz = ZoneInfo(zone)
    local = moment.astimezone(tz)
    if DAY_STARTS <= local.time() <= DAY_ENDS:
        return moment
    day = local.date() if local.time() < DAY_STARTS else local.date() + timedelta(days=1)
    return datetime.combine(day, ASK_AT, tzinfo=tz).astimezone(moment.tzinfo)


def need_for(session: Session, request: HelpRequest, zone: str) -> match_rules.RequestNeed:
    """What a volunteer must fit for this request (kind, children, area, time, language, support volunteer)."""
    family = people.get_person(session=session, person_id=request.family_id)
    profile = people.get_family(session=session, person_id=request.family_id)
    return match_rules.RequestNeed(
        kind=request.kind,
        involves_children=request.involves_children,
        area_id=request.area_id,
        slots_mask=mask_for_window(request.starts_at, request.ends_at, zone, flexible_week=request.flexible_week),
        family_language=family.language if family is not None else None,
        support_volunteer_id=profile.support_volunteer_id if profile is not None else None,
        family_id=request.family_id,
    )
