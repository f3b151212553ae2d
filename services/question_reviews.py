"""Does the help help? The family's one-tap reviews, the helpers' "how is it going", and the coordinator's decision.

The review job (`question.review`, one per family) asks about one question at a time: at most one review
message per family per week, none in quiet hours, none while a concern about the family is open
(`domain.questions.plan_review`). Two "no"s in a row, a helper who finds it hard, a difficult visit or falling
check-in answers open a decision for the family's coordinators: continue, change or stop, with a reason
from a short list. Stopping ends the linked help kindly and starts nothing heavier by itself.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from functools import partial

from domain import insight as insight_rules
from domain import questions as rules
from domain.matches import OPEN_STATES as OPEN_MATCHES
from domain.questions import Decision, DecisionCause, DecisionReason, HelperFeeling, QuestionState, ReviewAnswer
from services import timeline
from services.callbacks import Button
from services.checkins import wait_for_quiet_end
from services.context import JobHandler, Services
from services.i18n import N_, _, h, hi
from services.labels import name_of
from services.logs import event
from services.outbox import Outgoing, tell, tell_each
from services.questions import REVIEW_JOB, end_question, plan_review_job, review_job_key
from services.recipients import coordinators_for
from storage import care, people
from storage import concerns as concern_store
from storage import matches as matches_store
from storage import questions as store
from storage import requests as requests_store
from storage.db import Session
from storage.models import FamilyQuestion, Person, QuestionDecision, QuestionReview, Role, ScheduledJob

logger = logging.getLogger(__name__)

# qr:fam:<review>:<answer>, qr:help:<review>:<feeling>, qd:pick:<decision>:<decision>,
# qd:why:<decision>:<decision>:<reason>.
FAMILY_ANSWER = Button("qr", "fam", int, str)
HELPER_ANSWER = Button("qr", "help", int, str)
PICK = Button("qd", "pick", int, str)
WHY = Button("qd", "why", int, str, str)

ANSWER_LABELS = {
    ReviewAnswer.HELPS: N_("👍 Yes, it helps"),
    ReviewAnswer.A_BIT: N_("🙂 A bit"),
    ReviewAnswer.NO: N_("👎 No"),
    ReviewAnswer.NOT_NEEDED: N_("✔️ Not needed any more"),
}
ANSWER_MARKS = {ReviewAnswer.HELPS: "👍", ReviewAnswer.A_BIT: "🙂", ReviewAnswer.NO: "👎", ReviewAnswer.NOT_NEEDED: "✔️"}
FEELING_LABELS = {
    HelperFeeling.GOOD: N_("😊 Good"),
    HelperFeeling.OKAY: N_("😐 Okay"),
    HelperFeeling.HARD: N_("😟 It is hard"),
}
FEELING_MARKS = {HelperFeeling.GOOD: "😊", HelperFeeling.OKAY: "😐", HelperFeeling.HARD: "😟"}
DECISION_LABELS = {
    Decision.CONTINUE: N_("▶️ Continue"),
    Decision.CHANGE: N_("🔄 Change"),
    Decision.STOP: N_("⏹ Stop"),
}
REASON_LABELS = {
    DecisionReason.HELPS: N_("It helps"),
    DecisionReason.MORE_TIME: N_("Give it more time"),
    DecisionReason.OTHER_HELP: N_("Other help"),
    DecisionReason.OTHER_HELPER: N_("Another helper"),
    DecisionReason.NOT_HELPING: N_("It does not help"),
    DecisionReason.NOT_NEEDED: N_("No longer needed"),
    DecisionReason.FAMILY_WISH: N_("The family's wish"),
    DecisionReason.HELPER_STOPPED: N_("The helper stops"),
}
CAUSE_LABELS = {
    DecisionCause.TWO_NOS: N_("The family answered 'no' twice in a row: the help does not help."),
    DecisionCause.DIFFICULT_VISIT: N_("A visit was marked 'difficult'."),
    DecisionCause.FALLING_CHECKINS: N_("The family's check-in answers are getting worse."),
    DecisionCause.HELPER_HARD: N_("A helper says it is hard."),
    DecisionCause.CASEWORK: N_("Casework meeting."),
}


def cause_text(cause: str) -> str:
    """Why a decision is due, in the current language."""
    label = CAUSE_LABELS.get(DecisionCause(cause)) if cause in DecisionCause.__members__.values() else None
    return _(label) if label else ""


class Answered(StrEnum):
    THANKS = "thanks"
    ENDED = "ended"  # "not needed any more": the question ends
    TO_COORDINATOR = "to_coordinator"  # a decision was opened
    STALE = "stale"


@dataclass(frozen=True)
class ReviewResult:
    """What became of a review tap."""

    outcome: Answered
    question: FamilyQuestion | None = None


def answers_over_time(session: Session, question_id: int) -> str:
    """'👍 👍 🙂 👎': a question's review answers, oldest first (… for one not answered yet)."""
    marks = [ANSWER_MARKS.get(ReviewAnswer(r.answer), "·") if r.answer else "…" for r in _reviews(session, question_id)]
    return " ".join(marks) if marks else _("no reviews yet")


