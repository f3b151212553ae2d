"""What the workspace pages show, gathered for the templates: reads only; every change goes through a service.

Texts come out in the current language (the coordinator's, set by the caller with `use_language`); values
are plain text, escaped by the templates (Jinja2 autoescape). Telegram-HTML lines from the services (the
casework agenda) are turned into plain text first.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from domain import cases as case_rules
from domain import questions as question_rules
from domain.checkins import Answer, Rhythm
from domain.questions import QuestionState, ReviewAnswer
from services import casework
from services.case_texts import CLOSE_REASON_LABELS, MOVE_LABELS, STATE_LABELS, step_line
from services.checkins import RHYTHM_BUTTONS, answer_label
from services.concerns import target_label
from services.context import Services
from services.family_card import families_of, timeline_lines
from services.i18n import _, format_day, format_stamp, format_when, is_rtl
from services.labels import name_of
from services.permissions import Action, authorize
from services.question_reviews import CAUSE_LABELS, DECISION_LABELS, REASON_LABELS, cause_text
from services.questions import request_status_label, theme_label
from services.request_basics import local_today
from services.tasks import kind_label
from services.workspace import MatchView, family_matches, scope
from storage import care, people
from storage import cases as case_store
from storage import concerns as concern_store
from storage import questions as question_store
from storage import requests as request_store
from storage.db import Session
from storage.models import Concern, Person

_TAG = re.compile(r"<[^>]+>")
# The check-in chart: answers as heights (talk lowest: the family asked for a person).
SCORES = {Answer.GOOD: 3, Answer.SO_SO: 2, Answer.NOT_GOOD: 1, Answer.TALK: 0}
MEETING_SOON_DAYS = 7


def plain(telegram_html: str) -> str:
    """A Telegram-HTML line as plain text (tags dropped, entities read back), to be escaped again when shown."""
    return html.unescape(_TAG.sub("", telegram_html))


# --- the list of families -------------------------------------------------------------------------


@dataclass(frozen=True)
class FamilyRow:
    """One family in the list, with why it needs attention (empty: nothing pressing), its case state and
    since when (and the days waited, on the waiting list), and its team's name (for admins only)."""

    id: int
    name: str
    area: str
    reasons: list[str]
    state: str = ""
    state_label: str = ""
    since: str = ""
    waited: int | None = None
    team: str = ""
    since_at: datetime | None = None


def _attention(session: Session, family: Person, today: date) -> list[str]:
    """Why a family needs attention now: open concerns, missed check-ins, 'no' reviews, a meeting due."""
    assert family.id is not None
    reasons = []
    if concern_store.open_concerns(session=session, family_id=family.id, limit=1):
        reasons.append(_("Open concern"))
    profile = care.get_family_profile(session=session, family_id=family.id)
    if profile is not None and profile.missed_checkins > 0:
        reasons.append(_("Missed check-ins"))
    for question in question_store.family_questions(
        session=session, family_id=family.id, states=(QuestionState.ACTIVE,)
    ):
        answered = [r for r in question_store.reviews_of(session=session, question_id=question.id or 0) if r.answer]
        if answered and answered[-1].answer == ReviewAnswer.NO:
            reasons.append(_("Review answered 'no'"))
            break
    meeting = question_store.next_meeting(session=session, family_id=family.id)
    if meeting is not None and meeting.meeting_on <= today + timedelta(days=MEETING_SOON_DAYS):
        reasons.append(_("Casework meeting due"))
    return reasons


@dataclass(frozen=True)
class FamilyList:
    """The families a coordinator sees, filtered, and the areas and case states to filter by."""

    rows: list[FamilyRow]
    areas: list[tuple[int, str]]
    area: int | None
    attention: bool
    states: list[tuple[str, str]] = field(default_factory=list)
    state: str = ""
    teams: bool = False  # every team is listed (an admin): each row names its team


def state_options() -> list[tuple[str, str]]:
    """The case states to filter by, in lifecycle order, with their labels (current language)."""
    return [(str(state), _(STATE_LABELS[state])) for state in case_rules.STATES]


