"""The last step of the /match proposal dialogue: the whole proposal (or the change to a running match) shown,
an adult of the support household added, then sent to `services.match_proposals.propose` (or saved by
`services.match_management.adjust`), which checks everything again. The earlier steps are in
`conversations.match_proposals`.
"""

from __future__ import annotations

from datetime import date

from telegram import Update

from conversations.context import BotContext
from conversations.dialogue import END, draft_of
from conversations.match_common import ask_household_member
from conversations.match_draft import (
    CONFIRM,
    DROP,
    HOUSEHOLD,
    HOUSEHOLD_PAGE,
    HOUSEHOLD_PICK,
    SEND,
    MatchDraft,
    draft_rhythm,
    stale,
)
from conversations.rights import refuse
from conversations.ui import answer_button, answer_stale, close_tap, keyboard, reply, retire_buttons, tapped_values
from services import match_household as household
from services import match_management as management
from services import match_proposals as proposals
from services.i18n import _, format_day, h, hi
from services.labels import name_of
from services.match_texts import kind_label


def _proposal(draft: MatchDraft, context: BotContext) -> proposals.Proposal:
    """The draft as the service's Proposal, checked again when it is sent."""
    return proposals.Proposal(
        family_id=draft.family_id,
        helper_id=draft.helper_id,
        kind=draft.kind,
        rhythm=draft_rhythm(draft, context),
        trial_end=date.fromisoformat(draft.trial_end),
        reviews=tuple(date.fromisoformat(day) for day in draft.reviews),
        members=tuple(draft.members),
    )


async def confirm(update: Update, context: BotContext) -> str | None:
    """The whole proposal with 'Send' and 'Cancel'; the CONFIRM step."""
    draft = draft_of(context, MatchDraft)
    language = context.person.language if context.person else "en"
    with context.session() as session:
        family, helper = proposals.proposal_sides(session=session, family_id=draft.family_id, helper_id=draft.helper_id)
        adults = proposals.member_names(session=session, person_ids=draft.members)
    if draft.adjust_match:
        reviews = ", ".join(format_day(date.fromisoformat(day), language) for day in draft.reviews)
        lines = [
            _("<b>The change</b>"),
            _("Family: {name}").format(name=hi(name_of(family))),
            _("Helper: {name}").format(name=hi(name_of(helper))),
            _("From now on: {rhythm}").format(
                rhythm=h(proposals.describe_rhythm(draft_rhythm(draft, context), language))
            ),
            _("New review dates: {days}").format(days=h(reviews or _("none for now"))),
            _("Both sides are told what changed; the times of the old rhythm are taken off."),
        ]
        rows = [[(_("✅ Save the change"), SEND.data()), (_("✖️ Cancel"), DROP.data())]]
        await reply(update, "\n".join(lines), keyboard(rows))
        return CONFIRM
    lines = [
        _("<b>The proposal</b>"),
        _("Family: {name}").format(name=hi(name_of(family))),
        _("Helper: {name}").format(name=hi(name_of(helper))),
        _("Kind of help: {kind}").format(kind=h(kind_label(draft.kind))),
        _("When: {rhythm}").format(rhythm=h(proposals.describe_rhythm(draft_rhythm(draft, context), language))),
        _("Trial until: {day}").format(day=h(format_day(date.fromisoformat(draft.trial_end), language))),
    ]
    if draft.members:
        listed = ", ".join(hi(name) for name in adults)
        lines.append(_("Also in the support household: {names}").format(names=listed))
    lines.append(_("Both sides are asked to agree; nothing starts before that."))
    rows = [
        [(_("👥 Add an adult of the support household"), HOUSEHOLD.data())],
        [(_("✅ Send the proposal"), SEND.data()), (_("✖️ Cancel"), DROP.data())],
    ]
    await reply(update, "\n".join(lines), keyboard(rows))
    return CONFIRM


PROBLEM_TEXTS = {
    proposals.ProposalProblem.NO_FAMILY: lambda: _("That family can no longer be chosen."),
    proposals.ProposalProblem.NO_HELPER: lambda: _("That helper is not an approved volunteer (any more)."),
    proposals.ProposalProblem.NO_VOG: lambda: _(
        "This help involves children: the helper needs a valid VOG and approval for tasks with children."
    ),
    proposals.ProposalProblem.ALREADY: lambda: _("These two already have an open match."),
    proposals.ProposalProblem.NO_MEMBER: lambda: _(
        "An adult of the household is not an approved volunteer (any more)."
    ),
    proposals.ProposalProblem.RHYTHM: lambda: _(
        "The days or times do not fit together. Please start again with /match."
    ),
}


