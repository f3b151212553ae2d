"""The helper profile: a volunteer edits where, with what and when they help (and, once approved, how many
requests a week); a family that wants to help others too fills in the same profile (`vp:new`) and its
coordinator approves it like any volunteer (`conversations.approvals`). The rules are in `services.volunteers`."""

from __future__ import annotations

import dataclasses
import logging

from telegram import Update
from telegram.error import BadRequest
from telegram.ext import CallbackQueryHandler, MessageHandler

from conversations import menu
from conversations.context import BotContext
from conversations.dialogue import ANYTHING, END, STAY, Dialogue, Draft, draft_of
from conversations.ui import (
    CHECKED,
    UNCHECKED,
    answer_button,
    answer_stale,
    callback,
    close_tap,
    column,
    keyboard,
    not_understood,
    reply,
    retire_buttons,
    tapped_values,
)
from services.i18n import LANGUAGE_NAMES, N_, _, h, hi
from services.skills import SKILL_LABELS
from services.volunteers import (
    CAPS,
    PAUSE_MENU,
    PROFILE_CAP,
    PROFILE_DONE,
    PROFILE_EDIT,
    PROFILE_NEW,
    PROFILE_SAVE,
    PROFILE_STOP,
    PROFILE_TOGGLE,
    TASK_LIST,
    HelperProfile,
    area_options,
    helper_status,
    load_profile,
    save_profile,
)
from storage.models import VolunteerStatus

logger = logging.getLogger(__name__)

NAME = "vprofile"
OVERVIEW = "overview"
TOGGLE = "toggle"
CAP = "cap"
TIME_LABELS = {
    "wkmorning": N_("Weekday mornings"),
    "wkafternoon": N_("Weekday afternoons"),
    "wkevening": N_("Weekday evenings"),
    "saturday": N_("Saturday"),
    "sunday": N_("Sunday"),
}
FIELD_PROMPTS = {
    "areas": N_("Which neighbourhoods can you help in? Tap all that apply, then Done."),
    "skills": N_("What can you help with? Tap all that apply, then Done."),
    "times": N_("When are you usually available? Tap all that apply, then Done."),
    "langs": N_("Which languages do you speak? Tap all that apply, then Done."),
}


@dataclasses.dataclass
class ProfileDraft(Draft):
    """The profile being edited; the saved keys are the old dialogue's (`areas`, `skills`, ..., `field`)."""

    areas: list[str] = dataclasses.field(default_factory=list)
    skills: list[str] = dataclasses.field(default_factory=list)
    times: list[str] = dataclasses.field(default_factory=list)
    langs: list[str] = dataclasses.field(default_factory=list)
    cap: int | None = None
    approved: bool = False
    new: bool = False
    field: str = ""  # the part being edited

    def chosen(self, part: str) -> list[str]:
        """The keys chosen for one part of the profile."""
        return list(getattr(self, part)) if part in FIELD_PROMPTS else []

    def profile(self) -> HelperProfile:
        """What the service saves."""
        return HelperProfile(self.areas, self.skills, self.times, self.langs, self.cap, self.approved, self.new)


# --- a family that helps too ----------------------------------------------------------------------


async def help_others(update: Update, context: BotContext) -> None:
    """For families: become a volunteer too (with the coordinator's approval), or the helper panel."""
    with context.session() as session:
        status = helper_status(session=session, person=context.person)
    if status is None:
        await reply(
            update,
            _(
                "Families who were helped often like to help others too, and that is very welcome. "
                "Tell us what you could do; your coordinator will then have a short talk with you and approve it."
            ),
            column([(_("🙋 Yes, I would like to help"), PROFILE_NEW.data())]),
        )
    elif status == VolunteerStatus.PENDING:
        await reply(update, _("Thank you! Your coordinator still has to approve this. You will hear from us."))
    elif status == VolunteerStatus.REJECTED:
        await reply(
            update, _("Your coordinator decided not to go ahead with this for now. Ask them if you have questions.")
        )
    else:
        await reply(
            update,
            _("<b>Helping others</b>"),
            column(
                [
                    (_("My tasks"), TASK_LIST.data()),
                    (_("Pause or resume"), PAUSE_MENU.data()),
                    (_("My helper profile"), callback("menu", "vprofile")),
                ]
            ),
        )


# --- the helper profile ---------------------------------------------------------------------------


