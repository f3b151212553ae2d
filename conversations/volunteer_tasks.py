"""A volunteer's tasks (see, cancel), one message about an accepted task between its volunteer and family
(`vt:msg`, `vt:ans`), and pausing (holiday) or resuming. The rules are in `services.volunteers`."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler

from conversations.context import BotContext
from conversations.dialogue import Dialogue, Draft, draft_of, typed_words
from conversations.pause_buttons import pause_handlers
from conversations.relay import WRITING, ask_for_message, ask_for_text, pass_on
from conversations.ui import (
    answer_button,
    answer_stale,
    close_tap,
    column,
    keyboard,
    reply,
    retire_buttons,
    tapped_or_stale,
    tapped_values,
)
from services import matching
from services.callbacks import Button
from services.context import Services
from services.i18n import _, format_day, h, hi, ngettext
from services.logs import event
from services.request_basics import local_today
from services.volunteers import (
    ANSWER_VOLUNTEER,
    CANCEL_TASK,
    CANCEL_TASK_YES,
    FAMILY,
    KEEP_TASK,
    MESSAGE_FAMILY,
    PAUSE,
    PAUSE_MENU,
    PAUSE_WEEKS,
    RESUME,
    TASK_LIST,
    UNTIL_RESUMED,
    VOLUNTEER,
    Helper,
    TaskItem,
    give_back,
    helper_of,
    is_paused,
    message_family_button,
    own_accepted_task,
    pass_task_message,
    pausable,
    set_pause,
    task_party,
    upcoming_tasks,
)
from storage.db import Session
from storage.models import Person, VolunteerProfile, VolunteerStatus

logger = logging.getLogger(__name__)

RELAY = "taskmsg"  # one message about an accepted task, between its volunteer and its family
MAX_TASK_MESSAGE = 500


def _pause_line(profile: VolunteerProfile, today: date, language: str) -> str:
    """Whether this volunteer receives requests now, and how many a week at most."""
    if profile.status != VolunteerStatus.APPROVED:
        return _("Your coordinator has not approved you yet, so you receive no requests for now.")
    if is_paused(profile, today):
        assert profile.paused_until is not None
        if profile.paused_until >= UNTIL_RESUMED:
            return _("⏸ You are on a pause until you resume.")
        return _("⏸ You are on a pause until {day}.").format(day=h(format_day(profile.paused_until, language)))
    return _("You receive requests that fit you, at most {count} a week.").format(count=hi(profile.weekly_cap))


# --- tasks ----------------------------------------------------------------------------------------


def _task_list(services: Services, helper: Helper, tasks: list[TaskItem], now: datetime) -> tuple[list[str], list[Any]]:
    """My tasks as lines, with a button row to message the family (accepted ones) and to cancel each."""
    person, profile = helper.person, helper.profile
    lines = [_("<b>Your tasks</b>"), _pause_line(profile, local_today(services, now), person.language)]
    rows: list[list[tuple[str, str]]] = []
    for task in tasks:
        lines += ["", task.details]
        if task.accepted:
            rows.append([message_family_button(task.request_id, task.what)])
        rows.append([(_("✖️ Cancel: {what}").format(what=task.what), CANCEL_TASK.data(task.request_id))])
    if not tasks:
        lines.append(_("You have no upcoming tasks."))
    return lines, rows


async def show_tasks(update: Update, context: BotContext) -> None:
    """My tasks: upcoming tasks with what the volunteer needs, and a button to cancel each."""
    with context.session() as session:
        found = helper_of(session=session, person=context.person)
        tasks = upcoming_tasks(session=session, person=found.person) if found is not None else []
    listed = _task_list(context.services, found, tasks, context.now()) if found is not None else None
    if listed is None:
        await reply(update, _("This is for volunteers. Send /menu to see what you can do."))
        return
    lines, rows = listed
    await reply(update, "\n".join(lines), keyboard(rows) if rows else None)


async def ask_cancel_task(update: Update, context: BotContext) -> None:
    """Cancel a task: ask to confirm (the family will be told)."""
    parsed = tapped_values(update, CANCEL_TASK)
    with context.session() as session:
        text = own_accepted_task(session=session, person=context.person, request_id=parsed[0]) if parsed else None
    if parsed is None or text is None:
        await answer_stale(update)
        return
    await answer_button(update)
    await reply(
        update,
        _("Cancel this task? We will tell the family and your coordinator, and look for someone else.") + "\n" + text,
        keyboard(
            [
                [
                    (_("Yes, cancel it"), CANCEL_TASK_YES.data(parsed[0])),
                    (_("No, I will go"), KEEP_TASK.data(parsed[0])),
                ]
            ]
        ),
    )


async def do_cancel_task(update: Update, context: BotContext) -> None:
    """Confirmed: the volunteer gives the task back."""
    parsed = await tapped_or_stale(update, CANCEL_TASK_YES)
    if parsed is None:
        return
    with context.session() as session:
        result = give_back(
            session=session, services=context.services, person=context.person, request_id=parsed[0], now=context.now()
        )
    if not result.allowed:
        await answer_stale(update)
        return
    await retire_buttons(update, show_choice=result.done)
    if not result.done:
        await answer_button(update, _("This task was already cancelled or closed."))
        return
    await answer_button(update)
    event(logger, "task.cancelled", request=parsed[0])
    await reply(
        update,
        _(
            "Cancelled. We told the family and your coordinator and are looking for someone else. "
            "Thank you for letting us know in time."
        ),
    )


async def keep_task(update: Update, context: BotContext) -> None:
    """'No, I will go'."""
    await close_tap(update, _("Great, thank you!"))


# --- a message about a task -----------------------------------------------------------------------


@dataclass
class TaskMessageDraft(Draft):
    """The task a message is about (the saved key stays `request`)."""

    request: int | None = None


async def start_message_family(update: Update, context: BotContext) -> str | None:
    """'Message the family' (the volunteer): ask for one message."""
    return await _start_task_message(update, context, MESSAGE_FAMILY, VOLUNTEER)


async def start_answer_volunteer(update: Update, context: BotContext) -> str | None:
    """'Answer' (the family): ask for one message to the task's volunteer."""
    return await _start_task_message(update, context, ANSWER_VOLUNTEER, FAMILY)