def _reviews(session: Session, question_id: int) -> list[QuestionReview]:
    """A question's family reviews (answers checked against the known ones)."""
    return [
        review
        for review in store.reviews_of(session=session, question_id=question_id)
        if review.answer is None or review.answer in ReviewAnswer.__members__.values()
    ]


# --- asking ---------------------------------------------------------------------------------------


def review_job(*, session: Session, job: ScheduledJob, services: Services, now: datetime) -> None:
    """`question.review`: ask the family about one question, or plan when to look again."""
    family = people.get_person(session=session, person_id=int(job.subject_id or 0))
    if family is None or family.id is None or family.role != Role.FAMILY or family.consent_at is None:
        return
    questions = store.family_questions(session=session, family_id=family.id, states=rules.OPEN_STATES)
    due = [rules.DueQuestion(q.id, q.next_review_at) for q in questions if q.id and q.next_review_at]
    plan = store.get_plan(session=session, family_id=family.id)
    open_concern = bool(concern_store.open_concerns(session=session, family_id=family.id, limit=1))
    decided = rules.plan_review(
        due, now=now, last_review_message_at=plan.last_review_message_at, open_concern=open_concern
    )
    if decided.ask is None:
        if decided.wait_until is not None:
            plan_review_job(session=session, family_id=family.id, at=decided.wait_until, now=now)
        return
    if wait_for_quiet_end(
        session=session,
        services=services,
        family=family,
        kind=REVIEW_JOB,
        subject_id=family.id,
        key=partial(review_job_key, family.id),
        now=now,
    ):
        return
    question = next(q for q in questions if q.id == decided.ask)
    _ask_family(session, family, question, plan.review_every_weeks, now)
    _ask_helpers(session, family, question, now)
    store.set_plan(session=session, family_id=family.id, last_review_message_at=now)
    remaining = [item.review_at for item in due if item.question_id != question.id]
    next_at = rules.next_review_after(now, every_weeks=plan.review_every_weeks, zone=family.timezone)
    at = max(min([*remaining, next_at]), now + rules.REVIEW_GAP)
    plan_review_job(session=session, family_id=family.id, at=at, now=now)
    event(logger, "question.review_asked", family=family.id, question=question.id)


def _ask_family(session: Session, family: Person, question: FamilyQuestion, every_weeks: int, now: datetime) -> None:
    """One review message: "Does the help with X help?", four buttons."""
    assert family.id is not None and question.id is not None
    review = store.add_review(session=session, family_id=family.id, question_id=question.id, side="family", now=now)
    assert review.id is not None
    rid = review.id
    store.update_question(
        session=session,
        question_id=question.id,
        now=now,
        next_review_at=rules.next_review_after(now, every_weeks=every_weeks, zone=family.timezone),
    )

    def message() -> Outgoing:
        """The question in the family's language."""
        text = _("Does the help with <i>{question}</i> help you? One tap is enough.").format(question=h(question.text))
        rows = [[(_(label), FAMILY_ANSWER.data(rid, answer.value))] for answer, label in ANSWER_LABELS.items()]
        return Outgoing(text=text, buttons=rows, purpose="review")

    tell(session=session, person=family, key=f"review:{rid}", now=now, text=message)


