"""A family asks for help in a few taps, follows its requests, cancels one, thanks and gives back.

Asking: what, (in a few words, for "something else"), (with children?), which day, what time
(`domain.times`), (the area when the family has none; kept on the family), (where to, for a lift), (the
street and phone the first time), an optional note (text or voice), then everything is confirmed back
before it is sent. A coordinator can ask on a family's behalf through the same dialogue
(`rq:for:<family>` from `conversations.approvals`). What happens next is in `conversations.matching`.
"""

from __future__ import annotations

import logging
import re
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from telegram import KeyboardButton, ReplyKeyboardMarkup, ReplyKeyboardRemove, Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, MessageHandler, filters

from conversations import alerts, matching, menu
from conversations.approvals_families import show_open_requests
from conversations.context import BotContext
from conversations.dialogue import END, STAY, Dialogue
from conversations.ui import (
    answer_button,
    answer_stale,
    callback,
    column,
    int_arg,
    keyboard,
    notify,
    parse_callback,
    reply,
    retire_buttons,
)
from conversations.volunteer_tasks import show_tasks
from domain import permissions
from domain import requests as rules
from domain import times as typed
from services.i18n import N_, _, format_day, format_stamp, h, hi, use_language
from services.logs import event
from services.permissions import Action, actor_of, authorize
from storage import people
from storage import requests as store
from storage.db import Session
from storage.models import HelpRequest, Person, Role

logger = logging.getLogger(__name__)

NAME = "ask"
PREFIX = "rq"

# States, in the order a family meets them (steps that are already known are skipped).
KIND = "kind"
DESCRIBE = "describe"
CHILDREN = "children"
DAY = "day"
TIME = "time"
AREA = "area"
DESTINATION = "destination"
STREET = "street"
PHONE = "phone"
NOTE = "note"
CONFIRM = "confirm"

KINDS = [kind.value for kind in rules.RequestKind]
# Kinds where children may or may not be involved; babysitting and homework always involve them.
ASK_CHILDREN = {rules.RequestKind.LIFT, rules.RequestKind.COMPANY, rules.RequestKind.OTHER}
TIME_WINDOWS: dict[str, tuple[time, time, str]] = {
    "morning": (time(9, 0), time(12, 0), N_("Morning (9:00-12:00)")),
    "afternoon": (time(13, 0), time(17, 0), N_("Afternoon (13:00-17:00)")),
    "evening": (time(18, 0), time(22, 0), N_("Evening (18:00-22:00)")),
}
DAYS_AHEAD = 7
MAX_NOTE = 300
MAX_DESTINATION = 120
MAX_STREET = 100
_PHONE = re.compile(r"^\+?[0-9 ()-]{6,20}$")
GIVE_BACK = ["meal", "babysitting", "groceries", "company", "chores", "other"]


# --- helpers --------------------------------------------------------------------------------------


def _button(update: Update, action: str, size: int = 2) -> list[str] | None:
    """The arguments of one of our buttons for this action, or None for anything else."""
    parts = parse_callback(update.callback_query.data if update.callback_query else None, PREFIX)
    if not parts or parts[0] != action or len(parts) != size:
        return None
    return parts[1:]


def _fresh(context: BotContext, session: Session) -> Person | None:
    person = context.person
    return people.get_person(session=session, person_id=person.id) if person and person.id else None


def _family(session: Session, context: BotContext) -> Person | None:
    family_id = context.dialogue.get("family")
    return people.get_person(session=session, person_id=int(family_id)) if family_id else None


def _zone(context: BotContext) -> str:
    return str(context.dialogue.get("zone") or context.services.settings.timezone)


def _today(context: BotContext) -> date:
    return context.now().astimezone(ZoneInfo(_zone(context))).date()


def _is_family(person: Person | None) -> bool:
    return person is not None and person.role == Role.FAMILY and person.consent_at is not None


# --- starting ------------------------------------------------------------------------------------


async def start_ask(update: Update, context: BotContext) -> str | None:
    """/ask or the menu button: a family starts a new request."""
    await answer_button(update)
    person = context.person
    with context.session() as session:
        fresh = _fresh(context, session)
        profile = people.get_family(session=session, person_id=fresh.id) if fresh and fresh.id else None
    if fresh is None or not _is_family(fresh) or profile is None:
        await reply(update, _("Asking for help is for families who signed up. Send /menu to see what you can do."))
        return END
    assert person is not None
    context.dialogue = {"family": fresh.id, "zone": fresh.timezone}
    if profile.area_id is not None:
        context.dialogue["area"] = profile.area_id
    if profile.street:
        context.dialogue["street"] = None
        context.dialogue["phone"] = None
    return await advance(update, context)


async def start_for_family(update: Update, context: BotContext) -> str | None:
    """A coordinator asks on a family's behalf (button from the coordinators' menu; rights checked here)."""
    parts = _button(update, "for")
    family_id = int_arg(parts[0]) if parts else None
    person = context.person
    with context.session() as session:
        fresh = _fresh(context, session)
        family = people.get_person(session=session, person_id=family_id) if family_id else None
        profile = people.get_family(session=session, person_id=family_id) if family_id else None
        allowed = (
            fresh is not None
            and family is not None
            and profile is not None
            and _is_family(family)
            and _may_act_for(session, fresh, family, context.now())
        )
    if not allowed or family is None or person is None or profile is None:
        await answer_stale(update)
        return END
    await answer_button(update)
    await retire_buttons(update)
    context.dialogue = {"family": family.id, "behalf": True, "zone": family.timezone, "street": None, "phone": None}
    if profile.area_id is not None:
        context.dialogue["area"] = profile.area_id
    await reply(update, _("A request on behalf of {family}.").format(family=hi(matching.name_of(family))))
    return await advance(update, context)


