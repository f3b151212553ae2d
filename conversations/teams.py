"""/teams, for admins: the teams, a new team (typed name), a team's coordinators and referrers (each can be
moved to another team), a team's office hours and escalation wait, and moving a family from its card.

Every button is checked again by `services.team_admin` (`Action.MANAGE_TEAMS`): a forged one is refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from telegram import Update
from telegram.ext import CallbackQueryHandler

from conversations.context import BotContext
from conversations.dialogue import END, STAY, Dialogue, Draft, draft_of, private_command, typed_words
from conversations.rights import refuse
from conversations.screens import allowed, ask_typed, shown, typed_name
from conversations.ui import answer_stale, column, keyboard, reply, retire_buttons, tapped_or_stale, tapped_values
from services import team_admin
from services.callbacks import Button
from services.i18n import _, h, hi, ngettext
from storage.models import Role

NAME = "teams"
NEW_NAME = "name"
HOURS_TYPED = "hours"


@dataclass
class TeamDraft(Draft):
    """The team whose office hours are being typed."""

    team: int = 0


async def show(update: Update, context: BotContext) -> str | None:
    """/teams: every team with its counts, a button per team and one for a new team."""
    with context.session() as session:
        listed = team_admin.team_list(session=session, person=context.person, now=context.now())
    if not await allowed(update, listed.decision):
        return END
    lines = [_("<b>Teams</b>")]
    for line in listed.teams:
        lines.append(
            _("• {team}: {coordinators}, {referrers}, {families}").format(
                team=hi(line.name),
                coordinators=h(
                    ngettext("{count} coordinator", "{count} coordinators", line.coordinators).format(
                        count=line.coordinators
                    )
                ),
                referrers=h(
                    ngettext("{count} referrer", "{count} referrers", line.referrers).format(count=line.referrers)
                ),
                families=h(ngettext("{count} family", "{count} families", line.families).format(count=line.families)),
            )
        )
    buttons = [(line.name, team_admin.OPEN.data(line.team_id)) for line in listed.teams]
    buttons.append((_("➕ New team"), team_admin.NEW.data()))
    await reply(update, "\n".join(lines), column(buttons))
    return END


async def ask_name(update: Update, context: BotContext) -> str | None:
    """'New team': ask for the name."""
    prompt = _("Type the name of the new team. (Send /cancel to stop.)")
    return await ask_typed(update, context, team_admin.may_manage, prompt, NEW_NAME)


async def name_typed(update: Update, context: BotContext) -> str | None:
    """The typed name of the new team."""

    async def created(team: team_admin.Created) -> str | None:
        """Say the team is made, or ask for another name when one has it already."""
        if team.taken:
            await reply(
                update, _("There is already a team called {name}. Please type another name.").format(name=hi(team.name))
            )
            return STAY
        await reply(update, _("Team {name} is made. Send /teams to see it.").format(name=hi(team.name)))
        return END

    return await typed_name(update, context, team_admin.create_team, team_admin.MAX_NAME, created)


async def not_a_name(update: Update, context: BotContext) -> str | None:
    """A message that is not typed words at the new team's name step: ask again, and stay."""
    await reply(update, _("Please type the name of the team, or send /cancel."))
    return STAY


async def open_team(update: Update, context: BotContext) -> str | None:
    """A team: its coordinators and referrers, each with 'Move to another team', and its office hours."""
    parsed = await tapped_or_stale(update, team_admin.OPEN)
    if parsed is None:
        return END
    team_id = parsed[0]
    with context.session() as session:
        view = team_admin.team_view(session=session, person=context.person, team_id=team_id, now=context.now())
    team = await shown(update, view.decision, view.team)
    if team is None:
        return END
    lines = [_("<b>Team {team}</b>").format(team=hi(team.name))]
    lines.append(ngettext("{count} family.", "{count} families.", view.families).format(count=hi(view.families)))
    buttons = []
    for member in view.members:
        role = _("coordinator") if member.role == Role.COORDINATOR else _("referrer")
        lines.append(f"• {hi(member.name)} ({h(role)})")
        buttons.append(
            (_("Move {name} to another team").format(name=member.name), team_admin.MOVE.data(member.person_id))
        )
    if not view.members:
        lines.append(_("No coordinators or referrers yet."))
    buttons.append((_("🕘 Office hours"), team_admin.HOURS.data(team_id)))
    buttons.append((_("◀ All teams"), team_admin.LIST.data()))
    await reply(update, "\n".join(lines), column(buttons))
    return END


