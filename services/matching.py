"""Getting a help request to a volunteer and seeing it through: offers, withdrawals, reminders and jobs.

The chat's modules and the tick reach everything that happens to a request through here (the rules are in
`services.offers` and `services.request_flow`); the jobs below write the rows and the messages to others.

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
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from domain import requests as rules
from domain import volunteers as volunteer_rules
from services import timeline
from services.context import JobHandler, Services
from services.i18n import _, format_day, hi, use_language
from services.logs import event
from services.offers import OFFER as OFFER
from services.offers import PURPOSE_WITHDRAW as PURPOSE_WITHDRAW
from services.offers import offer_ended_text as offer_ended_text
from services.offers import quiet_withdrawals as quiet_withdrawals
from services.offers import send_offer as send_offer
from services.offers import withdraw_message, withdraw_offers
from services.offers import withdrawn_note as withdrawn_note
from services.request_basics import ASK_AT, details, expires_at, name_of, summary, tell, zone_of
from services.request_basics import STATUS_LABELS as STATUS_LABELS
from services.request_basics import area_name as area_name
from services.request_basics import cancel_jobs as cancel_jobs
from services.request_basics import described as described
from services.request_basics import local_today as local_today
from services.request_basics import match_window as match_window
from services.request_basics import need_for as need_for
from services.request_basics import status_text as status_text
from services.request_flow import OUTCOME as OUTCOME
from services.request_flow import PLACE as PLACE
from services.request_flow import accepted as accepted
from services.request_flow import closed, escalate, orphaned, outcome_buttons, run_wave
from services.request_flow import declined as declined
from services.request_flow import family_cancelled as family_cancelled
from services.request_flow import record_outcome as record_outcome
from services.request_flow import search_again as search_again
from services.request_flow import start as start
from services.request_flow import thank as thank
from services.request_flow import volunteer_gave_back as volunteer_gave_back
from services.tasks import KIND_LABELS as KIND_LABELS
from services.tasks import kind_label as kind_label
from services.tasks import when_text as when_text
from storage import job_store, people
from storage import requests as store
from storage.db import Session
from storage.models import HelpRequest, Person

logger = logging.getLogger(__name__)


def _open_request(session: Session, job: Any) -> HelpRequest | None:
    """The job's request while it is still open, else None."""
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
        tell(session=session, person=family, key=f"expired:{request.id}", text=text, now=now)
    timeline.note(session=session, about=request, kind="request_expired", now=now)
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
    tell(session=session, person=volunteer, key=f"remind:{job.dedupe_key}:v", text=text, now=now)
    with use_language(family.language):
        text = "\n".join(
            [
                _("⏰ A reminder: {volunteer} comes to help you.").format(volunteer=hi(name_of(volunteer))),
                summary(session, request, family, with_family=False),
            ]
        )
    tell(session=session, person=family, key=f"remind:{job.dedupe_key}:f", text=text, now=now)


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
            buttons = outcome_buttons(request.id)
        tell(
            session=session,
            person=person,
            key=f"followup:{request.id}:{person.id}",
            text=text,
            now=now,
            buttons=buttons,
        )


def withdraw_job(*, session: Session, job: Any, services: Services, now: datetime) -> None:
    """`request.withdraw`: an offer that was being sent when the request was taken is edited now."""
    offer = store.get_offer(session=session, offer_id=int(job.subject_id or 0))
    if offer is None or offer.id is None or offer.response != store.OfferResponse.WITHDRAWN:
        return
    closed_request = str(job.dedupe_key).endswith(":1")
    withdraw_message(session=session, offer=offer, now=now, closed=closed_request)


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
    tell(session=session, person=volunteer, key=f"vog:{volunteer_id}:{profile.vog_date:%Y%m%d}", text=text, now=now)
    approver = people.get_person(session=session, person_id=profile.approved_by_id) if profile.approved_by_id else None
    recipients = (
        [approver]
        if approver is not None and approver.telegram_id
        else people.coordinators(session=session, team_id=volunteer.team_id)
    )
    for coordinator in recipients:
        with use_language(coordinator.language):
            text = _(
                "📄 The VOG of {name} counts for tasks with children until {day}. Enter the new date under "
                "Volunteers when it arrives."
            ).format(name=hi(name_of(volunteer)), day=format_day(until, coordinator.language))
        tell(
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
    job_store.schedule_job(
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
