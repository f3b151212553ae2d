"""Coordinators create single-use invite links for a family, a volunteer or another coordinator."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, filters

from conversations.context import BotContext
from conversations.ui import answer_button, callback, column, parse_callback, reply, retire_buttons
from domain import invites as rules
from domain.permissions import Actor, Facts
from services.i18n import N_, _, h, ngettext
from services.permissions import Action, authorize
from storage import people

ROLE_BUTTONS = {
    "family": N_("A family"),
    "volunteer": N_("A volunteer"),
    "coordinator": N_("A coordinator"),
}


def actor_of(context: BotContext) -> Actor | None:
    person = context.person
    if person is None or person.id is None:
        return None
    return Actor(person_id=person.id, role=person.role, is_admin=person.is_admin, volunteer_status=None)


def _may_invite(context: BotContext, session: Any, role: str, *, audit: bool = True) -> bool:
    facts = Facts(invite_role=role)
    return bool(
        authorize(
            session=session, actor=context.person, action=Action.INVITE, facts=facts, now=context.now(), audit=audit
        )
    )


async def ask_role(update: Update, context: BotContext) -> None:
    """/invite: whom to invite."""
    actor = actor_of(context)
    if actor is None or actor.role != "coordinator":
        await reply(update, _("Only coordinators can create invite links."))
        return
    with context.session() as session:
        buttons = [
            (_(label), callback("inv", role))
            for role, label in ROLE_BUTTONS.items()
            if _may_invite(context, session, role, audit=False)
        ]
    await reply(update, _("Whom do you want to invite? The link works once."), column(buttons))


async def create(update: Update, context: BotContext) -> None:
    """An invite button: rights are checked again here, the button itself proves nothing."""
    parts = parse_callback(update.callback_query.data if update.callback_query else None, "inv")
    actor = actor_of(context)
    role = parts[0] if parts else None
    with context.session() as session:
        allowed = actor is not None and role in ROLE_BUTTONS and _may_invite(context, session, role or "")
    if actor is None or not allowed or role is None:
        await answer_button(update, _("You cannot create this invite."))
        return
    await answer_button(update)
    await retire_buttons(update)
    token = rules.new_token()
    now = context.now()
    hours = context.services.settings.invite_valid_hours
    with context.session() as session:
        people.create_invite(
            session=session,
            token_hash=rules.hash_token(token),
            role=role,
            created_by_id=actor.person_id,
            expires_at=now + timedelta(hours=hours),
            now=now,
        )
        people.audit(
            session=session,
            actor_id=actor.person_id,
            action="invite_created",
            subject_id=None,
            now=now,
            role=role,
        )
    link = f"https://t.me/{context.services.bot_username}?start={rules.payload_for(token)}"
    intro = {
        "family": _("Here is an invite link for a family."),
        "volunteer": _("Here is an invite link for a volunteer."),
        "coordinator": _("Here is an invite link for a coordinator."),
    }[role]
    validity = ngettext("It works once, for {count} hour:", "It works once, for {count} hours:", hours).format(
        count=hours
    )
    await reply(update, f"{intro} {validity}\n{h(link)}")


def build() -> list[BaseHandler[Any, Any, Any]]:
    return [
        CommandHandler("invite", ask_role, filters=filters.UpdateType.MESSAGE & filters.ChatType.PRIVATE),
        CallbackQueryHandler(create, pattern=r"^inv:"),
    ]
