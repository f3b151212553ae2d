"""The pause and resume buttons that families (check-ins) and volunteers (requests) share in shape.

Each side has its own buttons, its own weeks and its own service; the buttons are parsed here alike.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection
from typing import Any

from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler

from conversations.context import BotContext
from conversations.ui import answer_stale, tapped_values
from services.callbacks import Button

# Set the pause for a number of weeks, or lift it (None), and say so.
SetPause = Callable[[Update, BotContext, int | None], Awaitable[None]]


def pause_handlers(
    pause: Button, resume: Button, weeks: Collection[int], set_pause: SetPause
) -> list[BaseHandler[Any, Any, Any]]:
    """The handlers of a pause button (for one of `weeks`) and a resume button, both through `set_pause`."""

    async def on_pause(update: Update, context: BotContext) -> None:
        """A pause button: for the weeks on it, when they are among those offered."""
        parsed = tapped_values(update, pause)
        if parsed is None or parsed[0] not in weeks:
            await answer_stale(update)
            return
        await set_pause(update, context, parsed[0])

    async def on_resume(update: Update, context: BotContext) -> None:
        """'Resume now': the pause is lifted."""
        if tapped_values(update, resume) is None:
            await answer_stale(update)
            return
        await set_pause(update, context, None)

    return [
        CallbackQueryHandler(on_pause, pattern=pause.pattern),
        CallbackQueryHandler(on_resume, pattern=resume.pattern),
    ]
