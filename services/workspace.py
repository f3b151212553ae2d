"""The coordinators' workspace (web/): who may sign in with a checked Mini App initData, and who stays in;
and what its pages read that no other service gathers: a family's lasting matches with their visit log, the
approved volunteers' load per week, which team's families and volunteers a coordinator's lists show (their
own team's; admins every team's, with the team's name), the waiting list with the days waited, and whether a
coordinator may approve a volunteer of a team.

The signature and age of the initData are checked in `web.auth` (it is Telegram's format); here the rest:
each initData is used once (a replay is refused), the person must be a signed-up coordinator (the same
`services.permissions` decision as the chat's coordinator commands), and the sign-in is audited.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from domain import cases as case_rules
from domain import insight as insight_rules
from domain import matches as match_rules
from domain.matches import Outcome
from services.approvals import approved_volunteers
from services.cases import typical_wait
from services.context import Services
from services.i18n import _, format_day, format_when
from services.labels import name_of
from services.match_texts import FEELINGS, OUTCOME_LABELS, STOP_LABELS, rhythm_of, rhythm_text, state_label
from services.match_texts import kind_label as match_kind_label
from services.permissions import Action, authorize
from services.request_basics import local_today
from services.volunteers import is_paused
from storage import cases as case_store
from storage import matches as match_store
from storage import people, rights, teams
from storage import workspace as store
from storage.db import Session
from storage.models import Person, Role


class SignIn(StrEnum):
    OK = "ok"
    REPLAYED = "replayed"
    NOT_COORDINATOR = "not_coordinator"


@dataclass(frozen=True)
class SignedIn:
    """The outcome of a sign-in, with the coordinator when it is OK."""

    outcome: SignIn
    coordinator: Person | None = None


def coordinator(*, session: Session, person: Person | None, now: datetime) -> Person | None:
    """The person, fresh, when a signed-up coordinator (a refusal is audited)."""
    fresh = people.get_person(session=session, person_id=person.id) if person and person.id else None
    if fresh is None or fresh.role != Role.COORDINATOR:
        if fresh is not None:
            authorize(session=session, actor=fresh, action=Action.LIST_FAMILIES, now=now, audit="refused")
        return None
    if not authorize(session=session, actor=fresh, action=Action.LIST_FAMILIES, now=now, audit="refused"):
        return None
    return fresh


def sign_in(*, session: Session, telegram_id: int, digest: str, now: datetime, forget_before: datetime) -> SignedIn:
    """A checked initData: used once, for a coordinator only; the sign-in is audited."""
    if not store.use_once(session=session, digest=digest, now=now, forget_before=forget_before):
        return SignedIn(SignIn.REPLAYED)
    found = coordinator(
        session=session, person=people.get_person_by_telegram_id(session=session, telegram_id=telegram_id), now=now
    )
    if found is None:
        return SignedIn(SignIn.NOT_COORDINATOR)
    people.audit(session=session, actor_id=found.id, action="workspace_opened", subject_id=None, now=now)
    return SignedIn(SignIn.OK, found)


# --- a family's lasting matches and their visit log -----------------------------------------------

VISITS_SHOWN = 12
# The visit log's counts: held, missed, difficult.
COUNTED = (Outcome.HAPPENED, Outcome.DIDNT, Outcome.DIFFICULT)


@dataclass(frozen=True)
class Visit:
    """One time of a match that is past and logged: its day, what became of it, and the family's feeling."""

    day: str
    outcome: str  # domain.matches.Outcome
    label: str
    feeling: str = ""  # only for a coordinator who may manage the family's matches


@dataclass(frozen=True)
class MatchView:
    """A lasting match as the family's page shows it: words only, in the reader's language."""

    id: int
    helper: str
    state: str  # domain.matches.MatchState
    state_label: str
    kind: str
    rhythm: str
    trial_end: str
    next_time: str
    end_reason: str
    visits: list[Visit]
    counts: list[tuple[str, str, int]]  # (outcome, label, how many) for held, missed, difficult


