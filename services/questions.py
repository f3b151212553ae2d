"""The family's own questions: named, reworded, ended and shared by the family; suggested and linked by coordinators.

The family's words are personal data: they are shown to the family, to its coordinators (checked by
`services.permissions`) and, per question, to the one helper the family chose; the timeline and the figures
hold only kinds and themes. Reviews, decisions and casework meetings are `services.question_reviews` and
`services.casework`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from domain import questions as rules
from domain.questions import QuestionState, Theme
from services import timeline
from services.callbacks import Button
from services.casework_plan import plan_meeting
from services.concerns import topic_note
from services.context import Services
from services.i18n import N_, _, h, hi
from services.labels import name_of
from services.logs import event
from services.match_texts import kind_label as match_kind_label
from services.match_texts import state_label as match_state_label
from services.outbox import Outgoing, tell
from services.permissions import Action, authorize
from services.tasks import kind_label
from storage import job_store, people
from storage import matches as matches_store
from storage import questions as store
from storage import requests as requests_store
from storage.db import Session
from storage.match_tables import Match
from storage.models import FamilyQuestion, HelpRequest, Person, Role

logger = logging.getLogger(__name__)

MAX_OPEN_QUESTIONS = 8
REVIEW_JOB = "question.review"
THEME_LABELS: dict[Theme, str] = {
    Theme.OUT_MORE: N_("Get out of the house more"),
    Theme.BREAK: N_("A break for me"),
    Theme.SPORT: N_("Someone to take the children to sport"),
    Theme.FORMS: N_("Help with forms"),
}
STATE_LABELS: dict[str, str] = {
    QuestionState.SUGGESTED: N_("suggested, waiting for your yes"),
    QuestionState.ACTIVE: N_("open"),
    QuestionState.NOT_NEEDED: N_("no longer needed"),
    QuestionState.STOPPED: N_("help stopped"),
    QuestionState.DECLINED: N_("not taken up"),
}
# A coordinator's suggestion, answered by the family: fq:sugg:<question>:<yes|no>.
SUGGESTION = Button("fq", "sugg", int, str)


class Saved(StrEnum):
    SAVED = "saved"
    EMPTY = "empty"
    TOO_LONG = "too_long"
    TOO_MANY = "too_many"
    REFUSED = "refused"


@dataclass(frozen=True)
class Named:
    """What became of a named (or reworded) question."""

    outcome: Saved
    question: FamilyQuestion | None = None


@dataclass(frozen=True)
class HelpLine:
    """A piece of help linked to a question, as the family and its coordinators read it."""

    kind: str
    ref_id: int
    label: str


def theme_label(theme: str) -> str:
    """A suggestion's words in the current language (own words have no label)."""
    label = THEME_LABELS.get(Theme(theme)) if theme in Theme.__members__.values() else None
    return _(label) if label else ""


def _family(session: Session, person: Person | None) -> Person | None:
    """The acting person fresh from the database, when it is a signed-up family."""
    if person is None or person.id is None:
        return None
    fresh = people.get_person(session=session, person_id=person.id)
    if fresh is None or fresh.role != Role.FAMILY or fresh.consent_at is None:
        return None
    return fresh


def own_question(*, session: Session, person: Person | None, question_id: int) -> FamilyQuestion | None:
    """The question, when it is this family's own (a forged id finds nothing)."""
    family = _family(session, person)
    question = store.get_question(session=session, question_id=question_id)
    if family is None or question is None or question.family_id != family.id:
        return None
    return question


def _check_text(text: str | None) -> Saved | None:
    """Why the words cannot be saved, or None."""
    problem = rules.text_problem(text)
    if problem == rules.TextProblem.EMPTY:
        return Saved.EMPTY
    if problem == rules.TextProblem.TOO_LONG:
        return Saved.TOO_LONG
    return None


def schedule_reviews(*, session: Session, family_id: int, now: datetime) -> None:
    """Plan the family's review job for its earliest due question (jobs are deduplicated by due time)."""
    due = [
        question.next_review_at
        for question in store.family_questions(session=session, family_id=family_id, states=rules.OPEN_STATES)
        if question.next_review_at is not None
    ]
    if not due:
        return
    plan_review_job(session=session, family_id=family_id, at=max(min(due), now), now=now)


