"""A message that suggests danger: the concern, every coordinator's alert and the safety answer, in one go."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from domain.urgent_terms import UrgentCategory
from services.concerns import is_waiting
from services.context import Services
from services.escalation import raise_concern
from services.outbox import Outgoing, ToChat, ToPerson, enqueue
from services.relay import relay_in
from services.safety import bot_cannot_help_text, safety_numbers_text, urgent_outcome_text
from storage import concerns as concern_store
from storage import outbox_store, people
from storage.db import Session
from storage.models import Person, Role


def safety_key(chat_id: int, message_id: int) -> str:
    """The dedupe key of the safety answer to one message: a re-run of its handler sends nothing twice."""
    return f"safety:{chat_id}:{message_id}"


def record_urgent(
    *,
    session: Session,
    services: Services,
    sender_id: int,
    chat_id: int,
    message_id: int,
    categories: Sequence[UrgentCategory],
    category: str | None,
    written_in: str | None,
    now: datetime,
) -> str:
    """Concern, alerts and the safety answer, in one transaction; returns the answer's outbox key.

    Nothing is sent before this commits, so a failing Telegram cannot lose the alert. Someone who did not
    consent gets the numbers and the coordinators an alert without what they wrote (see docs/safety.md).
    """
    key = safety_key(chat_id, message_id)
    if outbox_store.outbox_status_by_key(session=session, dedupe_key=key) is not None:
        return key  # handled before (the process died after committing): nothing twice
    sender = people.get_person(session=session, person_id=sender_id)  # fresh: consent or role may have changed
    assert sender is not None
    consented = sender.consent_at is not None
    family = sender if sender.role == Role.FAMILY and consented else None
    concern, new = raise_concern(
        session=session, services=services, family=family, raised_by=sender, source="urgent", now=now, urgent=True
    )
    assert concern.id is not None
    alerted = bool(concern_store.notified_ids(session=session, concern_id=concern.id))
    if consented:
        relay_in(
            session=session,
            services=services,
            sender=sender,
            concern=concern,
            from_chat_id=chat_id,
            message_id=message_id,
            now=now,
            after_card=new,
            written_in=written_in,
            urgent=True,
        )
    people.audit(
        session=session,
        actor_id=sender.id,
        action="urgent_detected",
        subject_id=family.id if family else sender.id,
        now=now,
        concern=concern.id,
        category=category,
        consented=consented,
        alerted=alerted,
    )
    outcome = urgent_outcome_text(
        services, sender, now, consented=consented, alerted=alerted, waiting=is_waiting(concern), session=session
    )
    _answer(session=session, sender=sender, chat_id=chat_id, key=key, categories=categories, outcome=outcome, now=now)
    return key


def _answer(
    *,
    session: Session,
    sender: Person,
    chat_id: int,
    key: str,
    categories: Sequence[UrgentCategory],
    outcome: str,
    now: datetime,
) -> None:
    """Queue the safety answer to the chat that wrote: the bot cannot help, the numbers, what happens now."""
    # In the language the person is answered in now; the row starts in their writing direction.
    lines = [bot_cannot_help_text(), safety_numbers_text(categories), outcome]
    to = ToPerson(sender) if sender.telegram_id == chat_id else ToChat(chat_id)
    enqueue(session=session, to=to, message=Outgoing(text="\n\n".join(lines), purpose="safety"), key=key, now=now)
