"""A coordinator acknowledges a concern: takes it, or closes it (with a note, which an urgent one needs)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from domain import escalation as rules
from services.concerns import NO_NOTE, audit_concern, audit_opened, concern_step, family_concern, name_of, person_of
from services.context import Services
from services.escalation import alert, chain_people
from services.i18n import N_, _, h, hi
from services.logs import event
from services.outbox import Outgoing, tell, tell_each
from services.permissions import Action, Decision, authorize
from storage import concerns as concern_store
from storage import dialogue_store, job_store, people
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
    audit_concern(session=session, by=coordinator, action="concern_claimed", concern=concern, now=now)
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
    text = N_("✋ {coordinator} has taken the concern about {name}.")
    _tell_each(session, others, f"claimed:{concern.id}", text, coordinator, family, now, purpose="alert")


def _tell_each(
    session: Session,
    person_ids: set[int],
    key: str,
    text: str,
    coordinator: Person,
    family: Person | None,
    now: datetime,
    purpose: str = "message",
) -> None:
    """Each of these people hears what the coordinator did with the concern about the family (`text` is `N_`)."""
    tell_each(
        session=session,
        people=_people(session, person_ids),
        key=key,
        now=now,
        purpose=purpose,
        text=lambda: _(text).format(coordinator=hi(name_of(coordinator)), name=_family_name(family)),
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
    job_store.cancel_jobs(session=session, kind="concern.escalate", subject_id=concern.id)
    audit_concern(session=session, by=coordinator, action="concern_closed", concern=concern, now=now)
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
    text = N_("✅ {coordinator} closed the concern about {name}.")
    _tell_each(session, others, f"closed:{concern.id}", text, coordinator, family, now)
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
    dialogue_store.save_dialogue(
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
    dialogue_store.clear_dialogue(session=session, chat_id=coordinator.telegram_id or 0)
    return close_concern(
        session=session, services=services, concern=concern, coordinator=coordinator, note=None, now=now
    )


# --- a coordinator's button, command or note about one concern ------------------------------------


class Gate(StrEnum):
    """Whether a concern named by a button may be acted on."""

    GONE = "gone"
    CLOSED = "closed"
    REFUSED = "refused"
    OPEN = "open"


@dataclass(frozen=True)
class ConcernAtHand:
    """The concern a button names, if it may be acted on (`concern` is set then), and the rights decision."""

    gate: Gate
    concern: Concern | None = None
    decision: Decision | None = None


def concern_at_hand(
    *, session: Session, coordinator: Person, concern_id: int, action: Action, now: datetime
) -> ConcernAtHand:
    """A concern a coordinator's button names: gone, closed, refused (audited) or open to act on."""
    concern = concern_store.get_concern(session=session, concern_id=concern_id)
    if concern is None:
        return ConcernAtHand(Gate.GONE)
    if concern.status == concern_store.ConcernStatus.CLOSED:
        return ConcernAtHand(Gate.CLOSED)
    decision = authorize(session=session, actor=coordinator, action=action, concern=concern, now=now)
    if not decision:
        return ConcernAtHand(Gate.REFUSED, decision=decision)
    return ConcernAtHand(Gate.OPEN, concern, decision)


def show_concern(
    *, session: Session, services: Services, concern: Concern, coordinator: Person, now: datetime, round_key: str
) -> None:
    """A concern from the list: its card and messages again for this coordinator, the record's opening audited."""
    alert(
        session=session,
        services=services,
        concern=concern,
        coordinator=coordinator,
        level=concern.escalation_level,
        now=now,
        round_key=round_key,
        again=True,
    )
    if concern.family_id is not None:
        audit_opened(session, coordinator, concern.family_id, now, "concern_list")


class Outcome(StrEnum):
    """What became of closing or taking a concern by note or command."""

    DONE = "done"
    GONE = "gone"  # no such open concern (or closed meanwhile)
    REFUSED = "refused"
    NOTE_NEEDED = "note_needed"


@dataclass(frozen=True)
class ConcernResult:
    """The outcome, the rights decision when one was made, and whether the concern is urgent (a note is needed)."""

    outcome: Outcome
    decision: Decision | None = None
    urgent: bool = False


def _close_checked(
    session: Session, services: Services, coordinator: Person, concern: Concern | None, note: str | None, now: datetime
) -> ConcernResult:
    """Close with the right checked first (audited) and an urgent concern only with a note."""
    if concern is None:
        return ConcernResult(Outcome.GONE)
    decision = authorize(session=session, actor=coordinator, action=Action.CLOSE_CONCERN, concern=concern, now=now)
    if not decision:
        return ConcernResult(Outcome.REFUSED, decision)
    if rules.close_needs_note(urgent=concern.urgent, note=note):
        return ConcernResult(Outcome.NOTE_NEEDED, decision, urgent=concern.urgent)
    closed = close_concern(
        session=session, services=services, concern=concern, coordinator=coordinator, note=note, now=now
    )
    return ConcernResult(Outcome.DONE if closed else Outcome.GONE, decision)


def close_with_note(
    *, session: Session, services: Services, coordinator: Person, concern_id: int, note: str, now: datetime
) -> ConcernResult:
    """The closing note a coordinator wrote; an empty one is asked for again (urgent says which question)."""
    concern = concern_store.get_concern(session=session, concern_id=concern_id)
    if not note:
        return ConcernResult(Outcome.NOTE_NEEDED, urgent=concern is not None and concern.urgent)
    return _close_checked(session, services, coordinator, concern, note, now)


def close_family_concern(
    *, session: Session, services: Services, coordinator: Person, family_id: int, note: str | None, now: datetime
) -> ConcernResult:
    """/close in a family's topic: close the family's own open concern, with the note if there is one."""
    return _close_checked(session, services, coordinator, family_concern(session, family_id), note, now)


def close_without_a_note(
    *, session: Session, services: Services, concern: Concern, coordinator: Person, now: datetime
) -> ConcernResult:
    """'No note' under the closing question: never for an urgent concern, which needs one."""
    if rules.close_needs_note(urgent=concern.urgent, note=None):
        return ConcernResult(Outcome.NOTE_NEEDED, urgent=concern.urgent)
    closed = close_without_note(session=session, services=services, concern=concern, coordinator=coordinator, now=now)
    return ConcernResult(Outcome.DONE if closed else Outcome.GONE)


def take_family_concern(
    *, session: Session, services: Services, coordinator: Person, family_id: int, now: datetime
) -> ConcernResult:
    """/take in a family's topic: "I'll take this" for the family's own open concern (GONE: none, or taken)."""
    concern = family_concern(session, family_id)
    if concern is None:
        return ConcernResult(Outcome.GONE)
    decision = authorize(session=session, actor=coordinator, action=Action.CLAIM_CONCERN, concern=concern, now=now)
    if not decision:
        return ConcernResult(Outcome.REFUSED, decision)
    taken = take(session=session, services=services, concern=concern, coordinator=coordinator, now=now)
    return ConcernResult(Outcome.DONE if taken else Outcome.GONE, decision)
