"""The coordinators' workspace (web/): who may sign in with a checked Mini App initData, and who stays in.

The signature and age of the initData are checked in `web.auth` (it is Telegram's format); here the rest:
each initData is used once (a replay is refused), the person must be a signed-up coordinator (the same
`services.permissions` decision as the chat's coordinator commands), and the sign-in is audited.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from services.permissions import Action, authorize
from storage import people
from storage import workspace as store
from storage.db import Session
from storage.models import Person, Role


class SignIn(StrEnum):
    OK = "ok"
    REPLAYED = "replayed"
    NOT_COORDINATOR = "not_coordinator"


@dataclass(frozen=True)
class SignedIn:
    """The outcome of a sign-in, with the coordinator when it is OK."""

    outcome: SignIn
    coordinator: Person | None = None


def coordinator(*, session: Session, person: Person | None, now: datetime) -> Person | None:
    """The person, fresh, when a signed-up coordinator (a refusal is audited)."""
    fresh = people.get_person(session=session, person_id=person.id) if person and person.id else None
    if fresh is None or fresh.role != Role.COORDINATOR:
        if fresh is not None:
            authorize(session=session, actor=fresh, action=Action.LIST_FAMILIES, now=now, audit="refused")
        return None
    if not authorize(session=session, actor=fresh, action=Action.LIST_FAMILIES, now=now, audit="refused"):
        return None
    return fresh


def sign_in(*, session: Session, telegram_id: int, digest: str, now: datetime, forget_before: datetime) -> SignedIn:
    """A checked initData: used once, for a coordinator only; the sign-in is audited."""
    if not store.use_once(session=session, digest=digest, now=now, forget_before=forget_before):
        return SignedIn(SignIn.REPLAYED)
    found = coordinator(
        session=session, person=people.get_person_by_telegram_id(session=session, telegram_id=telegram_id), now=now
    )
    if found is None:
        return SignedIn(SignIn.NOT_COORDINATOR)
    people.audit(session=session, actor_id=found.id, action="workspace_opened", subject_id=None, now=now)
    return SignedIn(SignIn.OK, found)
