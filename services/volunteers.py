"""A volunteer's own use cases: pausing, the helper profile (also a family's), a message about a task, the
debrief after a task. Every function re-checks on the server who is asking (callback data can be forged).

The buttons of these use cases are defined here, so a message written for someone else and the handler that
reads the tap share one `Button`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from domain import availability, permissions
from domain import requests as rules
from services import matching, timeline
from services.callbacks import Button
from services.concerns import name_of
from services.context import Services
from services.escalation import raise_concern
from services.i18n import LANGUAGE_NAMES, N_, _, h, hi, use_language
from services.outbox import Outgoing, ToPerson, enqueue, tell_each
from services.permissions import actor_of
from services.question_reviews import help_went_badly
from services.recipients import coordinators_for
from services.relay import start_writing
from services.request_basics import local_today
from services.skills import SKILL_LABELS
from services.tasks import kind_label, when_text
from storage import people
from storage import requests as store
from storage import volunteers as volunteer_store
from storage.db import Session
from storage.models import HelpRequest, Person, Role, VolunteerProfile, VolunteerStatus

logger = logging.getLogger(__name__)

# The debrief after a task: a rating, then (volunteer) anything to raise or (family) a thank-you
# (`services.requests.THANK`).
RATE = Button("db", "rate", int, str)  # db:rate:<request>:<good|ok|hard>
FINE = Button("db", "fine", int)
WORRY = Button("db", "worry", int)
SKIP = Button("db", "skip", int)
# A volunteer's tasks and pause.
CANCEL_TASK = Button("vt", "cx", int)  # asks to confirm
CANCEL_TASK_YES = Button("vt", "cxy", int)
KEEP_TASK = Button("vt", "keep", int)
MESSAGE_FAMILY = Button("vt", "msg", int)  # the volunteer writes to the task's family
ANSWER_VOLUNTEER = Button("vt", "ans", int)  # the family answers the task's volunteer
PAUSE = Button("vt", "pause", int)  # weeks, 0 = until resumed
RESUME = Button("vt", "resume")
TASK_LIST = Button("vt", "list")
PAUSE_MENU = Button("vt", "pmenu")
# The helper profile dialogue.
PROFILE_NEW = Button("vp", "new")  # a family offers to help too
PROFILE_EDIT = Button("vp", "edit", str)  # areas / skills / times / langs / cap
PROFILE_SAVE = Button("vp", "save")
PROFILE_STOP = Button("vp", "stop")
PROFILE_TOGGLE = Button("vp", "t", str)
PROFILE_DONE = Button("vp", "done")
PROFILE_CAP = Button("vp", "cap", int)

RATINGS = {"good": N_("😊 Good"), "ok": N_("😐 OK"), "hard": N_("😟 Difficult")}
PAUSE_WEEKS = (1, 2, 4)
UNTIL_RESUMED = date(9999, 12, 31)
CAPS = (1, 2, 3, 5, 0)
VOLUNTEER = permissions.VOLUNTEER
FAMILY = permissions.FAMILY


# --- who is asking --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Helper:
    """A signed-up person with a helper profile, fresh from the database."""

    person: Person
    profile: VolunteerProfile


def helper_of(*, session: Session, person: Person | None) -> Helper | None:
    """The signed-up person with their helper profile, or None for anyone without one."""
    if person is None or person.id is None or person.consent_at is None:
        return None
    fresh = people.get_person(session=session, person_id=person.id)
    profile = people.get_volunteer(session=session, person_id=person.id)
    if fresh is None or profile is None:
        return None
    return Helper(fresh, profile)


def helper_status(*, session: Session, person: Person | None) -> VolunteerStatus | None:
    """Where a family's wish to help stands: no profile (None), waiting, approved or rejected."""
    profile = people.get_volunteer(session=session, person_id=person.id) if person and person.id else None
    return VolunteerStatus(profile.status) if profile is not None else None


def is_paused(profile: VolunteerProfile, today: date) -> bool:
    """Whether a pause covers today."""
    return profile.paused_until is not None and today <= profile.paused_until


# --- pause ----------------------------------------------------------------------------------------


def pausable(*, session: Session, person: Person | None) -> Helper | None:
    """The volunteer who may pause or resume, or None."""
    found = helper_of(session=session, person=person)
    if found is None or not permissions.can_pause_volunteering(actor_of(session=session, person=found.person)):
        return None
    return found


@dataclass(frozen=True)
class Paused:
    """A pause set (until a day, or `UNTIL_RESUMED`) or lifted (`until` None)."""

    until: date | None
    language: str


