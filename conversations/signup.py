"""Sign-up: language, role, consent, then a short profile. Nothing personal is stored before consent."""

from __future__ import annotations

import logging
import re
from typing import Any

from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, MessageHandler, filters

from conversations import checkins, menu
from conversations.context import BotContext
from conversations.dialogue import END, STAY, Dialogue
from conversations.ui import (
    CHECKED,
    UNCHECKED,
    answer_button,
    callback,
    column,
    int_arg,
    keyboard,
    language_keyboard,
    name_refused_text,
    notify,
    parse_callback,
    reply,
    retire_buttons,
)
from domain import invites as invite_rules
from domain import names
from services.i18n import LANGUAGE_NAMES, N_, _, h, hi, normalise_language, shipped_match, use_language
from services.labels import SKILL_LABELS, skill_label
from services.logs import event
from services.privacy import privacy_notice
from storage import people
from storage.db import Session
from storage.models import Person, Role, VolunteerStatus

logger = logging.getLogger(__name__)

NAME = "signup"

# States, in the order a person meets them.
LANGUAGE = "language"  # only when an invite link would open in a language picked by default
ROLE = "role"
CONSENT = "consent"
ASK_NAME = "name"
FAMILY_AREA = "family_area"
FAMILY_CHILDREN = "family_children"
FAMILY_AGES = "family_ages"
VOLUNTEER_AREAS = "volunteer_areas"
VOLUNTEER_SKILLS = "volunteer_skills"
VOLUNTEER_TIMES = "volunteer_times"
VOLUNTEER_LANGUAGES = "volunteer_languages"

PREFIX = "su"
MAX_NAME = 64
# Slots are weekday * 3 + daypart (morning, afternoon, evening), as in domain.availability.
TIME_GROUPS: dict[str, tuple[str, list[int]]] = {
    "wkmorning": (N_("Weekday mornings"), [day * 3 + 0 for day in range(5)]),
    "wkafternoon": (N_("Weekday afternoons"), [day * 3 + 1 for day in range(5)]),
    "wkevening": (N_("Weekday evenings"), [day * 3 + 2 for day in range(5)]),
    "saturday": (N_("Saturday"), [5 * 3 + part for part in range(3)]),
    "sunday": (N_("Sunday"), [6 * 3 + part for part in range(3)]),
}
# Ages apart by anything short that is not a digit: "3, 7", "3 en 7", "3، 7", "٣ و ٧" (\d is Unicode).
_AGES = re.compile(r"^\s*\d{1,2}(\D{1,6}\d{1,2})*\s*$")


def mask_for_groups(groups: list[str]) -> int:
    mask = 0
    for group in groups:
        for slot in TIME_GROUPS.get(group, ("", []))[1]:
            mask |= 1 << slot
    return mask


# --- prompts: each step can be asked again after a restart, /start or unexpected input -------------


async def prompt_language(update: Update, context: BotContext) -> None:
    await reply(update, "🌐 " + _("Which language do you want?"), language_keyboard())


async def prompt_role(update: Update, context: BotContext) -> None:
    await reply(
        update,
        _("Are you signing up as a family that could use a hand, or as a neighbour who wants to help?"),
        column(
            [
                (_("We are a family"), callback(PREFIX, "role", "family")),
                (_("I want to help"), callback(PREFIX, "role", "volunteer")),
                (_("🌐 Other language"), callback(PREFIX, "lang")),
            ]
        ),
    )


async def prompt_consent(update: Update, context: BotContext) -> None:
    await reply(
        update,
        privacy_notice(context.services.settings) + "\n\n" + _("Do you agree that we store this?"),
        column(
            [
                (_("Yes, I agree"), callback(PREFIX, "consent", "yes")),
                (_("No, thank you"), callback(PREFIX, "consent", "no")),
            ]
        ),
    )


async def prompt_name(update: Update, context: BotContext) -> None:
    await reply(update, _("What name shall we call you by? A first name is enough."))


