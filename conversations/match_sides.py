"""The two sides of a match in chat: agree to a proposal or not, "not this time", the visit log, the feeling,
and the review question. Each tap calls one service (`services.match_proposals`, `services.match_runs`,
`services.match_reviews`), which checks that the tapper is that side of that match and that the state allows it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler

from conversations.context import BotContext
from conversations.dialogue import END, Dialogue, Draft, draft_of, typed_words
from conversations.relay import ask_for_text, pass_on
from conversations.ui import answer_button, answer_stale, keyboard, reply, retire_buttons, tapped_values
from services import match_contact, match_giveback, match_household, match_pool, match_reviews, match_runs
from services import match_proposals as proposals
from services.i18n import _, h, hi
from services.labels import name_of
from services.match_texts import ACCEPT, ANSWER, DECLINE, FEEL, LOG, POOL, POOL_NO, POOL_YES, SKIP, WRITE
from storage.db import Session
from storage.models import Person


async def _stale(update: Update, text: str | None = None) -> None:
    """A side's tap that no longer works (or an explaining text): answer it and retire the buttons."""
    await answer_stale(update) if text is None else await answer_button(update, text)
    await retire_buttons(update, show_choice=False)


async def answered(update: Update, context: BotContext) -> None:
    """Yes or no to a proposed match."""
    accept = tapped_values(update, ACCEPT)
    parsed = accept or tapped_values(update, DECLINE)
    if parsed is None:
        return await answer_stale(update)
    with context.session() as session:
        found = proposals.answer(
            session=session,
            services=context.services,
            person=context.person,
            match_id=parsed[0],
            accept=accept is not None,
            now=context.now(),
        )
    result = found.result
    if result == proposals.Answered.GONE:
        return await _stale(update)
    if result == proposals.Answered.TOO_LATE:
        return await _stale(update, _("This proposal has already been answered; nothing changed."))
    await answer_button(update)
    await retire_buttons(update)
    name = hi(found.other_name)
    if result == proposals.Answered.WAITING:
        await reply(update, _("Thank you! The match starts as soon as {name} agrees too.").format(name=name))
    elif result == proposals.Answered.STARTED:
        await reply(update, _("Thank you! You both agreed: the trial starts."))
    elif result == proposals.Answered.DECLINED:
        await reply(update, _("Understood: this match will not go ahead. Your coordinator will know."))
    else:
        await reply(update, _("You had already agreed."))


async def member_answered(update: Update, context: BotContext) -> None:
    """An adult of the support household: yes or no to the match."""
    accept = tapped_values(update, match_household.MEMBER_YES)
    parsed = accept or tapped_values(update, match_household.MEMBER_NO)
    if parsed is None:
        return await answer_stale(update)
    with context.session() as session:
        found = proposals.answer_member(
            session=session,
            services=context.services,
            person=context.person,
            member_id=parsed[0],
            accept=accept is not None,
            now=context.now(),
        )
    result = found.result
    if result == proposals.Answered.GONE:
        return await _stale(update)
    if result in (proposals.Answered.TOO_LATE, proposals.Answered.ALREADY):
        return await _stale(update, _("This proposal has already been answered; nothing changed."))
    await answer_button(update)
    await retire_buttons(update)
    if result == proposals.Answered.WAITING:
        await reply(update, _("Thank you! The match starts as soon as everyone has agreed."))
    elif result == proposals.Answered.STARTED:
        await reply(update, _("Thank you! Everyone agreed: the trial starts."))
    elif result == proposals.Answered.JOINED:
        await reply(
            update,
            _("Thank you! You are part of the match with {name} now; you get the reminders too.").format(
                name=hi(found.other_name)
            ),
        )
    elif result == proposals.Answered.LEFT_OUT:
        await reply(update, _("Understood: you do not take part in this match. Your coordinator will know."))
    else:
        await reply(update, _("Understood: this match will not go ahead. Your coordinator will know."))


async def not_this_time(update: Update, context: BotContext) -> None:
    """'Not this time' under a reminder."""
    parsed = tapped_values(update, SKIP)
    if parsed is None:
        return await answer_stale(update)
    with context.session() as session:
        found = match_runs.skip(
            session=session,
            services=context.services,
            person=context.person,
            occurrence_id=parsed[0],
            now=context.now(),
        )
    if found.result != match_runs.Skipped.DONE:
        return await _stale(update, _("This time can no longer be called off."))
    await answer_button(update)
    await retire_buttons(update)
    await reply(update, _("Understood: not this time. {name} is told.").format(name=hi(found.other_name)))


async def logged(update: Update, context: BotContext) -> None:
    """The helper's one tap after an occurrence."""
    parsed = tapped_values(update, LOG)
    if parsed is None:
        return await answer_stale(update)
    with context.session() as session:
        result = match_runs.log_visit(
            session=session,
            services=context.services,
            person=context.person,
            occurrence_id=parsed[0],
            outcome=parsed[1],
            now=context.now(),
        )
    if result == match_runs.Logged.GONE:
        return await _stale(update, _("This was answered already."))
    await answer_button(update)
    await retire_buttons(update)
    if result == match_runs.Logged.CONCERN:
        await reply(update, _("Thank you for telling us. A coordinator will get in touch with you."))
    else:
        await reply(update, _("Thank you! Noted."))


