"""My requests: a family follows its requests, cancels one, thanks its volunteer and offers something back.

The buttons work at any time, also in the middle of a dialogue; the rules are in `services.requests`.
"""

from __future__ import annotations

from typing import Any

from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler

from conversations.context import BotContext
from conversations.ui import (
    answer_button,
    answer_stale,
    close_tap,
    column,
    keyboard,
    reply,
    retire_buttons,
    settled_once,
    tapped_values,
)
from services import requests as service
from services.i18n import _, format_stamp, h, hi
from services.request_basics import name_of
from services.requests import CANCEL, CANCEL_YES, GIVE, GIVE_BACK, GIVE_TO, KEEP, THANK, Cancelled
from services.tasks import kind_label, when_text
from storage.models import HelpRequest, Person

ASK = "menu:ask"  # the menu's 'Ask for help' (conversations.menu)


def _id(button: Any, update: Update) -> int | None:
    """The request id of one of our buttons, or None for anything else."""
    parsed = tapped_values(update, button)
    return int(parsed[0]) if parsed else None


def _cancel_row(request: HelpRequest, person: Person) -> list[tuple[str, str]]:
    """'✖️ Cancel: what, when' for a request still ahead."""
    assert request.id is not None
    when = (
        format_stamp(request.starts_at, person.timezone, person.language)
        if request.starts_at is not None and not request.flexible_week
        else _("this week")
    )
    label = _("✖️ Cancel: {what}, {when}").format(what=kind_label(request.kind), when=when)
    return [(label, CANCEL.data(request.id))]


async def show_requests(update: Update, context: BotContext) -> None:
    """The family's requests with what is happening to each, and buttons to cancel, thank and give back."""
    person = context.person
    if not service.is_family(person) or person is None or person.id is None:
        await reply(update, _("This is for families. Send /menu to see what you can do."))
        return
    with context.session() as session:
        items = service.family_requests(session=session, family=person, now=context.now())
    rows: list[list[tuple[str, str]]] = []
    lines = [_("<b>Your requests</b>")]
    for item in items:
        request = item.request
        assert request.id is not None
        lines.append(
            "\n"
            + ("" if item.withdrawable else "✔️ ")
            + _("{what}, {when}: <b>{status}</b>").format(
                what=h(kind_label(request.kind)),
                when=h(when_text(request, person.timezone, person.language)),
                status=item.status,
            )
        )
        if item.withdrawable:
            rows.append(_cancel_row(request, person))
        elif item.thank_name is not None:
            rows.append([(_("💛 Thank {name}").format(name=item.thank_name), THANK.data(request.id))])
    if not items:
        lines.append(_("You have not asked for help yet."))
    rows.append([(_("🙋 Ask for help"), ASK)])
    await reply(update, "\n".join(lines), keyboard(rows))


async def ask_cancel(update: Update, context: BotContext) -> None:
    """A cancel button: show the request and ask to confirm."""
    request_id = _id(CANCEL, update)
    with context.session() as session:
        text = (
            service.cancel_preview(session=session, person=context.person, request_id=request_id, now=context.now())
            if request_id
            else None
        )
    if text is None or request_id is None:
        await answer_stale(update)
        return
    await answer_button(update)
    buttons = [(_("Yes, cancel it"), CANCEL_YES.data(request_id)), (_("No, keep it"), KEEP.data(request_id))]
    await reply(update, _("Cancel this request?") + "\n" + text, keyboard([buttons]))


async def do_cancel(update: Update, context: BotContext) -> None:
    """Confirmed: the family cancels its request (rights and status checked again, once)."""
    request_id = _id(CANCEL_YES, update)
    person = context.person
    outcome = Cancelled.REFUSED
    if request_id is not None and person is not None:
        services, now = context.services, context.now()
        with context.session() as session:
            outcome = service.cancel_request(
                session=session, services=services, person_id=person.id, request_id=request_id, now=now
            )
    said_already = _("This request was already closed.")
    if await settled_once(
        update, outcome, refused=Cancelled.REFUSED, already=Cancelled.ALREADY_CLOSED, said_already=said_already
    ):
        await reply(update, _("Your request is cancelled. Whoever was asked has been told."))


async def keep(update: Update, context: BotContext) -> None:
    """'No, keep it'."""
    await close_tap(update, _("All right, the request stays."))


async def thank(update: Update, context: BotContext) -> None:
    """'Thank <volunteer>' from My requests or the debrief: a message to the volunteer, once."""
    await thank_for(update, context, _id(THANK, update))


async def thank_for(update: Update, context: BotContext, request_id: int | None) -> None:
    """Pass on the family's thanks for this request (also from the volunteers' debrief buttons)."""
    person = context.person
    with context.session() as session:
        thanked = service.thank_volunteer(
            session=session, person_id=person.id if person else None, request_id=request_id, now=context.now()
        )
    await retire_buttons(update, show_choice=thanked.sent)
    if not thanked.sent or person is None:
        await answer_button(update, _("Your thanks were already passed on."))
        return
    await answer_button(update)
    await reply(
        update,
        _("💛 We passed on your thanks to {name}.").format(name=hi(thanked.volunteer_name))
        + "\n"
        + _("Would you like to do something in return some day? Tap Offer something back in the /menu."),
    )


async def give_back(update: Update, context: BotContext) -> None:
    """Offer something back: what."""
    if not service.is_family(context.person):
        await reply(update, _("This is for families. Send /menu to see what you can do."))
        return
    buttons = [(kind_label(kind), GIVE.data(kind)) for kind in GIVE_BACK]
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
    parsed = tapped_values(update, GIVE)
    person = context.person
    if parsed is None or parsed[0] not in GIVE_BACK or not service.is_family(person) or person is None:
        await answer_stale(update)
        return
    kind = parsed[0]
    with context.session() as session:
        support = service.support_volunteer(session=session, family_id=person.id or 0)
        support_name = name_of(support) if support is not None else None
    await answer_button(update)
    await retire_buttons(update)
    buttons = []
    if support_name is not None:
        buttons.append((_("To {name}").format(name=support_name), GIVE_TO.data(kind, "support")))
    buttons.append((_("To someone in the neighbourhood"), GIVE_TO.data(kind, "hood")))
    await reply(update, _("Who would you like to offer it to?"), column(buttons))


async def give_to(update: Update, context: BotContext) -> None:
    """Offer something back: the coordinators (and the support volunteer) hear of it."""
    parsed = tapped_values(update, GIVE_TO)
    person = context.person
    passed_on = False
    if parsed is not None and person is not None and person.id is not None:
        with context.session() as session:
            passed_on = service.offer_back(
                session=session, person_id=person.id, kind=parsed[0], target=parsed[1], now=context.now()
            )
    if not passed_on:
        await answer_stale(update)
        return
    await close_tap(update, _("Thank you, that is lovely! Your coordinator will get in touch to arrange it."))


def build_handlers() -> list[BaseHandler[Any, Any, Any]]:
    """The buttons of My requests: one handler per button."""
    return [
        CallbackQueryHandler(ask_cancel, pattern=CANCEL.pattern),
        CallbackQueryHandler(do_cancel, pattern=CANCEL_YES.pattern),
        CallbackQueryHandler(keep, pattern=KEEP.pattern),
        CallbackQueryHandler(thank, pattern=THANK.pattern),
        CallbackQueryHandler(give_what, pattern=GIVE.pattern),
        CallbackQueryHandler(give_to, pattern=GIVE_TO.pattern),
    ]
