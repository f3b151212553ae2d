"""The family's own questions, the help linked to them, their reviews, decisions and casework meetings."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import delete, func
from sqlmodel import col, select

from storage.db import (
    Session,
    delete_where,
    null_where,
    of_families,
    rowcount,
    saved,
    saved_if_new,
    set_given,
    set_once,
)
from storage.models import (
    CasePlan,
    CaseworkMeeting,
    FamilyProfile,
    FamilyQuestion,
    HelpRequest,
    QuestionDecision,
    QuestionLink,
    QuestionReview,
)

# --- questions ------------------------------------------------------------------------------------


def create_question(
    *,
    session: Session,
    family_id: int,
    text: str,
    theme: str,
    state: str,
    now: datetime,
    suggested_by_id: int | None = None,
    next_review_at: datetime | None = None,
) -> FamilyQuestion:
    """A new question of the family (or a coordinator's suggestion waiting for the family's yes)."""
    question = FamilyQuestion(
        family_id=family_id,
        text=text,
        theme=theme,
        state=state,
        suggested_by_id=suggested_by_id,
        next_review_at=next_review_at,
        created_at=now,
        updated_at=now,
    )
    return saved(session, question)


def get_question(*, session: Session, question_id: int) -> FamilyQuestion | None:
    """One question by id."""
    return session.get(FamilyQuestion, question_id)


def family_questions(*, session: Session, family_id: int, states: Iterable[str] | None = None) -> list[FamilyQuestion]:
    """A family's questions, oldest first (only those in `states` when given)."""
    query = select(FamilyQuestion).where(col(FamilyQuestion.family_id) == family_id)
    if states is not None:
        query = query.where(col(FamilyQuestion.state).in_(list(states)))
    return list(session.exec(query.order_by(col(FamilyQuestion.created_at), col(FamilyQuestion.id))))


def count_questions(*, session: Session, family_id: int, states: Iterable[str]) -> int:
    """How many of a family's questions are in these states."""
    query = select(func.count()).where(
        col(FamilyQuestion.family_id) == family_id, col(FamilyQuestion.state).in_(list(states))
    )
    return int(session.exec(query).one())


def update_question(
    *,
    session: Session,
    question_id: int,
    now: datetime,
    text: str | None = None,
    state: str | None = None,
    volunteers_may_help: bool | None = None,
    shared_with_id: int | None = None,
    unshare: bool = False,
    next_review_at: datetime | None = None,
    ended: bool = False,
    end_reason: str | None = None,
) -> FamilyQuestion | None:
    """Change what is given (None leaves a field; `unshare` clears the helper, `ended` stamps the end)."""
    question = session.get(FamilyQuestion, question_id)
    if question is None:
        return None
    set_given(question, text=text, state=state, volunteers_may_help=volunteers_may_help, next_review_at=next_review_at)
    if shared_with_id is not None or unshare:
        question.shared_with_id = shared_with_id
    if ended:
        question.ended_at = now
        question.end_reason = end_reason
        question.next_review_at = None
    question.updated_at = now
    return saved(session, question)


def helper_ids(*, session: Session, family_id: int) -> list[int]:
    """The family's support volunteer and the volunteers who took its requests, most recent first."""
    found: list[int] = []
    profile = session.get(FamilyProfile, family_id)
    if profile is not None and profile.support_volunteer_id is not None:
        found.append(profile.support_volunteer_id)
    query = (
        select(col(HelpRequest.assigned_volunteer_id))
        .where(col(HelpRequest.family_id) == family_id, col(HelpRequest.assigned_volunteer_id).is_not(None))
        .order_by(col(HelpRequest.created_at).desc())
        .limit(50)
    )
    for volunteer_id in session.exec(query):
        if volunteer_id is not None and volunteer_id not in found:
            found.append(volunteer_id)
    return found[:10]


# --- help linked to a question ---------------------------------------------------------------------


def _the_link(question_id: int, kind: str, ref_id: int) -> tuple[Any, ...]:
    """The conditions that find one link of help to a question."""
    return (
        col(QuestionLink.question_id) == question_id,
        col(QuestionLink.kind) == kind,
        col(QuestionLink.ref_id) == ref_id,
    )