def review_job_key(family_id: int, at: datetime) -> str:
    """The dedupe key of a family's review job at a time: one job a family and minute."""
    return f"{REVIEW_JOB}:{family_id}:{at:%Y%m%dT%H%M}"


def plan_review_job(*, session: Session, family_id: int, at: datetime, now: datetime) -> None:
    """The family's review job planned at a time (deduplicated by that time)."""
    job_store.schedule_job(
        session=session,
        kind=REVIEW_JOB,
        due_at=at,
        dedupe_key=review_job_key(family_id, at),
        now=now,
        subject_id=family_id,
    )


def _activate(session: Session, family: Person, question: FamilyQuestion, now: datetime) -> None:
    """A question becomes active: its first review is planned and the timeline notes it (no words)."""
    assert family.id is not None and question.id is not None
    plan = store.get_plan(session=session, family_id=family.id)
    first = rules.first_review_at(now, every_weeks=plan.review_every_weeks, zone=family.timezone)
    store.update_question(session=session, question_id=question.id, now=now, next_review_at=first)
    schedule_reviews(session=session, family_id=family.id, now=now)
    plan_meeting(session=session, family=family, now=now)
    timeline.note(session=session, about=question, kind="question_named", now=now, theme=question.theme)


def name_question(
    *, session: Session, services: Services, person: Person | None, text: str | None, theme: str, now: datetime
) -> Named:
    """The family names a question: a suggestion's words, or its own (checked for length)."""
    family = _family(session, person)
    if family is None or family.id is None or theme not in Theme.__members__.values():
        return Named(Saved.REFUSED)
    words = theme_label(theme) if theme != Theme.OWN else rules.clean_text(text)
    problem = _check_text(words)
    if problem is not None:
        return Named(problem)
    if store.count_questions(session=session, family_id=family.id, states=rules.OPEN_STATES) >= MAX_OPEN_QUESTIONS:
        return Named(Saved.TOO_MANY)
    question = store.create_question(
        session=session, family_id=family.id, text=words, theme=theme, state=QuestionState.ACTIVE, now=now
    )
    _activate(session, family, question, now)
    _tell_coordinators(session, services, family, question, N_("🎯 {name} named a new question of its own."), now)
    event(logger, "question.named", family=family.id, theme=theme)
    return Named(Saved.SAVED, question)


def reword(*, session: Session, person: Person | None, question_id: int, text: str | None, now: datetime) -> Named:
    """The family rewords one of its open questions."""
    question = own_question(session=session, person=person, question_id=question_id)
    if question is None or question.state != QuestionState.ACTIVE:
        return Named(Saved.REFUSED)
    problem = _check_text(text)
    if problem is not None:
        return Named(problem)
    changed = store.update_question(
        session=session, question_id=question_id, now=now, text=rules.clean_text(text), state=None
    )
    timeline.note(session=session, about=question, kind="question_reworded", now=now)
    return Named(Saved.SAVED, changed)


def no_longer_needed(
    *, session: Session, services: Services, person: Person | None, question_id: int, now: datetime
) -> FamilyQuestion | None:
    """The family says a question is no longer needed; its coordinators hear it (the help stays until they act)."""
    question = own_question(session=session, person=person, question_id=question_id)
    if question is None or question.state != QuestionState.ACTIVE:
        return None
    return end_question(
        session=session, services=services, question=question, state=QuestionState.NOT_NEEDED, reason="family", now=now
    )


def end_question(
    *, session: Session, services: Services, question: FamilyQuestion, state: str, reason: str, now: datetime
) -> FamilyQuestion | None:
    """A question ends (no longer needed, or help stopped): no more reviews, the timeline and topic note it."""
    assert question.id is not None
    changed = store.update_question(
        session=session, question_id=question.id, now=now, state=state, ended=True, end_reason=reason
    )
    family = people.get_person(session=session, person_id=question.family_id)
    timeline.note(session=session, about=question, kind=f"question_{state}", now=now)
    if family is not None and state == QuestionState.NOT_NEEDED:
        line = N_("🎯 {name} says one of its questions is no longer needed; linked help is still running.")
        _tell_coordinators(session, services, family, question, line, now)
    return changed


