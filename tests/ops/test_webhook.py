"""Webhook mode end to end: the sandbox delivers to the bot's own HTTP server, which checks the secret,
stores each update before answering 200, and serves /healthz and /metrics. Logs never show the token
or what people wrote.
"""

from __future__ import annotations

import io
import logging
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlmodel import select

from bot.runtime import Runtime, RuntimeThread
from bot.web import SECRET_HEADER, WEBHOOK_PATH
from sandbox import Sandbox
from services.logs import configure_logging
from services.settings import Settings
from storage import inbox_store
from storage.models import InboxStatus, InboxUpdate
from tests.waiting import PATIENCE, wait_until

TOKEN = "424242424:webhook-fake-token"
SECRET = "webhook-secret-value"
WORDS = "Our daughter-in-law Zwaantje is worried about the rent"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Bot:
    sandbox: Sandbox
    thread: RuntimeThread
    base: str
    buffer: io.StringIO

    @property
    def log(self) -> str:
        return self.buffer.getvalue()

    def stored(self, update_id: int) -> InboxUpdate | None:
        services = self.thread.runtime.services
        assert services is not None
        with services.db.session() as session:
            return session.exec(select(InboxUpdate).where(InboxUpdate.update_id == update_id)).first()

    def inbox_total(self) -> int:
        services = self.thread.runtime.services
        assert services is not None
        with services.db.session() as session:
            return sum(inbox_store.inbox_counts(session=session).values())


@pytest.fixture(scope="module")
def bot(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Bot]:
    folder: Path = tmp_path_factory.mktemp("webhook")
    port = free_port()
    sandbox = Sandbox(token=TOKEN)
    sandbox.start()
    settings = Settings(
        telegram_bot_token=TOKEN,
        telegram_api_base_url=sandbox.base_url,
        database_url=f"sqlite:///{folder}/waakvlam.sqlite3",
        webhook_url=f"http://127.0.0.1:{port}",
        webhook_secret=SECRET,
        webhook_listen="127.0.0.1",
        webhook_port=port,
        tick_seconds=0.2,
        _env_file=None,  # type: ignore[call-arg]
    )
    # The logging `python -m bot` configures, writing into a buffer instead of stderr.
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    configure_logging(level="INFO", secrets=settings.secrets())
    buffer = io.StringIO()
    assert isinstance(root.handlers[0], logging.StreamHandler)
    root.handlers[0].setStream(buffer)
    thread = RuntimeThread(Runtime(settings))
    thread.start()
    try:
        yield Bot(sandbox, thread, f"http://127.0.0.1:{port}", buffer)
    finally:
        thread.stop()
        sandbox.stop()
        root.handlers[:], _level = saved
        root.setLevel(saved[1])


def raw_update(update_id: int, user_id: int, text: str) -> dict[str, object]:
    user = {"id": user_id, "is_bot": False, "first_name": "Ria"}
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": int(time.time()),
            "chat": {"id": user_id, "type": "private", "first_name": "Ria"},
            "from": user,
            "text": text,
        },
    }


def test_the_bot_registers_its_webhook_with_the_secret(bot: Bot) -> None:
    assert bot.sandbox.webhook_url == bot.base + WEBHOOK_PATH


def test_a_person_talks_to_the_bot_through_the_webhook(bot: Bot) -> None:
    person = bot.sandbox.user(7001, "Ria", language_code="en")
    person.send("/start")
    person.wait_for_messages(2, timeout=PATIENCE)
    assert any("Waakvlam" in (message.text or "") for message in person.messages)
    # The secret travelled with every delivery: the sandbox saw no refused webhook call.
    wait_until(lambda: not bot.sandbox.pending_updates(), "every delivery confirmed")


