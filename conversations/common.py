"""Commands that work everywhere: /help, /language, /privacy, /mydata, /delete, /cancel, /menu."""

from __future__ import annotations

import io
import json
import logging
from datetime import UTC, datetime
from typing import Any

from telegram import InputFile, Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, filters

from conversations import menu
from conversations.context import BotContext
from conversations.ui import answer_button, callback, column, parse_callback, reply, retire_buttons
from services.groups import coordinator_group, set_coordinator_group
from services.i18n import (
    LANGUAGE_NAMES,
    N_,
    _,
    format_moment,
    h,
    hi,
    normalise_language,
    shipped_languages,
    use_language,
)
from services.logs import event
from services.settings import Settings
from services.skills import SKILL_LABELS as SKILL_LABELS  # re-exported for the modules that read it here
from services.skills import skill_label as skill_label
from storage import people
from storage.models import Role

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
    ("requests", N_("requests nobody has accepted yet, to ask a volunteer yourself")),
    ("volunteers", N_("volunteers waiting for intake, approved volunteers and their VOG")),
    ("areas", N_("the neighbourhoods people choose from")),
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
# Commands for families and volunteers only (a coordinator is told to use another one).
NOT_FOR_COORDINATORS = ("ask", "talk", "tasks")


def command_menu() -> list[tuple[str, str]]:
    return [(name, _(description)) for name, description in COMMANDS]


# --- coordinators' group --------------------------------------------------------------------------


def is_coordinator_group(context: BotContext, chat_id: int) -> bool:
    with context.session() as session:
        return coordinator_group(session=session, settings=context.services.settings) == chat_id


async def refuse_group(update: Update, context: BotContext) -> None:
    """In a group that is not the coordinators' group, answer commands with the way to a private chat."""
    message = update.effective_message
    user = update.effective_user
    if message is None or user is None or not message.text or not message.text.startswith("/"):
        return
    if message.text.split()[0].split("@")[0] == "/setgroup" and user.id in context.services.settings.bot_admin_ids:
        await set_group(update, context)
        return
    with context.session() as session:
        person = people.get_person_by_telegram_id(session=session, telegram_id=user.id)
    # Nothing is stored about people in foreign groups, so Telegram's language code is all we have.
    with use_language(person.language if person else normalise_language(user.language_code)):
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
    with context.session() as session:
        set_coordinator_group(session=session, chat_id=chat.id)
        people.audit(
            session=session,
            actor_id=None,
            action="coordinator_group_set",
            subject_id=None,
            now=context.now(),
            chat_id=chat.id,
        )
    await reply(update, _("This group is now the coordinators' group. Concerns and alerts will arrive here."))


# --- help, menu, privacy --------------------------------------------------------------------------


def role_of(context: BotContext) -> str | None:
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


def privacy_notice(settings: Settings) -> str:
    return "\n\n".join(
        [
            _("<b>Your privacy</b>"),
            "\n".join(
                [
                    _("<b>What we store:</b>"),
                    "• "
                    + _(
                        "For everyone: your Telegram account number, so that we can write to you; the name you "
                        "want to be called; your language and time zone; when you agreed to this notice; and "
                        "whether our messages reach you."
                    ),
                    "• "
                    + _(
                        "For families: your neighbourhood; if you want, the number and ages of your children; the "
                        "street, house number and phone number you give for a task; your requests for help (what, "
                        "when, where, your note or voice message), which volunteers they were offered to, and how "
                        "they went; how often we check in with you, and your answers; concerns you or others raised "
                        "with your coordinator, who was told, and how they were handled; which messages were passed "
                        "on between you and your coordinator, in your own topic in the coordinators' group; and "
                        "your support volunteer, if you have one."
                    ),
                    "• "
                    + _(
                        "For volunteers: where and when you can help, with what, and which languages you speak; the "
                        "date of your VOG and whether you are approved; your pauses and how many requests a week "
                        "you want; the requests offered to you, your answers, the tasks you took, and how they went."
                    ),
                    "• "
                    + _(
                        "For coordinators: your duo partner, the invite links you made, and what you asked "
                        "colleagues to agree to."
                    ),
                    "• "
                    + _(
                        "For everyone as well: a timeline of what happened (without what was said), a log of who "
                        "looked at your record and when, planned reminders and check-ins, unfinished conversations "
                        "with the bot, and for a short time the messages between you and the bot."
                    ),
                ]
            ),
            _(
                "<b>Why:</b> to match help with the right neighbour and to let your coordinator stay in touch. "
                "Nothing else, and never for advertising."
            ),
            _(
                "<b>Who sees it:</b> your coordinator sees your profile and your messages to them. "
                "A volunteer sees only what a task needs (your first name, neighbourhood, what and when), "
                "and your street only after accepting that task."
            ),
            _(
                "<b>How long:</b> your profile as long as you use Waakvlam. Texts of finished requests are "
                "deleted after {requests} days. Messages you send the bot are deleted as soon as they are handled; "
                "messages the bot sent are deleted after {sent} days, and a message that could not be handled "
                "after {poison} days. Unfinished conversations with the bot are deleted after {drafts} days."
            ).format(
                requests=hi(settings.request_retention_days),
                sent=hi(settings.retention_sent_messages_days),
                poison=hi(settings.retention_poison_days),
                drafts=hi(settings.retention_dialogue_days),
            ),
            _(
                "<b>If you delete your data:</b> everything about you is deleted or made anonymous at once, "
                "also in messages we sent to others about you. Anyone who was helping you, or whom you were "
                "helping, is told kindly. Only when a worry about safety is still open do we keep an anonymous "
                "record of it, without your name, until it is closed."
            ),
            _("<b>Your rights:</b> /mydata shows everything we store about you; /delete erases it."),
        ]
    )


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


