"""Coordinators and families: the requests nobody took (and placing one with a named volunteer), support
pairs, and asking for help on a family's behalf. Every button re-checks that the coordinator may see the
family (`services.approvals.may_see`); the pairing rules are in `services.pairs`."""

from __future__ import annotations

import logging
from typing import Any

from telegram import Update
from telegram.ext import CallbackQueryHandler

from conversations.context import BotContext
from conversations.ui import (
    PAGE_SIZE,
    answer_button,
    answer_done_before,
    answer_stale,
    keyboard,
    page_of,
    pager_row,
    reply,
    retire_buttons,
    settled_tap,
    tapped_or_stale,
    tapped_values,
)
from services.approvals import (
    PAGE,
    PAIR,
    PAIR_PAGE,
    PAIR_WITH,
    PLACE_WITH,
    UNPAIR,
    coordinator_of,
    family_labels,
    visible_families,
)
from services.concerns import name_of
from services.i18n import _, h, hi, isolate
from services.pairs import candidates, pair_lines, pairs_overview, unpair
from services.pairs import pair as pair_family
from services.placing import OpenRequest, open_requests, place_with, placing
from services.request_flow import PLACE_REQUEST as PLACE
from services.requests import FOR_FAMILY as ASK_FOR
from services.tasks import kind_label, when_text
from storage.db import Session
from storage.models import Person

logger = logging.getLogger(__name__)

MAX_BUTTONS = 24
MAX_PAGE = 1000


async def not_coordinator(update: Update) -> None:
    """The answer to anyone but a coordinator."""
    await reply(update, _("This is for coordinators."))


def pager(name: str, page: int, more: bool) -> list[tuple[str, str]]:
    """The '◀ Back' / 'More ▶' row of a paged family list (empty when it fits on one page)."""
    return pager_row(page, more, lambda number: PAGE.data(name, number))


def page_asked(update: Update) -> int:
    """The page number of a pager button (`ap:pg:<list>:<page>`); 0 for the menu entry."""
    parsed = tapped_values(update, PAGE)
    return min(max(parsed[1], 0), MAX_PAGE) if parsed else 0


async def turn_page_buttons(update: Update) -> None:
    """A pager button: stop its spinner and take the old page's buttons away (the new page is a new message)."""
    if tapped_values(update, PAGE) is not None:
        await answer_button(update)
        await retire_buttons(update, show_choice=False)


async def reply_page(
    update: Update, name: str, page: int, more: bool, lines: list[str], rows: list[list[tuple[str, str]]]
) -> None:
    """Send one page of the list `name`: with its number and pager row when there are more, the old page retired."""
    if page > 0 or more:
        lines = [*lines, _("Page {page}").format(page=page + 1)]
        rows = [*rows, pager(name, page, more)]
    await turn_page_buttons(update)
    await reply(update, "\n".join(lines), keyboard(rows) if rows else None)


def _rows_of_two(buttons: list[tuple[str, str]]) -> list[list[tuple[str, str]]]:
    """Buttons two to a row."""
    return [buttons[index : index + 2] for index in range(0, len(buttons), 2)]


# --- requests nobody took -------------------------------------------------------------------------


def _open_request_lines(coordinator: Person, items: list[OpenRequest]) -> tuple[list[str], list[Any]]:
    """The open requests of the families this coordinator may see, with a button to place each."""
    lines = [_("<b>Requests nobody has accepted yet</b>")]
    rows: list[list[tuple[str, str]]] = []
    for item in items:
        request, family = item.request, item.family
        lines.append("")
        lines.append(
            _("{family} ({area}): {what}, {when}. Asked: {count}.").format(
                family=hi(name_of(family)),
                area=hi(item.area),
                what=h(kind_label(request.kind)),
                when=h(when_text(request, coordinator.timezone, coordinator.language)),
                count=hi(item.asked),
            )
        )
        label = _("📌 Ask a volunteer: {what}, {family}").format(what=kind_label(request.kind), family=name_of(family))
        rows.append([(label, PLACE.data(request.id))])
    if not items:
        lines.append(_("None: every request has a volunteer."))
    return lines, rows


