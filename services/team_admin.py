"""Teams, for admins (`Action.MANAGE_TEAMS`): the list, a new team, who works where, moving a coordinator,
referrer or family to another team (the history follows), and a team's own office hours and escalation wait.

Every button is checked again here, whatever it says: callback data can be forged. A moved coordinator's
families stay with their team (their duo partner there becomes the primary, or nobody); a moved family keeps
its timeline, loses coordinators who are not in the new team, and the new team's coordinators are told.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time

from domain import names
from domain.permissions import Decision
from domain.times import parse_window
from services.callbacks import Button
from services.checkins import weekday_name
from services.concerns import policy
from services.context import Services
from services.i18n import _, h, hi, ngettext
from services.labels import name_of
from services.outbox import tell
from services.permissions import Action, authorize
from storage import care, people, teams
from storage.case_tables import Team
from storage.db import Session, reread
from storage.models import Person, Role

LIST = Button("tm", "list")
NEW = Button("tm", "new")  # asks the new team's name
OPEN = Button("tm", "open", int)  # tm:open:<team>
MOVE = Button("tm", "mv", int)  # tm:mv:<coordinator or referrer>: choose the team
MOVE_TO = Button("tm", "to", int, int)  # tm:to:<person>:<team>
FAMILY_MOVE = Button("tm", "fmv", int)  # from the family card: choose the team
FAMILY_TO = Button("tm", "fto", int, int)  # tm:fto:<family>:<team>
HOURS = Button("tm", "hrs", int)  # a team's office hours and escalation wait
DAYS = Button("tm", "days", int, str)  # tm:days:<team>:<preset>
TIMES = Button("tm", "time", int)  # asks the typed hours
WAIT = Button("tm", "wait", int, int)  # tm:wait:<team>:<minutes>
DEFAULTS = Button("tm", "dflt", int)  # back to the deployment's settings

MAX_NAME = 64
DAY_PRESETS = {"wk": "0,1,2,3,4", "six": "0,1,2,3,4,5", "all": "0,1,2,3,4,5,6"}
WAITS = (15, 30, 60, 120)


def may_manage(*, session: Session, person: Person | None, now: datetime, family_id: int | None = None) -> Decision:
    """May this person manage teams? Audited (every button asks again)."""
    return authorize(session=session, actor=person, action=Action.MANAGE_TEAMS, now=now, family_id=family_id)


@dataclass(frozen=True)
class TeamLine:
    """One team in /teams: its counts."""

    team_id: int
    name: str
    coordinators: int
    referrers: int
    families: int


@dataclass(frozen=True)
class TeamList:
    decision: Decision
    teams: list[TeamLine] = field(default_factory=list)


def team_list(*, session: Session, person: Person | None, now: datetime) -> TeamList:
    """Every team with how many coordinators, referrers and families it has (admins only)."""
    decision = may_manage(session=session, person=person, now=now)
    if not decision:
        return TeamList(decision)
    lines = []
    for team in teams.all_teams(session=session):
        assert team.id is not None
        members = teams.members(session=session, team_id=team.id)
        lines.append(
            TeamLine(
                team.id,
                team.name,
                sum(1 for m in members if m.role == Role.COORDINATOR),
                sum(1 for m in members if m.role == Role.REFERRER),
                teams.family_count(session=session, team_id=team.id),
            )
        )
    return TeamList(decision, lines)


@dataclass(frozen=True)
class Created:
    decision: Decision
    name: str | None = None
    unreadable: bool = False
    taken: bool = False


def create_team(*, session: Session, person: Person | None, typed: str, now: datetime) -> Created:
    """A new team by the typed name (cleaned; names are unique without case)."""
    decision = may_manage(session=session, person=person, now=now)
    if not decision:
        return Created(decision)
    name = names.clean_name(typed, max_length=MAX_NAME)
    if name is None:
        return Created(decision, unreadable=True)
    if teams.team_by_name(session=session, name=name) is not None:
        return Created(decision, name, taken=True)
    team = teams.create_team(session=session, name=name, now=now)
    people.audit(
        session=session, actor_id=person.id if person else None, action="team_created", subject_id=team.id, now=now
    )
    return Created(decision, name)


@dataclass(frozen=True)
class Member:
    person_id: int
    name: str
    role: str


@dataclass(frozen=True)
class TeamView:
    decision: Decision
    team: Team | None = None
    members: list[Member] = field(default_factory=list)
    families: int = 0


def team_view(*, session: Session, person: Person | None, team_id: int, now: datetime) -> TeamView:
    """A team's coordinators and referrers (each can be moved), and how many families it has."""
    decision = may_manage(session=session, person=person, now=now)
    team = teams.get_team(session=session, team_id=team_id) if decision else None
    if team is None:
        return TeamView(decision)
    members = [
        Member(m.id, name_of(m), str(m.role))
        for m in teams.members(session=session, team_id=team_id)
        if m.id is not None
    ]
    return TeamView(decision, team, members, teams.family_count(session=session, team_id=team_id))


