"""The two sides of a match in chat: agree to a proposal or not, "not this time", the visit log, the feeling,
the review question, asking other volunteers, an offer back; and one message to the other side. Each tap's answer
(`SIDE_BUTTONS`) calls one service (`services.match_proposals`, `services.match_runs`, `services.match_reviews`,
`services.match_pool`, `services.match_giveback`), which checks that the tapper is that side of that match and
that the state allows it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler

from conversations.context import BotContext
from conversations.dialogue import Dialogue, Draft, draft_of, typed_words
from conversations.relay import WRITING, ask_for_message, ask_for_text, pass_on
from conversations.ui import (
    answer_done_before,
    answer_stale,
    close_tap,
    keyboard,
    stale_text,
    tapped_values,
)
from services import match_contact, match_giveback, match_household, match_pool, match_reviews, match_runs
from services import match_proposals as proposals
from services.callbacks import Button
from services.i18n import _, h, hi
from services.labels import name_of
from services.match_texts import ACCEPT, ANSWER, DECLINE, FEEL, LOG, POOL, POOL_NO, POOL_YES, SKIP, WRITE
from storage.db import Session
from storage.models import Person


@dataclass(frozen=True)
class _Said:
    """What a side's tap comes to: thanks (with buttons, maybe) that close the tap; else why it no longer works."""

    thanks: str | None = None
    note: str | None = None  # without thanks: what the tap is answered with (None: that it no longer works)
    rows: list[list[tuple[str, str]]] | None = None


# What one side's button does, given the tap's values: one service call, in one session, and what to say.
SideAnswer = Callable[[Session, BotContext, tuple[Any, ...]], _Said]


def _side_button(button: Button, answer: SideAnswer) -> Any:
    """A handler for one of a side's buttons: `answer` the tap in one session, then say what it said."""

    async def handler(update: Update, context: BotContext) -> None:
        """A side's tap: the thanks, or why it no longer works."""
        values = tapped_values(update, button)
        if values is None:
            return await answer_stale(update)
        with context.session() as session:
            said = answer(session, context, values)
        if said.thanks is None:
            return await answer_done_before(update, stale_text() if said.note is None else said.note)
        await close_tap(update, said.thanks, keyboard(said.rows) if said.rows else None)

    return handler


def _answered_already() -> _Said:
    """A tap on something a side has answered before."""
    return _Said(note=_("This was answered already."))


def _proposal_answered(session: Session, context: BotContext, values: tuple[Any, ...], *, accept: bool) -> _Said:
    """Yes or no to a proposed match."""
    found = proposals.answer(
        session=session,
        services=context.services,
        person=context.person,
        match_id=values[0],
        accept=accept,
        now=context.now(),
    )
    if found.result == proposals.Answered.GONE:
        return _Said()
    if found.result == proposals.Answered.TOO_LATE:
        return _Said(note=_("This proposal has already been answered; nothing changed."))
    if found.result == proposals.Answered.WAITING:
        name = hi(found.other_name)
        return _Said(_("Thank you! The match starts as soon as {name} agrees too.").format(name=name))
    if found.result == proposals.Answered.STARTED:
        return _Said(_("Thank you! You both agreed: the trial starts."))
    if found.result == proposals.Answered.DECLINED:
        return _Said(_("Understood: this match will not go ahead. Your coordinator will know."))
    return _Said(_("You had already agreed."))