async def prompt_family_area(update: Update, context: BotContext) -> None:
    with context.session() as session:
        areas = [(area.id, area.name) for area in people.active_areas(session=session)]
    buttons = [(name, callback(PREFIX, "area", area_id)) for area_id, name in areas]
    buttons.append((_("My neighbourhood is not listed"), callback(PREFIX, "area", "none")))
    await reply(update, _("Which neighbourhood do you live in?"), column(buttons))


async def prompt_family_children(update: Update, context: BotContext) -> None:
    counts = [(str(count), callback(PREFIX, "kids", count)) for count in range(5)]
    await reply(
        update,
        _("How many children live with you? This helps us find the right help. You may skip this."),
        keyboard(
            [
                counts,
                [(_("5 or more"), callback(PREFIX, "kids", 5))],
                [(_("Skip"), callback(PREFIX, "kids", "skip"))],
            ]
        ),
    )


async def prompt_family_ages(update: Update, context: BotContext) -> None:
    await reply(
        update,
        _("How old are they? Type the ages, for example: 3, 7"),
        column([(_("Skip"), callback(PREFIX, "ages", "skip"))]),
    )


def _toggle_rows(options: list[tuple[str, str]], chosen: list[str], action: str) -> list[list[tuple[str, str]]]:
    rows = [
        [((CHECKED if key in chosen else UNCHECKED) + label, callback(PREFIX, action, key))] for key, label in options
    ]
    rows.append([(_("Done"), callback(PREFIX, action, "done"))])
    return rows


def _area_options(context: BotContext) -> list[tuple[str, str]]:
    with context.session() as session:
        return [(str(area.id), area.name) for area in people.active_areas(session=session)]


async def prompt_volunteer_areas(update: Update, context: BotContext) -> None:
    options = _area_options(context)
    if not options:
        await reply(
            update,
            _("Which neighbourhoods can you help in? There are none to choose from yet; tap Done."),
            keyboard(_toggle_rows([], [], "varea")),
        )
        return
    await reply(
        update,
        _("Which neighbourhoods can you help in? Tap all that apply, then Done."),
        keyboard(_toggle_rows(options, context.dialogue.get("areas", []), "varea")),
    )


def _skill_options() -> list[tuple[str, str]]:
    return [(key, _(label)) for key, label in SKILL_LABELS.items()]


async def prompt_volunteer_skills(update: Update, context: BotContext) -> None:
    await reply(
        update,
        _("What can you help with? Tap all that apply, then Done."),
        keyboard(_toggle_rows(_skill_options(), context.dialogue.get("skills", []), "skill")),
    )


def _time_options() -> list[tuple[str, str]]:
    return [(key, _(label)) for key, (label, _slots) in TIME_GROUPS.items()]


async def prompt_volunteer_times(update: Update, context: BotContext) -> None:
    await reply(
        update,
        _("When are you usually available? Tap all that apply, then Done."),
        keyboard(_toggle_rows(_time_options(), context.dialogue.get("times", []), "time")),
    )


def _language_options() -> list[tuple[str, str]]:
    return list(LANGUAGE_NAMES.items())


async def prompt_volunteer_languages(update: Update, context: BotContext) -> None:
    await reply(
        update,
        _("Which languages do you speak? Tap all that apply, then Done."),
        keyboard(_toggle_rows(_language_options(), context.dialogue.get("languages", []), "vlang")),
    )


PROMPTS = {
    LANGUAGE: prompt_language,
    ROLE: prompt_role,
    CONSENT: prompt_consent,
    ASK_NAME: prompt_name,
    FAMILY_AREA: prompt_family_area,
    FAMILY_CHILDREN: prompt_family_children,
    FAMILY_AGES: prompt_family_ages,
    VOLUNTEER_AREAS: prompt_volunteer_areas,
    VOLUNTEER_SKILLS: prompt_volunteer_skills,
    VOLUNTEER_TIMES: prompt_volunteer_times,
    VOLUNTEER_LANGUAGES: prompt_volunteer_languages,
}


