"""Coordinators: approve volunteers after intake (with the VOG date), pair families with a support volunteer,
see the requests nobody took and place one with a named volunteer, and ask for help on a family's behalf.

Every button re-checks on the server that the person is a coordinator and, for anything about a family,
that they may see that family (`domain.permissions.can_see_family`). Approval follows `domain.volunteers`:
without a VOG that still counts, a volunteer is approved for tasks without children only.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from datetime import date, datetime, timedelta
from typing import Any

from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, MessageHandler, filters

from conversations import menu
from conversations.context import BotContext
from conversations.dialogue import END, STAY, Dialogue
from conversations.ui import (
    PAGE_SIZE,
    answer_button,
    answer_stale,
    callback,
    column,
    int_arg,
    keyboard,
    notify,
    page_of,
    pager_row,
    parse_callback,
    reply,
    retire_buttons,
)
from domain import requests as rules
from domain import volunteers as volunteer_rules
from services import matching
from services.i18n import N_, _, format_day, format_full_day, h, hi, isolate, use_language
from services.logs import event
from services.permissions import Action, authorize
from services.skills import skill_label
from storage import care, people
from storage import requests as store
from storage.db import Session
from storage.models import HelpRequest, Person, Role, VolunteerStatus

logger = logging.getLogger(__name__)

PREFIX = matching.PLACE  # "ap"
NAME = "approve"
VOG_DATE = "vog_date"
CHILDREN = "children"

_DATE = re.compile(r"^\s*(\d{1,2})[-/.](\d{1,2})[-/.](\d{4})\s*$")
_ISO = re.compile(r"^\s*(\d{4})-(\d{1,2})-(\d{1,2})\s*$")
MAX_BUTTONS = 24


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


def _coordinator(session: Session, context: BotContext, action: Action = Action.APPROVE_VOLUNTEER) -> Person | None:
    """The acting person, fresh from the database, if a signed-up coordinator who may do `action`."""
    person = context.person
    fresh = people.get_person(session=session, person_id=person.id) if person and person.id else None
    if fresh is None or fresh.consent_at is None:
        return None
    decision = authorize(session=session, actor=fresh, action=action, now=context.now(), audit="refused")
    return fresh if decision else None


def _may_see(session: Session, coordinator: Person, family_id: int, now: datetime | None = None) -> bool:
    """A family's requests and support volunteer: its duo, anyone while nobody is assigned, admins.

    With `now` (an action, not a list) the decision is audited.
    """
    profile = people.get_family(session=session, person_id=family_id)
    family = people.get_person(session=session, person_id=family_id)
    if profile is None or family is None or family.consent_at is None:
        return False
    action = Action.ACT_FOR_FAMILY
    return bool(
        authorize(
            session=session, actor=coordinator, action=action, family_id=family_id, now=now, audit=now is not None
        )
    )


def visible_families(session: Session, coordinator: Person) -> list[Person]:
    """The families this coordinator may see: their own (as primary or partner) and those with nobody yet.

    All of them, paged by the caller: a cap here would hide whoever sorts late in the alphabet.
    """
    return [
        family
        for family in care.families(session=session, limit=None)
        if family.id is not None and _may_see(session, coordinator, family.id)
    ]


def family_labels(session: Session, families: list[Person], *, among: list[Person]) -> dict[int, str]:
    """A button label per family: the name, with the neighbourhood added where two in `among` share a name."""
    counts = Counter(matching.name_of(family) for family in among)
    labels: dict[int, str] = {}
    for family in families:
        name = matching.name_of(family)
        if family.id is None:
            continue
        labels[family.id] = name
        if counts[name] > 1:
            profile = people.get_family(session=session, person_id=family.id)
            area = people.get_area(session=session, area_id=profile.area_id) if profile and profile.area_id else None
            labels[family.id] = f"{name} · {area.name}" if area is not None else f"{name} · #{family.id}"
    return labels


def _pager(name: str, page: int, more: bool) -> list[tuple[str, str]]:
    """The '◀ Back' / 'More ▶' row of a paged family list (empty when it fits on one page)."""
    return pager_row(page, more, lambda number: callback(PREFIX, "pg", name, number))


def _page_asked(update: Update) -> int:
    """The page number of a pager button (re-checked: `ap:pg:<list>:<page>`); 0 for the menu entry."""
    parts = parse_callback(update.callback_query.data if update.callback_query else None, PREFIX)
    if not parts or len(parts) != 3 or parts[0] != "pg" or parts[1] not in PAGED:
        return 0
    return min(int_arg(parts[2]) or 0, 1000)


def _args(update: Update, action: str, size: int) -> list[int] | None:
    parts = parse_callback(update.callback_query.data if update.callback_query else None, PREFIX)
    if not parts or parts[0] != action or len(parts) != size + 1:
        return None
    values = [int_arg(part) for part in parts[1:]]
    return None if any(value is None for value in values) else [int(value or 0) for value in values]


async def _not_coordinator(update: Update) -> None:
    await reply(update, _("This is for coordinators."))


# --- volunteers -----------------------------------------------------------------------------------


async def show_volunteers(update: Update, context: BotContext) -> None:
    """Volunteers waiting for intake (approve / reject), and VOGs that will soon stop counting."""
    services = context.services
    now = context.now()
    today = matching.local_today(services, now)
    settings = services.settings
    rows: list[list[tuple[str, str]]] = []
    with context.session() as session:
        coordinator = _coordinator(session, context)
        if coordinator is not None:
            pending = store.volunteers_with_status(session=session, status=VolunteerStatus.PENDING)
            soon = volunteer_rules.vog_cutoff(
                today=today + timedelta(days=settings.vog_warn_days), years=settings.vog_valid_years
            )
            expiring = store.vog_expiring(session=session, cutoff=soon)
            approved = store.volunteers_with_status(session=session, status=VolunteerStatus.APPROVED, limit=1000)
            lines = [_("<b>Volunteers</b>"), "", _("Waiting for intake:")]
            for person, _profile in pending:
                assert person.id is not None
                skills = ", ".join(
                    skill_label(s) for s in people.volunteer_skills(session=session, person_id=person.id)
                )
                marker = _(" (a family)") if people.get_family(session=session, person_id=person.id) else ""
                lines.append(f"• {hi(matching.name_of(person))}{h(marker)}: {h(skills or '-')}")
                name = matching.name_of(person)
                rows.append(
                    [
                        (_("✅ Approve {name}").format(name=name), callback(PREFIX, "ok", person.id)),
                        (_("✖️ Reject {name}").format(name=name), callback(PREFIX, "no", person.id)),
                    ]
                )
            if not pending:
                lines.append(_("Nobody is waiting."))
            if expiring:
                lines += ["", _("VOG soon too old for tasks with children:")]
                for person, profile in expiring:
                    assert profile.vog_date is not None
                    until = volunteer_rules.vog_expires_on(profile.vog_date, settings.vog_valid_years)
                    lines.append(
                        _("• {name}: counts until {day}").format(
                            name=hi(matching.name_of(person)), day=h(format_day(until, coordinator.language))
                        )
                    )
                    rows.append(
                        [
                            (
                                _("📄 New VOG date: {name}").format(name=matching.name_of(person)),
                                callback(PREFIX, "vog", person.id),
                            )
                        ]
                    )
            paused = sum(
                1 for _person, profile in approved if profile.paused_until is not None and today <= profile.paused_until
            )
            lines += [
                "",
                _("Approved: {count}, of whom on a pause: {paused}.").format(
                    count=hi(len(approved)), paused=hi(paused)
                ),
            ]
    if coordinator is None:
        await _not_coordinator(update)
        return
    rows = rows[: MAX_BUTTONS - 1]
    if approved:
        rows.append([(_("📋 Approved volunteers and their VOG"), callback(PREFIX, "pg", "approved", 0))])
    await reply(update, "\n".join(lines), keyboard(rows) if rows else None)


def vog_line(profile: Any, today: date, years: int, language: str) -> str:
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
    rows: list[list[tuple[str, str]]] = []
    services = context.services
    today = matching.local_today(services, context.now())
    years = services.settings.vog_valid_years
    with context.session() as session:
        coordinator = _coordinator(session, context)
        if coordinator is not None:
            approved = store.volunteers_with_status(session=session, status=VolunteerStatus.APPROVED, limit=1000)
            profiles = {person.id: profile for person, profile in approved}
            shown, page, more = page_of([person for person, _profile in approved], _page_asked(update))
            lines = [
                _("<b>Approved volunteers</b>"),
                _("A VOG counts for tasks with children for {count} years.").format(count=hi(years)),
            ]
            for person in shown:
                line = vog_line(profiles[person.id], today, years, coordinator.language)
                lines.append(f"• {hi(matching.name_of(person))}: {line}")
                rows.append(
                    [
                        (
                            _("📄 VOG date: {name}").format(name=matching.name_of(person)),
                            callback(PREFIX, "vog", person.id),
                        )
                    ]
                )
            if not approved:
                lines.append(_("Nobody is approved yet."))
            if page > 0 or more:
                lines.append(_("Page {page}").format(page=page + 1))
                rows.append(_pager("approved", page, more))
    if coordinator is None:
        await _not_coordinator(update)
        return
    await _turn_page(update)
    await reply(update, "\n".join(lines), keyboard(rows) if rows else None)


async def ask_reject(update: Update, context: BotContext) -> None:
    """Reject: ask to confirm."""
    args = _args(update, "no", 1)
    with context.session() as session:
        coordinator = _coordinator(session, context)
        profile = people.get_volunteer(session=session, person_id=args[0]) if args else None
        volunteer = people.get_person(session=session, person_id=args[0]) if args else None
    if coordinator is None or args is None or profile is None or volunteer is None:
        await answer_stale(update)
        return
    if not volunteer_rules.can_reject(profile.status):
        await answer_button(update, _("Already rejected."))
        return
    await answer_button(update)
    await reply(
        update,
        _("Reject {name} as a volunteer? They will be told kindly.").format(name=hi(matching.name_of(volunteer))),
        keyboard(
            [
                [
                    (_("Yes, reject"), callback(PREFIX, "noy", args[0])),
                    (_("No"), callback(PREFIX, "keep", args[0])),
                ]
            ]
        ),
    )


async def do_reject(update: Update, context: BotContext) -> None:
    """Confirmed rejection: once, told to the volunteer in their language."""
    args = _args(update, "noy", 1)
    now = context.now()
    before: str | None = None
    name = ""
    with context.session() as session:
        coordinator = _coordinator(session, context)
        volunteer = people.get_person(session=session, person_id=args[0]) if args else None
        if coordinator is not None and volunteer is not None and volunteer.id is not None:
            before = store.reject_volunteer(session=session, volunteer_id=volunteer.id)
            name = matching.name_of(volunteer)
            if before is not None:
                with use_language(volunteer.language):
                    text = _(
                        "Thank you for wanting to help, {name}. After the intake your coordinator decided not to go "
                        "ahead for now. They can tell you more."
                    ).format(name=hi(matching.name_of(volunteer)))
                notify(
                    session=session,
                    person=volunteer,
                    key=f"rejected:{volunteer.id}:{now:%Y%m%d%H%M}",
                    text=text,
                    now=now,
                )
                people.audit(
                    session=session,
                    actor_id=coordinator.id,
                    action="volunteer_rejected",
                    subject_id=volunteer.id,
                    now=now,
                )
    await retire_buttons(update, show_choice=before is not None)
    if before is None:
        await answer_button(update, _("Already rejected."))
        return
    await answer_button(update)
    await reply(update, _("{name} is rejected and has been told.").format(name=hi(name)))


async def keep(update: Update, context: BotContext) -> None:
    """'No' on a confirmation."""
    await answer_button(update)
    await retire_buttons(update)
    await reply(update, _("Nothing was changed."))


# --- approving (a dialogue: the VOG date is typed) ------------------------------------------------


async def start_approve(update: Update, context: BotContext) -> str | None:
    """Approve: ask for the VOG date (or none yet)."""
    return await _start(update, context, "approve")


async def start_renew(update: Update, context: BotContext) -> str | None:
    """A new VOG date for an approved volunteer."""
    return await _start(update, context, "renew")


async def _start(update: Update, context: BotContext, mode: str) -> str | None:
    args = _args(update, "ok" if mode == "approve" else "vog", 1)
    with context.session() as session:
        coordinator = _coordinator(session, context)
        profile = people.get_volunteer(session=session, person_id=args[0]) if args else None
        volunteer = people.get_person(session=session, person_id=args[0]) if args else None
    expected = profile is not None and (
        profile.status != VolunteerStatus.APPROVED if mode == "approve" else profile.status == VolunteerStatus.APPROVED
    )
    if coordinator is None or volunteer is None or profile is None:
        await answer_stale(update)
        return END
    if not expected:
        if mode == "approve":
            await answer_button(update, _("Already approved."))
        else:
            await answer_stale(update)
        return END
    await answer_button(update)
    context.dialogue = {"volunteer": volunteer.id, "mode": mode}
    name = hi(matching.name_of(volunteer))
    if mode == "approve":
        await reply(
            update,
            _("<b>Approve {name}</b>").format(name=name)
            + "\n"
            + _("What date is on the VOG of {name}? Type it like 24-11-2026.").format(name=name)
            + "\n"
            + _("No VOG (yet)? Then {name} can only help with tasks without children.").format(name=name),
            column([(_("No VOG yet"), callback(PREFIX, "novog"))]),
        )
    else:
        await reply(update, _("What date is on the VOG of {name}? Type it like 24-11-2026.").format(name=name))
    return VOG_DATE


async def vog_typed(update: Update, context: BotContext) -> str | None:
    """The VOG date (or 'No VOG yet'), checked with the rules: never in the future; too old means no children."""
    vog: date | None = None
    if update.callback_query is not None:
        if context.dialogue.get("mode") != "approve":
            await answer_stale(update)
            return STAY
        await answer_button(update)
        await retire_buttons(update)
    else:
        message = update.effective_message
        vog = parse_date(message.text or "") if message else None
        if vog is None:
            await reply(update, _("Please type the date like 24-11-2026."))
            return STAY
    services = context.services
    today = matching.local_today(services, context.now())
    years = services.settings.vog_valid_years
    if vog is not None and vog > today:
        await reply(update, _("That date is in the future. Please check it and type it again."))
        return STAY
    context.dialogue["vog"] = vog.isoformat() if vog else None
    valid = vog is not None and volunteer_rules.vog_is_valid(vog, today=today, years=years)
    if valid:
        await reply(
            update,
            _("May they also help with tasks with children, such as babysitting and homework help?"),
            column(
                [
                    (_("Yes, also with children"), callback(PREFIX, "kids", "yes")),
                    (_("Only tasks without children"), callback(PREFIX, "kids", "no")),
                ]
            ),
        )
        return CHILDREN
    return await finish(update, context, for_children=False)


async def children_chosen(update: Update, context: BotContext) -> str | None:
    """Whether the approval covers tasks with children (only with a VOG that counts)."""
    parts = parse_callback(update.callback_query.data if update.callback_query else None, PREFIX)
    if not parts or parts[0] != "kids" or len(parts) != 2 or parts[1] not in ("yes", "no"):
        await answer_button(update, _("That button belongs to an earlier question."))
        return STAY
    await answer_button(update)
    await retire_buttons(update)
    return await finish(update, context, for_children=parts[1] == "yes")


async def finish(update: Update, context: BotContext, *, for_children: bool) -> str | None:
    services = context.services
    settings = services.settings
    now = context.now()
    today = matching.local_today(services, now)
    mode = context.dialogue.get("mode")
    volunteer_id = int(context.dialogue.get("volunteer") or 0)
    vog = date.fromisoformat(context.dialogue["vog"]) if context.dialogue.get("vog") else None
    problem: str | None = None
    children_ok = False
    name = ""
    language = context.person.language if context.person else "nl"
    with context.session() as session:
        coordinator = _coordinator(session, context)
        profile = people.get_volunteer(session=session, person_id=volunteer_id)
        volunteer = people.get_person(session=session, person_id=volunteer_id)
        if coordinator is None or profile is None or volunteer is None or coordinator.id is None:
            problem = "stale"
        elif mode == "renew":
            children_ok = (
                for_children
                and vog is not None
                and volunteer_rules.vog_is_valid(vog, today=today, years=settings.vog_valid_years)
            )
            if vog is None or not store.renew_vog(
                session=session, volunteer_id=volunteer_id, vog_date=vog, children_ok=children_ok
            ):
                problem = "stale"
        else:
            decision = volunteer_rules.approve(
                status=profile.status,
                vog_date=vog,
                today=today,
                vog_valid_years=settings.vog_valid_years,
                for_children=for_children,
            )
            children_ok = decision.children_ok
            if not decision.allowed:
                problem = str(decision.problem)
            elif not store.approve_volunteer(
                session=session,
                volunteer_id=volunteer_id,
                approver_id=coordinator.id,
                vog_date=vog,
                children_ok=children_ok,
                weekly_cap=settings.volunteer_weekly_cap if profile.approved_at is None else None,
                now=now,
            ):
                problem = str(volunteer_rules.ApprovalProblem.ALREADY_APPROVED)
        if problem is None and volunteer is not None and coordinator is not None:
            name = matching.name_of(volunteer)
            if children_ok and vog is not None:
                matching.plan_vog_reminder(
                    session=session, services=services, volunteer_id=volunteer_id, vog_date=vog, now=now
                )
            _tell_volunteer(session, volunteer, mode or "approve", children_ok, now)
            people.audit(
                session=session,
                actor_id=coordinator.id,
                action="volunteer_approved" if mode == "approve" else "vog_renewed",
                subject_id=volunteer_id,
                now=now,
                children_ok=children_ok,
            )
    if problem == "stale":
        await reply(update, _("That volunteer can no longer be changed here. Send /volunteers to see the list."))
        return END
    if problem == volunteer_rules.ApprovalProblem.ALREADY_APPROVED:
        await reply(update, _("Already approved."))
        return END
    if problem == volunteer_rules.ApprovalProblem.VOG_IN_FUTURE:
        await reply(update, _("That date is in the future. Please check it and type it again."))
        return VOG_DATE
    event(logger, "volunteer.approved", volunteer=volunteer_id, children=children_ok, mode=mode)
    if mode == "renew":
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
    why = _why_not_children(vog, today, settings.vog_valid_years, language) if not children_ok else None
    await reply(update, text + ("\n" + why if why else ""))
    return END


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


def _tell_volunteer(session: Session, volunteer: Person, mode: str, children_ok: bool, now: Any) -> None:
    with use_language(volunteer.language):
        if mode == "renew":
            text = _("📄 Thank you, your new VOG is recorded.")
        else:
            text = _(
                "🎉 Good news, {name}: you are approved as a volunteer! From now on you receive requests that fit "
                "you. Accept or Not this time: both are fine."
            ).format(name=hi(matching.name_of(volunteer)))
        text += "\n" + (
            _("You may also help with tasks with children.")
            if children_ok
            else _("For now you help with tasks without children.")
        )
    notify(
        session=session, person=volunteer, key=f"approved:{volunteer.id}:{mode}:{now:%Y%m%d%H%M%S}", text=text, now=now
    )


async def approve_unexpected(update: Update, context: BotContext) -> str | None:
    """Anything else while a VOG date or the children question is expected."""
    if update.callback_query is not None:
        await answer_button(update, _("That button belongs to an earlier question."))
        return STAY
    await reply(update, _("Please type the date like 24-11-2026, or send /cancel."))
    return STAY


# --- requests nobody took -------------------------------------------------------------------------


async def show_open_requests(update: Update, context: BotContext) -> None:
    """Open requests of the families this coordinator may see, with a button to place each by name."""
    rows: list[list[tuple[str, str]]] = []
    with context.session() as session:
        coordinator = _coordinator(session, context, Action.SEE_REQUESTS)
        if coordinator is not None:
            items = [
                request
                for request in store.open_requests(session=session, limit=100)
                if _may_see(session, coordinator, request.family_id)
            ][:MAX_BUTTONS]
            lines = [_("<b>Requests nobody has accepted yet</b>")]
            for request in items:
                family = people.get_person(session=session, person_id=request.family_id)
                asked = len(store.offered_ids(session=session, request_id=request.id or 0))
                lines.append("")
                lines.append(
                    _("{family} ({area}): {what}, {when}. Asked: {count}.").format(
                        family=hi(matching.name_of(family)),
                        area=hi(matching.area_name(session, request)),
                        what=h(matching.kind_label(request.kind)),
                        when=h(matching.when_text(request, coordinator.timezone, coordinator.language)),
                        count=hi(asked),
                    )
                )
                rows.append(
                    [
                        (
                            _("📌 Ask a volunteer: {what}, {family}").format(
                                what=matching.kind_label(request.kind), family=matching.name_of(family)
                            ),
                            callback(PREFIX, "place", request.id),
                        )
                    ]
                )
            if not items:
                lines.append(_("None: every request has a volunteer."))
    if coordinator is None:
        await _not_coordinator(update)
        return
    await reply(update, "\n".join(lines), keyboard(rows) if rows else None)


def _placeable(session: Session, services: Any, request: HelpRequest, now: Any) -> list[tuple[Person, bool]]:
    return store.placeable_volunteers(
        session=session,
        need=matching.need_for(session, request, matching.zone_of(services)),
        window=matching.match_window(services, now),
        limit=MAX_BUTTONS,
    )


async def place_list(update: Update, context: BotContext) -> None:
    """Place a request: whom shall we ask? (Only volunteers who may do it; for children, with a valid VOG.)"""
    args = _args(update, "place", 1)
    services = context.services
    now = context.now()
    with context.session() as session:
        coordinator = _coordinator(session, context)
        request = store.get_request(session=session, request_id=args[0]) if args else None
        ok = (
            coordinator is not None
            and request is not None
            and request.status == rules.RequestStatus.OPEN
            and _may_see(session, coordinator, request.family_id, now)
        )
        if ok and request is not None and coordinator is not None:
            options = _placeable(session, services, request, now)
            text = matching.summary(session, request, coordinator)
    if coordinator is None or request is None:
        await answer_stale(update)
        return
    if not ok:
        await answer_button(update, _("This request was already accepted or closed."))
        return
    await answer_button(update)
    if not options:
        await reply(
            update,
            text
            + "\n\n"
            + _(
                "There is no approved volunteer who may do this task (for tasks with children: approved for "
                "children with a VOG that counts)."
            ),
        )
        return
    buttons = [
        (("✓ " if fits else "") + matching.name_of(person), callback(PREFIX, "pv", request.id, person.id))
        for person, fits in options
    ]
    await reply(
        update,
        text + "\n\n" + _("Whom shall we ask? ✓ = fits the neighbourhood, skills and usual times."),
        keyboard([buttons[index : index + 2] for index in range(0, len(buttons), 2)]),
    )


async def place(update: Update, context: BotContext) -> None:
    """Ask one named volunteer personally (they still accept or pass; all rules checked again)."""
    args = _args(update, "pv", 2)
    services = context.services
    now = context.now()
    result = "stale"
    name = ""
    with context.session() as session:
        coordinator = _coordinator(session, context)
        request = store.get_request(session=session, request_id=args[0]) if args else None
        volunteer = people.get_person(session=session, person_id=args[1]) if args else None
        if coordinator is None or request is None or volunteer is None:
            result = "forged"
        elif (
            coordinator is not None
            and request is not None
            and volunteer is not None
            and request.status == rules.RequestStatus.OPEN
            and _may_see(session, coordinator, request.family_id, now)
        ):
            allowed = {person.id for person, _fits in _placeable(session, services, request, now)}
            name = matching.name_of(volunteer)
            if volunteer.id not in allowed:
                result = "not_allowed"
            elif matching.send_offer(
                session=session, request=request, volunteer=volunteer, now=now, how="placed", placed_by=coordinator
            ):
                store.mark_escalated(session=session, request_id=request.id or 0, now=now)
                people.audit(
                    session=session,
                    actor_id=coordinator.id,
                    action="request_placed",
                    subject_id=request.family_id,
                    now=now,
                    request=request.id,
                    volunteer=volunteer.id,
                )
                result = "asked"
            else:
                result = "waiting"
    if result == "forged":
        await answer_stale(update)
        return
    if result == "stale":
        await answer_button(update, _("This request was already accepted or closed."))
        await retire_buttons(update, show_choice=False)
        return
    if result == "not_allowed":
        await answer_button(update, _("{name} may not do this task.").format(name=isolate(name)))
        return
    await answer_button(update)
    await retire_buttons(update)
    if result == "waiting":
        await reply(update, _("{name} was already asked and has not answered yet.").format(name=hi(name)))
        return
    await reply(update, _("We asked {name}. You will hear when the request is accepted.").format(name=hi(name)))


# --- support pairs --------------------------------------------------------------------------------


async def show_pairs(update: Update, context: BotContext) -> None:
    """Families with their support volunteer; a button per family to pair (or change) it, a page at a time."""
    rows: list[list[tuple[str, str]]] = []
    with context.session() as session:
        coordinator = _coordinator(session, context)
        if coordinator is not None:
            lines = [_("<b>Support pairs</b>"), _("The support volunteer gets the family's requests first.")]
            visible = visible_families(session, coordinator)
            shown, page, more = page_of(visible, _page_asked(update))
            labels = family_labels(session, shown, among=visible)
            for family in shown:
                profile = people.get_family(session=session, person_id=family.id or 0)
                support = (
                    people.get_person(session=session, person_id=profile.support_volunteer_id)
                    if profile is not None and profile.support_volunteer_id
                    else None
                )
                lines.append(
                    f"• {hi(matching.name_of(family))}: " + (hi(matching.name_of(support)) if support else "-")
                )
                label = _("🤝 {family}").format(family=labels.get(family.id or 0, ""))
                rows.append([(label, callback(PREFIX, "pair", family.id))])
            if page > 0 or more:
                lines.append(_("Page {page}").format(page=page + 1))
                rows.append(_pager("pairs", page, more))
    if coordinator is None:
        await _not_coordinator(update)
        return
    await _turn_page(update)
    await reply(update, "\n".join(lines), keyboard(rows) if rows else None)


async def _turn_page(update: Update) -> None:
    """A pager button: stop its spinner and take the old page's buttons away (the new page is a new message)."""
    query = update.callback_query
    if query is not None and parse_callback(query.data, PREFIX):
        await answer_button(update)
        await retire_buttons(update, show_choice=False)


