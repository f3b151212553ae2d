"""The questions of the request dialogue, and its draft: what the family answered so far.

The answers and the sending are in `conversations.requests`; the rules in `services.requests`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, Self
from zoneinfo import ZoneInfo

from telegram import KeyboardButton, ReplyKeyboardMarkup, Update

from conversations.context import BotContext
from conversations.dialogue import AskingAgain, Draft, draft_of
from conversations.ui import column, keyboard, reply
from domain import requests as rules
from services import requests as service
from services.i18n import N_, _, format_day, h
from services.requests import AREA, CONFIRM, DAY, KIDS, KIND, NOTE, STREET, TIME, NewRequest
from services.tasks import kind_label

NAME = "ask"  # the dialogue's name, saved with its steps

# States, in the order a family meets them (steps that are already known are skipped).
KIND_STEP = "kind"
DESCRIBE = "describe"
CHILDREN = "children"
DAY_STEP = "day"
TIME_STEP = "time"
AREA_STEP = "area"
DESTINATION = "destination"
STREET_STEP = "street"
PHONE = "phone"
NOTE_STEP = "note"
CONFIRM_STEP = "confirm"

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


@dataclass
class RequestDraft(Draft):
    """The answers so far (saved under the same keys as before). `*_known`: answered, also when with nothing."""

    family: int | None = None
    zone: str | None = None
    behalf: bool = False
    kind: str | None = None
    children: bool | None = None
    day: str | None = None  # an ISO date, or "flex"
    start: str | None = None
    end: str | None = None
    area: int | None = None
    area_known: bool = False
    destination: str | None = None
    street: str | None = None
    street_known: bool = False
    phone: str | None = None
    phone_known: bool = False
    note: str | None = None
    note_known: bool = False
    voice: str | None = None

    @classmethod
    def load(cls, data: Mapping[str, Any]) -> Self:
        """A saved draft; one saved before the `*_known` fields counts a present key as answered."""
        draft = super().load(data)
        for name in ("area", "street", "phone", "note"):
            if f"{name}_known" not in data:
                setattr(draft, f"{name}_known", name in data)
        return draft

    def set_area(self, area_id: int | None) -> None:
        """The neighbourhood (None: not listed)."""
        self.area, self.area_known = area_id, True

    def set_street(self, street: str | None) -> None:
        """The street and number; skipping it skips the phone too."""
        self.street, self.street_known = street, True
        if street is None:
            self.phone, self.phone_known = None, True

    def set_phone(self, phone: str | None) -> None:
        """The phone number to share, or None."""
        self.phone, self.phone_known = phone, True

    def set_note(self, note: str | None, voice: str | None = None) -> None:
        """A typed note, a voice note, or nothing."""
        self.note, self.note_known = note, True
        if voice is not None:
            self.voice = voice

    def again(self) -> RequestDraft:
        """Start again: only who it is for, where, and a skipped address stay."""
        fresh = RequestDraft(family=self.family, zone=self.zone, behalf=self.behalf)
        if self.area_known:
            fresh.set_area(self.area)
        if self.street_known and self.street is None:
            fresh.set_street(None)
        return fresh

    def as_new(self) -> NewRequest:
        """The answers as the service takes them."""
        return NewRequest(
            family_id=int(self.family or 0),
            behalf=self.behalf,
            kind=self.kind or "",
            involves_children=bool(self.children),
            starts_at=datetime.fromisoformat(self.start) if self.start else None,
            ends_at=datetime.fromisoformat(self.end) if self.end else None,
            flexible_week=self.day == "flex",
            area_id=self.area,
            destination=self.destination,
            note=self.note,
            voice_file_id=self.voice,
            street=self.street,
            phone=self.phone,
        )


def zone_of(context: BotContext) -> str:
    """The family's time zone (the bot's when unknown)."""
    return str(draft_of(context, RequestDraft).zone or context.services.settings.timezone)


def local_today(context: BotContext) -> date:
    """The family's local date."""
    return context.now().astimezone(ZoneInfo(zone_of(context))).date()


def next_step(draft: RequestDraft) -> str:
    """The first question without an answer yet."""
    if not draft.kind:
        return KIND_STEP
    if draft.kind == rules.RequestKind.OTHER and draft.destination is None:
        return DESCRIBE
    if draft.children is None:
        return CHILDREN
    if draft.day is None:
        return DAY_STEP
    if draft.day != "flex" and draft.start is None:
        return TIME_STEP
    if not draft.area_known:
        return AREA_STEP
    if draft.kind == rules.RequestKind.LIFT and draft.destination is None:
        return DESTINATION
    if not draft.street_known:
        return STREET_STEP
    if not draft.phone_known:
        return PHONE
    if not draft.note_known:
        return NOTE_STEP
    return CONFIRM_STEP


async def advance(update: Update, context: BotContext) -> str:
    """Ask the first question that has no answer yet; returns its state."""
    step = next_step(draft_of(context, RequestDraft))
    await PROMPTS[step](update, context)
    return step


# --- prompts ---


