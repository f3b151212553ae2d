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
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from telegram import Message, Update
from telegram.error import BadRequest
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, filters

from conversations import menu
from conversations.context import BotContext
from conversations.ui import (
    answer_button,
    answer_stale,
    callback,
    column,
    int_arg,
    keyboard,
    parse_callback,
    reply,
    retire_buttons,
    tapped_values,
)
from conversations.volunteer_profile import help_others
from conversations.volunteer_tasks import (
    CANCEL_HANDLERS,
    PAUSE_HANDLERS,
    show_pause,
    show_tasks,
)
from domain import matching as match_rules
from domain import permissions
from domain import requests as rules
from services import matching
from services.callbacks import Button
from services.context import Services
from services.i18n import N_, _, hi
from services.logs import event
from services.offers import ACCEPT as ACCEPT_OFFER
from services.offers import DECLINE as DECLINE_OFFER
from services.permissions import actor_of
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
    side_of,
)
from storage import people
from storage import requests as store
from storage.db import Session
from storage.models import HelpRequest, Person, Role

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


@dataclass(frozen=True)
class OfferAnswer:
    """What a tap on an offer did: the outcome, the offer message's new text, and for an accept what to send."""

    outcome: str
    edited: str = ""
    details: str = ""
    request_id: int = 0
    voice: str | None = None


def _still_safe(session: Session, services: Services, request: HelpRequest, volunteer_id: int, now: datetime) -> bool:
    """For a task with children: still approved for children, with a VOG that still counts (checked at accept)."""
    window = matching.match_window(services, now)
    candidate = store.candidate(session=session, volunteer_id=volunteer_id, window=window)
    if candidate is None:
        return False
    need = matching.need_for(session, request, matching.zone_of(services))
    return match_rules.is_child_approved(candidate, need) and match_rules.has_valid_vog(
        candidate, need, today=window.today, vog_valid_years=services.settings.vog_valid_years
    )


def _offer_of(session: Session, person: Person | None, offer_id: int) -> tuple[Any, Person, HelpRequest, str] | None:
    """The offer, the volunteer fresh, its request and the offer message's text, when it is this volunteer's."""
    if person is None or person.id is None:
        return None
    offer = store.get_offer(session=session, offer_id=offer_id)
    fresh = people.get_person(session=session, person_id=person.id)
    request = store.get_request(session=session, request_id=offer.request_id) if offer is not None else None
    if offer is None or fresh is None or request is None or offer.volunteer_id != person.id:
        return None
    row = store.outbox_row(session=session, outbox_id=offer.outbox_id) if offer.outbox_id else None
    return offer, fresh, request, str(row.payload.get("text", "")) if row is not None else ""


def _answered_before(offer: Any, request: HelpRequest, person: Person, original: str) -> OfferAnswer:
    """An offer answered before, or a request taken or closed meanwhile."""
    if offer.response == store.OfferResponse.ACCEPTED and request.assigned_volunteer_id == person.id:
        return OfferAnswer(store.AcceptResult.ALREADY_YOURS)
    if offer.response == store.OfferResponse.DECLINED:
        return OfferAnswer("already_declined")
    closed = rules.is_closed(request.status)
    outcome = store.AcceptResult.CLOSED if closed else store.AcceptResult.TAKEN
    return OfferAnswer(outcome, matching.offer_ended_text(original, matching.withdrawn_note(closed=closed)))