@pytest.mark.parametrize("header", [None, "", "wrong-secret", SECRET + "x", SECRET[:-1]])
def test_a_wrong_or_missing_secret_gets_403_and_nothing_is_stored(bot: Bot, header: str | None) -> None:
    before = bot.inbox_total()
    headers = {} if header is None else {SECRET_HEADER: header}
    response = httpx.post(bot.base + WEBHOOK_PATH, json=raw_update(990_001, 7002, "hello"), headers=headers)
    assert response.status_code == 403
    assert bot.stored(990_001) is None and bot.inbox_total() == before


def test_an_update_is_stored_before_200_and_a_repeat_acts_once(bot: Bot) -> None:
    person = bot.sandbox.user(7003, "Sem", language_code="en")
    before = bot.inbox_total()
    update = raw_update(990_100, person.user_id, "/help")
    headers = {SECRET_HEADER: SECRET}
    response = httpx.post(bot.base + WEBHOOK_PATH, json=update, headers=headers)
    assert response.status_code == 200
    assert bot.stored(990_100) is not None, "200 means the update is already in the database"
    for _ in range(2):
        assert httpx.post(bot.base + WEBHOOK_PATH, json=update, headers=headers).status_code == 200
    # Handled means answered (the reply is sent before the row is marked done): then count.
    wait_until(lambda: (row := bot.stored(990_100)) is not None and row.status == InboxStatus.DONE, "handled")
    assert len(person.messages) == 1, "three deliveries of one update act once"
    assert bot.stored(990_100) is not None and bot.inbox_total() == before + 1, "stored once"


def test_bad_bodies_are_refused_without_a_traceback(bot: Bot) -> None:
    headers = {SECRET_HEADER: SECRET, "content-type": "application/json"}
    assert httpx.post(bot.base + WEBHOOK_PATH, content=b"{not json", headers=headers).status_code == 400
    assert httpx.post(bot.base + WEBHOOK_PATH, json=[1, 2], headers=headers).status_code == 400
    assert httpx.post(bot.base + WEBHOOK_PATH, json={"update_id": "x"}, headers=headers).status_code == 400
    assert "Traceback" not in bot.log


def test_healthz_reports_database_loops_and_backlog(bot: Bot) -> None:
    response = httpx.get(bot.base + "/healthz")
    body = response.json()
    assert response.status_code == 200 and body["ok"] is True and body["database"] is True
    assert set(body["loops"]) >= {"sender", "inbox", "tick"} and all(body["loops"].values())
    assert {"outbox_backlog", "outbox_oldest_seconds", "inbox_waiting", "jobs_due"} <= set(body)


def test_metrics_are_prometheus_text(bot: Bot) -> None:
    response = httpx.get(bot.base + "/metrics")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    samples: dict[str, float] = {}
    for line in response.text.splitlines():
        if line.startswith("#"):
            assert line.startswith(("# HELP waakvlam_", "# TYPE waakvlam_")), line
            continue
        name, value = line.rsplit(" ", 1)
        samples[name] = float(value)
    for expected in (
        "waakvlam_outbox_backlog",
        "waakvlam_outbox_oldest_seconds",
        "waakvlam_escalations_open",
        "waakvlam_escalations_oldest_seconds",
        "waakvlam_checkins_due",
        "waakvlam_checkins_late",
    ):
        assert expected in samples, expected
    assert samples['waakvlam_updates_total{status="done"}'] >= 1
    assert "# TYPE waakvlam_messages_total gauge" in response.text
    assert samples["waakvlam_webhook_refused_total"] >= 5


def test_logs_never_show_the_token_the_secret_or_what_people_wrote(bot: Bot) -> None:
    person = bot.sandbox.user(7004, "Zwaantje", language_code="en")
    person.send("/start")
    person.wait_for_messages(1, timeout=PATIENCE)
    person.send(WORDS)
    person.wait_for_messages(2, timeout=PATIENCE)
    text = bot.log
    assert "runtime.started" in text, f"the bot's own events are in the log:\n{text}"
    for secret in (TOKEN, TOKEN.split(":")[1], SECRET, WORDS, "worried about the rent"):
        leaks = [line for line in text.splitlines() if secret in line]
        assert not leaks, f"{secret!r} is in the log: {leaks[:3]}"