async def pair_list(update: Update, context: BotContext) -> None:
    """Choose the support volunteer for a family: approved volunteers, those in the family's area first, paged."""
    args = _args(update, "pair", 1) or _args(update, "pair", 2)
    page = min(args[1], 1000) if args and len(args) == 2 else 0
    with context.session() as session:
        coordinator = _coordinator(session, context)
        family = people.get_person(session=session, person_id=args[0]) if args else None
        ok = (
            coordinator is not None
            and family is not None
            and family.id is not None
            and _may_see(session, coordinator, family.id, context.now())
        )
        if ok and family is not None and family.id is not None:
            profile = people.get_family(session=session, person_id=family.id)
            candidates, more = store.pairing_candidates(
                session=session,
                area_id=profile.area_id if profile is not None else None,
                exclude_id=family.id,
                limit=PAGE_SIZE,
                offset=page * PAGE_SIZE,
            )
            options = [(matching.name_of(person), person.id) for person, _nearby in candidates if person.id]
            paired = profile is not None and profile.support_volunteer_id is not None
            name = matching.name_of(family)
    if not ok or family is None:
        await answer_stale(update)
        return
    await answer_button(update)
    if args is not None and len(args) == 2:
        await retire_buttons(update, show_choice=False)  # a page turn: the new page is a new message
    buttons = [(label, callback(PREFIX, "pairv", family.id, person_id)) for label, person_id in options]
    rows = [buttons[index : index + 2] for index in range(0, len(buttons), 2)]
    pager = pager_row(page, more, lambda number: callback(PREFIX, "pair", family.id, number))
    if pager:
        rows.append(pager)
    if paired:
        rows.append([(_("Remove the pairing"), callback(PREFIX, "unpair", family.id))])
    if not buttons and not paired and page == 0:
        await reply(update, _("There are no approved volunteers yet."))
        return
    text = _("Who will be the support volunteer of {family}?").format(family=hi(name))
    if pager:
        text += "\n" + _("Page {page}").format(page=page + 1)
    await reply(update, text, keyboard(rows))


