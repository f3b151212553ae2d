"""Casework meetings: every 3 to 6 weeks about each family, an agenda a few days before, decisions recorded.

The agenda (`casework.agenda`, subject: the family) goes to the family's coordinators (the duo) three days
before the meeting: its questions with their review answers over time, the helpers' answers, the check-in
trend, the concerns (kinds and dates, never message contents), debrief flags and the decisions due. The
decisions (continue / change / stop per question, `services.question_decisions.decide`) and the next date are
recorded in a few taps; the family is told in plain words what was decided about its questions.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from zoneinfo import ZoneInfo

from domain import questions as rules
from domain.questions import Decision, DecisionCause, HelperFeeling, QuestionState
from services import timeline
from services.callbacks import Button
from services.casework_plan import AGENDA_JOB, plan_meeting, schedule_agenda
from services.concerns import ANSWER_EMOJI, SOURCE_LABELS
from services.context import JobHandler, Services
from services.i18n import _, current_language, format_day, h, hi
from services.labels import name_of
from services.logs import event
from services.outbox import Outgoing, tell, tell_each
from services.permissions import Action, authorize
from services.question_decisions import decision_for_family
from services.question_reviews import FEELING_MARKS, answers_over_time, cause_text, decision_message, open_decision
from services.questions import HelpLine, help_lines, link_label, linkable_matches, linkable_requests
from services.recipients import coordinators_for
from storage import care, job_store, people
from storage import concerns as concern_store
from storage import matches as matches_store
from storage import questions as store
from storage import requests as requests_store
from storage.db import Session
from storage.match_tables import Match
from storage.models import (
    CasePlan,
    CaseworkMeeting,
    FamilyQuestion,
    HelpRequest,
    Person,
    QuestionDecision,
    Role,
    ScheduledJob,
)

logger = logging.getLogger(__name__)

# cw:q:<family> opens the family's questions from its card; cw:rec:<meeting> starts recording a meeting;
# cw:next:<meeting>:<weeks> records it as held with the next date.
QUESTIONS = Button("cw", "q", int)
RECORD = Button("cw", "rec", int)
NEXT = Button("cw", "next", int, int)


def set_rhythm(
    *,
    session: Session,
    coordinator: Person | None,
    family_id: int,
    review_weeks: int | None,
    casework_weeks: int | None,
    now: datetime,
) -> bool:
    """A coordinator sets how often the family is asked for reviews and how often its casework meeting is."""
    family = people.get_person(session=session, person_id=family_id)
    if family is None or family.role != Role.FAMILY:
        return False
    if not authorize(session=session, actor=coordinator, action=Action.ACT_FOR_FAMILY, family_id=family_id, now=now):
        return False
    if review_weeks is not None and rules.clamp_weeks(review_weeks, rules.REVIEW_WEEK_CHOICES) is None:
        return False
    if casework_weeks is not None and rules.clamp_weeks(casework_weeks, rules.CASEWORK_WEEK_CHOICES) is None:
        return False
    store.set_plan(
        session=session, family_id=family_id, review_every_weeks=review_weeks, casework_every_weeks=casework_weeks
    )
    if casework_weeks is not None:
        meeting = store.next_meeting(session=session, family_id=family_id)
        last = store.last_held_meeting(session=session, family_id=family_id)
        today = now.astimezone(ZoneInfo(family.timezone)).date()
        meeting_on = rules.next_casework_on(last.meeting_on if last else None, today=today, every_weeks=casework_weeks)
        if meeting is None:
            plan_meeting(session=session, family=family, now=now, after=last.meeting_on if last else None)
        elif meeting.agenda_sent_at is None and meeting.id is not None:
            store.move_meeting(session=session, meeting_id=meeting.id, meeting_on=meeting_on)
            job_store.cancel_jobs(session=session, kind=AGENDA_JOB, subject_id=family_id)
            moved = store.get_meeting(session=session, meeting_id=meeting.id)
            if moved is not None:
                schedule_agenda(session, family, moved, now)
    people.audit(
        session=session,
        actor_id=coordinator.id if coordinator else None,
        action="case_rhythm_changed",
        subject_id=family_id,
        now=now,
        review_weeks=review_weeks,
        casework_weeks=casework_weeks,
    )
    return True


# --- the agenda -----------------------------------------------------------------------------------


def agenda_job(*, session: Session, job: ScheduledJob, services: Services, now: datetime) -> None:
    """`casework.agenda`: the meeting's agenda to the family's coordinators, once."""
    family = people.get_person(session=session, person_id=int(job.subject_id or 0))
    if family is None or family.id is None or family.role != Role.FAMILY or family.consent_at is None:
        return
    meeting = store.next_meeting(session=session, family_id=family.id)
    if (
        meeting is None
        or meeting.id is None
        or not store.mark_agenda_sent(session=session, meeting_id=meeting.id, now=now)
    ):
        return
    for question in store.family_questions(session=session, family_id=family.id, states=rules.OPEN_STATES):
        # Each open question is on the meeting's list of decisions (an open task keeps its own cause).
        open_decision(
            session=session,
            services=services,
            question=question,
            cause=DecisionCause.CASEWORK,
            now=now,
            meeting_id=meeting.id,
            tell_coordinators=False,
        )
    tell_each(
        session=session,
        people=duo_of(session, family),
        key=f"agenda:{meeting.id}",
        now=now,
        text=lambda: agenda_message(session=session, family=family, meeting=meeting, now=now),
    )
    event(logger, "casework.agenda_sent", family=family.id, meeting=meeting.id)


def duo_of(session: Session, family: Person) -> list[Person]:
    """The family's primary and partner coordinators who can be reached (else whoever `coordinators_for` names)."""
    return coordinators_for(session, family)


