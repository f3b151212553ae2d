"""What the workspace's volunteers page and figures page show, gathered for the templates: reads only.

As `web.pages`: texts in the current language (set by the caller with `use_language`), plain values escaped
by the templates. The figures are the same published numbers as /stats and /export (`services.insight`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, datetime

from domain.insight import anonymous_table, published_series
from services import insight, match_figures, question_figures
from services.approvals import overview
from services.context import Services
from services.i18n import _, format_day, is_rtl
from services.labels import name_of
from services.workspace import scope, volunteer_load
from storage.db import Session
from storage.models import Person
from web import charts


@dataclass(frozen=True)
class HelperRow:
    """An approved volunteer on the volunteers page: the weekly cap, paused until when, the load chart."""

    name: str
    cap: int
    paused_until: str
    over: bool
    chart: charts.Chart
    team: str = ""


@dataclass(frozen=True)
class VolunteerPage:
    """Volunteers waiting for intake (with what they offer), VOGs soon to stop counting, the approved count,
    who is paused, and each approved volunteer's load per week."""

    waiting: list[tuple[int, str, str, str]]  # (id, name, what they offer, team name for admins)
    expiring: list[tuple[str, str]]
    approved: int
    paused: int
    paused_names: list[tuple[str, str]] = field(default_factory=list)
    load: list[HelperRow] = field(default_factory=list)
    weeks: int = 0


def week_label(monday: date, language: str) -> tuple[str, str]:
    """An ISO week as (its readout heading, its short label): ('week 49, from 30 November', 'w49')."""
    number = monday.isocalendar().week
    heading = _("week {number}, from {day}").format(number=number, day=format_day(monday, language))
    return heading, _("w{number}").format(number=number)


def _load_chart(index: int, name: str, cap: int, weeks: list[tuple[date, int, int]], language: str) -> charts.Chart:
    """One volunteer's weeks as stacked bars (tasks, match times) with their weekly cap as a dashed line."""
    labels = [week_label(monday, language) for monday, _tasks, _visits in weeks]
    return charts.bar_chart(
        key=f"load-{index}",
        title=_("Load per week of {name}").format(name=name),
        headings=[heading for heading, _short in labels],
        labels=[short for _heading, short in labels],
        series=[("tasks", _("Tasks accepted")), ("visits", _("Match times"))],
        values=[[str(tasks), str(visits)] for _monday, tasks, visits in weeks],
        stacked=True,
        cap=cap,
        cap_label=_("At most {count} a week").format(count=cap),
        rtl=is_rtl(language),
    )


def volunteer_page(*, session: Session, services: Services, coordinator: Person, now: datetime) -> VolunteerPage | None:
    """The volunteers page (as /volunteers, with who is paused and the load per week), or None for someone
    who may not approve volunteers. A coordinator sees their own team's volunteers; an admin every team's,
    each with the team's name."""
    seen = overview(session=session, services=services, person=coordinator, now=now)
    if seen is None:
        return None
    language = coordinator.language
    team = scope(session=session, coordinator=coordinator)
    load = volunteer_load(session=session, services=services, coordinator=coordinator, now=now)
    helpers = [helper for helper in (load.helpers if load else []) if team.shows(helper.person.team_id)]
    paused = [(person, until) for person, until in (load.paused if load else []) if team.shows(person.team_id)]
    rows = []
    for index, helper in enumerate(helpers):
        name = name_of(helper.person)
        weeks = [(week.monday, week.tasks, week.visits) for week in helper.weeks]
        rows.append(
            HelperRow(
                name=name,
                cap=helper.cap,
                paused_until=format_day(helper.paused_until, language) if helper.paused_until else "",
                over=helper.over,
                chart=_load_chart(index, name, helper.cap, weeks, language),
                team=team.name(helper.person.team_id),
            )
        )
    return VolunteerPage(
        waiting=[
            (w.person.id or 0, name_of(w.person), w.skills, team.name(w.person.team_id))
            for w in seen.waiting
            if team.shows(w.person.team_id)
        ],
        expiring=[
            (name_of(person), format_day(until, language))
            for person, until in seen.expiring
            if team.shows(person.team_id)
        ],
        approved=len(helpers) if load else seen.approved,
        paused=len(paused) if load else seen.paused,
        paused_names=[(name_of(person), format_day(until, language)) for person, until in paused],
        load=rows,
        weeks=len(load.weeks) if load else 0,
    )


PERIODS = ("week", "4w", "quarter")


def figures(
    *, session: Session, services: Services, coordinator: Person, period: str, export: bool, now: datetime
) -> insight.Figures | None:
    """The anonymous figures of a preset period, as /stats computes them (audited), or None for a bad period."""
    chosen = insight.preset_period(period, services=services, now=now) if period in PERIODS else None
    if chosen is None:
        return None
    return insight.figures_for(
        session=session, services=services, coordinator=coordinator, period=chosen, export=export, now=now
    )


@dataclass(frozen=True)
class FigureSection:
    """A heading and its figures, drawn as bars."""

    key: str
    title: str
    levels: list[charts.Level]


@dataclass(frozen=True)
class FiguresView:
    """The figures page: the weekly charts (answers, requests) and the sections of figures, as /stats."""

    weekly: list[charts.Chart]
    sections: list[FigureSection]


def figures_view(found: insight.Figures) -> FiguresView:
    """The same published numbers as /stats and /export, as charts: the weekly answers and requests (the
    table's weekly rows; the accepted as the /export report draws them) and every figure as a bar."""
    language, threshold = found.language, found.threshold
    table = anonymous_table(found.figures, threshold)
    weeks = found.figures.weeks
    by_week: dict[tuple[str, str, str], str] = {(r.metric, r.category, r.week): r.value for r in table}
    _answers, _asked, accepted = published_series(found.figures, threshold)
    labels = [week_label(week, language) for week in weeks]
    headings, shorts = [h for h, _s in labels], [s for _h, s in labels]
    kinds = list(insight.ANSWER_NAMES)
    answers = charts.bar_chart(
        key="answers",
        title=_("Check-in answers per week"),
        headings=headings,
        labels=shorts,
        series=[(f"k-{kind}", _(insight.ANSWER_NAMES[kind])) for kind in kinds],
        values=[
            [by_week.get(("checkin_answers_by_week", kind, week.isoformat()), "0") for kind in kinds] for week in weeks
        ],
        threshold=threshold,
        rtl=is_rtl(language),
    )
    requests = charts.bar_chart(
        key="requests",
        title=_("Help requests per week"),
        headings=headings,
        labels=shorts,
        series=[("asked", _("Asked")), ("accepted", _("Accepted"))],
        values=[
            [by_week.get(("requests_by_week", "", week.isoformat()), "0"), _published(value, threshold)]
            for week, value in zip(weeks, accepted, strict=True)
        ],
        threshold=threshold,
        rtl=is_rtl(language),
    )
    sections = [
        FigureSection(
            "general", _("Families, requests and concerns"), charts.levels(insight.figure_rows(table), threshold)
        )
    ]
    if found.questions:
        rows = question_figures.row_lines(list(found.questions))
        sections.append(FigureSection("questions", _("The families' own questions"), charts.levels(rows, threshold)))
    if found.matches:
        rows = match_figures.row_lines(list(found.matches))
        sections.append(FigureSection("matches", _("Lasting matches"), charts.levels(rows, threshold)))
    return FiguresView([answers, requests], sections)


def _published(value: float, threshold: int) -> str:
    """A series value as the figures publish it: the count, or '<5' when it is suppressed."""
    return f"<{threshold}" if math.isnan(value) else f"{value:g}"