async def pair(update: Update, context: BotContext) -> None:
    """Pair a family with an approved volunteer; both are told."""
    args = _args(update, "pairv", 2)
    now = context.now()
    done = False
    names = ("", "")
    with context.session() as session:
        coordinator = _coordinator(session, context)
        family = people.get_person(session=session, person_id=args[0]) if args else None
        volunteer = people.get_person(session=session, person_id=args[1]) if args else None
        profile = people.get_volunteer(session=session, person_id=args[1]) if args else None
        if (
            coordinator is not None
            and family is not None
            and family.id is not None
            and _may_see(session, coordinator, family.id, now)
            and volunteer is not None
            and profile is not None
            and volunteer.id != family.id
            and profile.status == VolunteerStatus.APPROVED
        ):
            store.set_support_volunteer(session=session, family_id=family.id, volunteer_id=volunteer.id)
            family_profile = people.get_family(session=session, person_id=family.id)
            area = (
                people.get_area(session=session, area_id=family_profile.area_id)
                if family_profile and family_profile.area_id
                else None
            )
            with use_language(volunteer.language):
                text = _(
                    "🤝 You are now the support volunteer of {family} ({area}). Their requests come to you first."
                ).format(
                    family=hi(matching.name_of(family)), area=hi(area.name if area else _("neighbourhood not listed"))
                )
            notify(
                session=session,
                person=volunteer,
                key=f"paired:{family.id}:{volunteer.id}:{now:%Y%m%d%H%M}",
                text=text,
                now=now,
            )
            with use_language(family.language):
                text = _(
                    "🤝 {volunteer} is now your support volunteer: a neighbour who gets your requests first."
                ).format(volunteer=hi(matching.name_of(volunteer)))
            notify(
                session=session,
                person=family,
                key=f"paired:{family.id}:{volunteer.id}:{now:%Y%m%d%H%M}:f",
                text=text,
                now=now,
            )
            people.add_timeline(
                session=session,
                family_id=family.id,
                kind="support_paired",
                now=now,
                actor_id=coordinator.id,
                ref_id=volunteer.id,
            )
            people.audit(
                session=session,
                actor_id=coordinator.id,
                action="support_paired",
                subject_id=family.id,
                now=now,
                volunteer=volunteer.id,
            )
            done = True
            names = (matching.name_of(family), matching.name_of(volunteer))
    if not done:
        await answer_stale(update)
        return
    await answer_button(update)
    await retire_buttons(update)
    await reply(
        update,
        _("{volunteer} is now the support volunteer of {family}.").format(volunteer=hi(names[1]), family=hi(names[0])),
    )