# --- callbacks ------------------------------------------------------------------------------------


def _button(update: Update, action: str) -> str | None:
    """The argument of one of our buttons for this action, or None for anything else."""
    parts = parse_callback(update.callback_query.data if update.callback_query else None, PREFIX)
    if not parts or parts[0] != action or len(parts) != 2:
        return None
    return parts[1]


def _profile_missing_step(session: Session, person: Person) -> str | None:
    """For someone who consented but never finished their profile: where to pick up."""
    assert person.id is not None
    if not person.display_name:
        return ASK_NAME
    if person.role == Role.FAMILY and people.get_family(session=session, person_id=person.id) is None:
        return FAMILY_AREA
    if person.role == Role.VOLUNTEER and people.get_volunteer(session=session, person_id=person.id) is None:
        return VOLUNTEER_AREAS
    return None


async def start(update: Update, context: BotContext) -> str | None:
    """/start: greet, read an invite link, and begin (or resume) sign-up."""
    person = context.person
    message = update.effective_message
    assert person is not None and message is not None
    payload = (context.args or [""])[0] if context.args else ""
    context.dialogue = {}
    if payload:
        problem = _read_invite(context, payload)
        if problem is not None:
            await reply(update, _invite_problem_text(problem))
    if person.consent_at is not None:
        with context.session() as session:
            fresh = people.get_person(session=session, person_id=person.id or 0)
            assert fresh is not None
            missing = _profile_missing_step(session, fresh)
        if missing is not None:
            context.dialogue["role"] = person.role
            await reply(update, _("Welcome back! Let us finish your sign-up."))
            await PROMPTS[missing](update, context)
            return missing
        if payload and "invite_id" in context.dialogue:
            await reply(update, _("You are already signed up, so this invite link was not used."))
        await reply(update, _("Welcome back, {name}!").format(name=hi(person.display_name or "")))
        await menu.send_menu(update, context)
        return END
    if _first_question_is_consent(context) and _language_by_default(update, context):
        # Without the role question there is no "Other language" button: ask for the language first.
        await prompt_language(update, context)
        return LANGUAGE
    return await begin(update, context)


def _first_question_is_consent(context: BotContext) -> bool:
    # Admins from BOT_ADMIN_IDS are coordinators from the first start; they still consent.
    person = context.person
    return bool(context.dialogue.get("invite_role") or (person is not None and person.is_admin))


def _language_by_default(update: Update, context: BotContext) -> bool:
    """The person's language is Dutch only because Telegram's language is not one we ship."""
    user = update.effective_user
    code = user.language_code if user is not None else None
    person = context.person
    return person is not None and shipped_match(code) is None and person.language == normalise_language(code)


async def begin(update: Update, context: BotContext) -> str:
    """Greet someone not signed up, and ask the first question: consent after an invite, else the role."""
    person = context.person
    assert person is not None
    greeting = _(
        "Hello! I am Waakvlam, the neighbourhood help assistant. I help you find a hand nearby "
        "and stay in touch with your coordinator."
    )
    await reply(update, greeting)
    invited_role = context.dialogue.get("invite_role") or (Role.COORDINATOR if person.is_admin else None)
    if invited_role:
        context.dialogue["role"] = invited_role
        await prompt_consent(update, context)
        return CONSENT
    await prompt_role(update, context)
    return ROLE


def _read_invite(context: BotContext, payload: str) -> invite_rules.InviteProblem | None:
    """Validate a deep-link payload; it is untrusted. A valid one is remembered, not yet used."""
    token = invite_rules.token_from_payload(payload)
    if token is None:
        return invite_rules.InviteProblem.MALFORMED
    with context.session() as session:
        invite = people.get_invite_by_hash(session=session, token_hash=invite_rules.hash_token(token))
        problem = invite_rules.check(
            found=invite is not None,
            used_at=invite.used_at if invite else None,
            expires_at=invite.expires_at if invite else None,
            now=context.now(),
        )
        if invite is not None and problem is None:
            context.dialogue["invite_id"] = invite.id
            context.dialogue["invite_role"] = invite.role
    event(logger, "signup.invite_checked", ok=problem is None, problem=str(problem) if problem else None)
    return problem


