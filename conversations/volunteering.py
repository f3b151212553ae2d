"""Volunteers: accept or pass on an offer, and the debrief after a task (did it happen, how did it go).

The offer buttons (`vo:acc:<offer>`, `vo:no:<offer>`) and the after-task questions work at any time, also in
the middle of a dialogue, so they are registered before the dialogue router (`build_first`). Every button
is re-checked here: the offer must be this volunteer's, the request still open, the volunteer still
approved (and, for a task with children, still approved for children with a valid VOG).

Tasks, pauses and task messages are in `conversations.volunteer_tasks`; the helper profile (also a family's,
`vp:new`) in `conversations.volunteer_profile`; the coordinators' side in `conversations.approvals`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from telegram import Message, Update
from telegram.error import BadRequest
from telegram.ext import BaseHandler, CallbackQueryHandler

from conversations import menu
from conversations.context import BotContext
from conversations.dialogue import private_command
from conversations.ui import (
    answer_button,
    answer_done_before,
    answer_stale,
    column,
    int_arg,
    keyboard,
    parse_callback,
    reply,
    retire_buttons,
    stale_text,
    tapped_values,
)
from conversations.volunteer_profile import help_others
from conversations.volunteer_tasks import (
    CANCEL_HANDLERS,
    PAUSE_HANDLERS,
    show_pause,
    show_tasks,
)
from services import matching
from services.callbacks import Button
from services.i18n import N_, _, hi
from services.logs import event
from services.offer_answers import AcceptResult, OfferAnswer, accept_offer, decline_offer, record_outcome
from services.offers import ACCEPT as ACCEPT_OFFER
from services.offers import DECLINE as DECLINE_OFFER
from services.requests import THANK
from services.volunteers import (
    FINE,
    RATE,
    RATINGS,
    SKIP,
    VOLUNTEER,
    WORRY,
    Debriefed,
    close_debrief,
    message_family_button,
    raise_worry,
    rate_task,
)
from storage.models import Role

logger = logging.getLogger(__name__)


async def _edit_pressed(update: Update, text: str) -> None:
    """Replace the pressed message's text and drop its buttons; 'not modified' (a double tap) is fine."""
    query = update.callback_query
    if query is None or not isinstance(query.message, Message):
        return
    try:
        await query.edit_message_text(text, reply_markup=None)
    except BadRequest as error:
        if "not modified" not in error.message.lower():
            logger.info("volunteering.edit_failed reason=%s", error.message[:60])


# --- offers ---------------------------------------------------------------------------------------


async def on_accept(update: Update, context: BotContext) -> None:
    """Accept an offer."""
    await _answer_offer(update, context, ACCEPT_OFFER, accept_offer)


async def on_decline(update: Update, context: BotContext) -> None:
    """Not this time."""
    await _answer_offer(update, context, DECLINE_OFFER, decline_offer)


async def _answer_offer(
    update: Update, context: BotContext, button: Button, answer_with: Callable[..., OfferAnswer]
) -> None:
    """Parse the offer button, answer it in one transaction, and render the outcome."""
    parsed = tapped_values(update, button)
    if parsed is None or context.person is None:
        await answer_stale(update)
        return
    with context.session() as session:
        answer = answer_with(
            session=session, services=context.services, person=context.person, offer_id=parsed[0], now=context.now()
        )
    event(logger, "offer.answered", offer=parsed[0], outcome=str(answer.outcome))
    await _render_offer_answer(update, answer)


OFFER_ANSWERS = {
    "not_allowed": N_("You cannot accept requests at the moment. Please contact your coordinator."),
    AcceptResult.ALREADY_YOURS: N_("You already accepted this. Thank you!"),
    "already_declined": N_("You already passed on this one."),
    AcceptResult.CLOSED: N_("This request is no longer needed. Thank you!"),
    AcceptResult.TAKEN: N_("Already taken, thank you!"),
    "declined": N_("Thank you for letting us know."),
}