def agenda_lines(*, session: Session, family: Person, meeting: CaseworkMeeting, now: datetime) -> list[str]:
    """The agenda's lines (in the current language): never what anyone wrote, only the family's questions."""
    lines = [
        _("📋 <b>Casework meeting about {family}</b> on {day}").format(
            family=hi(name_of(family)), day=h(format_day(meeting.meeting_on, current_language()))
        ),
        "",
    ]
    lines += _question_lines(session, family)
    lines += _visit_lines(session, family)
    lines += ["", *_contact_lines(session, family)]
    lines += ["", *_decision_lines(session, family)]
    return lines


def _question_lines(session: Session, family: Person) -> list[str]:
    """The family's open questions with their review answers, and the helpers' answers."""
    assert family.id is not None
    lines = [_("<b>Their questions</b> (in their words) and the answers to 'does it help?':")]
    questions = store.family_questions(session=session, family_id=family.id, states=rules.OPEN_STATES)
    for question in questions:
        assert question.id is not None
        answers = answers_over_time(session, question.id)
        lines.append(_("• <i>{question}</i>: {answers}").format(question=h(question.text), answers=answers))
    if not questions:
        lines.append(_("• none open"))
    helpers = [r.answer for r in store.helper_reviews(session=session, family_id=family.id) if r.answer]
    marks = " ".join(FEELING_MARKS[HelperFeeling(a)] for a in helpers[-6:] if a in HelperFeeling.__members__.values())
    if marks:
        lines.append(_("Helpers' answers to 'how is it going?': {marks}").format(marks=marks))
    return lines


VISIT_MARKS = {"happened": "✅", "didnt": "❌", "difficult": "⚠️", "skipped": "🙅", "holiday": "🏖"}


def _visit_lines(session: Session, family: Person) -> list[str]:
    """Each open lasting match with its visit log (the last taps, oldest first: kinds only, no notes)."""
    assert family.id is not None
    lines: list[str] = []
    for match in linkable_matches(session=session, family_id=family.id):
        assert match.id is not None
        past = [row for row in matches_store.occurrences(session=session, match_id=match.id) if row.outcome]
        marks = " ".join(VISIT_MARKS.get(row.outcome or "", "·") for row in past[-8:])
        label = link_label(session=session, kind="match", ref_id=match.id, zone=family.timezone)
        lines.append(_("🤝 {match}: {visits}").format(match=label, visits=marks or _("no visits yet")))
    return ["", _("<b>Lasting matches</b> (the visit log):"), *lines] if lines else []


def _contact_lines(session: Session, family: Person) -> list[str]:
    """The check-in trend, the concerns (kinds and dates only) and debriefs marked difficult."""
    assert family.id is not None
    checkins = list(reversed(care.recent_checkins(session=session, family_id=family.id, limit=6)))
    trend = " ".join(ANSWER_EMOJI.get(c.answer or "", "—" if c.missed else "…") for c in checkins)
    lines = [_("<b>Check-ins</b>: {trend}").format(trend=trend or _("none yet")), _("<b>Concerns</b>:")]
    concerns = concern_store.concerns_of(session=session, family_id=family.id, limit=10)
    for concern in concerns:
        state = _("open") if concern.status != "closed" else _("closed")
        day = format_day(concern.created_at.astimezone(ZoneInfo(family.timezone)).date(), current_language())
        what = _(SOURCE_LABELS.get(concern.source, SOURCE_LABELS["talk"]))
        lines.append(_("• {day}: {what} ({state})").format(day=h(day), what=h(what), state=state))
    if not concerns:
        lines.append(_("• none"))
    flags = _debrief_flags(session, family.id)
    if flags:
        lines.append(_("<b>Debriefs marked difficult</b>: {count}").format(count=hi(flags)))
    return lines