def _recheck_invite(context: BotContext) -> invite_rules.InviteProblem | None:
    """The invite remembered from a link, checked again now: it may have been used or expired since."""
    invite_id = context.dialogue.pop("invite_id", None)
    context.dialogue.pop("invite_role", None)
    if invite_id is None:
        return None
    with context.session() as session:
        invite = people.get_invite(session=session, invite_id=int(invite_id))
        problem = invite_rules.check(
            found=invite is not None,
            used_at=invite.used_at if invite else None,
            expires_at=invite.expires_at if invite else None,
            now=context.now(),
        )
        if invite is not None and problem is None:
            context.dialogue["invite_id"] = invite.id
            context.dialogue["invite_role"] = invite.role
    return problem


async def continue_after_language(update: Update, context: BotContext, confirmation: str) -> bool:
    """After a language button: say `confirmation` and carry sign-up on at once, in the new language.

    Runs outside the dialogue router (language buttons work everywhere), so it saves the step itself.
    False (and nothing said) when there is no sign-up to carry on.
    """
    chat = update.effective_chat
    person = context.person
    if chat is None or person is None:
        return False
    with context.session() as session:
        state = people.get_dialogue(session=session, chat_id=chat.id)
        step = state.step if state is not None and state.dialogue == NAME and state.step in PROMPTS else None
        data = dict(state.data) if state is not None and step is not None else {}
        busy = state is not None and step is None
    if busy or (step is None and person.consent_at is not None):
        return False
    await reply(update, confirmation)
    context.dialogue = data
    if step is not None and step != LANGUAGE:
        await PROMPTS[step](update, context)
        return True
    problem = _recheck_invite(context)
    if problem is not None:
        await reply(update, _invite_problem_text(problem))
    next_step = await begin(update, context)
    with context.session() as session:
        people.save_dialogue(
            session=session, chat_id=chat.id, dialogue=NAME, step=next_step, data=context.dialogue, now=context.now()
        )
    return True


def _invite_problem_text(problem: invite_rules.InviteProblem) -> str:
    if problem == invite_rules.InviteProblem.USED:
        return _(
            "This invite link has already been used. Ask your coordinator for a new one. "
            "You can also sign up without it."
        )
    if problem == invite_rules.InviteProblem.EXPIRED:
        return _("This invite link has expired. Ask your coordinator for a new one. You can also sign up without it.")
    return _("This link is not valid. You can sign up without it, or ask your coordinator for a new link.")


async def resume(update: Update, context: BotContext, step: str) -> str | None:
    """/start in the middle of sign-up: ask the current question again."""
    await reply(update, _("Let us continue where you were. (Send /cancel to stop.)"))
    await PROMPTS[step](update, context)
    return STAY


def resume_for(step: str) -> Any:
    async def callback_(update: Update, context: BotContext) -> str | None:
        """Re-ask this step's question."""
        return await resume(update, context, step)

    return callback_


def unexpected_for(step: str) -> Any:
    async def callback_(update: Update, context: BotContext) -> str | None:
        """Anything this step did not expect: say so kindly and ask again."""
        if update.callback_query is not None:
            await answer_button(update, _("That button belongs to an earlier question."))
        else:
            await reply(update, _("Sorry, I did not understand that. Please use the buttons or type your answer."))
        await PROMPTS[step](update, context)
        return STAY

    return callback_


async def other_language(update: Update, context: BotContext) -> str | None:
    """The 'other language' button during sign-up."""
    await answer_button(update)
    await reply(update, _("Which language do you want?"), language_keyboard())
    return STAY


async def choose_role(update: Update, context: BotContext) -> str | None:
    """Family or volunteer."""
    role = _button(update, "role")
    if role not in (Role.FAMILY, Role.VOLUNTEER):
        return await unexpected_for(ROLE)(update, context)
    await answer_button(update)
    await retire_buttons(update)
    context.dialogue["role"] = role
    await prompt_consent(update, context)
    return CONSENT


