"""What happens to a request: the first offers and later rounds, the coordinators told when nobody takes it,
accepted, cancelled, given back, searched again, its outcome, the family's thanks.

`start` plans waves with `domain.matching.plan_waves` from the candidates the storage query returns: the
family's own support volunteer alone first, the others after `request_support_wait_hours`, another round
every `request_wave_interval_hours` while nobody accepted.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from domain import matching as match_rules
from domain import requests as rules
from services import timeline
from services.callbacks import Button
from services.context import Services
from services.i18n import _, h, hi, use_language
from services.logs import event
from services.offers import send_offer, withdraw_offers
from services.questions import request_accepted as first_help
from services.recipients import coordinators_for
from services.request_basics import (
    cancel_jobs,
    expires_at,
    in_daytime,
    match_window,
    name_of,
    need_for,
    schedule,
    summary,
    tell,
    zone_of,
)
from services.tasks import kind_label
from storage import job_store, people
from storage import matching as match_store
from storage import requests as store
from storage.db import Session
from storage.models import HelpRequest, Person

logger = logging.getLogger(__name__)

PLACE = "ap"  # the prefix of the coordinators' buttons (conversations.approvals)
PLACE_REQUEST = Button("ap", "place", int)  # ap:place:<request>: a coordinator asks a volunteer by name
OUTCOME = "td"  # td:<request>:done / td:<request>:no (read by conversations.volunteering)


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
            tell(
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
    pool = match_store.matching_candidates(
        session=session, need=need, window=window, exclude=already, limit=settings.request_wave_size * 3
    )
    if need.support_volunteer_id is not None and need.support_volunteer_id not in already:
        support = match_store.candidate(session=session, volunteer_id=need.support_volunteer_id, window=window)
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
            schedule(session, "request.match_wave", request.id, wave.at, now, f"{request.id}:{wave.at:%Y%m%dT%H%M}")
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
                schedule(session, "request.match_wave", request.id, later, now, f"{request.id}:{later:%Y%m%dT%H%M}")
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
    schedule(session, "request.expire", request.id, expiry, now, str(request.id))
    if asked == 0 and not _wave_planned(session, request.id):
        # Nobody fits at all: the coordinators hear of it now rather than after the wait.
        escalate(session=session, services=services, request=request, now=now, nobody_fits=True)
    else:
        unmatched_at = unmatched_due(services, request, expiry)
        schedule(
            session, "request.unmatched", request.id, unmatched_at, now, f"{request.id}:{unmatched_at:%Y%m%dT%H%M}"
        )
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
    for coordinator in coordinators_for(session, family):
        with use_language(coordinator.language):
            if nobody_fits:
                head = _("📋 No volunteer fits this request of {family}:").format(family=hi(name_of(family)))
            else:
                head = _("📋 Nobody has accepted this request of {family} yet (asked: {count}):").format(
                    family=hi(name_of(family)), count=hi(asked)
                )
            text = "\n".join([head, summary(session, request, coordinator, with_family=False)])
            buttons = [[(_("📌 Ask a volunteer yourself"), PLACE_REQUEST.data(request.id))]]
        tell(
            session=session,
            person=coordinator,
            key=f"unmatched:{request.id}:{coordinator.id}:{now:%Y%m%d%H%M}",
            text=text,
            now=now,
            buttons=buttons,
            purpose="alert",
        )
    timeline.note(session=session, about=request, kind="request_unmatched", now=now)
    event(logger, "request.escalated", request=request.id, nobody_fits=nobody_fits)
    return True


# --- what happens to a request --------------------------------------------------------------------


def accepted(*, session: Session, services: Services, request: HelpRequest, volunteer: Person, now: datetime) -> None:
    """A volunteer took the request: others' buttons go, the family hears, reminders and follow-up planned."""
    assert request.id is not None and volunteer.id is not None
    withdraw_offers(session=session, request=request, now=now, closed=False, keep=volunteer.id)
    first_help(session=session, request=request, now=now)
    family = people.get_person(session=session, person_id=request.family_id)
    if family is not None:
        with use_language(family.language):
            text = "\n".join(
                [
                    _("🎉 Good news: {volunteer} will help you.").format(volunteer=hi(name_of(volunteer))),
                    summary(session, request, family, with_family=False),
                ]
            )
        tell(
            session=session,
            person=family,
            key=f"accepted:{request.id}:{volunteer.id}:{now:%Y%m%d%H%M%S}",
            text=text,
            now=now,
        )
    if request.escalated_at is not None and family is not None:
        for coordinator in coordinators_for(session, family):
            with use_language(coordinator.language):
                text = _("✅ {volunteer} accepted the request of {family} ({what}). No need to look further.").format(
                    volunteer=hi(name_of(volunteer)), family=hi(name_of(family)), what=h(kind_label(request.kind))
                )
            tell(
                session=session,
                person=coordinator,
                key=f"placed:{request.id}:{volunteer.id}:{coordinator.id}",
                text=text,
                now=now,
            )
    plan_after_accept(session=session, services=services, request=request, volunteer=volunteer, now=now)
    timeline.note(session=session, about=request, kind="request_accepted", now=now, by=volunteer)


