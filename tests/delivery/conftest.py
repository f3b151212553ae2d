"""Real bot processes (`python -m bot`) against a sandbox in the test process, on a database the test reads.

`bots.start(...)` starts one; `.kill()` sends SIGKILL; `bots` kills whatever is left after the test.
Waiting is always polling with a deadline (`wait_until`), never a fixed sleep.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session, select

from sandbox import Sandbox
from storage import migrate, outbox_store, people
from storage.db import Database
from storage.models import InboxUpdate, OutboxMessage
from tests.waiting import PATIENCE

TOKEN = "123456789:delivery-fake-token"
ADMIN_ID = 900001
ROOT = Path(__file__).resolve().parents[2]


def wait_until(predicate: Callable[[], Any], timeout: float, what: str, *, every: float = 0.05) -> Any:
    """Poll until `predicate()` is truthy (and return it), or fail saying what did not happen.

    `timeout` is what it should take at most; the deadline is never shorter than `PATIENCE`, so a
    busy machine (several bot processes on two cores) makes a test slower, never red.
    """
    timeout = max(timeout, PATIENCE)
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(every)


class BotProcess:
    """One `python -m bot` process; its log is kept in a file and shown when a wait fails."""

    def __init__(self, process: subprocess.Popen[bytes], log: Path, name: str) -> None:
        self.process = process
        self.log = log
        self.name = name

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def tail(self, lines: int = 40) -> str:
        return "\n".join(self.log_text().splitlines()[-lines:])

    def wait_started(self, timeout: float = PATIENCE) -> None:
        try:
            wait_until(
                lambda: "runtime.started" in self.log_text() or self.process.poll() is not None, timeout, "start"
            )
        except AssertionError as error:
            raise AssertionError(f"{self.name} did not start:\n{self.tail()}") from error
        if self.process.poll() is not None:
            raise AssertionError(f"{self.name} exited with {self.process.returncode}:\n{self.tail()}")

    def wait_exit(self, timeout: float = PATIENCE) -> int:
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired as error:
            raise AssertionError(f"{self.name} did not exit:\n{self.tail()}") from error

    def alive(self) -> bool:
        return self.process.poll() is None

    def kill(self) -> None:
        if self.alive():
            self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> int:
        """A clean stop (SIGTERM), as a supervisor would do it."""
        if self.alive():
            self.process.send_signal(signal.SIGTERM)
        return self.wait_exit()


class Bots:
    """Starts bot processes for one test and cleans up after it."""

    def __init__(self, sandbox: Sandbox, database_url: str, folder: Path) -> None:
        self.sandbox = sandbox
        self.database_url = database_url
        self.folder = folder
        self.processes: list[BotProcess] = []

    def start(
        self,
        name: str = "a",
        *,
        crash_at: str | None = None,
        lease_seconds: float | None = None,
        wait: bool = True,
        **settings: Any,
    ) -> BotProcess:
        env = {key: value for key, value in os.environ.items() if "proxy" not in key.lower()}
        env.update(
            TELEGRAM_BOT_TOKEN=TOKEN,
            TELEGRAM_API_BASE_URL=self.sandbox.base_url,
            DATABASE_URL=self.database_url,
            BOT_ADMIN_IDS=str(ADMIN_ID),
            INSTANCE_ID=name,
            POLL_TIMEOUT="1",
            TICK_SECONDS="0.2",
            LOG_LEVEL="INFO",
            NO_PROXY="127.0.0.1,localhost",
            PYTHONUNBUFFERED="1",
        )
        env.pop("WAAKVLAM_CRASH_AT", None)
        if crash_at:
            env["WAAKVLAM_CRASH_AT"] = crash_at
        for key, value in settings.items():
            env[key.upper()] = str(value)
        module = "bot"
        if lease_seconds is not None:
            module = "tests.delivery.botproc"
            env["WAAKVLAM_TEST_LEASE_SECONDS"] = str(lease_seconds)
        log = self.folder / f"bot-{name}-{len(self.processes)}.log"
        with log.open("wb") as output:
            process = subprocess.Popen(
                [sys.executable, "-m", module], cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT
            )
        bot = BotProcess(process, log, f"bot {name}")
        self.processes.append(bot)
        if wait:
            bot.wait_started()
        return bot

    def close(self) -> None:
        for bot in self.processes:
            bot.kill()


class Store:
    """The test's own view of the bot's database."""

    def __init__(self, url: str) -> None:
        migrate.upgrade(url)
        self.db = Database(url)

    @contextmanager
    def session(self) -> Iterator[Session]:
        with self.db.session() as session:
            yield session

    def now(self) -> datetime:
        return datetime.now(UTC)

    def enqueue(
        self, chat_id: int, text: str, *, key: str | None = None, person_id: int | None = None, **payload: Any
    ) -> None:
        with self.session() as session:
            outbox_store.enqueue(
                session=session,
                dedupe_key=key or f"test:{chat_id}:{text}",
                chat_id=chat_id,
                person_id=person_id,
                payload={"chat_id": chat_id, "text": text, **payload},
                now=self.now(),
            )

    def outbox(self) -> list[OutboxMessage]:
        with self.session() as session:
            return list(session.exec(select(OutboxMessage).order_by(OutboxMessage.id)))  # type: ignore[arg-type]

    def inbox(self) -> dict[int, InboxUpdate]:
        with self.session() as session:
            return {row.update_id: row for row in session.exec(select(InboxUpdate))}

    def admin(self, telegram_id: int = ADMIN_ID, name: str = "Coco") -> int:
        """A signed-up admin coordinator, who receives alerts."""
        with self.session() as session:
            person = people.ensure_person(
                session=session, telegram_id=telegram_id, language="en", now=self.now(), is_admin=True
            )
            people.set_display_name(session=session, person=person, name=name, now=self.now())
            assert person.id is not None
            return person.id

    def person(self, telegram_id: int, name: str, language: str = "en") -> int:
        with self.session() as session:
            person = people.ensure_person(session=session, telegram_id=telegram_id, language=language, now=self.now())
            people.set_display_name(session=session, person=person, name=name, now=self.now())
            assert person.id is not None
            return person.id

    def dispose(self) -> None:
        self.db.dispose()


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(token=TOKEN) as sandbox:
        yield sandbox


@pytest.fixture
def db_url(sqlite_url: str) -> str:
    return sqlite_url


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    store = Store(db_url)
    yield store
    store.dispose()


@pytest.fixture
def bots(sandbox: Sandbox, db_url: str, store: Store, tmp_path: Path) -> Iterator[Bots]:
    bots = Bots(sandbox, db_url, tmp_path)
    yield bots
    bots.close()


def texts(sandbox: Sandbox, chat_id: int) -> list[str]:
    """What a chat was shown, in order (one entry per message the bot delivered there)."""
    return [message.text or "" for message in sandbox.delivered(chat_id)]