def _next_step(context: BotContext) -> str:
    data = context.dialogue
    if "kind" not in data:
        return KIND
    if data["kind"] == rules.RequestKind.OTHER and "destination" not in data:
        return DESCRIBE
    if "children" not in data:
        return CHILDREN
    if "day" not in data:
        return DAY
    if data["day"] != "flex" and "start" not in data:
        return TIME
    if "area" not in data:
        return AREA
    if data["kind"] == rules.RequestKind.LIFT and "destination" not in data:
        return DESTINATION
    if "street" not in data:
        return STREET
    if "phone" not in data:
        return PHONE
    if "note" not in data:
        return NOTE
    return CONFIRM


async def advance(update: Update, context: BotContext) -> str:
    """Ask the first question that has no answer yet; returns its state."""
    step = _next_step(context)
    await PROMPTS[step](update, context)
    return step


# --- prompts --------------------------------------------------------------------------------------


async def prompt_kind(update: Update, context: BotContext) -> None:
    buttons = [(matching.kind_label(kind), callback(PREFIX, "kind", kind)) for kind in KINDS]
    rows = [buttons[index : index + 2] for index in range(0, len(buttons), 2)]
    await reply(update, _("What would you like help with?"), keyboard(rows))


async def prompt_children(update: Update, context: BotContext) -> None:
    await reply(
        update,
        _("Is it for a child, or will children be there?"),
        keyboard([[(_("Yes"), callback(PREFIX, "kids", "yes")), (_("No"), callback(PREFIX, "kids", "no"))]]),
    )


def _day_options(context: BotContext) -> list[tuple[str, str]]:
    today = _today(context)
    language = context.person.language if context.person else None
    options = []
    for offset in range(DAYS_AHEAD + 1):
        day = today + timedelta(days=offset)
        if offset == 0:
            label = _("Today")
        elif offset == 1:
            label = _("Tomorrow")
        else:
            label = format_day(day, language)
        options.append((label, callback(PREFIX, "day", f"{day:%Y%m%d}")))
    return options


async def prompt_day(update: Update, context: BotContext) -> None:
    options = _day_options(context)
    rows = [options[index : index + 2] for index in range(0, len(options), 2)]
    rows.append([(_("📅 Flexible, some time this week"), callback(PREFIX, "day", "flex"))])
    await reply(update, _("When do you need it?"), keyboard(rows))


def _windows_left(context: BotContext, day: date) -> list[str]:
    zone = ZoneInfo(_zone(context))
    now = context.now()
    return [
        key for key, (start, _end, _label) in TIME_WINDOWS.items() if datetime.combine(day, start, tzinfo=zone) > now
    ]


async def prompt_time(update: Update, context: BotContext) -> None:
    day = date.fromisoformat(context.dialogue["day"])
    # Only parts of the day still ahead; later today a time can still be typed.
    buttons = [(_(TIME_WINDOWS[key][2]), callback(PREFIX, "time", key)) for key in _windows_left(context, day)]
    language = context.person.language if context.person else None
    await reply(
        update,
        _("What time on {day}? Tap a part of the day, or type a time, for example 14:30 or 19:00-23:00.").format(
            day=h(format_day(day, language))
        ),
        column(buttons) if buttons else None,
    )


async def prompt_area(update: Update, context: BotContext) -> None:
    with context.session() as session:
        areas = [(area.id, area.name) for area in people.active_areas(session=session)]
    buttons = [(name, callback(PREFIX, "area", area_id)) for area_id, name in areas]
    buttons.append((_("My neighbourhood is not listed"), callback(PREFIX, "area", "none")))
    await reply(update, _("In which neighbourhood?"), column(buttons))


async def prompt_describe(update: Update, context: BotContext) -> None:
    await reply(
        update,
        _(
            "What do you need help with? Describe it in a few words, for example: carrying a cupboard upstairs. "
            "Volunteers read this before they accept, so do not write your address here."
        ),
    )


async def prompt_destination(update: Update, context: BotContext) -> None:
    await reply(
        update,
        _(
            "Where to? Type the place, for example: the hospital, the station, the school. "
            "Volunteers read this before they accept, so do not write your address here."
        ),
    )


async def prompt_street(update: Update, context: BotContext) -> None:
    await reply(
        update,
        _(
            "Which street and house number should the volunteer come to? "
            "Only the volunteer who accepts your request sees it. We remember it for next time."
        ),
        column([(_("Skip"), callback(PREFIX, "street", "skip"))]),
    )


async def prompt_phone(update: Update, context: BotContext) -> None:
    chat = update.effective_chat
    if chat is None:
        return
    markup = ReplyKeyboardMarkup(
        [[KeyboardButton(_("📞 Share my number"), request_contact=True)], [KeyboardButton(_("No, thank you"))]],
        one_time_keyboard=True,
        resize_keyboard=True,
    )
    await reply(update, _("May the volunteer who accepts also see your phone number, to call you if needed?"), markup)