def _local_day(moment: datetime | None, zone: str, language: str) -> str:
    """A moment's local day in words, or ''."""
    return format_day(moment.astimezone(ZoneInfo(zone)).date(), language) if moment is not None else ""


def family_list(
    *,
    session: Session,
    services: Services,
    coordinator: Person,
    area: int | None,
    attention: bool,
    now: datetime,
    state: str = "",
) -> FamilyList:
    """The coordinator's families (as /families lists them, of their own team only; admins every team's,
    named), by area, case state and 'needs attention' when asked. Filtered on the waiting list, the longest
    waiting come first, with the days waited."""
    listed = families_of(session=session, coordinator=coordinator, now=now)
    seen = scope(session=session, coordinator=coordinator)
    today = local_today(services, now)
    language, zone = coordinator.language, services.settings.timezone
    areas = {a.id or 0: a.name for a in people.active_areas(session=session, team_id=seen.team_id)}
    wanted = state if state in set(case_rules.CaseState) else ""
    rows = []
    for _name, family_id in listed.names:
        family = people.get_person(session=session, person_id=family_id)
        profile = care.get_family_profile(session=session, family_id=family_id)
        if family is None or profile is None or not seen.shows(profile.team_id):
            continue
        if area is not None and profile.area_id != area:
            continue
        current = case_rules.state_of(profile.case_state)
        if wanted and current != wanted:
            continue
        reasons = _attention(session, family, today)
        if attention and not reasons:
            continue
        since = profile.case_since
        waiting = current == case_rules.CaseState.WAITING and since is not None
        rows.append(
            FamilyRow(
                family_id,
                name_of(family),
                areas.get(profile.area_id or 0, ""),
                reasons,
                state=str(current),
                state_label=_(STATE_LABELS[current]),
                since=_local_day(since, zone, language),
                waited=(now - since).days if waiting and since is not None else None,
                team=seen.name(profile.team_id),
                since_at=since,
            )
        )
    if wanted == case_rules.CaseState.WAITING:
        rows.sort(key=lambda row: (row.since_at or now, row.id))
    return FamilyList(
        rows,
        sorted(areas.items(), key=lambda item: item[1]),
        area,
        attention,
        states=state_options(),
        state=wanted,
        teams=seen.team_id is None,
    )


# --- a family's page ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Point:
    """One check-in on the chart: where it is drawn, and what it says."""

    x: float
    y: float
    label: str
    day: str = ""

    @property
    def text(self) -> str:
        """What the chart's readout says for this check-in: its day and the answer."""
        return _("{day}: {answer}").format(day=self.day, answer=self.label) if self.day else self.label


@dataclass(frozen=True)
class ConcernItem:
    """A concern as the page shows it: kinds and dates only, never what anyone wrote."""

    id: int
    opened: str
    urgent: bool
    status: str
    claimed_by: str
    steps: list[str]
    takeable: bool


@dataclass(frozen=True)
class QuestionItem:
    """One of the family's own questions, with its review answers over time and the help linked to it."""

    text: str
    theme: str
    state: str
    answers: str
    help: list[str]


@dataclass(frozen=True)
class DecisionItem:
    """An open decision (continue, change, stop) about a question, with the choices the form offers."""

    id: int
    question: str
    cause: str
    choices: list[tuple[str, str, list[tuple[str, str]]]]  # (decision, label, [(reason, label)])


@dataclass(frozen=True)
class TalkItem:
    """An intake talk: when (local time), and whether it was held."""

    id: int
    when: str
    held: bool


@dataclass
class CaseView:
    """The family's case: its state and since when, its steps (from → to, the reason of a closing), its intake
    talks, and what the coordinator may do now (the changes that may follow, closing with a reason from the
    list, planning a talk) when they may move the case (its duo; anyone of its team while nobody is assigned)."""

    state: str
    label: str
    since: str
    steps: list[str]
    talks: list[TalkItem]
    may_move: bool
    moves: list[tuple[str, str]] = field(default_factory=list)  # (target state, button label)
    reasons: list[tuple[str, str]] = field(default_factory=list)  # (closing reason, label)
    may_plan: bool = False


