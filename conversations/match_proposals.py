"""The coordinator's dialogue that proposes a lasting match, step by step (reached from /match).

It asks, one step each: the family, the helper, the kind of help, the rhythm (weekly, every other week, chosen
weekdays, agreed each time), the first day, the usual time, the trial end and the review dates, then shows the
whole proposal to send (`conversations.match_sending`; the draft and the buttons are in
`conversations.match_draft`). Nothing is stored before "Send": `services.match_proposals.propose` checks
everything again (rights, VOG, rhythm) and asks both sides. The dialogue itself is registered with /match in
`conversations.match_management.build`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable
from datetime import date, timedelta
from typing import Any

from telegram import InlineKeyboardMarkup, Update
from telegram.ext import BaseHandler, CallbackQueryHandler, MessageHandler

from conversations.approvals import parse_date
from conversations.context import BotContext
from conversations.dialogue import ANYTHING, END, STAY, draft_of, typed_words
from conversations.match_draft import (
    CONFIRM,
    DAYS,
    DAYS_DONE,
    DROP,
    FAMILY,
    FAMILY_PAGE,
    FIRST,
    HELPER,
    HELPER_PAGE,
    HOUSEHOLD,
    HOUSEHOLD_PAGE,
    HOUSEHOLD_PICK,
    KIND,
    PICK_FAMILY,
    PICK_HELPER,
    PICK_KIND,
    PICK_RHYTHM,
    REVIEW_MONTHS,
    REVIEWS,
    RHYTHM,
    SEND,
    TOGGLE_DAY,
    TRIAL,
    TRIAL_WEEKS,
    WINDOW,
    MatchDraft,
    draft_rhythm,
    stale,
)
from conversations.match_sending import ask_household, confirm, drop, picked_household, send, turn_household_page
from conversations.rights import refuse
from conversations.ui import (
    CHECKED,
    UNCHECKED,
    answer_button,
    answer_stale,
    close_tap,
    column,
    keyboard,
    not_understood,
    page_of,
    pager_row,
    reply,
    retire_buttons,
    tapped_values,
    typed_text,
)
from domain import matches as rules
from domain.matches import RhythmKind, RhythmProblem
from domain.times import parse_window
from services import approvals, pairs
from services import match_management as management
from services.callbacks import Button
from services.i18n import _, ngettext
from services.labels import name_of
from services.match_management import is_coordinator, may_manage
from services.match_texts import MATCH_KINDS, RHYTHM_LABELS, kind_label, weekday_names

PAGE = 10


def _coordinator(context: BotContext) -> bool:
    """Whether the person writing is a coordinator who may propose matches."""
    return is_coordinator(context.person)


def _families(context: BotContext) -> list[tuple[str, int]]:
    """The families this coordinator sees, as (label, id), for the first step."""
    with context.session() as session:
        assert context.person is not None
        families = approvals.visible_families(session=session, coordinator=context.person)
        labels = approvals.family_labels(session=session, families=families, among=families)
    return [(labels.get(family.id or 0, name_of(family)), family.id or 0) for family in families]


async def start_proposal(update: Update, context: BotContext) -> str | None:
    """'Propose a match': which family?"""
    if not _coordinator(context):
        await answer_stale(update)
        return END
    context.draft = MatchDraft()
    await answer_button(update)
    return await _family_page(update, context, 0)


async def _family_page(update: Update, context: BotContext, page: int) -> str | None:
    """One page of families to choose from, with a pager; the FAMILY step."""
    options = _families(context)
    if not options:
        await reply(update, _("You have no families to propose a match for."))
        return END
    shown, page, more = page_of(options, page, PAGE)
    markup = _paged(shown, PICK_FAMILY, page, more, FAMILY_PAGE)
    await reply(update, _("Which family is the match for? (Send /cancel to stop.)"), markup)
    return FAMILY


def _paged(options: list[tuple[str, int]], pick: Button, page: int, more: bool, turn: Button) -> InlineKeyboardMarkup:
    """One page of (label, id) options, one a row, each picked with `pick`; the pager under them turns with `turn`."""
    rows = [[(label, pick.data(option_id))] for label, option_id in options]
    pager = pager_row(page, more, turn.data)
    return keyboard(rows + ([pager] if pager else []))


def _page_turner(turn: Button, show: Callable[[Update, BotContext, int], Awaitable[str | None]]) -> Any:
    """A handler for the pager under a list of options: `show` the page it turns to."""

    async def handler(update: Update, context: BotContext) -> str | None:
        """The pager under the families or the helpers: another page."""
        parsed = tapped_values(update, turn)
        if parsed is None:
            return await stale(update)
        await answer_button(update)
        await retire_buttons(update, show_choice=False)
        return await show(update, context, parsed[0])

    return handler


async def picked_family(update: Update, context: BotContext) -> str | None:
    """The family: rights checked now; which helper?"""
    parsed = tapped_values(update, PICK_FAMILY)
    if parsed is None:
        return await stale(update)
    with context.session() as session:
        decision = may_manage(session=session, coordinator=context.person, family_id=parsed[0], now=context.now())
    if not decision:
        await refuse(update, decision)
        return END
    draft_of(context, MatchDraft).family_id = parsed[0]
    await close_tap(update)
    return await _helper_page(update, context, 0)


async def _helper_page(update: Update, context: BotContext, page: int) -> str | None:
    """One page of approved helpers for the chosen family (nearby first); the HELPER step."""
    draft = draft_of(context, MatchDraft)
    with context.session() as session:
        found = pairs.candidates(
            session=session,
            person=context.person,
            family_id=draft.family_id,
            page=page,
            page_size=PAGE,
            now=context.now(),
        )
    if found is None:
        await reply(update, _("That family can no longer be chosen."))
        return END
    if not found.options:
        await reply(update, _("There are no approved volunteers yet."))
        return END
    markup = _paged(found.options, PICK_HELPER, page, found.more, HELPER_PAGE)
    await reply(update, _("Who is the helper? (Approved volunteers; those nearby first.)"), markup)
    return HELPER


async def picked_helper(update: Update, context: BotContext) -> str | None:
    """The helper: which kind of help?"""
    parsed = tapped_values(update, PICK_HELPER)
    if parsed is None:
        return await stale(update)
    draft_of(context, MatchDraft).helper_id = parsed[0]
    kinds = column([(kind_label(kind), PICK_KIND.data(kind)) for kind in MATCH_KINDS])
    await close_tap(update, _("What kind of help is the match for?"), kinds)
    return KIND


async def picked_kind(update: Update, context: BotContext) -> str | None:
    """The kind of help: how often do they meet?"""
    parsed = tapped_values(update, PICK_KIND)
    if parsed is None or parsed[0] not in MATCH_KINDS:
        return await stale(update)
    draft_of(context, MatchDraft).kind = parsed[0]
    await close_tap(update, _("How often do they meet?"), _rhythms())
    return RHYTHM


async def picked_rhythm(update: Update, context: BotContext) -> str | None:
    """The rhythm: which weekdays (for chosen weekdays), else the first day."""
    parsed = tapped_values(update, PICK_RHYTHM)
    if parsed is None or parsed[0] not in {kind.value for kind in RhythmKind}:
        return await stale(update)
    draft = draft_of(context, MatchDraft)
    draft.rhythm = parsed[0]
    await close_tap(update)
    if draft.rhythm == RhythmKind.WEEKDAYS:
        await reply(update, _("On which weekdays?"), _days_keyboard(draft, context))
        return DAYS
    return await _ask_first(update)


def _rhythms() -> InlineKeyboardMarkup:
    """The rhythms to choose from, one a row."""
    return column([(_(label), PICK_RHYTHM.data(kind.value)) for kind, label in RHYTHM_LABELS.items()])


def _days_keyboard(draft: MatchDraft, context: BotContext) -> Any:
    """The seven weekdays to tick (in the coordinator's language) and 'Done'."""
    language = context.person.language if context.person else "en"
    rows = [
        [
            (
                (CHECKED if day in draft.weekdays else UNCHECKED) + weekday_names({day}, language),
                TOGGLE_DAY.data(day),
            )
        ]
        for day in range(7)
    ]
    rows.append([(_("Done"), DAYS_DONE.data())])
    return keyboard(rows)


async def toggled_day(update: Update, context: BotContext) -> str | None:
    """A weekday ticked or unticked: the same keyboard, updated."""
    parsed = tapped_values(update, TOGGLE_DAY)
    if parsed is None or not 0 <= parsed[0] <= 6:
        return await stale(update)
    draft = draft_of(context, MatchDraft)
    draft.weekdays = sorted(set(draft.weekdays) ^ {parsed[0]})
    await answer_button(update)
    query = update.callback_query
    if query is not None and query.message is not None:
        with contextlib.suppress(Exception):  # the same keyboard again after a double tap
            await query.edit_message_reply_markup(reply_markup=_days_keyboard(draft, context))
    return DAYS


async def days_done(update: Update, context: BotContext) -> str | None:
    """'Done' with the weekdays: at least one, then the first day."""
    if not draft_of(context, MatchDraft).weekdays:
        await answer_button(update, _("Choose at least one weekday."))
        return DAYS
    await close_tap(update)
    return await _ask_first(update)


async def _ask_first(update: Update) -> str | None:
    """Ask for the day of the first time; the FIRST step."""
    await reply(update, _("On which day is the first time? Type a date, such as 12-12-2026."))
    return FIRST


async def typed_first(update: Update, context: BotContext) -> str | None:
    """The first day, typed (from today, at most half a year ahead): the usual time?"""
    day = parse_date(typed_text(update))
    today = rules.local_day(context.now(), context.services.settings.timezone)
    if day is None or day < today or day > today + timedelta(days=180):
        await reply(update, _("Please type a day from today on, such as 12-12-2026."))
        return STAY
    draft = draft_of(context, MatchDraft)
    draft.first = day.isoformat()
    await reply(
        update,
        _("At what time do they usually meet? Type a time window, such as 14:00-17:00 (a sleepover: 15:00-11:00)."),
    )
    return WINDOW


async def typed_window(update: Update, context: BotContext) -> str | None:
    """The usual time window, typed (at most 36 hours): when does the trial end?"""
    window = parse_window(typed_text(update))
    minutes = window.minutes if window is not None else None
    if window is None or minutes is None or not 0 < minutes <= rules.LONGEST_WINDOW.total_seconds() // 60:
        await reply(update, _("Please type a start and an end, such as 14:00-17:00 (at most 36 hours)."))
        return STAY
    draft = draft_of(context, MatchDraft)
    draft.start, draft.minutes = window.start.strftime("%H:%M"), minutes
    if draft.adjust_match:
        # The trial end of a running match stays; only the review dates may change with the rhythm.
        return await _ask_reviews(update)
    lengths = [(ngettext("{count} week", "{count} weeks", weeks).format(count=weeks), weeks) for weeks in (4, 6, 8)]
    rows = [[(label, TRIAL_WEEKS.data(weeks)) for label, weeks in lengths]]
    await reply(update, _("When does the trial end? Tap a length, or type a date."), keyboard(rows))
    return TRIAL


async def _set_trial(update: Update, context: BotContext, day: date) -> str | None:
    """Keep the trial end if it is after the first time and within four months, then ask for review dates."""
    draft = draft_of(context, MatchDraft)
    problems = rules.rhythm_problems(
        draft_rhythm(draft, context), trial_end=day, reviews=[], today=rules.local_day(context.now())
    )
    if RhythmProblem.TRIAL_IN_PAST in problems or RhythmProblem.TRIAL_TOO_LONG in problems:
        await reply(
            update, _("The trial must end after the first time and within four months. Please type another date.")
        )
        return STAY
    draft.trial_end = day.isoformat()
    return await _ask_reviews(update)


async def _ask_reviews(update: Update) -> str | None:
    """Ask for the review dates; the REVIEWS step."""
    rows = [
        [(_("One review 3 months after the trial"), REVIEW_MONTHS.data(3))],
        [(_("No review dates for now"), REVIEW_MONTHS.data(0))],
    ]
    await reply(update, _("Review dates after the trial? Tap one, or type dates separated by commas."), keyboard(rows))
    return REVIEWS


def _reviews_after(draft: MatchDraft, context: BotContext) -> date:
    """The day review dates must come after: the trial end (a running match past its trial: today)."""
    trial = date.fromisoformat(draft.trial_end)
    if draft.adjust_match and not draft.in_trial:
        return max(trial, rules.local_day(context.now(), context.services.settings.timezone))
    return trial


async def picked_trial(update: Update, context: BotContext) -> str | None:
    """A trial length tapped (4, 6 or 8 weeks from the first day)."""
    parsed = tapped_values(update, TRIAL_WEEKS)
    draft = draft_of(context, MatchDraft)
    if parsed is None or parsed[0] not in (4, 6, 8) or not draft.first:
        return await stale(update)
    await close_tap(update)
    return await _set_trial(update, context, date.fromisoformat(draft.first) + timedelta(weeks=parsed[0]))


async def typed_trial(update: Update, context: BotContext) -> str | None:
    """A trial end typed as a date."""
    day = parse_date(typed_text(update))
    if day is None:
        await reply(update, _("Please type a date, such as 30-1-2027."))
        return STAY
    return await _set_trial(update, context, day)


async def _set_reviews(update: Update, context: BotContext, days: list[date]) -> str | None:
    """Keep the review dates if they come after the trial, then show the whole proposal."""
    draft = draft_of(context, MatchDraft)
    trial = _reviews_after(draft, context)
    if any(day <= trial for day in days):
        await reply(update, _("Review dates come after the trial end. Please type them again."))
        return STAY
    draft.reviews = [day.isoformat() for day in sorted(set(days))]
    return await confirm(update, context)


async def picked_reviews(update: Update, context: BotContext) -> str | None:
    """A review choice tapped: one review three months after the trial, or none for now."""
    parsed = tapped_values(update, REVIEW_MONTHS)
    draft = draft_of(context, MatchDraft)
    if parsed is None or parsed[0] not in (0, 3) or not draft.trial_end:
        return await stale(update)
    await close_tap(update)
    days = [_reviews_after(draft, context) + timedelta(days=91)] if parsed[0] else []
    return await _set_reviews(update, context, days)


async def typed_reviews(update: Update, context: BotContext) -> str | None:
    """Review dates typed, separated by commas."""
    days = [parse_date(part) for part in typed_text(update).split(",")]
    if not days or any(day is None for day in days):
        await reply(update, _("Please type dates such as 1-4-2027, 1-7-2027."))
        return STAY
    return await _set_reviews(update, context, [day for day in days if day is not None])


async def start_adjusting(update: Update, context: BotContext, start: management.AdjustStart) -> str | None:
    """The adjusting dialogue begins: the draft holds the match; how often do they meet from now on?"""
    assert start.trial_end is not None
    context.draft = MatchDraft(
        family_id=start.family_id,
        helper_id=start.helper_id,
        kind=start.kind,
        trial_end=start.trial_end.isoformat(),
        adjust_match=start.match_id,
        in_trial=start.in_trial,
    )
    await reply(update, _("How often do they meet from now on? (Send /cancel to stop.)"), _rhythms())
    return RHYTHM


async def other_input(update: Update, context: BotContext) -> str | None:
    """Anything this step does not expect: a kind 'not understood', and stay."""
    await not_understood(update)
    return STAY


def proposal_states() -> dict[str, list[BaseHandler[Any, Any, Any]]]:
    """The proposal's steps in the /match dialogue: each state's buttons, then typed words or anything else."""
    anything = MessageHandler(ANYTHING, other_input)
    return {
        FAMILY: [
            CallbackQueryHandler(picked_family, pattern=PICK_FAMILY.pattern),
            CallbackQueryHandler(_page_turner(FAMILY_PAGE, _family_page), pattern=FAMILY_PAGE.pattern),
            anything,
        ],
        HELPER: [
            CallbackQueryHandler(picked_helper, pattern=PICK_HELPER.pattern),
            CallbackQueryHandler(_page_turner(HELPER_PAGE, _helper_page), pattern=HELPER_PAGE.pattern),
            anything,
        ],
        KIND: [CallbackQueryHandler(picked_kind, pattern=PICK_KIND.pattern), anything],
        RHYTHM: [CallbackQueryHandler(picked_rhythm, pattern=PICK_RHYTHM.pattern), anything],
        DAYS: [
            CallbackQueryHandler(toggled_day, pattern=TOGGLE_DAY.pattern),
            CallbackQueryHandler(days_done, pattern=DAYS_DONE.pattern),
            anything,
        ],
        FIRST: typed_words(typed_first, other_input),
        WINDOW: typed_words(typed_window, other_input),
        TRIAL: [
            CallbackQueryHandler(picked_trial, pattern=TRIAL_WEEKS.pattern),
            *typed_words(typed_trial, other_input),
        ],
        REVIEWS: [
            CallbackQueryHandler(picked_reviews, pattern=REVIEW_MONTHS.pattern),
            *typed_words(typed_reviews, other_input),
        ],
        CONFIRM: [
            CallbackQueryHandler(send, pattern=SEND.pattern),
            CallbackQueryHandler(ask_household, pattern=HOUSEHOLD.pattern),
            CallbackQueryHandler(picked_household, pattern=HOUSEHOLD_PICK.pattern),
            CallbackQueryHandler(turn_household_page, pattern=HOUSEHOLD_PAGE.pattern),
            CallbackQueryHandler(drop, pattern=DROP.pattern),
            anything,
        ],
    }
