"""A family asks for help in a few taps; a coordinator can ask on a family's behalf; /requests for everyone.

Asking: what, (in a few words, for "something else"), (with children?), which day, what time
(`domain.times`), (the area when the family has none; kept on the family), (where to, for a lift), (the
street and phone the first time), an optional note (text or voice), then everything is confirmed back
before it is sent. A coordinator can ask on a family's behalf through the same dialogue
(`rq:for:<family>` from `conversations.approvals`). The questions and the draft are in
`conversations.request_prompts`, the rules in `services.requests`, what happens next in `services.matching`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from telegram import ReplyKeyboardRemove, Update
from telegram.ext import BaseHandler, CallbackQueryHandler, MessageHandler, filters

from conversations import approvals_families, menu, my_requests, volunteer_tasks
from conversations.context import BotContext
from conversations.dialogue import END, PRIVATE_MESSAGE, STAY, TYPED, Dialogue, draft_of, private_command
from conversations.request_prompts import (
    AREA_STEP,
    ASK_CHILDREN,
    CHILDREN,
    CONFIRM_STEP,
    DAY_STEP,
    DAYS_AHEAD,
    DESCRIBE,
    DESTINATION,
    KIND_STEP,
    KINDS,
    MAX_DESTINATION,
    MAX_NOTE,
    MAX_STREET,
    NAME,
    NOTE_STEP,
    PHONE,
    STEPS,
    STREET_STEP,
    TIME_STEP,
    TIME_WINDOWS,
    RequestDraft,
    advance,
    local_today,
    prompt_area,
    prompt_day,
    prompt_time,
    zone_of,
)
from conversations.ui import answer_button, int_arg, reply, retire_buttons, settled
from domain import requests as rules
from domain import times as typed
from services import requests as service
from services.callbacks import Button
from services.i18n import N_, _, h, hi
from services.requests import AREA, CONFIRM, DAY, FOR_FAMILY, KIDS, KIND, NOTE, STREET, TIME, Sent
from storage.models import Role

_PHONE = re.compile(r"^\+?[0-9 ()-]{6,20}$")


def _data(update: Update) -> str | None:
    """The tapped button's data, if any."""
    return update.callback_query.data if update.callback_query else None


# --- starting ------------------------------------------------------------------------------------


async def start_ask(update: Update, context: BotContext) -> str | None:
    """/ask or the menu button: a family starts a new request."""
    await answer_button(update)
    person = context.person
    with context.session() as session:
        start = service.start_for(
            session=session, person_id=person.id if person else None, family_id=None, now=context.now()
        )
    if start is None:
        await reply(update, _("Asking for help is for families who signed up. Send /menu to see what you can do."))
        return END
    context.draft = draft = RequestDraft(family=start.family_id, zone=start.zone)
    if start.area_id is not None:
        draft.set_area(start.area_id)
    if start.has_street:
        draft.set_street(None)
    return await advance(update, context)


async def start_for_family(update: Update, context: BotContext) -> str | None:
    """A coordinator asks on a family's behalf (button from the coordinators' menu; rights checked here)."""
    parts = FOR_FAMILY.parse(_data(update))
    person = context.person
    start = None
    if parts is not None and person is not None:
        with context.session() as session:
            start = service.start_for(session=session, person_id=person.id, family_id=parts[0], now=context.now())
    start = await settled(update, start)
    if start is None:
        return END
    context.draft = draft = RequestDraft(family=start.family_id, behalf=True, zone=start.zone)
    draft.set_street(None)
    if start.area_id is not None:
        draft.set_area(start.area_id)
    await reply(update, _("A request on behalf of {family}.").format(family=hi(start.family_name)))
    return await advance(update, context)


# --- answers --------------------------------------------------------------------------------------


async def choose_kind(update: Update, context: BotContext) -> str | None:
    """What kind of help."""
    parts = KIND.parse(_data(update))
    if parts is None or parts[0] not in KINDS:
        return await STEPS.ask_again(update, context, KIND_STEP)
    await answer_button(update)
    await retire_buttons(update)
    kind = rules.RequestKind(parts[0])
    draft = draft_of(context, RequestDraft)
    draft.kind = kind.value
    if kind not in ASK_CHILDREN:
        draft.children = kind in rules.CHILD_KINDS
    return await advance(update, context)


async def choose_children(update: Update, context: BotContext) -> str | None:
    """Whether children are involved (decides who may be asked: only volunteers approved for children)."""
    parts = KIDS.parse(_data(update))
    if parts is None or parts[0] not in ("yes", "no"):
        return await STEPS.ask_again(update, context, CHILDREN)
    await answer_button(update)
    await retire_buttons(update)
    draft_of(context, RequestDraft).children = parts[0] == "yes"
    return await advance(update, context)


