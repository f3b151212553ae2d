"""Ending a lasting match: by its coordinator, at a review, with the family's question, or because one side
left Waakvlam (erasure). No more occurrences or reviews; both sides are told kindly, without the reason.
"""

from __future__ import annotations

import logging
from datetime import datetime

from domain import matches as rules
from domain.matches import MatchState, StopReason
from services import match_runs
from services.context import Services
from services.i18n import _, hi, use_language
from services.labels import name_of
from services.logs import event
from services.match_texts import match_coordinator, sides, tell
from storage import matches as store
from storage import people
from storage.db import Session
from storage.match_tables import Match
from storage.models import Person

logger = logging.getLogger(__name__)


def end_match(
    *,
    session: Session,
    services: Services,
    match: Match,
    reason: StopReason,
    actor: Person | None,
    now: datetime,
    leaving: Person | None = None,
) -> bool:
    """End a match: no more occurrences or reviews; both sides told kindly (the one who leaves: not told)."""
    assert match.id is not None
    if not rules.may("stop", MatchState(match.state)):
        return False
    match_runs.stop_future(session=session, match=match, now=now, reviews_too=True)
    if not store.set_state(
        session=session,
        match_id=match.id,
        expected=list(store.OPEN),
        now=now,
        state="ended",
        ended_at=now,
        end_reason=reason.value,
    ):
        return False
    family, helper = sides(session, match)
    was_proposed = match.state == MatchState.PROPOSED
    for reader, other in ((family, helper), (helper, family)):
        if reader is None or (leaving is not None and reader.id == leaving.id):
            continue
        with use_language(reader.language):
            if leaving is not None:
                text = _("The match has ended: the other side is no longer with Waakvlam. Thank you for everything.")
            elif was_proposed:
                text = _(
                    "The proposed match with {name} will not go ahead. Your coordinator will talk it over with you."
                )
            else:
                text = _(
                    "⏹ The match with {name} has ended. Thank you for the time you spent together. "
                    "Your coordinator is there if you want to talk about it."
                )
        tell(session, reader, f"match.end:{match.id}:{reader.id}", text.format(name=hi(name_of(other))), now)
    coordinator = match_coordinator(session, match)
    if leaving is not None and coordinator is not None:
        with use_language(coordinator.language):
            text = _("⏹ A match has ended because one side left Waakvlam.")
        tell(session, coordinator, f"match.end:{match.id}:c", text, now)
    people.add_timeline(
        session=session,
        family_id=match.family_id if leaving is None or leaving.id != match.family_id else None,
        kind="match_ended",
        now=now,
        actor_id=actor.id if actor else None,
        ref_id=match.id,
        reason=reason.value,
    )
    event(logger, "match.ended", match=match.id, reason=reason.value)
    return True


def person_leaves(*, session: Session, services: Services, person: Person, now: datetime) -> int:
    """Erasure: every open match of the person ends; the other side is told, without details."""
    assert person.id is not None
    # An adult of a support household leaves it; the match goes on with the others.
    store.leave_households(session=session, person_id=person.id, now=now)
    ended = 0
    for match in store.matches_of(session=session, person_id=person.id):
        if end_match(
            session=session,
            services=services,
            match=match,
            reason=StopReason.ERASED,
            actor=None,
            now=now,
            leaving=person,
        ):
            ended += 1
    return ended