async def show_open_requests(update: Update, context: BotContext) -> None:
    """Open requests of the families this coordinator may see, with a button to place each by name."""
    with context.session() as session:
        found = open_requests(session=session, person=context.person, now=context.now(), limit=MAX_BUTTONS)
    if found is None:
        await not_coordinator(update)
        return
    lines, rows = _open_request_lines(*found)
    await reply(update, "\n".join(lines), keyboard(rows) if rows else None)


async def place_list(update: Update, context: BotContext) -> None:
    """Place a request: whom shall we ask? (Only volunteers who may do it; for children, with a valid VOG.)"""
    parsed = tapped_values(update, PLACE)
    with context.session() as session:
        found = (
            placing(
                session=session,
                services=context.services,
                person=context.person,
                request_id=parsed[0],
                now=context.now(),
            )
            if parsed
            else None
        )
    if found is None:
        await answer_stale(update)
        return
    if not found.ok:
        await answer_button(update, _("This request was already accepted or closed."))
        return
    options, text, request = found.options, found.summary, found.request
    await answer_button(update)
    if not options:
        await reply(
            update,
            text
            + "\n\n"
            + _(
                "There is no approved volunteer who may do this task (for tasks with children: approved for "
                "children with a VOG that counts)."
            ),
        )
        return
    buttons = [
        (("✓ " if fits else "") + name_of(person), PLACE_WITH.data(request.id, person.id)) for person, fits in options
    ]
    await reply(
        update,
        text + "\n\n" + _("Whom shall we ask? ✓ = fits the neighbourhood, skills and usual times."),
        keyboard(_rows_of_two(buttons)),
    )


async def place(update: Update, context: BotContext) -> None:
    """Ask one named volunteer personally (they still accept or pass; all rules checked again)."""
    parsed = await tapped_or_stale(update, PLACE_WITH)
    if parsed is None:
        return
    with context.session() as session:
        result, name = place_with(
            session=session,
            services=context.services,
            person=context.person,
            request_id=parsed[0],
            volunteer_id=parsed[1],
            now=context.now(),
        )
    if result == "forged":
        await answer_stale(update)
        return
    if result == "stale":
        await answer_done_before(update, _("This request was already accepted or closed."))
        return
    if result == "not_allowed":
        await answer_button(update, _("{name} may not do this task.").format(name=isolate(name)))
        return
    await answer_button(update)
    await retire_buttons(update)
    if result == "waiting":
        await reply(update, _("{name} was already asked and has not answered yet.").format(name=hi(name)))
        return
    await reply(update, _("We asked {name}. You will hear when the request is accepted.").format(name=hi(name)))


# --- support pairs --------------------------------------------------------------------------------


async def show_pairs(update: Update, context: BotContext) -> None:
    """Families with their support volunteer; a button per family to pair (or change) it, a page at a time."""
    rows: list[list[tuple[str, str]]] = []
    with context.session() as session:
        found = pairs_overview(session=session, person=context.person, now=context.now())
        if found is not None:
            lines = [_("<b>Support pairs</b>"), _("The support volunteer gets the family's requests first.")]
            shown, page, more = page_of(found[1], page_asked(update))
            labels = family_labels(session=session, families=shown, among=found[1])
            for line in pair_lines(session=session, families=shown):
                family = line.family
                lines.append(f"• {hi(name_of(family))}: " + (hi(name_of(line.support)) if line.support else "-"))
                label = _("🤝 {family}").format(family=labels.get(family.id or 0, ""))
                rows.append([(label, PAIR.data(family.id))])
    if found is None:
        await not_coordinator(update)
        return
    await reply_page(update, "pairs", page, more, lines, rows)


async def pair_list(update: Update, context: BotContext) -> None:
    """Choose the support volunteer for a family: approved volunteers, those in the family's area first."""
    parsed = tapped_values(update, PAIR)
    await _pair_list(update, context, parsed[0] if parsed else None, 0)


