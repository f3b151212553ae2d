"""Getting a help request to a volunteer and seeing it through: offers, withdrawals, reminders and jobs.

The dialogues (`requests`, `volunteering`, `approvals`) call in here for everything that happens to a
request; this module writes the rows (through `storage.requests`) and the messages to others (outbox).

* **Offers.** `start` plans waves with `domain.matching.plan_waves` from the candidates the storage query
  returns: the family's own support volunteer alone first, the others after `request_support_wait_hours`,
  another round every `request_wave_interval_hours` while nobody accepted. Every offer is an outbox row
  linked to its `RequestOffer`, so its buttons can be withdrawn.
* **Withdrawal.** When a request is taken or closed, an offer message not sent yet is never sent; a sent
  one is edited (outbox) to "already taken, thank you", without buttons; one being sent at that very
  moment is edited a minute later (`request.withdraw`).
* **Jobs.** `request.match_wave` (the next round), `request.unmatched` (tell the coordinators nobody took
  it), `request.expire`, `request.remind` (the day before), `request.followup` (did it happen?),
  `request.withdraw`, `requests.purge` (free text after the retention period) and `volunteer.vog_reminder`.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from telegram import InlineKeyboardMarkup

from conversations import alerts
from conversations.ui import callback, keyboard, notify
from domain import matching as match_rules
from domain import requests as rules
from domain import volunteers as volunteer_rules
from domain.availability import mask_for_window
from services.context import JobHandler, Services
from services.i18n import N_, _, format_day, h, hi, use_language
from services.labels import name_of
from services.logs import event
from services.tasks import kind_label, when_text
from storage import delivery, people
from storage import requests as store
from storage.db import Session
from storage.models import HelpRequest, OutboxMessage, OutboxStatus, Person, RequestOffer

logger = logging.getLogger(__name__)

OFFER = "vo"  # vo:acc:<offer> / vo:no:<offer>
OUTCOME = "td"  # td:<request>:done / td:<request>:no
PLACE = "ap"  # the coordinators' buttons (conversations.approvals)

STATUS_LABELS = {
    rules.RequestStatus.OPEN: N_("waiting for a volunteer"),
    rules.RequestStatus.DONE: N_("done"),
    rules.RequestStatus.NOT_HAPPENED: N_("did not happen"),
    rules.RequestStatus.CANCELLED: N_("cancelled"),
    rules.RequestStatus.EXPIRED: N_("expired: nobody could take it"),
}
# Outbox purposes: an edit that withdraws an offer may find the message gone or already edited, which is
# no news for anyone (see `quiet_withdrawals`).
PURPOSE_OFFER = "offer"
PURPOSE_WITHDRAW = "withdraw"
WITHDRAW_RETRY = timedelta(minutes=1)
# Questions after a task are asked in the daytime only.
DAY_STARTS = time(9, 0)
DAY_ENDS = time(20, 30)
ASK_AT = time(10, 0)


# --- words ----------------------------------------------------------------------------------------


def area_name(session: Session, request: HelpRequest) -> str:
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
    return services.settings.timezone


def local_today(services: Services, now: datetime) -> date:
    return now.astimezone(ZoneInfo(zone_of(services))).date()


def match_window(services: Services, now: datetime) -> store.MatchWindow:
    zone = zone_of(services)
    today = local_today(services, now)
    return store.MatchWindow(
        today=today,
        week_start=volunteer_rules.week_start(now, zone),
        vog_cutoff=volunteer_rules.vog_cutoff(today=today, years=services.settings.vog_valid_years),
    )


def expires_at(request: HelpRequest, zone: str) -> datetime:
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


def _job(session: Session, kind: str, subject_id: int, due_at: datetime, now: datetime, key: str) -> None:
    delivery.schedule_job(
        session=session, kind=kind, due_at=due_at, dedupe_key=f"{kind}:{key}"[:128], now=now, subject_id=subject_id
    )


# --- offers ---------------------------------------------------------------------------------------


def offer_markup(offer_id: int) -> InlineKeyboardMarkup:
    return keyboard(
        [[(_("✅ Accept"), callback(OFFER, "acc", offer_id)), (_("Not this time"), callback(OFFER, "no", offer_id))]]
    )


def send_offer(
    *,
    session: Session,
    request: HelpRequest,
    volunteer: Person,
    now: datetime,
    how: str = "wave",
    placed_by: Person | None = None,
) -> bool:
    """Offer a request to one volunteer (an outbox message with Accept / Not this time); once per volunteer.

    `how` is "support" for the family's own support volunteer, "placed" when a coordinator asks by name
    (an earlier "not this time" is then asked again), "again" when a request reopens for those whose
    offer was withdrawn because someone else had taken it, otherwise "wave".
    """
    assert request.id is not None and volunteer.id is not None
    offer = store.record_offer(session=session, request_id=request.id, volunteer_id=volunteer.id, now=now)
    suffix = ""
    if offer is None:
        existing = store.find_offer(session=session, request_id=request.id, volunteer_id=volunteer.id)
        if existing is None or existing.response == store.OfferResponse.PENDING:
            return False
        if how == "again" and existing.response != store.OfferResponse.WITHDRAWN:
            return False
        if how not in ("placed", "again"):
            return False
        existing.response = store.OfferResponse.PENDING
        existing.responded_at = None
        existing.offered_at = now
        session.add(existing)
        session.flush()
        offer = existing
        suffix = f":again{int(now.timestamp())}"
    assert offer.id is not None
    with use_language(volunteer.language):
        if how == "support":
            intro = _("🙋 <b>The family you support asks you first.</b>")
        elif how == "again":
            intro = _("🙋 <b>This request is open again. Can you help?</b>")
        elif how == "placed" and placed_by is not None:
            intro = _("🙋 <b>{coordinator} asks whether you could help with this.</b>").format(
                coordinator=hi(name_of(placed_by))
            )
        else:
            intro = _("🙋 <b>Can you help?</b>")
        text = "\n".join(
            [
                intro,
                summary(session, request, volunteer),
                "",
                _("Tap Accept to take it; you then get the address. Not this time is fine too."),
            ]
        )
        markup = offer_markup(offer.id)
    key = f"offer:{request.id}:{volunteer.id}{suffix}"
    notify(session=session, person=volunteer, key=key, text=text, now=now, markup=markup, purpose=PURPOSE_OFFER)
    store.link_offer_message(session=session, offer_id=offer.id, dedupe_key=key)
    people.add_timeline(
        session=session,
        family_id=request.family_id,
        kind="request_offered",
        now=now,
        actor_id=volunteer.id,
        ref_id=request.id,
    )
    return True


def orphaned(*, session: Session, services: Services, request: HelpRequest, now: datetime) -> bool:
    """Mend a request whose family or volunteer erased their data; true when it was one.

    A family that left takes its requests with it (offers withdrawn); a volunteer who left gives the task
    back, so the family's question goes to others again.
    """
    assert request.id is not None
    family = people.get_person(session=session, person_id=request.family_id)
    if family is None or family.consent_at is None or family.telegram_id is None:
        changed = store.apply_event(
            session=session, request_id=request.id, event=rules.RequestEvent.FAMILY_CANCEL, now=now
        )
        if changed is not None:
            family_cancelled(session=session, services=services, request=changed[0], before=changed[1], now=now)
        return True
    if request.status == rules.RequestStatus.ACCEPTED and request.assigned_volunteer_id is None:
        changed = store.apply_event(
            session=session, request_id=request.id, event=rules.RequestEvent.VOLUNTEER_CANCEL, now=now
        )
        if changed is not None:
            cancel_jobs(session, request.id, "request.remind", "request.followup")
            with use_language(family.language):
                text = "\n".join(
                    [
                        _("😔 The volunteer can no longer help with this request. We are looking for someone else."),
                        summary(session, changed[0], family, with_family=False),
                    ]
                )
            notify(
                session=session, person=family, key=f"volunteerleft:{request.id}:{now:%Y%m%d%H%M%S}", text=text, now=now
            )
            reoffer(session=session, services=services, request=changed[0], now=now)
            run_wave(session=session, services=services, request=changed[0], now=now)
        return True
    return False


def run_wave(*, session: Session, services: Services, request: HelpRequest, now: datetime) -> int:
    """Offer the request to whoever is due now; plan the next round. Returns how many were asked."""
    assert request.id is not None
    family = people.get_person(session=session, person_id=request.family_id)
    if family is None or family.consent_at is None:
        orphaned(session=session, services=services, request=request, now=now)
        return 0
    settings = services.settings
    zone = zone_of(services)
    need = need_for(session, request, zone)
    window = match_window(services, now)
    already = store.offered_ids(session=session, request_id=request.id)
    pool = store.matching_candidates(
        session=session, need=need, window=window, exclude=already, limit=settings.request_wave_size * 3
    )
    if need.support_volunteer_id is not None and need.support_volunteer_id not in already:
        support = store.candidate(session=session, volunteer_id=need.support_volunteer_id, window=window)
        if support is not None:
            pool.append(support)
    waves = match_rules.plan_waves(
        need=need,
        candidates=pool,
        today=window.today,
        now=now,
        support_wait=timedelta(hours=settings.request_support_wait_hours),
        wave_size=settings.request_wave_size,
        starts_at=request.starts_at,
        already_offered=already,
        vog_valid_years=settings.vog_valid_years,
    )
    asked = 0
    for wave in waves:
        if wave.at > now:
            _job(session, "request.match_wave", request.id, wave.at, now, f"{request.id}:{wave.at:%Y%m%dT%H%M}")
            continue
        how = "support" if wave.volunteer_ids == [need.support_volunteer_id] else "wave"
        for volunteer_id in wave.volunteer_ids:
            volunteer = people.get_person(session=session, person_id=volunteer_id)
            if volunteer is not None and send_offer(
                session=session, request=request, volunteer=volunteer, now=now, how=how
            ):
                asked += 1
        if how == "wave" and wave.volunteer_ids:
            # Another round later if nobody accepts; it finds nobody new once everyone fitting was asked.
            later = now + timedelta(hours=settings.request_wave_interval_hours)
            if later < expires_at(request, zone):
                _job(session, "request.match_wave", request.id, later, now, f"{request.id}:{later:%Y%m%dT%H%M}")
    event(logger, "request.wave", request=request.id, asked=asked, waves=len(waves))
    return asked


def start(*, session: Session, services: Services, request: HelpRequest, now: datetime) -> int:
    """A new request: the first offers, and the moments to check on it. Returns how many were asked."""
    assert request.id is not None
    zone = zone_of(services)
    people.add_timeline(
        session=session,
        family_id=request.family_id,
        kind="request_created",
        now=now,
        actor_id=request.created_by_id,
        ref_id=request.id,
        what=request.kind,
    )
    asked = run_wave(session=session, services=services, request=request, now=now)
    expiry = expires_at(request, zone)
    _job(session, "request.expire", request.id, expiry, now, str(request.id))
    if asked == 0 and not _wave_planned(session, request.id):
        # Nobody fits at all: the coordinators hear of it now rather than after the wait.
        escalate(session=session, services=services, request=request, now=now, nobody_fits=True)
    else:
        unmatched_at = unmatched_due(services, request, expiry)
        _job(session, "request.unmatched", request.id, unmatched_at, now, f"{request.id}:{unmatched_at:%Y%m%dT%H%M}")
    return asked


def _wave_planned(session: Session, request_id: int) -> bool:
    """Someone was asked, or a later round is planned (the support volunteer's wait, the next round)."""
    return bool(store.offered_ids(session=session, request_id=request_id)) or store.has_pending_job(
        session=session, kind="request.match_wave", subject_id=request_id
    )


def unmatched_due(services: Services, request: HelpRequest, expiry: datetime) -> datetime:
    """When to check whether coordinators should hear that nobody took the request.

    The earlier of 'waited long enough' and 'close to the start' (`domain.requests.unmatched_escalation_due`,
    the end of the week when flexible), but never before half the time to the start has passed: a request
    for tonight made this morning is already within the lead, and volunteers deserve a few hours to answer
    before a coordinator is called in.
    """
    settings = services.settings
    waited = request.created_at + timedelta(hours=settings.request_unmatched_wait_hours)
    start_at = request.starts_at if request.starts_at is not None else expiry
    close = start_at - timedelta(hours=settings.request_unmatched_lead_hours)
    halfway = request.created_at + max(timedelta(0), start_at - request.created_at) / 2
    return max(halfway, min(waited, close))


def escalate(
    *, session: Session, services: Services, request: HelpRequest, now: datetime, nobody_fits: bool = False
) -> bool:
    """Tell the family's coordinators that nobody took the request, with a button to place it by name."""
    assert request.id is not None
    if not store.mark_escalated(session=session, request_id=request.id, now=now):
        return False
    family = people.get_person(session=session, person_id=request.family_id)
    if family is None:
        return False
    asked = len(store.offered_ids(session=session, request_id=request.id))
    for coordinator in alerts.coordinators_for(session, family):
        with use_language(coordinator.language):
            if nobody_fits:
                head = _("📋 No volunteer fits this request of {family}:").format(family=hi(name_of(family)))
            else:
                head = _("📋 Nobody has accepted this request of {family} yet (asked: {count}):").format(
                    family=hi(name_of(family)), count=hi(asked)
                )
            text = "\n".join([head, summary(session, request, coordinator, with_family=False)])
            markup = keyboard([[(_("📌 Ask a volunteer yourself"), callback(PLACE, "place", request.id))]])
        notify(
            session=session,
            person=coordinator,
            key=f"unmatched:{request.id}:{coordinator.id}:{now:%Y%m%d%H%M}",
            text=text,
            now=now,
            markup=markup,
            purpose="alert",
        )
    people.add_timeline(
        session=session, family_id=request.family_id, kind="request_unmatched", now=now, ref_id=request.id
    )
    event(logger, "request.escalated", request=request.id, nobody_fits=nobody_fits)
    return True


# --- withdrawing offers ---------------------------------------------------------------------------


def withdraw_offers(
    *, session: Session, request: HelpRequest, now: datetime, closed: bool, keep: int | None = None
) -> int:
    """Take back the buttons of every offer still waiting for an answer (but `keep`'s). Returns how many."""
    assert request.id is not None
    count = 0
    for offer in store.offers_for(session=session, request_id=request.id):
        if offer.volunteer_id == keep or offer.id is None:
            continue
        if not store.respond_offer(session=session, offer_id=offer.id, response=store.OfferResponse.WITHDRAWN, now=now):
            continue
        count += 1
        _withdraw_message(session=session, offer=offer, now=now, closed=closed)
    return count


def _withdraw_message(*, session: Session, offer: RequestOffer, now: datetime, closed: bool) -> None:
    """Never send an offer not sent yet; edit a sent one; try again shortly for one being sent right now."""
    assert offer.id is not None
    if offer.outbox_id is None:
        return
    if store.withdraw_unsent(session=session, outbox_id=offer.outbox_id):
        return
    row = store.outbox_row(session=session, outbox_id=offer.outbox_id)
    if row is None or row.status == OutboxStatus.FAILED:
        return
    if row.status == OutboxStatus.SENDING or row.telegram_message_id is None:
        _job(session, "request.withdraw", offer.id, now + WITHDRAW_RETRY, now, f"{offer.id}:{int(closed)}")
        return
    volunteer = people.get_person(session=session, person_id=offer.volunteer_id)
    if volunteer is None:
        return
    _edit_offer(session=session, row=row, volunteer=volunteer, offer_id=offer.id, now=now, closed=closed)


def withdrawn_note(*, closed: bool) -> str:
    if closed:
        return _("This request is no longer needed. Thank you!")
    return _("Already taken by someone else. Thank you!")


def offer_ended_text(original: str, note: str) -> str:
    """An offer message after it ended: the summary stays (so the volunteer knows which it was), a note below.

    The handler of a late tap and the outbox edit build the same text, so whichever comes second is the
    harmless "message is not modified".
    """
    # The first line ("Can you help?") and the closing hint go; the summary in between stays.
    body = "\n".join(original.split("\n")[1:]).split("\n\n")[0] if original else ""
    return f"{body}\n\n<i>{h(note)}</i>" if body else f"<i>{h(note)}</i>"


def _edit_offer(
    *, session: Session, row: OutboxMessage, volunteer: Person, offer_id: int, now: datetime, closed: bool
) -> None:
    with use_language(volunteer.language):
        text = offer_ended_text(str(row.payload.get("text", "")), withdrawn_note(closed=closed))
    delivery.enqueue(
        session=session,
        dedupe_key=f"withdraw:{offer_id}:{row.id}",
        chat_id=row.chat_id,
        person_id=volunteer.id,
        method="editMessageText",
        payload={"chat_id": row.chat_id, "message_id": row.telegram_message_id, "text": text, "parse_mode": "HTML"},
        now=now,
        purpose=PURPOSE_WITHDRAW,
    )


def quiet_withdrawals(hook: Any) -> Any:
    """Wrap the sender's 'undeliverable' hook: a withdrawal that finds its message already edited ("message
    is not modified") or deleted by the volunteer is nobody's concern, so coordinators are not alerted."""

    def wrapped(*, session: Session, row: OutboxMessage, reason: str, now: datetime) -> None:
        if row.purpose == PURPOSE_WITHDRAW:
            event(logger, "request.withdraw_skipped", id=row.id, reason=reason[:60])
            return
        hook(session=session, row=row, reason=reason, now=now)

    return wrapped


# --- what happens to a request --------------------------------------------------------------------


def accepted(*, session: Session, services: Services, request: HelpRequest, volunteer: Person, now: datetime) -> None:
    """A volunteer took the request: others' buttons go, the family hears, reminders and follow-up planned."""
    assert request.id is not None and volunteer.id is not None
    withdraw_offers(session=session, request=request, now=now, closed=False, keep=volunteer.id)
    family = people.get_person(session=session, person_id=request.family_id)
    if family is not None:
        with use_language(family.language):
            text = "\n".join(
                [
                    _("🎉 Good news: {volunteer} will help you.").format(volunteer=hi(name_of(volunteer))),
                    summary(session, request, family, with_family=False),
                ]
            )
        notify(
            session=session,
            person=family,
            key=f"accepted:{request.id}:{volunteer.id}:{now:%Y%m%d%H%M%S}",
            text=text,
            now=now,
        )
    if request.escalated_at is not None and family is not None:
        for coordinator in alerts.coordinators_for(session, family):
            with use_language(coordinator.language):
                text = _("✅ {volunteer} accepted the request of {family} ({what}). No need to look further.").format(
                    volunteer=hi(name_of(volunteer)), family=hi(name_of(family)), what=h(kind_label(request.kind))
                )
            notify(
                session=session,
                person=coordinator,
                key=f"placed:{request.id}:{volunteer.id}:{coordinator.id}",
                text=text,
                now=now,
            )
    plan_after_accept(session=session, services=services, request=request, volunteer=volunteer, now=now)
    people.add_timeline(
        session=session,
        family_id=request.family_id,
        kind="request_accepted",
        now=now,
        actor_id=volunteer.id,
        ref_id=request.id,
    )


def plan_after_accept(
    *, session: Session, services: Services, request: HelpRequest, volunteer: Person, now: datetime
) -> None:
    assert request.id is not None
    settings = services.settings
    zone = zone_of(services)
    stamp = f"{request.id}:{volunteer.id}:{int((request.accepted_at or now).timestamp())}"
    if request.starts_at is not None:
        for moment in rules.reminder_times(
            starts_at=request.starts_at,
            now=now,
            zone=zone,
            day_before_at=settings.request_reminder_at,
            short_notice=timedelta(hours=settings.request_short_notice_hours),
        ):
            _job(session, "request.remind", request.id, moment, now, stamp)
    end = request.ends_at or request.starts_at or expires_at(request, zone)
    ask_at = in_daytime(end + timedelta(hours=settings.request_followup_hours), zone)
    _job(session, "request.followup", request.id, ask_at, now, stamp)


def cancel_jobs(session: Session, request_id: int, *kinds: str) -> None:
    for kind in kinds:
        delivery.cancel_jobs(session=session, kind=kind, subject_id=request_id)


def closed(*, session: Session, services: Services, request: HelpRequest, now: datetime) -> None:
    """Any end of a request: no more jobs for it, its text purged after the retention period."""
    assert request.id is not None
    cancel_jobs(session, request.id, "request.match_wave", "request.unmatched", "request.expire", "request.remind")
    if request.status != rules.RequestStatus.ACCEPTED:
        cancel_jobs(session, request.id, "request.followup")
    settings = services.settings
    purge_at = in_daytime(now + timedelta(days=settings.request_retention_days), zone_of(services))
    day = purge_at.astimezone(ZoneInfo(zone_of(services))).date()
    delivery.schedule_job(
        session=session, kind="requests.purge", due_at=purge_at, dedupe_key=f"requests.purge:{day:%Y%m%d}", now=now
    )


def family_cancelled(*, session: Session, services: Services, request: HelpRequest, before: str, now: datetime) -> None:
    """The family (or a coordinator for it) cancelled: offers withdrawn, the volunteer told, jobs dropped."""
    assert request.id is not None
    withdraw_offers(session=session, request=request, now=now, closed=True)
    cancel_jobs(session, request.id, "request.followup")
    closed(session=session, services=services, request=request, now=now)
    family = people.get_person(session=session, person_id=request.family_id)
    if before == rules.RequestStatus.ACCEPTED and request.assigned_volunteer_id is not None:
        volunteer = people.get_person(session=session, person_id=request.assigned_volunteer_id)
        if volunteer is not None:
            with use_language(volunteer.language):
                text = "\n".join(
                    [
                        _(
                            "ℹ️ {family} cancelled this request; you do not need to go. "
                            "Thank you for being ready to help!"
                        ).format(family=hi(name_of(family))),
                        summary(session, request, volunteer, with_family=False),
                    ]
                )
            notify(session=session, person=volunteer, key=f"cancelled:{request.id}:{volunteer.id}", text=text, now=now)
    people.add_timeline(
        session=session, family_id=request.family_id, kind="request_cancelled", now=now, ref_id=request.id
    )


def volunteer_gave_back(
    *, session: Session, services: Services, request: HelpRequest, volunteer: Person, now: datetime
) -> int:
    """The volunteer cancelled their task: the family and coordinators hear, and matching starts again."""
    assert request.id is not None and volunteer.id is not None
    offer = store.find_offer(session=session, request_id=request.id, volunteer_id=volunteer.id)
    if offer is not None and offer.id is not None:
        offer.response = store.OfferResponse.CANCELLED
        offer.responded_at = now
        session.add(offer)
    cancel_jobs(session, request.id, "request.remind", "request.followup")
    family = people.get_person(session=session, person_id=request.family_id)
    stamp = f"{now:%Y%m%d%H%M%S}"
    if family is not None:
        with use_language(family.language):
            text = "\n".join(
                [
                    _("😔 {volunteer} can no longer help with this request. We are looking for someone else.").format(
                        volunteer=hi(name_of(volunteer))
                    ),
                    summary(session, request, family, with_family=False),
                ]
            )
        notify(session=session, person=family, key=f"gaveback:{request.id}:{volunteer.id}:{stamp}", text=text, now=now)
        for coordinator in alerts.coordinators_for(session, family):
            with use_language(coordinator.language):
                text = _(
                    "ℹ️ {volunteer} cancelled the task for {family} ({what}); it is offered to others again."
                ).format(volunteer=hi(name_of(volunteer)), family=hi(name_of(family)), what=h(kind_label(request.kind)))
            notify(
                session=session,
                person=coordinator,
                key=f"gaveback:{request.id}:{volunteer.id}:{coordinator.id}:{stamp}",
                text=text,
                now=now,
            )
    people.add_timeline(
        session=session,
        family_id=request.family_id,
        kind="request_given_back",
        now=now,
        actor_id=volunteer.id,
        ref_id=request.id,
    )
    return search_again(session=session, services=services, request=request, now=now)


def search_again(*, session: Session, services: Services, request: HelpRequest, now: datetime) -> int:
    """A request open again after its volunteer gave it back (or left): those who had it on offer, then
    the next round; coordinators hear when nobody fits. Returns how many were asked."""
    assert request.id is not None
    asked = reoffer(session=session, services=services, request=request, now=now)
    asked += run_wave(session=session, services=services, request=request, now=now)
    if asked == 0 and not store.has_pending_job(session=session, kind="request.match_wave", subject_id=request.id):
        escalate(session=session, services=services, request=request, now=now, nobody_fits=True)
    else:
        expiry = expires_at(request, zone_of(services))
        due = max(now, unmatched_due(services, request, expiry))
        _job(session, "request.unmatched", request.id, due, now, f"{request.id}:{due:%Y%m%dT%H%M}:again")
    return asked


def reoffer(*, session: Session, services: Services, request: HelpRequest, now: datetime) -> int:
    """A request that reopened goes back to those who had it on offer when it was taken (if they still fit,
    apart from the weekly cap: it is the same offer)."""
    assert request.id is not None
    need = need_for(session, request, zone_of(services))
    window = match_window(services, now)
    asked = 0
    for offer in store.offers_for(session=session, request_id=request.id):
        if offer.response != store.OfferResponse.WITHDRAWN:
            continue
        candidate = store.candidate(session=session, volunteer_id=offer.volunteer_id, window=window)
        reason = (
            match_rules.eligible(candidate, need, today=window.today, vog_valid_years=services.settings.vog_valid_years)
            if candidate is not None
            else match_rules.Ineligible.NOT_APPROVED
        )
        volunteer = people.get_person(session=session, person_id=offer.volunteer_id)
        if reason in (None, match_rules.Ineligible.CAP) and volunteer is not None:
            asked += send_offer(session=session, request=request, volunteer=volunteer, now=now, how="again")
    return asked


def declined(*, session: Session, services: Services, request: HelpRequest, now: datetime) -> None:
    """Someone said 'not this time': when nobody asked is still thinking about it, ask the next round now."""
    assert request.id is not None
    if request.status != rules.RequestStatus.OPEN or store.waiting_offers(session=session, request_id=request.id):
        return
    run_wave(session=session, services=services, request=request, now=now)


def record_outcome(
    *, session: Session, services: Services, request: HelpRequest, person: Person, happened: bool, now: datetime
) -> bool:
    """One side says whether the task happened; the first answer closes the request. True when recorded."""
    assert request.id is not None and person.id is not None
    outcome = "done" if happened else "not_happened"
    if not store.record_outcome(session=session, request_id=request.id, person_id=person.id, outcome=outcome, now=now):
        return False
    event_name = rules.RequestEvent.COMPLETE if happened else rules.RequestEvent.NOT_HAPPENED
    changed = store.apply_event(session=session, request_id=request.id, event=event_name, now=now)
    if changed is not None:
        closed(session=session, services=services, request=changed[0], now=now)
        people.add_timeline(
            session=session,
            family_id=request.family_id,
            kind=f"request_{outcome}",
            now=now,
            actor_id=person.id,
            ref_id=request.id,
        )
    else:
        _check_disagreement(session, request, person, outcome, now)
    return True


def _check_disagreement(session: Session, request: HelpRequest, person: Person, outcome: str, now: datetime) -> None:
    """The family and the volunteer said different things: the coordinators should know."""
    others = [
        item for item in store.outcomes_for(session=session, request_id=request.id or 0) if item.person_id != person.id
    ]
    if not others or all(item.outcome == outcome for item in others):
        return
    family = people.get_person(session=session, person_id=request.family_id)
    if family is None:
        return
    for coordinator in alerts.coordinators_for(session, family):
        with use_language(coordinator.language):
            text = _(
                "❓ The family {family} and the volunteer answered differently whether a task happened ({what}). "
                "Please check with them."
            ).format(family=hi(name_of(family)), what=h(kind_label(request.kind)))
        notify(session=session, person=coordinator, key=f"disagree:{request.id}:{coordinator.id}", text=text, now=now)


def outcome_markup(request_id: int) -> InlineKeyboardMarkup:
    return keyboard(
        [
            [(_("✅ Yes, it happened"), callback(OUTCOME, request_id, "done"))],
            [(_("✖️ It did not happen"), callback(OUTCOME, request_id, "no"))],
        ]
    )


def thank(*, session: Session, request: HelpRequest, family: Person, now: datetime) -> bool:
    """The family thanks the volunteer of a task that happened; once per request."""
    assert request.id is not None
    if request.family_id != family.id or request.status != rules.RequestStatus.DONE:
        return False
    if request.assigned_volunteer_id is None or store.was_thanked(session=session, request_id=request.id):
        return False
    volunteer = people.get_person(session=session, person_id=request.assigned_volunteer_id)
    if volunteer is None:
        return False
    with use_language(volunteer.language):
        text = _("💛 {family} says thank you for your help ({what})!").format(
            family=hi(name_of(family)), what=h(kind_label(request.kind))
        )
    notify(session=session, person=volunteer, key=f"thanks:{request.id}", text=text, now=now)
    people.add_timeline(
        session=session, family_id=family.id, kind="request_thanked", now=now, actor_id=family.id, ref_id=request.id
    )
    return True


# --- jobs -----------------------------------------------------------------------------------------


def _open_request(session: Session, job: Any) -> HelpRequest | None:
    request = store.get_request(session=session, request_id=int(job.subject_id or 0))
    if request is None or request.status != rules.RequestStatus.OPEN:
        return None
    return request


def match_wave_job(*, session: Session, job: Any, services: Services, now: datetime) -> None:
    """`request.match_wave`: the next round of volunteers, while nobody accepted."""
    request = _open_request(session, job)
    if request is not None:
        run_wave(session=session, services=services, request=request, now=now)


def unmatched_job(*, session: Session, job: Any, services: Services, now: datetime) -> None:
    """`request.unmatched`: nobody accepted in time (or it is close to the start): tell the coordinators."""
    request = _open_request(session, job)
    if request is None or request.escalated_at is not None:
        return
    if orphaned(session=session, services=services, request=request, now=now):
        return
    settings = services.settings
    expiry = expires_at(request, zone_of(services))
    due = rules.unmatched_escalation_due(
        created_at=request.created_at,
        starts_at=request.starts_at if request.starts_at is not None else expiry,
        now=now,
        wait=timedelta(hours=settings.request_unmatched_wait_hours),
        lead=timedelta(hours=settings.request_unmatched_lead_hours),
    )
    if due:
        escalate(session=session, services=services, request=request, now=now)


def expire_job(*, session: Session, job: Any, services: Services, now: datetime) -> None:
    """`request.expire`: an open request whose time has passed; offers withdrawn, the family told."""
    request = _open_request(session, job)
    if request is None or request.id is None:
        return
    if not rules.expiry_due(status=request.status, expires_at=expires_at(request, zone_of(services)), now=now):
        return
    changed = store.apply_event(session=session, request_id=request.id, event=rules.RequestEvent.EXPIRE, now=now)
    if changed is None:
        return
    request = changed[0]
    withdraw_offers(session=session, request=request, now=now, closed=True)
    closed(session=session, services=services, request=request, now=now)
    family = people.get_person(session=session, person_id=request.family_id)
    if family is not None:
        with use_language(family.language):
            text = "\n".join(
                [
                    _("😔 Sadly nobody could take this request in time:"),
                    summary(session, request, family, with_family=False),
                    _("If you still need help, ask again or talk to your coordinator."),
                ]
            )
        notify(session=session, person=family, key=f"expired:{request.id}", text=text, now=now)
    people.add_timeline(
        session=session, family_id=request.family_id, kind="request_expired", now=now, ref_id=request.id
    )
    event(logger, "request.expired", request=request.id)


def _assigned(
    session: Session, services: Services, job: Any, now: datetime
) -> tuple[HelpRequest, Person, Person] | None:
    """The accepted request of a reminder or follow-up job, if still with the volunteer it was planned for."""
    request = store.get_request(session=session, request_id=int(job.subject_id or 0))
    if request is None or request.status != rules.RequestStatus.ACCEPTED:
        return None
    if orphaned(session=session, services=services, request=request, now=now) or request.assigned_volunteer_id is None:
        return None
    parts = str(job.dedupe_key).split(":")
    if len(parts) < 3 or parts[2] != str(request.assigned_volunteer_id):
        return None
    volunteer = people.get_person(session=session, person_id=request.assigned_volunteer_id)
    family = people.get_person(session=session, person_id=request.family_id)
    if volunteer is None or family is None:
        return None
    return request, volunteer, family


def remind_job(*, session: Session, job: Any, services: Services, now: datetime) -> None:
    """`request.remind`: the volunteer and the family are reminded before the task."""
    found = _assigned(session, services, job, now)
    if found is None:
        return
    request, volunteer, family = found
    with use_language(volunteer.language):
        text = "\n".join([_("⏰ A reminder of the task you accepted:"), details(session, request, volunteer)])
    notify(session=session, person=volunteer, key=f"remind:{job.dedupe_key}:v", text=text, now=now)
    with use_language(family.language):
        text = "\n".join(
            [
                _("⏰ A reminder: {volunteer} comes to help you.").format(volunteer=hi(name_of(volunteer))),
                summary(session, request, family, with_family=False),
            ]
        )
    notify(session=session, person=family, key=f"remind:{job.dedupe_key}:f", text=text, now=now)


def followup_job(*, session: Session, job: Any, services: Services, now: datetime) -> None:
    """`request.followup`: after the task both sides are asked whether it happened."""
    found = _assigned(session, services, job, now)
    if found is None:
        return
    request, volunteer, family = found
    assert request.id is not None
    for person, other in ((volunteer, family), (family, volunteer)):
        with use_language(person.language):
            text = "\n".join(
                [
                    _("Did this go ahead, with {name}?").format(name=hi(name_of(other))),
                    summary(session, request, person, with_family=False),
                ]
            )
            markup = outcome_markup(request.id)
        notify(
            session=session, person=person, key=f"followup:{request.id}:{person.id}", text=text, now=now, markup=markup
        )


def withdraw_job(*, session: Session, job: Any, services: Services, now: datetime) -> None:
    """`request.withdraw`: an offer that was being sent when the request was taken is edited now."""
    offer = store.get_offer(session=session, offer_id=int(job.subject_id or 0))
    if offer is None or offer.id is None or offer.response != store.OfferResponse.WITHDRAWN:
        return
    closed_request = str(job.dedupe_key).endswith(":1")
    _withdraw_message(session=session, offer=offer, now=now, closed=closed_request)


def purge_job(*, session: Session, job: Any, services: Services, now: datetime) -> None:
    """`requests.purge`: free text of requests closed longer ago than the retention period is deleted."""
    cutoff = now - timedelta(days=services.settings.request_retention_days)
    purged = store.purge_texts(session=session, closed_before=cutoff, now=now)
    event(logger, "requests.purged", count=purged)


def vog_reminder_job(*, session: Session, job: Any, services: Services, now: datetime) -> None:
    """`volunteer.vog_reminder`: a VOG stops counting soon; the volunteer and a coordinator are told once."""
    volunteer_id = int(job.subject_id or 0)
    profile = people.get_volunteer(session=session, person_id=volunteer_id)
    volunteer = people.get_person(session=session, person_id=volunteer_id)
    if profile is None or volunteer is None or profile.vog_date is None or not profile.children_ok:
        return
    if not str(job.dedupe_key).endswith(f"{profile.vog_date:%Y%m%d}"):
        return  # a newer VOG date was entered since this reminder was planned
    settings = services.settings
    today = local_today(services, now)
    if not volunteer_rules.vog_reminder_due(
        vog_date=profile.vog_date,
        today=today,
        years=settings.vog_valid_years,
        warn_before=timedelta(days=settings.vog_warn_days),
    ):
        return
    until = volunteer_rules.vog_expires_on(profile.vog_date, settings.vog_valid_years)
    with use_language(volunteer.language):
        text = _(
            "📄 Your VOG counts for tasks with children until {day}. Please ask for a new one and give its date "
            "to your coordinator, so you can keep helping with children."
        ).format(day=format_day(until, volunteer.language))
    notify(session=session, person=volunteer, key=f"vog:{volunteer_id}:{profile.vog_date:%Y%m%d}", text=text, now=now)
    approver = people.get_person(session=session, person_id=profile.approved_by_id) if profile.approved_by_id else None
    recipients = [approver] if approver is not None and approver.telegram_id else people.coordinators(session=session)
    for coordinator in recipients:
        with use_language(coordinator.language):
            text = _(
                "📄 The VOG of {name} counts for tasks with children until {day}. Enter the new date under "
                "Volunteers when it arrives."
            ).format(name=hi(name_of(volunteer)), day=format_day(until, coordinator.language))
        notify(
            session=session,
            person=coordinator,
            key=f"vog:{volunteer_id}:{profile.vog_date:%Y%m%d}:{coordinator.id}",
            text=text,
            now=now,
        )


def plan_vog_reminder(
    *, session: Session, services: Services, volunteer_id: int, vog_date: date, now: datetime
) -> None:
    """Schedule the VOG reminder for this VOG date (a new date plans a new reminder; the old one lapses)."""
    settings = services.settings
    warn_on = volunteer_rules.vog_expires_on(vog_date, settings.vog_valid_years) - timedelta(
        days=settings.vog_warn_days
    )
    due = datetime.combine(warn_on, ASK_AT, tzinfo=ZoneInfo(zone_of(services)))
    delivery.schedule_job(
        session=session,
        kind="volunteer.vog_reminder",
        due_at=max(now, due),
        dedupe_key=f"volunteer.vog_reminder:{volunteer_id}:{vog_date:%Y%m%d}",
        now=now,
        subject_id=volunteer_id,
    )


JOBS: dict[str, JobHandler] = {
    "request.match_wave": match_wave_job,
    "request.unmatched": unmatched_job,
    "request.expire": expire_job,
    "request.remind": remind_job,
    "request.followup": followup_job,
    "request.withdraw": withdraw_job,
    "requests.purge": purge_job,
    "volunteer.vog_reminder": vog_reminder_job,
}
