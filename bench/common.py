"""What every benchmark shares: result rows, databases, the sandbox, the real bot and a bare echo bot.

Timings on shared machines are noisy, so every figure is reported beside a reference measured in the
same run (a bare python-telegram-bot echo bot, the sandbox alone, the smallest size, Telegram's limit)
and as the ratio between the two.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import statistics
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from telegram import Update
from telegram.ext import Application, ApplicationBuilder, ContextTypes, TypeHandler
from telegram.request import HTTPXRequest

from bot.runtime import Runtime, RuntimeThread
from domain.clock import Clock
from sandbox import Sandbox
from services.settings import Settings
from storage import inbox_store, outbox_store

T = TypeVar("T")

TOKEN = "123456789:bench-fake-token"
ADMIN_ID = 900001
# A Monday, 10:00 in Amsterdam: office hours, far from quiet hours.
START = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
POSTGRES_URL = os.environ.get("BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


class RunningClock:
    """Real time, starting at a chosen moment: retries after a 429 or a network error become due."""

    def __init__(self, start: datetime) -> None:
        self.start = start
        self.origin = time.monotonic()

    def now(self) -> datetime:
        return self.start + timedelta(seconds=time.monotonic() - self.origin)


# --- results --------------------------------------------------------------------------------------


@dataclass
class Row:
    """One line of the table: a figure, the reference it is compared with, and their ratio."""

    bench: str
    case: str
    db: str
    value: float | None
    unit: str
    reference: float | None = None
    ratio: float | None = None
    goal: str = ""
    met: bool | None = None
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "bench": self.bench,
            "case": self.case,
            "db": self.db,
            "value": self.value,
            "unit": self.unit,
            "reference": self.reference,
            "ratio": self.ratio,
            "goal": self.goal,
            "met": self.met,
            "note": self.note,
            **({"extra": self.extra} if self.extra else {}),
        }


def ratio(value: float | None, reference: float | None) -> float | None:
    if value is None or not reference:
        return None
    return value / reference


def percentile(values: list[float], fraction: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def _fmt(value: float | None) -> str:
    if value is None:
        return "-"
    if value != value:  # NaN
        return "nan"
    magnitude = abs(value)
    if magnitude >= 1000:
        return f"{value:,.0f}"
    if magnitude >= 10:
        return f"{value:.1f}"
    if magnitude >= 0.1:
        return f"{value:.2f}"
    return f"{value:.3g}"


def table(rows: list[Row]) -> str:
    """A Markdown table, readable in a terminal and pasteable into docs/performance.md."""
    header = ["bench", "case", "db", "value", "unit", "reference", "ratio", "goal", "ok", "note"]
    lines = [
        [
            row.bench,
            row.case,
            row.db,
            _fmt(row.value),
            row.unit,
            _fmt(row.reference),
            _fmt(row.ratio),
            row.goal,
            {True: "yes", False: "NO", None: ""}[row.met],
            row.note,
        ]
        for row in rows
    ]
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *lines, strict=True)]

    def render(cells: list[str]) -> str:
        return "| " + " | ".join(str(cell).ljust(width) for cell, width in zip(cells, widths, strict=True)) + " |"

    return "\n".join([render(header), "|" + "|".join("-" * (width + 2) for width in widths) + "|", *map(render, lines)])


# --- databases ------------------------------------------------------------------------------------


def _plain(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


def postgres_problem() -> str | None:
    """Why PostgreSQL cannot be benchmarked here, or None when it can."""
    try:
        import psycopg

        with psycopg.connect(_plain(POSTGRES_URL), connect_timeout=3) as connection:
            connection.execute("select 1")
    except Exception as error:
        return f"no PostgreSQL server at {POSTGRES_URL.split('@')[-1]} ({type(error).__name__})"
    return None


@contextlib.contextmanager
def database(kind: str) -> Iterator[str]:
    """A fresh, empty database: a SQLite file in a temp dir, or a new database on the PostgreSQL server."""
    if kind == "sqlite":
        folder = tempfile.mkdtemp(prefix="waakvlam-bench-")
        try:
            yield f"sqlite:///{folder}/waakvlam.sqlite3"
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        return
    import psycopg

    name = f"waakvlam_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(_plain(POSTGRES_URL), autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    base, _sep, _db = POSTGRES_URL.rpartition("/")
    try:
        yield f"{base}/{name}"
    finally:
        with psycopg.connect(_plain(POSTGRES_URL), autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def settings_for(sandbox: Sandbox | str, url: str, **overrides: Any) -> Settings:
    """The bot's settings for a sandbox (or its base URL) and a database."""
    values: dict[str, Any] = {
        "telegram_bot_token": TOKEN,
        "telegram_api_base_url": sandbox if isinstance(sandbox, str) else sandbox.base_url,
        "database_url": url,
        "bot_admin_ids": [ADMIN_ID],
        "poll_timeout": 10,
        "log_level": "ERROR",
    }
    values.update(overrides)
    return Settings(**values, _env_file=None)  # type: ignore[call-arg]


