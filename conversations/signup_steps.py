"""Sign-up's steps: their names, the draft they fill in, and each step's question (asked again when needed).

Every question can be asked again after a restart, a /start in the middle, a language change or an answer the
step did not expect, so each one is a `prompt_*` function in `PROMPTS`, reading what was chosen so far from
the draft.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from telegram import InlineKeyboardMarkup, Update

from conversations.context import BotContext
from conversations.dialogue import STAY, AskingAgain, Draft, draft_of
from conversations.ui import (
    CHECKED,
    UNCHECKED,
    answer_button,
    column,
    keyboard,
    language_keyboard,
    reply,
)
from services import referrals
from services import signup as rules
from services.callbacks import Button
from services.i18n import LANGUAGE_NAMES, N_, _, hi
from services.privacy import privacy_notice
from services.skills import SKILL_LABELS

NAME = rules.DIALOGUE

# States, in the order a person meets them (the names are stored with a half-finished sign-up).
LANGUAGE = "language"  # only when an invite link would open in a language picked by default
ROLE = "role"
REFERRAL = "referral"  # a family opened a referral link: who referred it and why, yes or no
REFERRAL_SHARE = "referral_share"  # may the referrer hear how things go?
CONSENT = "consent"
ASK_NAME = "name"
ASK_ORGANISATION = "organisation"  # a referrer's organisation
FAMILY_AREA = "family_area"
FAMILY_CHILDREN = "family_children"
FAMILY_AGES = "family_ages"
VOLUNTEER_AREAS = "volunteer_areas"
VOLUNTEER_SKILLS = "volunteer_skills"
VOLUNTEER_TIMES = "volunteer_times"
VOLUNTEER_LANGUAGES = "volunteer_languages"

# The step that fills each gap of a profile left unfinished.
GAP_STEPS = {
    rules.Gap.NAME: ASK_NAME,
    rules.Gap.ORGANISATION: ASK_ORGANISATION,
    rules.Gap.FAMILY_PROFILE: FAMILY_AREA,
    rules.Gap.VOLUNTEER_PROFILE: VOLUNTEER_AREAS,
}

# The usual availability offered, keyed like `domain.availability.GROUPS`.
TIME_LABELS: dict[str, str] = {
    "wkmorning": N_("Weekday mornings"),
    "wkafternoon": N_("Weekday afternoons"),
    "wkevening": N_("Weekday evenings"),
    "saturday": N_("Saturday"),
    "sunday": N_("Sunday"),
}

Step = Callable[[Update, BotContext], Coroutine[Any, Any, str | None]]
Options = Callable[[BotContext], list[tuple[str, str]]]


@dataclass
class SignupDraft(Draft):
    """What sign-up collected so far; the field names are the keys saved with the step (keep them)."""

    role: str | None = None
    invite_id: int | None = None
    invite_role: str | None = None
    inviter_id: int | None = None
    referral_id: int | None = None
    share_progress: bool = False
    area_id: int | None = None
    children: int | None = None
    ages: str | None = None
    areas: list[str] = field(default_factory=list)
    skills: list[str] = field(default_factory=list)
    times: list[str] = field(default_factory=list)
    languages: list[str] = field(default_factory=list)


def draft(context: BotContext) -> SignupDraft:
    """This step's sign-up draft."""
    return draft_of(context, SignupDraft)


async def prompt_language(update: Update, context: BotContext) -> None:
    """Which language (before the first question, when an invite opened in a default language)."""
    await reply(update, "🌐 " + _("Which language do you want?"), language_keyboard())


async def prompt_role(update: Update, context: BotContext) -> None:
    """Family or volunteer, with a way to another language."""
    await reply(
        update,
        _("Are you signing up as a family that could use a hand, or as a neighbour who wants to help?"),
        column(
            [
                (_("We are a family"), rules.ROLE.data("family")),
                (_("I want to help"), rules.ROLE.data("volunteer")),
                (_("🌐 Other language"), rules.OTHER_LANGUAGE.data()),
            ]
        ),
    )


async def prompt_consent(update: Update, context: BotContext) -> None:
    """The privacy notice, and whether we may store this."""
    await reply(
        update,
        privacy_notice(context.services.settings) + "\n\n" + _("Do you agree that we store this?"),
        column(
            [
                (_("Yes, I agree"), rules.CONSENT.data("yes")),
                (_("No, thank you"), rules.CONSENT.data("no")),
            ]
        ),
    )


