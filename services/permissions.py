"""The one permission module: load the facts, ask `domain.permissions.authorize`, audit the decision.

A button, a command or a dialogue step is never proof of a right (callback data can be forged), so each use
case calls `authorize` with the action and its target before it changes or shows anything. Every decision is
written to the audit log as ``<action>:allowed`` or ``<action>:refused`` with the reason; a refusal is
answered with `refusal_text`, short and translated (`conversations.rights.refuse` puts it in the chat).
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from domain.permissions import Action, Actor, Decision, Facts, Reason
from domain.permissions import authorize as decide
from services.i18n import _
from storage import people
from storage import rights as store
from storage.db import Session
from storage.models import Concern, Person

__all__ = [
    "Action",
    "Actor",
    "Decision",
    "Facts",
    "Reason",
    "actor_of",
    "authorize",
    "may_write_to",
    "refusal_text",
    "team_scope",
]

NO_TEAM = -1  # a team id no row has: a coordinator without a team sees nobody's families in a list


def actor_of(*, session: Session, person: Person) -> Actor:
    """The facts `domain.permissions` needs about this person (role, admin flag, volunteer status)."""
    assert person.id is not None
    profile = people.get_volunteer(session=session, person_id=person.id)
    return Actor(
        person_id=person.id,
        role=person.role if person.consent_at is not None else None,
        is_admin=person.is_admin,
        volunteer_status=profile.status if profile is not None else None,
        team_id=person.team_id,
    )


def team_scope(person: Person) -> int | None:
    """Which team's families, volunteers and figures a list shows this person: their own team, all for an admin.

    Lists filter with this at the query (so a long list of another team never hides one's own); every action
    on one of them is still decided by `authorize`, which refuses another team's family (`Reason.NOT_THEIR_TEAM`).
    """
    if person.is_admin:
        return None
    return person.team_id if person.team_id is not None else NO_TEAM


def fresh_actor(*, session: Session, person: Person | None) -> Actor | None:
    """The acting person's facts, fresh from the database (a role or admin flag may have changed)."""
    if person is None or person.id is None:
        return None
    fresh = people.get_person(session=session, person_id=person.id)
    return actor_of(session=session, person=fresh) if fresh is not None else None


def authorize(
    *,
    session: Session,
    actor: Person | None,
    action: Action,
    now: datetime | None = None,
    family_id: int | None = None,
    concern: Concern | None = None,
    facts: Facts | None = None,
    audit: bool | Literal["refused"] = True,
) -> Decision:
    """Decide with the facts of the family or concern at hand, and audit the decision.

    `audit`: True writes every decision, "refused" only refusals (for plain role gates and lists), False none
    (for deciding which buttons to show: pressing them is checked and audited again).
    """
    acting = fresh_actor(session=session, person=actor)
    if acting is None:
        return Decision(False, Reason.NOT_COORDINATOR)
    if facts is None:
        if concern is not None:
            facts = store.concern_facts(session=session, concern=concern)
        elif family_id is not None:
            facts = store.family_facts(session=session, family_id=family_id)
        else:
            facts = Facts()
    decision = decide(acting, action, facts)
    if audit is True or (audit == "refused" and not decision):
        assert now is not None, "an audited check needs the time"
        subject = family_id if family_id is not None else (concern.family_id if concern is not None else None)
        detail: dict[str, object] = {"reason": str(decision.reason)}
        if concern is not None:
            detail["concern"] = concern.id
        people.audit(
            session=session,
            actor_id=acting.person_id,
            action=f"{action}:{'allowed' if decision else 'refused'}",
            subject_id=subject,
            now=now,
            **detail,
        )
    return decision


def may_write_to(
    *, session: Session, coordinator: Person, to_id: int, link_chat_id: int | None, now: datetime
) -> Decision:
    """Writing to a family (or a volunteer who raised a concern): `Action.WRITE_TO_FAMILY`, audited.

    `link_chat_id` is the chat of the relayed message the coordinator replied to (None in a family's topic)."""
    facts = store.relay_facts(
        session=session, to_id=to_id, actor_chat_id=coordinator.telegram_id or 0, link_chat_id=link_chat_id
    )
    return authorize(
        session=session, actor=coordinator, action=Action.WRITE_TO_FAMILY, family_id=to_id, facts=facts, now=now
    )


def refusal_text(decision: Decision) -> str:
    """A short, kind answer to a refused action (never which facts made it so)."""
    reason = decision.reason
    if reason == Reason.NOT_COORDINATOR:
        return _("This is for coordinators.")
    if reason == Reason.NOT_ADMIN:
        return _("Sorry, only an admin coordinator can do that.")
    if reason == Reason.NOT_ALERTED:
        return _("Sorry, this concern went to other coordinators, so you cannot do this.")
    if reason == Reason.NOT_THEIR_TEAM:
        return _("Sorry, this belongs to another team, so you cannot do this.")
    if reason == Reason.NOT_ADDRESSED:
        return _("Sorry, this request is not yours to answer.")
    return _("Sorry, this family has other coordinators, so you cannot do this.")