async def choose_day(update: Update, context: BotContext) -> str | None:
    """A day from the buttons (checked again: not in the past, not too far ahead), or flexible."""
    parts = DAY.parse(_data(update))
    if parts is None:
        return await STEPS.ask_again(update, context, DAY_STEP)
    if parts[0] == "flex":
        await answer_button(update)
        await retire_buttons(update)
        draft = draft_of(context, RequestDraft)
        draft.day, draft.start, draft.end = "flex", None, None
        return await advance(update, context)
    try:
        day = date(int(parts[0][:4]), int(parts[0][4:6]), int(parts[0][6:8])) if len(parts[0]) == 8 else None
    except ValueError:
        day = None
    if day is None:
        return await STEPS.ask_again(update, context, DAY_STEP)
    today = local_today(context)
    if not today <= day <= today + timedelta(days=DAYS_AHEAD):
        await answer_button(update, _("That day can no longer be chosen."))
        await prompt_day(update, context)
        return STAY
    await answer_button(update)
    await retire_buttons(update)
    draft_of(context, RequestDraft).day = day.isoformat()
    return await advance(update, context)


def on_day(window: typed.TypedWindow, day: date, zone: str) -> tuple[datetime, datetime | None]:
    """A typed window on a local day (an end before the start is the next day)."""
    tz = ZoneInfo(zone)
    start = datetime.combine(day, window.start, tzinfo=tz)
    if window.end is None:
        return start, None
    return start, datetime.combine(day + timedelta(days=1 if window.next_day else 0), window.end, tzinfo=tz)


def _window_problem(errors: list[str]) -> str:
    """What is wrong with a chosen time, in the family's words."""
    if rules.WindowError.IN_PAST in errors:
        return _("That time has already passed. Please choose a later time.")
    if rules.WindowError.TOO_LONG in errors:
        return _("That is longer than 12 hours. For longer help, please talk to your coordinator.")
    if rules.WindowError.TOO_FAR in errors:
        return _("That is too far ahead. You can ask up to 8 weeks ahead.")
    return _("Sorry, that time does not work. Please try again, for example 14:30 or 19:00-23:00.")


def _overnight_problem(window: typed.TypedWindow) -> str:
    """An end before the start made a window too long: explain that it was read as the next day."""
    assert window.end is not None
    return _(
        "An end time before the start time means the next day, so {window} would last more than 12 hours. "
        "Did you mean {swapped}? For help at night, write for example 22:00-06:00."
    ).format(
        window=h(f"{window.start:%H:%M}-{window.end:%H:%M}"), swapped=h(f"{window.end:%H:%M}-{window.start:%H:%M}")
    )


async def _set_times(
    update: Update,
    context: BotContext,
    start: datetime,
    end: datetime | None,
    typed_window: typed.TypedWindow | None = None,
) -> str | None:
    """Keep a checked time and go on, or say what is wrong and ask again."""
    errors = rules.validate_window(starts_at=start, ends_at=end, flexible_week=False, now=context.now())
    if errors:
        if typed_window is not None and typed_window.next_day and rules.WindowError.TOO_LONG in errors:
            await reply(update, _overnight_problem(typed_window))
        else:
            await reply(update, _window_problem(errors))
        await prompt_time(update, context)
        return STAY
    draft = draft_of(context, RequestDraft)
    draft.start = start.isoformat()
    draft.end = end.isoformat() if end is not None else None
    return await advance(update, context)


async def choose_time(update: Update, context: BotContext) -> str | None:
    """A part of the day from the buttons."""
    parts = TIME.parse(_data(update))
    day_value = draft_of(context, RequestDraft).day
    if parts is None or parts[0] not in TIME_WINDOWS or day_value in (None, "flex"):
        return await STEPS.ask_again(update, context, TIME_STEP)
    day = date.fromisoformat(day_value or "")
    start_at, end_at, _label = TIME_WINDOWS[parts[0]]
    zone = ZoneInfo(zone_of(context))
    await answer_button(update)
    await retire_buttons(update)
    return await _set_times(
        update, context, datetime.combine(day, start_at, tzinfo=zone), datetime.combine(day, end_at, tzinfo=zone)
    )


async def typed_time(update: Update, context: BotContext) -> str | None:
    """A time typed by the family, such as 14:30 or 19:00-23:00."""
    message = update.effective_message
    day_value = draft_of(context, RequestDraft).day
    if message is None or day_value in (None, "flex"):
        return await STEPS.ask_again(update, context, TIME_STEP)
    window = typed.parse_window(message.text or "")
    if window is None:
        await reply(update, _("Sorry, that time does not work. Please try again, for example 14:30 or 19:00-23:00."))
        return STAY
    start, end = on_day(window, date.fromisoformat(day_value or ""), zone_of(context))
    return await _set_times(update, context, start, end, window)