def family_matches(
    *, session: Session, services: Services, coordinator: Person, family_id: int, now: datetime
) -> list[MatchView]:
    """The family's lasting matches (open ones first) with their visit log, for a coordinator who may see
    the family (checked, not audited again: opening the page is). The family's feeling about a time is shown
    only to those who may manage its matches (its duo); nobody's free text is on the page."""
    if not authorize(session=session, actor=coordinator, action=Action.VIEW_FAMILY, family_id=family_id, audit=False):
        return []
    manages = bool(
        authorize(session=session, actor=coordinator, action=Action.MANAGE_MATCHES, family_id=family_id, audit=False)
    )
    language, zone = coordinator.language, services.settings.timezone
    found = [
        m
        for m in match_store.matches_of(session=session, person_id=family_id, open_only=False)
        if m.family_id == family_id and m.id is not None
    ]
    found.sort(key=lambda m: (m.state not in match_store.OPEN, -(m.id or 0)))
    views = []
    for match in found:
        assert match.id is not None
        helper = people.get_person(session=session, person_id=match.helper_id)
        logged = [o for o in match_store.occurrences(session=session, match_id=match.id) if o.outcome]
        following = match_store.next_occurrence(session=session, match_id=match.id, now=now)
        running = match.state in match_rules.RUNNING_STATES
        visits = [
            Visit(
                day=format_day(o.day, language),
                outcome=o.outcome or "",
                label=_(OUTCOME_LABELS[o.outcome]) if o.outcome in OUTCOME_LABELS else (o.outcome or ""),
                feeling=_(FEELINGS[o.family_feeling]) if manages and o.family_feeling in FEELINGS else "",
            )
            for o in reversed(logged[-VISITS_SHOWN:])
        ]
        counts = [(str(kind), _(OUTCOME_LABELS[kind]), sum(1 for o in logged if o.outcome == kind)) for kind in COUNTED]
        views.append(
            MatchView(
                id=match.id,
                helper=name_of(helper),
                state=match.state,
                state_label=state_label(match.state),
                kind=match_kind_label(match.kind),
                rhythm=rhythm_text(rhythm_of(match), language),
                trial_end=format_day(match.trial_end, language),
                next_time=format_when(following.starts_at, zone, language) if following and running else "",
                end_reason=_(STOP_LABELS[match.end_reason]) if match.end_reason in STOP_LABELS else "",
                visits=visits,
                counts=counts,
            )
        )
    return views


# --- the volunteers' load per week ----------------------------------------------------------------

LOAD_WEEKS = 6


@dataclass(frozen=True)
class WeekLoad:
    """One ISO week of a volunteer: the tasks accepted for it and the times of lasting matches in it."""

    monday: date
    tasks: int
    visits: int

    @property
    def total(self) -> int:
        """Tasks and match times together."""
        return self.tasks + self.visits


@dataclass(frozen=True)
class HelperLoad:
    """An approved volunteer's weeks, against the most requests a week they said they want (weekly_cap)."""

    person: Person
    cap: int
    paused_until: date | None
    weeks: list[WeekLoad]

    @property
    def over(self) -> bool:
        """Whether any week had more than the cap."""
        return any(week.total > self.cap for week in self.weeks)


@dataclass(frozen=True)
class Load:
    """The last weeks (Mondays, oldest first), every approved volunteer's load, and who is paused until when."""

    weeks: list[date]
    helpers: list[HelperLoad] = field(default_factory=list)
    paused: list[tuple[Person, date]] = field(default_factory=list)