async def prompt_note(update: Update, context: BotContext) -> None:
    await reply(
        update,
        _(
            "Anything the volunteer should know? Type a short note or send a voice note. "
            "The volunteer sees it only after accepting. Or tap Skip."
        ),
        column([(_("Skip"), callback(PREFIX, "note", "skip"))]),
    )


def _draft(context: BotContext, session: Session) -> HelpRequest:
    """The request as it would be stored, for the confirmation (not added to the session)."""
    data = context.dialogue
    return HelpRequest(
        family_id=int(data["family"]),
        created_by_id=context.person.id if context.person and context.person.id else 0,
        kind=data["kind"],
        involves_children=bool(data.get("children")),
        starts_at=datetime.fromisoformat(data["start"]) if data.get("start") else None,
        ends_at=datetime.fromisoformat(data["end"]) if data.get("end") else None,
        flexible_week=data["day"] == "flex",
        area_id=data.get("area"),
        destination=data.get("destination"),
        note=data.get("note"),
        voice_file_id=data.get("voice"),
        created_at=context.now(),
    )


async def prompt_confirm(update: Update, context: BotContext) -> None:
    person = context.person
    assert person is not None
    data = context.dialogue
    with context.session() as session:
        draft = _draft(context, session)
        family = _family(session, context)
        profile = people.get_family(session=session, person_id=draft.family_id)
        lines = [_("<b>Please check the request</b>")]
        if data.get("behalf"):
            lines.append(_("For: {family}").format(family=hi(matching.name_of(family))))
        lines.append(_("What: {what}").format(what=h(matching.kind_label(draft.kind))))
        if rules.is_child_related(kind=draft.kind, involves_children=draft.involves_children):
            lines.append(_("👶 With children."))
        lines.append(_("When: {when}").format(when=h(matching.when_text(draft, person.timezone, person.language))))
        lines.append(_("Where: {area}").format(area=hi(matching.area_name(session, draft))))
    if draft.destination:
        lines.append(matching.described(draft))
    if draft.note:
        lines.append(_("Note: {note}").format(note=h(draft.note)))
    if draft.voice_file_id:
        lines.append(_("🎤 With your voice note."))
    street = data.get("street") or (profile.street if profile else None)
    if street and not data.get("behalf"):
        lines.append(_("Address for the volunteer: {street}").format(street=h(street)))
        shares = data.get("phone") or (profile is not None and profile.share_phone and bool(profile.phone))
        lines.append(_("Your phone number is shared too.") if shares else _("Your phone number is not shared."))
        lines.append(_("Only the volunteer who accepts sees the address."))
    await reply(
        update,
        "\n".join(lines),
        keyboard(
            [
                [(_("✅ Send"), callback(PREFIX, "ok", "send"))],
                [
                    (_("✏️ Start again"), callback(PREFIX, "ok", "again")),
                    (_("✖️ Cancel"), callback(PREFIX, "ok", "stop")),
                ],
            ]
        ),
    )


PROMPTS = {
    KIND: prompt_kind,
    DESCRIBE: prompt_describe,
    CHILDREN: prompt_children,
    DAY: prompt_day,
    TIME: prompt_time,
    AREA: prompt_area,
    DESTINATION: prompt_destination,
    STREET: prompt_street,
    PHONE: prompt_phone,
    NOTE: prompt_note,
    CONFIRM: prompt_confirm,
}


def unexpected_for(step: str) -> Any:
    async def callback_(update: Update, context: BotContext) -> str | None:
        """Anything this step did not expect: say so kindly and ask again."""
        if update.callback_query is not None:
            await answer_button(update, _("That button belongs to an earlier question."))
        else:
            await reply(update, _("Sorry, I did not understand that. Please use the buttons or type your answer."))
        await PROMPTS[step](update, context)
        return STAY

    return callback_


# --- answers --------------------------------------------------------------------------------------


async def choose_kind(update: Update, context: BotContext) -> str | None:
    """What kind of help."""
    parts = _button(update, "kind")
    if parts is None or parts[0] not in KINDS:
        return await unexpected_for(KIND)(update, context)
    await answer_button(update)
    await retire_buttons(update)
    kind = rules.RequestKind(parts[0])
    context.dialogue["kind"] = kind.value
    if kind not in ASK_CHILDREN:
        context.dialogue["children"] = kind in rules.CHILD_KINDS
    return await advance(update, context)


async def choose_children(update: Update, context: BotContext) -> str | None:
    """Whether children are involved (decides who may be asked: only volunteers approved for children)."""
    parts = _button(update, "kids")
    if parts is None or parts[0] not in ("yes", "no"):
        return await unexpected_for(CHILDREN)(update, context)
    await answer_button(update)
    await retire_buttons(update)
    context.dialogue["children"] = parts[0] == "yes"
    return await advance(update, context)


async def choose_day(update: Update, context: BotContext) -> str | None:
    """A day from the buttons (checked again: not in the past, not too far ahead), or flexible."""
    parts = _button(update, "day")
    if parts is None:
        return await unexpected_for(DAY)(update, context)
    if parts[0] == "flex":
        await answer_button(update)
        await retire_buttons(update)
        context.dialogue["day"] = "flex"
        context.dialogue.pop("start", None)
        context.dialogue.pop("end", None)
        return await advance(update, context)
    try:
        day = date(int(parts[0][:4]), int(parts[0][4:6]), int(parts[0][6:8])) if len(parts[0]) == 8 else None
    except ValueError:
        day = None
    if day is None:
        return await unexpected_for(DAY)(update, context)
    today = _today(context)
    if not today <= day <= today + timedelta(days=DAYS_AHEAD):
        await answer_button(update, _("That day can no longer be chosen."))
        await prompt_day(update, context)
        return STAY
    await answer_button(update)
    await retire_buttons(update)
    context.dialogue["day"] = day.isoformat()
    return await advance(update, context)


