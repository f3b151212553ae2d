"""A family's questions for its coordinators: the words, the reviews, linked help, rhythms and the casework meeting.

Opened from the family's card (🎯 Questions). Suggesting a question is a short dialogue (the words are
typed); everything else is buttons, checked again in `services.casework` and `services.questions`.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from typing import Any

from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler

from conversations.context import BotContext
from conversations.dialogue import END, STAY, Dialogue, Draft, draft_of, typed_words
from conversations.questions import words_unexpected
from conversations.ui import (
    acted_on_tap,
    answer_button,
    answer_stale,
    keyboard,
    reply,
    retire_buttons,
    settled_once,
    tapped_or_stale,
    tapped_values,
)
from domain import questions as rules
from domain.questions import QuestionState
from services import casework as service
from services import questions as questions_service
from services.callbacks import Button
from services.casework import NEXT, QUESTIONS, RECORD, Recorded, Workspace
from services.i18n import _, format_day, h, hi
from services.labels import name_of
from services.questions import Saved
from services.tasks import kind_label, when_text
from storage.db import Session

SUGGEST_DIALOGUE = "suggest_question"
SUGGEST_WORDS = "words"
# cw:<action>:...
LINKS = Button("cw", "links", int)  # a question: its linkable requests
LINK = Button("cw", "link", int, int)  # question, request: link or unlink
LINK_MATCH = Button("cw", "linkm", int, int)  # question, lasting match: link or unlink
SUGGEST = Button("cw", "sugg", int)  # a family: suggest a question
REVIEW_WEEKS = Button("cw", "rw", int, int)  # family, weeks
CASEWORK_WEEKS = Button("cw", "cwk", int, int)  # family, weeks


@dataclass
class SuggestDraft(Draft):
    """The family a coordinator is suggesting a question to."""

    family: int = 0


def refuse_text() -> str:
    """A refused tap or dialogue step: kind, and without which facts made it so."""
    return _("Sorry, you cannot do this for this family.")


def _ticked(selected: bool, label: str) -> str:
    """A button's label, ticked when it is the current setting."""
    return ("✓ " if selected else "") + label


def workspace_text(view: Workspace, language: str) -> str:
    """The family's questions in its words, with the reviews and help, the rhythms and the next meeting."""
    lines = [_("🎯 <b>Questions of {family}</b> (in their words)").format(family=hi(name_of(view.family)))]
    for number, question in enumerate(view.questions, start=1):
        assert question.id is not None
        if question.state == QuestionState.SUGGESTED:
            lines.append(
                _("{number}. <i>{question}</i> (suggested, waiting for the family)").format(
                    number=number, question=h(question.text)
                )
            )
            continue
        lines.append(_("{number}. <i>{question}</i>").format(number=number, question=h(question.text)))
        lines.append("   " + _("Does it help? {answers}").format(answers=view.answers.get(question.id, "")))
        for line in view.help.get(question.id, []):
            lines.append("   " + _("Help: {help}").format(help=line.label))
        shared = _("volunteers may help") if question.volunteers_may_help else _("volunteers may not help")
        lines.append("   " + h(shared))
    if not view.questions:
        lines.append(_("No questions yet. The family names them under 🎯 My questions; you may suggest one."))
    lines.append("")
    lines.append(
        _("Reviews every {review} weeks; casework meeting every {casework} weeks.").format(
            review=view.plan.review_every_weeks, casework=view.plan.casework_every_weeks
        )
    )
    if view.meeting is not None:
        lines.append(_("Next casework meeting: {day}.").format(day=h(format_day(view.meeting.meeting_on, language))))
    return "\n".join(lines)


def workspace_rows(view: Workspace) -> list[list[tuple[str, str]]]:
    """Link help per question, suggest one, the two rhythms and recording the meeting."""
    family_id = view.family.id
    assert family_id is not None
    rows = [
        [(_("🔗 Link help to question {number}").format(number=number), LINKS.data(q.id))]
        for number, q in enumerate(view.questions, start=1)
        if q.id is not None and q.state == QuestionState.ACTIVE
    ]
    rows.append([(_("💡 Suggest a question"), SUGGEST.data(family_id))])
    rows.append(
        [
            (
                _ticked(view.plan.review_every_weeks == weeks, _("Reviews {count} wk").format(count=weeks)),
                REVIEW_WEEKS.data(family_id, weeks),
            )
            for weeks in rules.REVIEW_WEEK_CHOICES
        ]
    )
    rows.append(
        [
            (
                _ticked(view.plan.casework_every_weeks == weeks, _("Meeting {count} wk").format(count=weeks)),
                CASEWORK_WEEKS.data(family_id, weeks),
            )
            for weeks in rules.CASEWORK_WEEK_CHOICES
        ]
    )
    if view.meeting is not None and view.meeting.id is not None:
        rows.append([(_("📝 Record the casework meeting"), RECORD.data(view.meeting.id))])
    return rows