def _options(part: str, context: BotContext) -> list[tuple[str, str]]:
    """The choices for one part of the profile, as (key, label) in the reader's language."""
    if part == "areas":
        with context.session() as session:
            return area_options(session=session)
    if part == "skills":
        return [(key, _(label)) for key, label in SKILL_LABELS.items()]
    if part == "times":
        return [(key, _(label)) for key, label in TIME_LABELS.items()]
    return list(LANGUAGE_NAMES.items())


async def start_profile(update: Update, context: BotContext) -> str | None:
    """My helper profile (a volunteer), or 'I would like to help' (a family): load what is there and show it."""
    await answer_button(update)
    new = tapped_values(update, PROFILE_NEW) is not None
    with context.session() as session:
        loaded = load_profile(session=session, person=context.person, new=new)
    if loaded is None:
        await reply(update, _("This is for volunteers. Send /menu to see what you can do."))
        return END
    context.draft = ProfileDraft(
        areas=loaded.areas,
        skills=loaded.skills,
        times=loaded.times,
        langs=loaded.langs,
        cap=loaded.cap,
        approved=loaded.approved,
        new=loaded.new,
    )
    if new:
        await retire_buttons(update)
    await show_overview(update, context)
    return OVERVIEW


def _labels(part: str, keys: list[str], context: BotContext) -> str:
    """The chosen options of one part, as their labels."""
    options = dict(_options(part, context))
    chosen = [options[key] for key in keys if key in options]
    return ", ".join(chosen) if chosen else _("(none yet)")


async def show_overview(update: Update, context: BotContext) -> None:
    """The profile as it is now, with a button per part, Save (or Send to my coordinator) and Stop."""
    draft = draft_of(context, ProfileDraft)
    lines = [
        _("<b>Your helper profile</b>"),
        _("Neighbourhoods: {areas}").format(areas=h(_labels("areas", draft.areas, context))),
        _("Can help with: {skills}").format(skills=h(_labels("skills", draft.skills, context))),
        _("Usually available: {times}").format(times=h(_labels("times", draft.times, context))),
        _("Languages: {languages}").format(languages=h(_labels("langs", draft.langs, context))),
    ]
    buttons = [
        (_("🏘 Neighbourhoods"), PROFILE_EDIT.data("areas")),
        (_("🧰 What I can help with"), PROFILE_EDIT.data("skills")),
        (_("🕒 When I am available"), PROFILE_EDIT.data("times")),
        (_("🌐 Languages"), PROFILE_EDIT.data("langs")),
    ]
    if draft.approved:
        lines.append(_("Requests per week at most: {count}").format(count=hi(draft.cap or 0)))
        buttons.append((_("🔢 Requests per week"), PROFILE_EDIT.data("cap")))
    if draft.new:
        buttons.append((_("✅ Send to my coordinator"), PROFILE_SAVE.data()))
    else:
        buttons.append((_("✅ Save"), PROFILE_SAVE.data()))
    buttons.append((_("✖️ Stop"), PROFILE_STOP.data()))
    await reply(update, "\n".join(lines), column(buttons))


def _toggle_rows(options: list[tuple[str, str]], chosen: list[str]) -> list[list[tuple[str, str]]]:
    """A row per option, ticked when chosen, and Done."""
    rows = [[((CHECKED if key in chosen else UNCHECKED) + label, PROFILE_TOGGLE.data(key))] for key, label in options]
    rows.append([(_("Done"), PROFILE_DONE.data())])
    return rows


async def earlier_button(update: Update, context: BotContext) -> str | None:
    """A profile button of another step (an earlier question)."""
    await not_understood(update)
    return STAY


async def edit_part(update: Update, context: BotContext) -> str | None:
    """Edit one part of the profile: its options to tick, or the weekly cap (approved volunteers only)."""
    parsed = tapped_values(update, PROFILE_EDIT)
    part = parsed[0] if parsed else ""
    draft = draft_of(context, ProfileDraft)
    if part not in (*FIELD_PROMPTS, "cap"):
        return await earlier_button(update, context)
    if part == "cap" and not draft.approved:
        await answer_stale(update)
        return STAY
    await answer_button(update)
    await retire_buttons(update)
    draft.field = part
    if part == "cap":
        labels = [(str(cap) if cap else _("None for now"), PROFILE_CAP.data(cap)) for cap in CAPS]
        await reply(update, _("How many requests a week would you like to get at most?"), keyboard([labels]))
        return CAP
    rows = _toggle_rows(_options(part, context), draft.chosen(part))
    await reply(update, _(FIELD_PROMPTS[part]), keyboard(rows))
    return TOGGLE