def _decision_lines(session: Session, family: Person) -> list[str]:
    """The decisions due, with the question each is about and why it is due."""
    assert family.id is not None
    due = store.family_decisions(session=session, family_id=family.id, open_only=True)
    lines = [_("<b>Decisions due</b>: {count}").format(count=hi(len(due)))]
    for decision in due:
        about = store.get_question(session=session, question_id=decision.question_id)
        if about is not None:
            why = cause_text(decision.cause)
            lines.append(_("• <i>{question}</i>: {cause}").format(question=h(about.text), cause=why))
    return lines


def _debrief_flags(session: Session, family_id: int) -> int:
    """How many task debriefs about the family were marked difficult (the ratings, never a text)."""
    count = 0
    for request in requests_store.family_requests(session=session, family_id=family_id, limit=20):
        if request.id is None:
            continue
        count += sum(
            outcome.rating == "difficult"
            for outcome in requests_store.outcomes_for(session=session, request_id=request.id)
        )
    return count


def agenda_message(*, session: Session, family: Person, meeting: CaseworkMeeting, now: datetime) -> Outgoing:
    """The agenda with its buttons: record the decisions, or the meeting as held with the next date."""
    assert meeting.id is not None
    lines = agenda_lines(session=session, family=family, meeting=meeting, now=now)
    rows = [[(_("📝 Record the decisions"), RECORD.data(meeting.id))]]
    return Outgoing(text="\n".join(lines), buttons=rows)


# --- recording ------------------------------------------------------------------------------------


class Recorded(StrEnum):
    RECORDED = "recorded"
    ALREADY = "already"
    REFUSED = "refused"


@dataclass(frozen=True)
class MeetingResult:
    """What became of recording a meeting; the next meeting when there is one."""

    outcome: Recorded
    next_meeting: CaseworkMeeting | None = None


def meeting_for(
    *, session: Session, coordinator: Person | None, meeting_id: int, now: datetime
) -> CaseworkMeeting | None:
    """The meeting, when this coordinator may record it (rights checked and audited)."""
    meeting = store.get_meeting(session=session, meeting_id=meeting_id)
    if meeting is None:
        return None
    if not authorize(
        session=session, actor=coordinator, action=Action.ACT_FOR_FAMILY, family_id=meeting.family_id, now=now
    ):
        return None
    return meeting


def record_meeting(
    *, session: Session, services: Services, coordinator: Person | None, meeting_id: int, next_weeks: int, now: datetime
) -> MeetingResult:
    """The meeting was held: the next one planned, the timeline notes it, the family hears what was decided."""
    if rules.clamp_weeks(next_weeks, rules.CASEWORK_WEEK_CHOICES) is None:
        return MeetingResult(Recorded.REFUSED)
    meeting = meeting_for(session=session, coordinator=coordinator, meeting_id=meeting_id, now=now)
    if meeting is None or coordinator is None or coordinator.id is None:
        return MeetingResult(Recorded.REFUSED)
    if not store.mark_held(session=session, meeting_id=meeting_id, by_id=coordinator.id, now=now):
        return MeetingResult(Recorded.ALREADY)
    family = people.get_person(session=session, person_id=meeting.family_id)
    assert family is not None
    store.drop_undecided(session=session, meeting_id=meeting_id)
    store.set_plan(session=session, family_id=meeting.family_id, casework_every_weeks=next_weeks)
    job_store.cancel_jobs(session=session, kind=AGENDA_JOB, subject_id=meeting.family_id)
    following = plan_meeting(session=session, family=family, now=now, after=meeting.meeting_on)
    next_on = following.meeting_on.isoformat()
    timeline.note(session=session, about=meeting, kind="casework_held", now=now, by=coordinator, next_on=next_on)
    decided = [
        d
        for d in store.family_decisions(session=session, family_id=meeting.family_id, meeting_id=meeting_id)
        if d.decision in Decision.__members__.values()
    ]
    if decided:
        tell(
            session=session,
            person=family,
            key=f"casework:{meeting_id}:family",
            now=now,
            text=lambda: family_summary(session, decided, following),
        )
    event(logger, "casework.held", family=meeting.family_id, decisions=len(decided))
    return MeetingResult(Recorded.RECORDED, following)


