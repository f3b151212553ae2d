"""The process `bench.footprint` measures: the real bot, or a bare echo bot, reporting its own memory.

After start the bot detects the language of one long family message, as the first one relayed does, so
langdetect's profiles are loaded when its memory is read.

Imports stay inside the functions, so the echo bot loads python-telegram-bot and nothing of Waakvlam.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import resource
from pathlib import Path

TOKEN = "123456789:bench-fake-token"
# A family's first long message is detected before it is relayed, and that loads langdetect's profiles.
FAMILY_MESSAGE = "Kan iemand morgen helpen met boodschappen? Mijn dochter is ziek."


def _status() -> dict[str, int]:
    values = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        name, _, rest = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            values[name] = int(rest.split()[0])
    values.setdefault("VmHWM", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
    return values


async def _child_bot(url: str, api: str, seconds: float) -> dict[str, int]:
    # Only what the bot itself imports (not the benchmarks' helpers, which bring the sandbox along).
    from bot.runtime import Runtime
    from services.settings import Settings

    imported = _status()["VmRSS"]
    settings = Settings(  # type: ignore[call-arg]
        telegram_bot_token=TOKEN,  # type: ignore[arg-type]
        telegram_api_base_url=api,
        database_url=url,
        bot_admin_ids=[900001],
        poll_timeout=1,
        log_level="ERROR",
        tick_seconds=1.0,
        _env_file=None,
    )
    runtime = Runtime(settings)
    await runtime.start()
    started = _status()["VmRSS"]
    await asyncio.sleep(seconds)
    # After the run, not before: loading the profiles holds the event loop, and the first poll must not wait.
    from domain.language import detect_language

    if detect_language(FAMILY_MESSAGE) != "nl":
        raise RuntimeError(f"not detected as Dutch: {FAMILY_MESSAGE!r}")
    status = _status()
    await runtime.stop()
    return {**status, "imported": imported, "started": started}


async def _child_echo(api: str, seconds: float) -> dict[str, int]:
    from telegram import Update
    from telegram.ext import ApplicationBuilder, ContextTypes, TypeHandler

    async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        if update.effective_chat is not None:
            await context.bot.send_message(update.effective_chat.id, "ok")

    application = ApplicationBuilder().token(TOKEN).base_url(api).build()
    application.add_handler(TypeHandler(Update, echo))
    await application.initialize()
    await application.start()
    assert application.updater is not None
    await application.updater.start_polling(timeout=1)
    await asyncio.sleep(seconds)
    status = _status()
    await application.updater.stop()
    await application.stop()
    await application.shutdown()
    return status


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--api", required=True)
    parser.add_argument("--url")
    parser.add_argument("--echo", action="store_true")
    parser.add_argument("--seconds", type=float, default=2.0, help="how long to run before reading memory")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    status = asyncio.run(
        _child_echo(args.api, args.seconds) if args.echo else _child_bot(args.url, args.api, args.seconds)
    )
    print(json.dumps(status))


if __name__ == "__main__":
    main()
