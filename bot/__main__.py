"""`python -m bot`: run the bot; without a token, the demo against the local sandbox."""

from __future__ import annotations

import argparse
import asyncio
import sys

from bot.logs import configure_logging
from bot.settings import Settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot", description="Waakvlam Telegram assistant.")
    parser.add_argument(
        "command",
        nargs="?",
        default="run",
        choices=["run", "demo", "migrate", "settings"],
        help="run (default): the bot, or the demo when TELEGRAM_BOT_TOKEN is unset; demo: chat in this "
        "terminal with the bot on a local sandbox; migrate: bring the database up to date; settings: "
        "print the configuration reference",
    )
    args = parser.parse_args(argv)
    settings = Settings()
    if args.command == "settings":
        from bot.settings_doc import settings_reference

        print(settings_reference())
        return 0
    if args.command == "migrate":
        configure_logging(level=settings.log_level, secrets=[settings.token() or ""])
        from storage import migrate

        migrate.upgrade(settings.database_url)
        return 0
    if args.command == "demo" or settings.token() is None:
        from bot.demo import run_demo

        return run_demo(settings)
    configure_logging(level=settings.log_level, secrets=[settings.token() or ""])
    from bot.runtime import Runtime

    asyncio.run(Runtime(settings).run_until_signal())
    return 0


if __name__ == "__main__":
    sys.exit(main())