async def consent(update: Update, context: BotContext) -> str | None:
    """Yes: record consent (version and time) and the role. No: keep nothing but the language."""
    answer = _button(update, "consent")
    if answer not in ("yes", "no"):
        return await unexpected_for(CONSENT)(update, context)
    await answer_button(update)
    await retire_buttons(update)
    if answer == "no":
        await reply(
            update,
            _(
                "That is fine. We have stored nothing about you except your language. "
                "If you change your mind, send /start."
            ),
        )
        return END
    person = context.person
    assert person is not None and person.id is not None
    role = context.dialogue.get("role")
    if role not in (Role.FAMILY, Role.VOLUNTEER, Role.COORDINATOR):
        await prompt_role(update, context)
        return ROLE
    now = context.now()
    invite_lost = False
    with context.session() as session:
        fresh = people.get_person(session=session, person_id=person.id)
        assert fresh is not None
        invite_id = context.dialogue.get("invite_id")
        if invite_id is not None:
            if people.redeem_invite(session=session, invite_id=int(invite_id), person_id=person.id, now=now):
                invite = people.get_invite(session=session, invite_id=int(invite_id))
                context.dialogue["inviter_id"] = invite.created_by_id if invite else None
            else:
                invite_lost = True
                context.dialogue.pop("invite_id", None)
        if role == Role.COORDINATOR and not fresh.is_admin and (invite_lost or invite_id is None):
            role = None
        if role is not None:
            people.record_consent(
                session=session,
                person=fresh,
                role=role,
                version=context.services.settings.consent_version,
                now=now,
            )
            if role == Role.COORDINATOR:
                people.ensure_coordinator_profile(session=session, person=fresh)
            people.audit(
                session=session,
                actor_id=fresh.id,
                action="consent",
                subject_id=fresh.id,
                now=now,
                version=context.services.settings.consent_version,
                role=role,
            )
        context.person = fresh
    if role is None:
        await reply(
            update,
            _(
                "This invite link has just been used or has expired, so I cannot make you a "
                "coordinator. Please ask for a new link."
            ),
        )
        return END
    if invite_lost:
        await reply(update, _("The invite link was used or expired in the meantime; you can continue without it."))
    event(logger, "signup.consent", person_id=person.id, role=role)
    await reply(update, _("Thank you."))
    await prompt_name(update, context)
    return ASK_NAME


def clean_name(text: str) -> str | None:
    return names.clean_name(text, max_length=MAX_NAME)


async def receive_name(update: Update, context: BotContext) -> str | None:
    """The name to be addressed by."""
    message = update.effective_message
    name = clean_name(message.text or "") if message else None
    if name is None:
        await reply(update, name_refused_text(MAX_NAME))
        return STAY
    person = context.person
    assert person is not None and person.id is not None
    with context.session() as session:
        fresh = people.get_person(session=session, person_id=person.id)
        assert fresh is not None
        people.set_display_name(session=session, person=fresh, name=name, now=context.now())
        context.person = fresh
    role = fresh.role
    if role == Role.FAMILY:
        await reply(update, _("Nice to meet you, {name}.").format(name=hi(name)))
        await prompt_family_area(update, context)
        return FAMILY_AREA
    if role == Role.VOLUNTEER:
        await reply(update, _("Nice to meet you, {name}.").format(name=hi(name)))
        await prompt_volunteer_areas(update, context)
        return VOLUNTEER_AREAS
    await reply(update, _("Welcome to the team, {name}. Send /menu to see what you can do.").format(name=hi(name)))
    if role == Role.COORDINATOR:
        # Concerns that found nobody to receive them come to the first coordinator who can.
        from conversations import concerns

        with context.session() as session:
            concerns.deliver_waiting(session=session, services=context.services, now=context.now())
    return END


