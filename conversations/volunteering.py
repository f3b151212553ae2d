"""Volunteers: accept or pass on an offer, see and cancel tasks, pause, edit the profile, debrief after a task.

The offer buttons (`vo:acc:<offer>`, `vo:no:<offer>`) and the after-task questions work at any time, also in
the middle of a dialogue, so they are registered before the dialogue router (`build_first`). Every button
is re-checked here: the offer must be this volunteer's, the request still open, the volunteer still
approved (and, for a task with children, still approved for children with a valid VOG).

A family that wants to help others too fills in the same helper profile (`vp:new`); its coordinator then
approves it like any volunteer (`conversations.approvals`).
"""

from __future__ import annotations

import logging
from datetime import date, timedelta
from typing import Any

from telegram import Message, Update
from telegram.error import BadRequest
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, MessageHandler, filters

from conversations import alerts, concerns, menu
from conversations import my_requests as family_requests
from conversations.context import BotContext
from conversations.dialogue import END, STAY, Dialogue
from conversations.ui import (
    CHECKED,
    UNCHECKED,
    answer_button,
    answer_stale,
    callback,
    column,
    int_arg,
    keyboard,
    notify,
    parse_callback,
    reply,
    retire_buttons,
)
from domain import availability, permissions
from domain import matching as match_rules
from domain import requests as rules
from domain.urgent import detect_urgent
from services import matching
from services.i18n import LANGUAGE_NAMES, N_, _, format_day, h, hi, ngettext, use_language
from services.logs import event
from services.permissions import actor_of
from services.skills import SKILL_LABELS
from storage import people
from storage import requests as store
from storage.db import Session
from storage.models import Person, Role, VolunteerProfile, VolunteerStatus

logger = logging.getLogger(__name__)

DEBRIEF = "db"  # db:<request>:r:<rating>, db:<request>:<fine|worry|thank|skip>
TASKS = "vt"  # vt:cx|cxy|keep|msg|ans:<request>, vt:pause:<weeks>, vt:resume, vt:list, vt:pmenu
PROFILE = "vp"  # the helper-profile dialogue

NAME = "vprofile"
RELAY = "taskmsg"  # one message about an accepted task, between its volunteer and its family
RELAY_WRITE = "write"
MAX_TASK_MESSAGE = 500
OVERVIEW = "overview"
TOGGLE = "toggle"
CAP = "cap"

RATINGS = {"good": N_("😊 Good"), "ok": N_("😐 OK"), "hard": N_("😟 Difficult")}
PAUSE_WEEKS = (1, 2, 4)
UNTIL_RESUMED = date(9999, 12, 31)
CAPS = (1, 2, 3, 5, 0)
TIME_LABELS = {
    "wkmorning": N_("Weekday mornings"),
    "wkafternoon": N_("Weekday afternoons"),
    "wkevening": N_("Weekday evenings"),
    "saturday": N_("Saturday"),
    "sunday": N_("Sunday"),
}
FIELD_PROMPTS = {
    "areas": N_("Which neighbourhoods can you help in? Tap all that apply, then Done."),
    "skills": N_("What can you help with? Tap all that apply, then Done."),
    "times": N_("When are you usually available? Tap all that apply, then Done."),
    "langs": N_("Which languages do you speak? Tap all that apply, then Done."),
}


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


def _still_safe(session: Session, services: Any, request: Any, volunteer_id: int, now: Any) -> bool:
    """For a task with children: still approved for children, with a VOG that still counts (checked at accept)."""
    window = matching.match_window(services, now)
    candidate = store.candidate(session=session, volunteer_id=volunteer_id, window=window)
    if candidate is None:
        return False
    need = matching.need_for(session, request, matching.zone_of(services))
    return match_rules.is_child_approved(candidate, need) and match_rules.has_valid_vog(
        candidate, need, today=window.today, vog_valid_years=services.settings.vog_valid_years
    )