def _tell_coordinators(
    session: Session, services: Services, family: Person, question: FamilyQuestion, line: str, now: datetime
) -> None:
    """A line about the family's questions in its topic (never the family's words, which stay in the card)."""
    topic_note(
        session,
        services,
        family,
        f"topic:question:{question.id}:{line[:12]}:{now:%Y%m%d%H%M}",
        line,
        now,
        name=hi(name_of(family)),
    )


def helper_candidates(*, session: Session, family: Person) -> list[Person]:
    """Who the family may share a question with: its support volunteer and the volunteers who helped it."""
    assert family.id is not None
    ids = store.helper_ids(session=session, family_id=family.id)
    found = (people.get_person(session=session, person_id=helper_id) for helper_id in ids)
    return [person for person in found if person is not None and person.consent_at is not None]


def set_sharing(
    *,
    session: Session,
    person: Person | None,
    question_id: int,
    now: datetime,
    volunteers_may_help: bool | None = None,
    helper_id: int | None = None,
    unshare: bool = False,
) -> FamilyQuestion | None:
    """The family decides whether volunteers may help with a question and which one helper may read it."""
    question = own_question(session=session, person=person, question_id=question_id)
    family = _family(session, person)
    if question is None or family is None or question.state != QuestionState.ACTIVE:
        return None
    if helper_id is not None and helper_id not in {p.id for p in helper_candidates(session=session, family=family)}:
        return None
    if volunteers_may_help is False:
        unshare = True
    before = question.shared_with_id  # the same row as `changed` below: read before the change
    changed = store.update_question(
        session=session,
        question_id=question_id,
        now=now,
        volunteers_may_help=True if helper_id is not None else volunteers_may_help,
        shared_with_id=helper_id,
        unshare=unshare,
    )
    if helper_id is not None and changed is not None and helper_id != before:
        helper = people.get_person(session=session, person_id=helper_id)
        if helper is not None:
            tell(
                session=session,
                person=helper,
                key=f"question:shared:{question_id}:{helper_id}",
                now=now,
                text=lambda: _(
                    "🎯 {family} shared one of its questions with you, so you know what your help is for:\n"
                    "<i>{text}</i>"
                ).format(family=hi(name_of(family)), text=h(changed.text)),
            )
    return changed


def may_suggest(*, session: Session, coordinator: Person | None, family_id: int, now: datetime) -> bool:
    """Whether this coordinator may suggest a question to the family (asked before the words are typed)."""
    family = people.get_person(session=session, person_id=family_id)
    if family is None or family.role != Role.FAMILY:
        return False
    decision = authorize(session=session, actor=coordinator, action=Action.ACT_FOR_FAMILY, family_id=family_id, now=now)
    return bool(decision)


def suggest(
    *, session: Session, services: Services, coordinator: Person | None, family_id: int, text: str | None, now: datetime
) -> Named:
    """A coordinator suggests a question; it counts only once the family says yes."""
    family = people.get_person(session=session, person_id=family_id)
    if family is None or family.role != Role.FAMILY or family.id is None:
        return Named(Saved.REFUSED)
    if not authorize(session=session, actor=coordinator, action=Action.ACT_FOR_FAMILY, family_id=family_id, now=now):
        return Named(Saved.REFUSED)
    assert coordinator is not None
    problem = _check_text(text)
    if problem is not None:
        return Named(problem)
    question = store.create_question(
        session=session,
        family_id=family.id,
        text=rules.clean_text(text),
        theme=Theme.OWN,
        state=QuestionState.SUGGESTED,
        suggested_by_id=coordinator.id,
        now=now,
    )
    assert question.id is not None
    qid = question.id
    tell(
        session=session,
        person=family,
        key=f"question:suggested:{qid}",
        now=now,
        text=lambda: Outgoing(
            text=_(
                "💡 {coordinator} suggests a question to work on together:\n<i>{text}</i>\n\n"
                "Is this something you want help with? You decide."
            ).format(coordinator=hi(name_of(coordinator)), text=h(question.text)),
            buttons=[
                [(_("Yes, add it"), SUGGESTION.data(qid, "yes")), (_("No, thank you"), SUGGESTION.data(qid, "no"))]
            ],
        ),
    )
    timeline.note(session=session, about=question, kind="question_suggested", now=now, by=coordinator)
    return Named(Saved.SAVED, question)


