"""A coordinator acknowledges a concern: takes it, or closes it (with a note, which an urgent one needs)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from domain import escalation as rules
from services.concerns import NO_NOTE, concern_step, name_of, person_of
from services.context import Services
from services.escalation import chain_people
from services.i18n import N_, _, h, hi
from services.logs import event
from services.outbox import Outgoing, tell
from storage import concerns as concern_store
from storage import delivery, people
from storage.db import Session
from storage.models import Concern, Person

logger = logging.getLogger(__name__)

# The closing-note dialogue (conversations.coordinator_group), started here when a coordinator taps Close.
CLOSE_NOTE_DIALOGUE = "concern_close"
NOTE_STEP = "note"


def _family_name(family: Person | None) -> str:
    """The family's name for a message to a coordinator (in the current language)."""
    return hi(name_of(family)) if family else _("(no family)")


def _tell_raiser(session: Session, concern: Concern, coordinator: Person, now: datetime) -> None:
    """The person who raised the concern hears who picked it up."""
    raiser = person_of(session, concern.raised_by_id)
    if raiser is None or raiser.telegram_id is None or raiser.consent_at is None:
        return
    tell(
        session=session,
        person=raiser,
        key=f"claimed:{concern.id}:raiser",
        now=now,
        text=lambda: _("{coordinator} from the team has picked up your message and will be in touch.").format(
            coordinator=hi(name_of(coordinator))
        ),
    )


def _people(session: Session, ids: set[int]) -> list[Person]:
    """The people with these ids, in id order (those since erased left out)."""
    found = (people.get_person(session=session, person_id=person_id) for person_id in sorted(ids))
    return [person for person in found if person is not None]


def take(
    *,
    session: Session,
    services: Services,
    concern: Concern,
    coordinator: Person,
    now: datetime,
    tell_raiser: bool = True,
) -> bool:
    """Claim for this coordinator (acknowledging it), tell the others who were alerted and the topic.

    The person who raised it hears who picked it up, unless the coordinator is already writing to them.
    False (and only acknowledged) when someone had claimed it already.
    """
    assert concern.id is not None and coordinator.id is not None
    if not concern_store.claim(session=session, concern_id=concern.id, coordinator_id=coordinator.id, now=now):
        concern_store.acknowledge(session=session, concern_id=concern.id, now=now)
        return False
    family = person_of(session, concern.family_id)
    people.audit(
        session=session,
        actor_id=coordinator.id,
        action="concern_claimed",
        subject_id=concern.family_id,
        now=now,
        concern=concern.id,
    )
    _tell_others_taken(session, concern, coordinator, family, now)
    concern_step(
        session=session,
        services=services,
        concern=concern,
        kind="concern_claimed",
        actor=coordinator,
        now=now,
        topic_line=N_("✋ {coordinator} has taken this."),
        topic_key=f"topic:claimed:{concern.id}",
        coordinator=hi(name_of(coordinator)),
    )
    if tell_raiser:
        _tell_raiser(session, concern, coordinator, now)
    event(logger, "concern.claimed", concern=concern.id, coordinator=coordinator.id)
    return True


def _tell_others_taken(
    session: Session, concern: Concern, coordinator: Person, family: Person | None, now: datetime
) -> None:
    """Everyone else who was alerted, and the family's duo, hear who took the concern."""
    assert concern.id is not None and coordinator.id is not None
    primary, partner, _everyone = chain_people(session, concern)
    others = set(concern_store.notified_ids(session=session, concern_id=concern.id))
    others.update(person_id for person_id in (primary, partner) if person_id is not None)
    others.discard(coordinator.id)
    for other in _people(session, others):
        tell(
            session=session,
            person=other,
            key=f"claimed:{concern.id}:{other.id}",
            now=now,
            purpose="alert",
            text=lambda: _("✋ {coordinator} has taken the concern about {name}.").format(
                coordinator=hi(name_of(coordinator)), name=_family_name(family)
            ),
        )