async def pair_list_page(update: Update, context: BotContext) -> None:
    """Another page of the support volunteers to choose from."""
    parsed = tapped_values(update, PAIR_PAGE)
    await _pair_list(update, context, parsed[0] if parsed else None, min(max(parsed[1], 0), MAX_PAGE) if parsed else 0)


async def _pair_list(update: Update, context: BotContext, family_id: int | None, page: int) -> None:
    """One page of approved volunteers to pair this family with, and 'Remove the pairing' when paired."""
    with context.session() as session:
        found = (
            candidates(
                session=session,
                person=context.person,
                family_id=family_id,
                page=page,
                page_size=PAGE_SIZE,
                now=context.now(),
            )
            if family_id is not None
            else None
        )
    if found is None:
        await answer_stale(update)
        return
    await answer_button(update)
    if tapped_values(update, PAIR_PAGE) is not None:
        await retire_buttons(update, show_choice=False)  # a page turn: the new page is a new message
    family = found.family
    rows = _rows_of_two([(label, PAIR_WITH.data(family.id, person_id)) for label, person_id in found.options])
    turn = pager_row(page, found.more, lambda number: PAIR_PAGE.data(family.id, number))
    if turn:
        rows.append(turn)
    if found.paired:
        rows.append([(_("Remove the pairing"), UNPAIR.data(family.id))])
    if not found.options and not found.paired and page == 0:
        await reply(update, _("There are no approved volunteers yet."))
        return
    text = _("Who will be the support volunteer of {family}?").format(family=hi(name_of(family)))
    if turn:
        text += "\n" + _("Page {page}").format(page=page + 1)
    await reply(update, text, keyboard(rows))


async def pair(update: Update, context: BotContext) -> None:
    """Pair a family with an approved volunteer; both are told."""

    def pair_them(session: Session, values: tuple[Any, ...]) -> tuple[str, str] | None:
        """Pair the tapped family and volunteer: their names, or None when that is no longer possible."""
        return pair_family(
            session=session, person=context.person, family_id=values[0], volunteer_id=values[1], now=context.now()
        )

    names = await settled_tap(update, context, PAIR_WITH, pair_them)
    if names is None:
        return
    await reply(
        update,
        _("{volunteer} is now the support volunteer of {family}.").format(volunteer=hi(names[1]), family=hi(names[0])),
    )


async def on_unpair(update: Update, context: BotContext) -> None:
    """Remove a family's support volunteer; the volunteer is told."""
    parsed = tapped_values(update, UNPAIR)
    with context.session() as session:
        done = parsed is not None and unpair(
            session=session, person=context.person, family_id=parsed[0], now=context.now()
        )
    await retire_buttons(update, show_choice=done)
    if not done:
        await answer_stale(update)
        return
    await answer_button(update)
    await reply(update, _("The pairing is removed."))


# --- on a family's behalf -------------------------------------------------------------------------


async def ask_for_family(update: Update, context: BotContext) -> None:
    """Ask for help on a family's behalf: which family? (The request dialogue takes it from there.)"""
    with context.session() as session:
        coordinator = coordinator_of(session=session, person=context.person, now=context.now())
        families = visible_families(session=session, coordinator=coordinator) if coordinator is not None else []
        shown, page, more = page_of(families, page_asked(update))
        labels = family_labels(session=session, families=shown, among=families)
        buttons = [(labels.get(family.id or 0, ""), ASK_FOR.data(family.id)) for family in shown]
    if coordinator is None:
        await not_coordinator(update)
        return
    if not buttons:
        await reply(update, _("You have no families yet."))
        return
    await reply_page(update, "askfor", page, more, [_("For which family?")], _rows_of_two(buttons))


FAMILY_HANDLERS: list[Any] = [
    CallbackQueryHandler(place_list, pattern=PLACE.pattern),
    CallbackQueryHandler(place, pattern=PLACE_WITH.pattern),
    CallbackQueryHandler(pair_list, pattern=PAIR.pattern),
    CallbackQueryHandler(pair_list_page, pattern=PAIR_PAGE.pattern),
    CallbackQueryHandler(pair, pattern=PAIR_WITH.pattern),
    CallbackQueryHandler(on_unpair, pattern=UNPAIR.pattern),
]
