"""/match for coordinators: every match with its state, a match's card (pause, resume, end with a reason, the
match meeting, a holiday), the review decision; and the /match dialogue, whose proposal steps are in
`conversations.match_proposals`. Each handler parses the tap or the text, calls one service
(`services.match_management`, `services.match_reviews`) and renders its answer.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler

from conversations import menu
from conversations.approvals import parse_date
from conversations.context import BotContext
from conversations.dialogue import END, STAY, Dialogue, draft_of, typed_words
from conversations.match_common import ask_household_member
from conversations.match_draft import NEW, MatchDraft
from conversations.match_proposals import other_input, proposal_states, start_adjusting, start_proposal
from conversations.ui import (
    answer_button,
    answer_stale,
    column,
    keyboard,
    reply,
    retire_buttons,
    tapped_or_stale,
    typed_text,
)
from services import match_household, match_reviews
from services import match_management as service
from services.callbacks import Button
from services.i18n import _, h
from storage.db import Session

NAME = "match"
HOLIDAY = "holiday"  # the dialogue's step that waits for a holiday's days


async def show_list(update: Update, context: BotContext) -> str | None:
    """/match: the matches of one's families with their state, and "Propose a match"."""
    await answer_button(update)
    with context.session() as session:
        listed = service.overview(session=session, coordinator=context.person, now=context.now())
    if listed.refused:
        await reply(update, _("This is for coordinators."))
        return END
    lines = [_("🤝 <b>Lasting matches</b>")] + (listed.lines or [_("No matches yet.")])
    buttons = [(f"🤝 {label}", service.OPEN.data(match_id)) for label, match_id in listed.buttons[:20]]
    buttons.append((_("➕ Propose a match"), NEW.data()))
    await reply(update, "\n".join(lines), column(buttons))
    return END


async def _show_card(update: Update, card: service.Card, *, edit: bool = False) -> None:
    """Render a card: a stale tap, a refusal note, a short answer, or the card (the old buttons retired when edit)."""
    if card.stale:
        await answer_stale(update)
        return
    if card.note is not None:
        await answer_button(update, card.note)
        return
    await answer_button(update)
    if not card.rows:  # not a card but a short answer (why an adult cannot join): the buttons pressed stay
        await reply(update, h(card.text))
        return
    if edit:
        await retire_buttons(update)
    await reply(update, card.text, keyboard(card.rows))


def _card_of(session: Session, context: BotContext, match_id: int) -> service.Card:
    """One match's card as this coordinator may see it now."""
    return service.card(
        session=session, services=context.services, coordinator=context.person, match_id=match_id, now=context.now()
    )


# What a button answered by a match's card asks of the service, given the tap's values.
CardLoad = Callable[[Session, BotContext, tuple[Any, ...]], service.Card]


def _opened(session: Session, context: BotContext, values: tuple[Any, ...]) -> service.Card:
    """A match in the list: its card."""
    return _card_of(session, context, values[0])


def _changed(move: str) -> CardLoad:
    """What one of the card's change buttons does (meeting, pause, resume, end with a reason)."""

    def load(session: Session, context: BotContext, values: tuple[Any, ...]) -> service.Card:
        """The change made; the card as it is now."""
        return service.change(
            session=session,
            services=context.services,
            coordinator=context.person,
            match_id=values[0],
            move=move,
            now=context.now(),
            reason=str(values[1]) if len(values) > 1 else None,
        )

    return load


def _end_reasons(session: Session, context: BotContext, values: tuple[Any, ...]) -> service.Card:
    """'End the match': the card asking why."""
    return service.end_reasons(session=session, coordinator=context.person, match_id=values[0], now=context.now())


def _member_added(session: Session, context: BotContext, values: tuple[Any, ...]) -> service.Card:
    """An adult added to the household (checked: approved, VOG where children are involved): the card again."""
    return match_household.add_member(
        session=session,
        services=context.services,
        coordinator=context.person,
        match_id=values[0],
        person_id=values[1],
        now=context.now(),
    )


def _card_screen(button: Button, load: CardLoad, *, edit: bool) -> Any:
    """A handler for a button answered by a match's card: `load` in one session, the card shown."""

    async def handler(update: Update, context: BotContext) -> str | None:
        """A button on or towards a match's card: the card (retiring the old one's buttons when it changed)."""
        values = await tapped_or_stale(update, button)
        if values is None:
            return END
        with context.session() as session:
            found = load(session, context, values)
        await _show_card(update, found, edit=edit)
        return END

    return handler


# The buttons answered by a match's card: what each asks of the service, and whether the old card's buttons go.
CARD_SCREENS: list[tuple[Button, CardLoad, bool]] = [
    (service.OPEN, _opened, False),
    (service.MEETING, _changed("meeting"), True),
    (service.PAUSE, _changed("pause"), True),
    (service.RESUME, _changed("resume"), True),
    (service.END_WHY, _changed("end"), True),
    (service.END, _end_reasons, True),
    (service.PICK_MEMBER, _member_added, True),
]


async def decide_review(update: Update, context: BotContext) -> str | None:
    """The coordinator's continue / adjust / stop at a review."""
    parsed = await tapped_or_stale(update, match_reviews.DECIDE)
    if parsed is None:
        return END
    with context.session() as session:
        decided = match_reviews.decide(
            session=session,
            services=context.services,
            coordinator=context.person,
            review_id=parsed[0],
            choice=parsed[1],
            now=context.now(),
        )
    if decided.stale:
        await answer_stale(update)
        return END
    if decided.card is not None:
        await retire_buttons(update)
        await _show_card(update, decided.card)
        return END
    await answer_button(update, decided.note)
    await retire_buttons(update)
    if decided.note:
        await reply(update, h(decided.note))
    return END