async def prompt_name(update: Update, context: BotContext) -> None:
    """The name to be called by."""
    await reply(update, _("What name shall we call you by? A first name is enough."))


async def prompt_organisation(update: Update, context: BotContext) -> None:
    """A referrer's organisation, shown to the families they refer."""
    await reply(
        update, _("Which organisation do you work for? Families you refer will see it, for example: JGZ Almere.")
    )


def referral_welcome(found: referrals.ReferralCheck) -> str:
    """What a family reads when it opens a referral link: who referred it and why, and what Waakvlam is."""
    who = (
        _("{referrer} from {organisation} thinks Waakvlam could help you.").format(
            referrer=hi(found.referrer_name), organisation=hi(found.organisation)
        )
        if found.referrer_name
        else _("A professional thinks Waakvlam could help you.")
    )
    return "\n\n".join(
        [
            _("Hello {name}!").format(name=hi(found.first_name)),
            who,
            _("The reason: {reason}").format(reason=hi(referrals.reason_label(found.reason))),
            _(
                "Waakvlam is a neighbourhood help assistant: neighbours who help with small practical things, "
                "a coordinator who stays in touch, and a short check-in now and then. It is free, and you can stop "
                "at any time."
            ),
            _("Would you like to sign up?"),
        ]
    )


async def prompt_referral(update: Update, context: BotContext) -> None:
    """The referral's welcome (read fresh) and its question: sign up or not."""
    referral_id = draft(context).referral_id
    with context.session() as session:
        found = referrals.check_again(session=session, referral_id=int(referral_id or 0), now=context.now())
    if found.problem is not None:
        draft(context).referral_id = None
        await reply(update, referral_problem_text(found.problem))
        await prompt_role(update, context)
        return
    await reply(
        update,
        referral_welcome(found),
        column(
            [
                (_("Yes, sign me up"), referrals.ANSWER.data("yes")),
                (_("No, thank you"), referrals.ANSWER.data("no")),
            ]
        ),
    )


async def prompt_referral_share(update: Update, context: BotContext) -> None:
    """Whether the referrer may hear how things go (three steps, nothing else)."""
    await reply(
        update,
        _(
            "May the person who referred you hear how things go? Only these steps: intake done, support "
            "started, support closed. Nothing else, and never what you tell us."
        ),
        column(
            [
                (_("Yes, they may"), referrals.SHARE.data("yes")),
                (_("No, keep it between us"), referrals.SHARE.data("no")),
            ]
        ),
    )


def referral_problem_text(problem: referrals.LinkProblem) -> str:
    """Why a referral link did not work, and that one can still sign up on one's own."""
    if problem == referrals.LinkProblem.USED:
        return _("This link has already been used. You can still sign up on your own.")
    if problem == referrals.LinkProblem.EXPIRED:
        return _(
            "This link has expired. You can still sign up on your own, or ask the person who gave it to you for "
            "a new one."
        )
    return _("This link is not valid. You can still sign up on your own.")


def area_options(context: BotContext) -> list[tuple[str, str]]:
    """The neighbourhoods to choose from now, as (button value, name)."""
    with context.session() as session:
        return [(str(area_id), name) for area_id, name in rules.area_choices(session=session)]


async def prompt_family_area(update: Update, context: BotContext) -> None:
    """The family's neighbourhood, or none of those listed."""
    buttons = [(name, rules.AREA.data(value)) for value, name in area_options(context)]
    buttons.append((_("My neighbourhood is not listed"), rules.AREA.data("none")))
    await reply(update, _("Which neighbourhood do you live in?"), column(buttons))


async def prompt_family_children(update: Update, context: BotContext) -> None:
    """How many children (optional)."""
    counts = [(str(count), rules.KIDS.data(count)) for count in range(rules.MAX_CHILDREN)]
    await reply(
        update,
        _("How many children live with you? This helps us find the right help. You may skip this."),
        keyboard(
            [
                counts,
                [(_("5 or more"), rules.KIDS.data(rules.MAX_CHILDREN))],
                [(_("Skip"), rules.KIDS.data("skip"))],
            ]
        ),
    )


def skip_ages() -> InlineKeyboardMarkup:
    """The Skip button under the question about the children's ages."""
    return column([(_("Skip"), rules.AGES.data("skip"))])