async def _show(update: Update, context: BotContext, family_id: int) -> None:
    """Show (or refuse) the family's questions."""
    language = context.person.language if context.person else "nl"
    with context.session() as session:
        view = service.workspace(session=session, coordinator=context.person, family_id=family_id, now=context.now())
        text = workspace_text(view, language) if view is not None else None
        rows = workspace_rows(view) if view is not None else []
    if text is None:
        await answer_button(update, refuse_text())
        return
    await answer_button(update)
    await reply(update, text, keyboard(rows))


async def show_questions(update: Update, context: BotContext) -> None:
    """'🎯 Questions' on the family's card."""
    parsed = await tapped_or_stale(update, QUESTIONS)
    if parsed is None:
        return
    await _show(update, context, parsed[0])


async def set_review_weeks(update: Update, context: BotContext) -> None:
    """How often the family is asked "does it help?"."""
    await _set_rhythm(update, context, REVIEW_WEEKS, review=True)


async def set_casework_weeks(update: Update, context: BotContext) -> None:
    """How often the family's casework meeting is."""
    await _set_rhythm(update, context, CASEWORK_WEEKS, review=False)


async def _set_rhythm(update: Update, context: BotContext, button: Button, *, review: bool) -> None:
    """Save a rhythm, then show the questions again."""

    def save(session: Session, values: tuple[Any, ...]) -> bool:
        """Save the tapped number of weeks as the review or the casework rhythm."""
        return service.set_rhythm(
            session=session,
            coordinator=context.person,
            family_id=values[0],
            review_weeks=values[1] if review else None,
            casework_weeks=None if review else values[1],
            now=context.now(),
        )

    parsed = tapped_values(update, button)
    if not acted_on_tap(update, context, button, save) or parsed is None:
        await answer_stale(update)
        return
    await retire_buttons(update, show_choice=False)
    await _show(update, context, parsed[0])


async def show_links(update: Update, context: BotContext) -> None:
    """The family's recent requests, to link to (or unlink from) a question."""
    parsed = tapped_values(update, LINKS)
    person = context.person
    with context.session() as session:
        found = (
            service.link_choices(session=session, coordinator=person, question_id=parsed[0], now=context.now())
            if parsed
            else None
        )
    if found is None or person is None:
        await answer_stale(update)
        return
    await answer_button(update)
    question, requests = found.question, found.requests
    assert question.id is not None
    rows = [
        [
            (
                _ticked(linked, f"{kind_label(request.kind)}, {when_text(request, person.timezone, person.language)}"),
                LINK.data(question.id, request.id),
            )
        ]
        for request, linked in requests
        if request.id is not None
    ]
    rows += [
        [(_ticked(linked, "🤝 " + seen_label(label)), LINK_MATCH.data(question.id, match.id))]
        for match, label, linked in found.matches
        if match.id is not None
    ]
    text = _("Which help serves <i>{question}</i>? Tap to link or unlink.").format(question=h(question.text))
    if not rows:
        text += "\n" + _("The family has no requests yet.")
    await reply(update, text, keyboard(rows) if rows else None)


async def toggle_link(update: Update, context: BotContext) -> None:
    """Link or unlink one request."""
    await _toggle(update, context, LINK, "request")


async def toggle_match_link(update: Update, context: BotContext) -> None:
    """Link or unlink one lasting match."""
    await _toggle(update, context, LINK_MATCH, "match")


async def _toggle(update: Update, context: BotContext, button: Button, kind: str) -> None:
    """Link the tapped help to the question, or unlink it when it was linked (rights checked in the service)."""

    def link(session: Session, values: tuple[Any, ...]) -> bool | None:
        """Link or unlink the tapped help: whether it is linked now, None when refused."""
        return questions_service.link_help(
            session=session,
            coordinator=context.person,
            question_id=values[0],
            kind=kind,
            ref_id=values[1],
            now=context.now(),
        )

    linked = acted_on_tap(update, context, button, link)
    if linked is None:
        await answer_stale(update)
        return
    await answer_button(update, _("Linked.") if linked else _("Unlinked."))
    await retire_buttons(update)


def seen_label(label: str) -> str:
    """A label made for a message, as a button shows it (buttons show no HTML)."""
    return html.unescape(re.sub(r"<[^>]+>", "", label))