def close_concern(
    *, session: Session, services: Services, concern: Concern, coordinator: Person, note: str | None, now: datetime
) -> bool:
    """Close a concern (an urgent one only with a note); the topic and the others who were alerted hear."""
    assert concern.id is not None
    if rules.close_needs_note(urgent=concern.urgent, note=note):
        return False
    if not concern_store.close(
        session=session, concern_id=concern.id, coordinator_id=coordinator.id or 0, note=note, now=now
    ):
        return False
    delivery.cancel_jobs(session=session, kind="concern.escalate", subject_id=concern.id)
    people.audit(
        session=session,
        actor_id=coordinator.id,
        action="concern_closed",
        subject_id=concern.family_id,
        now=now,
        concern=concern.id,
    )
    family = concern_step(
        session=session,
        services=services,
        concern=concern,
        kind="concern_closed",
        actor=coordinator,
        now=now,
        topic_line=N_("✅ Closed by {coordinator}: {note}") if note else N_("✅ Closed by {coordinator}."),
        topic_key=f"topic:closed:{concern.id}",
        coordinator=hi(name_of(coordinator)),
        note=h(note or ""),
    )
    others = set(concern_store.notified_ids(session=session, concern_id=concern.id))
    others.discard(coordinator.id or 0)
    for other in _people(session, others):
        tell(
            session=session,
            person=other,
            key=f"closed:{concern.id}:{other.id}",
            now=now,
            text=lambda: _("✅ {coordinator} closed the concern about {name}.").format(
                coordinator=hi(name_of(coordinator)), name=_family_name(family)
            ),
        )
    event(logger, "concern.closed", concern=concern.id, coordinator=coordinator.id)
    return True


class TakeOutcome(StrEnum):
    """What became of "I'll take this"."""

    TAKEN = "taken"
    ALREADY_YOURS = "already_yours"
    TAKEN_BY_OTHER = "taken_by_other"


@dataclass(frozen=True)
class TakeResult:
    """The outcome of a take, and who has it when someone else does."""

    outcome: TakeOutcome
    claimer: Person | None = None


def take_concern(
    *, session: Session, services: Services, concern: Concern, coordinator: Person, now: datetime
) -> TakeResult:
    """A coordinator taps "I'll take this": taken now, already theirs, or someone else's."""
    if take(session=session, services=services, concern=concern, coordinator=coordinator, now=now):
        return TakeResult(TakeOutcome.TAKEN)
    if concern.claimed_by_id == coordinator.id:
        return TakeResult(TakeOutcome.ALREADY_YOURS)
    return TakeResult(TakeOutcome.TAKEN_BY_OTHER, person_of(session, concern.claimed_by_id))


def ask_close_note(*, session: Session, concern: Concern, coordinator: Person, now: datetime) -> None:
    """Closing asks for a short note in the coordinator's private chat (a group is shared by everyone)."""
    assert concern.id is not None and coordinator.telegram_id is not None
    people.save_dialogue(
        session=session,
        chat_id=coordinator.telegram_id,
        dialogue=CLOSE_NOTE_DIALOGUE,
        step=NOTE_STEP,
        data={"concern": concern.id},
        now=now,
    )
    family = person_of(session, concern.family_id)

    def ask() -> Outgoing:
        """The question in the coordinator's language; 'No note' only where a note is not required."""
        name = _family_name(family)
        if concern.urgent:
            # A danger sign is closed only with a note of what was done (domain.escalation.close_needs_note).
            return Outgoing(
                text=_("Closing the urgent concern about {name}. Write a short note: what was done.").format(name=name)
            )
        text = _("Closing the concern about {name}. Write a short note (what was done), or tap 'No note'.")
        return Outgoing(text=text.format(name=name), buttons=[[(_("No note"), NO_NOTE.data(concern.id))]])

    tell(
        session=session,
        person=coordinator,
        key=f"closeask:{concern.id}:{coordinator.id}:{int(now.timestamp())}",
        now=now,
        text=ask,
    )


def close_without_note(
    *, session: Session, services: Services, concern: Concern, coordinator: Person, now: datetime
) -> bool:
    """'No note': leave the closing-note dialogue and close."""
    people.clear_dialogue(session=session, chat_id=coordinator.telegram_id or 0)
    return close_concern(
        session=session, services=services, concern=concern, coordinator=coordinator, note=None, now=now
    )