def link(*, session: Session, question_id: int, kind: str, ref_id: int, by_id: int | None, now: datetime) -> bool:
    """Link help to a question; False when it was linked already."""
    row = QuestionLink(question_id=question_id, kind=kind, ref_id=ref_id, linked_by_id=by_id, linked_at=now)
    return saved_if_new(session, row, *_the_link(question_id, kind, ref_id)) is not None


def unlink(*, session: Session, question_id: int, kind: str, ref_id: int) -> bool:
    """Remove a link; False when there was none."""
    result = session.execute(delete(QuestionLink).where(*_the_link(question_id, kind, ref_id)))
    return rowcount(result) > 0


def links_of(*, session: Session, question_ids: Sequence[int]) -> dict[int, list[QuestionLink]]:
    """The links of these questions, by question, in the order they were made."""
    found: dict[int, list[QuestionLink]] = {question_id: [] for question_id in question_ids}
    if not question_ids:
        return found
    query = (
        select(QuestionLink)
        .where(col(QuestionLink.question_id).in_(list(question_ids)))
        .order_by(col(QuestionLink.linked_at), col(QuestionLink.id))
    )
    for row in session.exec(query):
        found[row.question_id].append(row)
    return found


def questions_linked_to(*, session: Session, kind: str, ref_id: int) -> list[FamilyQuestion]:
    """The active questions a piece of help serves."""
    query = (
        select(FamilyQuestion)
        .join(QuestionLink, col(QuestionLink.question_id) == col(FamilyQuestion.id))
        .where(col(QuestionLink.kind) == kind, col(QuestionLink.ref_id) == ref_id)
        .where(col(FamilyQuestion.state) == "active")
    )
    return list(session.exec(query))


def mark_first_help(*, session: Session, question_id: int, at: datetime) -> None:
    """Remember when help for the question first started (for the time from question to first help)."""
    set_once(session, FamilyQuestion, question_id, FamilyQuestion.first_help_at, first_help_at=at)


# --- reviews --------------------------------------------------------------------------------------


def add_review(
    *,
    session: Session,
    family_id: int,
    side: str,
    now: datetime,
    question_id: int | None = None,
    person_id: int | None = None,
) -> QuestionReview:
    """A review asked (the answer comes later, with one tap)."""
    review = QuestionReview(family_id=family_id, question_id=question_id, person_id=person_id, side=side, asked_at=now)
    return saved(session, review)


def get_review(*, session: Session, review_id: int) -> QuestionReview | None:
    """One review by id."""
    return session.get(QuestionReview, review_id)


def answer_review(*, session: Session, review_id: int, answer: str, now: datetime) -> bool:
    """Record the answer once; False when it was answered already (an old or doubled tap)."""
    return set_once(session, QuestionReview, review_id, QuestionReview.answer, answer=answer, answered_at=now)


def reviews_of(*, session: Session, question_id: int) -> list[QuestionReview]:
    """A question's family reviews, oldest first."""
    query = (
        select(QuestionReview)
        .where(col(QuestionReview.question_id) == question_id, col(QuestionReview.side) == "family")
        .order_by(col(QuestionReview.asked_at), col(QuestionReview.id))
    )
    return list(session.exec(query))


def helper_reviews(*, session: Session, family_id: int, since: datetime | None = None) -> list[QuestionReview]:
    """The helpers' "how is it going" reviews about a family, oldest first."""
    query = select(QuestionReview).where(
        col(QuestionReview.family_id) == family_id, col(QuestionReview.side) == "helper"
    )
    if since is not None:
        query = query.where(col(QuestionReview.asked_at) >= since)
    return list(session.exec(query.order_by(col(QuestionReview.asked_at), col(QuestionReview.id))))


def last_helper_review(*, session: Session, family_id: int, person_id: int) -> datetime | None:
    """When this helper was last asked about this family."""
    value = session.exec(
        select(func.max(QuestionReview.asked_at)).where(
            col(QuestionReview.family_id) == family_id,
            col(QuestionReview.person_id) == person_id,
            col(QuestionReview.side) == "helper",
        )
    ).one()
    return value


# --- rhythms --------------------------------------------------------------------------------------


def get_plan(*, session: Session, family_id: int) -> CasePlan:
    """The family's review and casework rhythms (the defaults until a coordinator changes them)."""
    plan = session.get(CasePlan, family_id)
    return plan if plan is not None else saved(session, CasePlan(family_id=family_id))