def language_keyboard() -> Any:
    return column([(LANGUAGE_NAMES.get(code, code), callback("lang", code)) for code in shipped_languages()])


async def ask_language(update: Update, context: BotContext) -> None:
    """/language: offer every shipped language, each in its own name."""
    await reply(update, _("Which language do you want?"), language_keyboard())


# --- my data --------------------------------------------------------------------------------------


# What each table holds, as the person reads it in /mydata (the file's "labels").
TABLE_LABELS: dict[str, str] = {
    "person": N_("You"),
    "familyprofile": N_("Family profile (neighbourhood, children, street, phone, check-in rhythm)"),
    "volunteerprofile": N_("Volunteer profile"),
    "volunteerarea": N_("Your neighbourhoods"),
    "volunteerskill": N_("What you can help with"),
    "coordinatorprofile": N_("Coordinator profile"),
    "invite": N_("Invite links"),
    "dialoguestate": N_("Unfinished conversation with the bot (a draft)"),
    "helprequest": N_("Help requests and tasks"),
    "requestoffer": N_("Requests offered to you, or your requests offered to volunteers"),
    "taskoutcome": N_("Whether tasks happened, and how they went"),
    "checkin": N_("Check-ins and your answers"),
    "concern": N_("Concerns and their handling"),
    "escalationstep": N_("Who was told about a concern, and when"),
    "familytopic": N_("Your topic in the coordinators' group"),
    "relaylink": N_("Messages passed on between you and your coordinator"),
    "timelineevent": N_("Timeline (what happened, without contents)"),
    "auditentry": N_("Audit log (who looked at your record, and when)"),
    "inboxupdate": N_("Messages you sent the bot that are still stored"),
    "outboxmessage": N_("Messages the bot sent you that are still stored"),
    "scheduledjob": N_("Planned reminders and check-ins"),
}


def table_label(name: str) -> str:
    return _(TABLE_LABELS[name]) if name in TABLE_LABELS else name