def family_summary(session: Session, decided: list[QuestionDecision], following: CaseworkMeeting) -> str:
    """What the meeting decided about the family's questions, in plain words for the family."""
    lines = [_("Your coordinators talked about how the help is going. What was decided:")]
    for decision in decided:
        question = store.get_question(session=session, question_id=decision.question_id)
        if question is not None and decision.decision:
            lines.append("• " + decision_for_family(question, Decision(decision.decision)))
    lines.append(_("You can always tell us what you think, with /menu."))
    return "\n".join(lines)


# --- the coordinator's view ------------------------------------------------------------------------


@dataclass(frozen=True)
class Workspace:
    """What a coordinator sees of a family's questions: their words, reviews, help, rhythms and next meeting."""

    family: Person
    questions: list[FamilyQuestion]
    answers: dict[int, str]
    help: dict[int, list[HelpLine]]
    plan: CasePlan
    meeting: CaseworkMeeting | None


def workspace(*, session: Session, coordinator: Person | None, family_id: int, now: datetime) -> Workspace | None:
    """The family's questions for one of its coordinators (rights checked and audited); None when refused."""
    family = people.get_person(session=session, person_id=family_id)
    if family is None or family.id is None or family.role != Role.FAMILY:
        return None
    if not authorize(session=session, actor=coordinator, action=Action.VIEW_FAMILY, family_id=family_id, now=now):
        return None
    shown = (QuestionState.ACTIVE, QuestionState.SUGGESTED)
    questions = store.family_questions(session=session, family_id=family_id, states=shown)
    answers = {q.id: answers_over_time(session, q.id) for q in questions if q.id is not None}
    meeting = store.next_meeting(session=session, family_id=family_id)
    if meeting is None and family.consent_at is not None:
        meeting = plan_meeting(session=session, family=family, now=now)
    return Workspace(
        family=family,
        questions=questions,
        answers=answers,
        help=help_lines(session=session, questions=questions, zone=family.timezone),
        plan=store.get_plan(session=session, family_id=family_id),
        meeting=meeting,
    )


@dataclass(frozen=True)
class LinkChoices:
    """An open question, the family's recent requests and open matches, each with whether it is linked."""

    question: FamilyQuestion
    requests: list[tuple[HelpRequest, bool]]
    matches: list[tuple[Match, str, bool]]  # the match, its label, linked


def link_choices(
    *, session: Session, coordinator: Person | None, question_id: int, now: datetime
) -> LinkChoices | None:
    """The help a coordinator may link to an open question; None when refused."""
    question = store.get_question(session=session, question_id=question_id)
    if question is None or question.state != QuestionState.ACTIVE or question.id is None:
        return None
    if not authorize(
        session=session, actor=coordinator, action=Action.ACT_FOR_FAMILY, family_id=question.family_id, now=now
    ):
        return None
    links = store.links_of(session=session, question_ids=[question.id])[question.id]
    linked = {(item.kind, item.ref_id) for item in links}
    requests = linkable_requests(session=session, family_id=question.family_id)
    matches = linkable_matches(session=session, family_id=question.family_id)
    zone = services_zone(session, question.family_id)
    return LinkChoices(
        question=question,
        requests=[(request, ("request", request.id) in linked) for request in requests],
        matches=[
            (
                match,
                link_label(session=session, kind="match", ref_id=match.id or 0, zone=zone),
                ("match", match.id) in linked,
            )
            for match in matches
        ],
    )


def services_zone(session: Session, family_id: int) -> str:
    """The family's time zone (for the words of its help)."""
    family = people.get_person(session=session, person_id=family_id)
    return family.timezone if family is not None else "Europe/Amsterdam"


def meeting_decisions(
    *, session: Session, coordinator: Person | None, meeting_id: int, now: datetime
) -> tuple[CaseworkMeeting, list[Outgoing]] | None:
    """A meeting still to record and a decision message for each open decision of its family; None when refused."""
    meeting = meeting_for(session=session, coordinator=coordinator, meeting_id=meeting_id, now=now)
    if meeting is None or meeting.held_at is not None:
        return None
    family = people.get_person(session=session, person_id=meeting.family_id)
    if family is None:
        return None
    messages = []
    for decision in store.family_decisions(session=session, family_id=meeting.family_id, open_only=True):
        question = store.get_question(session=session, question_id=decision.question_id)
        if question is not None and question.state == QuestionState.ACTIVE:
            messages.append(decision_message(session, family, question, decision))
    return meeting, messages


JOBS: dict[str, JobHandler] = {AGENDA_JOB: agenda_job}