async def prompt_kind(update: Update, context: BotContext) -> None:
    """Ask the kind question."""
    buttons = [(kind_label(kind), KIND.data(kind)) for kind in KINDS]
    rows = [buttons[index : index + 2] for index in range(0, len(buttons), 2)]
    await reply(update, _("What would you like help with?"), keyboard(rows))


async def prompt_children(update: Update, context: BotContext) -> None:
    """Ask the children question."""
    await reply(
        update,
        _("Is it for a child, or will children be there?"),
        keyboard([[(_("Yes"), KIDS.data("yes")), (_("No"), KIDS.data("no"))]]),
    )


def _day_options(context: BotContext) -> list[tuple[str, str]]:
    """Today, tomorrow and the days of the coming week, as buttons."""
    today = local_today(context)
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
        options.append((label, DAY.data(f"{day:%Y%m%d}")))
    return options


async def prompt_day(update: Update, context: BotContext) -> None:
    """Ask the day question."""
    options = _day_options(context)
    rows = [options[index : index + 2] for index in range(0, len(options), 2)]
    rows.append([(_("📅 Flexible, some time this week"), DAY.data("flex"))])
    await reply(update, _("When do you need it?"), keyboard(rows))


def _windows_left(context: BotContext, day: date) -> list[str]:
    """The parts of this day that are still ahead."""
    zone = ZoneInfo(zone_of(context))
    now = context.now()
    return [
        key for key, (start, _end, _label) in TIME_WINDOWS.items() if datetime.combine(day, start, tzinfo=zone) > now
    ]


async def prompt_time(update: Update, context: BotContext) -> None:
    """Ask the time question."""
    day = date.fromisoformat(draft_of(context, RequestDraft).day or "")
    # Only parts of the day still ahead; later today a time can still be typed.
    buttons = [(_(TIME_WINDOWS[key][2]), TIME.data(key)) for key in _windows_left(context, day)]
    language = context.person.language if context.person else None
    await reply(
        update,
        _("What time on {day}? Tap a part of the day, or type a time, for example 14:30 or 19:00-23:00.").format(
            day=h(format_day(day, language))
        ),
        column(buttons) if buttons else None,
    )


async def prompt_area(update: Update, context: BotContext) -> None:
    """Ask the area question."""
    with context.session() as session:
        areas = service.open_areas(session=session)
    buttons = [(name, AREA.data(str(area_id))) for area_id, name in areas]
    buttons.append((_("My neighbourhood is not listed"), AREA.data("none")))
    await reply(update, _("In which neighbourhood?"), column(buttons))


async def prompt_describe(update: Update, context: BotContext) -> None:
    """Ask the describe question."""
    await reply(
        update,
        _(
            "What do you need help with? Describe it in a few words, for example: carrying a cupboard upstairs. "
            "Volunteers read this before they accept, so do not write your address here."
        ),
    )


async def prompt_destination(update: Update, context: BotContext) -> None:
    """Ask the destination question."""
    await reply(
        update,
        _(
            "Where to? Type the place, for example: the hospital, the station, the school. "
            "Volunteers read this before they accept, so do not write your address here."
        ),
    )


async def prompt_street(update: Update, context: BotContext) -> None:
    """Ask the street question."""
    await reply(
        update,
        _(
            "Which street and house number should the volunteer come to? "
            "Only the volunteer who accepts your request sees it. We remember it for next time."
        ),
        column([(_("Skip"), STREET.data("skip"))]),
    )


async def prompt_phone(update: Update, context: BotContext) -> None:
    """Ask the phone question."""
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
    """Ask the note question."""
    await reply(
        update,
        _(
            "Anything the volunteer should know? Type a short note or send a voice note. "
            "The volunteer sees it only after accepting. Or tap Skip."
        ),
        column([(_("Skip"), NOTE.data("skip"))]),
    )


async def prompt_confirm(update: Update, context: BotContext) -> None:
    """Everything back to check, with Send / Start again / Cancel."""
    person = context.person
    assert person is not None
    with context.session() as session:
        text = service.confirmation(
            session=session, new=draft_of(context, RequestDraft).as_new(), reader=person, now=context.now()
        )
    rows = [
        [(_("✅ Send"), CONFIRM.data("send"))],
        [(_("✏️ Start again"), CONFIRM.data("again")), (_("✖️ Cancel"), CONFIRM.data("stop"))],
    ]
    await reply(update, text, keyboard(rows))


PROMPTS = {
    KIND_STEP: prompt_kind,
    DESCRIBE: prompt_describe,
    CHILDREN: prompt_children,
    DAY_STEP: prompt_day,
    TIME_STEP: prompt_time,
    AREA_STEP: prompt_area,
    DESTINATION: prompt_destination,
    STREET_STEP: prompt_street,
    PHONE: prompt_phone,
    NOTE_STEP: prompt_note,
    CONFIRM_STEP: prompt_confirm,
}


# Anything unexpected in a step is answered kindly and the step asked again; other features' buttons pass through.
STEPS = AskingAgain(PROMPTS, r"^rq:(kind|kids|day|time|area|street|note|ok):")