def _on_day(window: typed.TypedWindow, day: date, zone: str) -> tuple[datetime, datetime | None]:
    tz = ZoneInfo(zone)
    start = datetime.combine(day, window.start, tzinfo=tz)
    if window.end is None:
        return start, None
    return start, datetime.combine(day + timedelta(days=1 if window.next_day else 0), window.end, tzinfo=tz)


def parse_times(text: str, day: date, zone: str) -> tuple[datetime, datetime | None] | None:
    """'14:30', 'half drie', '19:00-23:00', '20-1' on a local day (see `domain.times`); an end before the start
    runs past midnight."""
    window = typed.parse_window(text)
    return _on_day(window, day, zone) if window is not None else None


def _window_problem(errors: list[str]) -> str:
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
    errors = rules.validate_window(starts_at=start, ends_at=end, flexible_week=False, now=context.now())
    if errors:
        if typed_window is not None and typed_window.next_day and rules.WindowError.TOO_LONG in errors:
            await reply(update, _overnight_problem(typed_window))
        else:
            await reply(update, _window_problem(errors))
        await prompt_time(update, context)
        return STAY
    context.dialogue["start"] = start.isoformat()
    if end is not None:
        context.dialogue["end"] = end.isoformat()
    else:
        context.dialogue.pop("end", None)
    return await advance(update, context)


async def choose_time(update: Update, context: BotContext) -> str | None:
    """A part of the day from the buttons."""
    parts = _button(update, "time")
    if parts is None or parts[0] not in TIME_WINDOWS or context.dialogue.get("day") in (None, "flex"):
        return await unexpected_for(TIME)(update, context)
    day = date.fromisoformat(context.dialogue["day"])
    start_at, end_at, _label = TIME_WINDOWS[parts[0]]
    zone = ZoneInfo(_zone(context))
    await answer_button(update)
    await retire_buttons(update)
    return await _set_times(
        update, context, datetime.combine(day, start_at, tzinfo=zone), datetime.combine(day, end_at, tzinfo=zone)
    )


async def typed_time(update: Update, context: BotContext) -> str | None:
    """A time typed by the family, such as 14:30 or 19:00-23:00."""
    message = update.effective_message
    day_value = context.dialogue.get("day")
    if message is None or day_value in (None, "flex"):
        return await unexpected_for(TIME)(update, context)
    window = typed.parse_window(message.text or "")
    if window is None:
        await reply(update, _("Sorry, that time does not work. Please try again, for example 14:30 or 19:00-23:00."))
        return STAY
    start, end = _on_day(window, date.fromisoformat(day_value), _zone(context))
    return await _set_times(update, context, start, end, window)


async def choose_area(update: Update, context: BotContext) -> str | None:
    """The neighbourhood, for a family that has none in its profile (checked on the server)."""
    parts = _button(update, "area")
    if parts is None:
        return await unexpected_for(AREA)(update, context)
    area_id = int_arg(parts[0]) if parts[0] != "none" else None
    if parts[0] != "none":
        with context.session() as session:
            area = people.get_area(session=session, area_id=area_id or 0)
        if area is None or not area.active:
            await answer_button(update, _("That neighbourhood is no longer available."))
            await prompt_area(update, context)
            return STAY
    await answer_button(update)
    await retire_buttons(update)
    context.dialogue["area"] = area_id
    return await advance(update, context)


async def typed_destination(update: Update, context: BotContext) -> str | None:
    """Where a lift goes, or what "something else" is (the same field; volunteers read it in the offer)."""
    message = update.effective_message
    text = " ".join((message.text or "").split()) if message else ""
    if not text or len(text) > MAX_DESTINATION:
        if context.dialogue.get("kind") == rules.RequestKind.OTHER:
            await reply(update, _("Please describe it in at most {count} characters.").format(count=MAX_DESTINATION))
        else:
            await reply(update, _("Please type the place in at most {count} characters.").format(count=MAX_DESTINATION))
        return STAY
    context.dialogue["destination"] = text
    return await advance(update, context)


async def street(update: Update, context: BotContext) -> str | None:
    """The street and house number (kept on the family's profile), or skipped."""
    if update.callback_query is not None:
        parts = _button(update, "street")
        if parts is None or parts[0] != "skip":
            return await unexpected_for(STREET)(update, context)
        await answer_button(update)
        await retire_buttons(update)
        context.dialogue["street"] = None
        context.dialogue["phone"] = None
        return await advance(update, context)
    message = update.effective_message
    text = " ".join((message.text or "").split()) if message else ""
    if not text or len(text) > MAX_STREET:
        await reply(
            update, _("Please type the street and number in at most {count} characters.").format(count=MAX_STREET)
        )
        return STAY
    context.dialogue["street"] = text
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
    context.dialogue["phone"] = number or None
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
        parts = _button(update, "note")
        if parts is None or parts[0] != "skip":
            return await unexpected_for(NOTE)(update, context)
        await answer_button(update)
        await retire_buttons(update)
        context.dialogue["note"] = None
        return await advance(update, context)
    if message is not None and message.voice is not None:
        context.dialogue["voice"] = message.voice.file_id
        context.dialogue["note"] = None
        return await advance(update, context)
    text = " ".join((message.text or "").split()) if message else ""
    if not text or len(text) > MAX_NOTE:
        await reply(
            update,
            _("Please keep the note to at most {count} characters, or send a voice note.").format(count=MAX_NOTE),
        )
        return STAY
    context.dialogue["note"] = text
    return await advance(update, context)