def pause_until(weeks: int | None, today: date) -> date | None:
    """The last day of a pause of `weeks` weeks (0: until resumed); None (resume) for None."""
    if weeks is None:
        return None
    return UNTIL_RESUMED if weeks == 0 else today + timedelta(days=7 * weeks - 1)


def set_pause(
    *, session: Session, services: Services, person: Person | None, weeks: int | None, now: datetime
) -> Paused | None:
    """Pause for 1, 2 or 4 weeks or until resumed (`weeks` 0), or resume (None); tasks accepted stay."""
    until = pause_until(weeks, local_today(services, now))
    found = pausable(session=session, person=person)
    if found is None:
        return None
    volunteer_id = found.person.id or 0
    volunteer_store.set_pause(session=session, volunteer_id=volunteer_id, until=until)
    action = "volunteer_paused" if until else "volunteer_resumed"
    people.audit(session=session, actor_id=volunteer_id, action=action, subject_id=volunteer_id, now=now)
    return Paused(until, found.person.language)


# --- the debrief after a task ---------------------------------------------------------------------


def side_of(request: HelpRequest, person: Person) -> str | None:
    """Which side of a task this person is on: its volunteer, its family, or neither."""
    if request.assigned_volunteer_id is not None and request.assigned_volunteer_id == person.id:
        return VOLUNTEER
    if request.family_id == person.id:
        return FAMILY
    return None


def raise_after_task(
    *, session: Session, services: Services, request: HelpRequest, person: Person, now: datetime
) -> None:
    """A worry or a 'Difficult' rating after a task: a concern about the task's family, with the task named.

    The family's own concern (source `task_hard`) goes to its coordinator like any worry; a volunteer's
    (source `volunteer`) is about the family, and the volunteer is asked at once what it was: their next
    message goes to the concern as it is (the talk dialogue's writing step).
    """
    if person.id == request.family_id:
        raise_concern(
            session=session,
            services=services,
            family=person,
            raised_by=person,
            source="task_hard",
            now=now,
            request_id=request.id,
        )
        return
    family = people.get_person(session=session, person_id=request.family_id)
    raise_concern(
        session=session,
        services=services,
        family=family,
        raised_by=person,
        source="volunteer",
        now=now,
        request_id=request.id,
    )
    start_writing(session=session, person=person, family_id=request.family_id, now=now)


@dataclass(frozen=True)
class Debriefed:
    """What a debrief tap did: whose side (None: not theirs), whether it counted, a 'Difficult' rating."""

    side: str | None
    ok: bool = False
    hard: bool = False
    other_name: str = ""


def _debrief_party(session: Session, person: Person | None, request_id: int) -> tuple[HelpRequest, Person, str] | None:
    """The task, the person fresh, and their side, when this person answered whether the task happened."""
    if person is None or person.id is None:
        return None
    request = store.get_request(session=session, request_id=request_id)
    fresh = people.get_person(session=session, person_id=person.id)
    outcome = store.get_outcome(session=session, request_id=request_id, person_id=person.id)
    if request is None or fresh is None or outcome is None:
        return None
    side = side_of(request, fresh)
    return (request, fresh, side) if side is not None else None


def rate_task(
    *, session: Session, services: Services, person: Person | None, request_id: int, rating: str, now: datetime
) -> Debriefed:
    """How it went, once per side; 'Difficult' raises a concern about the task's family."""
    party = _debrief_party(session, person, request_id)
    if party is None:
        return Debriefed(None)
    request, fresh, side = party
    ok = rating in RATINGS and store.set_rating(
        session=session, request_id=request_id, person_id=fresh.id or 0, rating=rating
    )
    other_id = request.assigned_volunteer_id if side == FAMILY else request.family_id
    other = people.get_person(session=session, person_id=other_id or 0)
    hard = ok and rating == "hard"
    if hard:
        # A bad experience is a worry like any other: it reaches the coordinator, with the task.
        raise_after_task(session=session, services=services, request=request, person=fresh, now=now)
        # Help linked to one of the family's questions that went badly: a decision for its coordinators.
        help_went_badly(session=session, services=services, kind="request", ref_id=request_id, now=now)
    return Debriefed(side, ok, hard, name_of(other))


def raise_worry(
    *, session: Session, services: Services, person: Person | None, request_id: int, now: datetime
) -> Debriefed:
    """A volunteer is worried after a task: a concern about the family (only the task's volunteer)."""
    party = _debrief_party(session, person, request_id)
    if party is None:
        return Debriefed(None)
    request, fresh, side = party
    if side != VOLUNTEER:
        return Debriefed(side)
    raise_after_task(session=session, services=services, request=request, person=fresh, now=now)
    return Debriefed(side, ok=True)