# Telegram's limits switched out of the way, for benchmarks of the bot's own speed.
UNLIMITED_SENDER = {
    "sender_global_per_second": 100_000.0,
    "sender_per_chat_per_second": 10_000.0,
    "sender_per_group_per_minute": 1_000_000.0,
    "sender_margin_seconds": 0.0,
}


# --- CPU ------------------------------------------------------------------------------------------


def thread_cpu(thread: threading.Thread | None) -> float:
    """CPU seconds a thread has used (Linux: its own CPU clock), so the sandbox's share is not counted."""
    if thread is None or thread.ident is None:
        return 0.0
    try:
        return time.clock_gettime(time.pthread_getcpuclockid(thread.ident))
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        return time.process_time()


# --- statements and transactions -----------------------------------------------------------------------


class SqlCount:
    """Counts the statements and transactions the bot's own thread runs (the benchmark's queries are not)."""

    def __init__(self, engine: Any, thread: threading.Thread) -> None:
        self.engine = engine
        self.thread = thread
        self.statements = 0
        self.transactions = 0

    def _statement(self, *_args: Any) -> None:
        if threading.get_ident() == self.thread.ident:
            self.statements += 1

    def _begin(self, *_args: Any) -> None:
        if threading.get_ident() == self.thread.ident:
            self.transactions += 1

    def __enter__(self) -> SqlCount:
        from sqlalchemy import event

        event.listen(self.engine, "before_cursor_execute", self._statement)
        event.listen(self.engine, "begin", self._begin)
        return self

    def __exit__(self, *_exc: object) -> None:
        from sqlalchemy import event

        event.remove(self.engine, "before_cursor_execute", self._statement)
        event.remove(self.engine, "begin", self._begin)


# --- the real bot -----------------------------------------------------------------------------------


class BotRun:
    """The real Runtime (PTB over HTTP, inbox, sender) on its own loop, against a sandbox."""

    def __init__(self, sandbox: Sandbox, settings: Settings, clock: Clock, *, poll: bool = True) -> None:
        self.sandbox = sandbox
        self.clock = clock
        self.runtime = Runtime(settings, clock=clock, poll=poll, run_tick_job=False)
        self.thread = RuntimeThread(self.runtime)

    def start(self) -> BotRun:
        self.thread.start(timeout=60)
        return self

    def stop(self) -> None:
        self.thread.stop()

    @property
    def services(self) -> Any:
        assert self.runtime.services is not None
        return self.runtime.services

    @property
    def os_thread(self) -> threading.Thread:
        return self.thread._thread

    def cpu(self) -> float:
        return thread_cpu(self.os_thread)

    def sql(self) -> SqlCount:
        """Count the bot thread's statements and transactions while the `with` block runs."""
        return SqlCount(self.services.db.engine, self.os_thread)

    def tick(self) -> int:
        assert self.runtime.tick is not None
        ran = self.thread.run_sync(self.runtime.tick.run_due, timeout=600)
        self.wake_sender()
        return ran

    def wake_sender(self) -> None:
        signal = self.services.outbox_signal
        self.thread.loop.call_soon_threadsafe(signal.set)

    def idle(self, *, outbox: bool = True) -> bool:
        if self.sandbox.pending_updates():
            return False
        now = self.clock.now()
        with self.services.db.session() as session:
            inbox = inbox_store.inbox_counts(session=session)
            if inbox.get("new", 0) or inbox.get("processing", 0):
                return False
            if not outbox:
                return True
            count, _age = outbox_store.outbox_backlog(session=session, now=now)
            next_due = outbox_store.next_outbox_due(session=session)
        if count and next_due is not None and next_due <= now:
            return False
        return not (count and next_due is None)

    def settle(self, timeout: float = 60.0, *, outbox: bool = True, poll: float = 0.005) -> None:
        """Wait until every update is handled and every due message sent (seen twice in a row)."""
        deadline = time.monotonic() + timeout
        quiet = 0
        while time.monotonic() < deadline:
            if self.idle(outbox=outbox):
                quiet += 1
                if quiet >= 2:
                    return
            else:
                quiet = 0
            time.sleep(poll)
        raise TimeoutError(f"bot did not settle in {timeout}s: {self.runtime.backlog()}")