async def stop(update: Update, context: BotContext) -> str | None:
    """Stop without saving."""
    if tapped_values(update, PROFILE_STOP) is None:
        return await earlier_button(update, context)
    await close_tap(update, _("Nothing was changed. Send /menu when you want to do something else."))
    return END


async def toggle(update: Update, context: BotContext) -> str | None:
    """Toggle one option of the part being edited."""
    parsed = tapped_values(update, PROFILE_TOGGLE)
    draft = draft_of(context, ProfileDraft)
    options = _options(draft.field, context) if draft.field in FIELD_PROMPTS else []
    if parsed is None or parsed[0] not in {key for key, _label in options}:
        return await earlier_button(update, context)
    key = parsed[0]
    chosen = draft.chosen(draft.field)
    chosen = [item for item in chosen if item != key] if key in chosen else [*chosen, key]
    setattr(draft, draft.field, chosen)
    await answer_button(update)
    query = update.callback_query
    assert query is not None
    try:
        await query.edit_message_reply_markup(keyboard(_toggle_rows(options, chosen)))
    except BadRequest:  # a double tap can leave the keyboard already in this state
        logger.debug("volunteering.toggle_not_modified")
    return STAY


async def done(update: Update, context: BotContext) -> str | None:
    """Done with a part: back to the overview."""
    if tapped_values(update, PROFILE_DONE) is None or draft_of(context, ProfileDraft).field not in FIELD_PROMPTS:
        return await earlier_button(update, context)
    await answer_button(update)
    await retire_buttons(update)
    await show_overview(update, context)
    return OVERVIEW


async def choose_cap(update: Update, context: BotContext) -> str | None:
    """Requests per week at most."""
    parsed = tapped_values(update, PROFILE_CAP)
    if parsed is None or parsed[0] not in CAPS:
        return await earlier_button(update, context)
    await answer_button(update)
    await retire_buttons(update)
    draft_of(context, ProfileDraft).cap = parsed[0]
    await show_overview(update, context)
    return OVERVIEW


async def save(update: Update, context: BotContext) -> str | None:
    """Save the profile; a family's new helper profile goes to its coordinators for approval."""
    if tapped_values(update, PROFILE_SAVE) is None:
        return await earlier_button(update, context)
    draft = draft_of(context, ProfileDraft)
    if not draft.skills or not draft.times:
        await answer_button(update, _("Please choose at least what you can help with and when."))
        return STAY
    person = context.person
    assert person is not None and person.id is not None
    with context.session() as session:
        saved = save_profile(session=session, person=person, profile=draft.profile(), now=context.now())
    await answer_button(update)
    await retire_buttons(update)
    if not saved:
        await reply(update, _("This could not be saved. Send /menu to start again."))
        return END
    if draft.new:
        await reply(
            update,
            _(
                "Thank you! Your coordinator will have a short talk with you and ask for a VOG "
                "(certificate of conduct). Once approved, you will receive requests that fit you."
            ),
        )
    else:
        await reply(update, _("Saved. Requests that fit your new profile will come your way."))
    return END


async def profile_unexpected(update: Update, context: BotContext) -> str | None:
    """Anything but the profile's buttons while it is open."""
    await reply(update, _("Please use the buttons, or send /cancel to stop."))
    return STAY


def build() -> Dialogue:
    """The helper-profile dialogue: an overview, a part's options to tick, the weekly cap."""
    anything = MessageHandler(ANYTHING, profile_unexpected)
    other = CallbackQueryHandler(earlier_button, pattern=r"^vp:")
    return Dialogue(
        name=NAME,
        entry_points=[
            CallbackQueryHandler(start_profile, pattern=menu.entry_pattern("vprofile")),
            CallbackQueryHandler(start_profile, pattern=PROFILE_NEW.pattern),
        ],
        states={
            OVERVIEW: [
                CallbackQueryHandler(edit_part, pattern=PROFILE_EDIT.pattern),
                CallbackQueryHandler(save, pattern=PROFILE_SAVE.pattern),
                CallbackQueryHandler(stop, pattern=PROFILE_STOP.pattern),
                other,
                anything,
            ],
            TOGGLE: [
                CallbackQueryHandler(toggle, pattern=PROFILE_TOGGLE.pattern),
                CallbackQueryHandler(done, pattern=PROFILE_DONE.pattern),
                other,
                anything,
            ],
            CAP: [CallbackQueryHandler(choose_cap, pattern=PROFILE_CAP.pattern), other, anything],
        },
        draft=ProfileDraft,
    )