def _member_answered(session: Session, context: BotContext, values: tuple[Any, ...], *, accept: bool) -> _Said:
    """An adult of the support household: yes or no to the match."""
    found = proposals.answer_member(
        session=session,
        services=context.services,
        person=context.person,
        member_id=values[0],
        accept=accept,
        now=context.now(),
    )
    if found.result == proposals.Answered.GONE:
        return _Said()
    if found.result in (proposals.Answered.TOO_LATE, proposals.Answered.ALREADY):
        return _Said(note=_("This proposal has already been answered; nothing changed."))
    if found.result == proposals.Answered.WAITING:
        return _Said(_("Thank you! The match starts as soon as everyone has agreed."))
    if found.result == proposals.Answered.STARTED:
        return _Said(_("Thank you! Everyone agreed: the trial starts."))
    if found.result == proposals.Answered.JOINED:
        name = hi(found.other_name)
        return _Said(
            _("Thank you! You are part of the match with {name} now; you get the reminders too.").format(name=name)
        )
    if found.result == proposals.Answered.LEFT_OUT:
        return _Said(_("Understood: you do not take part in this match. Your coordinator will know."))
    return _Said(_("Understood: this match will not go ahead. Your coordinator will know."))


def _not_this_time(session: Session, context: BotContext, values: tuple[Any, ...]) -> _Said:
    """'Not this time' under a reminder."""
    found = match_runs.skip(
        session=session, services=context.services, person=context.person, occurrence_id=values[0], now=context.now()
    )
    if found.result != match_runs.Skipped.DONE:
        return _Said(note=_("This time can no longer be called off."))
    return _Said(_("Understood: not this time. {name} is told.").format(name=hi(found.other_name)))


def _logged(session: Session, context: BotContext, values: tuple[Any, ...]) -> _Said:
    """The helper's one tap after an occurrence."""
    result = match_runs.log_visit(
        session=session,
        services=context.services,
        person=context.person,
        occurrence_id=values[0],
        outcome=values[1],
        now=context.now(),
    )
    if result == match_runs.Logged.GONE:
        return _answered_already()
    if result == match_runs.Logged.CONCERN:
        return _Said(_("Thank you for telling us. A coordinator will get in touch with you."))
    return _Said(_("Thank you! Noted."))


def _felt(session: Session, context: BotContext, values: tuple[Any, ...]) -> _Said:
    """The family's optional feeling after an occurrence."""
    done = match_runs.feel(
        session=session, person=context.person, occurrence_id=values[0], feeling=values[1], now=context.now()
    )
    return _Said(_("Thank you for letting us know.")) if done else _answered_already()


def _reviewed(session: Session, context: BotContext, values: tuple[Any, ...]) -> _Said:
    """A side's continue / adjust / stop at a review."""
    result = match_reviews.answer(
        session=session, person=context.person, review_id=values[0], choice=values[1], now=context.now()
    )
    if result != match_reviews.Reviewed.DONE:
        return _answered_already()
    return _Said(h(_("Thank you! Your coordinator will let you know what happens next.")))


def _pool_refused(result: match_pool.Pooled) -> _Said:
    """Why a time cannot go to other volunteers (again)."""
    if result == match_pool.Pooled.ALREADY:
        return _Said(note=_("Other volunteers were already asked for this time."))
    return _Said(note=_("This time can no longer go to other volunteers."))


def _pool_asked(session: Session, context: BotContext, values: tuple[Any, ...]) -> _Said:
    """'Ask other volunteers' under the helper's "not this time": what would be asked, with Yes / No."""
    found = match_pool.preview(
        session=session, services=context.services, person=context.person, occurrence_id=values[0], now=context.now()
    )
    if found.result != match_pool.Pooled.READY:
        return _pool_refused(found.result)
    rows = [[(_("✅ Yes, ask them"), POOL_YES.data(values[0])), (_("✖️ No, thank you"), POOL_NO.data(values[0]))]]
    return _Said(found.text, rows=rows)


def _pool_sent(session: Session, context: BotContext, values: tuple[Any, ...]) -> _Said:
    """The family's OK: a one-off request to other volunteers for that time."""
    result = match_pool.send_to_pool(
        session=session, services=context.services, person=context.person, occurrence_id=values[0], now=context.now()
    )
    if result != match_pool.Pooled.SENT:
        return _pool_refused(result)
    return _Said(
        _("📣 Done: other volunteers are asked for this time. You hear when someone accepts; /requests shows it.")
    )


