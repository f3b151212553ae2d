"""Leaving Waakvlam, the parts that need nothing but storage: a coordinator's families handed over, the
notices of erasure, and the retention policy that forgets what is no longer needed.

A coordinator who leaves hands their families to the duo partner (or an admin), who is told; a concern
they had taken is open again and goes to the family's coordinators, and its escalation goes on. The mending
of a family's or a volunteer's open requests and tasks is in `services.leaving`, beside the matching
rules it uses (until those are services too). Notices that name the leaver have
purpose `erasure`: once sent, their text is dropped from the outbox.

The retention job (`privacy.retention`, daily) deletes handled updates, sent messages, poison rows,
finished jobs, abandoned dialogue drafts and old invites after the periods in the settings.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from services import timeline
from services.concerns import concern_buttons, concern_card, plan_next_step
from services.context import JobHandler, Services
from services.i18n import _, hi, use_language
from services.labels import name_of
from services.logs import event
from services.outbox import Outgoing, ToPerson, enqueue
from services.recipients import coordinators_for
from storage import job_store, people, retention
from storage.db import Session, reread
from storage.models import Concern, FamilyProfile, Person, Role
from storage.privacy import PURPOSE_ERASURE

logger = logging.getLogger(__name__)

RETENTION_KIND = "privacy.retention"
RETENTION_AT = time(3, 30)


def tell(
    *, session: Session, person: Person, key: str, text: str, now: datetime, markup: Mapping[str, Any] | None = None
) -> None:
    """Queue a notice about someone who left (its text is dropped from the outbox once sent)."""
    message = Outgoing(text=text, markup=markup, purpose=PURPOSE_ERASURE)
    enqueue(session=session, to=ToPerson(person), message=message, key=key, now=now)


# --- a coordinator's families ---------------------------------------------------------------------


def successor(*, session: Session, leaving: Person, profile: FamilyProfile) -> int | None:
    """Who takes a family over: its duo partner coordinator, else the leaver's duo partner, else an admin."""
    own = people.get_coordinator(session=session, person_id=leaving.id or 0)
    for candidate in (profile.partner_coordinator_id, own.duo_partner_id if own else None):
        if candidate is not None and candidate != leaving.id:
            found = people.get_person(session=session, person_id=candidate)
            if found is not None and found.role == Role.COORDINATOR and found.telegram_id is not None:
                return candidate
    for admin in people.admins(session=session):
        if admin.id != leaving.id and admin.team_id == leaving.team_id:
            return admin.id
    others = [c for c in people.coordinators(session=session, team_id=leaving.team_id) if c.id != leaving.id]
    return others[0].id if others else None


@dataclass(frozen=True)
class HandOver:
    """Whose families went to whom when a coordinator left: heir's id -> the families' names."""

    taken_over: Mapping[int, list[str]]

    @property
    def families(self) -> int:
        """How many named families changed hands."""
        return sum(map(len, self.taken_over.values()))


def _reassign(*, session: Session, coordinator: Person) -> HandOver:
    """Give the leaver's families to their successors (and drop the leaver as partner coordinator)."""
    pid = coordinator.id
    taken_over: dict[int, list[str]] = {}
    for profile in people.families_of_coordinator(session=session, coordinator_id=pid or 0):
        if profile.primary_coordinator_id != pid:
            people.set_family_coordinators(
                session=session, profile=profile, primary_id=profile.primary_coordinator_id, partner_id=None
            )
            continue
        heir = successor(session=session, leaving=coordinator, profile=profile)
        partner = people.get_coordinator(session=session, person_id=heir) if heir else None
        partner_id = partner.duo_partner_id if partner is not None and partner.duo_partner_id != pid else None
        people.set_family_coordinators(session=session, profile=profile, primary_id=heir, partner_id=partner_id)
        family = people.get_person(session=session, person_id=profile.person_id)
        if heir is not None and family is not None and family.display_name:
            taken_over.setdefault(heir, []).append(family.display_name)
    return HandOver(taken_over=taken_over)