async def confirm(update: Update, context: BotContext) -> str | None:
    """Send, start again, or cancel."""
    parts = _button(update, "ok")
    if parts is None or parts[0] not in ("send", "again", "stop"):
        return await unexpected_for(CONFIRM)(update, context)
    await answer_button(update)
    await retire_buttons(update)
    if parts[0] == "stop":
        await reply(update, _("Cancelled; nothing was sent. Send /menu when you want to do something else."))
        return END
    if parts[0] == "again":
        keep: dict[str, Any] = {
            key: context.dialogue[key] for key in ("family", "behalf", "zone", "area") if key in context.dialogue
        }
        if "street" in context.dialogue and context.dialogue.get("street") is None:
            keep.update(street=None, phone=None)
        context.dialogue = keep
        return await advance(update, context)
    return await send(update, context)


async def send(update: Update, context: BotContext) -> str | None:
    person = context.person
    assert person is not None and person.id is not None
    data = context.dialogue
    now = context.now()
    starts_at = datetime.fromisoformat(data["start"]) if data.get("start") else None
    ends_at = datetime.fromisoformat(data["end"]) if data.get("end") else None
    flexible = data.get("day") == "flex"
    errors = rules.validate_window(starts_at=starts_at, ends_at=ends_at, flexible_week=flexible, now=now)
    if errors:
        await reply(update, _window_problem(errors))
        for key in ("day", "start", "end"):
            data.pop(key, None)
        return await advance(update, context)
    services = context.services
    nobody = False
    with context.session() as session:
        fresh = _fresh(context, session)
        family = _family(session, context)
        if not _may_send(session, fresh, family, behalf=bool(data.get("behalf"))):
            request = None
        else:
            assert fresh is not None and family is not None and family.id is not None
            if not data.get("behalf") and data.get("street"):
                store.set_contact(
                    session=session,
                    family_id=family.id,
                    street=data["street"],
                    phone=data.get("phone"),
                    share_phone=bool(data.get("phone")),
                )
            if data.get("area") is not None:
                # Asked because the family had no neighbourhood yet: keep it, so the next request knows it.
                people.remember_family_area(session=session, family_id=family.id, area_id=int(data["area"]))
            request = store.create_request(
                session=session,
                family_id=family.id,
                created_by_id=person.id,
                kind=data["kind"],
                involves_children=bool(data.get("children")),
                starts_at=starts_at,
                ends_at=ends_at,
                flexible_week=flexible,
                area_id=data.get("area"),
                destination=data.get("destination"),
                note=data.get("note"),
                voice_file_id=data.get("voice"),
                now=now,
            )
            asked = matching.start(session=session, services=services, request=request, now=now)
            escalated = store.get_request(session=session, request_id=request.id or 0)
            nobody = asked == 0 and escalated is not None and escalated.escalated_at is not None
            if data.get("behalf"):
                _tell_family_behalf(session, request, family, fresh, now)
    if request is None:
        await reply(update, _("This request could not be sent. Send /menu to start again."))
        return END
    event(logger, "request.created", request=request.id, kind=request.kind, behalf=bool(data.get("behalf")))
    if data.get("behalf"):
        await reply(update, _("Sent. You will hear when a volunteer accepts, or when nobody does."))
    elif nobody:
        await reply(
            update,
            _(
                "Sent! Right now no volunteer nearby fits this, so we have asked your coordinator to find someone. "
                "You will hear from us."
            ),
        )
    else:
        await reply(
            update,
            _(
                "Sent! We are asking volunteers nearby. You will get a message as soon as someone accepts. "
                "You can see your requests under /menu, My requests."
            ),
        )
    return END


def _may_send(session: Session, person: Person | None, family: Person | None, *, behalf: bool) -> bool:
    """The family itself, or a coordinator who may see the family's file (checked again when sending)."""
    profile = people.get_family(session=session, person_id=family.id) if family and family.id else None
    if person is None or family is None or profile is None or not _is_family(family):
        return False
    if not behalf:
        return person.id == family.id
    return _may_act_for(session, person, family, None)


def _may_act_for(session: Session, coordinator: Person | None, family: Person, now: datetime | None) -> bool:
    """A coordinator asks on a family's behalf: see `domain.permissions.Action.ACT_FOR_FAMILY` (audited with `now`)."""
    action = Action.ACT_FOR_FAMILY
    return bool(
        authorize(
            session=session, actor=coordinator, action=action, family_id=family.id, now=now, audit=now is not None
        )
    )


def _tell_family_behalf(session: Session, request: HelpRequest, family: Person, coordinator: Person, now: Any) -> None:
    with use_language(family.language):
        text = "\n".join(
            [
                _("📝 {coordinator} asked for help for you:").format(coordinator=hi(matching.name_of(coordinator))),
                matching.summary(session, request, family, with_family=False),
                _("You will hear when a volunteer accepts."),
            ]
        )
    notify(session=session, person=family, key=f"behalf:{request.id}", text=text, now=now)