async def pool_declined(update: Update, context: BotContext) -> None:
    """The family's 'No, thank you' to asking other volunteers: nothing happens."""
    if tapped_values(update, POOL_NO) is None:
        return await answer_stale(update)
    await close_tap(update, _("Fine: nobody else is asked. The next time stays as planned."))


def _gave_back(session: Session, context: BotContext, values: tuple[Any, ...]) -> _Said:
    """'It happened / It did not happen' about what a family offered back to its support volunteer."""
    result = match_giveback.answer(
        session=session, person=context.person, give_back_id=values[0], outcome=values[1], now=context.now()
    )
    return _Said(_("Thank you! Noted.")) if result == match_giveback.GaveBack.DONE else _answered_already()


# Every side's button that one service answers, with what it does.
SIDE_BUTTONS: list[tuple[Button, SideAnswer]] = [
    (ACCEPT, partial(_proposal_answered, accept=True)),
    (DECLINE, partial(_proposal_answered, accept=False)),
    (match_household.MEMBER_YES, partial(_member_answered, accept=True)),
    (match_household.MEMBER_NO, partial(_member_answered, accept=False)),
    (SKIP, _not_this_time),
    (LOG, _logged),
    (FEEL, _felt),
    (ANSWER, _reviewed),
    (POOL, _pool_asked),
    (POOL_YES, _pool_sent),
    (match_giveback.GAVE, _gave_back),
]


def build() -> list[BaseHandler[Any, Any, Any]]:
    """Every side's buttons; they work at any time, also in the middle of a dialogue."""
    return [
        *(
            CallbackQueryHandler(_side_button(button, answer), pattern=button.pattern)
            for button, answer in SIDE_BUTTONS
        ),
        CallbackQueryHandler(pool_declined, pattern=POOL_NO.pattern),
    ]


# --- writing to the other side --------------------------------------------------------------------

CONTACT = "matchmsg"


@dataclass
class ContactDraft(Draft):
    """The match a message is for."""

    match: int | None = None


async def start_writing(update: Update, context: BotContext) -> str | None:
    """'Write to <name>': ask for one message, when the tapper is a side of that match."""
    parsed = tapped_values(update, WRITE)
    match_id = parsed[0] if parsed else None
    with context.session() as session:
        found = match_contact.party(session=session, person=context.person, match_id=match_id)
        other = name_of(found.other) if found is not None else ""
    draft_of(context, ContactDraft).match = match_id
    prompt = _(
        "Write one message for {name}. I pass it on through the bot, with your name; your phone number and "
        "account stay private. Send /cancel to stop."
    ).format(name=hi(other))
    closed = _("This match is no longer open, so you cannot write about it here.")
    return await ask_for_message(update, prompt if other else None, closed)


async def write(update: Update, context: BotContext) -> str | None:
    """The message: checked again, then queued for the other side."""
    match_id = draft_of(context, ContactDraft).match

    def send(session: Session, person: Person, text: str, source: str) -> str | None:
        """Pass the message on, when the writer is still a side of that open match."""
        return match_contact.pass_message(
            session=session, person=person, match_id=match_id, text=text, source=source, now=context.now()
        )

    not_sent = _("This match is no longer open, so the message was not sent.")
    return await pass_on(update, context, limit=match_contact.MAX_MESSAGE, send=send, not_sent=not_sent)


async def not_text(update: Update, context: BotContext) -> str | None:
    """Anything but text while the message is expected."""
    return await ask_for_text(update, match_contact.MAX_MESSAGE)


def build_contact() -> Dialogue:
    """One message from one side of a match to the other (`ms:msg`)."""
    start = CallbackQueryHandler(start_writing, pattern=WRITE.pattern)
    return Dialogue(
        name=CONTACT,
        entry_points=[start],
        states={WRITING: [*typed_words(write, not_text), start]},
        draft=ContactDraft,
    )
