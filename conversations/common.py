"""Commands that work everywhere: /help, /language, /privacy, /mydata, /delete, /cancel, /menu."""

from __future__ import annotations

import io
import logging
from typing import Any

from telegram import InputFile, Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, filters

from conversations import menu
from conversations.context import BotContext
from conversations.ui import answer_button, column, language_keyboard, reply, retire_buttons
from services import language as languages
from services import leaving
from services.dialogues import stop_dialogue
from services.groups import make_coordinator_group
from services.i18n import LANGUAGE_NAMES, N_, _, h, normalise_language, use_language
from services.logs import event
from services.privacy import DELETE_NO, DELETE_YES, export_own_data, privacy_notice
from storage.models import Person, Role

logger = logging.getLogger(__name__)

PRIVATE = filters.ChatType.PRIVATE

# (command, description) for Telegram's command menu; descriptions are translated when published.
COMMANDS: list[tuple[str, str]] = [
    ("start", N_("Start or continue")),
    ("menu", N_("What you can do")),
    ("help", N_("Help")),
    ("language", N_("Change language")),
    ("privacy", N_("What we store and why")),
    ("mydata", N_("See all your data")),
    ("delete", N_("Delete your data")),
    ("cancel", N_("Stop what you are doing")),
]


# Every command a coordinator has, one line each, as /help shows it to a coordinator. The single list:
# tests/e2e/test_help.py compares it with the commands the running bot registers, so none is left out.
COORDINATOR_HELP: list[tuple[str, str]] = [
    ("menu", N_("everything you can do, as buttons")),
    ("concerns", N_("open concerns: take, answer or close one")),
    ("families", N_("your families, each with its card and timeline")),
    ("waiting", N_("your team's waiting list, longest waiting first")),
    ("match", N_("lasting matches of your families: propose one, see their state, pause or end one")),
    ("requests", N_("requests nobody has accepted yet, to ask a volunteer yourself")),
    ("volunteers", N_("volunteers waiting for intake, approved volunteers and their VOG")),
    ("areas", N_("the neighbourhoods people choose from")),
    ("teams", N_("admins: the teams, who works in which, and each team's office hours")),
    ("invite", N_("an invite link for a family, a volunteer or a coordinator")),
    ("digest", N_("this week's picture, now")),
    ("stats", N_("anonymous figures of a period, for example /stats quarter")),
    ("export", N_("the same figures as files, for example /export 4w")),
]
# In the coordinators' group: in a family's topic, and /setgroup (admins) to make a group that group.
COORDINATOR_GROUP_HELP: list[tuple[str, str]] = [
    ("take", N_("in a family's topic: you take its open concern")),
    ("close", N_("in a family's topic: close its concern with a short note, /close what was done")),
    ("family", N_("in a family's topic: the family card")),
    ("rhythm", N_("in a family's topic: the family card, to change the check-in rhythm")),
    ("checkin", N_("in a family's topic: send a check-in now")),
    ("answers", N_("in a family's topic: the latest check-in answers")),
    ("setgroup", N_("in a group, by an admin: make it the coordinators' group")),
]
# Commands of families, volunteers and referrers only, left out of a coordinator's /help.
NOT_FOR_COORDINATORS = ("ask", "talk", "tasks", "refer", "referrals")  # families, volunteers, referrers


def command_menu() -> list[tuple[str, str]]:
    """Telegram's command menu, in the current language."""
    return [(name, _(description)) for name, description in COMMANDS]


# --- coordinators' group --------------------------------------------------------------------------


async def refuse_group(update: Update, context: BotContext) -> None:
    """In a group that is not the coordinators' group, answer commands with the way to a private chat."""
    message = update.effective_message
    user = update.effective_user
    if message is None or user is None or not message.text or not message.text.startswith("/"):
        return
    if message.text.split()[0].split("@")[0] == "/setgroup" and user.id in context.services.settings.bot_admin_ids:
        await set_group(update, context)
        return
    # Nothing is stored about people in foreign groups, so Telegram's language code is all we have.
    with context.session() as session:
        language = languages.language_of_user(
            session=session, telegram_id=user.id, fallback=normalise_language(user.language_code)
        )
    with use_language(language):
        text = _(
            "I only work in a private chat, so that what you share stays between you and us. "
            "Tap here to talk to me: {link}"
        ).format(link=h(f"https://t.me/{context.services.bot_username}"))
    await message.reply_text(text)


