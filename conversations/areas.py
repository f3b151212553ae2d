"""The list of neighbourhoods that families and volunteers choose from: coordinators see it, admins change it.

Areas change who is matched with whom for everybody, so adding and removing one is an admin's job
(`domain.permissions.Action.MANAGE_AREAS`), checked again at every step: the button, the typed name, removal.
"""

from __future__ import annotations

from telegram import Update
from telegram.ext import CallbackQueryHandler, CommandHandler, MessageHandler, filters

from conversations.context import BotContext
from conversations.dialogue import END, STAY, Dialogue
from conversations.rights import refuse
from conversations.ui import (
    answer_button,
    answer_stale,
    callback,
    column,
    int_arg,
    keyboard,
    name_refused_text,
    parse_callback,
    reply,
    retire_buttons,
)
from domain import names
from services.i18n import _, hi, ngettext
from services.permissions import Action, Decision, authorize
from storage import people
from storage.models import Role

NAME = "areas"
ADD = "add"
PREFIX = "area"


def _is_coordinator(context: BotContext) -> bool:
    person = context.person
    return person is not None and person.role == Role.COORDINATOR and person.consent_at is not None


def _may_manage(context: BotContext, *, audit: bool = True) -> Decision:
    with context.session() as session:
        return authorize(
            session=session, actor=context.person, action=Action.MANAGE_AREAS, now=context.now(), audit=audit
        )


async def show(update: Update, context: BotContext) -> str | None:
    """/areas: the list, with buttons to add one or take one out."""
    if not _is_coordinator(context):
        await answer_button(update)
        await reply(update, _("Only coordinators can manage neighbourhoods."))
        return END
    await answer_button(update)
    with context.session() as session:
        areas = [(area.id, area.name) for area in people.active_areas(session=session)]
    lines = [_("<b>Neighbourhoods</b>")] + [f"• {hi(name)}" for _id, name in areas]
    if not areas:
        lines.append(_("There are none yet."))
    if not _may_manage(context, audit=False):
        lines.append(_("Only an admin coordinator can add or remove neighbourhoods."))
        await reply(update, "\n".join(lines))
        return END
    buttons = [(_("➕ Add a neighbourhood"), callback(PREFIX, "add"))]
    buttons += [(_("Remove {name}").format(name=name), callback(PREFIX, "del", area_id)) for area_id, name in areas]
    await reply(update, "\n".join(lines), column(buttons))
    return END


async def ask_name(update: Update, context: BotContext) -> str | None:
    """The add button: ask for the name."""
    if not (decision := _may_manage(context)):
        await refuse(update, decision)
        return END
    await answer_button(update)
    await retire_buttons(update)
    await reply(update, _("Type the name of the neighbourhood. (Send /cancel to stop.)"))
    return ADD


async def add(update: Update, context: BotContext) -> str | None:
    """The typed name."""
    message = update.effective_message
    if not (decision := _may_manage(context)):
        await refuse(update, decision)
        return END
    name = names.clean_name(message.text or "", max_length=64) if message else None
    if name is None:
        await reply(update, name_refused_text(64))
        return STAY
    with context.session() as session:
        area = people.add_area(session=session, name=name, now=context.now())
        people.audit(
            session=session,
            actor_id=context.person.id if context.person else None,
            action="area_added",
            subject_id=area.id,
            now=context.now(),
        )
    await reply(update, _("Added: {name}. Send /areas to see the list.").format(name=hi(name)))
    return END


def _area_asked(update: Update, action: str) -> int | None:
    """The area id of an `area:<action>:<id>` button (untrusted: parsed and checked here)."""
    parts = parse_callback(update.callback_query.data if update.callback_query else None, PREFIX)
    return int_arg(parts[1]) if parts and len(parts) == 2 and parts[0] == action else None


async def _managed_area(update: Update, context: BotContext, action: str) -> int | None:
    """The area of an `area:<action>:<id>` button if this person may manage areas; else answered, None."""
    area_id = _area_asked(update, action)
    if not _is_coordinator(context) or area_id is None:
        await answer_stale(update)
        return None
    if not (decision := _may_manage(context)):
        await refuse(update, decision)
        return None
    return area_id


async def ask_remove(update: Update, context: BotContext) -> str | None:
    """A remove button: say who still has the neighbourhood, and ask to confirm."""
    area_id = await _managed_area(update, context, "del")
    if area_id is None:
        return END
    with context.session() as session:
        area = people.get_area(session=session, area_id=area_id)
        families, volunteers = people.area_counts(session=session, area_id=area_id) if area else (0, 0)
    await answer_button(update)
    if area is None or not area.active:
        await retire_buttons(update)
        await reply(update, _("That neighbourhood was already removed."))
        return END
    lines = [
        _("Remove the neighbourhood {name}?").format(name=hi(area.name)),
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
    await reply(
        update,
        "\n".join(lines),
        keyboard(
            [
                [
                    (_("Yes, remove {name}").format(name=area.name), callback(PREFIX, "delok", area_id)),
                    (_("No, keep it"), callback(PREFIX, "keep", area_id)),
                ]
            ]
        ),
    )
    return END


async def remove(update: Update, context: BotContext) -> str | None:
    """The confirmed remove button: rights and the area are checked again here."""
    area_id = await _managed_area(update, context, "delok")
    if area_id is None:
        return END
    with context.session() as session:
        area = people.get_area(session=session, area_id=area_id)
        removed = area is not None and area.active and people.deactivate_area(session=session, area_id=area_id)
        if removed:
            people.audit(
                session=session,
                actor_id=context.person.id if context.person else None,
                action="area_removed",
                subject_id=area_id,
                now=context.now(),
            )
    await answer_button(update)
    await retire_buttons(update)
    if removed and area is not None:
        await reply(
            update,
            _("Removed: {name}. People who chose it keep it until they change it.").format(name=hi(area.name)),
        )
    else:
        await reply(update, _("That neighbourhood was already removed."))
    return END


async def keep(update: Update, context: BotContext) -> str | None:
    """'No, keep it' on the confirmation."""
    await answer_button(update)
    await retire_buttons(update)
    await reply(update, _("Nothing was changed."))
    return END


async def not_a_name(update: Update, context: BotContext) -> str | None:
    """Anything but text while a name is expected."""
    await reply(update, _("Please type the name of the neighbourhood, or send /cancel."))
    return STAY


def build() -> Dialogue:
    private = filters.ChatType.PRIVATE
    return Dialogue(
        name=NAME,
        entry_points=[
            CommandHandler("areas", show, filters=filters.UpdateType.MESSAGE & private),
            CallbackQueryHandler(show, pattern=r"^menu:areas$"),
            CallbackQueryHandler(ask_name, pattern=rf"^{PREFIX}:add$"),
            CallbackQueryHandler(ask_remove, pattern=rf"^{PREFIX}:del:"),
            CallbackQueryHandler(remove, pattern=rf"^{PREFIX}:delok:"),
            CallbackQueryHandler(keep, pattern=rf"^{PREFIX}:keep:"),
        ],
        states={
            ADD: [
                MessageHandler(filters.UpdateType.MESSAGE & private & filters.TEXT & ~filters.COMMAND, add),
                MessageHandler(filters.UpdateType.MESSAGE & private & ~filters.COMMAND, not_a_name),
            ]
        },
    )