async def choose_area(update: Update, context: BotContext) -> str | None:
    """The neighbourhood, for a family that has none in its profile (checked on the server)."""
    parts = AREA.parse(_data(update))
    if parts is None:
        return await STEPS.ask_again(update, context, AREA_STEP)
    area_id = int_arg(parts[0]) if parts[0] != "none" else None
    if parts[0] != "none":
        with context.session() as session:
            available = service.area_open(session=session, area_id=area_id or 0)
        if not available:
            await answer_button(update, _("That neighbourhood is no longer available."))
            await prompt_area(update, context)
            return STAY
    await answer_button(update)
    await retire_buttons(update)
    draft_of(context, RequestDraft).set_area(area_id)
    return await advance(update, context)


async def typed_destination(update: Update, context: BotContext) -> str | None:
    """Where a lift goes, or what "something else" is (the same field; volunteers read it in the offer)."""
    message = update.effective_message
    text = " ".join((message.text or "").split()) if message else ""
    if not text or len(text) > MAX_DESTINATION:
        if draft_of(context, RequestDraft).kind == rules.RequestKind.OTHER:
            await reply(update, _("Please describe it in at most {count} characters.").format(count=MAX_DESTINATION))
        else:
            await reply(update, _("Please type the place in at most {count} characters.").format(count=MAX_DESTINATION))
        return STAY
    draft_of(context, RequestDraft).destination = text
    return await advance(update, context)


async def _skipped(
    update: Update, context: BotContext, button: Button, step: str, keep: Callable[[RequestDraft, None], None]
) -> str | None:
    """A tap at a step that may be skipped: Skip leaves its answer empty (`keep`) and goes on; else ask again."""
    parts = button.parse(_data(update))
    if parts is None or parts[0] != "skip":
        return await STEPS.ask_again(update, context, step)
    await answer_button(update)
    await retire_buttons(update)
    keep(draft_of(context, RequestDraft), None)
    return await advance(update, context)


async def street(update: Update, context: BotContext) -> str | None:
    """The street and house number (kept on the family's profile), or skipped."""
    if update.callback_query is not None:
        return await _skipped(update, context, STREET, STREET_STEP, RequestDraft.set_street)
    message = update.effective_message
    text = " ".join((message.text or "").split()) if message else ""
    if not text or len(text) > MAX_STREET:
        await reply(
            update, _("Please type the street and number in at most {count} characters.").format(count=MAX_STREET)
        )
        return STAY
    draft_of(context, RequestDraft).set_street(text)
    return await advance(update, context)


async def phone(update: Update, context: BotContext) -> str | None:
    """The family's own number from the contact button (or typed), or no."""
    message = update.effective_message
    user = update.effective_user
    number: str | None = None
    if message is not None and message.contact is not None:
        if user is None or message.contact.user_id != user.id:
            await reply(update, _("Please share your own number with the button, or tap No, thank you."))
            return STAY
        number = message.contact.phone_number
    elif message is not None and message.text:
        text = message.text.strip()
        if text == _("No, thank you"):
            number = ""
        elif _PHONE.match(text):
            number = text
    if number is None:
        await reply(update, _("Please share your own number with the button, or tap No, thank you."))
        return STAY
    draft_of(context, RequestDraft).set_phone(number or None)
    await reply(
        update,
        _("Thank you, the number is shared only with the volunteer who accepts.") if number else _("All right."),
        ReplyKeyboardRemove(),
    )
    return await advance(update, context)


async def note(update: Update, context: BotContext) -> str | None:
    """A short note, a voice note, or skipped."""
    message = update.effective_message
    if update.callback_query is not None:
        return await _skipped(update, context, NOTE, NOTE_STEP, RequestDraft.set_note)
    if message is not None and message.voice is not None:
        draft_of(context, RequestDraft).set_note(None, voice=message.voice.file_id)
        return await advance(update, context)
    text = " ".join((message.text or "").split()) if message else ""
    if not text or len(text) > MAX_NOTE:
        await reply(
            update,
            _("Please keep the note to at most {count} characters, or send a voice note.").format(count=MAX_NOTE),
        )
        return STAY
    draft_of(context, RequestDraft).set_note(text)
    return await advance(update, context)


async def confirm(update: Update, context: BotContext) -> str | None:
    """Send, start again, or cancel."""
    parts = CONFIRM.parse(_data(update))
    if parts is None or parts[0] not in ("send", "again", "stop"):
        return await STEPS.ask_again(update, context, CONFIRM_STEP)
    await answer_button(update)
    await retire_buttons(update)
    if parts[0] == "stop":
        await reply(update, _("Cancelled; nothing was sent. Send /menu when you want to do something else."))
        return END
    if parts[0] == "again":
        context.draft = draft_of(context, RequestDraft).again()
        return await advance(update, context)
    return await send(update, context)