async def set_group(update: Update, context: BotContext) -> None:
    """/setgroup in a group: make it the coordinators' group (admins only)."""
    chat = update.effective_chat
    user = update.effective_user
    if chat is None or user is None or chat.type == "private":
        return
    if user.id not in context.services.settings.bot_admin_ids:
        await reply(update, _("Only a coordinator with admin rights can do that."))
        return
    admin = context.person
    with context.session() as session:
        team_id = admin.team_id if admin is not None else None
        make_coordinator_group(session=session, chat_id=chat.id, now=context.now(), team_id=team_id)
    await reply(update, _("This group is now the coordinators' group. Concerns and alerts will arrive here."))


# --- help, menu, privacy --------------------------------------------------------------------------


def role_of(context: BotContext) -> str | None:
    """The role of a signed-up person, else None."""
    person = context.person
    return person.role if person and person.consent_at else None


def coordinator_help() -> str:
    """A coordinator's commands, one line each (from `COORDINATOR_HELP` and `COORDINATOR_GROUP_HELP`)."""
    lines = [_("<b>Your commands</b>")]
    lines += [f"/{name}: {h(_(text))}" for name, text in COORDINATOR_HELP]
    lines += ["", _("<b>In the coordinators' group</b>")]
    lines += [f"/{name}: {h(_(text))}" for name, text in COORDINATOR_GROUP_HELP]
    return "\n".join(lines)


async def show_help(update: Update, context: BotContext) -> None:
    """/help: what the bot is for and what this person can do."""
    role = role_of(context)
    lines = [_("<b>Waakvlam</b> keeps you in touch with neighbours who help and with your coordinator.")]
    if role == Role.FAMILY:
        lines.append(_("Use /menu to ask for help, see your requests or talk to someone."))
    elif role == Role.VOLUNTEER:
        lines.append(_("Use /menu to see requests, your tasks and your availability."))
    elif role == Role.COORDINATOR:
        lines.append(coordinator_help())
    elif role == Role.REFERRER:
        lines.append(
            _(
                "Use /refer to refer a family: you get a link to give them. /referrals shows your referrals and, "
                "only if the family agreed, how things go."
            )
        )
    else:
        lines.append(_("Send /start to sign up. It takes two minutes."))
    lines.append(
        _("/language changes the language, /privacy explains what we store, /mydata shows it, /delete erases it.")
    )
    lines.append(_("/cancel stops whatever you are doing."))
    lines.append(
        _(
            "I am a bot, not a counsellor. In an emergency, call 112. Worried about violence or abuse at home: "
            "Veilig Thuis 0800-2000. Thinking about suicide: 113 Zelfmoordpreventie, 113 or 0800-0113."
        )
    )
    await reply(update, "\n\n".join(lines))


async def show_privacy(update: Update, context: BotContext) -> None:
    """/privacy: the privacy notice."""
    await reply(update, privacy_notice(context.services.settings))


async def show_menu(update: Update, context: BotContext) -> None:
    """/menu: the actions for this person's role."""
    if context.person is None or context.person.consent_at is None:
        await reply(update, _("You are not signed up yet. Send /start to begin."))
        return
    await menu.send_menu(update, context)


# --- language -------------------------------------------------------------------------------------


async def ask_language(update: Update, context: BotContext) -> None:
    """/language: offer every shipped language, each in its own name."""
    await reply(update, _("Which language do you want?"), language_keyboard())


# --- my data --------------------------------------------------------------------------------------