async def _render_offer_answer(update: Update, answer: OfferAnswer) -> None:
    """Answer the tap, edit the offer message, and after an accept send what the volunteer needs."""
    if answer.outcome == "stale":
        await answer_stale(update)
        return
    if answer.outcome != AcceptResult.ACCEPTED:
        await answer_button(update, _(OFFER_ANSWERS[answer.outcome]))
        if answer.edited:
            await _edit_pressed(update, answer.edited)
        return
    await answer_button(update, _("Thank you!"))
    await _edit_pressed(update, answer.edited)
    await reply(
        update,
        _("✅ Thank you for helping! Here is what you need:")
        + "\n"
        + answer.details
        + "\n\n"
        + _("You will get a reminder. If your plans change, cancel under /menu, My tasks."),
        keyboard([[message_family_button(answer.request_id)]]),
    )
    chat = update.effective_chat
    if answer.voice and chat is not None:
        await chat.send_voice(answer.voice)


# --- after a task ---------------------------------------------------------------------------------


async def on_outcome(update: Update, context: BotContext) -> None:
    """Did it happen? (`td:<request>:done|no`, written by matching's follow-up.) Then a short debrief."""
    parts = parse_callback(update.callback_query.data if update.callback_query else None, matching.OUTCOME)
    request_id = int_arg(parts[0]) if parts and len(parts) == 2 and parts[1] in ("done", "no") else None
    if parts is None or request_id is None or context.person is None:
        await answer_stale(update)
        return
    happened = parts[1] == "done"
    with context.session() as session:
        side, recorded = record_outcome(
            session=session,
            services=context.services,
            person=context.person,
            request_id=request_id,
            happened=happened,
            now=context.now(),
        )
    if side is None:
        await answer_stale(update)
        return
    await retire_buttons(update, show_choice=recorded)
    if not recorded:
        await answer_button(update, _("You already answered this. Thank you!"))
        return
    await answer_button(update)
    if happened:
        buttons = [(_(label), RATE.data(request_id, key)) for key, label in RATINGS.items()]
        await reply(update, _("Thank you! How did it go?"), keyboard([buttons]))
    elif side == VOLUNTEER:
        await reply(update, _("Thank you for letting us know."))
        await _ask_worry(update, request_id)
    else:
        await reply(update, _("Thank you for letting us know. If you still need help, you can ask again under /menu."))


async def _ask_worry(update: Update, request_id: int) -> None:
    """The volunteer's second debrief question: anything the coordinator should know?"""
    await reply(
        update,
        _("Is there anything your coordinator should know?"),
        column(
            [
                (_("👍 No, all fine"), FINE.data(request_id)),
                (_("🔔 I am worried about something"), WORRY.data(request_id)),
            ]
        ),
    )


async def _debrief_done(update: Update, result: Debriefed) -> bool:
    """Answer the tap; False (and the buttons retired) when it was not this person's or answered before."""
    if result.side is None or not result.ok:
        await answer_done_before(update, _("You already answered this. Thank you!") if result.side else stale_text())
        return False
    await answer_button(update)
    await retire_buttons(update)
    return True


async def on_rate(update: Update, context: BotContext) -> None:
    """How it went: 'Difficult' reaches the coordinator; then the volunteer's worry question or the family's thanks."""
    parsed = tapped_values(update, RATE)
    if parsed is None or context.person is None:
        await answer_stale(update)
        return
    request_id, rating = parsed
    with context.session() as session:
        result = rate_task(
            session=session,
            services=context.services,
            person=context.person,
            request_id=request_id,
            rating=rating,
            now=context.now(),
        )
    if not await _debrief_done(update, result):
        return
    if result.hard:
        event(logger, "debrief.concern", request=request_id, rating="hard")
        await _after_difficult(update, result.side)
    elif result.side == VOLUNTEER:
        await _ask_worry(update, request_id)
    else:
        await reply(
            update,
            _("Would you like to thank {name}?").format(name=hi(result.other_name)),
            column([(_("💛 Say thank you"), THANK.data(request_id)), (_("Not now"), SKIP.data(request_id))]),
        )


