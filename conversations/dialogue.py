"""Dialogues whose state lives in the database.

Written in the style of PTB's ConversationHandler (named states, each callback returns the next
state), but the state is a row, not memory: a restart, or another instance, continues the dialogue
where the person left it. ConversationHandler reads its state once at start and persistence flushes
only every minute, which would lose a family's half-finished sign-up.

What a dialogue collects on the way (its draft) is a dataclass of its own, a subclass of `Draft`: the router
loads it before each step (`context.draft`, read it with `draft_of(context, SignupDraft)`) and saves it
with the next step, so no step reads a misspelt key and a field added later has its default.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from dataclasses import asdict, dataclass, field, fields
from functools import partial
from typing import Any, Self, TypeVar

from telegram import Update
from telegram.ext import Application, BaseHandler, CallbackQueryHandler, CommandHandler, MessageHandler, filters

from conversations.context import HANDLING, BotContext, handling_dialogue, services_of
from conversations.ui import not_understood
from services import dialogues
from services.logs import event

logger = logging.getLogger(__name__)

END = "__end__"
# What a dialogue step listens to in a private chat: typed words, or any message (a photo, a sticker, a voice
# note); never a command, which the commands that work everywhere take first.
PRIVATE_MESSAGE = filters.UpdateType.MESSAGE & filters.ChatType.PRIVATE
TYPED = PRIVATE_MESSAGE & filters.TEXT & ~filters.COMMAND
ANYTHING = PRIVATE_MESSAGE & ~filters.COMMAND
# A callback may return this to leave the step (and its data) as they are.
STAY = None


def private_command(command: str, callback: Any) -> BaseHandler[Any, Any, Any]:
    """A /command that works in a private chat (in a group, commands are the coordinators' topic commands)."""
    return CommandHandler(command, callback, filters=PRIVATE_MESSAGE)


def typed_words(on_words: Any, on_anything_else: Any) -> list[BaseHandler[Any, Any, Any]]:
    """A step that waits for typed words: words go to `on_words`, any other message to `on_anything_else`."""
    return [MessageHandler(TYPED, on_words), MessageHandler(ANYTHING, on_anything_else)]


Prompt = Callable[[Update, BotContext], Awaitable[None]]
Step = Callable[[Update, BotContext], Coroutine[Any, Any, str | None]]


@dataclass(frozen=True)
class AskingAgain:
    """The steps of a dialogue that asks one question a step: what a step did not expect gets its question again."""

    prompts: Mapping[str, Prompt]  # each step's question
    buttons: str  # the pattern of the dialogue's own buttons (an old or forged one is asked again; others pass)
    say_unexpected: Callable[[Update], Awaitable[None]] = not_understood  # the kind word before the question

    async def ask_again(self, update: Update, context: BotContext, step: str) -> str | None:
        """A tap or message this step did not expect: say so kindly, ask the step's question again, stay."""
        await self.say_unexpected(update)
        await self.prompts[step](update, context)
        return STAY

    def unexpected_for(self, step: str) -> Step:
        """The handler of anything this step did not expect."""

        async def callback_(update: Update, context: BotContext) -> str | None:
            """Anything this step did not expect: say so kindly and ask again."""
            return await self.ask_again(update, context, step)

        return callback_

    def step(self, handlers: list[BaseHandler[Any, Any, Any]], state: str) -> list[BaseHandler[Any, Any, Any]]:
        """A step's own handlers, then its question again for any other message or tap of the dialogue's buttons."""
        unexpected = self.unexpected_for(state)
        return [*handlers, MessageHandler(ANYTHING, unexpected), CallbackQueryHandler(unexpected, pattern=self.buttons)]


@dataclass
class Draft:
    """What a dialogue collects on its way: JSON-friendly fields, each with a default (subclass per dialogue)."""

    @classmethod
    def load(cls, data: Mapping[str, Any]) -> Self:
        """The draft saved with the step; keys this version does not know (a draft from before) are left out."""
        names = {item.name for item in fields(cls)}
        return cls(**{key: value for key, value in data.items() if key in names})

    def dump(self) -> dict[str, Any]:
        """The draft as JSON, saved with the step."""
        return asdict(self)


D = TypeVar("D", bound=Draft)


def draft_of(context: BotContext, kind: type[D]) -> D:
    """This step's draft, typed; a handler reached outside its dialogue starts from an empty one."""
    if not isinstance(context.draft, kind):
        context.draft = kind()
    return context.draft


@dataclass
class Dialogue:
    name: str
    entry_points: list[BaseHandler[Any, Any, Any]]
    states: dict[str, list[BaseHandler[Any, Any, Any]]]
    # Checked in every state of this dialogue before the state's own handlers (/cancel and the like).
    fallbacks: list[BaseHandler[Any, Any, Any]] = field(default_factory=list)
    # The dialogue's draft type; without one, its steps share the untyped `context.dialogue` dict.
    draft: type[Draft] | None = None


@dataclass
class _Match:
    dialogue: Dialogue
    handler: BaseHandler[Any, Any, Any]
    check: object
    step: str | None
    data: dict[str, Any]


class DialogueRouter(BaseHandler[Update, BotContext, None]):
    """One handler for all dialogues: finds the chat's dialogue and step, runs it, saves the next."""

    def __init__(self, dialogues: list[Dialogue]) -> None:
        """A router over these dialogues, found by name from the step saved for a chat."""
        super().__init__(self._unused, block=True)
        self.dialogues = {dialogue.name: dialogue for dialogue in dialogues}
        self._application: Application[Any, Any, Any, Any, Any, Any] | None = None

    @staticmethod
    async def _unused(update: object, context: object) -> None:  # pragma: no cover
        """Never called: the router dispatches to the dialogues' own handlers."""
        raise AssertionError("DialogueRouter dispatches to the dialogues' own handlers")

    def bind(self, application: Application[Any, Any, Any, Any, Any, Any]) -> None:
        """Remember the application, for its services."""
        self._application = application

    def check_update(self, update: object) -> _Match | None:
        """The dialogue and step this update belongs to, or None."""
        if not isinstance(update, Update) or update.effective_chat is None:
            return None
        if update.edited_message is not None:
            return None
        chat_id = update.effective_chat.id
        assert self._application is not None
        loaded, state = handling_dialogue(chat_id)
        if not loaded:
            with services_of(self._application).db.session() as session:
                state = dialogues.saved_step(session=session, chat_id=chat_id)
        step = state.step if state else None
        name = state.dialogue if state else None
        data = dict(state.data) if state else {}
        if name in self.dialogues and step is not None:
            dialogue = self.dialogues[name]
            for handler in dialogue.fallbacks + dialogue.states.get(step, []):
                check = handler.check_update(update)
                if check is not None and check is not False:
                    return _Match(dialogue, handler, check, step, data)
        for dialogue in self.dialogues.values():
            for handler in dialogue.entry_points:
                check = handler.check_update(update)
                if check is not None and check is not False:
                    return _Match(dialogue, handler, check, None, {})
        return None

    async def handle_update(  # type: ignore[override]
        self,
        update: Update,
        application: Application[Any, Any, Any, Any, Any, Any],
        check_result: _Match,
        context: BotContext,
    ) -> None:
        """Run the step's handler and save the next step with the draft."""
        match = check_result
        kind = match.dialogue.draft
        context.dialogue = dict(match.data)
        context.draft = kind.load(match.data) if kind is not None else None
        next_step = await match.handler.handle_update(update, application, match.check, context)
        data = context.draft.dump() if kind is not None and isinstance(context.draft, kind) else context.dialogue
        chat = update.effective_chat
        assert chat is not None
        services = services_of(application)
        save = partial(self._save, services, chat.id, match, next_step, data)
        handling = HANDLING.get()
        if handling is not None:
            # Saved in the transaction that marks the update handled (bot.inbox): one transaction less,
            # and a crash can no longer leave the step moved on while the update counts as unhandled.
            handling.at_finish.append(save)
        else:
            with services.db.session() as session:
                save(session)
        event(logger, "dialogue.step", dialogue=match.dialogue.name, step=str(next_step))

    @staticmethod
    def _save(
        services: Any, chat_id: int, match: _Match, next_step: object, data: dict[str, Any], session: Any
    ) -> None:
        """Save the dialogue's next step (or end it)."""
        if next_step == END:
            dialogues.end_dialogue(session=session, chat_id=chat_id)
            return
        step = next_step if isinstance(next_step, str) else match.step
        if step is not None:
            dialogues.save_step(
                session=session,
                chat_id=chat_id,
                dialogue=match.dialogue.name,
                step=step,
                data=data,
                now=services.clock.now(),
            )
