"""Check-ins, the family's side: a tap on a check-in, what follows it, pausing, and "we need help again".

The rules (when a check-in goes out, what an answer means, the step-down) are in `services.checkins`; the
coordinators' side (the family card) is `conversations.family_card`.
"""

from __future__ import annotations

import logging
from typing import Any

from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler

from conversations import menu
from conversations.context import BotContext
from conversations.pause_buttons import pause_handlers
from conversations.ui import answer_button, answer_stale, keyboard, reply, retire_buttons, settled, tapped_values
from domain import checkins as rules
from services import checkin_answers
from services.checkin_answers import Answered, FollowUp, Recorded
from services.checkins import ANSWER, PAUSE_FOR, PAUSE_WEEKS, RESUME
from services.i18n import N_, _, format_day, h, ngettext
from services.safety import passed_on_text, safety_numbers_text, when_seen_text
from storage.models import Person, Role

logger = logging.getLogger(__name__)


def _family(context: BotContext) -> Person | None:
    """The person behind the update when it is a signed-up family."""
    person = context.person
    return person if person is not None and person.role == Role.FAMILY and person.id is not None else None


async def on_answer(update: Update, context: BotContext) -> None:
    """A check-in button: checked on the server (this family's own check-in, not yet answered), once."""
    parsed = tapped_values(update, ANSWER)
    person = _family(context)
    if parsed is None or person is None or person.id is None:
        await answer_stale(update)
        return
    checkin_id, choice = parsed
    if choice in set(FollowUp):
        await _so_so_follow_up(update, context, checkin_id, FollowUp(choice))
        return
    if choice not in set(rules.Answer):
        await answer_stale(update)
        return
    answer = rules.Answer(choice)
    with context.session() as session:
        answered = checkin_answers.answer_checkin(
            session=session,
            services=context.services,
            family_id=person.id,
            checkin_id=checkin_id,
            answer=answer,
            now=context.now(),
        )
    if answered.outcome == Recorded.NOT_YOURS:
        await answer_stale(update)
        return
    recorded = answered.outcome == Recorded.RECORDED
    await answer_button(update, None if recorded else _("You already answered this check-in. Thank you!"))
    await retire_buttons(update, show_choice=recorded)
    if recorded:
        await _reply_to_answer(update, context, checkin_id, answer, answered)


async def _reply_to_answer(
    update: Update, context: BotContext, checkin_id: int, answer: rules.Answer, answered: Answered
) -> None:
    """Thank the family; after 'so-so' offer help, after 'not good' or 'talk' say who will get in touch."""
    person = context.person
    assert person is not None
    # What each answer leads to is the domain's rule (domain.checkins.answer_effect); this only says it.
    effect = rules.answer_effect(answer)
    offers = effect.offer_help or effect.offer_coordinator
    if not effect.raise_concern and not offers:
        await reply(update, _("Thank you, good to hear! 😊 You can always reach us through /menu."))
    elif not effect.raise_concern:
        rows = []
        if effect.offer_help:
            rows.append([(_("🙋 Ask for practical help"), ANSWER.data(checkin_id, FollowUp.HELP.value))])
        if effect.offer_coordinator:
            rows.append([(_("💬 A word with my coordinator"), ANSWER.data(checkin_id, FollowUp.WORD.value))])
        rows.append([(_("No, thanks"), ANSWER.data(checkin_id, FollowUp.FINE.value))])
        await reply(update, _("Thank you for telling us. Would something help?"), keyboard(rows))
    else:
        waiting = answered.waiting
        with context.session() as session:
            seen = when_seen_text(
                context.services, person, context.now(), urgent=False, waiting=waiting, session=session
            )
        lines = [
            _("Thank you for telling us.")
            if waiting
            else _("Thank you for telling us. I have let your coordinator know."),
            seen,
        ]
        if not waiting and not answered.office_hours:
            lines.append(_("If it cannot wait:") + "\n" + safety_numbers_text())
        lines.append(_("You can write here now, or send a voice note or a photo; I will pass it on."))
        await reply(update, "\n\n".join(lines))
    if answered.step_note:
        await reply(update, answered.step_note)


