"""A coordinator's decision about a question: continue, change or stop, with a reason; stop ends the linked help.

The decision is due from `services.question_reviews` (two "no"s, a hard time, a difficult visit, falling
check-ins) or from a casework meeting (`services.casework`). One decision per question is open at a time and
the first coordinator's tap counts. "Stop" cancels the linked one-off requests still open (their volunteers are
told), ends the linked lasting matches (both sides are told kindly), thanks the helpers and ends the
question's reviews; nothing heavier starts by itself.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from domain import questions as rules
from domain import requests as request_rules
from domain.matches import StopReason
from domain.questions import Decision, DecisionReason, QuestionState
from services import match_endings, timeline
from services.context import Services
from services.i18n import _, h, hi
from services.labels import name_of
from services.logs import event
from services.outbox import tell, tell_each
from services.permissions import Action, authorize
from services.question_reviews import helpers_of
from services.questions import end_question
from services.request_flow import family_cancelled
from storage import matches as matches_store
from storage import people
from storage import questions as store
from storage import requests as requests_store
from storage.db import Session
from storage.models import FamilyQuestion, Person, QuestionDecision

logger = logging.getLogger(__name__)

# Why a lasting match ends when the help for its question stops.
MATCH_STOP_REASONS = {
    DecisionReason.NOT_NEEDED: StopReason.GOAL_REACHED,
    DecisionReason.FAMILY_WISH: StopReason.FAMILY_WITHDREW,
    DecisionReason.HELPER_STOPPED: StopReason.HELPER_WITHDREW,
    DecisionReason.NOT_HELPING: StopReason.NOT_A_FIT,
}


class Decided(StrEnum):
    DECIDED = "decided"
    ALREADY = "already"
    REFUSED = "refused"


@dataclass(frozen=True)
class DecisionResult:
    """What became of a decision tap, with the question it was about."""

    outcome: Decided
    question: FamilyQuestion | None = None
    decision: QuestionDecision | None = None


def decidable(
    *, session: Session, coordinator: Person | None, decision_id: int, now: datetime
) -> tuple[QuestionDecision, FamilyQuestion] | None:
    """The open decision and its question, when this coordinator may take it (rights checked, audited)."""
    row = store.get_decision(session=session, decision_id=decision_id)
    if row is None:
        return None
    question = store.get_question(session=session, question_id=row.question_id)
    if question is None:
        return None
    if not authorize(
        session=session, actor=coordinator, action=Action.ACT_FOR_FAMILY, family_id=row.family_id, now=now
    ):
        return None
    return row, question


def decide(
    *,
    session: Session,
    services: Services,
    coordinator: Person | None,
    decision_id: int,
    choice: str,
    reason: str,
    now: datetime,
) -> DecisionResult:
    """Take a decision once: in the timeline; the family told in plain words; "stop" ends the linked help."""
    if choice not in Decision.__members__.values() or reason not in DecisionReason.__members__.values():
        return DecisionResult(Decided.REFUSED)
    if not rules.reason_allowed(Decision(choice), DecisionReason(reason)):
        return DecisionResult(Decided.REFUSED)
    found = decidable(session=session, coordinator=coordinator, decision_id=decision_id, now=now)
    if found is None or coordinator is None or coordinator.id is None:
        return DecisionResult(Decided.REFUSED)
    row, question = found
    if row.decided_at is not None or question.state != QuestionState.ACTIVE:
        return DecisionResult(Decided.ALREADY, question, row)
    if not store.decide(
        session=session, decision_id=decision_id, decision=choice, reason=reason, by_id=coordinator.id, now=now
    ):
        return DecisionResult(Decided.ALREADY, question, row)
    timeline.note(
        session=session,
        about=question,
        kind="question_decided",
        now=now,
        by=coordinator,
        decision=choice,
        reason=reason,
    )
    people.audit(
        session=session,
        actor_id=coordinator.id,
        action="question_decided",
        subject_id=row.family_id,
        now=now,
        decision=choice,
    )
    if choice == Decision.STOP:
        stop_help(session=session, services=services, question=question, reason=reason, now=now)
    family = people.get_person(session=session, person_id=row.family_id)
    # A casework meeting's decisions reach the family together, when the meeting is recorded.
    if row.meeting_id is None and family is not None:
        tell(
            session=session,
            person=family,
            key=f"decided:{decision_id}",
            now=now,
            text=lambda: decision_for_family(question, Decision(choice)),
        )
    event(logger, "question.decided", family=row.family_id, decision=choice)
    return DecisionResult(Decided.DECIDED, question, row)


def decision_for_family(question: FamilyQuestion, choice: Decision) -> str:
    """What was decided about a question, in plain words for the family (in the current language)."""
    words = h(question.text)
    if choice == Decision.CONTINUE:
        return _("About <i>{question}</i>: we go on with the help as it is.").format(question=words)
    if choice == Decision.CHANGE:
        return _(
            "About <i>{question}</i>: we will look for a different way to help. "
            "Your coordinator will talk it through with you."
        ).format(question=words)
    return _(
        "About <i>{question}</i>: we stop this help. That is nobody's fault. Your coordinator stays in touch, "
        "and you can always ask for help again."
    ).format(question=words)


def stop_help(*, session: Session, services: Services, question: FamilyQuestion, reason: str, now: datetime) -> int:
    """End a question's linked help kindly: open requests cancelled (volunteers told), helpers thanked."""
    assert question.id is not None
    stopped = 0
    helpers = helpers_of(session, question)
    for item in store.links_of(session=session, question_ids=[question.id])[question.id]:
        if item.kind == "match":
            match = matches_store.get_match(session=session, match_id=item.ref_id)
            why = MATCH_STOP_REASONS.get(DecisionReason(reason), StopReason.OTHER)
            if match is not None and match_endings.end_match(
                session=session, services=services, match=match, reason=why, actor=None, now=now
            ):
                stopped += 1
            continue
        if item.kind != "request":
            continue
        changed = requests_store.apply_event(
            session=session, request_id=item.ref_id, event=request_rules.RequestEvent.COORDINATOR_CANCEL, now=now
        )
        if changed is not None:
            family_cancelled(session=session, services=services, request=changed[0], before=changed[1], now=now)
            stopped += 1
    family = people.get_person(session=session, person_id=question.family_id)
    tell_each(
        session=session,
        people=helpers,
        key=f"stopped:{question.id}",
        now=now,
        text=lambda: _(
            "Together with {family} the coordinators decided to stop this help. Thank you for all you did; "
            "it was not in vain."
        ).format(family=hi(name_of(family))),
    )
    end_question(
        session=session, services=services, question=question, state=QuestionState.STOPPED, reason=reason, now=now
    )
    return stopped