async def _start_task_message(update: Update, context: BotContext, button: Button, side: str) -> str | None:
    """Ask for one message about this task, when the tapper is on the button's side of it."""
    parsed = tapped_values(update, button)
    request_id = parsed[0] if parsed else None
    with context.session() as session:
        party = task_party(session=session, person=context.person, request_id=request_id)
        known = party is not None and party.side == side
        other_name = matching.name_of(party.other) if party is not None and known else ""
        what = matching.kind_label(party.request.kind) if party is not None and known else ""
    draft_of(context, TaskMessageDraft).request = request_id
    prompt = _(
        "Write one message for {name} about the task ({what}). I pass it on through the bot, with your "
        "name; your phone number and account stay private. Send /cancel to stop."
    ).format(name=hi(other_name), what=h(what))
    closed = _("This task is no longer open, so you cannot write about it here.")
    return await ask_for_message(update, prompt if other_name else None, closed)


async def write_task_message(update: Update, context: BotContext) -> str | None:
    """The message: checked again (still this task's volunteer or family, still accepted), then queued."""
    request_id = draft_of(context, TaskMessageDraft).request

    def send(session: Session, person: Person, text: str, source: str) -> str | None:
        """Pass the message on, when the task is still open to messages between these two."""
        sent_to = pass_task_message(
            session=session, person=person, request_id=request_id, text=text, source=source, now=context.now()
        )
        if sent_to:
            event(logger, "task.message", request=request_id)
        return sent_to

    not_sent = _("This task is no longer open, so the message was not sent.")
    return await pass_on(update, context, limit=MAX_TASK_MESSAGE, send=send, not_sent=not_sent)