def close_debrief(*, session: Session, person: Person | None, request_id: int) -> Debriefed:
    """'All fine' or 'Not now': nothing to store, only whether it is this person's debrief."""
    party = _debrief_party(session, person, request_id)
    return Debriefed(party[2], ok=True) if party is not None else Debriefed(None)


# --- tasks ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TaskItem:
    """One upcoming task of a volunteer: what they need to know (in the current language), its kind, its state."""

    request_id: int
    details: str
    what: str
    accepted: bool


def upcoming_tasks(*, session: Session, person: Person) -> list[TaskItem]:
    """A volunteer's upcoming tasks, with the details they need."""
    return [
        TaskItem(
            request.id or 0,
            matching.details(session, request, person),
            kind_label(request.kind),
            request.status == rules.RequestStatus.ACCEPTED,
        )
        for request in store.volunteer_tasks(session=session, volunteer_id=person.id or 0)
    ]


def own_accepted_task(*, session: Session, person: Person | None, request_id: int) -> str | None:
    """The summary of this volunteer's own accepted task, or None."""
    request = store.get_request(session=session, request_id=request_id)
    if request is None or person is None or request.assigned_volunteer_id != person.id:
        return None
    if request.status != rules.RequestStatus.ACCEPTED:
        return None
    return matching.summary(session, request, person)


@dataclass(frozen=True)
class GaveBack:
    """A volunteer's cancel: `allowed` (their own task), `done` (it was still theirs to give back)."""

    allowed: bool
    done: bool = False


def give_back(
    *, session: Session, services: Services, person: Person | None, request_id: int, now: datetime
) -> GaveBack:
    """The volunteer gives the task back (once; only their own accepted task); the family and coordinator told."""
    request = store.get_request(session=session, request_id=request_id)
    fresh = people.get_person(session=session, person_id=person.id) if person and person.id else None
    if request is None or fresh is None or request.id is None:
        return GaveBack(False)
    actor = actor_of(session=session, person=fresh)
    # Volunteers give back only their own task here; families and coordinators have their own buttons.
    if (
        permissions.cancel_event(actor, request.family_id, request.assigned_volunteer_id)
        != permissions.VOLUNTEER_CANCEL
    ):
        return GaveBack(False)
    changed = store.apply_event(
        session=session,
        request_id=request.id,
        event=rules.RequestEvent.VOLUNTEER_CANCEL,
        now=now,
        volunteer_id=fresh.id,
    )
    if changed is None:
        return GaveBack(True)
    matching.volunteer_gave_back(session=session, services=services, request=changed[0], volunteer=fresh, now=now)
    return GaveBack(True, True)


# --- a message about a task -----------------------------------------------------------------------


def message_family_button(request_id: int, what: str | None = None) -> tuple[str, str]:
    """The volunteer's "Message the family" button of an accepted task (rights checked when tapped)."""
    label = _("💬 Message the family") if what is None else _("💬 Message the family: {what}").format(what=what)
    return label, MESSAGE_FAMILY.data(request_id)


@dataclass(frozen=True)
class TaskParty:
    """Someone who may write about an accepted task now: their side, the task, both people."""

    side: str
    request: HelpRequest
    sender: Person
    other: Person


def task_party(*, session: Session, person: Person | None, request_id: int | None) -> TaskParty | None:
    """The writer's side of this task when they may write about it now (its volunteer or family), else None."""
    request = store.get_request(session=session, request_id=request_id) if request_id else None
    fresh = people.get_person(session=session, person_id=person.id) if person and person.id else None
    if request is None or fresh is None or fresh.consent_at is None:
        return None
    side = permissions.task_message_side(
        actor_of(session=session, person=fresh),
        accepted=request.status == rules.RequestStatus.ACCEPTED,
        request_family_id=request.family_id,
        assigned_volunteer_id=request.assigned_volunteer_id,
    )
    other_id = request.family_id if side == VOLUNTEER else request.assigned_volunteer_id
    other = people.get_person(session=session, person_id=other_id or 0) if side is not None else None
    return TaskParty(side, request, fresh, other) if side is not None and other is not None else None