async def on_offer(update: Update, context: BotContext) -> None:
    """Accept or Not this time: this volunteer's own offer only; the first accept of anyone wins."""
    parts = parse_callback(update.callback_query.data if update.callback_query else None, matching.OFFER)
    offer_id = int_arg(parts[1]) if parts and len(parts) == 2 and parts[0] in ("acc", "no") else None
    person = context.person
    if parts is None or offer_id is None or person is None or person.id is None:
        await answer_stale(update)
        return
    services = context.services
    now = context.now()
    outcome = "stale"
    edited = ""
    details = ""
    accepted_id = 0
    voice: str | None = None
    with context.session() as session:
        offer = store.get_offer(session=session, offer_id=offer_id)
        fresh = people.get_person(session=session, person_id=person.id)
        request = store.get_request(session=session, request_id=offer.request_id) if offer is not None else None
        if offer is not None and fresh is not None and request is not None and offer.volunteer_id == person.id:
            row = store.outbox_row(session=session, outbox_id=offer.outbox_id) if offer.outbox_id else None
            original = str(row.payload.get("text", "")) if row is not None else ""
            if parts[0] == "acc":
                actor = actor_of(session=session, person=fresh)
                allowed = permissions.can_accept_request(
                    actor, offer_exists=True, request_family_id=request.family_id
                ) and _still_safe(session, services, request, person.id, now)
                if not allowed:
                    outcome = "not_allowed"
                else:
                    outcome = store.accept(session=session, request_id=request.id or 0, volunteer_id=person.id, now=now)
                    if outcome == store.AcceptResult.ACCEPTED:
                        matching.accepted(session=session, services=services, request=request, volunteer=fresh, now=now)
                        request = store.get_request(session=session, request_id=request.id or 0) or request
                        accepted_id = request.id or 0
                        edited = matching.summary(session, request, fresh) + "\n\n" + _("✅ You accepted this.")
                        details = matching.details(session, request, fresh)
                        voice = request.voice_file_id
            elif store.respond_offer(
                session=session, offer_id=offer_id, response=store.OfferResponse.DECLINED, now=now
            ):
                matching.declined(session=session, services=services, request=request, now=now)
                outcome = "declined"
                edited = matching.offer_ended_text(
                    original, _("You passed on this one. Thank you for letting us know.")
                )
            elif offer.response == store.OfferResponse.ACCEPTED and request.assigned_volunteer_id == person.id:
                outcome = store.AcceptResult.ALREADY_YOURS
            elif offer.response == store.OfferResponse.DECLINED:
                outcome = "already_declined"
            else:
                outcome = store.AcceptResult.CLOSED if rules.is_closed(request.status) else store.AcceptResult.TAKEN
            if outcome in (store.AcceptResult.TAKEN, store.AcceptResult.CLOSED):
                edited = matching.offer_ended_text(
                    original, matching.withdrawn_note(closed=outcome == store.AcceptResult.CLOSED)
                )
    event(logger, "offer.answered", offer=offer_id, outcome=str(outcome))
    if outcome == "stale":
        await answer_stale(update)
    elif outcome == "not_allowed":
        await answer_button(update, _("You cannot accept requests at the moment. Please contact your coordinator."))
    elif outcome == store.AcceptResult.ACCEPTED:
        await answer_button(update, _("Thank you!"))
        await _edit_pressed(update, edited)
        await reply(
            update,
            _("✅ Thank you for helping! Here is what you need:")
            + "\n"
            + details
            + "\n\n"
            + _("You will get a reminder. If your plans change, cancel under /menu, My tasks."),
            keyboard([[message_family_button(accepted_id)]]),
        )
        chat = update.effective_chat
        if voice and chat is not None:
            await chat.send_voice(voice)
    elif outcome == store.AcceptResult.ALREADY_YOURS:
        await answer_button(update, _("You already accepted this. Thank you!"))
    elif outcome == "already_declined":
        await answer_button(update, _("You already passed on this one."))
    elif outcome == "declined":
        await answer_button(update, _("Thank you for letting us know."))
        await _edit_pressed(update, edited)
    else:
        closed = outcome == store.AcceptResult.CLOSED
        await answer_button(
            update,
            _("This request is no longer needed. Thank you!") if closed else _("Already taken, thank you!"),
        )
        await _edit_pressed(update, edited)


# --- after a task ---------------------------------------------------------------------------------


def _side(request: Any, person: Person) -> str | None:
    if request.assigned_volunteer_id is not None and request.assigned_volunteer_id == person.id:
        return "volunteer"
    if request.family_id == person.id:
        return "family"
    return None


