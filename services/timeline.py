"""A family's timeline (what coordinators see on the family card), written about the row a step concerns."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from storage import people
from storage.db import Session
from storage.models import Person


class AboutFamily(Protocol):
    """A row about one family (a match, a help request, a question, a concern): its own id and the family's."""

    @property
    def id(self) -> int | None:
        """The row's own id (the timeline's reference)."""

    @property
    def family_id(self) -> int | None:
        """The family whose timeline it is."""


def note(
    *, session: Session, about: AboutFamily, kind: str, now: datetime, by: Person | None = None, **detail: Any
) -> None:
    """Note a step about a match, request, question or concern on its family's timeline: by whom (if anyone)."""
    people.add_timeline(
        session=session,
        family_id=about.family_id,
        kind=kind,
        now=now,
        actor_id=by.id if by is not None else None,
        ref_id=about.id,
        **detail,
    )
