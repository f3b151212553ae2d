"""My questions: the family names what it wants to change, in its own words, and decides who may help.

The list and a question's own view are buttons that work at any time; naming or rewording a question is a
short dialogue (its words are typed). The rules are in `services.questions`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler

from conversations import menu
from conversations.context import BotContext
from conversations.dialogue import END, STAY, Dialogue, Draft, draft_of, typed_words
from conversations.ui import (
    answer_button,
    answer_stale,
    close_tap,
    keyboard,
    reply,
    retire_buttons,
    settled_tap,
    tapped_values,
)
from domain import questions as rules
from domain.questions import QuestionState, Theme
from services import questions as service
from services.callbacks import Button
from services.i18n import N_, _, h, hi
from services.labels import name_of
from services.questions import SUGGESTION, Saved
from storage.db import Session
from storage.models import FamilyQuestion, Role

DIALOGUE = "question"
WORDS = "words"
# fq:<action>:<question>; fq:add starts naming one, fq:theme:<theme> picks a suggestion.
LIST = Button("fq", "list")
ADD = Button("fq", "add")
THEME = Button("fq", "theme", str)
OPEN = Button("fq", "open", int)
REWORD = Button("fq", "reword", int)
VOLUNTEERS = Button("fq", "vol", int, str)  # on / off
SHARE = Button("fq", "share", int)
SHARE_WITH = Button("fq", "with", int, int)  # helper id, 0 for nobody
DONE = Button("fq", "done", int)
DONE_YES = Button("fq", "doneyes", int)
KEEP_FIRST = Button("fq", "keep")
AGAIN = Button("fq", "again")


@dataclass
class QuestionDraft(Draft):
    """The question being named (question 0) or reworded, and words that were too long."""

    question: int = 0
    theme: str = Theme.OWN.value
    long_text: str = ""


def _short(text: str, size: int = 40) -> str:
    """A question's first words, for a button."""
    return text if len(text) <= size else text[: size - 1].rstrip() + "…"


def list_text(questions: list[FamilyQuestion], help_lines: dict[int, list[service.HelpLine]]) -> str:
    """The family's questions with their state and what is being done about each."""
    lines = [_("<b>Your questions</b>"), _("What would you like to change? Your words lead, and you decide who helps.")]
    for number, question in enumerate(questions, start=1):
        assert question.id is not None
        state = _(service.STATE_LABELS.get(question.state, question.state))
        lines.append("")
        lines.append(
            _("{number}. <i>{question}</i> ({state})").format(number=number, question=h(question.text), state=h(state))
        )
        for line in help_lines.get(question.id, []):
            lines.append("   " + _("Help: {help}").format(help=line.label))
        if question.state == QuestionState.ACTIVE and not help_lines.get(question.id):
            lines.append("   " + _("No help linked yet: your coordinator will talk it through with you."))
    if not questions:
        lines += ["", _("You have not named a question yet.")]
    return "\n".join(lines)


async def show_questions(update: Update, context: BotContext) -> None:
    """The family's questions, each with a button to open it, and 'Add a question'."""
    person = context.person
    if person is None or person.role != Role.FAMILY:
        await reply(update, _("This is for families. Send /menu to see what you can do."))
        return
    with context.session() as session:
        questions, lines = service.family_list(session=session, person=person)
    rows = [
        [(f"{number}. {_short(q.text)}", OPEN.data(q.id))]
        for number, q in enumerate(questions, start=1)
        if q.id is not None and q.state == QuestionState.ACTIVE
    ]
    rows.append([(_("➕ Add a question"), ADD.data())])
    await reply(update, list_text(questions, lines), keyboard(rows))


async def on_list(update: Update, context: BotContext) -> None:
    """'◀ My questions'."""
    await answer_button(update)
    await show_questions(update, context)


def question_view(question: FamilyQuestion, helper_name: str | None, help_lines: list[service.HelpLine]) -> str:
    """One question: the words, what is being done, and who may help."""
    lines = [_("<i>{question}</i>").format(question=h(question.text))]
    lines += [_("Help: {help}").format(help=line.label) for line in help_lines]
    lines.append(
        _("Volunteers may help with this: yes.")
        if question.volunteers_may_help
        else _("Volunteers may help with this: no.")
    )
    if helper_name is not None:
        lines.append(_("{name} may read this question.").format(name=hi(helper_name)))
    else:
        lines.append(_("No helper reads this question; only your coordinators do."))
    return "\n".join(lines)