def readable_export(data: dict[str, Any], zone: str) -> str:
    """The export as the person reads it; times in their own zone and language."""
    person = data["person"]
    lines = [_("<b>What Waakvlam stores about you</b>")]
    lines.append(_("Name: {name}").format(name=hi(person.get("display_name") or "-")))
    lines.append(
        _("Language: {language}").format(language=h(LANGUAGE_NAMES.get(person["language"], person["language"])))
    )
    if person.get("role"):
        lines.append(_("Role: {role}").format(role=h(role_label(person["role"]))))
    if person.get("consent_at"):
        lines.append(
            _("Consent given: {when} (version {version})").format(
                when=h(format_moment(_stored_time(person["consent_at"]), zone)),
                version=h(person.get("consent_version") or ""),
            )
        )
    family = data.get("family_profile")
    if family:
        lines.append(_("Neighbourhood: {area}").format(area=hi(family.get("area_name") or "-")))
        if family.get("children_count") is not None:
            lines.append(_("Children: {count}").format(count=hi(family["children_count"])))
        if family.get("children_ages"):
            lines.append(_("Ages: {ages}").format(ages=hi(family["children_ages"])))
        if family.get("street"):
            lines.append(_("Street: {street}").format(street=hi(family["street"])))
        if family.get("phone"):
            lines.append(_("Phone: {phone}").format(phone=hi(family["phone"])))
    volunteer = data.get("volunteer_profile")
    if volunteer:
        lines.append(_("Neighbourhoods: {areas}").format(areas=hi(", ".join(volunteer.get("areas", [])) or "-")))
        lines.append(
            _("Can help with: {skills}").format(
                skills=h(", ".join(skill_label(skill) for skill in volunteer.get("skills", [])) or "-")
            )
        )
    for name, rows in data.get("tables", {}).items():
        if rows and name not in ("person", "familyprofile", "volunteerprofile", "volunteerarea", "volunteerskill"):
            lines.append(_("{what}: {count}").format(what=h(table_label(name)), count=hi(len(rows))))
    lines.append(_("The attached file holds all of it, in a format other programs can read."))
    return "\n".join(lines)


def _stored_time(value: str) -> datetime:
    """A time from the export (ISO); a naive one is UTC, as everything stored."""
    moment = datetime.fromisoformat(value)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def role_label(role: str) -> str:
    labels: dict[str, str] = {
        Role.FAMILY: _("family"),
        Role.VOLUNTEER: _("volunteer"),
        Role.COORDINATOR: _("coordinator"),
    }
    return labels.get(role, role)


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
        fresh = people.get_person(session=session, person_id=person.id or 0)
        assert fresh is not None
        data = people.export_person(session=session, person=fresh)
        people.audit(
            session=session,
            actor_id=fresh.id,
            action="export_own_data",
            subject_id=fresh.id,
            now=context.now(),
        )
        data["labels"] = {name: table_label(name) for name in data.get("tables", {})}
        text = readable_export(data, fresh.timezone or context.services.settings.timezone)
    await reply(update, text)
    document = json.dumps(data, ensure_ascii=False, indent=2, default=str).encode()
    chat = update.effective_chat
    assert chat is not None
    await chat.send_document(InputFile(io.BytesIO(document), filename="waakvlam-my-data.json"))
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
        column([(_("Yes, delete everything"), callback("del", "yes")), (_("No, keep it"), callback("del", "no"))]),
    )


async def confirm_delete(update: Update, context: BotContext) -> None:
    """The delete buttons: erase, anonymising only what an open safety case needs."""
    parts = parse_callback(update.callback_query.data if update.callback_query else None, "del")
    await answer_button(update)
    await retire_buttons(update)
    person = context.person
    if not parts or person is None or person.consent_at is None:
        await reply(update, _("There is nothing to delete."))
        return
    if parts[0] != "yes":
        await reply(update, _("Nothing was deleted."))
        return
    from conversations import erasure  # circular at import time: erasure uses this module's helpers

    now = context.now()
    with context.session() as session:
        fresh = people.get_person(session=session, person_id=person.id or 0)
        assert fresh is not None and fresh.id is not None
        keep_stub = erasure.erase(session=session, services=context.services, person=fresh, now=now)
    context.person = None
    event(logger, "privacy.erased", person_id=person.id, safety_stub=keep_stub)
    await reply(
        update,
        _("Your data has been deleted. Thank you for the time with us. Send /start if you ever want to come back."),
    )


# --- cancel ---------------------------------------------------------------------------------------


async def cancel(update: Update, context: BotContext) -> None:
    """/cancel: leave any dialogue; what was already saved stays, nothing half-done is sent."""
    chat = update.effective_chat
    assert chat is not None
    with context.session() as session:
        state = people.get_dialogue(session=session, chat_id=chat.id)
        people.clear_dialogue(session=session, chat_id=chat.id)
    if state is None:
        await reply(update, _("There was nothing to stop. Send /menu to see what you can do."))
        return
    if context.person is not None and context.person.consent_at is not None:
        await reply(update, _("Stopped. Send /menu when you want to do something else."))
    else:
        await reply(update, _("Stopped. Send /start when you want to continue."))


def build() -> list[BaseHandler[Any, Any, Any]]:
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
        CallbackQueryHandler(confirm_delete, pattern=r"^del:"),
    ]