def volunteer_load(
    *, session: Session, services: Services, coordinator: Person, now: datetime, weeks: int = LOAD_WEEKS
) -> Load | None:
    """Per approved volunteer, per local ISO week of the last `weeks` (this one included): tasks accepted and
    match times; and the paused volunteers. None for someone who may not see volunteers (as /volunteers)."""
    approved = approved_volunteers(session=session, person=coordinator, now=now)
    if approved is None:
        return None
    _coordinator, helpers = approved
    zone = services.settings.timezone
    today = local_today(services, now)
    this_monday = insight_rules.week_of(today)
    mondays = [this_monday - timedelta(days=7 * back) for back in reversed(range(weeks))]
    start = datetime.combine(mondays[0], time(0), tzinfo=ZoneInfo(zone)).astimezone(UTC)
    end = datetime.combine(this_monday + timedelta(days=7), time(0), tzinfo=ZoneInfo(zone)).astimezone(UTC)
    ids = [person.id for person, _profile in helpers if person.id is not None]
    tasks: Counter[tuple[int, date]] = Counter()
    for who, when in store.accepted_tasks_between(session=session, volunteer_ids=ids, start=start, end=end):
        tasks[(who, insight_rules.week_of(insight_rules.local_date(when, zone)))] += 1
    visits: Counter[tuple[int, date]] = Counter()
    for who, when in store.helper_times_between(session=session, helper_ids=ids, start=start, end=end):
        visits[(who, insight_rules.week_of(insight_rules.local_date(when, zone)))] += 1
    rows = [
        HelperLoad(
            person=person,
            cap=profile.weekly_cap,
            paused_until=profile.paused_until if is_paused(profile, today) else None,
            weeks=[WeekLoad(m, tasks[(person.id or 0, m)], visits[(person.id or 0, m)]) for m in mondays],
        )
        for person, profile in helpers
    ]
    paused = [(row.person, row.paused_until) for row in rows if row.paused_until is not None]
    return Load(weeks=mondays, helpers=rows, paused=paused)


# --- teams: whose families and volunteers a coordinator's lists show -----------------------------


@dataclass(frozen=True)
class Scope:
    """The team a coordinator's lists show (None: every team, for admins) and the teams' names to show."""

    team_id: int | None
    names: dict[int, str]

    def shows(self, team_id: int | None) -> bool:
        """Whether a family or volunteer of this team is in the coordinator's lists."""
        return self.team_id is None or team_id == self.team_id

    def name(self, team_id: int | None) -> str:
        """The team's name where every team is shown (admins), else ''."""
        return self.names.get(team_id or 0, "") if self.team_id is None else ""


def scope(*, session: Session, coordinator: Person) -> Scope:
    """An admin's lists show every team (with each one's name); anyone else's only their own team."""
    if coordinator.is_admin:
        return Scope(None, {team.id or 0: team.name for team in teams.all_teams(session=session)})
    return Scope(coordinator.team_id if coordinator.team_id is not None else -1, {})


def may_approve(*, session: Session, coordinator: Person, volunteer_id: int, now: datetime) -> bool:
    """Whether the coordinator may approve this volunteer: one of their own team's (admins: any), audited
    when refused, with the same rule book as the chat."""
    facts = rights.volunteer_facts(session=session, volunteer_id=volunteer_id)
    return bool(
        authorize(
            session=session, actor=coordinator, action=Action.APPROVE_VOLUNTEER, facts=facts, now=now, audit="refused"
        )
    )


# --- the waiting list -----------------------------------------------------------------------------


@dataclass(frozen=True)
class WaitingRow:
    """A waiting family: how long it has waited, whether longer than the team accepts, and its team's name
    (shown to admins only)."""

    family_id: int
    name: str
    days: int
    too_long: bool
    team: str


@dataclass(frozen=True)
class WaitingList:
    """The waiting families, longest waiting first; how long families usually waited (weeks, None: too few
    to say); and the days after which a wait is too long."""

    rows: list[WaitingRow]
    usual_weeks: int | None
    limit_days: int


def waiting_list(*, session: Session, services: Services, coordinator: Person, now: datetime) -> WaitingList | None:
    """The coordinator's team's waiting families in order, as /waiting (admins: every team's, each named);
    None for someone who may not see the waiting list."""
    if not authorize(session=session, actor=coordinator, action=Action.SEE_WAITING_LIST, now=now, audit="refused"):
        return None
    seen = scope(session=session, coordinator=coordinator)
    limit_days = services.settings.waiting_digest_days
    limit = timedelta(days=limit_days)
    rows = [
        WaitingRow(
            family_id=item.family_id,
            name=item.name or "?",
            days=(now - item.since).days if item.since is not None else 0,
            too_long=case_rules.waiting_too_long(item.since, now, limit),
            team=seen.name(item.team_id),
        )
        for item in case_store.waiting(session=session, team_id=seen.team_id)
    ]
    usual = typical_wait(session=session, team_id=seen.team_id, now=now)
    weeks = max(1, round(usual.days / 7)) if usual is not None else None
    return WaitingList(rows, weeks, limit_days)
