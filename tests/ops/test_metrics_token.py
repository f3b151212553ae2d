"""/metrics behind an optional bearer token (`METRICS_TOKEN`), in webhook mode over real HTTP; /healthz stays
open and shows only liveness and counts, never names, ids or message contents."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from bot.runtime import Runtime, RuntimeThread
from sandbox import Sandbox
from services.settings import Settings

TOKEN = "424242425:metrics-fake-token"
SECRET = "webhook-secret-for-metrics"
METRICS_TOKEN = "metrics-token-value-1234"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Bot:
    sandbox: Sandbox
    base: str


@pytest.fixture(scope="module")
def bot(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Bot]:
    folder: Path = tmp_path_factory.mktemp("metrics")
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
        metrics_token=METRICS_TOKEN,
        tick_seconds=0.2,
        _env_file=None,  # type: ignore[call-arg]
    )
    thread = RuntimeThread(Runtime(settings))
    thread.start()
    try:
        yield Bot(sandbox, f"http://127.0.0.1:{port}")
    finally:
        thread.stop()
        sandbox.stop()


@pytest.mark.parametrize(
    "header",
    [None, "", "Bearer", "Bearer wrong", f"Bearer {METRICS_TOKEN}x", f"Basic {METRICS_TOKEN}", METRICS_TOKEN],
)
def test_metrics_without_the_right_bearer_token_get_401_and_no_figures(bot: Bot, header: str | None) -> None:
    headers = {} if header is None else {"Authorization": header}
    response = httpx.get(bot.base + "/metrics", headers=headers)
    assert response.status_code == 401
    assert "waakvlam_" not in response.text
    assert response.headers["www-authenticate"].startswith("Bearer")


def test_metrics_with_the_token_are_served_and_count_the_refusals(bot: Bot) -> None:
    httpx.get(bot.base + "/metrics")
    response = httpx.get(bot.base + "/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    assert response.status_code == 200 and "waakvlam_outbox_backlog" in response.text
    refused = [line for line in response.text.splitlines() if line.startswith("waakvlam_metrics_refused_total ")]
    assert refused and float(refused[0].split()[-1]) >= 1
    # The scheme is case-insensitive, as HTTP says.
    assert httpx.get(bot.base + "/metrics", headers={"Authorization": f"bearer {METRICS_TOKEN}"}).status_code == 200


def test_healthz_needs_no_credentials_and_shows_only_liveness_and_counts(bot: Bot) -> None:
    person = bot.sandbox.user(7101, "Zwaantje", language_code="en")
    person.send("/start")
    deadline = time.monotonic() + 10
    while not person.messages and time.monotonic() < deadline:
        time.sleep(0.02)
    response = httpx.get(bot.base + "/healthz")
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {
        "ok",
        "database",
        "loops",
        "outbox_backlog",
        "outbox_oldest_seconds",
        "inbox_waiting",
        "jobs_due",
    }
    assert all(isinstance(value, bool) for value in body["loops"].values())
    assert all(isinstance(body[key], (int, float)) for key in body if key not in ("ok", "database", "loops"))
    assert "Zwaantje" not in response.text and "7101" not in response.text and TOKEN not in response.text