def helpers_of(session: Session, question: FamilyQuestion) -> list[Person]:
    """Who helps with a question: the helper it is shared with and the volunteers of its linked requests."""
    assert question.id is not None
    ids: list[int] = [question.shared_with_id] if question.shared_with_id else []
    for item in store.links_of(session=session, question_ids=[question.id])[question.id]:
        if item.kind == "match":
            match = matches_store.get_match(session=session, match_id=item.ref_id)
            helper_id = match.helper_id if match is not None and match.state in OPEN_MATCHES else None
        elif item.kind == "request":
            request = requests_store.get_request(session=session, request_id=item.ref_id)
            helper_id = request.assigned_volunteer_id if request is not None else None
        else:
            helper_id = None
        if helper_id and helper_id not in ids:
            ids.append(helper_id)
    found = (people.get_person(session=session, person_id=helper_id) for helper_id in ids)
    return [person for person in found if person is not None and person.consent_at is not None]


def _ask_helpers(session: Session, family: Person, question: FamilyQuestion, now: datetime) -> None:
    """Each helper of the question: "How is it going for you?" (at most once every four weeks per family)."""
    assert family.id is not None and question.id is not None
    for helper in helpers_of(session, question):
        assert helper.id is not None
        last = store.last_helper_review(session=session, family_id=family.id, person_id=helper.id)
        if last is not None and now < last + rules.HELPER_REVIEW_GAP:
            continue
        review = store.add_review(
            session=session, family_id=family.id, question_id=question.id, person_id=helper.id, side="helper", now=now
        )
        assert review.id is not None
        tell(
            session=session,
            person=helper,
            key=f"review:{review.id}",
            now=now,
            text=partial(helper_review_message, family, review.id),
        )


def helper_review_message(family: Person, review_id: int) -> Outgoing:
    """ "How is it going for you?" with three buttons, in the current language."""
    text = _("How is it going for you, helping {family}? Your answer goes only to the coordinators.").format(
        family=hi(name_of(family))
    )
    rows = [[(_(label), HELPER_ANSWER.data(review_id, feeling.value)) for feeling, label in FEELING_LABELS.items()]]
    return Outgoing(text=text, buttons=rows, purpose="review")


# --- answers --------------------------------------------------------------------------------------


def _own_review(
    session: Session, person: Person | None, review_id: int, side: str, answer: str, allowed: Iterable[str]
) -> QuestionReview | None:
    """The review, when it asked this person (on this side) and the answer is one it offered; else None."""
    review = store.get_review(session=session, review_id=review_id)
    if person is None or review is None or review.side != side or answer not in allowed:
        return None
    asked = review.family_id if side == "family" else review.person_id
    return review if asked == person.id else None


def answer_family_review(
    *, session: Session, services: Services, person: Person | None, review_id: int, answer: str, now: datetime
) -> ReviewResult:
    """The family's tap on a review: recorded once; "not needed" ends the question; two "no"s open a decision."""
    review = _own_review(session, person, review_id, "family", answer, ReviewAnswer.__members__.values())
    if review is None or review.question_id is None:
        return ReviewResult(Answered.STALE)
    question = store.get_question(session=session, question_id=review.question_id)
    if question is None or question.state != QuestionState.ACTIVE:
        return ReviewResult(Answered.STALE, question)
    if not store.answer_review(session=session, review_id=review_id, answer=answer, now=now):
        return ReviewResult(Answered.STALE, question)
    timeline.note(session=session, about=question, kind="question_reviewed", now=now, answer=answer)
    if answer == ReviewAnswer.NOT_NEEDED:
        end_question(
            session=session,
            services=services,
            question=question,
            state=QuestionState.NOT_NEEDED,
            reason="review",
            now=now,
        )
        return ReviewResult(Answered.ENDED, question)
    answers = [r.answer for r in _reviews(session, review.question_id) if r.answer]
    if rules.needs_decision(answers):
        open_decision(session=session, services=services, question=question, cause=DecisionCause.TWO_NOS, now=now)
        return ReviewResult(Answered.TO_COORDINATOR, question)
    return ReviewResult(Answered.THANKS, question)


def answer_helper_review(
    *, session: Session, services: Services, person: Person | None, review_id: int, feeling: str, now: datetime
) -> ReviewResult:
    """A helper's tap: recorded once; "it is hard" opens a decision for the coordinators."""
    review = _own_review(session, person, review_id, "helper", feeling, HelperFeeling.__members__.values())
    if review is None:
        return ReviewResult(Answered.STALE)
    if not store.answer_review(session=session, review_id=review_id, answer=feeling, now=now):
        return ReviewResult(Answered.STALE)
    question = store.get_question(session=session, question_id=review.question_id) if review.question_id else None
    if feeling == HelperFeeling.HARD and question is not None and question.state == QuestionState.ACTIVE:
        open_decision(session=session, services=services, question=question, cause=DecisionCause.HELPER_HARD, now=now)
        return ReviewResult(Answered.TO_COORDINATOR, question)
    return ReviewResult(Answered.THANKS, question)


