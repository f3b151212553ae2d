"""Coordinators: the volunteers waiting for intake, rejecting one, approving one with the VOG date (a dialogue:
the date is typed), a new VOG date, and the approved volunteers' list. Support pairs, requests nobody took and
asking on a family's behalf are in `conversations.approvals_families`; the rules in `services.approvals`.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import date, datetime
from functools import partial
from typing import Any, Protocol, TypeVar

from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler, MessageHandler

from conversations import menu
from conversations.approvals_families import (
    FAMILY_HANDLERS,
    MAX_BUTTONS,
    ask_for_family,
    not_coordinator,
    page_asked,
    reply_page,
    show_open_requests,
    show_pairs,
)
from conversations.context import BotContext
from conversations.dialogue import ANYTHING, END, STAY, TYPED, Dialogue, Draft, draft_of, private_command
from conversations.ui import (
    answer_button,
    answer_stale,
    close_tap,
    column,
    keyboard,
    not_understood,
    page_of,
    reply,
    retire_buttons,
    tapped_values,
)
from domain import volunteers as volunteer_rules
from services.approvals import (
    APPROVE,
    CHILDREN,
    KEEP,
    MODE_APPROVE,
    MODE_RENEW,
    NO_VOG,
    PAGE,
    REJECT,
    REJECT_YES,
    RENEW,
    Overview,
    approval_start,
    approved_volunteers,
    finish_approval,
    overview,
    reject,
    rejectable,
    vog_counts,
)
from services.callbacks import Button
from services.concerns import name_of
from services.i18n import N_, _, format_day, format_full_day, h, hi
from services.logs import event
from services.request_basics import local_today
from storage.db import Session
from storage.models import Person, Role, VolunteerProfile

T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)

logger = logging.getLogger(__name__)

NAME = "approve"
VOG_DATE = "vog_date"
CHILDREN_STEP = "children"

_DATE = re.compile(r"^\s*(\d{1,2})[-/.](\d{1,2})[-/.](\d{4})\s*$")
_ISO = re.compile(r"^\s*(\d{4})-(\d{1,2})-(\d{1,2})\s*$")


def parse_date(text: str) -> date | None:
    """24-11-2026, 24/11/2026, 24.11.2026 or 2026-11-24."""
    found = _DATE.match(text)
    try:
        if found:
            return date(int(found.group(3)), int(found.group(2)), int(found.group(1)))
        found = _ISO.match(text)
        if found:
            return date(int(found.group(1)), int(found.group(2)), int(found.group(3)))
    except ValueError:
        return None
    return None


# --- volunteers -----------------------------------------------------------------------------------


def _overview_text(view: Overview) -> tuple[list[str], list[list[tuple[str, str]]]]:
    """The /volunteers message: lines, and a row of buttons per volunteer waiting or VOG expiring."""
    language = view.coordinator.language
    rows: list[list[tuple[str, str]]] = []
    lines = [_("<b>Volunteers</b>"), "", _("Waiting for intake:")]
    for waiting in view.waiting:
        person = waiting.person
        marker = _(" (a family)") if waiting.is_family else ""
        lines.append(f"• {hi(name_of(person))}{h(marker)}: {h(waiting.skills or '-')}")
        name = name_of(person)
        rows.append(
            [
                (_("✅ Approve {name}").format(name=name), APPROVE.data(person.id)),
                (_("✖️ Reject {name}").format(name=name), REJECT.data(person.id)),
            ]
        )
    if not view.waiting:
        lines.append(_("Nobody is waiting."))
    if view.expiring:
        lines += ["", _("VOG soon too old for tasks with children:")]
    for person, until in view.expiring:
        day = h(format_day(until, language))
        lines.append(_("• {name}: counts until {day}").format(name=hi(name_of(person)), day=day))
        rows.append([(_("📄 New VOG date: {name}").format(name=name_of(person)), RENEW.data(person.id))])
    lines += [
        "",
        _("Approved: {count}, of whom on a pause: {paused}.").format(count=hi(view.approved), paused=hi(view.paused)),
    ]
    return lines, rows


async def show_volunteers(update: Update, context: BotContext) -> None:
    """Volunteers waiting for intake (approve / reject), and VOGs that will soon stop counting."""
    with context.session() as session:
        view = overview(session=session, services=context.services, person=context.person, now=context.now())
    if view is None:
        await not_coordinator(update)
        return
    lines, rows = _overview_text(view)
    rows = rows[: MAX_BUTTONS - 1]
    if view.approved:
        rows.append([(_("📋 Approved volunteers and their VOG"), PAGE.data("approved", 0))])
    await reply(update, "\n".join(lines), keyboard(rows) if rows else None)


def vog_line(profile: VolunteerProfile, today: date, years: int, language: str) -> str:
    """A volunteer's VOG as a coordinator reads it: its date, whether it still counts, and children or not."""
    if profile.vog_date is None:
        vog = _("no VOG")
    elif volunteer_rules.vog_is_valid(profile.vog_date, today=today, years=years):
        vog = _("VOG of {day}").format(day=h(format_full_day(profile.vog_date, language)))
    else:
        vog = _("VOG of {day}, too old").format(day=h(format_full_day(profile.vog_date, language)))
    children = _("also tasks with children") if profile.children_ok else _("only tasks without children")
    return f"{vog}; {children}"


