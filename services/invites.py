"""Invite links: coordinators invite families and volunteers, admins also coordinators; each link works once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from domain import invites as rules
from domain.permissions import Facts
from services.callbacks import Button
from services.context import Services
from services.permissions import Action, authorize
from storage import people
from storage.db import Session
from storage.models import Person, Role

ROLES = (Role.FAMILY, Role.VOLUNTEER, Role.REFERRER, Role.COORDINATOR)
# One button per role to invite: inv:family, inv:volunteer, inv:coordinator.
BUTTONS = {str(role): Button("inv", str(role)) for role in ROLES}


@dataclass(frozen=True)
class CreatedInvite:
    """A new invite link for a role, valid for `hours`."""

    role: str
    link: str
    hours: int


def is_coordinator(person: Person | None) -> bool:
    """Only coordinators are offered invites at all (as the person was loaded for this update)."""
    return person is not None and person.id is not None and person.role == Role.COORDINATOR


def _may_invite(*, session: Session, person: Person | None, role: str, now: datetime, audit: bool) -> bool:
    """May this person invite someone for this role (audited unless only deciding which buttons to show)?"""
    facts = Facts(invite_role=role)
    return bool(authorize(session=session, actor=person, action=Action.INVITE, facts=facts, now=now, audit=audit))


def invitable_roles(*, session: Session, person: Person, now: datetime) -> list[str]:
    """The roles this coordinator may invite, for the buttons (pressing one is checked again)."""
    return [str(role) for role in ROLES if _may_invite(session=session, person=person, role=role, now=now, audit=False)]


def create_invite(
    *, session: Session, services: Services, person: Person | None, role: str, now: datetime
) -> CreatedInvite | None:
    """A single-use link for `role` if this person may invite for it (checked and audited); else None."""
    if person is None or person.id is None or role not in BUTTONS:
        return None
    if not _may_invite(session=session, person=person, role=role, now=now, audit=True):
        return None
    token = rules.new_token()
    hours = services.settings.invite_valid_hours
    people.create_invite(
        session=session,
        token_hash=rules.hash_token(token),
        role=role,
        created_by_id=person.id,
        expires_at=now + timedelta(hours=hours),
        now=now,
        team_id=person.team_id,
    )
    people.audit(session=session, actor_id=person.id, action="invite_created", subject_id=None, now=now, role=role)
    link = f"https://t.me/{services.bot_username}?start={rules.payload_for(token)}"
    return CreatedInvite(role, link, hours)