async def _after_difficult(update: Update, side: str | None) -> None:
    """After a 'Difficult' rating: the coordinator knows; a volunteer writes what it was, a family may talk."""
    if side == VOLUNTEER:
        await reply(
            update,
            _(
                "Thank you for telling us. I have let your coordinator know it was difficult; "
                "they will get in touch with you. What made it difficult? Write it here, or send a voice note: "
                "I will pass it on as it is. (Send /cancel if you would rather not.)"
            ),
        )
        return
    await reply(
        update,
        _(
            "I am sorry it was difficult. I have let your coordinator know, and they will get in touch with "
            "you. If you want to tell us more now, tap 'Talk to someone'."
        ),
        keyboard([[(_("Talk to someone"), menu.MENU.data("talk"))]]),
    )


async def on_worry(update: Update, context: BotContext) -> None:
    """A volunteer is worried after a task: a concern, and their next message goes with it."""
    parsed = tapped_values(update, WORRY)
    if parsed is None or context.person is None:
        await answer_stale(update)
        return
    with context.session() as session:
        result = raise_worry(
            session=session, services=context.services, person=context.person, request_id=parsed[0], now=context.now()
        )
    if not await _debrief_done(update, result):
        return
    event(logger, "debrief.concern", request=parsed[0])
    await reply(
        update,
        _(
            "Thank you for telling us. A coordinator will get in touch with you soon. What worries you? "
            "Write it here, or send a voice note: I will pass it on as it is. (Send /cancel if you would "
            "rather not.)"
        ),
    )


async def on_fine(update: Update, context: BotContext) -> None:
    """'No, all fine' after a task."""
    if await _close_debrief(update, context, FINE):
        await reply(update, _("Thank you for helping! 💛"))


async def on_skip(update: Update, context: BotContext) -> None:
    """'Not now' instead of a thank-you."""
    if await _close_debrief(update, context, SKIP):
        await reply(update, _("All right. Thank you!"))


async def _close_debrief(update: Update, context: BotContext, button: Button) -> bool:
    """A debrief tap that ends it: True when it was this person's."""
    parsed = tapped_values(update, button)
    if parsed is None or context.person is None:
        await answer_stale(update)
        return False
    with context.session() as session:
        result = close_debrief(session=session, person=context.person, request_id=parsed[0])
    return await _debrief_done(update, result)


# --- registration ---------------------------------------------------------------------------------


def build_first() -> list[BaseHandler[Any, Any, Any]]:
    """Before the dialogues: offer, outcome and debrief buttons, tasks and pauses work at any time."""
    return [
        private_command("tasks", show_tasks),
        CallbackQueryHandler(on_accept, pattern=ACCEPT_OFFER.pattern),
        CallbackQueryHandler(on_decline, pattern=DECLINE_OFFER.pattern),
        CallbackQueryHandler(on_outcome, pattern=rf"^{matching.OUTCOME}:"),
        CallbackQueryHandler(on_rate, pattern=RATE.pattern),
        CallbackQueryHandler(on_worry, pattern=WORRY.pattern),
        CallbackQueryHandler(on_fine, pattern=FINE.pattern),
        CallbackQueryHandler(on_skip, pattern=SKIP.pattern),
        *CANCEL_HANDLERS,
        *PAUSE_HANDLERS,
    ]


def register_menu() -> None:
    """The volunteers' (and helping families') menu entries."""
    volunteer = {str(Role.VOLUNTEER)}
    menu.add("tasks", N_("My tasks"), volunteer, show_tasks)
    menu.add("vpause", N_("Pause or resume"), volunteer, show_pause)
    menu.add("vprofile", N_("My helper profile"), volunteer)
    menu.add("helpout", N_("🤝 Help others too"), {str(Role.FAMILY)}, help_others)
