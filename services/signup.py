"""Sign-up, the rules: invite links, consent, the name, and the family's or volunteer's first profile.

The dialogue (`conversations/signup*.py`) asks the questions; these functions check what came back on the
server, store it in one transaction and tell the coordinators. Nothing personal is stored before consent.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from domain import availability, names
from domain import invites as invite_rules
from domain.cases import CaseState
from domain.invites import InviteProblem
from services import referrals
from services.callbacks import Button
from services.i18n import LANGUAGE_NAMES, _, h, hi, use_language
from services.logs import event
from services.outbox import Outgoing, ToPerson, enqueue
from services.settings import Settings
from services.skills import SKILL_LABELS, skill_label
from storage import cases as case_store
from storage import dialogue_store, people, teams
from storage.db import Session, reread
from storage.models import Invite, Person, Role

logger = logging.getLogger(__name__)

DIALOGUE = "signup"  # the name its steps are saved under

# The sign-up buttons: su:<action>:<value>; the values are checked again by each step.
OTHER_LANGUAGE = Button("su", "lang")
ROLE = Button("su", "role", str)  # "family" / "volunteer"
CONSENT = Button("su", "consent", str)  # "yes" / "no"
AREA = Button("su", "area", str)  # an area id, or "none"
KIDS = Button("su", "kids", str)  # 0..5, or "skip"
AGES = Button("su", "ages", str)  # "skip"
VOLUNTEER_AREA = Button("su", "varea", str)  # an area id, or "done"
SKILL = Button("su", "skill", str)  # a skill key, or "done"
TIME = Button("su", "time", str)  # a time group, or "done"
LANGUAGE = Button("su", "vlang", str)  # a language code, or "done"
DONE = "done"

MAX_NAME = 64
MAX_CHILDREN = 5
# Ages apart by anything short that is not a digit: "3, 7", "3 en 7", "3، 7", "٣ و ٧" (\d is Unicode).
_AGES = re.compile(r"^\s*\d{1,2}(\D{1,6}\d{1,2})*\s*$")


class Gap(StrEnum):
    """What a person who consented still has to tell before their sign-up is complete."""

    NAME = "name"
    ORGANISATION = "organisation"
    FAMILY_PROFILE = "family_profile"
    VOLUNTEER_PROFILE = "volunteer_profile"


@dataclass(frozen=True)
class InviteCheck:
    """An invite link checked now: its problem, or the invite and the role it gives."""

    problem: InviteProblem | None
    invite_id: int | None = None
    role: str | None = None


@dataclass(frozen=True)
class Consented:
    """Consent given: the role recorded (None when a coordinator invite was lost meanwhile: nothing stored)."""

    person: Person
    role: str | None
    invite_lost: bool
    inviter_id: int | None
    referral_lost: bool = False


def clean_name(text: str) -> str | None:
    """The name as it will be shown, or None when nobody could read it."""
    return names.clean_name(text, max_length=MAX_NAME)


def parse_ages(text: str) -> str | None:
    """Children's ages as typed ("3, 7", "٣ و ٧"), stored as "3,7"; None for anything else."""
    if not _AGES.match(text):
        return None
    ages = [int(number) for number in re.findall(r"\d{1,2}", text)]
    if not ages or len(ages) > 12 or any(age > 25 for age in ages):
        return None
    return ",".join(str(age) for age in ages)


def _invite_check(invite: Invite | None, now: datetime) -> InviteCheck:
    """One invite row judged now."""
    problem = invite_rules.check(
        found=invite is not None,
        used_at=invite.used_at if invite else None,
        expires_at=invite.expires_at if invite else None,
        now=now,
    )
    if invite is None or problem is not None:
        return InviteCheck(problem)
    return InviteCheck(None, invite.id, invite.role)


def check_invite_link(*, session: Session, payload: str, now: datetime) -> InviteCheck:
    """A deep-link payload (untrusted) checked: a valid invite is remembered by the dialogue, not yet used."""
    token = invite_rules.token_from_payload(payload)
    if token is None:
        result = InviteCheck(InviteProblem.MALFORMED)
    else:
        invite = people.get_invite_by_hash(session=session, token_hash=invite_rules.hash_token(token))
        result = _invite_check(invite, now)
    event(
        logger,
        "signup.invite_checked",
        ok=result.problem is None,
        problem=str(result.problem) if result.problem else None,
    )
    return result


def check_invite_again(*, session: Session, invite_id: int, now: datetime) -> InviteCheck:
    """The invite remembered from a link, checked again now: it may have been used or expired since."""
    return _invite_check(people.get_invite(session=session, invite_id=invite_id), now)


