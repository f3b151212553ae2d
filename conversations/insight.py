"""Coordinator insight in chat: /digest, /stats and /export of anonymous figures (rules: `services.insight`).

The family card with its timeline lives in `conversations.family_card` (/families → a family).

* **/digest** (and every Monday morning, in each coordinator's language, `services.insight.digest_job`):
  families whose answers got worse, families with no contact, requests nobody took, concerns still open and
  VOGs that will soon stop counting, with one chart of the last weeks' check-in answers and requests.
* **/stats** and **/export** for a period (buttons: this week, the last 4 weeks, this quarter, other dates):
  anonymous figures with small counts suppressed (`domain.insight`); the export is a CSV file and a
  one-page PNG report. No names, no free text, no ids.

Charts are drawn after the transaction, in a worker thread: the loop goes on with other chats meanwhile.
"""

from __future__ import annotations

import asyncio
import io
import logging
from dataclasses import dataclass
from typing import Any

from telegram import InlineKeyboardMarkup, InputFile, Update
from telegram.ext import BaseHandler, CallbackQueryHandler

from conversations import menu
from conversations.context import BotContext
from conversations.dialogue import END, STAY, Dialogue, Draft, draft_of, private_command, typed_words
from conversations.ui import answer_button, answer_stale, keyboard, reply, retire_buttons, tapped_values
from domain import insight as rules
from services import insight
from services.context import JobHandler
from services.i18n import N_, _, h
from services.insight import COMMANDS, OTHER_DATES, PERIOD
from services.logs import event
from storage.db import Session
from storage.models import Person, Role

logger = logging.getLogger(__name__)

DIALOGUE = "insight_dates"
DATES = "dates"


@dataclass
class DatesDraft(Draft):
    """'Other dates…': which command the typed dates are for."""

    command: str = "stats"


def _may_use(session: Session, person: Person | None) -> Person | None:
    """The acting person, fresh from the database, if a signed-up coordinator."""
    if person is None or person.id is None:
        return None
    return insight.may_see_figures(session=session, person_id=person.id)


async def _refuse(update: Update) -> None:
    """Not for this person: a button is stale, a command is for coordinators."""
    if update.callback_query is not None:
        await answer_stale(update)
        return
    await reply(update, _("This is for coordinators."))


def _allowed(context: BotContext) -> bool:
    """Whether the person asking may see the figures."""
    with context.session() as session:
        return _may_use(session, context.person) is not None


async def show_digest(update: Update, context: BotContext) -> None:
    """/digest: this week's picture now, for the coordinator asking."""
    now = context.now()
    with context.session() as session:
        coordinator = _may_use(session, context.person)
        if coordinator is not None:
            picture = insight.open_digest(session=session, services=context.services, coordinator=coordinator, now=now)
    if coordinator is None:
        await _refuse(update)
        return
    await answer_button(update)
    chat = update.effective_chat
    if chat is None:
        return
    await reply(update, picture.text)
    png = await asyncio.to_thread(picture.chart.png)
    await chat.send_photo(InputFile(io.BytesIO(png), filename="waakvlam-week.png"), caption=h(picture.caption))


def chooser(command: str) -> InlineKeyboardMarkup:
    """The period buttons for /stats or /export."""
    code = next(key for key, value in COMMANDS.items() if value == command)
    return keyboard(
        [
            [(_("This week"), PERIOD.data(code, rules.PeriodKind.WEEK))],
            [(_("Last 4 weeks"), PERIOD.data(code, rules.PeriodKind.FOUR_WEEKS))],
            [(_("This quarter"), PERIOD.data(code, rules.PeriodKind.QUARTER))],
            [(_("Other dates…"), OTHER_DATES.data(code))],
        ]
    )


async def _command(update: Update, context: BotContext, command: str) -> None:
    """/stats or /export, with a period typed after it or chosen with the buttons."""
    if not _allowed(context):
        await _refuse(update)
        return
    message = update.effective_message
    words = (message.text or "").split(maxsplit=1) if message is not None else []
    if len(words) == 2:
        period = insight.typed_period(words[1], services=context.services, now=context.now())
        if period is None:
            await reply(update, _("I could not read that period.") + "\n" + dates_hint(), chooser(command))
            return
        await deliver(update, context, command, period)
        return
    text = _("Figures for which period?") if command == "stats" else _("Export the figures of which period?")
    await reply(update, text, chooser(command))


async def stats_command(update: Update, context: BotContext) -> None:
    """/stats [period]."""
    await _command(update, context, "stats")


