"""The coordinators' side of check-ins: /families, a family's card and its buttons, the duo partner.

Each button has its own handler: it parses its `Button`, calls one service in `services.family_card`
(which checks the rights and state on the server), and shows the answer.
"""

from __future__ import annotations

import contextlib
from typing import Any

from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, filters

from conversations import menu
from conversations.context import BotContext
from conversations.coordinator_group import topic_family
from conversations.ui import answer_button, answer_stale, keyboard, page_of, pager_row, reply, retire_buttons
from services import concerns
from services import family_card as card
from services.callbacks import Button
from services.checkins import KEEP_RHYTHM, STEP_DOWN
from services.concerns import FAMILY_CARD
from services.family_card import (
    AGREE,
    ANSWERS,
    AUTO_STEP_DOWN,
    DAYPART,
    DISAGREE,
    DUO,
    FAMILIES_PAGE,
    MINE,
    RHYTHM,
    SEND_NOW,
    TIMELINE,
    WEEKDAY,
    CardView,
)
from services.i18n import N_, _, hi
from services.permissions import Action, authorize
from storage import care
from storage.models import Person, Role


def _coordinator(context: BotContext) -> Person | None:
    """The person behind the update when it is a coordinator."""
    person = context.person
    return person if concerns.is_coordinator(person) else None


def _tapped(update: Update, button: Button, context: BotContext) -> tuple[Person, tuple[Any, ...]] | None:
    """The coordinator and the button's values, or None for a stale or forged tap."""
    parsed = button.parse(update.callback_query.data if update.callback_query else None)
    coordinator = _coordinator(context)
    return (coordinator, parsed) if parsed is not None and coordinator is not None else None


async def _show(update: Update, view: CardView) -> None:
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
    now = context.now()
    with context.session() as session:
        own = care.families(session=session, coordinator_id=coordinator.id, limit=None)
        see_all = not own and bool(
            authorize(session=session, actor=coordinator, action=Action.SEE_ALL_FAMILIES, now=now, audit=False)
        )
        everyone = own or (care.families(session=session, limit=None) if see_all else [])
        shown, page, more = page_of(everyone, page)
        buttons = [[(concerns.name_of(family), FAMILY_CARD.data(family.id))] for family in shown]
    duo = [(_("👥 My duo partner"), DUO.data(0))]
    if not buttons:
        text = _("There are no families yet.") if see_all else _("You have no families of your own yet.")
        await reply(update, text, None if see_all else keyboard([duo]))
        return
    text = _("Your families:") if own else _("All families:")
    pager = pager_row(page, more, FAMILIES_PAGE.data)
    if pager:
        text += "\n" + _("Page {page}").format(page=page + 1)
        buttons.append(pager)
    await reply(update, text, keyboard([*buttons, duo]))


async def families_page(update: Update, context: BotContext) -> None:
    """A page of /families: the list is read again, with this coordinator's rights."""
    tapped = _tapped(update, FAMILIES_PAGE, context)
    if tapped is None:
        await answer_stale(update)
        return
    await answer_button(update)
    await retire_buttons(update)
    await list_families(update, context, page=min(max(tapped[1][0], 0), 1000))


def _viewer(what: str, button: Button) -> Any:
    """A handler that shows the family's card, answers or timeline."""

    async def view(update: Update, context: BotContext) -> None:
        """Show the family's card, answers or timeline."""
        tapped = _tapped(update, button, context)
        if tapped is None:
            await answer_stale(update)
            return
        coordinator, (family_id,) = tapped
        with context.session() as session:
            shown = card.show(
                session=session,
                services=context.services,
                coordinator=coordinator,
                family_id=family_id,
                what=what,
                now=context.now(),
            )
        await _show(update, shown)

    view.__doc__ = f"The family's {what}, from its button."
    return view


open_card = _viewer("card", FAMILY_CARD)
show_answers = _viewer("answers", ANSWERS)
show_timeline = _viewer("timeline", TIMELINE)


async def _change(update: Update, context: BotContext, button: Button, **change: Any) -> None:
    """A change of the check-in settings from the card (the card is shown again, changed)."""
    tapped = _tapped(update, button, context)
    if tapped is None:
        await answer_stale(update)
        return
    coordinator, values = tapped
    chosen = {name: (value(values[1]) if callable(value) else value) for name, value in change.items()}
    with context.session() as session:
        view = card.change(
            session=session,
            services=context.services,
            coordinator=coordinator,
            family_id=values[0],
            now=context.now(),
            **chosen,
        )
    await _show(update, view)


async def set_rhythm(update: Update, context: BotContext) -> None:
    """The card's rhythm buttons (weekly, every two weeks, every four weeks, off)."""
    await _change(update, context, RHYTHM, rhythm=str)


async def set_weekday(update: Update, context: BotContext) -> None:
    """The card's weekday buttons."""
    await _change(update, context, WEEKDAY, weekday=int)


async def set_daypart(update: Update, context: BotContext) -> None:
    """The card's part-of-day buttons."""
    await _change(update, context, DAYPART, daypart=str)