async def open_question(update: Update, context: BotContext) -> None:
    """A question's own view, with what the family can change about it."""
    parsed = tapped_values(update, OPEN)
    with context.session() as session:
        found = service.details(session=session, person=context.person, question_id=parsed[0]) if parsed else None
    if found is None or found.question.id is None:
        await answer_stale(update)
        return
    await answer_button(update)
    question = found.question
    qid = question.id
    flip = "off" if question.volunteers_may_help else "on"
    rows = [
        [(_("✏️ Put it in other words"), REWORD.data(qid))],
        [
            (
                _("🙋 Volunteers may help: turn off")
                if question.volunteers_may_help
                else _("🙋 Volunteers may help: turn on"),
                VOLUNTEERS.data(qid, flip),
            )
        ],
        [(_("👤 Choose who may read it"), SHARE.data(qid))],
        [(_("✔️ No longer needed"), DONE.data(qid))],
        [(_("◀ My questions"), LIST.data())],
    ]
    await reply(update, question_view(question, found.helper_name, found.help), keyboard(rows))


async def toggle_volunteers(update: Update, context: BotContext) -> None:
    """Volunteers may (or may no longer) help with this question."""

    def change(session: Session, values: tuple[Any, ...]) -> FamilyQuestion | None:
        """Set whether volunteers may help, for an 'on' or 'off' button."""
        if values[1] not in ("on", "off"):
            return None
        return service.set_sharing(
            session=session,
            person=context.person,
            question_id=values[0],
            now=context.now(),
            volunteers_may_help=values[1] == "on",
        )

    changed = await settled_tap(update, context, VOLUNTEERS, change)
    if changed is None:
        return
    if changed.volunteers_may_help:
        await reply(update, _("Saved: volunteers may help with this question."))
    else:
        await reply(update, _("Saved: no volunteer helps with this question, and no helper reads it."))


async def choose_helper(update: Update, context: BotContext) -> None:
    """The helpers the family may let read this question (or nobody)."""
    parsed = tapped_values(update, SHARE)
    with context.session() as session:
        found = service.share_choices(session=session, person=context.person, question_id=parsed[0]) if parsed else None
    if found is None or found[0].id is None:
        await answer_stale(update)
        return
    await answer_button(update)
    question, helpers = found
    rows = [[(name_of(helper), SHARE_WITH.data(question.id, helper.id))] for helper in helpers if helper.id is not None]
    rows.append([(_("Nobody"), SHARE_WITH.data(question.id, 0))])
    text = _("Who may read this question? Only the helper you choose, and your coordinators.")
    if not helpers:
        text += "\n" + _("No helper has helped you yet; once one has, you can choose them here.")
    await reply(update, text, keyboard(rows))


async def share_with(update: Update, context: BotContext) -> None:
    """The family chose a helper (or nobody) for a question."""

    def change(session: Session, values: tuple[Any, ...]) -> FamilyQuestion | None:
        """Let the chosen helper read the question, or nobody for helper 0."""
        return service.set_sharing(
            session=session,
            person=context.person,
            question_id=values[0],
            now=context.now(),
            helper_id=values[1] or None,
            unshare=values[1] == 0,
        )

    parsed = tapped_values(update, SHARE_WITH)
    if await settled_tap(update, context, SHARE_WITH, change) is None:
        return
    if parsed is not None and parsed[1]:
        await reply(update, _("Saved: that helper may read this question now, and has been told."))
    else:
        await reply(update, _("Saved: no helper reads this question."))


async def _open_question(update: Update, context: BotContext, button: Button) -> FamilyQuestion | None:
    """The family's own open question this button is about, its spinner stopped; None, answered as stale, else."""
    parsed = tapped_values(update, button)
    with context.session() as session:
        question = (
            service.own_question(session=session, person=context.person, question_id=parsed[0]) if parsed else None
        )
    if question is None or question.id is None or question.state != QuestionState.ACTIVE:
        await answer_stale(update)
        return None
    await answer_button(update)
    return question