async def show_approved(update: Update, context: BotContext) -> None:
    """Approved volunteers with their VOG date and whether they may help with children, a page at a time;
    a button each to correct the VOG date (and so clear them for children again)."""
    services = context.services
    today = local_today(services, context.now())
    years = services.settings.vog_valid_years
    with context.session() as session:
        found = approved_volunteers(session=session, person=context.person, now=context.now())
    if found is None:
        await not_coordinator(update)
        return
    coordinator, approved = found
    shown, page, more = page_of(approved, page_asked(update))
    lines = [
        _("<b>Approved volunteers</b>"),
        _("A VOG counts for tasks with children for {count} years.").format(count=hi(years)),
    ]
    rows: list[list[tuple[str, str]]] = []
    for person, profile in shown:
        lines.append(f"• {hi(name_of(person))}: {vog_line(profile, today, years, coordinator.language)}")
        rows.append([(_("📄 VOG date: {name}").format(name=name_of(person)), RENEW.data(person.id))])
    if not approved:
        lines.append(_("Nobody is approved yet."))
    await reply_page(update, "approved", page, more, lines, rows)


class _AboutVolunteer(Protocol[T_co]):
    """A service call about one volunteer, by the coordinator at hand."""

    def __call__(self, *, session: Session, person: Person | None, volunteer_id: int, now: datetime) -> T_co:
        """What the service says or did about this volunteer."""
        ...


def _about_tapped(update: Update, context: BotContext, button: Button, call: _AboutVolunteer[T]) -> T | None:
    """What `call` gives, in one session, for the volunteer the tapped `button` names; None for a stale tap."""
    parsed = tapped_values(update, button)
    if parsed is None:
        return None
    with context.session() as session:
        return call(session=session, person=context.person, volunteer_id=parsed[0], now=context.now())


async def ask_reject(update: Update, context: BotContext) -> None:
    """Reject: ask to confirm."""
    found = _about_tapped(update, context, REJECT, rejectable)
    if found is None:
        await answer_stale(update)
        return
    volunteer, can_reject = found
    if not can_reject:
        await answer_button(update, _("Already rejected."))
        return
    await answer_button(update)
    await reply(
        update,
        _("Reject {name} as a volunteer? They will be told kindly.").format(name=hi(name_of(volunteer))),
        keyboard([[(_("Yes, reject"), REJECT_YES.data(volunteer.id)), (_("No"), KEEP.data(volunteer.id))]]),
    )


async def do_reject(update: Update, context: BotContext) -> None:
    """Confirmed rejection: once, told to the volunteer in their language."""
    name = _about_tapped(update, context, REJECT_YES, reject)
    await retire_buttons(update, show_choice=name is not None)
    if name is None:
        await answer_button(update, _("Already rejected."))
        return
    await answer_button(update)
    await reply(update, _("{name} is rejected and has been told.").format(name=hi(name)))


async def keep(update: Update, context: BotContext) -> None:
    """'No' on a confirmation."""
    await close_tap(update, _("Nothing was changed."))


# --- approving (a dialogue: the VOG date is typed) ------------------------------------------------


@dataclass
class ApprovalDraft(Draft):
    """The approval dialogue's volunteer, mode (approve / renew) and the VOG date typed (ISO), as saved before."""

    volunteer: int = 0
    mode: str = MODE_APPROVE
    vog: str | None = None


async def start_approve(update: Update, context: BotContext) -> str | None:
    """Approve: ask for the VOG date (or none yet)."""
    return await _start(update, context, APPROVE, MODE_APPROVE)