@dataclass(frozen=True)
class Choices:
    """Where a person or family could go: every other team."""

    decision: Decision
    name: str | None = None  # None: no such person (a stale or forged button)
    current: str = ""
    teams: list[tuple[int, str]] = field(default_factory=list)


def _other_teams(session: Session, current: int | None) -> list[tuple[int, str]]:
    """Every team but the current one, as (id, name): where a person or family may move to."""
    return [(t.id, t.name) for t in teams.all_teams(session=session) if t.id is not None and t.id != current]


def _team_name(session: Session, team_id: int | None) -> str:
    """A team's name, or '?' when there is no such team."""
    team = teams.get_team(session=session, team_id=team_id)
    return team.name if team is not None else "?"


def _movable(session: Session, person_id: int, family: bool) -> Person | None:
    """The person behind a move button: a family (for the family buttons) or a coordinator or referrer."""
    found = people.get_person(session=session, person_id=person_id)
    if found is None or found.consent_at is None or found.telegram_id is None:
        return None
    if family:
        return (
            found
            if found.role == Role.FAMILY and care.get_family_profile(session=session, family_id=person_id)
            else None
        )
    return found if found.role in (Role.COORDINATOR, Role.REFERRER) else None


def _move_allowed(
    session: Session, person: Person | None, person_id: int, family: bool, now: datetime
) -> tuple[Decision, Person | None]:
    """Whether this person may move others (audited), and the one to move when they may and it still exists."""
    decision = may_manage(session=session, person=person, now=now, family_id=person_id if family else None)
    return decision, (_movable(session, person_id, family) if decision else None)


def _audit_moved(
    session: Session, person: Person | None, subject_id: int, old: int | None, new: int, now: datetime, **extra: int
) -> None:
    """The audit entry of a move to another team: from where to where, and what went along."""
    people.audit(
        session=session,
        actor_id=person.id if person else None,
        action="team_moved",
        subject_id=subject_id,
        now=now,
        **{"from": old, "to": new, **extra},
    )


def move_choices(*, session: Session, person: Person | None, person_id: int, family: bool, now: datetime) -> Choices:
    """The teams a coordinator, referrer or family may be moved to."""
    decision, moved = _move_allowed(session, person, person_id, family, now)
    if moved is None:
        return Choices(decision)
    current = teams.team_of_family(session=session, family_id=person_id) if family else moved.team_id
    return Choices(decision, name_of(moved), _team_name(session, current), _other_teams(session, current))


@dataclass(frozen=True)
class Moved:
    decision: Decision
    name: str | None = None  # None: stale (no such person or team)
    team: str = ""
    changed: bool = False  # False: already in that team


def move_person(
    *, session: Session, services: Services, person: Person | None, person_id: int, team_id: int, now: datetime
) -> Moved:
    """Move a coordinator or referrer to another team; a coordinator's families stay with the old team."""
    decision, moved = _move_allowed(session, person, person_id, False, now)
    team = teams.get_team(session=session, team_id=team_id) if moved is not None else None
    if moved is None or team is None or team.id is None:
        return Moved(decision)
    old = moved.team_id
    if old == team.id:
        return Moved(decision, name_of(moved), team.name)
    handed: list[int] = []
    if moved.role == Role.COORDINATOR:
        handed = teams.release_coordinator(session=session, coordinator_id=person_id)
    teams.set_person_team(session=session, person_id=person_id, team_id=team.id)
    for family_id in handed:
        people.add_timeline(
            session=session, family_id=family_id, kind="coordinator_left_team", now=now, actor_id=person_id
        )
    _audit_moved(session, person, person_id, old, team.id, now, families_handed=len(handed))
    team_name = team.name
    tell(
        session=session,
        person=moved,
        key=f"team_moved:{person_id}:{team.id}:{now:%Y%m%d%H%M%S}",
        now=now,
        text=lambda: _("An admin moved you to the team {team}.").format(team=hi(team_name)),
    )
    return Moved(decision, name_of(moved), team.name, changed=True)