@dataclass
class FamilyPage:
    """Everything on a family's page."""

    id: int
    name: str
    area: str
    language: str
    rhythm: str
    rhythms: list[tuple[str, str]]
    questions: list[QuestionItem] = field(default_factory=list)
    decisions: list[DecisionItem] = field(default_factory=list)
    requests: list[tuple[str, str, str, str]] = field(default_factory=list)  # (kind, when, status, helper)
    matches: list[MatchView] = field(default_factory=list)
    chart: list[Point] = field(default_factory=list)
    rtl: bool = False
    concerns: list[ConcernItem] = field(default_factory=list)
    timeline: list[str] = field(default_factory=list)
    meeting: str | None = None
    agenda: list[str] = field(default_factory=list)
    case: CaseView | None = None
    team: str = ""


def _concern_item(session: Session, concern: Concern, zone: str, language: str) -> ConcernItem:
    """A concern with its escalation steps (to whom and when), who took it, and whether it can be taken."""
    assert concern.id is not None
    steps = [
        _("{when}: to {whom}").format(when=format_stamp(step.at, zone, language), whom=plain(target_label(step.target)))
        for step in concern_store.escalation_steps(session=session, concern_id=concern.id)
    ]
    claimer = people.get_person(session=session, person_id=concern.claimed_by_id) if concern.claimed_by_id else None
    return ConcernItem(
        id=concern.id,
        opened=format_stamp(concern.created_at, zone, language),
        urgent=concern.urgent,
        status=_("closed") if concern.closed_at else (_("taken") if claimer else _("open")),
        claimed_by=name_of(claimer) if claimer else "",
        steps=steps,
        takeable=concern.closed_at is None and claimer is None,
    )


def _chart(session: Session, family_id: int, language: str, zone: str, rtl: bool) -> list[Point]:
    """The last twelve answered check-ins as points of a 0..100 by 0..30 chart, oldest first (left, or right
    when the page reads right to left)."""
    answered = [
        c for c in reversed(care.recent_checkins(session=session, family_id=family_id, limit=12)) if c.answer in SCORES
    ]
    if not answered:
        return []
    step = 100 / max(len(answered) - 1, 1)
    return [
        Point(
            round(100 - i * step if rtl else i * step, 1),
            30 - SCORES[Answer(c.answer or "")] * 9 - 2,
            answer_label(c.answer),
            format_stamp(c.answered_at or c.due_at, zone, language),
        )
        for i, c in enumerate(answered)
    ]


def _decisions(session: Session, family_id: int) -> list[DecisionItem]:
    """The family's open decisions with every (decision, reason) pair the rules allow."""
    items = []
    for decision in question_store.family_decisions(session=session, family_id=family_id, open_only=True):
        question = question_store.get_question(session=session, question_id=decision.question_id)
        if question is None or question.state != QuestionState.ACTIVE or decision.id is None:
            continue
        choices = [
            (str(choice), _(DECISION_LABELS[choice]), [(str(r), _(REASON_LABELS[r])) for r in reasons])
            for choice, reasons in question_rules.REASONS_FOR.items()
        ]
        cause = cause_text(decision.cause) if decision.cause in CAUSE_LABELS else ""
        items.append(DecisionItem(decision.id, question.text, cause, choices))
    return items