async def ask_done(update: Update, context: BotContext) -> None:
    """'No longer needed': ask to confirm."""
    question = await _open_question(update, context, DONE)
    if question is None:
        return
    assert question.id is not None
    rows = [
        [
            (_("Yes, no longer needed"), DONE_YES.data(question.id)),
            (_("No, it is still needed"), OPEN.data(question.id)),
        ]
    ]
    await reply(update, _("Is <i>{question}</i> no longer needed?").format(question=h(question.text)), keyboard(rows))


async def do_done(update: Update, context: BotContext) -> None:
    """Confirmed: the question ends; the coordinators hear it."""

    def end(session: Session, values: tuple[Any, ...]) -> FamilyQuestion | None:
        """Close the question, telling the coordinators."""
        return service.no_longer_needed(
            session=session, services=context.services, person=context.person, question_id=values[0], now=context.now()
        )

    if await settled_tap(update, context, DONE_YES, end) is None:
        return
    await reply(update, _("Done: that question is closed. Good to hear it is no longer needed!"))


async def on_suggestion(update: Update, context: BotContext) -> None:
    """The family's yes or no to a coordinator's suggested question."""

    def answer(session: Session, values: tuple[Any, ...]) -> FamilyQuestion | None:
        """Accept or decline the suggestion, for a 'yes' or 'no' button."""
        if values[1] not in ("yes", "no"):
            return None
        return service.answer_suggestion(
            session=session,
            services=context.services,
            person=context.person,
            question_id=values[0],
            accept=values[1] == "yes",
            now=context.now(),
        )

    changed = await settled_tap(update, context, SUGGESTION, answer)
    if changed is None:
        return
    if changed.state == QuestionState.ACTIVE:
        await reply(update, _("Added to your questions. You can change or close it any time under 🎯 My questions."))
    else:
        await reply(update, _("All right, it is not added. Your own questions are what count."))


# --- naming and rewording (a dialogue: the words are typed) ---------------------------------------


def suggestion_rows() -> list[list[tuple[str, str]]]:
    """The plain suggestions, and 'In my own words'."""
    rows = [[(service.theme_label(theme), THEME.data(theme.value))] for theme in rules.SUGGESTED_THEMES]
    rows.append([(_("✍️ In my own words"), THEME.data(Theme.OWN.value))])
    return rows


async def start_adding(update: Update, context: BotContext) -> str | None:
    """'Add a question': a few plain suggestions, or the family's own words."""
    await answer_button(update)
    draft_of(context, QuestionDraft).question = 0
    await reply(
        update, _("What would you like help with? Pick one, or say it in your own words."), keyboard(suggestion_rows())
    )
    return WORDS


async def start_reword(update: Update, context: BotContext) -> str | None:
    """'Put it in other words': the new words are typed."""
    question = await _open_question(update, context, REWORD)
    if question is None:
        return END
    assert question.id is not None
    draft = draft_of(context, QuestionDraft)
    draft.question, draft.theme = question.id, question.theme
    await reply(
        update,
        _("Write the question in the words you like (at most {count} characters).").format(
            count=rules.MAX_QUESTION_CHARS
        ),
    )
    return WORDS


async def pick_theme(update: Update, context: BotContext) -> str | None:
    """A suggestion tapped (saved at once), or 'In my own words' (then typed)."""
    parsed = tapped_values(update, THEME)
    if parsed is None or parsed[0] not in Theme.__members__.values():
        await answer_stale(update)
        return STAY
    await answer_button(update)
    await retire_buttons(update)
    if parsed[0] == Theme.OWN:
        await reply(
            update,
            _("Write it in your own words, in a sentence or two (at most {count} characters).").format(
                count=rules.MAX_QUESTION_CHARS
            ),
        )
        return STAY
    return await _save(update, context, None, parsed[0])


async def words_typed(update: Update, context: BotContext) -> str | None:
    """The question's words: saved, or a kind answer about what to change."""
    message = update.effective_message
    draft = draft_of(context, QuestionDraft)
    return await _save(
        update, context, message.text if message else "", Theme.OWN.value if not draft.question else draft.theme
    )


