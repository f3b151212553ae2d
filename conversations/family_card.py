"""The coordinators' side of check-ins: /families, a family's card and its buttons, the duo partner.

Each button has its own handler: it parses its `Button`, calls one service in `services.family_card` or
`services.coordinator_requests` (which check the rights and state on the server), and shows the `CardView`
the service returned.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Coroutine
from datetime import datetime
from typing import Any

from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, filters

from conversations import menu
from conversations.context import BotContext
from conversations.coordinator_group import in_family_topic
from conversations.dialogue import private_command
from conversations.ui import (
    answer_button,
    answer_stale,
    keyboard,
    page_of,
    pager_row,
    reply,
    retire_buttons,
    tapped_values,
)
from services import concerns
from services import coordinator_requests as requests
from services import family_card as card
from services.callbacks import Button
from services.checkins import KEEP_RHYTHM, STEP_DOWN
from services.concerns import FAMILY_CARD
from services.context import Services
from services.coordinator_requests import AGREE, DISAGREE, DUO
from services.family_card import (
    ANSWERS,
    AUTO_STEP_DOWN,
    DAYPART,
    FAMILIES_PAGE,
    MINE,
    RHYTHM,
    SEND_NOW,
    TIMELINE,
    WEEKDAY,
    CardView,
    View,
)
from services.i18n import N_, _
from storage.db import Session
from storage.models import Person, Role

Handler = Callable[[Update, BotContext], Coroutine[Any, Any, None]]


def _coordinator(context: BotContext) -> Person | None:
    """The person behind the update when it is a coordinator."""
    person = context.person
    return person if concerns.is_coordinator(person) else None


async def show_view(update: Update, view: CardView) -> None:
    """Answer the tap and show what the service decided: a note, the card again (in place), a message."""
    if view.stale:
        await answer_stale(update)
        return
    await answer_button(update, view.note)
    if view.retire:
        await retire_buttons(update)
    if view.text is None:
        return
    markup = keyboard(view.rows) if view.rows else None
    query = update.callback_query
    if view.edit and query is not None and query.message is not None:
        with contextlib.suppress(Exception):  # unchanged (a double tap) or too old to edit: send it fresh
            await query.edit_message_text(view.text, reply_markup=markup)
            return
    await reply(update, view.text, markup)


async def list_families(update: Update, context: BotContext, page: int = 0) -> None:
    """/families or the menu: the coordinator's own families; an admin without families of their own sees all."""
    coordinator = _coordinator(context)
    if coordinator is None:
        await reply(update, _("Only coordinators can do that."))
        return
    with context.session() as session:
        families = card.families_of(session=session, coordinator=coordinator, now=context.now())
    shown, page, more = page_of(families.names, page)
    buttons = [[(name, FAMILY_CARD.data(family_id))] for name, family_id in shown]
    duo = [(_("👥 My duo partner"), DUO.data(0))]
    if not buttons:
        text = _("There are no families yet.") if families.see_all else _("You have no families of your own yet.")
        await reply(update, text, None if families.see_all else keyboard([duo]))
        return
    text = _("Your families:") if families.own else _("All families:")
    pager = pager_row(page, more, FAMILIES_PAGE.data)
    if pager:
        text += "\n" + _("Page {page}").format(page=page + 1)
        buttons.append(pager)
    await reply(update, text, keyboard([*buttons, duo]))


async def families_page(update: Update, context: BotContext) -> None:
    """A page of /families: the list is read again, with this coordinator's rights."""
    parsed = tapped_values(update, FAMILIES_PAGE)
    if parsed is None or _coordinator(context) is None:
        await answer_stale(update)
        return
    await answer_button(update)
    await retire_buttons(update)
    await list_families(update, context, page=min(max(parsed[0], 0), 1000))


# What a button's service is given: the session, the services, the coordinator, the button's values and now.
CardCall = Callable[[Session, Services, Person, tuple[Any, ...], datetime], CardView]


def card_tap(button: Button, call: CardCall, doc: str) -> Handler:
    """The one handler of a button: parse it, call its service in one transaction, show the view it returns."""

    async def tap(update: Update, context: BotContext) -> None:
        """Parse the button, call its service, show the result."""
        parsed = tapped_values(update, button)
        coordinator = _coordinator(context)
        if parsed is None or coordinator is None:
            await answer_stale(update)
            return
        with context.session() as session:
            view = call(session, context.services, coordinator, parsed, context.now())
        await show_view(update, view)

    tap.__doc__ = doc
    return tap


def _view(what: View) -> CardCall:
    """The service call that shows the family's card, answers or timeline."""

    def call(
        session: Session, services: Services, coordinator: Person, values: tuple[Any, ...], now: datetime
    ) -> CardView:
        """Show the family's card, answers or timeline."""
        return card.show(
            session=session, services=services, coordinator=coordinator, family_id=values[0], what=what, now=now
        )

    return call


def _change(name: str) -> CardCall:
    """The service call that changes one check-in setting (`name`: rhythm, weekday, daypart) to the button's value."""

    def call(
        session: Session, services: Services, coordinator: Person, values: tuple[Any, ...], now: datetime
    ) -> CardView:
        """Change the setting from the card; the card is shown again, changed."""
        family_id, value = values
        return card.change(
            session=session, services=services, coordinator=coordinator, family_id=family_id, now=now, **{name: value}
        )

    return call


def _auto(
    session: Session, services: Services, coordinator: Person, values: tuple[Any, ...], now: datetime
) -> CardView:
    """'Lower automatically: on/off' (cr:auto:<family>:on|off); any other value is a forged button."""
    family_id, value = values
    if value not in ("on", "off"):
        return card.STALE
    return card.change(
        session=session,
        services=services,
        coordinator=coordinator,
        family_id=family_id,
        now=now,
        auto_step_down=value == "on",
    )