async def export_command(update: Update, context: BotContext) -> None:
    """/export [period]."""
    await _command(update, context, "export")


async def deliver(update: Update, context: BotContext, command: str, period: rules.Period) -> None:
    """Compute the figures of the period, then reply with the text (/stats) or the two files (/export)."""
    now = context.now()
    with context.session() as session:
        coordinator = _may_use(session, context.person)
        if coordinator is not None:
            found = insight.figures_for(
                session=session,
                services=context.services,
                coordinator=coordinator,
                period=period,
                export=command == "export",
                now=now,
            )
    if coordinator is None:
        await _refuse(update)
        return
    if command == "stats":
        await reply(update, found.text)
        return
    chat = update.effective_chat
    if chat is None:
        return
    report = await asyncio.to_thread(found.report)  # drawing: off the loop
    await chat.send_document(InputFile(io.BytesIO(found.csv), filename=f"waakvlam-{period.key()}.csv"))
    await chat.send_document(
        InputFile(io.BytesIO(report), filename=f"waakvlam-{period.key()}.png"), caption=found.caption
    )
    event(logger, "insight.exported", days=period.days)


async def on_period(update: Update, context: BotContext) -> None:
    """A period button: in:p:<st|ex>:<week|4w|quarter>."""
    parsed = tapped_values(update, PERIOD)
    if parsed is None or parsed[0] not in COMMANDS:
        await _refuse(update)
        return
    code, kind = parsed
    period = insight.preset_period(kind, services=context.services, now=context.now())
    if period is None or not _allowed(context):
        await _refuse(update)
        return
    await answer_button(update)
    await retire_buttons(update)
    await deliver(update, context, COMMANDS[code], period)


def dates_hint() -> str:
    """How to type a period."""
    return _("Type the first and the last day, for example: 1-9-2026 30-11-2026")


async def ask_dates(update: Update, context: BotContext) -> str | None:
    """'Other dates…': ask for two dates, typed."""
    parsed = tapped_values(update, OTHER_DATES)
    allowed = _allowed(context)
    if parsed is None or parsed[0] not in COMMANDS or not allowed:
        await _refuse(update)
        return END
    await answer_button(update)
    await retire_buttons(update)
    draft_of(context, DatesDraft).command = COMMANDS[parsed[0]]
    await reply(update, dates_hint())
    return DATES


async def dates_typed(update: Update, context: BotContext) -> str | None:
    """The two dates typed: the figures of that period, or ask again."""
    message = update.effective_message
    text = message.text or "" if message is not None else None
    period = insight.typed_period(text, services=context.services, now=context.now()) if text is not None else None
    if period is None:
        await reply(
            update,
            _("I could not read those dates (at most {days} days apart).").format(days=rules.MAX_PERIOD_DAYS)
            + "\n"
            + dates_hint(),
        )
        return STAY
    await deliver(update, context, draft_of(context, DatesDraft).command, period)
    return END


async def dates_unexpected(update: Update, context: BotContext) -> str | None:
    """Anything but text while waiting for the dates."""
    await reply(update, dates_hint() + "\n" + _("/cancel stops whatever you are doing."))
    return STAY


async def figures_menu(update: Update, context: BotContext) -> None:
    """The menu's 'Figures': the period chooser for /stats."""
    await _command(update, context, "stats")


# --- registration ---------------------------------------------------------------------------------


def build() -> list[BaseHandler[Any, Any, Any]]:
    """/digest, /stats, /export and the period buttons (before the dialogues: they work at any time)."""
    return [
        private_command("digest", show_digest),
        private_command("stats", stats_command),
        private_command("export", export_command),
        CallbackQueryHandler(on_period, pattern=PERIOD.pattern),
    ]


def build_dialogue() -> Dialogue:
    """'Other dates…': the two typed dates (registered with the dialogue router)."""
    return Dialogue(
        name=DIALOGUE,
        entry_points=[CallbackQueryHandler(ask_dates, pattern=OTHER_DATES.pattern)],
        states={DATES: typed_words(dates_typed, dates_unexpected)},
        draft=DatesDraft,
    )


def register_menu() -> None:
    """The coordinator's menu: 'Figures' and 'Weekly picture'."""
    coordinator = {str(Role.COORDINATOR)}
    menu.add("figures", N_("Figures"), coordinator, figures_menu)
    menu.add("digest", N_("Weekly picture"), coordinator, show_digest)


JOBS: dict[str, JobHandler] = insight.JOBS