async def _save(update: Update, context: BotContext, text: str | None, theme: str) -> str | None:
    """Name or reword the question; a too long one is kept in the draft with a way forward."""
    draft = draft_of(context, QuestionDraft)
    with context.session() as session:
        if draft.question:
            named = service.reword(
                session=session, person=context.person, question_id=draft.question, text=text, now=context.now()
            )
        else:
            named = service.name_question(
                session=session,
                services=context.services,
                person=context.person,
                text=text,
                theme=theme,
                now=context.now(),
            )
    if named.outcome == Saved.EMPTY:
        await reply(
            update, _("I could not find a question in that. Write in a few words what you would like to change.")
        )
        return STAY
    if named.outcome == Saved.TOO_LONG:
        draft.long_text = text or ""
        rows = [[(_("Keep the first part"), KEEP_FIRST.data()), (_("I will write it shorter"), AGAIN.data())]]
        await reply(
            update,
            _("That is a lot for one question (at most {count} characters). I kept what you wrote.").format(
                count=rules.MAX_QUESTION_CHARS
            )
            + "\n"
            + _(
                "Shall I keep the first part, or do you write it shorter? Your coordinator can hear the rest from you."
            ),
            keyboard(rows),
        )
        return STAY
    if named.outcome == Saved.TOO_MANY:
        await reply(
            update,
            _("You already have {count} open questions. Close one first under 🎯 My questions.").format(
                count=service.MAX_OPEN_QUESTIONS
            ),
        )
        return END
    if named.outcome == Saved.REFUSED:
        await reply(update, _("This question can no longer be changed. Send /menu for the current options."))
        return END
    await reply(
        update,
        _(
            "Saved: <i>{question}</i>\nYour coordinators can read it; you decide whether volunteers help with it."
        ).format(question=h(named.question.text if named.question else "")),
        keyboard([[(_("🎯 My questions"), LIST.data())]]),
    )
    return END


async def keep_first(update: Update, context: BotContext) -> str | None:
    """'Keep the first part' of words that were too long."""
    draft = draft_of(context, QuestionDraft)
    if not draft.long_text:
        await answer_stale(update)
        return STAY
    await answer_button(update)
    await retire_buttons(update)
    return await _save(
        update, context, rules.shortened(draft.long_text), draft.theme if draft.question else Theme.OWN.value
    )


async def write_again(update: Update, context: BotContext) -> str | None:
    """'I will write it shorter'."""
    await close_tap(update, _("Go ahead: at most {count} characters.").format(count=rules.MAX_QUESTION_CHARS))
    return STAY


async def words_unexpected(update: Update, context: BotContext) -> str | None:
    """Anything but text while waiting for the words."""
    await reply(update, _("Please write the question as text.") + "\n" + _("/cancel stops whatever you are doing."))
    return STAY


# --- registration ---------------------------------------------------------------------------------


def build() -> list[BaseHandler[Any, Any, Any]]:
    """The buttons of 'My questions' that work at any time."""
    return [
        CallbackQueryHandler(on_list, pattern=LIST.pattern),
        CallbackQueryHandler(open_question, pattern=OPEN.pattern),
        CallbackQueryHandler(toggle_volunteers, pattern=VOLUNTEERS.pattern),
        CallbackQueryHandler(choose_helper, pattern=SHARE.pattern),
        CallbackQueryHandler(share_with, pattern=SHARE_WITH.pattern),
        CallbackQueryHandler(ask_done, pattern=DONE.pattern),
        CallbackQueryHandler(do_done, pattern=DONE_YES.pattern),
        CallbackQueryHandler(on_suggestion, pattern=SUGGESTION.pattern),
    ]


def build_dialogue() -> Dialogue:
    """Naming or rewording a question (registered with the dialogue router)."""
    return Dialogue(
        name=DIALOGUE,
        entry_points=[
            CallbackQueryHandler(start_adding, pattern=ADD.pattern),
            CallbackQueryHandler(start_reword, pattern=REWORD.pattern),
        ],
        states={
            WORDS: [
                CallbackQueryHandler(pick_theme, pattern=THEME.pattern),
                CallbackQueryHandler(keep_first, pattern=KEEP_FIRST.pattern),
                CallbackQueryHandler(write_again, pattern=AGAIN.pattern),
                *typed_words(words_typed, words_unexpected),
            ]
        },
        draft=QuestionDraft,
    )


def register_menu() -> None:
    """The family's menu entry."""
    menu.add("myq", N_("🎯 My questions"), {str(Role.FAMILY)}, show_questions)