def answer_suggestion(
    *, session: Session, services: Services, person: Person | None, question_id: int, accept: bool, now: datetime
) -> FamilyQuestion | None:
    """The family takes up a coordinator's suggestion, or not (once; an old tap finds it answered)."""
    question = own_question(session=session, person=person, question_id=question_id)
    family = _family(session, person)
    if question is None or family is None or question.state != QuestionState.SUGGESTED:
        return None
    state = QuestionState.ACTIVE if accept else QuestionState.DECLINED
    changed = store.update_question(session=session, question_id=question_id, now=now, state=state)
    if changed is None:
        return None
    if accept:
        _activate(session, family, changed, now)
    else:
        timeline.note(session=session, about=question, kind="question_declined", now=now)
    return changed


@dataclass(frozen=True)
class QuestionDetails:
    """A question as its family sees it: the words, who may read it, what is being done."""

    question: FamilyQuestion
    helper_name: str | None
    help: list[HelpLine]


def family_list(*, session: Session, person: Person | None) -> tuple[list[FamilyQuestion], dict[int, list[HelpLine]]]:
    """The family's open and suggested questions, oldest first, with the help linked to each."""
    family = _family(session, person)
    if family is None or family.id is None:
        return [], {}
    shown = (QuestionState.ACTIVE, QuestionState.SUGGESTED)
    questions = store.family_questions(session=session, family_id=family.id, states=shown)
    return questions, help_lines(session=session, questions=questions, zone=family.timezone)


def details(*, session: Session, person: Person | None, question_id: int) -> QuestionDetails | None:
    """One of the family's open questions with who may read it and its help; None for anything else."""
    question = own_question(session=session, person=person, question_id=question_id)
    if question is None or question.id is None or question.state != QuestionState.ACTIVE:
        return None
    helper = people.get_person(session=session, person_id=question.shared_with_id) if question.shared_with_id else None
    zone = person.timezone if person is not None else ""
    lines = help_lines(session=session, questions=[question], zone=zone).get(question.id, [])
    return QuestionDetails(question, name_of(helper) if helper is not None else None, lines)


def share_choices(
    *, session: Session, person: Person | None, question_id: int
) -> tuple[FamilyQuestion, list[Person]] | None:
    """An open question of the family and the helpers it may let read it; None for anything else."""
    question = own_question(session=session, person=person, question_id=question_id)
    family = _family(session, person)
    if question is None or family is None or question.state != QuestionState.ACTIVE:
        return None
    return question, helper_candidates(session=session, family=family)


def person_leaves(*, session: Session, person: Person) -> None:
    """Erasure: a family's questions go with all they hold; a helper or coordinator is no longer named in any."""
    assert person.id is not None
    if person.role == Role.FAMILY:
        store.erase_family(session=session, family_id=person.id)
    store.forget_person(session=session, person_id=person.id)


# --- help linked to a question --------------------------------------------------------------------


def linkable_matches(*, session: Session, family_id: int) -> list[Match]:
    """The family's lasting matches that are still open, for a coordinator to link to a question."""
    return [
        match
        for match in matches_store.matches_of(session=session, person_id=family_id)
        if match.family_id == family_id
    ]


def linkable_requests(*, session: Session, family_id: int) -> list[HelpRequest]:
    """The family's recent one-off requests a coordinator can link to a question."""
    return requests_store.family_requests(session=session, family_id=family_id, limit=10)


def link_request(
    *, session: Session, coordinator: Person | None, question_id: int, request_id: int, now: datetime
) -> bool | None:
    """Link (or unlink, when linked) a one-off request to the question it serves; None when not allowed."""
    return link_help(
        session=session, coordinator=coordinator, question_id=question_id, kind="request", ref_id=request_id, now=now
    )


def link_match(
    *, session: Session, coordinator: Person | None, question_id: int, match_id: int, now: datetime
) -> bool | None:
    """Link (or unlink, when linked) a lasting match to the question it serves; None when not allowed."""
    return link_help(
        session=session, coordinator=coordinator, question_id=question_id, kind="match", ref_id=match_id, now=now
    )