async def send(update: Update, context: BotContext) -> str | None:
    """Send the request (the time checked again), or ask for a new day when it has passed meanwhile."""
    person = context.person
    assert person is not None and person.id is not None
    draft = draft_of(context, RequestDraft)
    new = draft.as_new()
    now = context.now()
    errors = rules.validate_window(
        starts_at=new.starts_at, ends_at=new.ends_at, flexible_week=new.flexible_week, now=now
    )
    if errors:
        await reply(update, _window_problem(errors))
        draft.day, draft.start, draft.end = None, None, None
        return await advance(update, context)
    with context.session() as session:
        sent = service.send_request(session=session, services=context.services, person_id=person.id, new=new, now=now)
    await reply(update, SENT_TEXTS[sent]())
    return END


SENT_TEXTS = {
    Sent.REFUSED: lambda: _("This request could not be sent. Send /menu to start again."),
    Sent.BEHALF: lambda: _("Sent. You will hear when a volunteer accepts, or when nobody does."),
    Sent.NOBODY: lambda: _(
        "Sent! Right now no volunteer nearby fits this, so we have asked your coordinator to find someone. "
        "You will hear from us."
    ),
    Sent.ASKING: lambda: _(
        "Sent! We are asking volunteers nearby. You will get a message as soon as someone accepts. "
        "You can see your requests under /menu, My requests."
    ),
}


# --- registration ---------------------------------------------------------------------------------


async def requests_command(update: Update, context: BotContext) -> None:
    """/requests: a family's requests; a volunteer's tasks; a coordinator's open requests."""
    person = context.person
    if person is None or person.consent_at is None:
        await reply(update, _("You are not signed up yet. Send /start to begin."))
    elif person.role == Role.COORDINATOR:
        await approvals_families.show_open_requests(update, context)
    elif person.role == Role.VOLUNTEER:
        await volunteer_tasks.show_tasks(update, context)
    else:
        await my_requests.show_requests(update, context)


def build() -> Dialogue:
    """The request dialogue: its entry points and one list of handlers per step."""
    return Dialogue(
        name=NAME,
        draft=RequestDraft,
        entry_points=[
            *menu.started_by("ask", "ask", start_ask),
            CallbackQueryHandler(start_for_family, pattern=FOR_FAMILY.pattern),
        ],
        states={
            KIND_STEP: STEPS.step([CallbackQueryHandler(choose_kind, pattern=KIND.pattern)], KIND_STEP),
            DESCRIBE: STEPS.step([MessageHandler(TYPED, typed_destination)], DESCRIBE),
            CHILDREN: STEPS.step([CallbackQueryHandler(choose_children, pattern=KIDS.pattern)], CHILDREN),
            DAY_STEP: STEPS.step([CallbackQueryHandler(choose_day, pattern=DAY.pattern)], DAY_STEP),
            TIME_STEP: STEPS.step(
                [CallbackQueryHandler(choose_time, pattern=TIME.pattern), MessageHandler(TYPED, typed_time)], TIME_STEP
            ),
            AREA_STEP: STEPS.step([CallbackQueryHandler(choose_area, pattern=AREA.pattern)], AREA_STEP),
            DESTINATION: STEPS.step([MessageHandler(TYPED, typed_destination)], DESTINATION),
            STREET_STEP: STEPS.step(
                [CallbackQueryHandler(street, pattern=STREET.pattern), MessageHandler(TYPED, street)], STREET_STEP
            ),
            PHONE: STEPS.step([MessageHandler(PRIVATE_MESSAGE & (filters.CONTACT | TYPED), phone)], PHONE),
            NOTE_STEP: STEPS.step(
                [
                    CallbackQueryHandler(note, pattern=NOTE.pattern),
                    MessageHandler(TYPED | (PRIVATE_MESSAGE & filters.VOICE), note),
                ],
                NOTE_STEP,
            ),
            CONFIRM_STEP: STEPS.step([CallbackQueryHandler(confirm, pattern=CONFIRM.pattern)], CONFIRM_STEP),
        },
    )


def build_handlers() -> list[BaseHandler[Any, Any, Any]]:
    """Buttons outside the dialogue (they work at any time, also mid-dialogue) and /requests."""
    return [private_command("requests", requests_command), *my_requests.build_handlers()]


def register_menu() -> None:
    """The families' menu entries: ask, my requests, offer something back."""
    family = {str(Role.FAMILY)}
    menu.add("ask", N_("🙋 Ask for help"), family)
    menu.add("myrequests", N_("My requests"), family, my_requests.show_requests)
    menu.add("giveback", N_("💛 Offer something back"), family, my_requests.give_back)