def plan_after_accept(
    *, session: Session, services: Services, request: HelpRequest, volunteer: Person, now: datetime
) -> None:
    """Plan the reminders before the task and the question afterwards."""
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
            schedule(session, "request.remind", request.id, moment, now, stamp)
    end = request.ends_at or request.starts_at or expires_at(request, zone)
    ask_at = in_daytime(end + timedelta(hours=settings.request_followup_hours), zone)
    schedule(session, "request.followup", request.id, ask_at, now, stamp)


def closed(*, session: Session, services: Services, request: HelpRequest, now: datetime) -> None:
    """Any end of a request: no more jobs for it, its text purged after the retention period."""
    assert request.id is not None
    cancel_jobs(session, request.id, "request.match_wave", "request.unmatched", "request.expire", "request.remind")
    if request.status != rules.RequestStatus.ACCEPTED:
        cancel_jobs(session, request.id, "request.followup")
    settings = services.settings
    purge_at = in_daytime(now + timedelta(days=settings.request_retention_days), zone_of(services))
    day = purge_at.astimezone(ZoneInfo(zone_of(services))).date()
    job_store.schedule_job(
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
            tell(session=session, person=volunteer, key=f"cancelled:{request.id}:{volunteer.id}", text=text, now=now)
    timeline.note(session=session, about=request, kind="request_cancelled", now=now)


def volunteer_gave_back(
    *, session: Session, services: Services, request: HelpRequest, volunteer: Person, now: datetime
) -> int:
    """The volunteer cancelled their task: the family and coordinators hear, and matching starts again."""
    assert request.id is not None and volunteer.id is not None
    offer = store.find_offer(session=session, request_id=request.id, volunteer_id=volunteer.id)
    if offer is not None and offer.id is not None:
        store.cancel_offer(session=session, offer=offer, now=now)
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
        tell(session=session, person=family, key=f"gaveback:{request.id}:{volunteer.id}:{stamp}", text=text, now=now)
        for coordinator in coordinators_for(session, family):
            with use_language(coordinator.language):
                text = _(
                    "ℹ️ {volunteer} cancelled the task for {family} ({what}); it is offered to others again."
                ).format(volunteer=hi(name_of(volunteer)), family=hi(name_of(family)), what=h(kind_label(request.kind)))
            tell(
                session=session,
                person=coordinator,
                key=f"gaveback:{request.id}:{volunteer.id}:{coordinator.id}:{stamp}",
                text=text,
                now=now,
            )
    timeline.note(session=session, about=request, kind="request_given_back", now=now, by=volunteer)
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
        schedule(session, "request.unmatched", request.id, due, now, f"{request.id}:{due:%Y%m%dT%H%M}:again")
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
        candidate = match_store.candidate(session=session, volunteer_id=offer.volunteer_id, window=window)
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
        timeline.note(session=session, about=request, kind=f"request_{outcome}", now=now, by=person)
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
    for coordinator in coordinators_for(session, family):
        with use_language(coordinator.language):
            text = _(
                "❓ The family {family} and the volunteer answered differently whether a task happened ({what}). "
                "Please check with them."
            ).format(family=hi(name_of(family)), what=h(kind_label(request.kind)))
        tell(session=session, person=coordinator, key=f"disagree:{request.id}:{coordinator.id}", text=text, now=now)


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
    tell(session=session, person=volunteer, key=f"thanks:{request.id}", text=text, now=now)
    people.add_timeline(
        session=session, family_id=family.id, kind="request_thanked", now=now, actor_id=family.id, ref_id=request.id
    )
    return True


def outcome_buttons(request_id: int) -> list[list[tuple[str, str]]]:
    """Did it happen: yes / no, in the current language."""
    return [
        [(_("✅ Yes, it happened"), f"{OUTCOME}:{request_id}:done")],
        [(_("✖️ It did not happen"), f"{OUTCOME}:{request_id}:no")],
    ]
