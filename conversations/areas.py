"""The list of neighbourhoods that families and volunteers choose from: coordinators see it, admins change it.

Areas change who is matched with whom for everybody, so adding and removing one is an admin's job
(`domain.permissions.Action.MANAGE_AREAS`), checked again at every step by `services.areas`: the button, the
typed name, removal.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from telegram import Update
from telegram.ext import CallbackQueryHandler

from conversations import menu
from conversations.context import BotContext
from conversations.dialogue import END, STAY, Dialogue, typed_words
from conversations.screens import allowed, ask_typed, typed_name
from conversations.ui import answer_button, answer_stale, close_tap, column, keyboard, reply, retire_buttons
from services import areas
from services.callbacks import Button
from services.i18n import _, hi, ngettext

NAME = "areas"
ADD = "add"


async def show(update: Update, context: BotContext) -> str | None:
    """/areas: the list, with buttons to add one or take one out."""
    if not areas.is_coordinator(context.person):
        await answer_button(update)
        await reply(update, _("Only coordinators can manage neighbourhoods."))
        return END
    await answer_button(update)
    with context.session() as session:
        listed = areas.area_list(session=session, person=context.person, now=context.now())
    lines = [_("<b>Neighbourhoods</b>")] + [f"• {hi(name)}" for _id, name in listed.areas]
    if not listed.areas:
        lines.append(_("There are none yet."))
    if not listed.may_manage:
        lines.append(_("Only an admin coordinator can add or remove neighbourhoods."))
        await reply(update, "\n".join(lines))
        return END
    buttons = [(_("➕ Add a neighbourhood"), areas.ADD.data())]
    buttons += [(_("Remove {name}").format(name=name), areas.REMOVE.data(area_id)) for area_id, name in listed.areas]
    await reply(update, "\n".join(lines), column(buttons))
    return END


async def ask_name(update: Update, context: BotContext) -> str | None:
    """The add button: ask for the name."""
    prompt = _("Type the name of the neighbourhood. (Send /cancel to stop.)")
    return await ask_typed(update, context, areas.may_manage, prompt, ADD)


async def add(update: Update, context: BotContext) -> str | None:
    """The typed name."""

    async def added(change: areas.Change) -> str | None:
        """Say it was added."""
        await reply(update, _("Added: {name}. Send /areas to see the list.").format(name=hi(change.name)))
        return END

    return await typed_name(update, context, areas.add_area, areas.MAX_NAME, added)


R = TypeVar("R", areas.Removal, areas.Change)


async def _on_area(
    update: Update, context: BotContext, button: Button, service: Callable[..., R]
) -> tuple[int, R] | None:
    """A remove button's area and what `service` (rights checked there) says of it; None when answered already."""
    query = update.callback_query
    parsed = button.parse(query.data if query else None)
    # The id is untrusted: parsed here, the area and the right checked by the service.
    if not areas.is_coordinator(context.person) or parsed is None or parsed[0] < 0:
        await answer_stale(update)
        return None
    area_id = int(parsed[0])
    with context.session() as session:
        result = service(session=session, person=context.person, area_id=area_id, now=context.now())
    if not await allowed(update, result.decision):
        return None
    return area_id, result


async def ask_remove(update: Update, context: BotContext) -> str | None:
    """A remove button: say who still has the neighbourhood, and ask to confirm."""
    asked = await _on_area(update, context, areas.REMOVE, areas.removal_preview)
    if asked is None:
        return END
    area_id, preview = asked
    if preview.name is None:
        await retire_buttons(update)
        await reply(update, _("That neighbourhood was already removed."))
        return END
    families, volunteers = preview.families, preview.volunteers
    lines = [
        _("Remove the neighbourhood {name}?").format(name=hi(preview.name)),
        ngettext("{count} family has it.", "{count} families have it.", families).format(count=hi(families))
        + " "
        + ngettext("{count} volunteer has it.", "{count} volunteers have it.", volunteers).format(count=hi(volunteers)),
    ]
    if families or volunteers:
        lines.append(
            _(
                "They keep it until they change it, and volunteers are still matched with families in it. "
                "New people can no longer choose it."
            )
        )
    if families:
        lines.append(_("Better first ask these families which neighbourhood fits them now."))
    confirm = (_("Yes, remove {name}").format(name=preview.name), areas.CONFIRM_REMOVE.data(area_id))
    await reply(update, "\n".join(lines), keyboard([[confirm, (_("No, keep it"), areas.KEEP.data(area_id))]]))
    return END


async def remove(update: Update, context: BotContext) -> str | None:
    """The confirmed remove button: rights and the area are checked again here."""
    asked = await _on_area(update, context, areas.CONFIRM_REMOVE, areas.remove_area)
    if asked is None:
        return END
    removed = asked[1]
    await retire_buttons(update)
    if removed.name is not None:
        await reply(
            update,
            _("Removed: {name}. People who chose it keep it until they change it.").format(name=hi(removed.name)),
        )
    else:
        await reply(update, _("That neighbourhood was already removed."))
    return END


async def keep(update: Update, context: BotContext) -> str | None:
    """'No, keep it' on the confirmation."""
    await close_tap(update, _("Nothing was changed."))
    return END


async def not_a_name(update: Update, context: BotContext) -> str | None:
    """Anything but text while a name is expected."""
    await reply(update, _("Please type the name of the neighbourhood, or send /cancel."))
    return STAY


def build() -> Dialogue:
    """/areas and its buttons; adding asks for the name as its one step."""
    return Dialogue(
        name=NAME,
        entry_points=[
            *menu.started_by("areas", "areas", show),
            CallbackQueryHandler(ask_name, pattern=areas.ADD.pattern),
            CallbackQueryHandler(ask_remove, pattern=areas.REMOVE.pattern),
            CallbackQueryHandler(remove, pattern=areas.CONFIRM_REMOVE.pattern),
            CallbackQueryHandler(keep, pattern=areas.KEEP.pattern),
        ],
        states={
            ADD: typed_words(add, not_a_name),
        },
    )