def set_plan(
    *,
    session: Session,
    family_id: int,
    review_every_weeks: int | None = None,
    casework_every_weeks: int | None = None,
    last_review_message_at: datetime | None = None,
) -> CasePlan:
    """Change a family's rhythms or note when it was last asked for a review."""
    plan = get_plan(session=session, family_id=family_id)
    set_given(
        plan,
        review_every_weeks=review_every_weeks,
        casework_every_weeks=casework_every_weeks,
        last_review_message_at=last_review_message_at,
    )
    return saved(session, plan)


# --- casework meetings ----------------------------------------------------------------------------


def next_meeting(*, session: Session, family_id: int) -> CaseworkMeeting | None:
    """The family's next casework meeting that has not been held."""
    query = (
        select(CaseworkMeeting)
        .where(col(CaseworkMeeting.family_id) == family_id, col(CaseworkMeeting.held_at).is_(None))
        .order_by(col(CaseworkMeeting.meeting_on), col(CaseworkMeeting.id))
    )
    return session.exec(query).first()


def last_held_meeting(*, session: Session, family_id: int) -> CaseworkMeeting | None:
    """The family's latest casework meeting that was held."""
    query = (
        select(CaseworkMeeting)
        .where(col(CaseworkMeeting.family_id) == family_id, col(CaseworkMeeting.held_at).is_not(None))
        .order_by(col(CaseworkMeeting.meeting_on).desc(), col(CaseworkMeeting.id).desc())
    )
    return session.exec(query).first()


def create_meeting(*, session: Session, family_id: int, meeting_on: date) -> CaseworkMeeting:
    """Plan a casework meeting."""
    return saved(session, CaseworkMeeting(family_id=family_id, meeting_on=meeting_on))


def get_meeting(*, session: Session, meeting_id: int) -> CaseworkMeeting | None:
    """One meeting by id."""
    return session.get(CaseworkMeeting, meeting_id)


def move_meeting(*, session: Session, meeting_id: int, meeting_on: date) -> None:
    """Give a planned meeting another date (its agenda goes out again before it)."""
    set_once(session, CaseworkMeeting, meeting_id, CaseworkMeeting.held_at, meeting_on=meeting_on, agenda_sent_at=None)


def mark_agenda_sent(*, session: Session, meeting_id: int, now: datetime) -> bool:
    """Note that the agenda went out; False when it had already (a doubled job)."""
    return set_once(session, CaseworkMeeting, meeting_id, CaseworkMeeting.agenda_sent_at, agenda_sent_at=now)


def mark_held(*, session: Session, meeting_id: int, by_id: int, now: datetime) -> bool:
    """Record the meeting as held, once."""
    return set_once(session, CaseworkMeeting, meeting_id, CaseworkMeeting.held_at, held_at=now, held_by_id=by_id)


# --- decisions ------------------------------------------------------------------------------------


def open_decision(*, session: Session, question_id: int) -> QuestionDecision | None:
    """The question's decision still to be taken, if any."""
    query = select(QuestionDecision).where(
        col(QuestionDecision.question_id) == question_id, col(QuestionDecision.decided_at).is_(None)
    )
    return session.exec(query.order_by(col(QuestionDecision.id))).first()


def create_decision(
    *,
    session: Session,
    question_id: int,
    family_id: int,
    cause: str,
    now: datetime,
    meeting_id: int | None = None,
) -> QuestionDecision:
    """A decision to take about a question."""
    row = QuestionDecision(
        question_id=question_id, family_id=family_id, cause=cause, meeting_id=meeting_id, created_at=now
    )
    return saved(session, row)


def set_cause(*, session: Session, decision_id: int, cause: str) -> QuestionDecision | None:
    """An open decision of a meeting gets another cause: it is due now, on its own, no longer with the meeting."""
    row = session.get(QuestionDecision, decision_id)
    if row is None or row.decided_at is not None:
        return None
    row.cause = cause
    row.meeting_id = None
    return saved(session, row)


def get_decision(*, session: Session, decision_id: int) -> QuestionDecision | None:
    """One decision by id."""
    return session.get(QuestionDecision, decision_id)