async def on_outcome(update: Update, context: BotContext) -> None:
    """Did it happen? Either side answers once; the first answer closes the request. Then a short debrief."""
    parts = parse_callback(update.callback_query.data if update.callback_query else None, matching.OUTCOME)
    request_id = int_arg(parts[0]) if parts and len(parts) == 2 and parts[1] in ("done", "no") else None
    person = context.person
    if parts is None or request_id is None or person is None or person.id is None:
        await answer_stale(update)
        return
    happened = parts[1] == "done"
    services = context.services
    now = context.now()
    side: str | None = None
    recorded = False
    with context.session() as session:
        request = store.get_request(session=session, request_id=request_id)
        fresh = people.get_person(session=session, person_id=person.id)
        if request is not None and fresh is not None and request.status != rules.RequestStatus.OPEN:
            side = _side(request, fresh)
            if side is not None and request.status in (
                rules.RequestStatus.ACCEPTED,
                rules.RequestStatus.DONE,
                rules.RequestStatus.NOT_HAPPENED,
            ):
                recorded = matching.record_outcome(
                    session=session, services=services, request=request, person=fresh, happened=happened, now=now
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
        buttons = [(_(label), callback(DEBRIEF, request_id, "r", key)) for key, label in RATINGS.items()]
        await reply(update, _("Thank you! How did it go?"), keyboard([buttons]))
    elif side == "volunteer":
        await reply(update, _("Thank you for letting us know."))
        await _ask_worry(update, request_id)
    else:
        await reply(update, _("Thank you for letting us know. If you still need help, you can ask again under /menu."))


async def _ask_worry(update: Update, request_id: int) -> None:
    await reply(
        update,
        _("Is there anything your coordinator should know?"),
        column(
            [
                (_("👍 No, all fine"), callback(DEBRIEF, request_id, "fine")),
                (_("🔔 I am worried about something"), callback(DEBRIEF, request_id, "worry")),
            ]
        ),
    )


def _raise_after_task(*, session: Session, services: Any, request: Any, person: Person, now: Any) -> None:
    """A worry or a 'Difficult' rating after a task: a concern about the task's family, with the task named.

    The family's own concern (source `task_hard`) goes to its coordinator like any worry; a volunteer's
    (source `volunteer`) is about the family, and the volunteer is asked at once what it was: their next
    message goes to the concern as it is (the talk dialogue's writing step).
    """
    family = people.get_person(session=session, person_id=request.family_id)
    if person.id == request.family_id:
        concerns.raise_concern(
            session=session,
            services=services,
            family=person,
            raised_by=person,
            source="task_hard",
            now=now,
            request_id=request.id,
        )
        return
    concerns.raise_concern(
        session=session,
        services=services,
        family=family,
        raised_by=person,
        source="volunteer",
        now=now,
        request_id=request.id,
    )
    concerns.start_writing(session=session, person=person, family_id=request.family_id, now=now)


async def on_debrief(update: Update, context: BotContext) -> None:
    """The two-tap debrief: how it went, then (volunteer) anything to raise, or (family) a thank-you."""
    parts = parse_callback(update.callback_query.data if update.callback_query else None, DEBRIEF)
    request_id = int_arg(parts[0]) if parts and len(parts) in (2, 3) else None
    person = context.person
    if parts is None or request_id is None or person is None or person.id is None:
        await answer_stale(update)
        return
    action = parts[1]
    if action == "thank":
        await family_requests.thank_for(update, context, request_id)
        return
    services = context.services
    now = context.now()
    side: str | None = None
    ok = False
    other_name = ""
    hard = False
    with context.session() as session:
        request = store.get_request(session=session, request_id=request_id)
        fresh = people.get_person(session=session, person_id=person.id)
        outcome = store.get_outcome(session=session, request_id=request_id, person_id=person.id)
        if request is not None and fresh is not None and outcome is not None:
            side = _side(request, fresh)
        if side is not None and request is not None and fresh is not None:
            if action == "r" and len(parts) == 3 and parts[2] in RATINGS:
                ok = store.set_rating(session=session, request_id=request_id, person_id=person.id, rating=parts[2])
                other = people.get_person(
                    session=session,
                    person_id=(request.assigned_volunteer_id if side == "family" else request.family_id) or 0,
                )
                other_name = matching.name_of(other)
                hard = ok and parts[2] == "hard"
                if hard:
                    # A bad experience is a worry like any other: it reaches the coordinator, with the task.
                    _raise_after_task(session=session, services=services, request=request, person=fresh, now=now)
            elif action == "worry" and side == "volunteer":
                _raise_after_task(session=session, services=services, request=request, person=fresh, now=now)
                ok = True
            elif action in ("fine", "skip"):
                ok = True
    if side is None or not ok:
        await answer_button(update, _("You already answered this. Thank you!") if side else None)
        if side is None:
            await answer_stale(update)
        await retire_buttons(update, show_choice=False)
        return
    await answer_button(update)
    await retire_buttons(update)
    if hard:
        event(logger, "debrief.concern", request=request_id, rating="hard")
    if hard and side == "volunteer":
        await reply(
            update,
            _(
                "Thank you for telling us. I have let your coordinator know it was difficult; "
                "they will get in touch with you. What made it difficult? Write it here, or send a voice note: "
                "I will pass it on as it is. (Send /cancel if you would rather not.)"
            ),
        )
    elif hard:
        await reply(
            update,
            _(
                "I am sorry it was difficult. I have let your coordinator know, and they will get in touch with "
                "you. If you want to tell us more now, tap 'Talk to someone'."
            ),
            keyboard([[(_("Talk to someone"), callback("menu", "talk"))]]),
        )
    elif action == "r" and side == "volunteer":
        await _ask_worry(update, request_id)
    elif action == "r":
        await reply(
            update,
            _("Would you like to thank {name}?").format(name=hi(other_name)),
            column(
                [
                    (_("💛 Say thank you"), callback(DEBRIEF, request_id, "thank")),
                    (_("Not now"), callback(DEBRIEF, request_id, "skip")),
                ]
            ),
        )
    elif action == "worry":
        event(logger, "debrief.concern", request=request_id)
        await reply(
            update,
            _(
                "Thank you for telling us. A coordinator will get in touch with you soon. What worries you? "
                "Write it here, or send a voice note: I will pass it on as it is. (Send /cancel if you would "
                "rather not.)"
            ),
        )
    elif action == "fine":
        await reply(update, _("Thank you for helping! 💛"))
    else:
        await reply(update, _("All right. Thank you!"))


# --- tasks ----------------------------------------------------------------------------------------


def _volunteer(session: Session, person: Person | None) -> tuple[Person, VolunteerProfile] | None:
    if person is None or person.id is None or person.consent_at is None:
        return None
    fresh = people.get_person(session=session, person_id=person.id)
    profile = people.get_volunteer(session=session, person_id=person.id)
    if fresh is None or profile is None:
        return None
    return fresh, profile


def _pause_line(profile: VolunteerProfile, today: date, language: str) -> str:
    if profile.status != VolunteerStatus.APPROVED:
        return _("Your coordinator has not approved you yet, so you receive no requests for now.")
    if profile.paused_until is not None and today <= profile.paused_until:
        if profile.paused_until >= UNTIL_RESUMED:
            return _("⏸ You are on a pause until you resume.")
        return _("⏸ You are on a pause until {day}.").format(day=h(format_day(profile.paused_until, language)))
    return _("You receive requests that fit you, at most {count} a week.").format(count=hi(profile.weekly_cap))


async def show_tasks(update: Update, context: BotContext) -> None:
    """My tasks: upcoming tasks with what the volunteer needs, and a button to cancel each."""
    person = context.person
    rows: list[list[tuple[str, str]]] = []
    with context.session() as session:
        found = _volunteer(session, person)
        if found is not None:
            fresh, profile = found
            lines = [
                _("<b>Your tasks</b>"),
                _pause_line(profile, matching.local_today(context.services, context.now()), fresh.language),
            ]
            tasks = store.volunteer_tasks(session=session, volunteer_id=fresh.id or 0)
            for request in tasks:
                lines.append("")
                lines.append(matching.details(session, request, fresh))
                what = matching.kind_label(request.kind)
                if request.status == rules.RequestStatus.ACCEPTED:
                    rows.append([message_family_button(request.id or 0, what)])
                rows.append([(_("✖️ Cancel: {what}").format(what=what), callback(TASKS, "cx", request.id))])
            if not tasks:
                lines.append(_("You have no upcoming tasks."))
    if found is None:
        await reply(update, _("This is for volunteers. Send /menu to see what you can do."))
        return
    await reply(update, "\n".join(lines), keyboard(rows) if rows else None)


def _task_args(update: Update, action: str) -> int | None:
    parts = parse_callback(update.callback_query.data if update.callback_query else None, TASKS)
    if not parts or parts[0] != action or len(parts) != 2:
        return None
    return int_arg(parts[1])


async def ask_cancel_task(update: Update, context: BotContext) -> None:
    """Cancel a task: ask to confirm (the family will be told)."""
    request_id = _task_args(update, "cx")
    person = context.person
    text = ""
    with context.session() as session:
        request = store.get_request(session=session, request_id=request_id) if request_id else None
        ok = (
            request is not None
            and person is not None
            and request.assigned_volunteer_id == person.id
            and request.status == rules.RequestStatus.ACCEPTED
        )
        if ok and request is not None and person is not None:
            text = matching.summary(session, request, person)
    if not ok or request_id is None:
        await answer_stale(update)
        return
    await answer_button(update)
    await reply(
        update,
        _("Cancel this task? We will tell the family and your coordinator, and look for someone else.") + "\n" + text,
        keyboard(
            [
                [
                    (_("Yes, cancel it"), callback(TASKS, "cxy", request_id)),
                    (_("No, I will go"), callback(TASKS, "keep", request_id)),
                ]
            ]
        ),
    )


async def do_cancel_task(update: Update, context: BotContext) -> None:
    """Confirmed: the volunteer gives the task back (once; only their own accepted task)."""
    request_id = _task_args(update, "cxy")
    person = context.person
    services = context.services
    now = context.now()
    done = False
    allowed = False
    with context.session() as session:
        request = store.get_request(session=session, request_id=request_id) if request_id else None
        fresh = people.get_person(session=session, person_id=person.id) if person and person.id else None
        if request is not None and fresh is not None and request.id is not None:
            event_name = permissions.cancel_event(
                actor_of(session=session, person=fresh), request.family_id, request.assigned_volunteer_id
            )
            # Volunteers give back only their own task here; families and coordinators have their own buttons.
            allowed = event_name == permissions.VOLUNTEER_CANCEL
            if allowed:
                changed = store.apply_event(
                    session=session,
                    request_id=request.id,
                    event=rules.RequestEvent.VOLUNTEER_CANCEL,
                    now=now,
                    volunteer_id=fresh.id,
                )
                if changed is not None:
                    matching.volunteer_gave_back(
                        session=session, services=services, request=changed[0], volunteer=fresh, now=now
                    )
                    done = True
    if not allowed:
        await answer_stale(update)
        return
    await retire_buttons(update, show_choice=done)
    if not done:
        await answer_button(update, _("This task was already cancelled or closed."))
        return
    await answer_button(update)
    event(logger, "task.cancelled", request=request_id)
    await reply(
        update,
        _(
            "Cancelled. We told the family and your coordinator and are looking for someone else. "
            "Thank you for letting us know in time."
        ),
    )


async def keep_task(update: Update, context: BotContext) -> None:
    """'No, I will go'."""
    await answer_button(update)
    await retire_buttons(update)
    await reply(update, _("Great, thank you!"))


# --- a message about a task -------------------------------------------------------------------------


def message_family_button(request_id: int, what: str | None = None) -> tuple[str, str]:
    """The volunteer's "Message the family" button of an accepted task (rights checked when tapped)."""
    label = _("💬 Message the family") if what is None else _("💬 Message the family: {what}").format(what=what)
    return label, callback(TASKS, "msg", request_id)


def _task_side(session: Session, person: Person | None, request_id: int | None) -> tuple[str, Any] | None:
    """("volunteer" | "family", the request) when this person may write about this task now, else None."""
    request = store.get_request(session=session, request_id=request_id) if request_id else None
    fresh = people.get_person(session=session, person_id=person.id) if person and person.id else None
    if request is None or fresh is None or fresh.consent_at is None:
        return None
    side = permissions.task_message_side(
        actor_of(session=session, person=fresh),
        accepted=request.status == rules.RequestStatus.ACCEPTED,
        request_family_id=request.family_id,
        assigned_volunteer_id=request.assigned_volunteer_id,
    )
    return (side, request) if side is not None else None


async def start_task_message(update: Update, context: BotContext) -> str | None:
    """'Message the family' (vt:msg, the volunteer) or 'Answer' (vt:ans, the family): ask for one message."""
    parts = parse_callback(update.callback_query.data if update.callback_query else None, TASKS)
    action = parts[0] if parts and len(parts) == 2 else None
    request_id = int_arg(parts[1]) if parts and len(parts) == 2 else None
    person = context.person
    what = ""
    with context.session() as session:
        found = _task_side(session, person, request_id)
        expected = {"msg": permissions.VOLUNTEER, "ans": permissions.FAMILY}.get(action or "")
        if found is None or found[0] != expected or person is None:
            other_name = ""
        else:
            request = found[1]
            other_id = request.family_id if expected == permissions.VOLUNTEER else request.assigned_volunteer_id
            other_name = matching.name_of(people.get_person(session=session, person_id=other_id or 0))
            what = matching.kind_label(request.kind)
    if not other_name:
        await answer_button(update, _("This task is no longer open, so you cannot write about it here."))
        return END
    await answer_button(update)
    context.dialogue = {"request": request_id}
    await reply(
        update,
        _(
            "Write one message for {name} about the task ({what}). I pass it on through the bot, with your "
            "name; your phone number and account stay private. Send /cancel to stop."
        ).format(name=hi(other_name), what=h(what)),
    )
    return RELAY_WRITE


async def write_task_message(update: Update, context: BotContext) -> str | None:
    """The message: checked again (still this task's volunteer or family, still accepted), then queued."""
    message = update.effective_message
    person = context.person
    if message is None or person is None:
        return STAY
    text = (message.text or "").strip()
    if not text or len(text) > MAX_TASK_MESSAGE:
        await reply(
            update, _("Please write a text message of at most {count} characters.").format(count=MAX_TASK_MESSAGE)
        )
        return STAY
    if detect_urgent(text) is not None:
        # Danger words go where a family's ordinary messages go: the safety numbers and the coordinators.
        await concerns.urgent_message(update, context)
        return END
    now = context.now()
    request_id = int_arg(str(context.dialogue.get("request") or ""))
    sent_to = ""
    with context.session() as session:
        found = _task_side(session, person, request_id)
        if found is not None:
            side, request = found
            sender = people.get_person(session=session, person_id=person.id or 0)
            other_id = request.family_id if side == permissions.VOLUNTEER else request.assigned_volunteer_id
            other = people.get_person(session=session, person_id=other_id or 0)
            if sender is not None and other is not None and request.id is not None:
                _pass_task_message(session, request, side, sender, other, text, message, now)
                sent_to = matching.name_of(other)
    if not sent_to:
        await reply(update, _("This task is no longer open, so the message was not sent."))
        return END
    event(logger, "task.message", request=request_id)
    await reply(update, _("✓ Sent to {name}.").format(name=hi(sent_to)))
    return END


def _pass_task_message(
    session: Session, request: Any, side: str, sender: Person, other: Person, text: str, message: Message, now: Any
) -> None:
    """The message to the other side, labelled with the sender's name and the task, with a button to answer."""
    with use_language(other.language):
        task = _("{what}, {when}").format(
            what=matching.kind_label(request.kind),
            when=matching.when_text(request, other.timezone, other.language),
        )
        if side == permissions.VOLUNTEER:
            head = _("💬 <b>A message from {name}, the volunteer for your request ({task}):</b>")
            button = (_("💬 Answer"), callback(TASKS, "ans", request.id))
        else:
            head = _("💬 <b>An answer from {name} about your task ({task}):</b>")
            button = message_family_button(request.id)
        body = head.format(name=hi(matching.name_of(sender)), task=h(task)) + "\n\n" + h(text)
    notify(
        session=session,
        person=other,
        key=f"taskmsg:{request.id}:{sender.id}:{message.chat_id}:{message.message_id}",
        text=body,
        now=now,
        markup=keyboard([[button]]),
    )
    people.add_timeline(
        session=session,
        family_id=request.family_id,
        kind="task_message",
        now=now,
        actor_id=sender.id,
        ref_id=request.id,
    )


async def task_message_unexpected(update: Update, context: BotContext) -> str | None:
    """A button or something other than text while we wait for the message."""
    if update.callback_query is not None:
        await answer_button(update, _("That button belongs to an earlier question."))
    await reply(update, _("Please write a text message of at most {count} characters.").format(count=MAX_TASK_MESSAGE))
    return STAY


# --- pause ----------------------------------------------------------------------------------------


async def show_pause(update: Update, context: BotContext) -> None:
    """Pause (holiday) or resume: paused volunteers get no new requests."""
    person = context.person
    with context.session() as session:
        found = _volunteer(session, person)
        allowed = found is not None and permissions.can_pause_volunteering(actor_of(session=session, person=found[0]))
    if found is None or not allowed:
        await reply(update, _("This is for volunteers. Send /menu to see what you can do."))
        return
    fresh, profile = found
    today = matching.local_today(context.services, context.now())
    paused = profile.paused_until is not None and today <= profile.paused_until
    if paused:
        buttons = [(_("▶️ Resume now"), callback(TASKS, "resume"))]
    else:
        buttons = [
            (
                ngettext("Pause for {count} week", "Pause for {count} weeks", weeks).format(count=weeks),
                callback(TASKS, "pause", weeks),
            )
            for weeks in PAUSE_WEEKS
        ]
        buttons.append((_("Pause until I resume"), callback(TASKS, "pause", 0)))
    await reply(update, _pause_line(profile, today, fresh.language), column(buttons))


async def on_pause(update: Update, context: BotContext) -> None:
    """A pause button: for 1, 2 or 4 weeks, or until resumed; tasks already accepted stay."""
    parts = parse_callback(update.callback_query.data if update.callback_query else None, TASKS)
    weeks = int_arg(parts[1]) if parts and len(parts) == 2 and parts[0] == "pause" else None
    resume = parts == ["resume"]
    person = context.person
    if (weeks is None or (weeks not in PAUSE_WEEKS and weeks != 0)) and not resume:
        await answer_stale(update)
        return
    today = matching.local_today(context.services, context.now())
    until: date | None = None
    if not resume:
        until = UNTIL_RESUMED if weeks == 0 else today + timedelta(days=7 * (weeks or 0) - 1)
    with context.session() as session:
        found = _volunteer(session, person)
        allowed = found is not None and permissions.can_pause_volunteering(actor_of(session=session, person=found[0]))
        if allowed and found is not None:
            store.set_pause(session=session, volunteer_id=found[0].id or 0, until=until)
            people.audit(
                session=session,
                actor_id=found[0].id,
                action="volunteer_paused" if until else "volunteer_resumed",
                subject_id=found[0].id,
                now=context.now(),
            )
    if not allowed or found is None:
        await answer_stale(update)
        return
    await answer_button(update)
    await retire_buttons(update)
    if until is None:
        await reply(update, _("Welcome back! You will receive requests again."))
    elif until >= UNTIL_RESUMED:
        await reply(
            update,
            _("You are on a pause until you resume; you get no new requests. Tasks you accepted stay yours.")
            + "\n"
            + _("Resume under /menu, Pause or resume."),
        )
    else:
        await reply(
            update,
            _("You are on a pause until {day}; you get no new requests. Tasks you accepted stay yours.").format(
                day=h(format_day(until, found[0].language))
            ),
        )


async def menu_button(update: Update, context: BotContext) -> None:
    """The buttons of the helper panel (for families that also volunteer)."""
    parts = parse_callback(update.callback_query.data if update.callback_query else None, TASKS)
    if parts == ["list"]:
        await answer_button(update)
        await show_tasks(update, context)
    elif parts == ["pmenu"]:
        await answer_button(update)
        await show_pause(update, context)
    else:
        await answer_stale(update)


# --- a family that helps too ----------------------------------------------------------------------


async def help_others(update: Update, context: BotContext) -> None:
    """For families: become a volunteer too (with the coordinator's approval), or the helper panel."""
    person = context.person
    with context.session() as session:
        profile = people.get_volunteer(session=session, person_id=person.id) if person and person.id else None
    if profile is None:
        await reply(
            update,
            _(
                "Families who were helped often like to help others too, and that is very welcome. "
                "Tell us what you could do; your coordinator will then have a short talk with you and approve it."
            ),
            column([(_("🙋 Yes, I would like to help"), callback(PROFILE, "new"))]),
        )
    elif profile.status == VolunteerStatus.PENDING:
        await reply(update, _("Thank you! Your coordinator still has to approve this. You will hear from us."))
    elif profile.status == VolunteerStatus.REJECTED:
        await reply(
            update, _("Your coordinator decided not to go ahead with this for now. Ask them if you have questions.")
        )
    else:
        await reply(
            update,
            _("<b>Helping others</b>"),
            column(
                [
                    (_("My tasks"), callback(TASKS, "list")),
                    (_("Pause or resume"), callback(TASKS, "pmenu")),
                    (_("My helper profile"), callback("menu", "vprofile")),
                ]
            ),
        )


# --- the helper profile ---------------------------------------------------------------------------


def _area_options(session: Session) -> list[tuple[str, str]]:
    return [(str(area.id), area.name) for area in people.active_areas(session=session)]


def _options(field: str, context: BotContext) -> list[tuple[str, str]]:
    if field == "areas":
        with context.session() as session:
            return _area_options(session)
    if field == "skills":
        return [(key, _(label)) for key, label in SKILL_LABELS.items()]
    if field == "times":
        return [(key, _(label)) for key, label in TIME_LABELS.items()]
    return list(LANGUAGE_NAMES.items())


def _groups_of(mask: int) -> list[str]:
    return [key for key, group in availability.GROUPS.items() if mask & group]


async def start_profile(update: Update, context: BotContext) -> str | None:
    """My helper profile (a volunteer), or 'I would like to help' (a family): load what is there and show it."""
    await answer_button(update)
    person = context.person
    new = update.callback_query is not None and update.callback_query.data == f"{PROFILE}:new"
    with context.session() as session:
        profile = people.get_volunteer(session=session, person_id=person.id) if person and person.id else None
        family = people.get_family(session=session, person_id=person.id) if person and person.id else None
        if profile is not None:
            data: dict[str, Any] = {
                "areas": [
                    str(area) for area in people.volunteer_area_ids(session=session, person_id=profile.person_id)
                ],
                "skills": people.volunteer_skills(session=session, person_id=profile.person_id),
                "times": _groups_of(profile.availability),
                "langs": [code for code in profile.languages.split(",") if code],
                "cap": profile.weekly_cap,
                "approved": profile.status == VolunteerStatus.APPROVED,
            }
        else:
            data = {
                "areas": [str(family.area_id)] if family is not None and family.area_id else [],
                "skills": [],
                "times": [],
                "langs": [person.language] if person is not None and person.language in LANGUAGE_NAMES else [],
                "new": True,
            }
    signed_up = person is not None and person.consent_at is not None
    may_start = signed_up and (profile is not None or (new and person is not None and person.role == Role.FAMILY))
    if not may_start:
        await reply(update, _("This is for volunteers. Send /menu to see what you can do."))
        return END
    context.dialogue = data
    if new:
        await retire_buttons(update)
    await show_overview(update, context)
    return OVERVIEW


def _labels(field: str, keys: list[str], context: BotContext) -> str:
    options = dict(_options(field, context))
    chosen = [options[key] for key in keys if key in options]
    return ", ".join(chosen) if chosen else _("(none yet)")


async def show_overview(update: Update, context: BotContext) -> None:
    data = context.dialogue
    lines = [
        _("<b>Your helper profile</b>"),
        _("Neighbourhoods: {areas}").format(areas=h(_labels("areas", data["areas"], context))),
        _("Can help with: {skills}").format(skills=h(_labels("skills", data["skills"], context))),
        _("Usually available: {times}").format(times=h(_labels("times", data["times"], context))),
        _("Languages: {languages}").format(languages=h(_labels("langs", data["langs"], context))),
    ]
    buttons = [
        (_("🏘 Neighbourhoods"), callback(PROFILE, "edit", "areas")),
        (_("🧰 What I can help with"), callback(PROFILE, "edit", "skills")),
        (_("🕒 When I am available"), callback(PROFILE, "edit", "times")),
        (_("🌐 Languages"), callback(PROFILE, "edit", "langs")),
    ]
    if data.get("approved"):
        lines.append(_("Requests per week at most: {count}").format(count=hi(data.get("cap", 0))))
        buttons.append((_("🔢 Requests per week"), callback(PROFILE, "edit", "cap")))
    if data.get("new"):
        buttons.append((_("✅ Send to my coordinator"), callback(PROFILE, "save")))
    else:
        buttons.append((_("✅ Save"), callback(PROFILE, "save")))
    buttons.append((_("✖️ Stop"), callback(PROFILE, "stop")))
    await reply(update, "\n".join(lines), column(buttons))


def _toggle_rows(options: list[tuple[str, str]], chosen: list[str]) -> list[list[tuple[str, str]]]:
    rows = [
        [((CHECKED if key in chosen else UNCHECKED) + label, callback(PROFILE, "t", key))] for key, label in options
    ]
    rows.append([(_("Done"), callback(PROFILE, "done"))])
    return rows


def _profile_button(update: Update) -> list[str] | None:
    return parse_callback(update.callback_query.data if update.callback_query else None, PROFILE)


async def overview_button(update: Update, context: BotContext) -> str | None:
    """A button of the profile overview: edit a part, save, or stop."""
    parts = _profile_button(update) or []
    if parts[:1] == ["edit"] and len(parts) == 2 and parts[1] in (*FIELD_PROMPTS, "cap"):
        field = parts[1]
        if field == "cap" and not context.dialogue.get("approved"):
            await answer_stale(update)
            return STAY
        await answer_button(update)
        await retire_buttons(update)
        context.dialogue["field"] = field
        if field == "cap":
            labels = [(str(cap) if cap else _("None for now"), callback(PROFILE, "cap", cap)) for cap in CAPS]
            await reply(update, _("How many requests a week would you like to get at most?"), keyboard([labels]))
            return CAP
        await reply(
            update,
            _(FIELD_PROMPTS[field]),
            keyboard(_toggle_rows(_options(field, context), context.dialogue.get(field, []))),
        )
        return TOGGLE
    if parts == ["save"]:
        return await save_profile(update, context)
    if parts == ["stop"]:
        await answer_button(update)
        await retire_buttons(update)
        await reply(update, _("Nothing was changed. Send /menu when you want to do something else."))
        return END
    await answer_button(update, _("That button belongs to an earlier question."))
    return STAY


async def toggle(update: Update, context: BotContext) -> str | None:
    """Toggle one option of the part being edited; Done goes back to the overview."""
    parts = _profile_button(update) or []
    field = str(context.dialogue.get("field", ""))
    if parts == ["done"] and field in FIELD_PROMPTS:
        await answer_button(update)
        await retire_buttons(update)
        await show_overview(update, context)
        return OVERVIEW
    options = _options(field, context) if field in FIELD_PROMPTS else []
    if parts[:1] != ["t"] or len(parts) != 2 or parts[1] not in {key for key, _label in options}:
        await answer_button(update, _("That button belongs to an earlier question."))
        return STAY
    chosen: list[str] = list(context.dialogue.get(field, []))
    chosen = [item for item in chosen if item != parts[1]] if parts[1] in chosen else [*chosen, parts[1]]
    context.dialogue[field] = chosen
    await answer_button(update)
    query = update.callback_query
    assert query is not None
    try:
        await query.edit_message_reply_markup(keyboard(_toggle_rows(options, chosen)))
    except BadRequest:  # a double tap can leave the keyboard already in this state
        logger.debug("volunteering.toggle_not_modified")
    return STAY


async def choose_cap(update: Update, context: BotContext) -> str | None:
    """Requests per week at most."""
    parts = _profile_button(update) or []
    cap = int_arg(parts[1]) if parts[:1] == ["cap"] and len(parts) == 2 else None
    if cap is None or cap not in CAPS:
        await answer_button(update, _("That button belongs to an earlier question."))
        return STAY
    await answer_button(update)
    await retire_buttons(update)
    context.dialogue["cap"] = cap
    await show_overview(update, context)
    return OVERVIEW


async def save_profile(update: Update, context: BotContext) -> str | None:
    """Save the profile; a family's new helper profile goes to its coordinators for approval."""
    data = context.dialogue
    if not data.get("skills") or not data.get("times"):
        await answer_button(update, _("Please choose at least what you can help with and when."))
        return STAY
    person = context.person
    assert person is not None and person.id is not None
    now = context.now()
    saved = False
    with context.session() as session:
        fresh = people.get_person(session=session, person_id=person.id)
        existing = people.get_volunteer(session=session, person_id=person.id)
        valid_areas = {int(key) for key, _label in _area_options(session)}
        new = existing is None
        if fresh is not None and fresh.consent_at is not None and (not new or fresh.role == Role.FAMILY):
            people.save_volunteer_profile(
                session=session,
                person=fresh,
                area_ids=[int(a) for a in data.get("areas", []) if str(a).isdigit() and int(a) in valid_areas],
                skills=[skill for skill in data.get("skills", []) if skill in SKILL_LABELS],
                availability=availability.mask_for_groups(data.get("times", [])),
                languages=[code for code in data.get("langs", []) if code in LANGUAGE_NAMES],
            )
            if not new and data.get("approved") and isinstance(data.get("cap"), int) and data["cap"] in CAPS:
                store.set_weekly_cap(session=session, volunteer_id=person.id, cap=int(data["cap"]))
            if new:
                _tell_coordinators_family_helps(session, fresh, now)
            people.audit(session=session, actor_id=person.id, action="volunteer_profile", subject_id=person.id, now=now)
            saved = True
    await answer_button(update)
    await retire_buttons(update)
    if not saved:
        await reply(update, _("This could not be saved. Send /menu to start again."))
        return END
    if data.get("new"):
        await reply(
            update,
            _(
                "Thank you! Your coordinator will have a short talk with you and ask for a VOG "
                "(certificate of conduct). Once approved, you will receive requests that fit you."
            ),
        )
    else:
        await reply(update, _("Saved. Requests that fit your new profile will come your way."))
    return END


def _tell_coordinators_family_helps(session: Session, family: Person, now: Any) -> None:
    for coordinator in alerts.coordinators_for(session, family):
        with use_language(coordinator.language):
            text = _(
                "🙋 {family} would like to help others too and filled in a helper profile. "
                "After a short talk (and a VOG for tasks with children) you can approve them under Volunteers."
            ).format(family=hi(matching.name_of(family)))
        notify(session=session, person=coordinator, key=f"familyhelps:{family.id}:{coordinator.id}", text=text, now=now)


async def profile_unexpected(update: Update, context: BotContext) -> str | None:
    """Anything but the profile's buttons while it is open."""
    await reply(update, _("Please use the buttons, or send /cancel to stop."))
    return STAY


# --- registration ---------------------------------------------------------------------------------


def build_first() -> list[BaseHandler[Any, Any, Any]]:
    """Before the dialogues: offer, outcome and debrief buttons, tasks and pauses work at any time."""
    private = filters.UpdateType.MESSAGE & filters.ChatType.PRIVATE
    return [
        CommandHandler("tasks", show_tasks, filters=private),
        CallbackQueryHandler(on_offer, pattern=rf"^{matching.OFFER}:"),
        CallbackQueryHandler(on_outcome, pattern=rf"^{matching.OUTCOME}:"),
        CallbackQueryHandler(on_debrief, pattern=rf"^{DEBRIEF}:"),
        CallbackQueryHandler(ask_cancel_task, pattern=rf"^{TASKS}:cx:"),
        CallbackQueryHandler(do_cancel_task, pattern=rf"^{TASKS}:cxy:"),
        CallbackQueryHandler(keep_task, pattern=rf"^{TASKS}:keep:"),
        CallbackQueryHandler(on_pause, pattern=rf"^{TASKS}:(pause:|resume$)"),
        CallbackQueryHandler(menu_button, pattern=rf"^{TASKS}:(list|pmenu)$"),
    ]


def build_relay() -> Dialogue:
    """One message about an accepted task, from its volunteer to its family or back (`vt:msg`, `vt:ans`)."""
    private = filters.ChatType.PRIVATE
    text = filters.UpdateType.MESSAGE & private & filters.TEXT & ~filters.COMMAND
    anything = filters.UpdateType.MESSAGE & private & ~filters.COMMAND
    return Dialogue(
        name=RELAY,
        entry_points=[CallbackQueryHandler(start_task_message, pattern=rf"^{TASKS}:(msg|ans):\d+$")],
        states={
            RELAY_WRITE: [
                MessageHandler(text, write_task_message),
                MessageHandler(anything, task_message_unexpected),
                CallbackQueryHandler(start_task_message, pattern=rf"^{TASKS}:(msg|ans):\d+$"),
            ]
        },
    )


def build() -> Dialogue:
    private = filters.ChatType.PRIVATE
    anything = filters.UpdateType.MESSAGE & private & ~filters.COMMAND
    return Dialogue(
        name=NAME,
        entry_points=[
            CallbackQueryHandler(start_profile, pattern=r"^menu:vprofile$"),
            CallbackQueryHandler(start_profile, pattern=rf"^{PROFILE}:new$"),
        ],
        states={
            OVERVIEW: [
                CallbackQueryHandler(overview_button, pattern=rf"^{PROFILE}:"),
                MessageHandler(anything, profile_unexpected),
            ],
            TOGGLE: [
                CallbackQueryHandler(toggle, pattern=rf"^{PROFILE}:"),
                MessageHandler(anything, profile_unexpected),
            ],
            CAP: [
                CallbackQueryHandler(choose_cap, pattern=rf"^{PROFILE}:"),
                MessageHandler(anything, profile_unexpected),
            ],
        },
    )


def register_menu() -> None:
    volunteer = {str(Role.VOLUNTEER)}
    menu.add("tasks", N_("My tasks"), volunteer, show_tasks)
    menu.add("vpause", N_("Pause or resume"), volunteer, show_pause)
    menu.add("vprofile", N_("My helper profile"), volunteer)
    menu.add("helpout", N_("🤝 Help others too"), {str(Role.FAMILY)}, help_others)