async def start_renew(update: Update, context: BotContext) -> str | None:
    """A new VOG date for an approved volunteer."""
    return await _start(update, context, RENEW, MODE_RENEW)


async def _start(update: Update, context: BotContext, button: Button, mode: str) -> str | None:
    """Check the volunteer can be approved (or renewed) and ask for the VOG date."""
    start = _about_tapped(update, context, button, partial(approval_start, mode=mode))
    if start is None or start.volunteer is None:
        await answer_stale(update)
        return END
    if not start.expected:
        if mode == MODE_APPROVE:
            await answer_button(update, _("Already approved."))
        else:
            await answer_stale(update)
        return END
    await answer_button(update)
    context.draft = ApprovalDraft(volunteer=start.volunteer.id or 0, mode=mode)
    name = hi(name_of(start.volunteer))
    ask = _("What date is on the VOG of {name}? Type it like 24-11-2026.").format(name=name)
    if mode == MODE_APPROVE:
        await reply(
            update,
            _("<b>Approve {name}</b>").format(name=name)
            + "\n"
            + ask
            + "\n"
            + _("No VOG (yet)? Then {name} can only help with tasks without children.").format(name=name),
            column([(_("No VOG yet"), NO_VOG.data())]),
        )
    else:
        await reply(update, ask)
    return VOG_DATE


async def no_vog(update: Update, context: BotContext) -> str | None:
    """'No VOG yet' (approving only): approved for tasks without children."""
    if tapped_values(update, NO_VOG) is None or draft_of(context, ApprovalDraft).mode != MODE_APPROVE:
        await answer_stale(update)
        return STAY
    await answer_button(update)
    await retire_buttons(update)
    return await _vog_chosen(update, context, None)


async def vog_typed(update: Update, context: BotContext) -> str | None:
    """The VOG date typed: never in the future; too old means no children."""
    message = update.effective_message
    vog = parse_date(message.text or "") if message else None
    if vog is None:
        await reply(update, _("Please type the date like 24-11-2026."))
        return STAY
    if vog > local_today(context.services, context.now()):
        await reply(update, _("That date is in the future. Please check it and type it again."))
        return STAY
    return await _vog_chosen(update, context, vog)


async def _vog_chosen(update: Update, context: BotContext, vog: date | None) -> str | None:
    """With a VOG that counts, ask about children; otherwise finish (without children)."""
    draft_of(context, ApprovalDraft).vog = vog.isoformat() if vog else None
    if not vog_counts(vog, context.services, context.now()):
        return await finish(update, context, for_children=False)
    await reply(
        update,
        _("May they also help with tasks with children, such as babysitting and homework help?"),
        column(
            [
                (_("Yes, also with children"), CHILDREN.data("yes")),
                (_("Only tasks without children"), CHILDREN.data("no")),
            ]
        ),
    )
    return CHILDREN_STEP


async def children_chosen(update: Update, context: BotContext) -> str | None:
    """Whether the approval covers tasks with children (only with a VOG that counts)."""
    parsed = tapped_values(update, CHILDREN)
    if parsed is None or parsed[0] not in ("yes", "no"):
        await not_understood(update)
        return STAY
    await answer_button(update)
    await retire_buttons(update)
    return await finish(update, context, for_children=parsed[0] == "yes")


async def finish(update: Update, context: BotContext, *, for_children: bool) -> str | None:
    """Approve (or save the new VOG date) and say what the approval covers, and why not children."""
    draft = draft_of(context, ApprovalDraft)
    vog = date.fromisoformat(draft.vog) if draft.vog else None
    with context.session() as session:
        result = finish_approval(
            session=session,
            services=context.services,
            person=context.person,
            volunteer_id=draft.volunteer,
            mode=draft.mode,
            vog=vog,
            for_children=for_children,
            now=context.now(),
        )
    if result.problem == "stale":
        await reply(update, _("That volunteer can no longer be changed here. Send /volunteers to see the list."))
        return END
    if result.problem == volunteer_rules.ApprovalProblem.ALREADY_APPROVED:
        await reply(update, _("Already approved."))
        return END
    if result.problem == volunteer_rules.ApprovalProblem.VOG_IN_FUTURE:
        await reply(update, _("That date is in the future. Please check it and type it again."))
        return VOG_DATE
    event(logger, "volunteer.approved", volunteer=draft.volunteer, children=result.children_ok, mode=draft.mode)
    await reply(update, _approved_text(context, draft.mode, result.name, result.children_ok, vog))
    return END