# --- my requests ----------------------------------------------------------------------------------


async def show_requests(update: Update, context: BotContext) -> None:
    """The family's requests with what is happening to each, and buttons to cancel, thank and give back."""
    person = context.person
    if not _is_family(person) or person is None or person.id is None:
        await reply(update, _("This is for families. Send /menu to see what you can do."))
        return
    rows: list[list[tuple[str, str]]] = []
    now = context.now()
    with context.session() as session:
        found = store.family_requests(session=session, family_id=person.id, limit=10)
        # Coming up first, soonest first; then those that are over or closed, the latest first.
        upcoming = sorted(
            (request for request in found if _may_withdraw(request, person.timezone, now)),
            key=lambda request: _moment(request, person.timezone),
        )
        coming = {request.id for request in upcoming}
        over = sorted(
            (request for request in found if request.id not in coming),
            key=lambda request: _moment(request, person.timezone),
            reverse=True,
        )
        items = upcoming + over
        lines = [_("<b>Your requests</b>")]
        for request in items:
            assert request.id is not None
            withdraw = request.id in coming
            status = matching.status_text(session, request)
            if not withdraw and request.status in store.ACTIVE:
                # Its time is over: accepted help is done (the outcome is asked); open help found nobody.
                ended = rules.RequestStatus.DONE
                if request.status != rules.RequestStatus.ACCEPTED:
                    ended = rules.RequestStatus.EXPIRED
                status = _(matching.STATUS_LABELS[ended])
            lines.append(
                "\n"
                + ("" if withdraw else "✔️ ")
                + _("{what}, {when}: <b>{status}</b>").format(
                    what=h(matching.kind_label(request.kind)),
                    when=h(matching.when_text(request, person.timezone, person.language)),
                    status=status,
                )
            )
            short = matching.kind_label(request.kind)
            if withdraw:
                when = (
                    format_stamp(request.starts_at, person.timezone, person.language)
                    if request.starts_at is not None and not request.flexible_week
                    else _("this week")
                )
                rows.append(
                    [
                        (
                            _("✖️ Cancel: {what}, {when}").format(what=short, when=when),
                            callback(PREFIX, "cx", request.id),
                        )
                    ]
                )
            elif request.status == rules.RequestStatus.DONE and not store.was_thanked(
                session=session, request_id=request.id
            ):
                volunteer = (
                    people.get_person(session=session, person_id=request.assigned_volunteer_id)
                    if request.assigned_volunteer_id
                    else None
                )
                if volunteer is not None:
                    rows.append(
                        [
                            (
                                _("💛 Thank {name}").format(name=matching.name_of(volunteer)),
                                callback(PREFIX, "thank", request.id),
                            )
                        ]
                    )
    if not items:
        lines.append(_("You have not asked for help yet."))
    rows.append([(_("🙋 Ask for help"), callback("menu", "ask"))])
    await reply(update, "\n".join(lines), keyboard(rows))


def _moment(request: HelpRequest, zone: str) -> datetime:
    """When a request is, for ordering: its start, or the end of its flexible week."""
    if request.starts_at is not None and not request.flexible_week:
        return request.starts_at.astimezone(UTC)
    return rules.end_of_local_week(request.created_at, zone=zone)


def _may_withdraw(request: HelpRequest, zone: str, now: datetime) -> bool:
    """Still open or accepted and its time not over: the family may withdraw it."""
    past = rules.is_past(
        starts_at=request.starts_at,
        ends_at=request.ends_at,
        flexible_week=request.flexible_week,
        created_at=request.created_at,
        now=now,
        zone=zone,
    )
    return request.status in store.ACTIVE and not past


async def ask_cancel(update: Update, context: BotContext) -> None:
    """A cancel button: show the request and ask to confirm."""
    parts = _button(update, "cx")
    request_id = int_arg(parts[0]) if parts else None
    person = context.person
    with context.session() as session:
        request = store.get_request(session=session, request_id=request_id) if request_id else None
        ok = (
            request is not None
            and person is not None
            and person.id == request.family_id
            and _may_withdraw(request, person.timezone, context.now())
        )
        text = matching.summary(session, request, person, with_family=False) if ok and request and person else ""
    if not ok or request is None:
        await answer_stale(update)
        return
    await answer_button(update)
    await reply(
        update,
        _("Cancel this request?") + "\n" + text,
        keyboard(
            [
                [
                    (_("Yes, cancel it"), callback(PREFIX, "cxy", request.id)),
                    (_("No, keep it"), callback(PREFIX, "keep", request.id)),
                ]
            ]
        ),
    )


