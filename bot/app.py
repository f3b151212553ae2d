"""Application factory and the one place where handlers are registered."""

from __future__ import annotations

import logging
from typing import Any

from telegram import LinkPreviewOptions, Update
from telegram.constants import ParseMode
from telegram.ext import (
    Application,
    ApplicationBuilder,
    ApplicationHandlerStop,
    ContextTypes,
    Defaults,
    TypeHandler,
)

from bot.http_client import AiohttpRequest
from conversations import (
    alerts,
    approvals,
    areas,
    cases,
    casework,
    checkins,
    common,
    concerns,
    coordinator_group,
    dialogue,
    fallback,
    family_card,
    insight,
    invites,
    languages,
    match_management,
    match_sides,
    menu,
    question_reviews,
    questions,
    referrals,
    requests,
    signup,
    talk,
    teams,
    volunteer_profile,
    volunteer_tasks,
    volunteering,
)
from conversations.context import HANDLING, BotContext
from services import dialogues, groups, identity
from services.context import Services
from services.i18n import N_, normalise_language, set_language
from services.logs import event
from storage.models import Role

logger = logging.getLogger(__name__)

AnyApplication = Application[Any, BotContext, Any, Any, Any, Any]


async def load_person(update: Update, context: BotContext) -> None:
    """Runs first for every update: who is this, in which language, and may they use the bot here."""
    services = context.services
    user = update.effective_user
    chat = update.effective_chat
    if update.edited_message is not None:
        # An edit must never re-run a command or a dialogue step.
        raise ApplicationHandlerStop
    private = chat is not None and chat.type == "private"
    kicked = update.my_chat_member is not None and update.my_chat_member.new_chat_member.status == "kicked"
    handling = HANDLING.get()
    now = services.clock.now()
    # The group check, the person and the dialogue step: one transaction for all three.
    with context.session() as session:
        foreign_group = (
            chat is not None
            and not private
            and not groups.is_coordinator_group(session=session, settings=services.settings, chat_id=chat.id)
        )
        if foreign_group or user is None or user.is_bot:
            writer = None
        else:
            writer = identity.who_writes(
                session=session,
                services=services,
                telegram_id=user.id,
                language=normalise_language(user.language_code),
                private=private,
                kicked=kicked,
                now=now,
            )
            if handling is not None and chat is not None:
                # The dialogue router reads the chat's step from here.
                handling.dialogue = dialogues.saved_step(session=session, chat_id=chat.id)
                handling.dialogue_chat_id = chat.id
    if foreign_group:
        await common.refuse_group(update, context)
        raise ApplicationHandlerStop
    if writer is None or user is None:
        raise ApplicationHandlerStop
    person = writer.person
    if writer.back:
        services.outbox_signal.set()
    context.person = person
    if handling is not None:
        handling.person, handling.person_loaded = person, True
    set_language(person.language if person else normalise_language(user.language_code))


async def on_error(update: object, context: BotContext) -> None:
    """Log the failure without contents and let the inbox record it.

    Nothing is said to the person here: the inbox tries the update again in a moment, and only when it
    keeps failing tells them (and a coordinator) the truth, through the outbox (services.handover).
    """
    error = context.error
    update_id = update.update_id if isinstance(update, Update) else None
    logger.error("handler.error update_id=%s error=%s", update_id, type(error).__name__, exc_info=error)
    if update_id is not None:
        context.services.handler_errors[update_id] = f"{type(error).__name__}: {error}"[:500]


def register_handlers(application: AnyApplication) -> None:
    """Every handler, in one place. Groups run in order; within a group the first match wins."""
    # Group -1: identify the person and refuse edits and foreign groups before anything else.
    application.add_handler(TypeHandler(Update, load_person), group=-1)
    # The order of these calls is the order in which handlers are tried.
    _register_before_dialogues(application)
    _register_dialogues(application)
    _register_menu(application)
    # Last: anything nobody else took gets a kind answer and a way forward. For signed-up families and
    # volunteers the fallback offers to pass free text on (conversations.concerns.outside_message).
    for handler in fallback.build():
        application.add_handler(handler)

    application.add_error_handler(on_error)


