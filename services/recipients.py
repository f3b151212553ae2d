"""Who hears of a family's message or silence: the family's coordinators, whoever handles its concern."""

from __future__ import annotations

from collections.abc import Sequence

from services.concerns import is_waiting, person_of
from storage import care, people, teams
from storage import concerns as concern_store
from storage.db import Session
from storage.models import Concern, Person, Role


def coordinators_for(session: Session, person: Person) -> list[Person]:
    """The family's own coordinators, or every coordinator when the family has none (yet).

    Only those the bot can reach: with both of the family's own unreachable, everyone else is told.
    """
    recipients: list[Person] = []
    if person.id is not None and person.role == Role.FAMILY:
        family = people.get_family(session=session, person_id=person.id)
        for coordinator_id in (family.primary_coordinator_id, family.partner_coordinator_id) if family else ():
            coordinator = person_of(session, coordinator_id)
            if coordinator is not None and coordinator.telegram_id is not None and coordinator.reachable:
                recipients.append(coordinator)
    if not recipients:
        team_id = teams.team_of_family(session=session, family_id=person.id) if person.id is not None else None
        team = people.coordinators(session=session, team_id=team_id)
        recipients = [c for c in team if c.id != person.id and c.reachable]
    return recipients


def reachable_coordinators(session: Session, ids: Sequence[int]) -> list[Person]:
    """The coordinators among these people who can receive a message now."""
    found: list[Person] = []
    for person_id in ids:
        coordinator = people.get_person(session=session, person_id=person_id)
        if coordinator is None or coordinator.telegram_id is None or not coordinator.reachable:
            continue
        if coordinator.role == Role.COORDINATOR:
            found.append(coordinator)
    return found


def last_writer(session: Session, person_id: int) -> int | None:
    """The coordinator who last wrote to this person through the bot."""
    events = care.timeline(session=session, family_id=person_id, limit=20)
    for item in events:
        if item.kind == "relay_out" and item.actor_id is not None:
            return item.actor_id
    return None


def relay_recipients(session: Session, sender: Person, concern: Concern | None) -> list[Person]:
    """Who gets a relayed message in private chats: the claimer, else everyone alerted, else the family's team.

    Only people who can receive it; nobody while the concern waits (the message goes with the concern to
    the first coordinator who can receive it).
    """
    if is_waiting(concern):
        return []
    ids: list[int] = []
    if concern is not None and concern.id is not None:
        if concern.claimed_by_id is not None:
            ids = [concern.claimed_by_id]
        else:
            ids = concern_store.notified_ids(session=session, concern_id=concern.id)
    if not ids and sender.id is not None:
        writer = last_writer(session, sender.id)
        if writer is not None:
            ids = [writer]
    if not ids:
        return [c for c in coordinators_for(session, sender) if c.telegram_id is not None and c.reachable]
    return reachable_coordinators(session, ids)