async def prompt_family_ages(update: Update, context: BotContext) -> None:
    """The children's ages (optional)."""
    await reply(update, _("How old are they? Type the ages, for example: 3, 7"), skip_ages())


def toggle_rows(options: list[tuple[str, str]], chosen: list[str], button: Button) -> list[list[tuple[str, str]]]:
    """A multiple choice: one ticked or unticked button per option, then Done."""
    rows = [[((CHECKED if key in chosen else UNCHECKED) + label, button.data(key))] for key, label in options]
    rows.append([(_("Done"), button.data(rules.DONE))])
    return rows


def skill_options(context: BotContext) -> list[tuple[str, str]]:
    """What a volunteer can help with, as (key, label)."""
    return [(key, _(label)) for key, label in SKILL_LABELS.items()]


def time_options(context: BotContext) -> list[tuple[str, str]]:
    """The usual availability, as (group, label)."""
    return [(key, _(label)) for key, label in TIME_LABELS.items()]


def language_options(context: BotContext) -> list[tuple[str, str]]:
    """The languages one may speak, each in its own name."""
    return list(LANGUAGE_NAMES.items())


async def prompt_volunteer_areas(update: Update, context: BotContext) -> None:
    """The neighbourhoods a volunteer can help in (Done alone when there are none yet)."""
    options = area_options(context)
    if not options:
        await reply(
            update,
            _("Which neighbourhoods can you help in? There are none to choose from yet; tap Done."),
            keyboard(toggle_rows([], [], rules.VOLUNTEER_AREA)),
        )
        return
    await reply(
        update,
        _("Which neighbourhoods can you help in? Tap all that apply, then Done."),
        keyboard(toggle_rows(options, draft(context).areas, rules.VOLUNTEER_AREA)),
    )


async def prompt_volunteer_skills(update: Update, context: BotContext) -> None:
    """What a volunteer can help with."""
    await reply(
        update,
        _("What can you help with? Tap all that apply, then Done."),
        keyboard(toggle_rows(skill_options(context), draft(context).skills, rules.SKILL)),
    )


async def prompt_volunteer_times(update: Update, context: BotContext) -> None:
    """When a volunteer is usually free."""
    await reply(
        update,
        _("When are you usually available? Tap all that apply, then Done."),
        keyboard(toggle_rows(time_options(context), draft(context).times, rules.TIME)),
    )


async def prompt_volunteer_languages(update: Update, context: BotContext) -> None:
    """The languages a volunteer speaks."""
    await reply(
        update,
        _("Which languages do you speak? Tap all that apply, then Done."),
        keyboard(toggle_rows(language_options(context), draft(context).languages, rules.LANGUAGE)),
    )


PROMPTS: dict[str, Callable[[Update, BotContext], Awaitable[None]]] = {
    LANGUAGE: prompt_language,
    ROLE: prompt_role,
    REFERRAL: prompt_referral,
    REFERRAL_SHARE: prompt_referral_share,
    CONSENT: prompt_consent,
    ASK_NAME: prompt_name,
    ASK_ORGANISATION: prompt_organisation,
    FAMILY_AREA: prompt_family_area,
    FAMILY_CHILDREN: prompt_family_children,
    FAMILY_AGES: prompt_family_ages,
    VOLUNTEER_AREAS: prompt_volunteer_areas,
    VOLUNTEER_SKILLS: prompt_volunteer_skills,
    VOLUNTEER_TIMES: prompt_volunteer_times,
    VOLUNTEER_LANGUAGES: prompt_volunteer_languages,
}


# Anything a sign-up step did not expect is answered kindly and the step asked again; sign-up's buttons are su:…
STEPS = AskingAgain(PROMPTS, r"^su:")


def resume_for(step: str) -> Step:
    """A handler for /start in the middle of this step: ask its question again."""

    async def callback_(update: Update, context: BotContext) -> str | None:
        """Re-ask this step's question."""
        await reply(update, _("Let us continue where you were. (Send /cancel to stop.)"))
        await PROMPTS[step](update, context)
        return STAY

    return callback_


async def other_language(update: Update, context: BotContext) -> str | None:
    """The 'other language' button during sign-up."""
    await answer_button(update)
    await reply(update, _("Which language do you want?"), language_keyboard())
    return STAY