async def start_recording(update: Update, context: BotContext) -> None:
    """'Record the casework meeting': each decision due, then when the next meeting is."""
    parsed = tapped_values(update, RECORD)
    with context.session() as session:
        found = (
            service.meeting_decisions(
                session=session, coordinator=context.person, meeting_id=parsed[0], now=context.now()
            )
            if parsed
            else None
        )
    if found is None:
        await answer_stale(update)
        return
    await answer_button(update)
    meeting, messages = found
    assert meeting.id is not None
    for message in messages:
        await reply(update, message.text, keyboard(message.buttons) if message.buttons else None)
    rows = [
        [
            (_("{count} weeks").format(count=weeks), NEXT.data(meeting.id, weeks))
            for weeks in rules.CASEWORK_WEEK_CHOICES
        ]
    ]
    text = _("When all is decided: the meeting was held, and the next one is in …")
    if not messages:
        text = _("No decisions are due. The meeting was held, and the next one is in …")
    await reply(update, text, keyboard(rows))


async def record_next(update: Update, context: BotContext) -> None:
    """The meeting was held: saved with the next date; the family hears what was decided."""

    def record(session: Session, values: tuple[Any, ...]) -> service.MeetingResult:
        """Record the meeting with the tapped number of weeks to the next one."""
        return service.record_meeting(
            session=session,
            services=context.services,
            coordinator=context.person,
            meeting_id=values[0],
            next_weeks=values[1],
            now=context.now(),
        )

    result = acted_on_tap(update, context, NEXT, record)
    outcome = result.outcome if result else None
    said_already = _("This meeting was recorded already.")
    if not await settled_once(
        update, outcome, refused=Recorded.REFUSED, already=Recorded.ALREADY, said_already=said_already
    ):
        return
    assert result is not None
    language = context.person.language if context.person else "nl"
    day = format_day(result.next_meeting.meeting_on, language) if result.next_meeting else ""
    await reply(
        update,
        _("Recorded. The next casework meeting is on {day}; the agenda comes three days before.").format(day=h(day)),
    )


# --- suggesting a question (a dialogue: the words are typed) --------------------------------------


async def start_suggest(update: Update, context: BotContext) -> str | None:
    """'Suggest a question': its words are typed next."""
    parsed = await tapped_or_stale(update, SUGGEST)
    if parsed is None:
        return END
    with context.session() as session:
        allowed = questions_service.may_suggest(
            session=session, coordinator=context.person, family_id=parsed[0], now=context.now()
        )
    if not allowed:
        await answer_button(update, refuse_text())
        return END
    await answer_button(update)
    draft_of(context, SuggestDraft).family = parsed[0]
    await reply(
        update,
        _(
            "Write the question as the family might say it (at most {count} characters). "
            "They decide whether to take it up."
        ).format(count=rules.MAX_QUESTION_CHARS),
    )
    return SUGGEST_WORDS


async def suggestion_typed(update: Update, context: BotContext) -> str | None:
    """The suggestion's words: sent to the family to accept or not."""
    message = update.effective_message
    draft = draft_of(context, SuggestDraft)
    with context.session() as session:
        named = questions_service.suggest(
            session=session,
            services=context.services,
            coordinator=context.person,
            family_id=draft.family,
            text=message.text if message else "",
            now=context.now(),
        )
    if named.outcome == Saved.EMPTY:
        await reply(update, _("Please write the question in a few words."))
        return STAY
    if named.outcome == Saved.TOO_LONG:
        await reply(
            update,
            _("That is too long for one question: at most {count} characters, please.").format(
                count=rules.MAX_QUESTION_CHARS
            ),
        )
        return STAY
    if named.outcome != Saved.SAVED:
        await reply(update, refuse_text())
        return END
    await reply(update, _("Sent to the family. It becomes one of their questions only if they say yes."))
    return END


def build() -> list[BaseHandler[Any, Any, Any]]:
    """The buttons of a family's questions for coordinators (they work at any time)."""
    return [
        CallbackQueryHandler(show_questions, pattern=QUESTIONS.pattern),
        CallbackQueryHandler(set_review_weeks, pattern=REVIEW_WEEKS.pattern),
        CallbackQueryHandler(set_casework_weeks, pattern=CASEWORK_WEEKS.pattern),
        CallbackQueryHandler(show_links, pattern=LINKS.pattern),
        CallbackQueryHandler(toggle_link, pattern=LINK.pattern),
        CallbackQueryHandler(toggle_match_link, pattern=LINK_MATCH.pattern),
        CallbackQueryHandler(start_recording, pattern=RECORD.pattern),
        CallbackQueryHandler(record_next, pattern=NEXT.pattern),
    ]


def build_dialogue() -> Dialogue:
    """Suggesting a question (registered with the dialogue router)."""
    return Dialogue(
        name=SUGGEST_DIALOGUE,
        entry_points=[CallbackQueryHandler(start_suggest, pattern=SUGGEST.pattern)],
        states={SUGGEST_WORDS: typed_words(suggestion_typed, words_unexpected)},
        draft=SuggestDraft,
    )
