"""Sign-up: language, role, consent, then a short profile. Nothing personal is stored before consent.

This module starts (or resumes) sign-up, reads an invite link, asks for consent and the name, and wires the
dialogue; the questions and the draft are in `conversations.signup_steps`, the profile steps in
`conversations.signup_profile`, the rules in `services.signup`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, MessageHandler, filters

from conversations import menu
from conversations.context import BotContext
from conversations.dialogue import END, STAY, TYPED, Dialogue, private_command
from conversations.signup_profile import (
    family_ages,
    family_area,
    family_children,
    volunteer_areas,
    volunteer_languages,
    volunteer_skills,
    volunteer_times,
)
from conversations.signup_referral import declined_text, open_referral, referral_answer, referral_share
from conversations.signup_steps import (
    ASK_NAME,
    ASK_ORGANISATION,
    CONSENT,
    FAMILY_AGES,
    FAMILY_AREA,
    FAMILY_CHILDREN,
    GAP_STEPS,
    LANGUAGE,
    NAME,
    PROMPTS,
    REFERRAL,
    REFERRAL_SHARE,
    ROLE,
    STEPS,
    VOLUNTEER_AREAS,
    VOLUNTEER_LANGUAGES,
    VOLUNTEER_SKILLS,
    VOLUNTEER_TIMES,
    SignupDraft,
    draft,
    other_language,
    prompt_consent,
    prompt_language,
    prompt_name,
    prompt_role,
    resume_for,
)
from conversations.ui import answer_button, readable_name, reply, retire_buttons, tapped
from domain.invites import InviteProblem
from services import referrals
from services import signup as rules
from services.i18n import _, hi, normalise_language, shipped_match
from services.unreachable import deliver_waiting
from storage.db import Session
from storage.models import Person, Role

logger = logging.getLogger(__name__)


async def start(update: Update, context: BotContext) -> str | None:
    """/start: greet, read an invite link, and begin (or resume) sign-up."""
    person = context.person
    message = update.effective_message
    assert person is not None and person.id is not None and message is not None
    payload = (context.args or [""])[0] if context.args else ""
    context.draft = answers = SignupDraft()
    if payload and referrals.is_referral_payload(payload):
        if person.consent_at is None:
            await reply(update, _greeting())
            return await open_referral(update, context, payload, answers)
        await reply(update, _("You are already signed up, so this link was not used."))
        payload = ""
    if payload:
        with context.session() as session:
            found = rules.check_invite_link(session=session, payload=payload, now=context.now())
        _remember_invite(answers, found)
        if found.problem is not None:
            await reply(update, invite_problem_text(found.problem))
    if person.consent_at is not None:
        with context.session() as session:
            gap = rules.profile_gap(session=session, person_id=person.id)
        if gap is not None:
            answers.role = person.role
            await reply(update, _("Welcome back! Let us finish your sign-up."))
            await PROMPTS[GAP_STEPS[gap]](update, context)
            return GAP_STEPS[gap]
        if payload and answers.invite_id is not None:
            await reply(update, _("You are already signed up, so this invite link was not used."))
        await reply(update, _("Welcome back, {name}!").format(name=hi(person.display_name or "")))
        await menu.send_menu(update, context)
        return END
    if _first_question_is_consent(context) and _language_by_default(update, context):
        # Without the role question there is no "Other language" button: ask for the language first.
        await prompt_language(update, context)
        return LANGUAGE
    return await begin(update, context)


def _remember_invite(answers: SignupDraft, found: rules.InviteCheck) -> None:
    """Keep a valid invite in the draft (it is used only at consent), forget one that no longer works."""
    answers.invite_id = found.invite_id
    answers.invite_role = found.role


def _first_question_is_consent(context: BotContext) -> bool:
    """After an invite, or for an admin from BOT_ADMIN_IDS (a coordinator from the first start), who still consents."""
    person = context.person
    return bool(draft(context).invite_role or (person is not None and person.is_admin))


def _language_by_default(update: Update, context: BotContext) -> bool:
    """The person's language is Dutch only because Telegram's language is not one we ship."""
    user = update.effective_user
    code = user.language_code if user is not None else None
    person = context.person
    return person is not None and shipped_match(code) is None and person.language == normalise_language(code)


def _greeting() -> str:
    """The first words to someone not signed up."""
    return _(
        "Hello! I am Waakvlam, the neighbourhood help assistant. I help you find a hand nearby "
        "and stay in touch with your coordinator."
    )


async def begin(update: Update, context: BotContext) -> str:
    """Greet someone not signed up, and ask the first question: consent after an invite, else the role."""
    person = context.person
    assert person is not None
    await reply(update, _greeting())
    answers = draft(context)
    invited_role = answers.invite_role or (Role.COORDINATOR if person.is_admin else None)
    if invited_role:
        answers.role = invited_role
        await prompt_consent(update, context)
        return CONSENT
    await prompt_role(update, context)
    return ROLE


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
        saved = rules.saved_step(session=session, chat_id=chat.id, steps=PROMPTS)
    step = saved.signup_step
    if saved.other_dialogue or (step is None and person.consent_at is not None):
        return False
    await reply(update, confirmation)
    context.draft = answers = SignupDraft.load(saved.data)
    if step is not None and step != LANGUAGE:
        await PROMPTS[step](update, context)
        return True
    if answers.invite_id is not None:
        with context.session() as session:
            again = rules.check_invite_again(session=session, invite_id=int(answers.invite_id), now=context.now())
        _remember_invite(answers, again)
        if again.problem is not None:
            await reply(update, invite_problem_text(again.problem))
    else:
        answers.invite_role = None
    next_step = await begin(update, context)
    with context.session() as session:
        rules.save_step(session=session, chat_id=chat.id, step=next_step, data=answers.dump(), now=context.now())
    return True


def invite_problem_text(problem: InviteProblem) -> str:
    """Why an invite link did not work, and that one can sign up without it."""
    if problem == InviteProblem.USED:
        return _(
            "This invite link has already been used. Ask your coordinator for a new one. "
            "You can also sign up without it."
        )
    if problem == InviteProblem.EXPIRED:
        return _("This invite link has expired. Ask your coordinator for a new one. You can also sign up without it.")
    return _("This link is not valid. You can sign up without it, or ask your coordinator for a new link.")


async def choose_role(update: Update, context: BotContext) -> str | None:
    """Family or volunteer."""
    role = tapped(update, rules.ROLE)
    if role not in (Role.FAMILY, Role.VOLUNTEER):
        return await STEPS.ask_again(update, context, ROLE)
    await answer_button(update)
    await retire_buttons(update)
    draft(context).role = role
    await prompt_consent(update, context)
    return CONSENT


async def consent(update: Update, context: BotContext) -> str | None:
    """Yes: record consent (version and time) and the role. No: keep nothing but the language."""
    answer = tapped(update, rules.CONSENT)
    if answer not in ("yes", "no"):
        return await STEPS.ask_again(update, context, CONSENT)
    await answer_button(update)
    await retire_buttons(update)
    answers = draft(context)
    if answer == "no":
        if answers.referral_id is not None:
            with context.session() as session:
                referrals.decline(session=session, referral_id=int(answers.referral_id), now=context.now())
            answers.referral_id = None
        await reply(update, declined_text())
        return END
    person = context.person
    assert person is not None and person.id is not None
    if answers.role not in (Role.FAMILY, Role.VOLUNTEER, Role.COORDINATOR, Role.REFERRER):
        await prompt_role(update, context)
        return ROLE
    invite_id = int(answers.invite_id) if answers.invite_id is not None else None
    with context.session() as session:
        given = rules.give_consent(
            session=session,
            settings=context.services.settings,
            person_id=person.id,
            role=answers.role,
            invite_id=invite_id,
            now=context.now(),
            referral_id=int(answers.referral_id) if answers.referral_id is not None else None,
            share_progress=answers.share_progress,
        )
    context.person = given.person
    if given.referral_lost:
        answers.referral_id = None
        await reply(update, _("The link was used or expired in the meantime; you can continue without it."))
    if given.invite_lost:
        answers.invite_id = None
    elif invite_id is not None:
        answers.inviter_id = given.inviter_id
    if given.role is None:
        await reply(
            update,
            _(
                "This invite link has just been used or has expired, so I cannot make you a "
                "coordinator. Please ask for a new link."
            ),
        )
        return END
    if given.invite_lost:
        await reply(update, _("The invite link was used or expired in the meantime; you can continue without it."))
    await reply(update, _("Thank you."))
    await prompt_name(update, context)
    return ASK_NAME


async def _save_typed(
    update: Update,
    context: BotContext,
    clean: Callable[[str], str | None],
    max_length: int,
    save: Callable[[Session, int, str], Person],
) -> tuple[Person, str] | None:
    """The person signing up, fresh from `save`, and their typed words; None when unreadable (they were told)."""
    words = await readable_name(update, clean, max_length)
    if words is None:
        return None
    person = context.person
    assert person is not None and person.id is not None
    with context.session() as session:
        fresh = save(session, person.id, words)
    context.person = fresh
    return fresh, words


# The first profile question after the name, for the roles that have a profile (coordinators have none).
_PROFILE_FIRST: dict[str | None, str] = {
    Role.FAMILY: FAMILY_AREA,
    Role.VOLUNTEER: VOLUNTEER_AREAS,
    Role.REFERRER: ASK_ORGANISATION,
}


async def receive_name(update: Update, context: BotContext) -> str | None:
    """The name to be addressed by."""

    def save(session: Session, person_id: int, name: str) -> Person:
        """Keep the name."""
        return rules.set_name(session=session, person_id=person_id, name=name, now=context.now())

    saved = await _save_typed(update, context, rules.clean_name, rules.MAX_NAME, save)
    if saved is None:
        return STAY
    fresh, name = saved
    role = fresh.role
    profile = _PROFILE_FIRST.get(role)
    if profile is not None:
        await reply(update, _("Nice to meet you, {name}.").format(name=hi(name)))
        await PROMPTS[profile](update, context)
        return profile
    await reply(update, _("Welcome to the team, {name}. Send /menu to see what you can do.").format(name=hi(name)))
    if role == Role.COORDINATOR:
        # Concerns that found nobody to receive them come to the first coordinator who can.
        with context.session() as session:
            deliver_waiting(session=session, services=context.services, now=context.now())
    return END


async def receive_organisation(update: Update, context: BotContext) -> str | None:
    """A referrer's organisation; then what they can do."""

    def save(session: Session, person_id: int, organisation: str) -> Person:
        """Keep the organisation."""
        return referrals.set_organisation(
            session=session, person_id=person_id, organisation=organisation, now=context.now()
        )

    saved = await _save_typed(update, context, referrals.clean_organisation, referrals.MAX_ORGANISATION, save)
    if saved is None:
        return STAY
    fresh = saved[0]
    await reply(
        update,
        _("Welcome to the team, {name}. Send /refer to refer a family, and /referrals to see your referrals.").format(
            name=hi(fresh.display_name or "")
        ),
    )
    return END