def decide(
    *,
    session: Session,
    decision_id: int,
    decision: str,
    reason: str,
    by_id: int,
    now: datetime,
    meeting_id: int | None = None,
) -> bool:
    """Take the decision, once (a second coordinator's tap finds it taken)."""
    values: dict[str, object] = {"decision": decision, "reason": reason, "decided_at": now, "decided_by_id": by_id}
    if meeting_id is not None:
        values["meeting_id"] = meeting_id
    return set_once(session, QuestionDecision, decision_id, QuestionDecision.decided_at, **values)


def drop_undecided(*, session: Session, meeting_id: int) -> int:
    """A meeting's decisions left open when it was recorded: nothing to change, so they go."""
    result = session.execute(
        delete(QuestionDecision).where(
            col(QuestionDecision.meeting_id) == meeting_id, col(QuestionDecision.decided_at).is_(None)
        )
    )
    return rowcount(result)


def family_decisions(
    *, session: Session, family_id: int, open_only: bool = False, meeting_id: int | None = None
) -> list[QuestionDecision]:
    """A family's decisions, oldest first (only open ones, or those of one meeting, when asked)."""
    query = select(QuestionDecision).where(col(QuestionDecision.family_id) == family_id)
    if open_only:
        query = query.where(col(QuestionDecision.decided_at).is_(None))
    if meeting_id is not None:
        query = query.where(col(QuestionDecision.meeting_id) == meeting_id)
    return list(session.exec(query.order_by(col(QuestionDecision.created_at), col(QuestionDecision.id))))


# --- figures and erasure --------------------------------------------------------------------------


def questions_named(
    *, session: Session, start: datetime, end: datetime, family_ids: Sequence[int] | None = None
) -> list[FamilyQuestion]:
    """The questions families (these when given) took up in [start, end), for the anonymous figures (themes)."""
    query = select(FamilyQuestion).where(
        col(FamilyQuestion.state).not_in(["declined", "suggested"]),
        col(FamilyQuestion.created_at) >= start,
        col(FamilyQuestion.created_at) < end,
    )
    return list(session.exec(of_families(query, FamilyQuestion.family_id, family_ids)))


def answered_family_reviews(
    *, session: Session, start: datetime, end: datetime, family_ids: Sequence[int] | None = None
) -> list[QuestionReview]:
    """The families' (these when given) reviews answered in [start, end), oldest first."""
    query = select(QuestionReview).where(
        col(QuestionReview.side) == "family",
        col(QuestionReview.answer).is_not(None),
        col(QuestionReview.answered_at) >= start,
        col(QuestionReview.answered_at) < end,
    )
    query = of_families(query, QuestionReview.family_id, family_ids)
    return list(session.exec(query.order_by(col(QuestionReview.answered_at))))


def stop_reasons(
    *, session: Session, start: datetime, end: datetime, family_ids: Sequence[int] | None = None
) -> list[str]:
    """The reasons of the decisions to stop help taken in [start, end) (of these families when given)."""
    query = select(col(QuestionDecision.reason)).where(
        col(QuestionDecision.decision) == "stop",
        col(QuestionDecision.decided_at) >= start,
        col(QuestionDecision.decided_at) < end,
    )
    return [reason or "" for reason in session.exec(of_families(query, QuestionDecision.family_id, family_ids))]


def erase_family(*, session: Session, family_id: int) -> None:
    """Everything the family's questions hold goes: their words, links, reviews, decisions and meetings."""
    ids = list(session.exec(select(col(FamilyQuestion.id)).where(col(FamilyQuestion.family_id) == family_id)))
    if ids:
        session.execute(delete(QuestionLink).where(col(QuestionLink.question_id).in_(ids)))
        session.execute(delete(QuestionDecision).where(col(QuestionDecision.question_id).in_(ids)))
    owned = QuestionReview.family_id, FamilyQuestion.family_id, CaseworkMeeting.family_id, CasePlan.family_id
    delete_where(session, family_id, *owned)


def forget_person(*, session: Session, person_id: int) -> None:
    """A helper or coordinator who leaves: no question stays shared with them, no review or decision names them."""
    null_where(
        session,
        person_id,
        FamilyQuestion.shared_with_id,
        FamilyQuestion.suggested_by_id,
        QuestionReview.person_id,
        QuestionDecision.decided_by_id,
        QuestionLink.linked_by_id,
        CaseworkMeeting.held_by_id,
    )