async def set_auto_step_down(update: Update, context: BotContext) -> None:
    """'Lower automatically: on/off' on the card."""
    tapped = _tapped(update, AUTO_STEP_DOWN, context)
    if tapped is None or tapped[1][1] not in ("on", "off"):
        await answer_stale(update)
        return
    await _change(update, context, AUTO_STEP_DOWN, auto_step_down=lambda value: value == "on")


def _card_tap(button: Button, call: Any, doc: str) -> Any:
    """A handler for a card button: parse it, call `call(session=, services=, coordinator=, values=, now=)`, show."""

    async def tap(update: Update, context: BotContext) -> None:
        """Parse the card button, call its service, show the result."""
        tapped = _tapped(update, button, context)
        if tapped is None:
            await answer_stale(update)
            return
        coordinator, values = tapped
        with context.session() as session:
            view = call(
                session=session, services=context.services, coordinator=coordinator, values=values, now=context.now()
            )
        await _show(update, view)

    tap.__doc__ = doc
    return tap


def _send_now(*, values: tuple[Any, ...], **rest: Any) -> CardView:
    """'Send a check-in now' for the family on the card."""
    return card.send_now_from_card(family_id=values[0], **rest)


def _lower(*, values: tuple[Any, ...], **rest: Any) -> CardView:
    """'Yes, lower it' (cr:step:<family>:<rhythm>) or 'No, keep it' (cr:keep:<family>)."""
    return card.lower_rhythm(family_id=values[0], rhythm=values[1] if len(values) > 1 else None, **rest)


def _take_over(*, values: tuple[Any, ...], **rest: Any) -> CardView:
    """'I am their primary coordinator': the note, or stale when it is no family."""
    note = card.take_over(family_id=values[0], **rest)
    return CardView(note=note) if note is not None else card.STALE


send_now = _card_tap(SEND_NOW, _send_now, "'Send a check-in now' on the card.")
step_down = _card_tap(STEP_DOWN, _lower, "'Yes, lower it' under the offer to lower a family's check-ins.")
keep_rhythm = _card_tap(KEEP_RHYTHM, _lower, "'No, keep it' under the offer to lower a family's check-ins.")
take_over = _card_tap(MINE, _take_over, "'I am their primary coordinator' on the card.")


def _answerer(button: Button, accepted: bool) -> Any:
    """A handler for a colleague's Agree / No."""

    async def answer(update: Update, context: BotContext) -> None:
        """A colleague answers a request: only they may, once; the one who asked hears it."""
        tapped = _tapped(update, button, context)
        if tapped is None:
            await answer_stale(update)
            return
        coordinator, (request_id,) = tapped
        with context.session() as session:
            settled, note = card.answer_request(
                session=session, coordinator=coordinator, request_id=request_id, accepted=accepted, now=context.now()
            )
        if not note:
            await answer_stale(update)
            return
        await answer_button(update, note)
        if settled:
            await retire_buttons(update)
            await reply(update, note)

    answer.__doc__ = "A colleague answers a request: only they may, once; the one who asked hears it."
    return answer


agree = _answerer(AGREE, True)
disagree = _answerer(DISAGREE, False)


async def duo(update: Update, context: BotContext) -> None:
    """'My duo partner': pick a colleague, who is asked first (a duo sees each other's families); admins at once."""
    tapped = _tapped(update, DUO, context)
    if tapped is None:
        await answer_stale(update)
        return
    coordinator, (partner_id,) = tapped
    with context.session() as session:
        if partner_id != 0:
            note = card.choose_duo(session=session, coordinator=coordinator, partner_id=partner_id, now=context.now())
        else:
            current, options = card.duo_choice(session=session, coordinator=coordinator)
    if partner_id != 0:
        if note is None:
            await answer_stale(update)
            return
        await answer_button(update)
        await retire_buttons(update)
        await reply(update, note)
        return
    await answer_button(update)
    if not options:
        await reply(update, _("There are no other coordinators yet."))
        return
    text = (
        _("Your duo partner is {name}. Choose someone else to change it:").format(name=hi(concerns.name_of(current)))
        if current
        else _("Who is your duo partner?")
    )
    await reply(update, text, keyboard([[(name, DUO.data(person_id))] for name, person_id in options]))


async def topic_command(update: Update, context: BotContext) -> None:
    """/family, /checkin and /answers inside a family's topic in the coordinators' group."""
    coordinator = _coordinator(context)
    message = update.effective_message
    if coordinator is None or message is None or not message.text:
        return
    family_id = topic_family(context, update)
    if family_id is None:
        await message.reply_text(_("Use this in a family's topic."))
        return
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
    private = filters.UpdateType.MESSAGE & filters.ChatType.PRIVATE
    buttons = [
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
        CommandHandler("families", list_families, filters=private),
        CommandHandler(["family", "checkin", "answers", "rhythm"], topic_command, filters=group),
    ]


def register_menu() -> None:
    """The coordinators' menu entry."""
    menu.add("families", N_("Families"), {str(Role.COORDINATOR)}, list_families)
