"""The newcomer's demo: the real bot against the local sandbox, chatted with from this terminal."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

from pydantic import SecretStr

from bot.logs import configure_logging
from bot.settings import Settings

DEMO_TOKEN = "123456789:demo-fake-token"  # noqa: S105 (not a secret)
COORDINATOR_ID = 1000
FAMILY_ID = 1001
VOLUNTEER_ID = 1002
DEMO_DATABASE = Path("data") / "demo.sqlite3"
DEMO_AREAS = ("Centrum", "Noord", "Oost", "West")


def demo_settings(settings: Settings, base_url: str) -> Settings:
    database_url = settings.database_url
    if "database_url" not in settings.model_fields_set:
        # A fresh demo database each time, never the production file.
        for suffix in ("", "-wal", "-shm"):
            Path(f"{DEMO_DATABASE}{suffix}").unlink(missing_ok=True)
        database_url = f"sqlite:///{DEMO_DATABASE}"
    return settings.model_copy(
        update={
            # model_copy does not validate: give the field its own type.
            "telegram_bot_token": SecretStr(DEMO_TOKEN),
            "telegram_api_base_url": base_url,
            "database_url": database_url,
            "bot_admin_ids": [*settings.bot_admin_ids, COORDINATOR_ID],
            "poll_timeout": 1,
            "tick_seconds": 1.0,
        }
    )


def seed_areas(settings: Settings) -> None:
    from storage import migrate, people
    from storage.db import Database

    migrate.upgrade(settings.database_url)
    database = Database(settings.database_url)
    with database.session() as session:
        if not people.active_areas(session=session):
            from domain.clock import SystemClock

            for name in DEMO_AREAS:
                people.add_area(session=session, name=name, now=SystemClock().now())
    database.dispose()


def run_demo(settings: Settings) -> int:
    from bot.runtime import Runtime, RuntimeThread
    from bot.sandbox import Sandbox
    from bot.sandbox.terminal import run_terminal

    configure_logging(level="WARNING", secrets=[DEMO_TOKEN])
    logging.getLogger("bot").setLevel(logging.WARNING)
    sandbox = Sandbox(token=DEMO_TOKEN)
    sandbox.start()
    config = demo_settings(settings, sandbox.base_url)
    seed_areas(config)
    thread = RuntimeThread(Runtime(config))
    try:
        thread.start()
        personas = {
            "family": sandbox.user(FAMILY_ID, "Fatima", language_code="nl"),
            "volunteer": sandbox.user(VOLUNTEER_ID, "Joost", language_code="nl"),
            "coordinator": sandbox.user(COORDINATOR_ID, "Coördinator", language_code="nl"),
        }
        print(
            "Waakvlam demo: the real bot on a local Telegram sandbox (no internet, nothing leaves this "
            "machine). You are the family; type :as volunteer or :as coordinator to switch, :help for more.",
            file=sys.stdout,
        )
        run_terminal(sandbox, personas)
    finally:
        thread.stop()
        sandbox.stop()
    return 0
