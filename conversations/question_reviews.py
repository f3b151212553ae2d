"""One-tap reviews ("does it help?", "how is it going for you?") and the coordinator's decision buttons.

The rules are in `services.question_reviews`; every tap is checked again there (an old or forged button
changes nothing and is answered kindly).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler

from conversations.context import BotContext
from conversations.ui import (
    acted_on_tap,
    answer_button,
    answer_done_before,
    answer_stale,
    close_tap,
    keyboard,
    reply,
    retire_buttons,
    settled_once,
    stale_text,
    tapped_values,
)
from domain.questions import Decision
from services import question_decisions as decisions
from services import question_reviews as service
from services.i18n import _, h
from services.question_decisions import Decided
from services.question_reviews import FAMILY_ANSWER, HELPER_ANSWER, PICK, WHY, Answered
from storage.db import Session


async def on_family_answer(update: Update, context: BotContext) -> None:
    """The family's answer to "does the help help?"."""

    def answer(session: Session, values: tuple[Any, ...]) -> service.ReviewResult:
        """Record the family's answer."""
        return service.answer_family_review(
            session=session,
            services=context.services,
            person=context.person,
            review_id=values[0],
            answer=values[1],
            now=context.now(),
        )

    thanks = {
        Answered.ENDED: _("Thank you! Then that question is closed; your coordinators will hear it."),
        Answered.TO_COORDINATOR: _(
            "Thank you for being honest. Help that does not help should change: "
            "your coordinator will talk it over with you."
        ),
        Answered.THANKS: _("Thank you! That helps us to help you well."),
    }
    closed = _("This question was answered already, or is closed. Thank you!")
    await _thank(update, acted_on_tap(update, context, FAMILY_ANSWER, answer), thanks, closed)


async def on_helper_answer(update: Update, context: BotContext) -> None:
    """A helper's answer to "how is it going for you?"."""

    def answer(session: Session, values: tuple[Any, ...]) -> service.ReviewResult:
        """Record the helper's feeling."""
        return service.answer_helper_review(
            session=session,
            services=context.services,
            person=context.person,
            review_id=values[0],
            feeling=values[1],
            now=context.now(),
        )

    thanks = {
        Answered.TO_COORDINATOR: _("Thank you for saying so. A coordinator will get in touch with you about it."),
        Answered.THANKS: _("Thank you! Good to know how it is going for you."),
    }
    await _thank(update, acted_on_tap(update, context, HELPER_ANSWER, answer), thanks, stale_text())


async def _thank(
    update: Update, result: service.ReviewResult | None, thanks: Mapping[Answered, str], closed: str
) -> None:
    """A review's answer thanked in the words for its outcome; a stale or closed review's tap gets `closed`."""
    if result is None or result.outcome == Answered.STALE:
        await answer_button(update, closed)
        return
    await close_tap(update, thanks.get(result.outcome, thanks[Answered.THANKS]))


async def on_pick(update: Update, context: BotContext) -> None:
    """Continue, change or stop tapped: the short list of reasons for it."""
    parsed = tapped_values(update, PICK)
    found = None
    if parsed is not None and parsed[1] in Decision.__members__.values():
        with context.session() as session:
            found = decisions.decidable(
                session=session, coordinator=context.person, decision_id=parsed[0], now=context.now()
            )
    if found is None or parsed is None:
        await answer_stale(update)
        return
    row, question = found
    if row.decided_at is not None:
        await answer_done_before(update, _("This was decided already."))
        return
    await answer_button(update)
    await retire_buttons(update)
    choice = Decision(parsed[1])
    await reply(
        update,
        _("Why? (for <i>{question}</i>)").format(question=h(question.text)),
        keyboard(service.reason_rows(parsed[0], choice)),
    )


async def on_reason(update: Update, context: BotContext) -> None:
    """The reason tapped: the decision is taken, once."""

    def decide(session: Session, values: tuple[Any, ...]) -> decisions.DecisionResult:
        """Take the decision with its reason."""
        return decisions.decide(
            session=session,
            services=context.services,
            coordinator=context.person,
            decision_id=values[0],
            choice=values[1],
            reason=values[2],
            now=context.now(),
        )

    parsed = tapped_values(update, WHY)
    result = acted_on_tap(update, context, WHY, decide)
    outcome = result.outcome if result else None
    said_already = _("This was decided already.")
    if not await settled_once(
        update, outcome, refused=Decided.REFUSED, already=Decided.ALREADY, said_already=said_already
    ):
        return
    assert result is not None
    if parsed is not None and parsed[1] == Decision.STOP:
        await reply(
            update, _("Decided: the help for this question stops. Its helpers and the family have been told kindly.")
        )
    elif result.decision is not None and result.decision.meeting_id is not None:
        await reply(update, _("Decided. The family hears it with the other decisions once the meeting is recorded."))
    else:
        await reply(update, _("Decided, and the family has been told in plain words."))


def build() -> list[BaseHandler[Any, Any, Any]]:
    """The review and decision buttons (they work at any time)."""
    return [
        CallbackQueryHandler(on_family_answer, pattern=FAMILY_ANSWER.pattern),
        CallbackQueryHandler(on_helper_answer, pattern=HELPER_ANSWER.pattern),
        CallbackQueryHandler(on_pick, pattern=PICK.pattern),
        CallbackQueryHandler(on_reason, pattern=WHY.pattern),
    ]