def case_view(
    *, session: Session, services: Services, coordinator: Person, family_id: int, now: datetime
) -> CaseView | None:
    """The family's case as its page shows it (rights over the page are checked by the caller; whether the
    coordinator may move the case is asked here, not audited: pressing a button is checked and audited again)."""
    profile = care.get_family_profile(session=session, family_id=family_id)
    if profile is None:
        return None
    language, zone = coordinator.language, services.settings.timezone
    state = case_rules.state_of(profile.case_state)
    may_move = bool(
        authorize(session=session, actor=coordinator, action=Action.MOVE_CASE, family_id=family_id, audit=False)
    )
    view = CaseView(
        state=str(state),
        label=_(STATE_LABELS[state]),
        since=_local_day(profile.case_since, zone, language),
        steps=[
            plain(step_line(step, zone, language)) for step in case_store.steps(session=session, family_id=family_id)
        ],
        talks=[
            TalkItem(talk.id or 0, format_when(talk.planned_at, zone, language), talk.held_at is not None)
            for talk in case_store.talks(session=session, family_id=family_id)
        ],
        may_move=may_move,
    )
    if may_move:
        view.moves = [
            (str(target), _(MOVE_LABELS.get((state, target), MOVE_LABELS[(None, target)])))
            for target in case_rules.next_states(state)
        ]
        view.reasons = [(key, _(CLOSE_REASON_LABELS[key])) for key in case_rules.CLOSE_REASONS]
        view.may_plan = state in (case_rules.CaseState.REFERRED, case_rules.CaseState.INTAKE)
    return view


def _helper_name(session: Session, volunteer_id: int | None) -> str:
    """The name of the volunteer who took a request, or ''."""
    helper = people.get_person(session=session, person_id=volunteer_id) if volunteer_id else None
    return name_of(helper) if helper else ""


def family_page(
    *, session: Session, services: Services, coordinator: Person, family_id: int, now: datetime
) -> FamilyPage | None:
    """The family's page for one of its coordinators (rights checked and audited by the services), or None."""
    work = casework.workspace(session=session, coordinator=coordinator, family_id=family_id, now=now)
    profile = care.get_family_profile(session=session, family_id=family_id)
    if work is None or profile is None:
        return None
    family, language, zone = work.family, coordinator.language, services.settings.timezone
    area = people.get_area(session=session, area_id=profile.area_id) if profile.area_id else None
    page = FamilyPage(
        id=family_id,
        name=name_of(family),
        area=area.name if area else "",
        language=family.language,
        rhythm=profile.checkin_rhythm,
        rhythms=[(str(r), _(RHYTHM_BUTTONS[r])) for r in Rhythm],
        rtl=is_rtl(language),
    )
    page.case = case_view(session=session, services=services, coordinator=coordinator, family_id=family_id, now=now)
    page.team = scope(session=session, coordinator=coordinator).name(profile.team_id)
    page.questions = [
        QuestionItem(
            text=q.text,
            theme=theme_label(q.theme) if q.theme else "",
            state=_("suggested, waiting for the family") if q.state == QuestionState.SUGGESTED else "",
            answers=work.answers.get(q.id or 0, ""),
            help=[f"{line.label}" for line in work.help.get(q.id or 0, [])],
        )
        for q in work.questions
    ]
    page.decisions = _decisions(session, family_id)
    page.requests = [
        (
            kind_label(r.kind),
            format_stamp(r.starts_at, zone, language) if r.starts_at else "",
            request_status_label(r.status),
            _helper_name(session, r.assigned_volunteer_id),
        )
        for r in request_store.family_requests(session=session, family_id=family_id, limit=10)
    ]
    page.matches = family_matches(
        session=session, services=services, coordinator=coordinator, family_id=family_id, now=now
    )
    page.chart = _chart(session, family_id, language, zone, page.rtl)
    page.concerns = [
        _concern_item(session, c, zone, language)
        for c in concern_store.concerns_of(session=session, family_id=family_id)
    ]
    events = care.timeline(session=session, family_id=family_id, limit=30)
    page.timeline = [plain(line) for line in timeline_lines(events=events, language=language, zone=zone)]
    if work.meeting is not None:
        page.meeting = format_day(work.meeting.meeting_on, language)
        lines = casework.agenda_lines(session=session, family=family, meeting=work.meeting, now=now)
        page.agenda = [plain(line) for line in lines[1:] if line.strip()]
    return page