def move_family(
    *, session: Session, services: Services, person: Person | None, family_id: int, team_id: int, now: datetime
) -> Moved:
    """Move a family to another team: the timeline says so, coordinators of the old team let go, the new team told."""
    decision, family = _move_allowed(session, person, family_id, True, now)
    team = teams.get_team(session=session, team_id=team_id) if family is not None else None
    if family is None or team is None or team.id is None:
        return Moved(decision)
    old = teams.team_of_family(session=session, family_id=family_id)
    if old == team.id:
        return Moved(decision, name_of(family), team.name)
    teams.set_person_team(session=session, person_id=family_id, team_id=team.id)
    cleared = teams.keep_coordinators_in_team(session=session, family_id=family_id, team_id=team.id)
    # The family's topic was in the old team's group; the next message opens one in the new team's group.
    care.drop_topic(session=session, family_id=family_id)
    people.add_timeline(
        session=session,
        family_id=family_id,
        kind="team_moved",
        now=now,
        actor_id=person.id if person else None,
        **{"from": old, "to": team.id},
    )
    _audit_moved(session, person, family_id, old, team.id, now, coordinators_cleared=cleared)
    family_name, team_name = name_of(family), team.name
    for coordinator in people.coordinators(session=session, team_id=team.id):
        if coordinator.id == (person.id if person else None):
            continue
        tell(
            session=session,
            person=coordinator,
            key=f"team_moved:{family_id}:{team.id}:{coordinator.id}:{now:%Y%m%d%H%M%S}",
            now=now,
            text=lambda: _(
                "The family {name} has moved to your team {team}. Send /families to find it and take it on."
            ).format(name=hi(family_name), team=hi(team_name)),
        )
    return Moved(decision, family_name, team.name, changed=True)


# --- office hours ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Hours:
    decision: Decision
    team: Team | None = None
    text: str = ""


def hours_text(services: Services, team: Team, language: str) -> str:
    """The team's office days, hours and escalation wait, saying which come from the deployment's settings."""
    pol = policy(services, team)
    days = ", ".join(weekday_name(day, language, "abbreviated") for day in pol.office_days)
    minutes = int(pol.wait_office.total_seconds() // 60)
    own = team.office_days is not None or team.office_start is not None or team.escalation_wait_office_minutes
    lines = [
        _("<b>Office hours of {team}</b>").format(team=hi(team.name)),
        _("Days: {days}").format(days=h(days)),
        _("Hours: {start} to {end}").format(start=h(f"{pol.office_start:%H:%M}"), end=h(f"{pol.office_end:%H:%M}")),
        ngettext(
            "In office hours a concern waits {count} minute for a coordinator before it moves on.",
            "In office hours a concern waits {count} minutes for a coordinator before it moves on.",
            minutes,
        ).format(count=hi(minutes)),
        _("Set for this team.") if own else _("These are the deployment's settings; this team has none of its own."),
    ]
    return "\n".join(lines)


def _hours_team(session: Session, person: Person | None, team_id: int, now: datetime) -> tuple[Decision, Team | None]:
    """Whether the person may change office hours, and the team when they may (None when gone or refused)."""
    decision = may_manage(session=session, person=person, now=now)
    return decision, (teams.get_team(session=session, team_id=team_id) if decision else None)


def show_hours(*, session: Session, services: Services, person: Person | None, team_id: int, now: datetime) -> Hours:
    """A team's office hours, for the admin to change."""
    decision, team = _hours_team(session, person, team_id, now)
    if team is None or person is None:
        return Hours(decision)
    return Hours(decision, team, hours_text(services, team, person.language))


def change_hours(
    *,
    session: Session,
    services: Services,
    person: Person | None,
    team_id: int,
    now: datetime,
    days: str | None = None,
    wait: int | None = None,
    window: tuple[time, time] | None = None,
    defaults: bool = False,
) -> Hours:
    """Change one of the team's office settings (a day preset, the wait, the hours, or all back to the defaults)."""
    decision, team = _hours_team(session, person, team_id, now)
    if team is None or team.id is None or person is None:
        return Hours(decision)
    if days is not None and days not in DAY_PRESETS:
        return Hours(decision)
    if wait is not None and wait not in WAITS:
        return Hours(decision)
    values = {
        "office_days": team.office_days,
        "office_start": team.office_start,
        "office_end": team.office_end,
        "wait_minutes": team.escalation_wait_office_minutes,
    }
    if defaults:
        values = dict.fromkeys(values)
    if days is not None:
        values["office_days"] = DAY_PRESETS[days]
    if wait is not None:
        values["wait_minutes"] = float(wait)
    if window is not None:
        values["office_start"], values["office_end"] = window
    teams.set_office_hours(session=session, team_id=team.id, **values)  # type: ignore[arg-type]
    reread(session=session, row=team)
    people.audit(
        session=session,
        actor_id=person.id,
        action="team_hours_set",
        subject_id=team.id,
        now=now,
        days=values["office_days"],
        start=str(values["office_start"]) if values["office_start"] else None,
        end=str(values["office_end"]) if values["office_end"] else None,
        wait=values["wait_minutes"],
    )
    return Hours(decision, team, hours_text(services, team, person.language))


def read_hours(typed: str) -> tuple[time, time] | None:
    """Typed office hours such as "08:30-17:00": the start and end on one day, else None."""
    window = parse_window(typed)
    if window is None or window.end is None or window.next_day or window.end <= window.start:
        return None
    return window.start, window.end
