"""Coordinators' use cases about volunteers: the list, rejecting, approving with the VOG date (and renewing
it), support pairs, and which families a coordinator may act for.

Every function re-checks on the server that the person is a coordinator and, for anything about a family,
that they may see that family (`services.permissions`, `Action.ACT_FOR_FAMILY`). Approval follows
`domain.volunteers`: without a VOG that still counts, a volunteer is approved for tasks without children only.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from domain import volunteers as volunteer_rules
from services.callbacks import Button
from services.concerns import name_of
from services.context import Services
from services.i18n import _, hi, use_language
from services.matching import plan_vog_reminder
from services.outbox import Outgoing, ToPerson, enqueue, tell
from services.permissions import Action, authorize, team_scope
from services.request_basics import local_today
from services.skills import skill_label
from services.volunteers import is_paused
from storage import care, people, rights
from storage import volunteers as volunteer_store
from storage.db import Session
from storage.models import Person, VolunteerProfile, VolunteerStatus

APPROVE = Button("ap", "ok", int)  # ap:ok:<volunteer>: the approval dialogue, asking the VOG date
RENEW = Button("ap", "vog", int)  # a new VOG date for an approved volunteer
NO_VOG = Button("ap", "novog")
CHILDREN = Button("ap", "kids", str)  # yes / no
REJECT = Button("ap", "no", int)  # asks to confirm
REJECT_YES = Button("ap", "noy", int)
KEEP = Button("ap", "keep", int)
PLACE_WITH = Button("ap", "pv", int, int)  # ap:pv:<request>:<volunteer>
PAIR = Button("ap", "pair", int)  # ap:pair:<family>: choose its support volunteer
PAIR_PAGE = Button("ap", "pairpg", int, int)  # another page of candidates
PAIR_WITH = Button("ap", "pairv", int, int)  # ap:pairv:<family>:<volunteer>
UNPAIR = Button("ap", "unpair", int)
PAGE = Button("ap", "pg", str, int)  # ap:pg:<pairs|askfor|approved>:<page>

MODE_APPROVE = "approve"
MODE_RENEW = "renew"
APPROVED_LIMIT = 1000


def coordinator_of(
    *,
    session: Session,
    person: Person | None,
    now: datetime,
    action: Action = Action.APPROVE_VOLUNTEER,
    volunteer_id: int | None = None,
) -> Person | None:
    """The acting person, fresh from the database, if a signed-up coordinator who may do `action`.

    About one volunteer (`volunteer_id`): the volunteer's approval belongs to the volunteer's team, so a
    coordinator of another team is refused (and audited)."""
    fresh = people.get_person(session=session, person_id=person.id) if person and person.id else None
    if fresh is None or fresh.consent_at is None:
        return None
    facts = rights.volunteer_facts(session=session, volunteer_id=volunteer_id) if volunteer_id is not None else None
    decision = authorize(
        session=session,
        actor=fresh,
        action=action,
        now=now,
        audit="refused",
        facts=facts,
        family_id=volunteer_id,
    )
    return fresh if decision else None


def may_see(*, session: Session, coordinator: Person, family_id: int, now: datetime | None = None) -> bool:
    """A family's requests and support volunteer: its duo, anyone while nobody is assigned, admins.

    With `now` (an action, not a list) the decision is audited.
    """
    profile = people.get_family(session=session, person_id=family_id)
    family = people.get_person(session=session, person_id=family_id)
    if profile is None or family is None or family.consent_at is None:
        return False
    decision = authorize(
        session=session,
        actor=coordinator,
        action=Action.ACT_FOR_FAMILY,
        family_id=family_id,
        now=now,
        audit=now is not None,
    )
    return bool(decision)


def visible_families(*, session: Session, coordinator: Person) -> list[Person]:
    """The families this coordinator may see: their own (as primary or partner) and those with nobody yet.

    All of them, paged by the caller: a cap here would hide whoever sorts late in the alphabet.
    """
    return [
        family
        for family in care.families(session=session, limit=None, team_id=team_scope(coordinator))
        if family.id is not None and may_see(session=session, coordinator=coordinator, family_id=family.id)
    ]


def family_labels(*, session: Session, families: list[Person], among: list[Person]) -> dict[int, str]:
    """A button label per family: the name, with the neighbourhood added where two in `among` share a name."""
    counts = Counter(name_of(family) for family in among)
    labels: dict[int, str] = {}
    for family in families:
        name = name_of(family)
        if family.id is None:
            continue
        labels[family.id] = name
        if counts[name] > 1:
            profile = people.get_family(session=session, person_id=family.id)
            area = people.get_area(session=session, area_id=profile.area_id) if profile and profile.area_id else None
            labels[family.id] = f"{name} · {area.name}" if area is not None else f"{name} · #{family.id}"
    return labels


# --- the volunteers' list -------------------------------------------------------------------------


@dataclass(frozen=True)
class Waiting:
    """A volunteer waiting for intake, with what they can help with (labels) and whether a family."""

    person: Person
    skills: str
    is_family: bool


@dataclass(frozen=True)
class Overview:
    """The /volunteers list: who waits, whose VOG soon stops counting (and until when), how many approved."""

    coordinator: Person
    waiting: list[Waiting] = field(default_factory=list)
    expiring: list[tuple[Person, date]] = field(default_factory=list)
    approved: int = 0
    paused: int = 0


def overview(*, session: Session, services: Services, person: Person | None, now: datetime) -> Overview | None:
    """Volunteers waiting for intake, VOGs that will soon stop counting, and the approved (for a coordinator)."""
    coordinator = coordinator_of(session=session, person=person, now=now)
    if coordinator is None:
        return None
    settings = services.settings
    today = local_today(services, now)
    waiting = [
        Waiting(
            volunteer,
            ", ".join(skill_label(s) for s in people.volunteer_skills(session=session, person_id=volunteer.id or 0)),
            people.get_family(session=session, person_id=volunteer.id or 0) is not None,
        )
        for volunteer, _profile in volunteer_store.volunteers_with_status(
            session=session, status=VolunteerStatus.PENDING, team_id=team_scope(coordinator)
        )
    ]
    soon = volunteer_rules.vog_cutoff(
        today=today + timedelta(days=settings.vog_warn_days), years=settings.vog_valid_years
    )
    expiring = [
        (volunteer, volunteer_rules.vog_expires_on(profile.vog_date, settings.vog_valid_years))
        for volunteer, profile in volunteer_store.vog_expiring(
            session=session, cutoff=soon, team_id=team_scope(coordinator)
        )
        if profile.vog_date is not None
    ]
    approved = volunteer_store.volunteers_with_status(
        session=session, status=VolunteerStatus.APPROVED, limit=APPROVED_LIMIT, team_id=team_scope(coordinator)
    )
    paused = sum(1 for _person, profile in approved if is_paused(profile, today))
    return Overview(coordinator, waiting, expiring, len(approved), paused)


def approved_volunteers(
    *, session: Session, person: Person | None, now: datetime
) -> tuple[Person, list[tuple[Person, VolunteerProfile]]] | None:
    """The coordinator and every approved volunteer with their profile (None for anyone else)."""
    coordinator = coordinator_of(session=session, person=person, now=now)
    if coordinator is None:
        return None
    return coordinator, volunteer_store.volunteers_with_status(
        session=session, status=VolunteerStatus.APPROVED, limit=APPROVED_LIMIT, team_id=team_scope(coordinator)
    )


# --- rejecting ------------------------------------------------------------------------------------


def rejectable(
    *, session: Session, person: Person | None, volunteer_id: int, now: datetime
) -> tuple[Person, bool] | None:
    """The volunteer a coordinator is about to reject, and whether they can still be rejected; None if forged."""
    coordinator = coordinator_of(session=session, person=person, now=now, volunteer_id=volunteer_id)
    profile = people.get_volunteer(session=session, person_id=volunteer_id)
    volunteer = people.get_person(session=session, person_id=volunteer_id)
    if coordinator is None or profile is None or volunteer is None:
        return None
    return volunteer, volunteer_rules.can_reject(profile.status)


def reject(*, session: Session, person: Person | None, volunteer_id: int, now: datetime) -> str | None:
    """Reject (once): the volunteer is told kindly in their language; their name, or None when nothing changed."""
    coordinator = coordinator_of(session=session, person=person, now=now, volunteer_id=volunteer_id)
    volunteer = people.get_person(session=session, person_id=volunteer_id)
    if coordinator is None or volunteer is None or volunteer.id is None:
        return None
    if volunteer_store.reject_volunteer(session=session, volunteer_id=volunteer.id) is None:
        return None
    tell(
        session=session,
        person=volunteer,
        key=f"rejected:{volunteer.id}:{now:%Y%m%d%H%M}",
        now=now,
        text=lambda: _(
            "Thank you for wanting to help, {name}. After the intake your coordinator decided not to go "
            "ahead for now. They can tell you more."
        ).format(name=hi(name_of(volunteer))),
    )
    people.audit(
        session=session, actor_id=coordinator.id, action="volunteer_rejected", subject_id=volunteer.id, now=now
    )
    return name_of(volunteer)


# --- approving ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ApprovalStart:
    """Whether the approval (or VOG renewal) dialogue may start for this volunteer."""

    volunteer: Person | None  # None: a stale or forged button
    expected: bool = False  # pending / rejected for approving, approved for renewing


def approval_start(
    *, session: Session, person: Person | None, volunteer_id: int, mode: str, now: datetime
) -> ApprovalStart:
    """Check a coordinator may start approving (or renewing the VOG of) this volunteer."""
    coordinator = coordinator_of(session=session, person=person, now=now, volunteer_id=volunteer_id)
    profile = people.get_volunteer(session=session, person_id=volunteer_id)
    volunteer = people.get_person(session=session, person_id=volunteer_id)
    if coordinator is None or volunteer is None or profile is None:
        return ApprovalStart(None)
    approved = profile.status == VolunteerStatus.APPROVED
    return ApprovalStart(volunteer, approved if mode == MODE_RENEW else not approved)


def vog_counts(vog: date | None, services: Services, now: datetime) -> bool:
    """Whether a VOG of this date still counts for tasks with children today."""
    years = services.settings.vog_valid_years
    return vog is not None and volunteer_rules.vog_is_valid(vog, today=local_today(services, now), years=years)


@dataclass(frozen=True)
class Approved:
    """The end of the approval dialogue: a problem ("stale" or a `volunteer_rules.ApprovalProblem`), or done."""

    problem: str | None
    name: str = ""
    children_ok: bool = False


def finish_approval(
    *,
    session: Session,
    services: Services,
    person: Person | None,
    volunteer_id: int,
    mode: str,
    vog: date | None,
    for_children: bool,
    now: datetime,
) -> Approved:
    """Approve (or record a new VOG date): checked with the rules again, the volunteer told, audited."""
    coordinator = coordinator_of(session=session, person=person, now=now, volunteer_id=volunteer_id)
    profile = people.get_volunteer(session=session, person_id=volunteer_id)
    volunteer = people.get_person(session=session, person_id=volunteer_id)
    if coordinator is None or profile is None or volunteer is None or coordinator.id is None:
        return Approved("stale")
    if mode == MODE_RENEW:
        children_ok = for_children and vog_counts(vog, services, now)
        if vog is None or not volunteer_store.renew_vog(
            session=session, volunteer_id=volunteer_id, vog_date=vog, children_ok=children_ok
        ):
            return Approved("stale")
    else:
        problem, children_ok = _approve(session, services, coordinator, profile, vog, for_children, now)
        if problem is not None:
            return Approved(problem)
    if children_ok and vog is not None:
        plan_vog_reminder(session=session, services=services, volunteer_id=volunteer_id, vog_date=vog, now=now)
    _tell_volunteer(session, volunteer, mode, children_ok, now)
    people.audit(
        session=session,
        actor_id=coordinator.id,
        action="volunteer_approved" if mode == MODE_APPROVE else "vog_renewed",
        subject_id=volunteer_id,
        now=now,
        children_ok=children_ok,
    )
    return Approved(None, name_of(volunteer), children_ok)


def _approve(
    session: Session,
    services: Services,
    coordinator: Person,
    profile: VolunteerProfile,
    vog: date | None,
    for_children: bool,
    now: datetime,
) -> tuple[str | None, bool]:
    """Approve a pending or rejected volunteer: (the problem or None, whether children are covered)."""
    settings = services.settings
    decision = volunteer_rules.approve(
        status=profile.status,
        vog_date=vog,
        today=local_today(services, now),
        vog_valid_years=settings.vog_valid_years,
        for_children=for_children,
    )
    if not decision.allowed:
        return str(decision.problem), decision.children_ok
    if not volunteer_store.approve_volunteer(
        session=session,
        volunteer_id=profile.person_id,
        approver_id=coordinator.id or 0,
        vog_date=vog,
        children_ok=decision.children_ok,
        weekly_cap=settings.volunteer_weekly_cap if profile.approved_at is None else None,
        now=now,
    ):
        return str(volunteer_rules.ApprovalProblem.ALREADY_APPROVED), decision.children_ok
    return None, decision.children_ok


def _tell_volunteer(session: Session, volunteer: Person, mode: str, children_ok: bool, now: datetime) -> None:
    """Tell the volunteer they are approved (or their new VOG is recorded), and whether for children."""
    with use_language(volunteer.language):
        if mode == MODE_RENEW:
            text = _("📄 Thank you, your new VOG is recorded.")
        else:
            text = _(
                "🎉 Good news, {name}: you are approved as a volunteer! From now on you receive requests that fit "
                "you. Accept or Not this time: both are fine."
            ).format(name=hi(name_of(volunteer)))
        text += "\n" + (
            _("You may also help with tasks with children.")
            if children_ok
            else _("For now you help with tasks without children.")
        )
    enqueue(
        session=session,
        to=ToPerson(volunteer),
        message=Outgoing(text=text),
        key=f"approved:{volunteer.id}:{mode}:{now:%Y%m%d%H%M%S}",
        now=now,
    )