async def do_cancel(update: Update, context: BotContext) -> None:
    """Confirmed: the family cancels its request (rights and status checked again, once)."""
    parts = _button(update, "cxy")
    request_id = int_arg(parts[0]) if parts else None
    person = context.person
    services = context.services
    now = context.now()
    done = False
    allowed = False
    with context.session() as session:
        fresh = _fresh(context, session)
        request = store.get_request(session=session, request_id=request_id) if request_id else None
        if fresh is not None and request is not None and request.id is not None:
            event_name = permissions.cancel_event(
                actor_of(session=session, person=fresh), request.family_id, request.assigned_volunteer_id
            )
            # Families cancel their own requests here; coordinators and volunteers have their own buttons.
            allowed = event_name == permissions.FAMILY_CANCEL and (
                request.status not in store.ACTIVE or _may_withdraw(request, fresh.timezone, now)
            )
            if allowed:
                changed = store.apply_event(
                    session=session, request_id=request.id, event=rules.RequestEvent.FAMILY_CANCEL, now=now
                )
                if changed is not None:
                    matching.family_cancelled(
                        session=session, services=services, request=changed[0], before=changed[1], now=now
                    )
                    done = True
    if not allowed or person is None:
        await answer_stale(update)
        return
    if not done:
        await answer_button(update, _("This request was already closed."))
        await retire_buttons(update, show_choice=False)
        return
    await answer_button(update)
    await retire_buttons(update)
    event(logger, "request.cancelled", request=request_id, by="family")
    await reply(update, _("Your request is cancelled. Whoever was asked has been told."))


async def keep(update: Update, context: BotContext) -> None:
    """'No, keep it'."""
    await answer_button(update)
    await retire_buttons(update)
    await reply(update, _("All right, the request stays."))


async def thank(update: Update, context: BotContext) -> None:
    """'Thank <volunteer>' from My requests or the debrief: a message to the volunteer, once."""
    parts = _button(update, "thank")
    request_id = int_arg(parts[0]) if parts else None
    await thank_for(update, context, request_id)


async def thank_for(update: Update, context: BotContext, request_id: int | None) -> None:
    person = context.person
    now = context.now()
    with context.session() as session:
        fresh = _fresh(context, session)
        request = store.get_request(session=session, request_id=request_id) if request_id else None
        sent = (
            fresh is not None
            and request is not None
            and matching.thank(session=session, request=request, family=fresh, now=now)
        )
        volunteer = (
            people.get_person(session=session, person_id=request.assigned_volunteer_id)
            if request is not None and request.assigned_volunteer_id
            else None
        )
    await retire_buttons(update, show_choice=sent)
    if not sent or person is None:
        await answer_button(update, _("Your thanks were already passed on."))
        return
    await answer_button(update)
    await reply(
        update,
        _("💛 We passed on your thanks to {name}.").format(name=hi(matching.name_of(volunteer)))
        + "\n"
        + _("Would you like to do something in return some day? Tap Offer something back in the /menu."),
    )


# --- giving back ----------------------------------------------------------------------------------


async def give_back(update: Update, context: BotContext) -> None:
    """Offer something back: what."""
    if not _is_family(context.person):
        await reply(update, _("This is for families. Send /menu to see what you can do."))
        return
    buttons = [(matching.kind_label(kind), callback(PREFIX, "give", kind)) for kind in GIVE_BACK]
    await reply(
        update,
        _(
            "Lovely that you would like to give something back! Helping each other is what makes a neighbourhood. "
            "What could you offer? Small things count too."
        ),
        keyboard([buttons[index : index + 2] for index in range(0, len(buttons), 2)]),
    )


async def give_what(update: Update, context: BotContext) -> None:
    """Offer something back: to whom (the support family, or anyone in the neighbourhood)."""
    parts = _button(update, "give")
    person = context.person
    if parts is None or parts[0] not in GIVE_BACK or not _is_family(person) or person is None:
        await answer_stale(update)
        return
    with context.session() as session:
        profile = people.get_family(session=session, person_id=person.id or 0)
        support = (
            people.get_person(session=session, person_id=profile.support_volunteer_id)
            if profile is not None and profile.support_volunteer_id
            else None
        )
    await answer_button(update)
    await retire_buttons(update)
    buttons = []
    if support is not None:
        buttons.append(
            (_("To {name}").format(name=matching.name_of(support)), callback(PREFIX, "to", parts[0], "support"))
        )
    buttons.append((_("To someone in the neighbourhood"), callback(PREFIX, "to", parts[0], "hood")))
    await reply(update, _("Who would you like to offer it to?"), column(buttons))


async def give_to(update: Update, context: BotContext) -> None:
    """Offer something back: the coordinators (and the support volunteer) hear of it."""
    parts = _button(update, "to", size=3)
    person = context.person
    if parts is None or parts[0] not in GIVE_BACK or parts[1] not in ("support", "hood") or person is None:
        await answer_stale(update)
        return
    kind, target = parts
    now = context.now()
    with context.session() as session:
        passed_on = _pass_on_give_back(session, person, kind, target, now)
    if not passed_on:
        await answer_stale(update)
        return
    await answer_button(update)
    await retire_buttons(update)
    await reply(update, _("Thank you, that is lovely! Your coordinator will get in touch to arrange it."))