async def send(update: Update, context: BotContext) -> str | None:
    """'Send the proposal': checked again and stored; both sides are asked."""
    draft = draft_of(context, MatchDraft)
    if not (draft.family_id and draft.helper_id and draft.kind and draft.first and draft.trial_end):
        return await stale(update)
    if draft.adjust_match:
        return await _save_adjustment(update, context, draft)
    with context.session() as session:
        proposed = proposals.propose(
            session=session,
            services=context.services,
            coordinator=context.person,
            proposal=_proposal(draft, context),
            now=context.now(),
        )
    if proposed.decision is not None and not proposed.decision:
        await refuse(update, proposed.decision)
        return END
    await close_tap(update)
    if proposed.problem is not None:
        await reply(update, PROBLEM_TEXTS[proposed.problem]())
        return END
    await reply(update, _("✅ Proposal sent to both sides. You hear when they answer. /match shows all matches."))
    return END


async def _save_adjustment(update: Update, context: BotContext, draft: MatchDraft) -> str | None:
    """'Save the change': the new rhythm and review dates, checked again; the match's card."""
    with context.session() as session:
        card = management.adjust(
            session=session,
            services=context.services,
            coordinator=context.person,
            match_id=draft.adjust_match,
            rhythm=draft_rhythm(draft, context),
            reviews=[date.fromisoformat(day) for day in draft.reviews],
            now=context.now(),
        )
    if card.stale:
        await answer_stale(update)
        return END
    await close_tap(update)
    if card.note is not None:
        await reply(update, h(card.note))
        return END
    await reply(update, _("🔧 Saved. Both sides are told what changed."))
    await reply(update, card.text, keyboard(card.rows))
    return END


async def ask_household(update: Update, context: BotContext) -> str | None:
    """'Add an adult of the support household' before sending: the first page of approved volunteers."""
    return await _household_page(update, context, 0)


async def turn_household_page(update: Update, context: BotContext) -> str | None:
    """The pager under the household list of the proposal: another page, the rights checked again."""
    parsed = tapped_values(update, HOUSEHOLD_PAGE)
    if parsed is None:
        return await stale(update)
    return await _household_page(update, context, parsed[0])


async def _household_page(update: Update, context: BotContext, page: int) -> str | None:
    """One page of approved volunteers who could join the helper's household (never the helper or those in it)."""
    draft = draft_of(context, MatchDraft)
    if not draft.family_id or not draft.helper_id or draft.adjust_match:
        return await stale(update)
    with context.session() as session:
        found = household.member_options(
            session=session,
            coordinator=context.person,
            family_id=draft.family_id,
            exclude=[draft.helper_id, *draft.members],
            page=page,
            now=context.now(),
        )
    if found is not None and not found.options and found.page > 0:  # past the end: the list changed meanwhile
        return await stale(update)
    await answer_button(update)
    if found is None:
        await reply(update, _("That family can no longer be chosen."))
        return END
    if not found.options:
        await reply(update, _("There are no approved volunteers yet."))
        return CONFIRM
    await retire_buttons(update, show_choice=False)
    await ask_household_member(update, found, HOUSEHOLD_PICK.data, HOUSEHOLD_PAGE.data)
    return CONFIRM


async def picked_household(update: Update, context: BotContext) -> str | None:
    """An adult of the household chosen (checked again when the proposal is sent): the proposal again."""
    parsed = tapped_values(update, HOUSEHOLD_PICK)
    draft = draft_of(context, MatchDraft)
    if parsed is None or not draft.family_id or draft.adjust_match:
        return await stale(update)
    if parsed[0] not in draft.members and parsed[0] != draft.helper_id:
        draft.members = [*draft.members, parsed[0]]
    await close_tap(update)
    return await confirm(update, context)


async def drop(update: Update, context: BotContext) -> str | None:
    """'Cancel' at the end: nothing is sent."""
    await close_tap(update, _("Nothing was sent."))
    return END