def restart_for(state: str) -> Any:
    """/start in the middle of sign-up: a referral link starts over with it; anything else asks again."""
    resume = resume_for(state)

    async def callback_(update: Update, context: BotContext) -> str | None:
        """A referral link opened mid-sign-up counts; otherwise the step's question again."""
        payload = (context.args or [""])[0] if context.args else ""
        if payload and referrals.is_referral_payload(payload):
            return await start(update, context)
        return await resume(update, context)

    return callback_


def build() -> Dialogue:
    """The sign-up dialogue: /start, then one handler per step's button (or typed answer)."""

    def step(handlers: list[BaseHandler[Any, Any, Any]], state: str) -> list[BaseHandler[Any, Any, Any]]:
        """Every step answers /start by asking again, and anything unexpected kindly."""
        return STEPS.step(
            [
                CommandHandler("start", restart_for(state), filters=filters.ChatType.PRIVATE),
                CallbackQueryHandler(other_language, pattern=rules.OTHER_LANGUAGE.pattern),
                *handlers,
            ],
            state,
        )

    def on(handler: Any, button: rules.Button) -> CallbackQueryHandler[Any, Any]:
        """One step's handler for one kind of button."""
        return CallbackQueryHandler(handler, pattern=button.pattern)

    return Dialogue(
        name=NAME,
        entry_points=[private_command("start", start)],
        states={
            LANGUAGE: step([], LANGUAGE),
            ROLE: step([on(choose_role, rules.ROLE)], ROLE),
            REFERRAL: step([on(referral_answer, referrals.ANSWER), on(choose_role, rules.ROLE)], REFERRAL),
            REFERRAL_SHARE: step([on(referral_share, referrals.SHARE)], REFERRAL_SHARE),
            CONSENT: step([on(consent, rules.CONSENT)], CONSENT),
            ASK_NAME: step([MessageHandler(TYPED, receive_name)], ASK_NAME),
            ASK_ORGANISATION: step([MessageHandler(TYPED, receive_organisation)], ASK_ORGANISATION),
            FAMILY_AREA: step([on(family_area, rules.AREA)], FAMILY_AREA),
            FAMILY_CHILDREN: step([on(family_children, rules.KIDS)], FAMILY_CHILDREN),
            FAMILY_AGES: step([on(family_ages, rules.AGES), MessageHandler(TYPED, family_ages)], FAMILY_AGES),
            VOLUNTEER_AREAS: step([on(volunteer_areas, rules.VOLUNTEER_AREA)], VOLUNTEER_AREAS),
            VOLUNTEER_SKILLS: step([on(volunteer_skills, rules.SKILL)], VOLUNTEER_SKILLS),
            VOLUNTEER_TIMES: step([on(volunteer_times, rules.TIME)], VOLUNTEER_TIMES),
            VOLUNTEER_LANGUAGES: step([on(volunteer_languages, rules.LANGUAGE)], VOLUNTEER_LANGUAGES),
        },
        draft=SignupDraft,
    )