async def task_message_unexpected(update: Update, context: BotContext) -> str | None:
    """A button or something other than text while we wait for the message."""
    return await ask_for_text(update, MAX_TASK_MESSAGE)


def build_relay() -> Dialogue:
    """One message about an accepted task, from its volunteer to its family or back (`vt:msg`, `vt:ans`)."""
    starts: list[BaseHandler[Any, Any, Any]] = [
        CallbackQueryHandler(start_message_family, pattern=MESSAGE_FAMILY.pattern),
        CallbackQueryHandler(start_answer_volunteer, pattern=ANSWER_VOLUNTEER.pattern),
    ]
    return Dialogue(
        name=RELAY,
        entry_points=starts,
        states={WRITING: [*typed_words(write_task_message, task_message_unexpected), *starts]},
        draft=TaskMessageDraft,
    )


# --- pause ----------------------------------------------------------------------------------------


async def show_pause(update: Update, context: BotContext) -> None:
    """Pause (holiday) or resume: paused volunteers get no new requests."""
    with context.session() as session:
        found = pausable(session=session, person=context.person)
    if found is None:
        await reply(update, _("This is for volunteers. Send /menu to see what you can do."))
        return
    today = local_today(context.services, context.now())
    if is_paused(found.profile, today):
        buttons = [(_("▶️ Resume now"), RESUME.data())]
    else:
        buttons = [
            (
                ngettext("Pause for {count} week", "Pause for {count} weeks", weeks).format(count=weeks),
                PAUSE.data(weeks),
            )
            for weeks in PAUSE_WEEKS
        ]
        buttons.append((_("Pause until I resume"), PAUSE.data(0)))
    await reply(update, _pause_line(found.profile, today, found.person.language), column(buttons))


async def _pause(update: Update, context: BotContext, weeks: int | None) -> None:
    """Set or lift the pause, and say until when."""
    with context.session() as session:
        paused = set_pause(
            session=session, services=context.services, person=context.person, weeks=weeks, now=context.now()
        )
    if paused is None:
        await answer_stale(update)
        return
    await answer_button(update)
    await retire_buttons(update)
    if paused.until is None:
        await reply(update, _("Welcome back! You will receive requests again."))
    elif paused.until >= UNTIL_RESUMED:
        await reply(
            update,
            _("You are on a pause until you resume; you get no new requests. Tasks you accepted stay yours.")
            + "\n"
            + _("Resume under /menu, Pause or resume."),
        )
    else:
        await reply(
            update,
            _("You are on a pause until {day}; you get no new requests. Tasks you accepted stay yours.").format(
                day=h(format_day(paused.until, paused.language))
            ),
        )


def _panel_button(button: Button, show: Callable[[Update, BotContext], Awaitable[None]]) -> Any:
    """A handler for a button on the helper panel (for families that also volunteer): the screen it opens."""

    async def handler(update: Update, context: BotContext) -> None:
        """'My tasks' or 'Pause or resume' on the helper panel."""
        if tapped_values(update, button) is None:
            await answer_stale(update)
            return
        await answer_button(update)
        await show(update, context)

    return handler


CANCEL_HANDLERS = [
    CallbackQueryHandler(ask_cancel_task, pattern=CANCEL_TASK.pattern),
    CallbackQueryHandler(do_cancel_task, pattern=CANCEL_TASK_YES.pattern),
    CallbackQueryHandler(keep_task, pattern=KEEP_TASK.pattern),
]
PAUSE_HANDLERS = [
    *pause_handlers(PAUSE, RESUME, (*PAUSE_WEEKS, 0), _pause),
    CallbackQueryHandler(_panel_button(TASK_LIST, show_tasks), pattern=TASK_LIST.pattern),
    CallbackQueryHandler(_panel_button(PAUSE_MENU, show_pause), pattern=PAUSE_MENU.pattern),
]