def _send_now(
    session: Session, services: Services, coordinator: Person, values: tuple[Any, ...], now: datetime
) -> CardView:
    """'Send a check-in now' for the family on the card."""
    return card.send_now_from_card(
        session=session, services=services, coordinator=coordinator, family_id=values[0], now=now
    )


def _lower(
    session: Session, services: Services, coordinator: Person, values: tuple[Any, ...], now: datetime
) -> CardView:
    """'Yes, lower it' (cr:step:<family>:<rhythm>) or 'No, keep it' (cr:keep:<family>)."""
    rhythm = values[1] if len(values) > 1 else None
    return card.lower_rhythm(
        session=session, services=services, coordinator=coordinator, family_id=values[0], rhythm=rhythm, now=now
    )


def _take_over(
    session: Session, services: Services, coordinator: Person, values: tuple[Any, ...], now: datetime
) -> CardView:
    """'I am their primary coordinator': the note, or stale when it is no family."""
    return requests.take_over(session=session, coordinator=coordinator, family_id=values[0], now=now)


def _answer(accepted: bool) -> CardCall:
    """The service call for a colleague's Agree (True) or No (False) to a request."""

    def call(
        session: Session, services: Services, coordinator: Person, values: tuple[Any, ...], now: datetime
    ) -> CardView:
        """A colleague answers a request: only they may, once; the one who asked hears it."""
        return requests.answer_request(
            session=session, coordinator=coordinator, request_id=values[0], accepted=accepted, now=now
        )

    return call


def _duo(session: Session, services: Services, coordinator: Person, values: tuple[Any, ...], now: datetime) -> CardView:
    """'My duo partner' (cr:duo:0: the choice) or a colleague chosen (cr:duo:<person>)."""
    return requests.duo(session=session, coordinator=coordinator, partner_id=values[0], now=now)


open_card = card_tap(FAMILY_CARD, _view("card"), "A family's card, from /families or a concern.")
show_answers = card_tap(ANSWERS, _view("answers"), "'Answers over time' on the card.")
show_timeline = card_tap(TIMELINE, _view("timeline"), "'Timeline' on the card.")
set_rhythm = card_tap(RHYTHM, _change("rhythm"), "The card's rhythm buttons (weekly, every two weeks, four, off).")
set_weekday = card_tap(WEEKDAY, _change("weekday"), "The card's weekday buttons.")
set_daypart = card_tap(DAYPART, _change("daypart"), "The card's part-of-day buttons.")
set_auto_step_down = card_tap(AUTO_STEP_DOWN, _auto, "'Lower automatically: on/off' on the card.")
send_now = card_tap(SEND_NOW, _send_now, "'Send a check-in now' on the card.")
step_down = card_tap(STEP_DOWN, _lower, "'Yes, lower it' under the offer to lower a family's check-ins.")
keep_rhythm = card_tap(KEEP_RHYTHM, _lower, "'No, keep it' under the offer to lower a family's check-ins.")
take_over = card_tap(MINE, _take_over, "'I am their primary coordinator' on the card.")
agree = card_tap(AGREE, _answer(True), "'Agree' to a colleague's request (primary coordinator, duo partner).")
disagree = card_tap(DISAGREE, _answer(False), "'No' to a colleague's request (primary coordinator, duo partner).")
duo = card_tap(DUO, _duo, "'My duo partner': pick a colleague, who is asked first; admins at once.")


async def topic_command(update: Update, context: BotContext) -> None:
    """/family, /checkin and /answers inside a family's topic in the coordinators' group."""
    found = await in_family_topic(update, context, _("Use this in a family's topic."))
    message = update.effective_message
    if found is None or message is None or not message.text:
        return
    coordinator, family_id = found
    command = message.text.split()[0].split("@")[0].lstrip("/")
    with context.session() as session:
        view = card.card_in_topic(
            session=session,
            services=context.services,
            coordinator=coordinator,
            family_id=family_id,
            command=command,
            now=context.now(),
        )
    text = view.text or view.note
    if text:
        await message.reply_text(text, reply_markup=keyboard(view.rows) if view.rows else None)


def build_first() -> list[BaseHandler[Any, Any, Any]]:
    """The card's buttons (they work at any time, also in the middle of a dialogue) and the commands."""
    group = filters.UpdateType.MESSAGE & filters.ChatType.GROUPS
    buttons: list[tuple[Button, Handler]] = [
        (FAMILY_CARD, open_card),
        (ANSWERS, show_answers),
        (TIMELINE, show_timeline),
        (RHYTHM, set_rhythm),
        (WEEKDAY, set_weekday),
        (DAYPART, set_daypart),
        (AUTO_STEP_DOWN, set_auto_step_down),
        (SEND_NOW, send_now),
        (STEP_DOWN, step_down),
        (KEEP_RHYTHM, keep_rhythm),
        (MINE, take_over),
        (FAMILIES_PAGE, families_page),
        (DUO, duo),
        (AGREE, agree),
        (DISAGREE, disagree),
    ]
    return [
        *(CallbackQueryHandler(handler, pattern=button.pattern) for button, handler in buttons),
        private_command("families", list_families),
        CommandHandler(["family", "checkin", "answers", "rhythm"], topic_command, filters=group),
    ]


def register_menu() -> None:
    """The coordinators' menu entry."""
    menu.add("families", N_("Families"), {str(Role.COORDINATOR)}, list_families)