def _register_before_dialogues(application: AnyApplication) -> None:
    """The handlers that must win over a dialogue in progress: commands, language, group relay, buttons."""
    # Telegram telling the bot it was blocked (or unblocked) in a private chat.
    for handler in alerts.build():
        application.add_handler(handler)
    # Commands that work anywhere, even in the middle of a dialogue, come before the dialogues.
    for handler in common.build():
        application.add_handler(handler)
    # A language button works everywhere; during sign-up it carries the dialogue on (conversations.languages).
    for handler in languages.build():
        application.add_handler(handler)
    for handler in invites.build():
        application.add_handler(handler)
    for handler in referrals.build_commands():
        application.add_handler(handler)
    # Before the dialogues (order matters): the coordinators' group relay and its topic commands (nothing
    # later may swallow group messages), check-in and concern buttons that work even mid-dialogue, and
    # the urgent-word screen, so a danger sign is answered also in the middle of a dialogue.
    for handler in concerns.build_first(application):
        application.add_handler(handler)
    for handler in [*checkins.build_first(), *family_card.build_first()]:
        application.add_handler(handler)
    # Help requests (before the dialogues): offer buttons (Accept / Not this time), after-task questions,
    # task, cancel and coordinators' buttons work at any time, also in the middle of a dialogue.
    for handler in [*volunteering.build_first(), *requests.build_handlers(), *approvals.build_handlers()]:
        application.add_handler(handler)
    # The family's own questions, their reviews and casework: buttons that work at any time.
    for handler in [*questions.build(), *question_reviews.build(), *casework.build()]:
        application.add_handler(handler)
    # Lasting matches: both sides' taps and the coordinator's card and review buttons work at any time.
    for handler in [*match_sides.build(), *match_management.build_first()]:
        application.add_handler(handler)
    # A family's case (referral to closing): the case screen's buttons, /waiting, "more support" at any time.
    for handler in cases.build_first():
        application.add_handler(handler)
    # Coordinator insight: /digest, /stats, /export and their period buttons.
    for handler in insight.build():
        application.add_handler(handler)


def _register_dialogues(application: AnyApplication) -> None:
    """The one router of every dialogue, which reads each chat's step from the database."""
    # It comes before the menu's own handler so that menu buttons which open a dialogue reach it first.
    router = dialogue.DialogueRouter(
        [
            signup.build(),
            referrals.build(),
            areas.build(),
            teams.build(),
            talk.build(),
            coordinator_group.build_close_note(),
            requests.build(),
            volunteer_profile.build(),
            volunteer_tasks.build_relay(),
            approvals.build(),
            insight.build_dialogue(),
            questions.build_dialogue(),
            casework.build_dialogue(),
            match_management.build(),
            match_sides.build_contact(),
            cases.build(),
        ]
    )
    router.bind(application)
    application.add_handler(router)


def _register_menu(application: AnyApplication) -> None:
    """The menu's entries, in the order people see them, and the menu's own handlers."""
    everyone: set[str] = {Role.FAMILY, Role.VOLUNTEER, Role.COORDINATOR, Role.REFERRER}
    menu.add("invite", N_("Invite someone"), {str(Role.COORDINATOR)}, invites.ask_role)
    menu.add("refer", N_("Refer a family"), {str(Role.REFERRER)})
    menu.add("referrals", N_("My referrals"), {str(Role.REFERRER)}, referrals.show_referrals)
    menu.add("areas", N_("Neighbourhoods"), {str(Role.COORDINATOR)})
    # Help requests come first in a family's and a volunteer's menu: they are what people come for.
    requests.register_menu()
    volunteering.register_menu()
    approvals.register_menu()
    coordinator_group.register_menu()
    checkins.register_menu()
    questions.register_menu()
    family_card.register_menu()
    cases.register_menu()
    insight.register_menu()
    menu.add("matches", N_("Lasting matches"), {str(Role.COORDINATOR)})
    menu.add("language", N_("Change language"), everyone, common.ask_language)
    menu.add("privacy", N_("Privacy"), everyone, common.show_privacy)
    menu.add("mydata", N_("My data"), everyone, common.send_my_data)
    menu.add("help", N_("Help"), everyone, common.show_help)
    for handler in menu.build():
        application.add_handler(handler)


def build_application(services: Services) -> AnyApplication:
    """The PTB application for these services: HTTP clients, HTML defaults, our context type, every handler."""
    settings = services.settings
    token = settings.token()
    assert token, "a bot token is needed to build the application"
    request = AiohttpRequest(
        connection_pool_size=settings.sender_max_in_flight + 8,
        read_timeout=15.0,
        write_timeout=15.0,
        connect_timeout=10.0,
        pool_timeout=10.0,
    )
    poll_request = AiohttpRequest(connection_pool_size=2, read_timeout=settings.poll_timeout + 15.0)
    application = (
        ApplicationBuilder()
        .token(token)
        .base_url(settings.telegram_api_base_url)
        .base_file_url(settings.telegram_api_base_url.replace("/bot", "/file/bot"))
        .request(request)
        .get_updates_request(poll_request)
        .defaults(Defaults(parse_mode=ParseMode.HTML, link_preview_options=LinkPreviewOptions(is_disabled=True)))
        .context_types(ContextTypes(context=BotContext))
        # Updates come from the inbox (bot.inbox), not from PTB's Updater.
        .updater(None)
        # Order within a chat matters for dialogues; the inbox worker feeds one update at a time.
        .concurrent_updates(False)
        .build()
    )
    application.bot_data["services"] = services
    register_handlers(application)
    event(logger, "app.built", handlers=sum(len(group) for group in application.handlers.values()))
    return application