@contextlib.contextmanager
def running_bot(sandbox: Sandbox, settings: Settings, clock: Clock, *, poll: bool = True) -> Iterator[BotRun]:
    run = BotRun(sandbox, settings, clock, poll=poll).start()
    try:
        yield run
    finally:
        run.stop()


# --- the bare echo bot ------------------------------------------------------------------------------


class EchoBot:
    """A bare python-telegram-bot application: PTB's own polling, one handler that echoes the text back.

    It uses the same HTTP client settings as the real bot, so the difference is the application.
    """

    def __init__(self, sandbox: Sandbox, *, copy: bool = False) -> None:
        self.sandbox = sandbox
        self.copy = copy
        self.handled = 0
        self.latencies: list[float] = []
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self._run, name="echo-bot", daemon=True)
        self.application: Application[Any, Any, Any, Any, Any, Any] | None = None

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    def call(self, coroutine: Coroutine[Any, Any, T], timeout: float = 60.0) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    async def _echo(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        started = time.perf_counter()
        chat = update.effective_chat
        message = update.effective_message
        if chat is not None:
            thread_id = getattr(message, "message_thread_id", None) if message is not None else None
            if self.copy and update.message is not None:
                await context.bot.copy_message(chat.id, chat.id, update.message.message_id, message_thread_id=thread_id)
            else:
                text = (update.message.text if update.message is not None else None) or "ok"
                await context.bot.send_message(chat.id, text, message_thread_id=thread_id)
        self.latencies.append(time.perf_counter() - started)
        self.handled += 1

    async def _start(self) -> None:
        request = HTTPXRequest(connection_pool_size=16, read_timeout=15.0, write_timeout=15.0)
        poll_request = HTTPXRequest(connection_pool_size=2, read_timeout=25.0)
        application = (
            ApplicationBuilder()
            .token(self.sandbox.token)
            .base_url(self.sandbox.base_url)
            .request(request)
            .get_updates_request(poll_request)
            .concurrent_updates(False)
            .build()
        )
        application.add_handler(TypeHandler(Update, self._echo))
        self.application = application
        await application.initialize()
        await application.start()
        assert application.updater is not None
        await application.updater.start_polling(poll_interval=0.0, timeout=10, drop_pending_updates=False)

    async def _stop(self) -> None:
        application = self.application
        if application is None:
            return
        if application.updater is not None and application.updater.running:
            await application.updater.stop()
        if application.running:
            await application.stop()
        await application.shutdown()

    def start(self) -> EchoBot:
        self.thread.start()
        self.call(self._start())
        return self

    def stop(self) -> None:
        try:
            self.call(self._stop(), timeout=30)
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(10)

    def cpu(self) -> float:
        return thread_cpu(self.thread)

    def wait_handled(self, count: int, timeout: float = 60.0, poll: float = 0.005) -> None:
        deadline = time.monotonic() + timeout
        while self.handled < count:
            if time.monotonic() > deadline:
                raise TimeoutError(f"echo bot handled {self.handled} of {count} in {timeout}s")
            time.sleep(poll)


@contextlib.contextmanager
def echo_bot(sandbox: Sandbox, *, copy: bool = False) -> Iterator[EchoBot]:
    bot = EchoBot(sandbox, copy=copy).start()
    try:
        yield bot
    finally:
        bot.stop()


def quiet_logs() -> None:
    """Benchmarks print a table; the bot's INFO events would cost time and flood the terminal."""
    logging.basicConfig(level=logging.ERROR)
    for name in ("httpx", "telegram", "apscheduler", "uvicorn", "uvicorn.error"):
        logging.getLogger(name).setLevel(logging.ERROR)


def wait_until(condition: Callable[[], bool], timeout: float, poll: float = 0.005, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} not reached in {timeout}s")
        time.sleep(poll)