async def family_area(update: Update, context: BotContext) -> str | None:
    """The family's neighbourhood, from the coordinators' list (checked again on the server)."""
    value = _button(update, "area")
    if value is None:
        return await unexpected_for(FAMILY_AREA)(update, context)
    area_id = int_arg(value) if value != "none" else None
    if value != "none":
        with context.session() as session:
            area = people.get_area(session=session, area_id=area_id or 0)
        if area is None or not area.active:
            await answer_button(update, _("That neighbourhood is no longer available."))
            await prompt_family_area(update, context)
            return STAY
    await answer_button(update)
    await retire_buttons(update)
    context.dialogue["area_id"] = area_id
    await prompt_family_children(update, context)
    return FAMILY_CHILDREN


async def family_children(update: Update, context: BotContext) -> str | None:
    """How many children (optional)."""
    value = _button(update, "kids")
    count = int_arg(value) if value and value != "skip" else None
    if value is None or (value != "skip" and (count is None or count > 5)):
        return await unexpected_for(FAMILY_CHILDREN)(update, context)
    await answer_button(update)
    await retire_buttons(update)
    context.dialogue["children"] = count
    if count:
        await prompt_family_ages(update, context)
        return FAMILY_AGES
    return await finish_family(update, context)


def parse_ages(text: str) -> str | None:
    if not _AGES.match(text):
        return None
    ages = [int(number) for number in re.findall(r"\d{1,2}", text)]
    if not ages or len(ages) > 12 or any(age > 25 for age in ages):
        return None
    return ",".join(str(age) for age in ages)


async def family_ages(update: Update, context: BotContext) -> str | None:
    """Ages as typed, or skipped."""
    if update.callback_query is not None:
        if _button(update, "ages") != "skip":
            return await unexpected_for(FAMILY_AGES)(update, context)
        await answer_button(update)
        await retire_buttons(update)
        return await finish_family(update, context)
    ages = parse_ages(update.effective_message.text or "") if update.effective_message else None
    if ages is None:
        await reply(
            update,
            _("Please type only the ages as numbers, for example: 3, 7. Or tap Skip."),
            column([(_("Skip"), callback(PREFIX, "ages", "skip"))]),
        )
        return STAY
    context.dialogue["ages"] = ages
    return await finish_family(update, context)


async def finish_family(update: Update, context: BotContext) -> str | None:
    person = context.person
    assert person is not None and person.id is not None
    now = context.now()
    with context.session() as session:
        fresh = people.get_person(session=session, person_id=person.id)
        assert fresh is not None
        inviter_id = context.dialogue.get("inviter_id")
        inviter = people.get_person(session=session, person_id=int(inviter_id)) if inviter_id else None
        coordinator_id = inviter.id if inviter is not None and inviter.role == Role.COORDINATOR else None
        profile = people.save_family_profile(
            session=session,
            person=fresh,
            area_id=context.dialogue.get("area_id"),
            children_count=context.dialogue.get("children"),
            children_ages=context.dialogue.get("ages"),
            primary_coordinator_id=coordinator_id,
        )
        people.add_timeline(session=session, family_id=fresh.id, kind="signed_up", now=now)
        # The waakvlam: the default check-in rhythm from the settings, the first check-in scheduled.
        checkins.start_family(session=session, services=context.services, family=fresh, now=now)
        area = people.get_area(session=session, area_id=profile.area_id) if profile.area_id else None
        _tell_coordinators_new_family(session, fresh, area.name if area else None, coordinator_id, now)
    event(logger, "signup.family_done", person_id=person.id)
    await reply(
        update,
        _(
            "All set, {name}! You can ask for help, and we will check in with you now and then. "
            "You can always reach a person here."
        ).format(name=hi(fresh.display_name or "")),
    )
    await menu.send_menu(update, context)
    return END


