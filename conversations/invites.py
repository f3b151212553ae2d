"""Coordinators create single-use invite links for a family, a volunteer or another coordinator."""

from __future__ import annotations

from typing import Any

from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler

from conversations.context import BotContext
from conversations.dialogue import private_command
from conversations.ui import answer_button, column, reply, retire_buttons
from services import invites
from services.i18n import N_, _, h, ngettext

ROLE_BUTTONS = {
    "family": N_("A family"),
    "volunteer": N_("A volunteer"),
    "referrer": N_("A referrer (a professional who refers families)"),
    "coordinator": N_("A coordinator"),
}


async def ask_role(update: Update, context: BotContext) -> None:
    """/invite: whom to invite."""
    person = context.person
    if not invites.is_coordinator(person):
        await reply(update, _("Only coordinators can create invite links."))
        return
    assert person is not None
    with context.session() as session:
        roles = invites.invitable_roles(session=session, person=person, now=context.now())
    buttons = [(_(ROLE_BUTTONS[role]), invites.BUTTONS[role].data()) for role in roles]
    await reply(update, _("Whom do you want to invite? The link works once."), column(buttons))


def _intro(role: str) -> str:
    """The first words above a new link."""
    return {
        "family": _("Here is an invite link for a family."),
        "volunteer": _("Here is an invite link for a volunteer."),
        "referrer": _("Here is an invite link for a referrer."),
        "coordinator": _("Here is an invite link for a coordinator."),
    }[role]


def create_for(role: str) -> Any:
    """The handler of one role's invite button."""
    button = invites.BUTTONS[role]

    async def create(update: Update, context: BotContext) -> None:
        """An invite button: rights are checked again here, the button itself proves nothing."""
        query = update.callback_query
        created = None
        if button.parse(query.data if query else None) is not None:
            with context.session() as session:
                created = invites.create_invite(
                    session=session, services=context.services, person=context.person, role=role, now=context.now()
                )
        if created is None:
            await answer_button(update, _("You cannot create this invite."))
            return
        await answer_button(update)
        await retire_buttons(update)
        validity = ngettext(
            "It works once, for {count} hour:", "It works once, for {count} hours:", created.hours
        ).format(count=created.hours)
        await reply(update, f"{_intro(role)} {validity}\n{h(created.link)}")

    return create


async def refuse_other(update: Update, context: BotContext) -> None:
    """An invite button for no role we have (forged): nothing is created."""
    await answer_button(update, _("You cannot create this invite."))


def build() -> list[BaseHandler[Any, Any, Any]]:
    """/invite, one handler per role's button, and a refusal for any other invite button."""
    return [
        private_command("invite", ask_role),
        *(CallbackQueryHandler(create_for(role), pattern=button.pattern) for role, button in invites.BUTTONS.items()),
        CallbackQueryHandler(refuse_other, pattern=r"^inv:"),
    ]
