"""Coordinator insight, the rules: anonymous figures of a period, /stats and /export, and the weekly digest.

Figures come from `domain.insight` (small counts suppressed) over facts read by `storage.insight`; the texts
are written in the reader's language, the charts are data (`services.charts`) drawn by whoever sends them.

The weekly digest is scheduled work: one `insight.digest` row a week, keyed by the ISO week of its Monday,
so it is written once per week across restarts and DST; the job writes the outbox rows (the chart as a
sendPhoto row that carries the chart's figures, `services.outbox.chart_upload`) and schedules the next
week's. Drawing takes a while (matplotlib), so no transaction waits for it: the sender draws when it sends,
and /digest draws after its transaction.
"""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_date

from domain import insight as rules
from services import charts, digest_sections, match_figures, question_figures
from services.callbacks import Button
from services.context import JobHandler, Services
from services.i18n import N_, _, h, hi, ngettext, use_language
from services.labels import name_of
from services.logs import event
from services.outbox import Outgoing, ToPerson, chart_upload, enqueue
from services.permissions import Action, authorize, team_scope
from services.tasks import KIND_LABELS
from storage import insight as store
from storage import job_store, people, teams
from storage.db import Session
from storage.models import Person

logger = logging.getLogger(__name__)

JOB = "insight.digest"
# The two commands a period is chosen for, by their code in the buttons.
COMMANDS = {"st": "stats", "ex": "export"}
# in:p:<st|ex>:<week|4w|quarter> a period chosen; in:c:<st|ex> 'Other dates…'
PERIOD = Button("in", "p", str, str)
OTHER_DATES = Button("in", "c", str)

ANSWER_NAMES = {
    "good": N_("Good"),
    "so_so": N_("So-so"),
    "not_good": N_("Not good"),
    "talk": N_("Wants to talk"),
    "none": N_("No answer"),
}
METRIC_LABELS = {
    "families_active": N_("Families active"),
    "checkins_sent": N_("Check-ins sent"),
    "checkins_answered": N_("Check-ins answered"),
    "requests": N_("Help requests"),
    "requests_accepted": N_("Requests accepted"),
    "requests_accepted_share": N_("Share of requests accepted"),
    "median_minutes_to_accept": N_("Median time to accept"),
    "tasks_done": N_("Tasks done"),
    "concerns": N_("Concerns raised"),
    "median_minutes_to_acknowledge": N_("Median time to acknowledge a concern"),
    "volunteers_active": N_("Volunteers active"),
    "hours_given": N_("Hours given by volunteers"),
}
DURATIONS = ("median_minutes_to_accept", "median_minutes_to_acknowledge")
WITHHELD = "—"


# --- figures ---------------------------------------------------------------------------------------


def period_text(period: rules.Period, language: str) -> str:
    """'1 September 2026 to 30 November 2026' in the language given."""

    def day(value: Any) -> str:
        """A day, long, in the language given."""
        return str(format_date(value, format="long", locale=language))

    return _("{start} to {end}").format(start=day(period.start), end=day(period.end))