def profile_gap(*, session: Session, person_id: int) -> Gap | None:
    """For someone who consented but never finished their profile: where to pick up (None: complete)."""
    person = people.get_person(session=session, person_id=person_id)
    assert person is not None
    if not person.display_name:
        return Gap.NAME
    if person.role == Role.REFERRER and not person.organisation:
        return Gap.ORGANISATION
    if person.role == Role.FAMILY and people.get_family(session=session, person_id=person_id) is None:
        return Gap.FAMILY_PROFILE
    if person.role == Role.VOLUNTEER and people.get_volunteer(session=session, person_id=person_id) is None:
        return Gap.VOLUNTEER_PROFILE
    return None


def give_consent(
    *,
    session: Session,
    settings: Settings,
    person_id: int,
    role: str,
    invite_id: int | None,
    now: datetime,
    referral_id: int | None = None,
    share_progress: bool = False,
) -> Consented:
    """Record consent (version and time) and the role, using the invite (or a family's referral) if it still works.

    A coordinator's role needs a working invite (or an admin's account): without one nothing is recorded.
    A referred family joins the referral's team with its case at `referred` (services.referrals).
    """
    fresh = people.get_person(session=session, person_id=person_id)
    assert fresh is not None
    invite_lost = False
    inviter_id = None
    team_id = None
    referral = None
    if referral_id is not None and role == Role.FAMILY:
        referral = referrals.take(
            session=session, referral_id=referral_id, family_id=person_id, share_progress=share_progress, now=now
        )
        team_id = referral.team_id if referral is not None else None
    if invite_id is not None:
        if people.redeem_invite(session=session, invite_id=invite_id, person_id=person_id, now=now):
            invite = people.get_invite(session=session, invite_id=invite_id)
            inviter_id = invite.created_by_id if invite else None
            team_id = invite.team_id if invite else None
        else:
            invite_lost = True
    granted: str | None = role
    if role == Role.COORDINATOR and not fresh.is_admin and (invite_lost or invite_id is None):
        granted = None
    if granted is not None:
        version = settings.consent_version
        people.record_consent(session=session, person=fresh, role=granted, version=version, now=now, team_id=team_id)
        if granted == Role.COORDINATOR:
            people.ensure_coordinator_profile(session=session, person=fresh)
        if referral is not None:
            referrals.consented(session=session, referral=referral, family=fresh, now=now)
        people.audit(
            session=session,
            actor_id=fresh.id,
            action="consent",
            subject_id=fresh.id,
            now=now,
            version=version,
            role=granted,
        )
        event(logger, "signup.consent", person_id=person_id, role=granted)
    referral_lost = referral_id is not None and referral is None
    return Consented(fresh, granted, invite_lost, inviter_id, referral_lost)


def set_name(*, session: Session, person_id: int, name: str, now: datetime) -> Person:
    """The name to be addressed by (already cleaned), stored; the fresh person back."""
    fresh = people.get_person(session=session, person_id=person_id)
    assert fresh is not None
    people.set_display_name(session=session, person=fresh, name=name, now=now)
    return fresh


def area_choices(*, session: Session) -> list[tuple[int, str]]:
    """The neighbourhoods one can choose now: (id, name)."""
    return [(area.id, area.name) for area in people.active_areas(session=session) if area.id is not None]


def area_open(*, session: Session, area_id: int) -> bool:
    """Whether this neighbourhood may still be chosen (a button may be older than its removal)."""
    area = people.get_area(session=session, area_id=area_id)
    return area is not None and area.active


def finish_family(
    *,
    session: Session,
    person_id: int,
    area_id: int | None,
    children: int | None,
    ages: str | None,
    inviter_id: int | None,
    now: datetime,
    referred: bool = False,
) -> Person:
    """Store the family's profile, with the inviting coordinator as its primary, and tell the coordinators."""
    fresh = people.get_person(session=session, person_id=person_id)
    assert fresh is not None
    inviter = people.get_person(session=session, person_id=inviter_id) if inviter_id else None
    coordinator_id = inviter.id if inviter is not None and inviter.role == Role.COORDINATOR else None
    referred = referred or referrals.is_referred(session=session, family_id=person_id)
    # Invited or referred, the family is in its inviter's team; signed up on its own, in its neighbourhood's.
    team_id = fresh.team_id if inviter_id is not None or referred else None
    profile = people.save_family_profile(
        session=session,
        person=fresh,
        area_id=area_id,
        children_count=children,
        children_ages=ages,
        primary_coordinator_id=coordinator_id,
        team_id=team_id or teams.area_team(session=session, area_id=area_id),
    )
    people.add_timeline(session=session, family_id=fresh.id, kind="signed_up", now=now)
    state = CaseState.REFERRED if referred else CaseState.INTAKE
    if case_store.start(session=session, family_id=profile.person_id, state=state, now=now):
        people.add_timeline(session=session, family_id=fresh.id, kind=f"case_{state}", now=now)
    area = people.get_area(session=session, area_id=profile.area_id) if profile.area_id else None
    _tell_coordinators_new_family(session, fresh, area.name if area else None, coordinator_id, now)
    event(logger, "signup.family_done", person_id=person_id)
    return fresh