# --- decisions ------------------------------------------------------------------------------------


def open_decision(
    *,
    session: Session,
    services: Services,
    question: FamilyQuestion,
    cause: str,
    now: datetime,
    meeting_id: int | None = None,
    tell_coordinators: bool = True,
) -> QuestionDecision | None:
    """A coordinator task about a question (None when one is open already: never two at once)."""
    assert question.id is not None
    waiting = store.open_decision(session=session, question_id=question.id)
    if waiting is not None and not (waiting.cause == DecisionCause.CASEWORK and cause != DecisionCause.CASEWORK):
        return None
    if waiting is not None:
        # A question on the next meeting's list that now needs attention sooner: its coordinators hear now.
        decision = store.set_cause(session=session, decision_id=waiting.id or 0, cause=cause) or waiting
    else:
        decision = store.create_decision(
            session=session,
            question_id=question.id,
            family_id=question.family_id,
            cause=cause,
            now=now,
            meeting_id=meeting_id,
        )
    family = people.get_person(session=session, person_id=question.family_id)
    timeline.note(session=session, about=question, kind="question_to_decide", now=now, cause=cause)
    if family is not None and tell_coordinators:
        tell_each(
            session=session,
            people=coordinators_for(session, family),
            key=f"decision:{decision.id}",
            now=now,
            text=lambda: decision_message(session, family, question, decision),
            purpose="alert",
        )
    event(logger, "question.decision_opened", family=question.family_id, cause=cause)
    return decision


def decision_message(
    session: Session, family: Person, question: FamilyQuestion, decision: QuestionDecision
) -> Outgoing:
    """The coordinator's task: the question in the family's words, why, its reviews, and three buttons."""
    assert question.id is not None and decision.id is not None
    lines = [
        _("🎯 <b>A decision about {family}</b>").format(family=hi(name_of(family))),
        _("Their question: <i>{question}</i>").format(question=h(question.text)),
        cause_text(decision.cause),
        _("Reviews so far: {answers}").format(answers=answers_over_time(session, question.id)),
        _("Continue, change or stop the help for this question?"),
    ]
    rows = [[(_(label), PICK.data(decision.id, choice.value)) for choice, label in DECISION_LABELS.items()]]
    return Outgoing(text="\n".join(line for line in lines if line), buttons=rows)


def reason_rows(decision_id: int, choice: Decision) -> list[list[tuple[str, str]]]:
    """The short list of reasons for a choice, as buttons."""
    return [
        [(_(REASON_LABELS[reason]), WHY.data(decision_id, choice.value, reason.value))]
        for reason in rules.REASONS_FOR[choice]
    ]


# --- signals from elsewhere -----------------------------------------------------------------------


def help_went_badly(*, session: Session, services: Services, kind: str, ref_id: int, now: datetime) -> int:
    """A visit or task linked to questions was marked difficult: a decision for each question it serves."""
    opened = 0
    for question in store.questions_linked_to(session=session, kind=kind, ref_id=ref_id):
        if open_decision(
            session=session, services=services, question=question, cause=DecisionCause.DIFFICULT_VISIT, now=now
        ):
            opened += 1
    return opened


def checkins_answered(*, session: Session, services: Services, family: Person, now: datetime) -> int:
    """After a check-in answer: falling answers open a decision for each question that has help linked."""
    assert family.id is not None
    questions = [
        q
        for q in store.family_questions(session=session, family_id=family.id, states=rules.OPEN_STATES)
        if q.id is not None and store.links_of(session=session, question_ids=[q.id])[q.id]
    ]
    if not questions:
        return 0
    answered = care.recent_checkins(session=session, family_id=family.id, limit=5)
    given = [c for c in reversed(answered) if c.answer]
    if not given or not insight_rules.is_worsening(
        [c.answer or "" for c in given], latest_at=given[-1].answered_at, since=now - timedelta(days=7)
    ):
        return 0
    opened = 0
    for question in questions:
        if open_decision(
            session=session, services=services, question=question, cause=DecisionCause.FALLING_CHECKINS, now=now
        ):
            opened += 1
    return opened


JOBS: dict[str, JobHandler] = {REVIEW_JOB: review_job}
