"""A family's case for coordinators: the case screen and its buttons, planning an intake talk, /waiting; and
the family's "We need help again" under the waakvlam message. Each handler parses the tap or the text, calls
one service in `services.cases` (which checks rights and state on the server) and shows what it returns.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler

from conversations import checkins, menu
from conversations.context import BotContext
from conversations.dialogue import END, STAY, Dialogue, Draft, draft_of, private_command, typed_words
from conversations.family_card import CardCall, card_tap, show_view
from conversations.ui import answer_button, answer_stale, keyboard, reply, tapped_values, typed_text
from services import cases as service
from services.callbacks import Button
from services.concerns import is_coordinator
from services.context import Services
from services.family_card import CardView
from services.i18n import N_, _
from storage.db import Session
from storage.models import Person, Role

NAME = "case"
TALK_TIME = "talk_time"  # the step that waits for the intake talk's day and time
_DAY_TIME = re.compile(r"^\s*(\d{1,2})[-/.](\d{1,2})[-/.](\d{4})\s+(\d{1,2})[:.](\d{2})\s*$")


@dataclass
class CaseDraft(Draft):
    """The family whose intake talk is being planned."""

    family_id: int = 0


def parse_day_time(text: str) -> datetime | None:
    """A typed local day and time ("14-12-2026 10:00"), or None when it is no real moment."""
    found = _DAY_TIME.match(text)
    if found is None:
        return None
    day, month, year, hour, minute = (int(part) for part in found.groups())
    try:
        return datetime(year, month, day, hour, minute)  # noqa: DTZ001  (a local time; the service adds the zone)
    except ValueError:
        return None


async def _coordinator_tap(
    update: Update, context: BotContext, button: Button
) -> tuple[Person, tuple[Any, ...]] | None:
    """The tapping coordinator and the case button's ids; None, answered as stale, for anyone else or a forgery."""
    parsed = tapped_values(update, button)
    person = context.person
    if parsed is None or person is None or not is_coordinator(person):
        await answer_stale(update)
        return None
    return person, parsed


def _case_screen(
    session: Session, services: Services, coordinator: Person, values: tuple[Any, ...], now: datetime
) -> CardView:
    """The case screen of the button's family."""
    return service.case_screen(
        session=session, services=services, coordinator=coordinator, family_id=values[0], now=now
    )


def _moving(*, closing: bool) -> CardCall:
    """A move button (family, the state expected, the target) or a closing one (family, state expected, reason)."""

    def call(
        session: Session, services: Services, coordinator: Person, values: tuple[Any, ...], now: datetime
    ) -> CardView:
        """Move or close the case, and show it again."""
        family_id, expected, last = values
        return service.move_case(
            session=session,
            services=services,
            coordinator=coordinator,
            family_id=family_id,
            expected=expected,
            target="closed" if closing else last,
            reason=last if closing else None,
            now=now,
        )

    return call


def _talk_held(
    session: Session, services: Services, coordinator: Person, values: tuple[Any, ...], now: datetime
) -> CardView:
    """Mark the button's intake talk held, and show the case again."""
    return service.talk_held(
        session=session, services=services, coordinator=coordinator, family_id=values[0], talk_id=values[1], now=now
    )


open_case = card_tap(service.OPEN, _case_screen, "'Case' on the family card: the case screen.")
move = card_tap(service.MOVE, _moving(closing=False), "A move button on the case screen (ca:to:<family>:<from>:<to>).")
close = card_tap(service.CLOSE, _moving(closing=True), "A closing reason on the case screen (ca:close:...).")
held = card_tap(service.HELD, _talk_held, "'Talk held' on the case screen.")


async def ask_talk_time(update: Update, context: BotContext) -> str | None:
    """'Plan an intake talk': ask for the day and time."""
    tapped = await _coordinator_tap(update, context, service.TALK)
    if tapped is None:
        return END
    person, parsed = tapped
    with context.session() as session:
        refused = service.may_plan_talk(session=session, coordinator=person, family_id=parsed[0], now=context.now())
    if refused is not None:
        await show_view(update, refused)
        return END
    draft_of(context, CaseDraft).family_id = parsed[0]
    await answer_button(update)
    await reply(
        update, _("Type the day and time of the intake talk, such as 14-12-2026 10:00. (Send /cancel to stop.)")
    )
    return TALK_TIME


async def typed_talk_time(update: Update, context: BotContext) -> str | None:
    """The intake talk's day and time, typed."""
    local = parse_day_time(typed_text(update))
    if local is None:
        await reply(update, _("Please type a day and a time, such as 14-12-2026 10:00."))
        return STAY
    person = context.person
    assert person is not None
    with context.session() as session:
        view = service.plan_talk(
            session=session,
            services=context.services,
            coordinator=person,
            family_id=draft_of(context, CaseDraft).family_id,
            local=local,
            now=context.now(),
        )
    if view.text is None:
        await reply(update, view.note or _("That did not work. Please try again from the case."))
        return STAY if view.note and not view.stale else END
    await reply(update, _("🗓 Intake talk planned. The family is told."))
    await reply(update, view.text, keyboard(view.rows) if view.rows else None)
    return END


async def other_input(update: Update, context: BotContext) -> str | None:
    """Anything but a typed day and time while one is awaited."""
    await reply(update, _("Please type a day and a time, such as 14-12-2026 10:00. (Send /cancel to stop.)"))
    return STAY


async def _answer_own_button(update: Update) -> None:
    """Answer the tap of this module's own button (the menu answers its entries' taps itself)."""
    query = update.callback_query
    if query is not None and not (query.data or "").startswith("menu:"):
        await answer_button(update)


async def waiting_list(update: Update, context: BotContext) -> None:
    """/waiting (or the menu entry): the team's waiting families, longest waiting first."""
    await _answer_own_button(update)
    with context.session() as session:
        view = service.waiting_list(
            session=session, services=context.services, coordinator=context.person, now=context.now()
        )
    await reply(update, view.text or "", keyboard(view.rows) if view.rows else None)


async def need_help_again(update: Update, context: BotContext) -> None:
    """'We need help again' under the waakvlam message: the same as the family's menu entry."""
    await _answer_own_button(update)
    await checkins.need_help_again(update, context)


def build() -> Dialogue:
    """Planning an intake talk: the button, then the typed day and time."""
    return Dialogue(
        name=NAME,
        draft=CaseDraft,
        entry_points=[CallbackQueryHandler(ask_talk_time, pattern=service.TALK.pattern)],
        states={TALK_TIME: typed_words(typed_talk_time, other_input)},
    )


def build_first() -> list[BaseHandler[Any, Any, Any]]:
    """The case screen's buttons and /waiting (they work at any time, also in the middle of a dialogue)."""
    return [
        CallbackQueryHandler(open_case, pattern=service.OPEN.pattern),
        CallbackQueryHandler(move, pattern=service.MOVE.pattern),
        CallbackQueryHandler(close, pattern=service.CLOSE.pattern),
        CallbackQueryHandler(held, pattern=service.HELD.pattern),
        CallbackQueryHandler(need_help_again, pattern=service.AGAIN.pattern),
        private_command("waiting", waiting_list),
    ]


def register_menu() -> None:
    """The coordinators' waiting list."""
    menu.add("waiting", N_("⏳ Waiting list"), {str(Role.COORDINATOR)}, waiting_list)