async def send_my_data(update: Update, context: BotContext) -> None:
    """/mydata: everything stored about the person, readable and as JSON."""
    person = context.person
    if person is None or person.consent_at is None:
        language = person.language if person else "nl"
        await reply(
            update,
            _("We store nothing about you except your language choice ({language}).").format(
                language=h(LANGUAGE_NAMES.get(language, language))
            ),
        )
        return
    with context.session() as session:
        export = export_own_data(
            session=session, person_id=person.id or 0, zone=context.services.settings.timezone, now=context.now()
        )
    assert export is not None
    await reply(update, export.text)
    chat = update.effective_chat
    assert chat is not None
    await chat.send_document(InputFile(io.BytesIO(export.document), filename=export.filename))
    event(logger, "privacy.export", person_id=person.id)


# --- delete ---------------------------------------------------------------------------------------


async def ask_delete(update: Update, context: BotContext) -> None:
    """/delete: confirm before erasing."""
    if context.person is None or context.person.consent_at is None:
        await reply(update, _("There is nothing to delete: we only store your language choice."))
        return
    await reply(
        update,
        _("Do you want to delete all your data? This cannot be undone. You can always sign up again."),
        column([(_("Yes, delete everything"), DELETE_YES.data()), (_("No, keep it"), DELETE_NO.data())]),
    )


async def _delete_button(update: Update, context: BotContext) -> Person | None:
    """A delete button pressed: retire it; the signed-up person, or None (told there is nothing to delete)."""
    await answer_button(update)
    await retire_buttons(update)
    person = context.person
    if person is None or person.consent_at is None:
        await reply(update, _("There is nothing to delete."))
        return None
    return person


async def confirm_delete(update: Update, context: BotContext) -> None:
    """'Yes, delete everything': erase, anonymising only what an open safety case needs."""
    person = await _delete_button(update, context)
    if person is None:
        return
    with context.session() as session:
        keep_stub = leaving.erase_by_id(
            session=session, services=context.services, person_id=person.id or 0, now=context.now()
        )
    context.person = None
    event(logger, "privacy.erased", person_id=person.id, safety_stub=keep_stub)
    await reply(
        update,
        _("Your data has been deleted. Thank you for the time with us. Send /start if you ever want to come back."),
    )


async def keep_data(update: Update, context: BotContext) -> None:
    """'No, keep it': nothing is deleted."""
    if await _delete_button(update, context) is not None:
        await reply(update, _("Nothing was deleted."))


# --- cancel ---------------------------------------------------------------------------------------


async def cancel(update: Update, context: BotContext) -> None:
    """/cancel: leave any dialogue; what was already saved stays, nothing half-done is sent."""
    chat = update.effective_chat
    assert chat is not None
    with context.session() as session:
        stopped = stop_dialogue(session=session, chat_id=chat.id)
    if not stopped:
        await reply(update, _("There was nothing to stop. Send /menu to see what you can do."))
        return
    if context.person is not None and context.person.consent_at is not None:
        await reply(update, _("Stopped. Send /menu when you want to do something else."))
    else:
        await reply(update, _("Stopped. Send /start when you want to continue."))


def build() -> list[BaseHandler[Any, Any, Any]]:
    """The commands that work everywhere, and the language and delete buttons."""
    private_commands = filters.UpdateType.MESSAGE & PRIVATE
    return [
        CommandHandler("cancel", cancel, filters=private_commands),
        CommandHandler("help", show_help, filters=private_commands),
        CommandHandler("privacy", show_privacy, filters=private_commands),
        CommandHandler("language", ask_language, filters=private_commands),
        CommandHandler("mydata", send_my_data, filters=private_commands),
        CommandHandler("delete", ask_delete, filters=private_commands),
        CommandHandler("menu", show_menu, filters=private_commands),
        CommandHandler("setgroup", set_group, filters=filters.UpdateType.MESSAGE & filters.ChatType.GROUPS),
        CallbackQueryHandler(confirm_delete, pattern=DELETE_YES.pattern),
        CallbackQueryHandler(keep_data, pattern=DELETE_NO.pattern),
    ]