def hand_over_families(*, session: Session, coordinator: Person, now: datetime) -> HandOver:
    """A coordinator leaves: their families go to successors, who are told, and so is their duo partner."""
    assert coordinator.id is not None
    pid = coordinator.id
    own = people.get_coordinator(session=session, person_id=pid)
    duo_partner_id = own.duo_partner_id if own is not None else None
    handed = _reassign(session=session, coordinator=coordinator)
    told: set[int] = set()
    for heir_id, names in handed.taken_over.items():
        heir = people.get_person(session=session, person_id=heir_id)
        if heir is None:
            continue
        with use_language(heir.language):
            text = "\n".join(
                [
                    _("📋 {coordinator} has left Waakvlam.").format(coordinator=hi(name_of(coordinator))),
                    _("You are now the primary coordinator of: {families}.").format(
                        families=", ".join(hi(name) for name in sorted(names))
                    ),
                ]
            )
        tell(session=session, person=heir, key=f"left:{pid}:families:{heir_id}", text=text, now=now)
        told.add(heir_id)
    known = duo_partner_id is not None and duo_partner_id not in told
    partner = people.get_person(session=session, person_id=duo_partner_id) if known and duo_partner_id else None
    if partner is not None:
        with use_language(partner.language):
            text = _("📋 {coordinator}, your duo partner, has left Waakvlam.").format(
                coordinator=hi(name_of(coordinator))
            )
        tell(session=session, person=partner, key=f"left:{pid}:duo:{duo_partner_id}", text=text, now=now)
    return handed


def reopen_concern(
    *, session: Session, services: Services, concern: Concern, coordinator: Person, now: datetime
) -> None:
    """A concern the leaver had taken is open again: the family's coordinators get it with the Take button,
    and the escalation chain goes on if nobody takes it."""
    assert concern.id is not None
    people.reopen_concern(session=session, concern_id=concern.id)
    reread(session=session, row=concern)
    family = people.get_person(session=session, person_id=concern.family_id) if concern.family_id else None
    recipients = (
        coordinators_for(session, family)
        if family is not None
        else people.coordinators(session=session, team_id=coordinator.team_id)
    )
    for recipient in recipients:
        if recipient.id == coordinator.id or recipient.telegram_id is None:
            continue
        with use_language(recipient.language):
            head = _("⚠️ {coordinator} had taken this concern but has left Waakvlam. Please pick it up.").format(
                coordinator=hi(name_of(coordinator))
            )
            card = concern_card(
                session,
                services,
                concern,
                language=recipient.language,
                level=concern.escalation_level,
                private=True,
                now=now,
            )
            buttons = concern_buttons(concern, private=True)
        message = Outgoing(text=f"{head}\n\n{card}", buttons=buttons, purpose=PURPOSE_ERASURE)
        key = f"left:{coordinator.id}:concern:{concern.id}:{recipient.id}"
        enqueue(session=session, to=ToPerson(recipient), message=message, key=key, now=now)
    reopened = f"reopened:{int(now.timestamp())}"
    plan_next_step(
        session=session, services=services, concern=concern, level=concern.escalation_level, key=reopened, now=now
    )
    if family is not None:
        timeline.note(session=session, about=concern, kind="concern_reopened", now=now)


def coordinator_leaves(*, session: Session, services: Services, coordinator: Person, now: datetime) -> None:
    """A coordinator leaves: their families are handed over and the concerns they had taken are open again."""
    assert coordinator.id is not None
    handed = hand_over_families(session=session, coordinator=coordinator, now=now)
    for concern in people.concerns_claimed_by(session=session, coordinator_id=coordinator.id):
        reopen_concern(session=session, services=services, concern=concern, coordinator=coordinator, now=now)
    event(logger, "privacy.coordinator_left", coordinator=coordinator.id, handed_over=handed.families)


# --- retention ------------------------------------------------------------------------------------


def next_run(services: Services, after: datetime) -> datetime:
    """The next 03:30 local after `after`."""
    zone = ZoneInfo(services.settings.timezone)
    local = after.astimezone(zone)
    moment = datetime.combine(local.date(), RETENTION_AT, tzinfo=zone)
    if moment <= local:
        moment = datetime.combine(local.date() + timedelta(days=1), RETENTION_AT, tzinfo=zone)
    return moment


def schedule_retention(*, session: Session, services: Services, after: datetime, now: datetime) -> None:
    """The next retention run (once a day, whoever schedules it)."""
    due = next_run(services, after)
    job_store.schedule_job(
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