async def _so_so_follow_up(update: Update, context: BotContext, checkin_id: int, choice: FollowUp) -> None:
    """After 'so-so': practical help (the menu), a word with the coordinator, or nothing."""
    person = context.person
    assert person is not None and person.id is not None
    now = context.now()
    with context.session() as session:
        followed = checkin_answers.follow_up(
            session=session,
            services=context.services,
            family_id=person.id,
            checkin_id=checkin_id,
            choice=choice,
            now=now,
        )
    followed = await settled(update, followed)
    if followed is None:
        return
    if choice == FollowUp.HELP:
        await menu.send_menu(update, context)
    elif choice == FollowUp.FINE:
        await reply(update, _("Alright. We are here whenever you need us."))
    else:
        with context.session() as session:
            text = passed_on_text(
                context.services, person, now, new=followed.new, waiting=followed.waiting, session=session
            )
        await reply(update, text)


async def pause_menu(update: Update, context: BotContext) -> None:
    """'Pause check-ins': for a holiday, one to four weeks; or resume."""
    person = _family(context)
    if person is None or person.id is None:
        return
    with context.session() as session:
        until = checkin_answers.paused_until(session=session, family_id=person.id)
    rows = [
        [
            (ngettext("{count} week", "{count} weeks", weeks).format(count=weeks), PAUSE_FOR.data(weeks))
            for weeks in PAUSE_WEEKS
        ]
    ]
    text = _("How long shall we pause the check-ins? You can still reach us any time with /talk.")
    if until is not None:
        text = _("The check-ins are paused until {day}.").format(day=h(format_day(until, person.language)))
        rows.append([(_("Resume check-ins now"), RESUME.data())])
    await reply(update, text, keyboard(rows))


async def _pause(update: Update, context: BotContext, weeks: int | None) -> None:
    """Pause for `weeks` (None: resume) and say until when."""
    person = _family(context)
    if person is None or person.id is None:
        await answer_stale(update)
        return
    await answer_button(update)
    await retire_buttons(update)
    with context.session() as session:
        paused = checkin_answers.pause(
            session=session, services=context.services, family_id=person.id, weeks=weeks, now=context.now()
        )
    until = paused.until
    if not paused.done:
        return
    if until is None:
        await reply(update, _("The check-ins are back on. Thank you!"))
        return
    text = _("The check-ins are paused until {day}. You can still reach us any time with /talk. Enjoy!")
    await reply(update, text.format(day=h(format_day(until, person.language))))


async def need_help_again(update: Update, context: BotContext) -> None:
    """'We need help again': weekly check-ins again, no pause, and a coordinator contacts the family."""
    person = _family(context)
    if person is None or person.id is None:
        return
    services = context.services
    now = context.now()
    with context.session() as session:
        reopened = checkin_answers.reopen(session=session, services=services, family_id=person.id, now=now)
    if reopened is None:
        return
    with context.session() as session:
        seen = when_seen_text(services, person, now, urgent=False, waiting=reopened.waiting, session=session)
    lines = [
        _("Thank you for letting us know. We are here for you."),
        seen,
        _("We will check in every week again. You can write here now; I will pass it on."),
    ]
    await reply(update, "\n\n".join(lines))


def build_first() -> list[BaseHandler[Any, Any, Any]]:
    """The family's check-in buttons, which work at any time (also in the middle of a dialogue)."""
    return [
        CallbackQueryHandler(on_answer, pattern=ANSWER.pattern),
        *pause_handlers(PAUSE_FOR, RESUME, PAUSE_WEEKS, _pause),
    ]


def register_menu() -> None:
    """The family's menu entries."""
    family = {str(Role.FAMILY)}
    menu.add("pause", N_("Pause check-ins"), family, pause_menu)
    menu.add("again", N_("We need help again"), family, need_help_again)
