"""Support pairs: a family's own support volunteer, who gets its requests first. A coordinator pairs (or
changes, or removes) them for the families they may see; both sides are told in their own language."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from services.approvals import coordinator_of, may_see, visible_families
from services.concerns import name_of
from services.i18n import _, hi, use_language
from services.outbox import Outgoing, ToPerson, enqueue, tell
from storage import matching as match_store
from storage import people
from storage import volunteers as volunteer_store
from storage.db import Session
from storage.models import Person, VolunteerStatus


@dataclass(frozen=True)
class PairLine:
    """A family in the support-pairs list, with its support volunteer (None: nobody yet)."""

    family: Person
    support: Person | None


def pairs_overview(*, session: Session, person: Person | None, now: datetime) -> tuple[Person, list[Person]] | None:
    """The coordinator and the families they may see (None for anyone else)."""
    coordinator = coordinator_of(session=session, person=person, now=now)
    if coordinator is None:
        return None
    return coordinator, visible_families(session=session, coordinator=coordinator)


def pair_lines(*, session: Session, families: list[Person]) -> list[PairLine]:
    """Each family with its support volunteer."""
    lines: list[PairLine] = []
    for family in families:
        profile = people.get_family(session=session, person_id=family.id or 0)
        support_id = profile.support_volunteer_id if profile is not None else None
        lines.append(PairLine(family, people.get_person(session=session, person_id=support_id) if support_id else None))
    return lines


@dataclass(frozen=True)
class Candidates:
    """One page of approved volunteers to pair a family with (name, id), whether more follow, and whether
    the family has a support volunteer now."""

    family: Person
    options: list[tuple[str, int]]
    more: bool
    paired: bool


def _in_reach(session: Session, person: Person | None, family_id: int, now: datetime) -> tuple[Person, Person] | None:
    """The acting coordinator and the family, when this coordinator may act for it (audited); else None."""
    coordinator = coordinator_of(session=session, person=person, now=now)
    family = people.get_person(session=session, person_id=family_id)
    if coordinator is None or family is None or family.id is None:
        return None
    if not may_see(session=session, coordinator=coordinator, family_id=family.id, now=now):
        return None
    return coordinator, family


def candidates(
    *,
    session: Session,
    person: Person | None,
    family_id: int,
    page: int,
    page_size: int,
    now: datetime,
    exclude: Sequence[int] = (),
) -> Candidates | None:
    """Approved volunteers for a family's support (but `exclude`), its area first; None when not this coordinator's."""
    reach = _in_reach(session, person, family_id, now)
    if reach is None:
        return None
    family = reach[1]
    profile = people.get_family(session=session, person_id=family_id)
    found, more = match_store.pairing_candidates(
        session=session,
        area_id=profile.area_id if profile is not None else None,
        exclude_id=family_id,
        limit=page_size,
        offset=page * page_size,
        exclude_ids=exclude,
    )
    options = [(name_of(volunteer), volunteer.id) for volunteer, _nearby in found if volunteer.id]
    paired = profile is not None and profile.support_volunteer_id is not None
    return Candidates(family, options, more, paired)


def pair(
    *, session: Session, person: Person | None, family_id: int, volunteer_id: int, now: datetime
) -> tuple[str, str] | None:
    """Pair a family with an approved volunteer; both are told. (family name, volunteer name), or None."""
    reach = _in_reach(session, person, family_id, now)
    volunteer = people.get_person(session=session, person_id=volunteer_id)
    profile = people.get_volunteer(session=session, person_id=volunteer_id)
    if reach is None:
        return None
    coordinator, family = reach
    if volunteer is None or profile is None or volunteer.id == family_id or profile.status != VolunteerStatus.APPROVED:
        return None
    volunteer_store.set_support_volunteer(session=session, family_id=family_id, volunteer_id=volunteer.id)
    _tell_paired(session, family, volunteer, now)
    people.add_timeline(
        session=session,
        family_id=family_id,
        kind="support_paired",
        now=now,
        actor_id=coordinator.id,
        ref_id=volunteer.id,
    )
    people.audit(
        session=session,
        actor_id=coordinator.id,
        action="support_paired",
        subject_id=family_id,
        now=now,
        volunteer=volunteer.id,
    )
    return name_of(family), name_of(volunteer)


def _tell_paired(session: Session, family: Person, volunteer: Person, now: datetime) -> None:
    """Tell the volunteer whose support volunteer they now are, and the family who theirs is."""
    family_profile = people.get_family(session=session, person_id=family.id or 0)
    area = (
        people.get_area(session=session, area_id=family_profile.area_id)
        if family_profile and family_profile.area_id
        else None
    )
    with use_language(volunteer.language):
        text = _("🤝 You are now the support volunteer of {family} ({area}). Their requests come to you first.").format(
            family=hi(name_of(family)), area=hi(area.name if area else _("neighbourhood not listed"))
        )
    key = f"paired:{family.id}:{volunteer.id}:{now:%Y%m%d%H%M}"
    enqueue(session=session, to=ToPerson(volunteer), message=Outgoing(text=text), key=key, now=now)
    tell(
        session=session,
        person=family,
        key=f"{key}:f",
        now=now,
        text=lambda: _(
            "🤝 {volunteer} is now your support volunteer: a neighbour who gets your requests first."
        ).format(volunteer=hi(name_of(volunteer))),
    )


def unpair(*, session: Session, person: Person | None, family_id: int, now: datetime) -> bool:
    """Remove a family's support volunteer (the volunteer is told); False when there was none or not allowed."""
    reach = _in_reach(session, person, family_id, now)
    if reach is None:
        return False
    coordinator, family = reach
    previous = volunteer_store.set_support_volunteer(session=session, family_id=family_id, volunteer_id=None)
    former = people.get_person(session=session, person_id=previous) if previous else None
    if former is not None:
        tell(
            session=session,
            person=former,
            key=f"unpaired:{family_id}:{former.id}:{now:%Y%m%d%H%M}",
            now=now,
            text=lambda: _("You are no longer the support volunteer of {family}. Thank you for everything!").format(
                family=hi(name_of(family))
            ),
        )
    people.audit(session=session, actor_id=coordinator.id, action="support_unpaired", subject_id=family_id, now=now)
    return previous is not None