async def ask_holiday(update: Update, context: BotContext) -> str | None:
    """A holiday button: ask for the days."""
    parsed = await tapped_or_stale(update, service.HOLIDAY)
    if parsed is None:
        return END
    with context.session() as session:
        found = _card_of(session, context, parsed[0])
    if found.stale or found.note is not None:
        await _show_card(update, found)
        return END
    draft = draft_of(context, MatchDraft)
    draft.holiday_match, draft.holiday_side = parsed[0], parsed[1]
    await answer_button(update)
    await reply(
        update,
        _("Type the first and the last day of the holiday, such as 20-12-2026 - 3-1-2027. (Send /cancel to stop.)"),
    )
    return HOLIDAY


async def typed_holiday(update: Update, context: BotContext) -> str | None:
    """The holiday's days, typed."""
    draft = draft_of(context, MatchDraft)
    parts = [parse_date(part) for part in typed_text(update).replace("–", " - ").split(" - ")]
    if len(parts) == 1 and parts[0] is not None:
        parts = [parts[0], parts[0]]
    if len(parts) != 2 or parts[0] is None or parts[1] is None:
        await reply(update, _("Please type two days, such as 20-12-2026 - 3-1-2027."))
        return STAY
    with context.session() as session:
        result = service.add_holiday(
            session=session,
            services=context.services,
            coordinator=context.person,
            match_id=draft.holiday_match,
            side=draft.holiday_side,
            first=parts[0],
            last=parts[1],
            now=context.now(),
        )
    if result == service.HolidayResult.BAD_DATES:
        await reply(update, _("Those days do not work: the last day must be after the first, and not in the past."))
        return STAY
    if result == service.HolidayResult.GONE:
        await reply(update, _("That match can no longer change."))
        return END
    await reply(update, _("🏖 Holiday saved. Both sides are told; those meetings do not count as missed."))
    return END


async def ask_adjust(update: Update, context: BotContext) -> str | None:
    """'Change the rhythm or time' on a match's card: the adjusting steps, when this coordinator may."""
    parsed = await tapped_or_stale(update, service.ADJUST)
    if parsed is None:
        return END
    with context.session() as session:
        start = service.adjust_start(session=session, coordinator=context.person, match_id=parsed[0], now=context.now())
    if start.refused is not None:
        await _show_card(update, start.refused)
        return END
    await answer_button(update)
    return await start_adjusting(update, context, start)


async def ask_member(update: Update, context: BotContext) -> str | None:
    """'Add an adult of the support household' on a card: the first page of approved volunteers to choose from."""
    parsed = await tapped_or_stale(update, service.ADD_MEMBER)
    if parsed is None:
        return END
    return await _member_page(update, context, parsed[0], 0, turned=False)


async def turn_member_page(update: Update, context: BotContext) -> str | None:
    """The pager under a card's household list: another page, the rights checked again."""
    parsed = await tapped_or_stale(update, service.MEMBER_PAGE)
    if parsed is None:
        return END
    return await _member_page(update, context, parsed[0], parsed[1], turned=True)


async def _member_page(update: Update, context: BotContext, match_id: int, page: int, *, turned: bool) -> str | None:
    """One page of volunteers who could join the match's household (the old page's buttons go when `turned`)."""
    with context.session() as session:
        found = match_household.options_for_match(
            session=session, coordinator=context.person, match_id=match_id, page=page, now=context.now()
        )
    if found.refused is not None:
        await _show_card(update, found.refused)
        return END
    if not found.options and found.page > 0:  # a page past the end: the list changed since it was shown
        await answer_stale(update)
        return END
    await answer_button(update)
    if not found.options:
        await reply(update, _("There are no approved volunteers yet."))
        return END
    if turned:
        await retire_buttons(update, show_choice=False)
    await ask_household_member(
        update,
        found,
        lambda person_id: service.PICK_MEMBER.data(match_id, person_id),
        lambda to: service.MEMBER_PAGE.data(match_id, to),
    )
    return END


def build() -> Dialogue:
    """/match, the card's buttons and the proposal dialogue."""
    return Dialogue(
        name=NAME,
        draft=MatchDraft,
        entry_points=[
            *menu.started_by("match", "matches", show_list),
            CallbackQueryHandler(show_list, pattern=service.LIST.pattern),
            CallbackQueryHandler(start_proposal, pattern=NEW.pattern),
            CallbackQueryHandler(ask_holiday, pattern=service.HOLIDAY.pattern),
            CallbackQueryHandler(ask_adjust, pattern=service.ADJUST.pattern),
        ],
        states={**proposal_states(), HOLIDAY: typed_words(typed_holiday, other_input)},
    )


def build_first() -> list[BaseHandler[Any, Any, Any]]:
    """The card's and the review's buttons, which work at any time (also in the middle of a dialogue)."""
    return [
        *(
            CallbackQueryHandler(_card_screen(button, load, edit=edit), pattern=button.pattern)
            for button, load, edit in CARD_SCREENS
        ),
        CallbackQueryHandler(decide_review, pattern=match_reviews.DECIDE.pattern),
        CallbackQueryHandler(ask_member, pattern=service.ADD_MEMBER.pattern),
        CallbackQueryHandler(turn_member_page, pattern=service.MEMBER_PAGE.pattern),
    ]