def _tell_coordinators_new_family(
    session: Session, family: Person, area: str | None, coordinator_id: int | None, now: Any
) -> None:
    recipients = (
        [people.get_person(session=session, person_id=coordinator_id)]
        if coordinator_id
        else people.coordinators(session=session)
    )
    for coordinator in recipients:
        if coordinator is None:
            continue
        with use_language(coordinator.language):
            text = _("New family signed up: {name} ({area}).").format(
                name=hi(family.display_name or ""), area=hi(area or _("neighbourhood not listed"))
            )
        notify(
            session=session,
            person=coordinator,
            key=f"newfamily:{family.id}:{coordinator.id}",
            text=text,
            now=now,
        )


def toggler(action: str, key: str, step: str, options: Any) -> Any:
    async def callback_(update: Update, context: BotContext) -> str | None:
        """Toggle one option of a multiple choice (the Done button is handled by the step itself)."""
        value = _button(update, action)
        valid = {option for option, _label in options(context)}
        if value is None or value not in valid:
            return await unexpected_for(step)(update, context)
        chosen: list[str] = list(context.dialogue.get(key, []))
        chosen = [item for item in chosen if item != value] if value in chosen else [*chosen, value]
        context.dialogue[key] = chosen
        await answer_button(update)
        query = update.callback_query
        assert query is not None
        try:
            await query.edit_message_reply_markup(keyboard(_toggle_rows(options(context), chosen, action)))
        except Exception:  # a double tap can leave the keyboard already in this state
            logger.debug("signup.toggle_not_modified")
        return STAY

    return callback_


def _done(update: Update, action: str) -> bool:
    return _button(update, action) == "done"


async def volunteer_areas(update: Update, context: BotContext) -> str | None:
    """Toggle neighbourhoods; Done moves on."""
    if _done(update, "varea"):
        if _area_options(context) and not context.dialogue.get("areas"):
            await answer_button(update, _("Please choose at least one."))
            return STAY
        await answer_button(update)
        await retire_buttons(update)
        await prompt_volunteer_skills(update, context)
        return VOLUNTEER_SKILLS
    return await _toggle_areas(update, context)


_toggle_areas = toggler("varea", "areas", VOLUNTEER_AREAS, _area_options)


async def volunteer_skills(update: Update, context: BotContext) -> str | None:
    """Toggle skills; Done moves on."""
    if _done(update, "skill"):
        if not context.dialogue.get("skills"):
            await answer_button(update, _("Please choose at least one."))
            return STAY
        await answer_button(update)
        await retire_buttons(update)
        await prompt_volunteer_times(update, context)
        return VOLUNTEER_TIMES
    return await _toggle_skills(update, context)


_toggle_skills = toggler("skill", "skills", VOLUNTEER_SKILLS, lambda _context: _skill_options())


async def volunteer_times(update: Update, context: BotContext) -> str | None:
    """Toggle usual availability; Done moves on."""
    if _done(update, "time"):
        if not context.dialogue.get("times"):
            await answer_button(update, _("Please choose at least one."))
            return STAY
        await answer_button(update)
        await retire_buttons(update)
        await prompt_volunteer_languages(update, context)
        return VOLUNTEER_LANGUAGES
    return await _toggle_times(update, context)


_toggle_times = toggler("time", "times", VOLUNTEER_TIMES, lambda _context: _time_options())


async def volunteer_languages(update: Update, context: BotContext) -> str | None:
    """Toggle spoken languages; Done finishes the volunteer's profile."""
    if _done(update, "vlang"):
        if not context.dialogue.get("languages"):
            await answer_button(update, _("Please choose at least one."))
            return STAY
        await answer_button(update)
        await retire_buttons(update)
        return await finish_volunteer(update, context)
    return await _toggle_languages(update, context)


_toggle_languages = toggler("vlang", "languages", VOLUNTEER_LANGUAGES, lambda _context: _language_options())


