"""`python -m bot`: run the bot; without a token, the demo against the local sandbox."""

from __future__ import annotations

import argparse
import asyncio
import sys

from services.logs import configure_logging
from services.settings import Settings


def main(argv: list[str] | None = None) -> int:
    """The command line: run the bot (or the demo without a token), migrate, print settings, back up."""
    parser = argparse.ArgumentParser(prog="python -m bot", description="Waakvlam Telegram assistant.")
    parser.add_argument(
        "command",
        nargs="?",
        default="run",
        choices=["run", "demo", "migrate", "settings", "backup"],
        help="run (default): the bot, or the demo when TELEGRAM_BOT_TOKEN is unset; demo: chat in this "
        "terminal with the bot on a local sandbox; migrate: bring the database up to date; settings: "
        "print the configuration reference; backup FILE: copy the SQLite database while the bot runs",
    )
    parser.add_argument("target", nargs="?", help="with backup: the file to write (must not exist yet)")
    parser.add_argument(
        "--keep",
        action="store_true",
        help="with demo: keep the demo's data in data/demo.sqlite3 across restarts (or set DEMO_DATABASE_URL)",
    )
    args = parser.parse_args(argv)
    settings = Settings()
    if args.command == "settings":
        from bot.settings_doc import settings_reference

        print(settings_reference())
        return 0
    if args.command == "backup":
        from pathlib import Path

        from storage.db import backup_sqlite

        if not args.target:
            parser.error("backup needs a target file: python -m bot backup backups/waakvlam-2026-12-01.sqlite3")
        try:
            size = backup_sqlite(settings.database_url, Path(args.target))
        except (ValueError, FileExistsError) as error:
            print(f"backup: {error}", file=sys.stderr)
            return 2
        print(f"backup: {size} bytes written to {args.target}")
        return 0
    if args.command == "migrate":
        configure_logging(level=settings.log_level, secrets=settings.secrets())
        from storage import migrate

        migrate.upgrade(settings.database_url)
        return 0
    if args.command == "demo" or settings.token() is None:
        from bot.demo import run_demo

        return run_demo(settings, keep=args.keep)
    configure_logging(level=settings.log_level, secrets=settings.secrets())
    from bot.runtime import Runtime

    return asyncio.run(Runtime(settings).run_until_signal())


if __name__ == "__main__":
    sys.exit(main())