def pass_task_message(
    *, session: Session, person: Person | None, request_id: int | None, text: str, source: str, now: datetime
) -> str | None:
    """Checked again, then the message to the other side with the sender's name, the task and a button to
    answer; the other side's name, or None when the task is no longer open to messages. `source` names the
    message (`chat:message`) so a retried update queues it once."""
    party = task_party(session=session, person=person, request_id=request_id)
    if party is None or party.request.id is None:
        return None
    request, sender, other = party.request, party.sender, party.other
    with use_language(other.language):
        task = _("{what}, {when}").format(
            what=kind_label(request.kind), when=when_text(request, other.timezone, other.language)
        )
        if party.side == VOLUNTEER:
            head = _("💬 <b>A message from {name}, the volunteer for your request ({task}):</b>")
            button = (_("💬 Answer"), ANSWER_VOLUNTEER.data(request.id))
        else:
            head = _("💬 <b>An answer from {name} about your task ({task}):</b>")
            button = message_family_button(request.id or 0)
        body = head.format(name=hi(name_of(sender)), task=h(task)) + "\n\n" + h(text)
    enqueue(
        session=session,
        to=ToPerson(other),
        message=Outgoing(text=body, buttons=[[button]]),
        key=f"taskmsg:{request.id}:{sender.id}:{source}",
        now=now,
    )
    timeline.note(session=session, about=request, kind="task_message", now=now, by=sender)
    return name_of(other)


# --- the helper profile ---------------------------------------------------------------------------


@dataclass(frozen=True)
class HelperProfile:
    """A helper profile as the dialogue edits it (area ids as text, skill, time-group and language keys)."""

    areas: list[str]
    skills: list[str]
    times: list[str]
    langs: list[str]
    cap: int | None = None  # only for an approved volunteer
    approved: bool = False
    new: bool = False  # a family's first helper profile


def area_options(*, session: Session) -> list[tuple[str, str]]:
    """The neighbourhoods one can help in, as (id, name)."""
    return [(str(area.id), area.name) for area in people.active_areas(session=session)]


def _groups_of(mask: int) -> list[str]:
    """The time groups of an availability mask."""
    return [key for key, group in availability.GROUPS.items() if mask & group]


def load_profile(*, session: Session, person: Person | None, new: bool) -> HelperProfile | None:
    """The profile to edit: a volunteer's own, or (`new`, a signed-up family) a first one; None for anyone else."""
    if person is None or person.id is None:
        return None
    profile = people.get_volunteer(session=session, person_id=person.id)
    signed_up = person.consent_at is not None
    if not signed_up or (profile is None and not (new and person.role == Role.FAMILY)):
        return None
    if profile is not None:
        return HelperProfile(
            areas=[str(area) for area in people.volunteer_area_ids(session=session, person_id=profile.person_id)],
            skills=people.volunteer_skills(session=session, person_id=profile.person_id),
            times=_groups_of(profile.availability),
            langs=[code for code in profile.languages.split(",") if code],
            cap=profile.weekly_cap,
            approved=profile.status == VolunteerStatus.APPROVED,
        )
    family = people.get_family(session=session, person_id=person.id)
    return HelperProfile(
        areas=[str(family.area_id)] if family is not None and family.area_id else [],
        skills=[],
        times=[],
        langs=[person.language] if person.language in LANGUAGE_NAMES else [],
        new=True,
    )


def save_profile(*, session: Session, person: Person, profile: HelperProfile, now: datetime) -> bool:
    """Save what was chosen (only known keys); a family's first helper profile goes to its coordinators."""
    fresh = people.get_person(session=session, person_id=person.id or 0)
    existing = people.get_volunteer(session=session, person_id=person.id or 0)
    new = existing is None
    if fresh is None or fresh.id is None or fresh.consent_at is None or (new and fresh.role != Role.FAMILY):
        return False
    valid_areas = {int(key) for key, _label in area_options(session=session)}
    people.save_volunteer_profile(
        session=session,
        person=fresh,
        area_ids=[int(a) for a in profile.areas if str(a).isdigit() and int(a) in valid_areas],
        skills=[skill for skill in profile.skills if skill in SKILL_LABELS],
        availability=availability.mask_for_groups(profile.times),
        languages=[code for code in profile.langs if code in LANGUAGE_NAMES],
    )
    if not new and profile.approved and isinstance(profile.cap, int) and profile.cap in CAPS:
        volunteer_store.set_weekly_cap(session=session, volunteer_id=fresh.id, cap=profile.cap)
    if new:
        _tell_coordinators_family_helps(session, fresh, now)
    people.audit(session=session, actor_id=fresh.id, action="volunteer_profile", subject_id=fresh.id, now=now)
    return True


def _tell_coordinators_family_helps(session: Session, family: Person, now: datetime) -> None:
    """Tell the family's coordinators it would like to help others too (they approve it like any volunteer)."""
    tell_each(
        session=session,
        people=coordinators_for(session, family),
        key=f"familyhelps:{family.id}",
        now=now,
        text=lambda: _(
            "🙋 {family} would like to help others too and filled in a helper profile. "
            "After a short talk (and a VOG for tasks with children) you can approve them under Volunteers."
        ).format(family=hi(name_of(family))),
    )
