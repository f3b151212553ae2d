"""Coordinator insight: the weekly digest, /digest, /stats and /export of anonymous figures.

The family card with its timeline lives in `conversations.checkins` (/families → a family).

* **/digest** (and every Monday morning, in each coordinator's language): families whose answers got worse,
  families with no contact, requests nobody took, concerns still open and VOGs that will soon stop
  counting, with one chart of the last weeks' check-in answers and requests of the coordinator's families.
* **/stats** and **/export** for a period (buttons: this week, the last 4 weeks, this quarter, other dates):
  anonymous figures with small counts suppressed (`domain.insight`); the export is a CSV file and a
  one-page PNG report. No names, no free text, no ids.

The weekly digest is scheduled work: one `insight.digest` row a week, keyed by the ISO week of its Monday,
so it is written once per week across restarts and DST; the job writes the outbox rows and schedules the
next week's. The chart goes through the outbox as a sendPhoto row that carries the chart's figures and
labels (`services.outbox.chart_upload`), taken in the job's transaction, so the picture is of that Monday
morning whenever the sender gets to it; the sender draws the PNG from them in a worker thread when it
sends. Drawing takes a while (matplotlib), and no transaction is held meanwhile: the tick's job
transaction (SQLite's write lock) stays as short as the database work. /digest, too, draws outside
its transaction.
"""

from __future__ import annotations

import asyncio
import csv
import io
import logging
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_date
from telegram import InputFile, Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, MessageHandler, filters

from conversations import concerns, menu
from conversations.context import BotContext
from conversations.dialogue import END, STAY, Dialogue
from conversations.ui import answer_button, answer_stale, callback, keyboard, parse_callback, reply, retire_buttons
from domain import insight as rules
from domain import volunteers as volunteer_rules
from services import charts, matching
from services.context import JobHandler, Services
from services.i18n import N_, _, format_day, h, hi, ngettext, use_language
from services.logs import event
from services.outbox import chart_upload
from services.permissions import Action, authorize
from storage import delivery, people
from storage import insight as store
from storage.db import Session
from storage.models import Person, Role

logger = logging.getLogger(__name__)

PREFIX = "in"  # in:p:<st|ex>:<period> a period chosen; in:c:<st|ex> other dates
DIALOGUE = "insight_dates"
DATES = "dates"
JOB = "insight.digest"
LIST_LIMIT = 10
COMMANDS = {"st": "stats", "ex": "export"}

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


# --- settings and small helpers -------------------------------------------------------------------


def _zone(services: Services) -> str:
    return services.settings.timezone


def _threshold(services: Services) -> int:
    return services.settings.insight_min_count


def _today(services: Services, now: datetime) -> Any:
    return now.astimezone(ZoneInfo(_zone(services))).date()


def _may_use(session: Session, person: Person | None) -> Person | None:
    """The acting person, fresh from the database, if a signed-up coordinator."""
    fresh = people.get_person(session=session, person_id=person.id) if person and person.id else None
    if fresh is None or fresh.consent_at is None:
        return None
    decision = authorize(session=session, actor=fresh, action=Action.SEE_INSIGHT, audit=False)
    return fresh if decision else None


def period_text(period: rules.Period, language: str) -> str:
    def day(value: Any) -> str:
        return str(format_date(value, format="long", locale=language))

    return _("{start} to {end}").format(start=day(period.start), end=day(period.end))