async def unpair(update: Update, context: BotContext) -> None:
    """Remove a family's support volunteer; the volunteer is told."""
    args = _args(update, "unpair", 1)
    now = context.now()
    done = False
    with context.session() as session:
        coordinator = _coordinator(session, context)
        family = people.get_person(session=session, person_id=args[0]) if args else None
        if (
            coordinator is not None
            and family is not None
            and family.id is not None
            and _may_see(session, coordinator, family.id, now)
        ):
            previous = store.set_support_volunteer(session=session, family_id=family.id, volunteer_id=None)
            former = people.get_person(session=session, person_id=previous) if previous else None
            if former is not None:
                with use_language(former.language):
                    text = _("You are no longer the support volunteer of {family}. Thank you for everything!").format(
                        family=hi(matching.name_of(family))
                    )
                notify(
                    session=session,
                    person=former,
                    key=f"unpaired:{family.id}:{former.id}:{now:%Y%m%d%H%M}",
                    text=text,
                    now=now,
                )
            people.audit(
                session=session, actor_id=coordinator.id, action="support_unpaired", subject_id=family.id, now=now
            )
            done = previous is not None
    await retire_buttons(update, show_choice=done)
    if not done:
        await answer_stale(update)
        return
    await answer_button(update)
    await reply(update, _("The pairing is removed."))