def _help_of(session: Session, kind: str, ref_id: int) -> tuple[int, datetime | None] | None:
    """The family a piece of help belongs to, and when it started (None: not started yet)."""
    if kind == "request":
        request = requests_store.get_request(session=session, request_id=ref_id)
        return (request.family_id, request.accepted_at) if request is not None else None
    if kind == "match":
        match = matches_store.get_match(session=session, match_id=ref_id)
        return (match.family_id, match.started_at) if match is not None else None
    return None


def link_help(
    *, session: Session, coordinator: Person | None, question_id: int, kind: str, ref_id: int, now: datetime
) -> bool | None:
    """Link (or unlink, when linked) help to the family's open question; True linked, False unlinked, None refused."""
    question = store.get_question(session=session, question_id=question_id)
    found = _help_of(session, kind, ref_id)
    if question is None or found is None or found[0] != question.family_id or question.state != QuestionState.ACTIVE:
        return None
    family_id = question.family_id
    if not authorize(session=session, actor=coordinator, action=Action.ACT_FOR_FAMILY, family_id=family_id, now=now):
        return None
    actor_id = coordinator.id if coordinator else None
    if store.unlink(session=session, question_id=question_id, kind=kind, ref_id=ref_id):
        return False
    store.link(session=session, question_id=question_id, kind=kind, ref_id=ref_id, by_id=actor_id, now=now)
    started = found[1]
    if started is not None:
        store.mark_first_help(session=session, question_id=question_id, at=max(started, question.created_at))
    timeline.note(session=session, about=question, kind="question_linked", now=now, by=coordinator, **{kind: ref_id})
    return True


def match_started(*, session: Session, match_id: int, now: datetime) -> None:
    """A linked match began: the question's first help starts (for the figures)."""
    for question in store.questions_linked_to(session=session, kind="match", ref_id=match_id):
        assert question.id is not None
        store.mark_first_help(session=session, question_id=question.id, at=now)


def request_accepted(*, session: Session, request: HelpRequest, now: datetime) -> None:
    """A linked request was accepted: the question's first help starts (for the figures)."""
    if request.id is None:
        return
    for question in store.questions_linked_to(session=session, kind="request", ref_id=request.id):
        assert question.id is not None
        store.mark_first_help(session=session, question_id=question.id, at=now)


def help_lines(*, session: Session, questions: list[FamilyQuestion], zone: str) -> dict[int, list[HelpLine]]:
    """What is being done about each question: its linked help, in the current language."""
    ids = [question.id for question in questions if question.id is not None]
    found: dict[int, list[HelpLine]] = {question_id: [] for question_id in ids}
    for question_id, links in store.links_of(session=session, question_ids=ids).items():
        for item in links:
            label = link_label(session=session, kind=item.kind, ref_id=item.ref_id, zone=zone)
            if label:
                found[question_id].append(HelpLine(item.kind, item.ref_id, label))
    return found


def link_label(*, session: Session, kind: str, ref_id: int, zone: str) -> str:
    """'🛒 Groceries (done)', '🤝 A weekly play afternoon with Hanna (trial)': linked help in a few words."""
    if kind == "match":
        match = matches_store.get_match(session=session, match_id=ref_id)
        if match is None:
            return ""
        helper = people.get_person(session=session, person_id=match.helper_id)
        return _("{help} with {name} ({status})").format(
            help=h(match_kind_label(match.kind)), name=hi(name_of(helper)), status=h(match_state_label(match.state))
        )
    if kind != "request":
        return ""
    request = requests_store.get_request(session=session, request_id=ref_id)
    if request is None:
        return ""
    return _("{task} ({status})").format(
        task=h(kind_label(request.kind)), status=h(request_status_label(request.status))
    )


REQUEST_STATUS_LABELS = {
    "open": N_("looking for a volunteer"),
    "accepted": N_("a volunteer will come"),
    "done": N_("done"),
    "not_happened": N_("did not happen"),
    "cancelled": N_("cancelled"),
    "expired": N_("nobody found"),
}


def request_status_label(status: str) -> str:
    """A request's status in plain words."""
    label = REQUEST_STATUS_LABELS.get(status)
    return _(label) if label else status
