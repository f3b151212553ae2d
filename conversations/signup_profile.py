"""Sign-up's profile steps: a family's neighbourhood and children, a volunteer's areas, skills, times, languages."""

from __future__ import annotations

import logging

from telegram import Update

from conversations import menu
from conversations.context import BotContext
from conversations.dialogue import END, STAY
from conversations.signup_steps import (
    FAMILY_AGES,
    FAMILY_AREA,
    FAMILY_CHILDREN,
    PROMPTS,
    STEPS,
    VOLUNTEER_AREAS,
    VOLUNTEER_LANGUAGES,
    VOLUNTEER_SKILLS,
    VOLUNTEER_TIMES,
    Options,
    Step,
    area_options,
    draft,
    language_options,
    prompt_family_ages,
    prompt_family_area,
    prompt_family_children,
    skill_options,
    skip_ages,
    time_options,
    toggle_rows,
)
from conversations.ui import answer_button, int_arg, keyboard, reply, retire_buttons, tapped
from services import checkins
from services import signup as rules
from services.callbacks import Button
from services.i18n import _, hi

logger = logging.getLogger(__name__)


async def family_area(update: Update, context: BotContext) -> str | None:
    """The family's neighbourhood, from the coordinators' list (checked again on the server)."""
    value = tapped(update, rules.AREA)
    if value is None:
        return await STEPS.ask_again(update, context, FAMILY_AREA)
    area_id = int_arg(value) if value != "none" else None
    if value != "none":
        with context.session() as session:
            available = area_id is not None and rules.area_open(session=session, area_id=area_id)
        if not available:
            await answer_button(update, _("That neighbourhood is no longer available."))
            await prompt_family_area(update, context)
            return STAY
    await answer_button(update)
    await retire_buttons(update)
    draft(context).area_id = area_id
    await prompt_family_children(update, context)
    return FAMILY_CHILDREN


async def family_children(update: Update, context: BotContext) -> str | None:
    """How many children (optional)."""
    value = tapped(update, rules.KIDS)
    count = int_arg(value) if value and value != "skip" else None
    if value is None or (value != "skip" and (count is None or count > rules.MAX_CHILDREN)):
        return await STEPS.ask_again(update, context, FAMILY_CHILDREN)
    await answer_button(update)
    await retire_buttons(update)
    draft(context).children = count
    if count:
        await prompt_family_ages(update, context)
        return FAMILY_AGES
    return await finish_family(update, context)


async def family_ages(update: Update, context: BotContext) -> str | None:
    """Ages as typed, or skipped."""
    if update.callback_query is not None:
        if tapped(update, rules.AGES) != "skip":
            return await STEPS.ask_again(update, context, FAMILY_AGES)
        await answer_button(update)
        await retire_buttons(update)
        return await finish_family(update, context)
    ages = rules.parse_ages(update.effective_message.text or "") if update.effective_message else None
    if ages is None:
        await reply(update, _("Please type only the ages as numbers, for example: 3, 7. Or tap Skip."), skip_ages())
        return STAY
    draft(context).ages = ages
    return await finish_family(update, context)


async def finish_family(update: Update, context: BotContext) -> str | None:
    """Store the family's profile, start its check-ins, and welcome it."""
    person = context.person
    assert person is not None and person.id is not None
    answers = draft(context)
    now = context.now()
    with context.session() as session:
        family = rules.finish_family(
            session=session,
            person_id=person.id,
            area_id=answers.area_id,
            children=answers.children,
            ages=answers.ages,
            inviter_id=answers.inviter_id,
            now=now,
        )
        # The waakvlam: the default check-in rhythm from the settings, the first check-in scheduled.
        checkins.start_family(session=session, services=context.services, family=family, now=now)
    await reply(
        update,
        _(
            "All set, {name}! You can ask for help, and we will check in with you now and then. "
            "You can always reach a person here."
        ).format(name=hi(family.display_name or "")),
    )
    await menu.send_menu(update, context)
    return END


def multiple_choice(button: Button, field: str, step: str, options: Options, done: Step) -> Step:
    """A step of ticking options (kept in the draft's `field`); Done needs one ticked (if any) and moves on."""

    async def on_tap(update: Update, context: BotContext) -> str | None:
        """Tick or untick one option, or Done."""
        value = tapped(update, button)
        answers = draft(context)
        chosen: list[str] = list(getattr(answers, field))
        if value == rules.DONE:
            if not chosen and options(context):
                await answer_button(update, _("Please choose at least one."))
                return STAY
            await answer_button(update)
            await retire_buttons(update)
            return await done(update, context)
        if value is None or value not in {option for option, _label in options(context)}:
            return await STEPS.ask_again(update, context, step)
        chosen = [item for item in chosen if item != value] if value in chosen else [*chosen, value]
        setattr(answers, field, chosen)
        await answer_button(update)
        query = update.callback_query
        assert query is not None
        try:
            await query.edit_message_reply_markup(keyboard(toggle_rows(options(context), chosen, button)))
        except Exception:  # a double tap can leave the keyboard already in this state
            logger.debug("signup.toggle_not_modified")
        return STAY

    return on_tap


def _go_on(step: str) -> Step:
    """What a step's Done leads to: the question of the next step, `step`, which then waits for its answer."""

    async def ask(update: Update, context: BotContext) -> str | None:
        """Ask the next step's question."""
        await PROMPTS[step](update, context)
        return step

    return ask


async def finish_volunteer(update: Update, context: BotContext) -> str | None:
    """Store the volunteer's profile (waiting for intake) and say what happens next."""
    person = context.person
    assert person is not None and person.id is not None
    answers = draft(context)
    with context.session() as session:
        volunteer = rules.finish_volunteer(
            session=session,
            person_id=person.id,
            areas=answers.areas,
            skills=answers.skills,
            times=answers.times,
            languages=answers.languages,
            now=context.now(),
        )
    await reply(
        update,
        _(
            "Thank you, {name}! A coordinator will contact you for a short intake and will ask for a VOG "
            "(certificate of conduct). Once you are approved, you will receive requests that fit you."
        ).format(name=hi(volunteer.display_name or "")),
    )
    return END


# Each volunteer step's one handler: its button's taps, Done included (areas may be left empty only when
# there are none to choose from).
volunteer_areas = multiple_choice(
    rules.VOLUNTEER_AREA, "areas", VOLUNTEER_AREAS, area_options, _go_on(VOLUNTEER_SKILLS)
)
volunteer_skills = multiple_choice(rules.SKILL, "skills", VOLUNTEER_SKILLS, skill_options, _go_on(VOLUNTEER_TIMES))
volunteer_times = multiple_choice(rules.TIME, "times", VOLUNTEER_TIMES, time_options, _go_on(VOLUNTEER_LANGUAGES))
volunteer_languages = multiple_choice(
    rules.LANGUAGE, "languages", VOLUNTEER_LANGUAGES, language_options, finish_volunteer
)