def duration_text(minutes: int) -> str:
    if minutes < 60:
        return _("{minutes} min").format(minutes=minutes)
    if minutes < 48 * 60:
        return _("{hours} h {minutes} min").format(hours=minutes // 60, minutes=minutes % 60)
    return _("{days} d {hours} h").format(days=minutes // (24 * 60), hours=(minutes // 60) % 24)


def _value(row: rules.Row) -> str:
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
            kind = _(matching.KIND_LABELS[row.category]) if row.category in matching.KIND_LABELS else row.category
            lines.append(("   " + _("Requests: {kind}").format(kind=kind), _value(row)))
    # Keep the order of the figures list in the docs: answers under check-ins, kinds under requests.
    return lines


def compute(
    session: Session, services: Services, period: rules.Period, family_ids: Sequence[int] | None = None
) -> rules.Figures:
    start, end = period.bounds(_zone(services))
    return rules.compute_figures(
        period=period,
        checkins=store.checkin_facts(session=session, start=start, end=end, family_ids=family_ids),
        requests=store.request_facts(session=session, start=start, end=end, family_ids=family_ids),
        concerns=store.concern_facts(session=session, start=start, end=end, family_ids=family_ids),
        zone=_zone(services),
    )


def suppression_note(threshold: int) -> str:
    return _(
        "Anonymous: no names, no messages, no ids. Counts from 1 to {below} are shown as <{threshold}; "
        "{withheld} means a median, share or sum based on fewer than {threshold} cases."
    ).format(below=threshold - 1, threshold=threshold, withheld=WITHHELD)


def stats_text(figures: rules.Figures, threshold: int, language: str) -> str:
    with use_language(language):
        lines = [
            _("<b>Figures, {period}</b>").format(period=h(period_text(figures.period, language))),
            "",
        ]
        for label, value in figure_rows(rules.anonymous_table(figures, threshold)):
            lines.append(f"{h(label)}: <b>{hi(value)}</b>")
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


# --- the weekly digest ----------------------------------------------------------------------------


def digest_families(session: Session, coordinator: Person) -> list[int]:
    """The families a coordinator may see: their own (primary or partner) and those with nobody yet."""
    assert coordinator.id is not None
    own = store.coordinator_family_ids(session=session, coordinator_id=coordinator.id)
    return sorted(set(own) | set(store.unassigned_family_ids(session=session)))


def _bullets(lines: list[str], items: Sequence[str]) -> None:
    lines.extend(f"• {item}" for item in items[:LIST_LIMIT])
    if len(items) > LIST_LIMIT:
        more = len(items) - LIST_LIMIT
        lines.append(ngettext("… and {count} more", "… and {count} more", more).format(count=hi(more)))


def digest(
    session: Session, services: Services, coordinator: Person, now: datetime
) -> tuple[str, charts.WeeklyChart, str]:
    """The coordinator's weekly picture: (HTML text, chart, chart caption), in their language.

    The chart is data (drawn with `.png()`), so the caller draws it after its transaction."""
    settings = services.settings
    language = coordinator.language
    zone = _zone(services)
    today = _today(services, now)
    families = digest_families(session, coordinator)
    week_ago = now - timedelta(days=7)
    answers = store.answered_checkins(session=session, family_ids=families, since=now - timedelta(weeks=6))
    names = {
        person.id: concerns.name_of(person)
        for person in (people.get_person(session=session, person_id=fid) for fid in families)
        if person is not None
    }
    cutoff = volunteer_rules.vog_cutoff(
        today=today + timedelta(days=settings.vog_warn_days), years=settings.vog_valid_years
    )
    with use_language(language):
        worse = []
        for family_id, given in answers.items():
            kinds = [answer for answer, _at in given]
            if rules.is_worsening(kinds, latest_at=given[-1][1], since=week_ago):
                trend = " → ".join(concerns.ANSWER_EMOJI.get(kind, "·") for kind in kinds[-4:])
                worse.append(f"{hi(names.get(family_id, '?'))}: {trend}")
        silent = [
            hi(concerns.name_of(person))
            for person in store.no_contact_families(
                session=session, family_ids=families, missed_threshold=settings.checkin_missed_threshold
            )
        ]
        untaken = [
            _("{family}: {what}, asked {day}").format(
                family=hi(names.get(request.family_id, "?")),
                what=h(matching.kind_label(request.kind)),
                day=h(format_day(rules.local_date(request.created_at, zone), language)),
            )
            for request in store.open_requests_of(session=session, family_ids=families, limit=50)
        ]
        still_open = []
        for concern in store.open_concerns_of(session=session, family_ids=families, limit=50):
            taker = (
                people.get_person(session=session, person_id=concern.claimed_by_id) if concern.claimed_by_id else None
            )
            state = (
                _("taken by {name}").format(name=hi(concerns.name_of(taker)))
                if taker is not None
                else _("nobody took it yet")
            )
            still_open.append(
                _("{family}: since {day}, {state}").format(
                    family=hi(names.get(concern.family_id or 0, "?")),
                    day=h(format_day(rules.local_date(concern.created_at, zone), language)),
                    state=state,
                )
            )
        vogs = [
            _("{name}: counts until {day}").format(
                name=hi(concerns.name_of(person)),
                day=h(format_day(volunteer_rules.vog_expires_on(vog_date, settings.vog_valid_years), language)),
            )
            for person, vog_date in store.vog_expiring(session=session, cutoff=cutoff, limit=50)
        ]
        week = rules.week_of(today)
        lines = [
            _("<b>Your weekly picture</b>, week of {day}").format(day=h(format_day(week, language))),
        ]
        sections = [
            ("📉", _("Answers got worse"), worse),
            ("🔕", _("No contact"), silent),
            ("🙋", _("Requests nobody took"), untaken),
            ("⚠️", _("Concerns still open"), still_open),
            ("📄", _("VOG soon too old for tasks with children"), vogs),
        ]
        for emoji, title, items in sections:
            if not items:
                continue
            lines += ["", f"{emoji} <b>{h(title)}</b> ({hi(len(items))})"]
            _bullets(lines, items)
        if not any(items for _emoji, _title, items in sections):
            lines += ["", _("Nothing needs your attention this week. 🌱")]
        lines += ["", _("Send /families for a family's card, /stats for the figures.")]
        weeks = settings.insight_digest_weeks
        caption = ngettext(
            "Check-in answers and help requests of your families, the last {count} week.",
            "Check-in answers and help requests of your families, the last {count} weeks.",
            weeks,
        ).format(count=weeks)
    # The last complete weeks: on Monday morning the new week has barely begun.
    period = rules.Period(week - timedelta(days=7 * weeks), week - timedelta(days=1))
    figures = compute(session, services, period, families)
    exact, asked, accepted = rules.exact_series(figures)
    with use_language(charts.chart_language(language)):
        title = _("Your families, the last weeks")
    chart = charts.WeeklyChart(
        texts=chart_texts(language, figures.weeks, title=title, threshold=None),
        data=charts.ChartData(answers=exact, asked=asked, accepted=accepted),
    )
    return "\n".join(lines), chart, caption


def schedule_digest(*, session: Session, services: Services, after: datetime, now: datetime) -> datetime | None:
    """The next Monday-morning digest (once per ISO week, whoever schedules it, however often)."""
    settings = services.settings
    if not settings.insight_digest_enabled:
        return None
    zone = _zone(services)
    due = rules.next_digest_at(after, at=settings.insight_digest_at, zone=zone)
    delivery.schedule_job(
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
    week = rules.week_key(job.due_at, _zone(services))
    sent = 0
    for coordinator in store.digest_recipients(session=session):
        assert coordinator.id is not None and coordinator.telegram_id is not None
        text, chart, caption = digest(session, services, coordinator, now)
        chat = coordinator.telegram_id
        delivery.enqueue(
            session=session,
            dedupe_key=f"digest:{week}:{coordinator.id}",
            chat_id=chat,
            person_id=coordinator.id,
            payload=concerns.text_payload(chat, text),
            now=now,
            purpose="digest",
        )
        delivery.enqueue(
            session=session,
            dedupe_key=f"digest:{week}:{coordinator.id}:chart",
            chat_id=chat,
            person_id=coordinator.id,
            method="sendPhoto",
            payload={
                "chat_id": chat,
                "caption": h(caption),
                "parse_mode": "HTML",
                **chart_upload("photo", chart.to_json(), f"waakvlam-{week}.png"),
            },
            now=now,
            purpose="digest",
        )
        sent += 1
    schedule_digest(session=session, services=services, after=max(now, job.due_at), now=now)
    event(logger, "insight.digest", week=week, coordinators=sent)


# --- handlers -------------------------------------------------------------------------------------


async def _refuse(update: Update) -> None:
    if update.callback_query is not None:
        await answer_stale(update)
        return
    await reply(update, _("This is for coordinators."))


async def show_digest(update: Update, context: BotContext) -> None:
    """/digest: this week's picture now, for the coordinator asking."""
    now = context.now()
    with context.session() as session:
        coordinator = _may_use(session, context.person)
        if coordinator is not None:
            text, chart, caption = digest(session, context.services, coordinator, now)
            people.audit(session=session, actor_id=coordinator.id, action="digest_opened", subject_id=None, now=now)
    if coordinator is None:
        await _refuse(update)
        return
    await answer_button(update)
    chat = update.effective_chat
    if chat is None:
        return
    await reply(update, text)
    # Drawn after the transaction, in a worker thread: the loop goes on with other chats meanwhile.
    png = await asyncio.to_thread(chart.png)
    await chat.send_photo(InputFile(io.BytesIO(png), filename="waakvlam-week.png"), caption=h(caption))


def chooser(command: str) -> Any:
    code = next(key for key, value in COMMANDS.items() if value == command)
    return keyboard(
        [
            [(_("This week"), callback(PREFIX, "p", code, rules.PeriodKind.WEEK))],
            [(_("Last 4 weeks"), callback(PREFIX, "p", code, rules.PeriodKind.FOUR_WEEKS))],
            [(_("This quarter"), callback(PREFIX, "p", code, rules.PeriodKind.QUARTER))],
            [(_("Other dates…"), callback(PREFIX, "c", code))],
        ]
    )


async def _command(update: Update, context: BotContext, command: str) -> None:
    """/stats or /export, with a period typed after it or chosen with the buttons."""
    with context.session() as session:
        allowed = _may_use(session, context.person) is not None
    if not allowed:
        await _refuse(update)
        return
    message = update.effective_message
    words = (message.text or "").split(maxsplit=1) if message is not None else []
    if len(words) == 2:
        period = rules.parse_period(words[1], _today(context.services, context.now()))
        if period is None:
            await reply(update, _("I could not read that period.") + "\n" + dates_hint(), chooser(command))
            return
        await deliver(update, context, command, period)
        return
    text = _("Figures for which period?") if command == "stats" else _("Export the figures of which period?")
    await reply(update, text, chooser(command))


async def stats_command(update: Update, context: BotContext) -> None:
    await _command(update, context, "stats")


async def export_command(update: Update, context: BotContext) -> None:
    await _command(update, context, "export")


async def deliver(update: Update, context: BotContext, command: str, period: rules.Period) -> None:
    """Compute the figures of the period, then reply with the text (/stats) or the two files (/export)."""
    services = context.services
    now = context.now()
    threshold = _threshold(services)
    with context.session() as session:
        coordinator = _may_use(session, context.person)
        if coordinator is not None:
            figures = compute(session, services, period)
            people.audit(
                session=session,
                actor_id=coordinator.id,
                action="figures_exported" if command == "export" else "figures_viewed",
                subject_id=None,
                now=now,
                period=period.key(),
            )
    if coordinator is None:
        await _refuse(update)
        return
    language = coordinator.language
    if command == "stats":
        await reply(update, stats_text(figures, threshold, language))
        return
    chat = update.effective_chat
    if chat is None:
        return
    table = rules.anonymous_table(figures, threshold)
    report = await asyncio.to_thread(report_png, figures, threshold, language)  # drawing: off the loop
    caption = _("Anonymous figures, {period}.").format(period=h(period_text(period, language)))
    await chat.send_document(InputFile(io.BytesIO(csv_bytes(table)), filename=f"waakvlam-{period.key()}.csv"))
    await chat.send_document(InputFile(io.BytesIO(report), filename=f"waakvlam-{period.key()}.png"), caption=caption)
    event(logger, "insight.exported", days=period.days)


async def on_period(update: Update, context: BotContext) -> None:
    """A period button: in:p:<st|ex>:<week|4w|quarter>."""
    parts = parse_callback(update.callback_query.data if update.callback_query else None, PREFIX)
    if not parts or len(parts) != 3 or parts[0] != "p" or parts[1] not in COMMANDS:
        await _refuse(update)
        return
    period = rules.preset(parts[2], _today(context.services, context.now()))
    with context.session() as session:
        allowed = _may_use(session, context.person) is not None
    if period is None or not allowed:
        await _refuse(update)
        return
    await answer_button(update)
    await retire_buttons(update)
    await deliver(update, context, COMMANDS[parts[1]], period)


def dates_hint() -> str:
    return _("Type the first and the last day, for example: 1-9-2026 30-11-2026")


async def ask_dates(update: Update, context: BotContext) -> str | None:
    """'Other dates…': ask for two dates, typed."""
    parts = parse_callback(update.callback_query.data if update.callback_query else None, PREFIX)
    with context.session() as session:
        allowed = _may_use(session, context.person) is not None
    if not parts or len(parts) != 2 or parts[1] not in COMMANDS or not allowed:
        await _refuse(update)
        return END
    await answer_button(update)
    await retire_buttons(update)
    context.dialogue["command"] = COMMANDS[parts[1]]
    await reply(update, dates_hint())
    return DATES


async def dates_typed(update: Update, context: BotContext) -> str | None:
    message = update.effective_message
    period = rules.parse_period(message.text or "", _today(context.services, context.now())) if message else None
    if period is None:
        await reply(
            update,
            _("I could not read those dates (at most {days} days apart).").format(days=rules.MAX_PERIOD_DAYS)
            + "\n"
            + dates_hint(),
        )
        return STAY
    await deliver(update, context, str(context.dialogue.get("command", "stats")), period)
    return END


async def dates_unexpected(update: Update, context: BotContext) -> str | None:
    await reply(update, dates_hint() + "\n" + _("/cancel stops whatever you are doing."))
    return STAY


async def figures_menu(update: Update, context: BotContext) -> None:
    """The menu's 'Figures': the period chooser for /stats."""
    await _command(update, context, "stats")


# --- registration ---------------------------------------------------------------------------------


def build() -> list[BaseHandler[Any, Any, Any]]:
    """/digest, /stats, /export and the period buttons (before the dialogues: they work at any time)."""
    private = filters.UpdateType.MESSAGE & filters.ChatType.PRIVATE
    return [
        CommandHandler("digest", show_digest, filters=private),
        CommandHandler("stats", stats_command, filters=private),
        CommandHandler("export", export_command, filters=private),
        CallbackQueryHandler(on_period, pattern=rf"^{PREFIX}:p:"),
    ]


def build_dialogue() -> Dialogue:
    """'Other dates…': the two typed dates (registered with the dialogue router)."""
    private = filters.ChatType.PRIVATE
    text = filters.UpdateType.MESSAGE & private & filters.TEXT & ~filters.COMMAND
    anything = filters.UpdateType.MESSAGE & private & ~filters.COMMAND
    return Dialogue(
        name=DIALOGUE,
        entry_points=[CallbackQueryHandler(ask_dates, pattern=rf"^{PREFIX}:c:")],
        states={DATES: [MessageHandler(text, dates_typed), MessageHandler(anything, dates_unexpected)]},
    )


def register_menu() -> None:
    coordinator = {str(Role.COORDINATOR)}
    menu.add("figures", N_("Figures"), coordinator, figures_menu)
    menu.add("digest", N_("Weekly picture"), coordinator, show_digest)


JOBS: dict[str, JobHandler] = {JOB: digest_job}