def duration_text(minutes: int) -> str:
    """A median time: minutes, hours and minutes, or days and hours."""
    if minutes < 60:
        return _("{minutes} min").format(minutes=minutes)
    if minutes < 48 * 60:
        return _("{hours} h {minutes} min").format(hours=minutes // 60, minutes=minutes % 60)
    return _("{days} d {hours} h").format(days=minutes // (24 * 60), hours=(minutes // 60) % 24)


def _value(row: rules.Row) -> str:
    """A figure's value as shown (withheld, a duration, or the count)."""
    if row.value == "":
        return WITHHELD
    if row.metric in DURATIONS and row.value.isdigit():
        return duration_text(int(row.value))
    return row.value


def figure_rows(table: Sequence[rules.Row]) -> list[tuple[str, str]]:
    """The anonymous table as (label, value) lines in the current language (weekly rows left to the chart)."""
    lines: list[tuple[str, str]] = []
    for row in table:
        if row.metric in METRIC_LABELS:
            lines.append((_(METRIC_LABELS[row.metric]), _value(row)))
        elif row.metric == "checkin_answers":
            name = _(ANSWER_NAMES[row.category]) if row.category in ANSWER_NAMES else row.category
            lines.append(("   " + _("Answers: {kind}").format(kind=name), _value(row)))
        elif row.metric == "requests_by_kind":
            kind = _(KIND_LABELS[row.category]) if row.category in KIND_LABELS else row.category
            lines.append(("   " + _("Requests: {kind}").format(kind=kind), _value(row)))
    # Keep the order of the figures list in the docs: answers under check-ins, kinds under requests.
    return lines


def compute(
    *, session: Session, services: Services, period: rules.Period, family_ids: Sequence[int] | None = None
) -> rules.Figures:
    """The figures of a period (of some families, or of all)."""
    zone = services.settings.timezone
    start, end = period.bounds(zone)
    return rules.compute_figures(
        period=period,
        checkins=store.checkin_facts(session=session, start=start, end=end, family_ids=family_ids),
        requests=store.request_facts(session=session, start=start, end=end, family_ids=family_ids),
        concerns=store.concern_facts(session=session, start=start, end=end, family_ids=family_ids),
        zone=zone,
    )


def suppression_note(threshold: int) -> str:
    """How small counts are hidden, said under every table of figures."""
    return _(
        "Anonymous: no names, no messages, no ids. Counts from 1 to {below} are shown as <{threshold}; "
        "{withheld} means a median, share or sum based on fewer than {threshold} cases."
    ).format(below=threshold - 1, threshold=threshold, withheld=WITHHELD)


TEAM_METRICS = ("families_active", "checkins_answered", "requests", "concerns")


def team_rows(per_team: Sequence[tuple[str, rules.Figures]], threshold: int) -> list[rules.Row]:
    """The all-teams split for admins: a few counts per team (the team's name as category), small ones hidden."""
    return [
        rules.Row(f"team_{metric}", name, "", rules.shown(getattr(figures, metric), threshold))
        for name, figures in per_team
        for metric in TEAM_METRICS
    ]


def team_lines(per_team: Sequence[tuple[str, rules.Figures]], threshold: int) -> list[str]:
    """The all-teams split as lines: one per team."""
    return [
        _(
            "{team}: {families} families active, {answered} check-ins answered, {requests} requests, "
            "{concerns} concerns"
        ).format(
            team=hi(name),
            families=hi(rules.shown(figures.families_active, threshold)),
            answered=hi(rules.shown(figures.checkins_answered, threshold)),
            requests=hi(rules.shown(figures.requests, threshold)),
            concerns=hi(rules.shown(figures.concerns, threshold)),
        )
        for name, figures in per_team
    ]


def stats_text(
    figures: rules.Figures,
    threshold: int,
    language: str,
    questions: Sequence[rules.Row] = (),
    matches: Sequence[rules.Row] = (),
    per_team: Sequence[tuple[str, rules.Figures]] = (),
    team: str | None = None,
) -> str:
    """/stats: the figures of a period as one HTML message (the families' questions after the rest)."""
    with use_language(language):
        lines = [
            _("<b>Figures, {period}</b>").format(period=h(period_text(figures.period, language))),
            _("Families of the team {team}.").format(team=hi(team)) if team else _("Families of all teams."),
            "",
        ]
        for label, value in figure_rows(rules.anonymous_table(figures, threshold)):
            lines.append(f"{h(label)}: <b>{hi(value)}</b>")
        if questions:
            lines += ["", _("<b>The families' own questions</b>")]
            for label, value in question_figures.row_lines(list(questions)):
                lines.append(f"{h(label)}: <b>{hi(value)}</b>")
        if matches:
            lines += ["", _("<b>Lasting matches</b>")]
            for label, value in match_figures.row_lines(list(matches)):
                lines.append(f"{h(label)}: <b>{hi(value)}</b>")
        if per_team:
            lines += ["", _("<b>Per team</b>")]
            lines += [f"• {line}" for line in team_lines(per_team, threshold)]
        lines += ["", "<i>" + h(suppression_note(threshold)) + "</i>"]
    return "\n".join(lines)


def csv_bytes(table: Sequence[rules.Row]) -> bytes:
    """metric, category, week, value: machine names only, so any spreadsheet or script can read it."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["metric", "category", "week", "value"])
    for row in table:
        writer.writerow([row.metric, row.category, row.week, row.value])
    return buffer.getvalue().encode("utf-8")


def chart_texts(language: str, weeks: Sequence[Any], *, title: str, threshold: int | None) -> charts.ChartTexts:
    """The words on a weekly chart, in the chart's language."""
    chart_language = charts.chart_language(language)
    with use_language(chart_language):
        return charts.ChartTexts(
            title=title,
            answers_title=_("Check-in answers per week"),
            requests_title=_("Help requests per week"),
            kinds={kind: _(label) for kind, label in ANSWER_NAMES.items()},
            asked=_("Asked"),
            accepted=_("Accepted"),
            weeks=[format_date(week, format="d MMM", locale=chart_language) for week in weeks],
            band=_("Fewer than {threshold}: not shown").format(threshold=threshold) if threshold else None,
        )


def report_png(figures: rules.Figures, threshold: int, language: str) -> bytes:
    """/export's one-page PNG report (slow: draw it outside any transaction)."""
    table = rules.anonymous_table(figures, threshold)
    answers, asked, accepted = rules.published_series(figures, threshold)
    chart_language = charts.chart_language(language)
    with use_language(chart_language):
        title = _("Waakvlam: anonymous figures")
        subtitle = period_text(figures.period, chart_language)
        rows = figure_rows(table)
        footer = suppression_note(threshold)
    return charts.report_page(
        title=title,
        subtitle=subtitle,
        rows=rows,
        texts=chart_texts(language, figures.weeks, title=title, threshold=threshold),
        data=charts.ChartData(answers=answers, asked=asked, accepted=accepted, threshold=threshold),
        footer=footer,
    )


def may_see_figures(*, session: Session, person_id: int) -> Person | None:
    """The person asking for figures or the digest, fresh from the database, if a signed-up coordinator."""
    person = people.get_person(session=session, person_id=person_id)
    if person is None or person.consent_at is None:
        return None
    decision = authorize(session=session, actor=person, action=Action.SEE_INSIGHT, audit=False)
    return person if decision else None


# --- /stats and /export ---------------------------------------------------------------------------


def today(services: Services, now: datetime) -> date:
    """The local date (the project's time zone), for reading typed and preset periods."""
    return now.astimezone(ZoneInfo(services.settings.timezone)).date()


def preset_period(kind: str, *, services: Services, now: datetime) -> rules.Period | None:
    """A period button's period (this week, the last 4 weeks, this quarter), or None for a forged one."""
    return rules.preset(kind, today(services, now))


def typed_period(text: str, *, services: Services, now: datetime) -> rules.Period | None:
    """A period typed after /stats or /export, or in 'Other dates…' (None when unreadable)."""
    return rules.parse_period(text, today(services, now))


@dataclass(frozen=True)
class Figures:
    """The figures of a period for one coordinator: /stats shows `text`, /export sends `csv` and draws a report."""

    figures: rules.Figures
    threshold: int
    language: str
    # The evaluation figures of the families' own questions (`services.question_figures`).
    questions: tuple[rules.Row, ...] = ()
    # The evaluation figures of lasting matches (`services.match_figures`).
    matches: tuple[rules.Row, ...] = ()
    # For an admin: a few counts of each team; for a coordinator: the name of their team.
    per_team: tuple[tuple[str, rules.Figures], ...] = ()
    team: str | None = None

    @property
    def period(self) -> rules.Period:
        """The period the figures are of."""
        return self.figures.period

    @property
    def text(self) -> str:
        """/stats: the figures as a message."""
        return stats_text(
            self.figures, self.threshold, self.language, self.questions, self.matches, self.per_team, self.team
        )

    @property
    def csv(self) -> bytes:
        """/export: the anonymous table as CSV."""
        table = [*rules.anonymous_table(self.figures, self.threshold), *self.questions, *self.matches]
        return csv_bytes([*table, *team_rows(self.per_team, self.threshold)])

    @property
    def caption(self) -> str:
        """/export: the report's caption."""
        return _("Anonymous figures, {period}.").format(period=h(period_text(self.period, self.language)))

    def report(self) -> bytes:
        """/export: the one-page PNG report (slow: call it off the loop, outside any transaction)."""
        return report_png(self.figures, self.threshold, self.language)


def figures_for(
    *, session: Session, services: Services, coordinator: Person, period: rules.Period, export: bool, now: datetime
) -> Figures:
    """A coordinator looks at (or exports) the anonymous figures of a period: computed and audited.

    A coordinator gets their own team's families only; an admin all teams, with a few counts per team."""
    scope = team_scope(coordinator)
    family_ids = store.team_family_ids(session=session, team_id=scope) if scope is not None else None
    figures = compute(session=session, services=services, period=period, family_ids=family_ids)
    start, end = period.bounds(services.settings.timezone)
    threshold = services.settings.insight_min_count
    questions = question_figures.rows(
        session=session,
        start=start,
        end=end,
        zone=services.settings.timezone,
        threshold=threshold,
        family_ids=family_ids,
    )
    matches = match_figures.rows(session=session, start=start, end=end, threshold=threshold, family_ids=family_ids)
    per_team: list[tuple[str, rules.Figures]] = []
    if scope is None:
        for team in teams.all_teams(session=session):
            ids = store.team_family_ids(session=session, team_id=team.id or 0)
            per_team.append((team.name, compute(session=session, services=services, period=period, family_ids=ids)))
    own = teams.get_team(session=session, team_id=scope) if scope is not None else None
    people.audit(
        session=session,
        actor_id=coordinator.id,
        action="figures_exported" if export else "figures_viewed",
        subject_id=None,
        now=now,
        period=period.key(),
    )
    return Figures(
        figures=figures,
        threshold=threshold,
        language=coordinator.language,
        questions=tuple(questions),
        matches=tuple(matches),
        per_team=tuple(per_team),
        team=own.name if own is not None else None,
    )


# --- the weekly digest ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Digest:
    """A coordinator's weekly picture: the HTML text, the chart (data; `.png()` draws it) and its caption."""

    text: str
    chart: charts.WeeklyChart
    caption: str


def digest_families(session: Session, coordinator: Person) -> list[int]:
    """The families of a coordinator's digest: their own (primary or partner) and their team's with nobody yet.

    An admin's digest names the families with nobody yet of every team."""
    assert coordinator.id is not None
    scope = team_scope(coordinator)
    own = store.coordinator_family_ids(session=session, coordinator_id=coordinator.id)
    if scope is not None:
        own = [fid for fid in own if teams.team_of_family(session=session, family_id=fid) == scope]
    return sorted(set(own) | set(store.unassigned_family_ids(session=session, team_id=scope)))


def digest(*, session: Session, services: Services, coordinator: Person, now: datetime) -> Digest:
    """The coordinator's weekly picture in their language; the chart is data, drawn after the transaction."""
    language = coordinator.language
    families = digest_families(session, coordinator)
    names: dict[int | None, str] = {
        person.id: name_of(person)
        for person in (people.get_person(session=session, person_id=fid) for fid in families)
        if person is not None
    }
    week = digest_sections.Week(
        session=session,
        services=services,
        families=families,
        names=names,
        now=now,
        language=language,
        team_id=team_scope(coordinator),
    )
    monday = rules.week_of(today(services, now))
    weeks = services.settings.insight_digest_weeks
    with use_language(language):
        text = digest_sections.digest_text(week, monday)
        caption = ngettext(
            "Check-in answers and help requests of your families, the last {count} week.",
            "Check-in answers and help requests of your families, the last {count} weeks.",
            weeks,
        ).format(count=weeks)
    # The last complete weeks: on Monday morning the new week has barely begun.
    period = rules.Period(monday - timedelta(days=7 * weeks), monday - timedelta(days=1))
    figures = compute(session=session, services=services, period=period, family_ids=families)
    exact, asked, accepted = rules.exact_series(figures)
    with use_language(charts.chart_language(language)):
        title = _("Your families, the last weeks")
    chart = charts.WeeklyChart(
        texts=chart_texts(language, figures.weeks, title=title, threshold=None),
        data=charts.ChartData(answers=exact, asked=asked, accepted=accepted),
    )
    return Digest(text=text, chart=chart, caption=caption)


def open_digest(*, session: Session, services: Services, coordinator: Person, now: datetime) -> Digest:
    """/digest: this week's picture now, for the coordinator asking (audited)."""
    picture = digest(session=session, services=services, coordinator=coordinator, now=now)
    people.audit(session=session, actor_id=coordinator.id, action="digest_opened", subject_id=None, now=now)
    return picture


def schedule_digest(*, session: Session, services: Services, after: datetime, now: datetime) -> datetime | None:
    """The next Monday-morning digest (once per ISO week, whoever schedules it, however often)."""
    settings = services.settings
    if not settings.insight_digest_enabled:
        return None
    zone = settings.timezone
    due = rules.next_digest_at(after, at=settings.insight_digest_at, zone=zone)
    job_store.schedule_job(
        session=session, kind=JOB, due_at=due, dedupe_key=f"{JOB}:{rules.week_key(due, zone)}", now=now
    )
    return due


def ensure_digest(services: Services) -> None:
    """At start: make sure the next digest is scheduled (a no-op when it already is)."""
    now = services.clock.now()
    with services.db.session() as session:
        schedule_digest(session=session, services=services, after=now, now=now)


def digest_job(*, session: Session, job: Any, services: Services, now: datetime) -> None:
    """`insight.digest`: every coordinator's weekly picture into the outbox, then next week's job."""
    if not services.settings.insight_digest_enabled:
        return
    week = rules.week_key(job.due_at, services.settings.timezone)
    sent = 0
    for coordinator in store.digest_recipients(session=session):
        assert coordinator.id is not None and coordinator.telegram_id is not None
        picture = digest(session=session, services=services, coordinator=coordinator, now=now)
        to = ToPerson(coordinator)
        key = f"digest:{week}:{coordinator.id}"
        enqueue(session=session, to=to, message=Outgoing(text=picture.text, purpose="digest"), key=key, now=now)
        photo = Outgoing(
            text=h(picture.caption),
            method="sendPhoto",
            extra=chart_upload("photo", picture.chart.to_json(), f"waakvlam-{week}.png"),
            purpose="digest",
        )
        enqueue(session=session, to=to, message=photo, key=f"{key}:chart", now=now)
        sent += 1
    schedule_digest(session=session, services=services, after=max(now, job.due_at), now=now)
    event(logger, "insight.digest", week=week, coordinators=sent)


JOBS: dict[str, JobHandler] = {JOB: digest_job}