async def felt(update: Update, context: BotContext) -> None:
    """The family's optional feeling after an occurrence."""
    parsed = tapped_values(update, FEEL)
    if parsed is None:
        return await answer_stale(update)
    with context.session() as session:
        done = match_runs.feel(
            session=session, person=context.person, occurrence_id=parsed[0], feeling=parsed[1], now=context.now()
        )
    if not done:
        return await _stale(update, _("This was answered already."))
    await answer_button(update)
    await retire_buttons(update)
    await reply(update, _("Thank you for letting us know."))


async def reviewed(update: Update, context: BotContext) -> None:
    """A side's continue / adjust / stop at a review."""
    parsed = tapped_values(update, ANSWER)
    if parsed is None:
        return await answer_stale(update)
    with context.session() as session:
        result = match_reviews.answer(
            session=session, person=context.person, review_id=parsed[0], choice=parsed[1], now=context.now()
        )
    if result != match_reviews.Reviewed.DONE:
        return await _stale(update, _("This was answered already."))
    await answer_button(update)
    await retire_buttons(update)
    await reply(update, h(_("Thank you! Your coordinator will let you know what happens next.")))


async def ask_pool(update: Update, context: BotContext) -> None:
    """'Ask other volunteers' under the helper's "not this time": what would be asked, with Yes / No."""
    parsed = tapped_values(update, POOL)
    if parsed is None:
        return await answer_stale(update)
    with context.session() as session:
        found = match_pool.preview(
            session=session,
            services=context.services,
            person=context.person,
            occurrence_id=parsed[0],
            now=context.now(),
        )
    if found.result == match_pool.Pooled.ALREADY:
        return await _stale(update, _("Other volunteers were already asked for this time."))
    if found.result != match_pool.Pooled.READY:
        return await _stale(update, _("This time can no longer go to other volunteers."))
    await answer_button(update)
    await retire_buttons(update)
    rows = [[(_("✅ Yes, ask them"), POOL_YES.data(parsed[0])), (_("✖️ No, thank you"), POOL_NO.data(parsed[0]))]]
    await reply(update, found.text, keyboard(rows))


async def pool_answered(update: Update, context: BotContext) -> None:
    """The family's OK (a one-off request for that time) or 'No, thank you' (nothing happens)."""
    yes = tapped_values(update, POOL_YES)
    parsed = yes or tapped_values(update, POOL_NO)
    if parsed is None:
        return await answer_stale(update)
    if yes is None:
        await answer_button(update)
        await retire_buttons(update)
        await reply(update, _("Fine: nobody else is asked. The next time stays as planned."))
        return None
    with context.session() as session:
        result = match_pool.send_to_pool(
            session=session,
            services=context.services,
            person=context.person,
            occurrence_id=parsed[0],
            now=context.now(),
        )
    if result == match_pool.Pooled.ALREADY:
        return await _stale(update, _("Other volunteers were already asked for this time."))
    if result != match_pool.Pooled.SENT:
        return await _stale(update, _("This time can no longer go to other volunteers."))
    await answer_button(update)
    await retire_buttons(update)
    await reply(
        update,
        _("📣 Done: other volunteers are asked for this time. You hear when someone accepts; /requests shows it."),
    )


async def gave_back(update: Update, context: BotContext) -> None:
    """'It happened / It did not happen' about what a family offered back to its support volunteer."""
    parsed = tapped_values(update, match_giveback.GAVE)
    if parsed is None:
        return await answer_stale(update)
    with context.session() as session:
        result = match_giveback.answer(
            session=session, person=context.person, give_back_id=parsed[0], outcome=parsed[1], now=context.now()
        )
    if result != match_giveback.GaveBack.DONE:
        return await _stale(update, _("This was answered already."))
    await answer_button(update)
    await retire_buttons(update)
    await reply(update, _("Thank you! Noted."))


def build() -> list[BaseHandler[Any, Any, Any]]:
    """Every side's buttons; they work at any time, also in the middle of a dialogue."""
    return [
        CallbackQueryHandler(answered, pattern=ACCEPT.pattern),
        CallbackQueryHandler(answered, pattern=DECLINE.pattern),
        CallbackQueryHandler(member_answered, pattern=match_household.MEMBER_YES.pattern),
        CallbackQueryHandler(member_answered, pattern=match_household.MEMBER_NO.pattern),
        CallbackQueryHandler(not_this_time, pattern=SKIP.pattern),
        CallbackQueryHandler(logged, pattern=LOG.pattern),
        CallbackQueryHandler(felt, pattern=FEEL.pattern),
        CallbackQueryHandler(reviewed, pattern=ANSWER.pattern),
        CallbackQueryHandler(ask_pool, pattern=POOL.pattern),
        CallbackQueryHandler(pool_answered, pattern=POOL_YES.pattern),
        CallbackQueryHandler(pool_answered, pattern=POOL_NO.pattern),
        CallbackQueryHandler(gave_back, pattern=match_giveback.GAVE.pattern),
    ]


# --- writing to the other side --------------------------------------------------------------------

CONTACT = "matchmsg"
WRITING = "write"


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
    if not other:
        await answer_button(update, _("This match is no longer open, so you cannot write about it here."))
        return END
    await answer_button(update)
    draft_of(context, ContactDraft).match = match_id
    await reply(
        update,
        _(
            "Write one message for {name}. I pass it on through the bot, with your name; your phone number and "
            "account stay private. Send /cancel to stop."
        ).format(name=hi(other)),
    )
    return WRITING


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