async def _who_moves(
    update: Update, family_button: Button, person_button: Button
) -> tuple[bool, tuple[int, ...]] | None:
    """Whether a move button is a family's (else a coordinator's or referrer's), and its ids; None: stale, answered."""
    if (family := tapped_values(update, family_button)) is not None:
        return True, family
    if (person := tapped_values(update, person_button)) is not None:
        return False, person
    await answer_stale(update)
    return None


async def choose_team(update: Update, context: BotContext) -> str | None:
    """'Move to another team' (a coordinator, a referrer or, from the card, a family): the teams to choose."""
    tapped = await _who_moves(update, team_admin.FAMILY_MOVE, team_admin.MOVE)
    if tapped is None:
        return END
    family, parsed = tapped
    with context.session() as session:
        choices = team_admin.move_choices(
            session=session, person=context.person, person_id=parsed[0], family=family, now=context.now()
        )
    who = await shown(update, choices.decision, choices.name)
    if who is None:
        return END
    if not choices.teams:
        await reply(update, _("There is no other team yet. Make one with /teams first."))
        return END
    to = team_admin.FAMILY_TO if family else team_admin.MOVE_TO
    text = _("{name} is in the team {team}. Move to which team?").format(name=hi(who), team=hi(choices.current))
    if not family:
        text += "\n" + _("Their families stay with the team; their duo partner there becomes the primary.")
    else:
        text += "\n" + _("The history moves along; coordinators who are not in the new team let go of the family.")
    await reply(update, text, column([(name, to.data(parsed[0], team_id)) for team_id, name in choices.teams]))
    return END


async def move(update: Update, context: BotContext) -> str | None:
    """A team chosen: move the person or family (checked again), and say so."""
    tapped = await _who_moves(update, team_admin.FAMILY_TO, team_admin.MOVE_TO)
    if tapped is None:
        return END
    family, parsed = tapped
    mover = team_admin.move_family if family else team_admin.move_person
    with context.session() as session:
        moved = mover(
            session=session,
            services=context.services,
            person=context.person,
            **({"family_id": parsed[0]} if family else {"person_id": parsed[0]}),
            team_id=parsed[1],
            now=context.now(),
        )
    who = await shown(update, moved.decision, moved.name)
    if who is None:
        return END
    await retire_buttons(update)
    if not moved.changed:
        await reply(update, _("{name} is already in the team {team}.").format(name=hi(who), team=hi(moved.team)))
    else:
        await reply(update, _("{name} is now in the team {team}.").format(name=hi(who), team=hi(moved.team)))
    return END


def _hours_rows(team_id: int) -> list[list[tuple[str, str]]]:
    """The buttons under a team's office hours: the days, typing the hours, the wait, the defaults, back."""
    days = [
        (_("Mon–Fri"), team_admin.DAYS.data(team_id, "wk")),
        (_("Mon–Sat"), team_admin.DAYS.data(team_id, "six")),
        (_("Every day"), team_admin.DAYS.data(team_id, "all")),
    ]
    waits = [
        (_("Wait {count} min").format(count=minutes), team_admin.WAIT.data(team_id, minutes))
        for minutes in team_admin.WAITS
    ]
    return [
        days,
        [(_("🕘 Type the hours"), team_admin.TIMES.data(team_id))],
        waits[:2],
        waits[2:],
        [(_("Use the deployment's settings"), team_admin.DEFAULTS.data(team_id))],
        [(_("◀ Back to the team"), team_admin.OPEN.data(team_id))],
    ]


def _change_hours(context: BotContext, team_id: int, **change: Any) -> team_admin.Hours:
    """Change one office setting of the team (days, wait, window or defaults; the right checked there)."""
    with context.session() as session:
        return team_admin.change_hours(
            session=session,
            services=context.services,
            person=context.person,
            team_id=team_id,
            now=context.now(),
            **change,
        )