def _pass_on_give_back(session: Session, person: Person, kind: str, target: str, now: datetime) -> bool:
    """Tell the family's coordinators (and the support volunteer, when it is for them); false if not allowed."""
    fresh = people.get_person(session=session, person_id=person.id or 0)
    profile = people.get_family(session=session, person_id=person.id or 0)
    if fresh is None or not _is_family(fresh) or profile is None:
        return False
    support = (
        people.get_person(session=session, person_id=profile.support_volunteer_id)
        if target == "support" and profile.support_volunteer_id
        else None
    )
    if target == "support" and support is None:
        return False
    stamp = f"{now:%Y%m%d%H%M}"
    for coordinator in alerts.coordinators_for(session, fresh):
        with use_language(coordinator.language):
            what = matching.kind_label(kind)
            if support is not None:
                text = _("💛 {family} would like to do something in return for {name}: {what}.").format(
                    family=hi(matching.name_of(fresh)), name=hi(matching.name_of(support)), what=h(what)
                )
            else:
                text = _("💛 {family} would like to help someone in the neighbourhood: {what}.").format(
                    family=hi(matching.name_of(fresh)), what=h(what)
                )
            text += "\n" + _("Please get in touch to arrange it.")
        notify(
            session=session, person=coordinator, key=f"giveback:{fresh.id}:{coordinator.id}:{stamp}", text=text, now=now
        )
    if support is not None:
        with use_language(support.language):
            text = _(
                "💛 {family} would like to do something for you in return: {what}. "
                "Your coordinator will help to arrange it."
            ).format(family=hi(matching.name_of(fresh)), what=h(matching.kind_label(kind)))
        notify(session=session, person=support, key=f"giveback:{fresh.id}:{support.id}:{stamp}", text=text, now=now)
    people.add_timeline(
        session=session, family_id=fresh.id, kind="offered_back", now=now, actor_id=fresh.id, what=kind, to=target
    )
    return True


# --- registration ---------------------------------------------------------------------------------


async def requests_command(update: Update, context: BotContext) -> None:
    """/requests: a family's requests; a volunteer's tasks; a coordinator's open requests."""
    person = context.person
    if person is None or person.consent_at is None:
        await reply(update, _("You are not signed up yet. Send /start to begin."))
    elif person.role == Role.COORDINATOR:
        await show_open_requests(update, context)
    elif person.role == Role.VOLUNTEER:
        await show_tasks(update, context)
    else:
        await show_requests(update, context)


def build() -> Dialogue:
    private = filters.ChatType.PRIVATE
    text = filters.UpdateType.MESSAGE & private & filters.TEXT & ~filters.COMMAND
    anything = filters.UpdateType.MESSAGE & private & ~filters.COMMAND

    def button(action: str) -> str:
        return rf"^{PREFIX}:{action}:"

    def step(handlers: list[BaseHandler[Any, Any, Any]], state: str) -> list[BaseHandler[Any, Any, Any]]:
        # Anything unexpected in a step is answered kindly; other features' buttons pass through.
        return [
            *handlers,
            MessageHandler(anything, unexpected_for(state)),
            CallbackQueryHandler(
                unexpected_for(state), pattern=rf"^{PREFIX}:(kind|kids|day|time|area|street|note|ok):"
            ),
        ]

    return Dialogue(
        name=NAME,
        entry_points=[
            CommandHandler("ask", start_ask, filters=filters.UpdateType.MESSAGE & private),
            CallbackQueryHandler(start_ask, pattern=r"^menu:ask$"),
            CallbackQueryHandler(start_for_family, pattern=rf"^{PREFIX}:for:\d+$"),
        ],
        states={
            KIND: step([CallbackQueryHandler(choose_kind, pattern=button("kind"))], KIND),
            DESCRIBE: step([MessageHandler(text, typed_destination)], DESCRIBE),
            CHILDREN: step([CallbackQueryHandler(choose_children, pattern=button("kids"))], CHILDREN),
            DAY: step([CallbackQueryHandler(choose_day, pattern=button("day"))], DAY),
            TIME: step(
                [CallbackQueryHandler(choose_time, pattern=button("time")), MessageHandler(text, typed_time)], TIME
            ),
            AREA: step([CallbackQueryHandler(choose_area, pattern=button("area"))], AREA),
            DESTINATION: step([MessageHandler(text, typed_destination)], DESTINATION),
            STREET: step(
                [CallbackQueryHandler(street, pattern=button("street")), MessageHandler(text, street)], STREET
            ),
            PHONE: step(
                [MessageHandler(filters.UpdateType.MESSAGE & private & (filters.CONTACT | text), phone)], PHONE
            ),
            NOTE: step(
                [
                    CallbackQueryHandler(note, pattern=button("note")),
                    MessageHandler(text | (filters.UpdateType.MESSAGE & private & filters.VOICE), note),
                ],
                NOTE,
            ),
            CONFIRM: step([CallbackQueryHandler(confirm, pattern=button("ok"))], CONFIRM),
        },
    )


def build_handlers() -> list[BaseHandler[Any, Any, Any]]:
    """Buttons outside the dialogue (they work at any time, also mid-dialogue) and /requests."""
    private = filters.UpdateType.MESSAGE & filters.ChatType.PRIVATE
    return [
        CommandHandler("requests", requests_command, filters=private),
        CallbackQueryHandler(ask_cancel, pattern=rf"^{PREFIX}:cx:\d+$"),
        CallbackQueryHandler(do_cancel, pattern=rf"^{PREFIX}:cxy:\d+$"),
        CallbackQueryHandler(keep, pattern=rf"^{PREFIX}:keep:\d+$"),
        CallbackQueryHandler(thank, pattern=rf"^{PREFIX}:thank:\d+$"),
        CallbackQueryHandler(give_what, pattern=rf"^{PREFIX}:give:"),
        CallbackQueryHandler(give_to, pattern=rf"^{PREFIX}:to:"),
    ]


def register_menu() -> None:
    family = {str(Role.FAMILY)}
    menu.add("ask", N_("🙋 Ask for help"), family)
    menu.add("myrequests", N_("My requests"), family, show_requests)
    menu.add("giveback", N_("💛 Offer something back"), family, give_back)
