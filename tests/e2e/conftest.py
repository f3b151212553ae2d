"""One sandbox and one bot for all end-to-end tests; each test uses its own people."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from domain.clock import FakeClock
from sandbox import Sandbox
from services.settings import Settings
from tests.e2e.harness import ADMIN_ID, TOKEN, Chat, Harness, next_user_id


@pytest.fixture(scope="session")
def sandbox() -> Iterator[Sandbox]:
    sandbox = Sandbox(token=TOKEN)
    sandbox.start()
    yield sandbox
    sandbox.stop()


@pytest.fixture(scope="session")
def harness(sandbox: Sandbox, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Harness]:
    folder: Path = tmp_path_factory.mktemp("bot")
    settings = Settings(
        telegram_bot_token=TOKEN,
        telegram_api_base_url=sandbox.base_url,
        database_url=f"sqlite:///{folder}/waakvlam.sqlite3",
        bot_admin_ids=[ADMIN_ID],
        poll_timeout=1,
        # Telegram's flood limits are kept by the sender in real time; at their real values a test would wait
        # a second after each message to a chat and three after each to a group. The delivery tests and
        # tests/e2e/test_flood.py hold the sender to the real limits; here they are 50 times wider.
        sender_global_per_second=1500,
        sender_per_chat_per_second=50,
        sender_per_group_per_minute=1000,
        # The Monday digest would reach every test's coordinators; tests/e2e/test_insight.py turns it on.
        insight_digest_enabled=False,
        _env_file=None,  # type: ignore[call-arg]
    )
    harness = Harness(sandbox, settings, FakeClock(datetime(2026, 11, 23, 9, 0, tzinfo=UTC)))
    harness.start()
    yield harness
    harness.stop()
    assert not sandbox.refusals, f"the bot made calls Telegram would refuse: {sandbox.refusals[:5]}"


@pytest.fixture
def person(sandbox: Sandbox, harness: Harness) -> Callable[..., Chat]:
    """Make a new simulated person: person(first_name="Ali", language_code="en")."""

    def make(first_name: str = "Sanne", **kwargs: object) -> Chat:
        kwargs.setdefault("language_code", "nl")
        user = sandbox.user(next_user_id(), first_name, **kwargs)
        return Chat(harness, user)

    return make


@pytest.fixture
def coordinator(sandbox: Sandbox, harness: Harness) -> Chat:
    """The admin coordinator (from BOT_ADMIN_IDS), signed up once for the whole session."""
    user = sandbox.user(ADMIN_ID, "Coco", language_code="en")
    chat = Chat(harness, user)
    found = harness.person(ADMIN_ID)
    if found is None or found.display_name is None:
        chat.say("/start")
        chat.tap("Yes, I agree")
        chat.say("Coco")
    return chat
