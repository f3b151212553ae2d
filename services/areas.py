"""Neighbourhoods: coordinators see the list, admins add and remove them (`Action.MANAGE_AREAS`).

Areas change who is matched with whom for everybody, so every change is checked again (and audited) here,
whatever button or typed name asked for it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from domain import names
from domain.permissions import Decision
from services.callbacks import Button
from services.permissions import Action, authorize
from storage import people
from storage.db import Session
from storage.models import Person, Role

ADD = Button("area", "add")
REMOVE = Button("area", "del", int)  # asks to confirm
CONFIRM_REMOVE = Button("area", "delok", int)
KEEP = Button("area", "keep", int)

MAX_NAME = 64


@dataclass(frozen=True)
class AreaList:
    """The active neighbourhoods, (id, name), and whether this person may change them."""

    areas: list[tuple[int, str]]
    may_manage: bool


@dataclass(frozen=True)
class Removal:
    """What removing a neighbourhood would touch: who still has it (None: no such active area)."""

    decision: Decision
    name: str | None = None
    families: int = 0
    volunteers: int = 0


@dataclass(frozen=True)
class Change:
    """An add or a remove: the decision, the area's name when something changed, or a name nobody could read."""

    decision: Decision
    name: str | None = None
    unreadable: bool = False


def is_coordinator(person: Person | None) -> bool:
    """Coordinators (signed up) see the list; the rest of this module is for those who may manage it."""
    return person is not None and person.role == Role.COORDINATOR and person.consent_at is not None


def may_manage(*, session: Session, person: Person | None, now: datetime) -> Decision:
    """May this person add and remove neighbourhoods? (Audited: asked when a change begins.)"""
    return authorize(session=session, actor=person, action=Action.MANAGE_AREAS, now=now)


def area_list(*, session: Session, person: Person | None, now: datetime) -> AreaList:
    """The list as a coordinator sees it (whether they may change it is not audited: only buttons follow)."""
    team_id = person.team_id if person is not None else None
    areas = [(a.id, a.name) for a in people.active_areas(session=session, team_id=team_id) if a.id is not None]
    decision = authorize(session=session, actor=person, action=Action.MANAGE_AREAS, now=now, audit=False)
    return AreaList(areas, bool(decision))


def add_area(*, session: Session, person: Person | None, typed: str, now: datetime) -> Change:
    """Add a neighbourhood by the name as typed, if this person may (and the name can be read)."""
    decision = may_manage(session=session, person=person, now=now)
    if not decision:
        return Change(decision)
    name = names.clean_name(typed, max_length=MAX_NAME)
    if name is None:
        return Change(decision, unreadable=True)
    area = people.add_area(session=session, name=name, now=now, team_id=person.team_id if person else None)
    actor_id = person.id if person else None
    people.audit(session=session, actor_id=actor_id, action="area_added", subject_id=area.id, now=now)
    return Change(decision, name)


def removal_preview(*, session: Session, person: Person | None, area_id: int, now: datetime) -> Removal:
    """Before removing: may this person, and how many families and volunteers still have the area."""
    decision = may_manage(session=session, person=person, now=now)
    if not decision:
        return Removal(decision)
    area = people.get_area(session=session, area_id=area_id)
    if area is None or not area.active:
        return Removal(decision)
    families, volunteers = people.area_counts(session=session, area_id=area_id)
    return Removal(decision, area.name, families, volunteers)


def remove_area(*, session: Session, person: Person | None, area_id: int, now: datetime) -> Change:
    """Take a neighbourhood off the list (people who chose it keep it), if this person may and it is still on."""
    decision = may_manage(session=session, person=person, now=now)
    if not decision:
        return Change(decision)
    area = people.get_area(session=session, area_id=area_id)
    if area is None or not area.active or not people.deactivate_area(session=session, area_id=area_id):
        return Change(decision)
    actor_id = person.id if person else None
    people.audit(session=session, actor_id=actor_id, action="area_removed", subject_id=area_id, now=now)
    return Change(decision, area.name)