# --- on a family's behalf -------------------------------------------------------------------------


async def ask_for_family(update: Update, context: BotContext) -> None:
    """Ask for help on a family's behalf: which family? (The request dialogue takes it from there.)"""
    with context.session() as session:
        coordinator = _coordinator(session, context)
        families = visible_families(session, coordinator) if coordinator is not None else []
        shown, page, more = page_of(families, _page_asked(update))
        labels = family_labels(session, shown, among=families)
        buttons = [(labels.get(family.id or 0, ""), callback("rq", "for", family.id)) for family in shown]
    if coordinator is None:
        await _not_coordinator(update)
        return
    if not buttons:
        await reply(update, _("You have no families yet."))
        return
    await _turn_page(update)
    rows = [buttons[index : index + 2] for index in range(0, len(buttons), 2)]
    pager = _pager("askfor", page, more)
    text = _("For which family?")
    if pager:
        text += "\n" + _("Page {page}").format(page=page + 1)
    await reply(update, text, keyboard([*rows, pager] if pager else rows))


PAGED = {"pairs": show_pairs, "askfor": ask_for_family, "approved": show_approved}


async def turn_page(update: Update, context: BotContext) -> None:
    """'More ▶' / '◀ Back' under a family list: the same list again (coordinator re-checked), another page."""
    parts = parse_callback(update.callback_query.data if update.callback_query else None, PREFIX)
    show = PAGED.get(parts[1]) if parts and len(parts) == 3 and parts[0] == "pg" else None
    if show is None:
        await answer_stale(update)
        return
    await show(update, context)