def accept_offer(
    *, session: Session, services: Services, person: Person | None, offer_id: int, now: datetime
) -> OfferAnswer:
    """Accept: this volunteer's own offer only, still allowed and safe; the first accept of anyone wins."""
    found = _offer_of(session, person, offer_id)
    if found is None:
        return OfferAnswer("stale")
    _offer, fresh, request, original = found
    volunteer_id = fresh.id or 0
    actor = actor_of(session=session, person=fresh)
    allowed = permissions.can_accept_request(actor, offer_exists=True, request_family_id=request.family_id)
    if not allowed or not _still_safe(session, services, request, volunteer_id, now):
        return OfferAnswer("not_allowed")
    outcome = store.accept(session=session, request_id=request.id or 0, volunteer_id=volunteer_id, now=now)
    if outcome != store.AcceptResult.ACCEPTED:
        return _ended(outcome, original)
    matching.accepted(session=session, services=services, request=request, volunteer=fresh, now=now)
    request = store.get_request(session=session, request_id=request.id or 0) or request
    edited = matching.summary(session, request, fresh) + "\n\n" + _("✅ You accepted this.")
    details = matching.details(session, request, fresh)
    return OfferAnswer(outcome, edited, details, request.id or 0, request.voice_file_id)


def _ended(outcome: str, original: str) -> OfferAnswer:
    """An accept that came too late: the offer message says so."""
    if outcome in (store.AcceptResult.TAKEN, store.AcceptResult.CLOSED):
        closed = outcome == store.AcceptResult.CLOSED
        return OfferAnswer(outcome, matching.offer_ended_text(original, matching.withdrawn_note(closed=closed)))
    return OfferAnswer(outcome)


def decline_offer(
    *, session: Session, services: Services, person: Person | None, offer_id: int, now: datetime
) -> OfferAnswer:
    """Not this time: recorded once; the next volunteer may be asked."""
    found = _offer_of(session, person, offer_id)
    if found is None:
        return OfferAnswer("stale")
    offer, fresh, request, original = found
    if not store.respond_offer(session=session, offer_id=offer_id, response=store.OfferResponse.DECLINED, now=now):
        return _answered_before(offer, request, fresh, original)
    matching.declined(session=session, services=services, request=request, now=now)
    note = _("You passed on this one. Thank you for letting us know.")
    return OfferAnswer("declined", matching.offer_ended_text(original, note))


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
    store.AcceptResult.ALREADY_YOURS: N_("You already accepted this. Thank you!"),
    "already_declined": N_("You already passed on this one."),
    store.AcceptResult.CLOSED: N_("This request is no longer needed. Thank you!"),
    store.AcceptResult.TAKEN: N_("Already taken, thank you!"),
    "declined": N_("Thank you for letting us know."),
}


async def _render_offer_answer(update: Update, answer: OfferAnswer) -> None:
    """Answer the tap, edit the offer message, and after an accept send what the volunteer needs."""
    if answer.outcome == "stale":
        await answer_stale(update)
        return
    if answer.outcome != store.AcceptResult.ACCEPTED:
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


def record_outcome(
    *, session: Session, services: Services, person: Person | None, request_id: int, happened: bool, now: datetime
) -> tuple[str | None, bool]:
    """Did it happen? Either side answers once; the first answer closes the request. (side, recorded)."""
    request = store.get_request(session=session, request_id=request_id)
    fresh = people.get_person(session=session, person_id=person.id) if person and person.id else None
    if request is None or fresh is None or request.status == rules.RequestStatus.OPEN:
        return None, False
    side = side_of(request, fresh)
    answerable = (rules.RequestStatus.ACCEPTED, rules.RequestStatus.DONE, rules.RequestStatus.NOT_HAPPENED)
    if side is None or request.status not in answerable:
        return side, False
    recorded = matching.record_outcome(
        session=session, services=services, request=request, person=fresh, happened=happened, now=now
    )
    return side, recorded


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
        await answer_button(update, _("You already answered this. Thank you!") if result.side else None)
        if result.side is None:
            await answer_stale(update)
        await retire_buttons(update, show_choice=False)
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
        keyboard([[(_("Talk to someone"), callback("menu", "talk"))]]),
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
    private = filters.UpdateType.MESSAGE & filters.ChatType.PRIVATE
    return [
        CommandHandler("tasks", show_tasks, filters=private),
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