async def finish_volunteer(update: Update, context: BotContext) -> str | None:
    person = context.person
    assert person is not None and person.id is not None
    now = context.now()
    valid_areas = {int(option) for option, _label in _area_options(context)}
    area_ids = [int(a) for a in context.dialogue.get("areas", []) if a.isdigit() and int(a) in valid_areas]
    skills = [skill for skill in context.dialogue.get("skills", []) if skill in SKILL_LABELS]
    languages = [code for code in context.dialogue.get("languages", []) if code in LANGUAGE_NAMES]
    with context.session() as session:
        fresh = people.get_person(session=session, person_id=person.id)
        assert fresh is not None
        profile = people.save_volunteer_profile(
            session=session,
            person=fresh,
            area_ids=area_ids,
            skills=skills,
            availability=mask_for_groups(context.dialogue.get("times", [])),
            languages=languages,
        )
        assert profile.status == VolunteerStatus.PENDING or profile.status
        for coordinator in people.admins(session=session) or people.coordinators(session=session):
            with use_language(coordinator.language):
                text = _("New volunteer waiting for intake: {name}. Can help with: {skills}.").format(
                    name=hi(fresh.display_name or ""), skills=h(", ".join(skill_label(s) for s in skills))
                )
            notify(
                session=session,
                person=coordinator,
                key=f"newvolunteer:{fresh.id}:{coordinator.id}",
                text=text,
                now=now,
            )
    event(logger, "signup.volunteer_done", person_id=person.id)
    await reply(
        update,
        _(
            "Thank you, {name}! A coordinator will contact you for a short intake and will ask for a VOG "
            "(certificate of conduct). Once you are approved, you will receive requests that fit you."
        ).format(name=hi(fresh.display_name or "")),
    )
    return END


def build() -> Dialogue:
    private = filters.ChatType.PRIVATE
    text = filters.UpdateType.MESSAGE & private & filters.TEXT & ~filters.COMMAND
    anything = filters.UpdateType.MESSAGE & private & ~filters.COMMAND

    def button(action: str) -> str:
        return rf"^{PREFIX}:{action}:"

    def step(handlers: list[BaseHandler[Any, Any, Any]], state: str) -> list[BaseHandler[Any, Any, Any]]:
        # Every step answers /start by asking again, and anything unexpected kindly.
        return [
            CommandHandler("start", resume_for(state), filters=private),
            CallbackQueryHandler(other_language, pattern=rf"^{PREFIX}:lang$"),
            *handlers,
            MessageHandler(anything, unexpected_for(state)),
            CallbackQueryHandler(unexpected_for(state), pattern=rf"^{PREFIX}:"),
        ]

    return Dialogue(
        name=NAME,
        entry_points=[CommandHandler("start", start, filters=filters.UpdateType.MESSAGE & private)],
        states={
            LANGUAGE: step([], LANGUAGE),
            ROLE: step([CallbackQueryHandler(choose_role, pattern=button("role"))], ROLE),
            CONSENT: step([CallbackQueryHandler(consent, pattern=button("consent"))], CONSENT),
            ASK_NAME: step([MessageHandler(text, receive_name)], ASK_NAME),
            FAMILY_AREA: step([CallbackQueryHandler(family_area, pattern=button("area"))], FAMILY_AREA),
            FAMILY_CHILDREN: step([CallbackQueryHandler(family_children, pattern=button("kids"))], FAMILY_CHILDREN),
            FAMILY_AGES: step(
                [
                    CallbackQueryHandler(family_ages, pattern=button("ages")),
                    MessageHandler(text, family_ages),
                ],
                FAMILY_AGES,
            ),
            VOLUNTEER_AREAS: step([CallbackQueryHandler(volunteer_areas, pattern=button("varea"))], VOLUNTEER_AREAS),
            VOLUNTEER_SKILLS: step([CallbackQueryHandler(volunteer_skills, pattern=button("skill"))], VOLUNTEER_SKILLS),
            VOLUNTEER_TIMES: step([CallbackQueryHandler(volunteer_times, pattern=button("time"))], VOLUNTEER_TIMES),
            VOLUNTEER_LANGUAGES: step(
                [CallbackQueryHandler(volunteer_languages, pattern=button("vlang"))], VOLUNTEER_LANGUAGES
            ),
        },
    )