# --- registration ---------------------------------------------------------------------------------


def build() -> Dialogue:
    private = filters.ChatType.PRIVATE
    text = filters.UpdateType.MESSAGE & private & filters.TEXT & ~filters.COMMAND
    anything = filters.UpdateType.MESSAGE & private & ~filters.COMMAND
    return Dialogue(
        name=NAME,
        entry_points=[
            CallbackQueryHandler(start_approve, pattern=rf"^{PREFIX}:ok:\d+$"),
            CallbackQueryHandler(start_renew, pattern=rf"^{PREFIX}:vog:\d+$"),
        ],
        states={
            VOG_DATE: [
                MessageHandler(text, vog_typed),
                CallbackQueryHandler(vog_typed, pattern=rf"^{PREFIX}:novog$"),
                MessageHandler(anything, approve_unexpected),
                CallbackQueryHandler(approve_unexpected, pattern=rf"^{PREFIX}:kids:"),
            ],
            CHILDREN: [
                CallbackQueryHandler(children_chosen, pattern=rf"^{PREFIX}:kids:"),
                MessageHandler(anything, approve_unexpected),
                CallbackQueryHandler(approve_unexpected, pattern=rf"^{PREFIX}:novog$"),
            ],
        },
    )


def build_handlers() -> list[BaseHandler[Any, Any, Any]]:
    """Coordinators' buttons that need no dialogue, and /volunteers."""
    private = filters.UpdateType.MESSAGE & filters.ChatType.PRIVATE
    return [
        CommandHandler("volunteers", show_volunteers, filters=private),
        CallbackQueryHandler(ask_reject, pattern=rf"^{PREFIX}:no:\d+$"),
        CallbackQueryHandler(do_reject, pattern=rf"^{PREFIX}:noy:\d+$"),
        CallbackQueryHandler(keep, pattern=rf"^{PREFIX}:keep:\d+$"),
        CallbackQueryHandler(place_list, pattern=rf"^{PREFIX}:place:\d+$"),
        CallbackQueryHandler(place, pattern=rf"^{PREFIX}:pv:\d+:\d+$"),
        CallbackQueryHandler(pair_list, pattern=rf"^{PREFIX}:pair:\d+(:\d+)?$"),
        CallbackQueryHandler(pair, pattern=rf"^{PREFIX}:pairv:\d+:\d+$"),
        CallbackQueryHandler(unpair, pattern=rf"^{PREFIX}:unpair:\d+$"),
        CallbackQueryHandler(turn_page, pattern=rf"^{PREFIX}:pg:(pairs|askfor|approved):\d+$"),
    ]


def register_menu() -> None:
    coordinator = {str(Role.COORDINATOR)}
    menu.add("volunteers", N_("Volunteers"), coordinator, show_volunteers)
    menu.add("openreqs", N_("Open requests"), coordinator, show_open_requests)
    menu.add("pairs", N_("Support pairs"), coordinator, show_pairs)
    menu.add("askfor", N_("Ask help for a family"), coordinator, ask_for_family)