def _approved_text(context: BotContext, mode: str, name: str, children_ok: bool, vog: date | None) -> str:
    """What the coordinator reads after approving or renewing."""
    if mode == MODE_RENEW:
        text = _("The VOG date of {name} is saved.").format(name=hi(name))
        text += "\n" + (
            _("{name} may help with tasks with children.").format(name=hi(name))
            if children_ok
            else _("{name} helps only with tasks without children.").format(name=hi(name))
        )
    elif children_ok:
        text = _("✅ {name} is approved, also for tasks with children.").format(name=hi(name))
    else:
        text = _("✅ {name} is approved for tasks without children.").format(name=hi(name))
    if children_ok:
        return text
    language = context.person.language if context.person else "nl"
    today = local_today(context.services, context.now())
    why = _why_not_children(vog, today, context.services.settings.vog_valid_years, language)
    return text + ("\n" + why if why else "")


def _why_not_children(vog: date | None, today: date, years: int, language: str) -> str | None:
    """Why an approval does not cover children, when that was not the coordinator's own choice."""
    if vog is None:
        return _("Why: there is no VOG yet. Enter its date later with /volunteers.")
    if volunteer_rules.vog_is_valid(vog, today=today, years=years):
        return None
    return _(
        "Why: the VOG of {day} is too old. A VOG counts for tasks with children for {count} years, so this one "
        "counted until {until}. Enter the date of a newer VOG with /volunteers."
    ).format(
        day=h(format_full_day(vog, language)),
        count=hi(years),
        until=h(format_full_day(volunteer_rules.vog_expires_on(vog, years), language)),
    )


async def approve_unexpected(update: Update, context: BotContext) -> str | None:
    """Anything else while a VOG date or the children question is expected."""
    if update.callback_query is not None:
        await not_understood(update)
        return STAY
    await reply(update, _("Please type the date like 24-11-2026, or send /cancel."))
    return STAY


# --- paging and registration ----------------------------------------------------------------------


PAGED = {"pairs": show_pairs, "askfor": ask_for_family, "approved": show_approved}


async def turn_page(update: Update, context: BotContext) -> None:
    """'More ▶' / '◀ Back' under a family list: the same list again (coordinator re-checked), another page."""
    parsed = tapped_values(update, PAGE)
    show = PAGED.get(parsed[0]) if parsed else None
    if show is None:
        await answer_stale(update)
        return
    await show(update, context)


def build() -> Dialogue:
    """The approval dialogue: the VOG date typed (or none yet), then whether tasks with children too."""
    return Dialogue(
        name=NAME,
        entry_points=[
            CallbackQueryHandler(start_approve, pattern=APPROVE.pattern),
            CallbackQueryHandler(start_renew, pattern=RENEW.pattern),
        ],
        states={
            VOG_DATE: [
                MessageHandler(TYPED, vog_typed),
                CallbackQueryHandler(no_vog, pattern=NO_VOG.pattern),
                MessageHandler(ANYTHING, approve_unexpected),
                CallbackQueryHandler(approve_unexpected, pattern=CHILDREN.pattern),
            ],
            CHILDREN_STEP: [
                CallbackQueryHandler(children_chosen, pattern=CHILDREN.pattern),
                MessageHandler(ANYTHING, approve_unexpected),
                CallbackQueryHandler(approve_unexpected, pattern=NO_VOG.pattern),
            ],
        },
        draft=ApprovalDraft,
    )


def build_handlers() -> list[BaseHandler[Any, Any, Any]]:
    """Coordinators' buttons that need no dialogue, and /volunteers."""
    return [
        private_command("volunteers", show_volunteers),
        CallbackQueryHandler(ask_reject, pattern=REJECT.pattern),
        CallbackQueryHandler(do_reject, pattern=REJECT_YES.pattern),
        CallbackQueryHandler(keep, pattern=KEEP.pattern),
        *FAMILY_HANDLERS,
        CallbackQueryHandler(turn_page, pattern=PAGE.pattern),
    ]


def register_menu() -> None:
    """The coordinators' menu entries of this area."""
    coordinator = {str(Role.COORDINATOR)}
    menu.add("volunteers", N_("Volunteers"), coordinator, show_volunteers)
    menu.add("openreqs", N_("Open requests"), coordinator, show_open_requests)
    menu.add("pairs", N_("Support pairs"), coordinator, show_pairs)
    menu.add("askfor", N_("Ask help for a family"), coordinator, ask_for_family)