def _tell_coordinators_new_family(
    session: Session, family: Person, area: str | None, coordinator_id: int | None, now: datetime
) -> None:
    """The inviting coordinator hears of the new family; without one, every coordinator."""
    recipients = (
        [people.get_person(session=session, person_id=coordinator_id)]
        if coordinator_id
        else people.coordinators(session=session, team_id=family.team_id)
    )
    for coordinator in recipients:
        if coordinator is None:
            continue
        with use_language(coordinator.language):
            text = _("New family signed up: {name} ({area}).").format(
                name=hi(family.display_name or ""), area=hi(area or _("neighbourhood not listed"))
            )
        key = f"newfamily:{family.id}:{coordinator.id}"
        enqueue(session=session, to=ToPerson(coordinator), message=Outgoing(text=text), key=key, now=now)


def finish_volunteer(
    *,
    session: Session,
    person_id: int,
    areas: list[str],
    skills: list[str],
    times: list[str],
    languages: list[str],
    now: datetime,
) -> Person:
    """Store the volunteer's profile (waiting for intake) from the choices, checked again, and tell the admins."""
    valid_areas = {area_id for area_id, _name in area_choices(session=session)}
    area_ids = [int(a) for a in areas if a.isdigit() and int(a) in valid_areas]
    chosen_skills = [skill for skill in skills if skill in SKILL_LABELS]
    fresh = people.get_person(session=session, person_id=person_id)
    assert fresh is not None
    # Invited, a volunteer is in the inviter's team; signed up on its own, in its first neighbourhood's team,
    # whose coordinators do its intake (and whose families' requests reach it).
    area_team = teams.area_team(session=session, area_id=area_ids[0]) if area_ids else None
    if area_team is not None and not people.was_invited(session=session, person_id=person_id):
        teams.set_person_team(session=session, person_id=person_id, team_id=area_team)
        reread(session=session, row=fresh)
    people.save_volunteer_profile(
        session=session,
        person=fresh,
        area_ids=area_ids,
        skills=chosen_skills,
        availability=availability.mask_for_groups(times),
        languages=[code for code in languages if code in LANGUAGE_NAMES],
    )
    team = people.coordinators(session=session, team_id=fresh.team_id)
    for coordinator in [c for c in team if c.is_admin] or team or people.admins(session=session):
        with use_language(coordinator.language):
            text = _("New volunteer waiting for intake: {name}. Can help with: {skills}.").format(
                name=hi(fresh.display_name or ""), skills=h(", ".join(skill_label(s) for s in chosen_skills))
            )
        key = f"newvolunteer:{fresh.id}:{coordinator.id}"
        enqueue(session=session, to=ToPerson(coordinator), message=Outgoing(text=text), key=key, now=now)
    event(logger, "signup.volunteer_done", person_id=person_id)
    return fresh


@dataclass(frozen=True)
class SavedStep:
    """The chat's open dialogue as saved: a step of sign-up (with its draft's data), or another dialogue."""

    signup_step: str | None
    data: dict[str, Any]
    other_dialogue: bool


def saved_step(*, session: Session, chat_id: int, steps: Collection[str]) -> SavedStep:
    """Where this chat is: in one of sign-up's `steps`, in another dialogue, or in none."""
    state = dialogue_store.get_dialogue(session=session, chat_id=chat_id)
    step = state.step if state is not None and state.dialogue == DIALOGUE and state.step in steps else None
    data = dict(state.data) if state is not None and step is not None else {}
    return SavedStep(step, data, state is not None and step is None)


def save_step(*, session: Session, chat_id: int, step: str, data: dict[str, Any], now: datetime) -> None:
    """Save sign-up's next step for a chat, when a step ran outside the dialogue router."""
    dialogue_store.save_dialogue(session=session, chat_id=chat_id, dialogue=DIALOGUE, step=step, data=data, now=now)


def choose_language(*, session: Session, person_id: int, language: str, now: datetime) -> Person | None:
    """Store a person's language (allowed before consent: it is all we keep then); the fresh person back."""
    person = people.get_person(session=session, person_id=person_id)
    if person is not None:
        people.set_language(session=session, person=person, language=language, now=now)
    return person