async def hours(update: Update, context: BotContext) -> str | None:
    """A team's office hours, and a button per change; each change shows them again."""
    query = update.callback_query
    data = query.data if query else None
    team_id: int | None = None
    change: dict[str, object] = {}
    if (parsed := team_admin.HOURS.parse(data)) is not None:
        team_id = int(parsed[0])
    elif (parsed_days := team_admin.DAYS.parse(data)) is not None:
        team_id, change = int(parsed_days[0]), {"days": str(parsed_days[1])}
    elif (parsed_wait := team_admin.WAIT.parse(data)) is not None:
        team_id, change = int(parsed_wait[0]), {"wait": int(parsed_wait[1])}
    elif (parsed_default := team_admin.DEFAULTS.parse(data)) is not None:
        team_id, change = int(parsed_default[0]), {"defaults": True}
    if team_id is None:
        await answer_stale(update)
        return END
    if change:
        office = _change_hours(context, team_id, **change)
    else:
        with context.session() as session:
            office = team_admin.show_hours(
                session=session, services=context.services, person=context.person, team_id=team_id, now=context.now()
            )
    if await shown(update, office.decision, office.team, _("Saved.") if change else None) is None:
        return END
    await reply(update, office.text, keyboard(_hours_rows(team_id)))
    return END


async def ask_hours(update: Update, context: BotContext) -> str | None:
    """'Type the hours': ask for them, like 08:30-17:00."""
    parsed = await tapped_or_stale(update, team_admin.TIMES)
    if parsed is None:
        return END
    draft_of(context, TeamDraft).team = parsed[0]
    prompt = _("Type the office hours, for example 08:30-17:00. (Send /cancel to stop.)")
    return await ask_typed(update, context, team_admin.may_manage, prompt, HOURS_TYPED, retire=False)


async def hours_typed(update: Update, context: BotContext) -> str | None:
    """The typed office hours."""
    message = update.effective_message
    window = team_admin.read_hours(message.text or "") if message is not None else None
    if window is None:
        await reply(update, _("I could not read those hours. Please type them like 08:30-17:00, or send /cancel."))
        return STAY
    team_id = draft_of(context, TeamDraft).team
    office = _change_hours(context, team_id, window=window)
    if not office.decision:
        await refuse(update, office.decision)
        return END
    if office.team is None:
        await reply(update, _("That team no longer exists."))
        return END
    await reply(update, office.text, keyboard(_hours_rows(team_id)))
    return END


async def hours_unexpected(update: Update, context: BotContext) -> str | None:
    """A message that is not typed words at the office hours step: ask again, and stay."""
    await reply(update, _("Please type the office hours like 08:30-17:00, or send /cancel."))
    return STAY


def build() -> Dialogue:
    """/teams and its buttons; a new team's name and typed office hours are the dialogue's steps."""
    return Dialogue(
        name=NAME,
        entry_points=[
            private_command("teams", show),
            CallbackQueryHandler(show, pattern=team_admin.LIST.pattern),
            CallbackQueryHandler(ask_name, pattern=team_admin.NEW.pattern),
            CallbackQueryHandler(open_team, pattern=team_admin.OPEN.pattern),
            CallbackQueryHandler(choose_team, pattern=team_admin.MOVE.pattern),
            CallbackQueryHandler(choose_team, pattern=team_admin.FAMILY_MOVE.pattern),
            CallbackQueryHandler(move, pattern=team_admin.MOVE_TO.pattern),
            CallbackQueryHandler(move, pattern=team_admin.FAMILY_TO.pattern),
            CallbackQueryHandler(hours, pattern=team_admin.HOURS.pattern),
            CallbackQueryHandler(hours, pattern=team_admin.DAYS.pattern),
            CallbackQueryHandler(hours, pattern=team_admin.WAIT.pattern),
            CallbackQueryHandler(hours, pattern=team_admin.DEFAULTS.pattern),
            CallbackQueryHandler(ask_hours, pattern=team_admin.TIMES.pattern),
        ],
        states={
            NEW_NAME: typed_words(name_typed, not_a_name),
            HOURS_TYPED: typed_words(hours_typed, hours_unexpected),
        },
        draft=TeamDraft,
    )
