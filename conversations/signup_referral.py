"""Sign-up through a referral link: the family sees who referred it and why, then says yes or no.

Yes carries on into the usual consent (the privacy notice), with the family's language preset from the
referral and the referral remembered in the draft; it is used only at consent (`services.signup.give_consent`).
No deletes the referral: only an anonymous count remains (`services.referrals.decline`).
"""

from __future__ import annotations

from telegram import Update

from conversations.context import BotContext
from conversations.dialogue import END
from conversations.signup_steps import (
    CONSENT,
    REFERRAL,
    REFERRAL_SHARE,
    ROLE,
    STEPS,
    SignupDraft,
    draft,
    prompt_consent,
    prompt_referral,
    prompt_referral_share,
    prompt_role,
    referral_problem_text,
)
from conversations.ui import answer_button, reply, retire_buttons, tapped
from services import referrals
from services import signup as rules
from services.i18n import _, set_language
from storage.models import Role


def declined_text() -> str:
    """What a family that said no reads (nothing of it was kept)."""
    return _(
        "That is fine. We have stored nothing about you except your language. If you change your mind, send /start."
    )


async def open_referral(update: Update, context: BotContext, payload: str, answers: SignupDraft) -> str:
    """/start r<token> from someone not signed up: the referral's welcome in its language, or why the link fails."""
    person = context.person
    assert person is not None and person.id is not None
    with context.session() as session:
        found = referrals.check_link(session=session, payload=payload, now=context.now())
        if found.problem is None and found.language:
            fresh = rules.choose_language(
                session=session, person_id=person.id, language=found.language, now=context.now()
            )
            context.person = fresh or person
    if found.problem is not None or found.referral_id is None:
        await reply(update, referral_problem_text(found.problem or referrals.LinkProblem.MALFORMED))
        await prompt_role(update, context)
        return ROLE
    set_language(found.language or "nl")
    answers.referral_id = found.referral_id
    answers.role = Role.FAMILY
    await prompt_referral(update, context)
    return REFERRAL if answers.referral_id is not None else ROLE


async def referral_answer(update: Update, context: BotContext) -> str | None:
    """Yes, sign me up: ask what the referrer may hear. No: the referral goes, only a count stays."""
    answer = tapped(update, referrals.ANSWER)
    answers = draft(context)
    if answer not in ("yes", "no") or answers.referral_id is None:
        return await STEPS.ask_again(update, context, REFERRAL if answers.referral_id is not None else ROLE)
    await answer_button(update)
    await retire_buttons(update)
    if answer == "no":
        with context.session() as session:
            referrals.decline(session=session, referral_id=int(answers.referral_id), now=context.now())
        answers.referral_id = None
        await reply(update, declined_text())
        return END
    answers.role = Role.FAMILY
    await prompt_referral_share(update, context)
    return REFERRAL_SHARE


async def referral_share(update: Update, context: BotContext) -> str | None:
    """Whether the referrer may hear the three steps; then the privacy notice and consent."""
    answer = tapped(update, referrals.SHARE)
    answers = draft(context)
    if answer not in ("yes", "no"):
        return await STEPS.ask_again(update, context, REFERRAL_SHARE)
    await answer_button(update)
    await retire_buttons(update)
    answers.share_progress = answer == "yes"
    answers.role = Role.FAMILY
    await prompt_consent(update, context)
    return CONSENT
