"""Starting and stopping everything: migrations, the application, poller, inbox, sender and tick."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import threading
import time
from collections.abc import Callable, Coroutine
from datetime import timedelta
from typing import Any, TypeVar

from telegram import BotCommand, BotCommandScopeAllPrivateChats
from telegram.error import TelegramError
from telegram.ext import ContextTypes

from bot.app import AnyApplication, build_application
from bot.inbox import ALLOWED_UPDATES, Doorbell, InboxWorker, Poller
from bot.sender import Sender
from bot.tick import Tick
from bot.topics import TopicResolver
from bot.web import WEBHOOK_PATH, Liveness, build_web_app
from conversations import common, insight
from domain.clock import Clock, SystemClock
from domain.instances import is_dead
from services import (
    casework,
    checkins,
    handover,
    leaving,
    match_reviews,
    match_runs,
    matching,
    question_reviews,
    unreachable,
)
from services import erasure as erasure_service
from services import insight as insight_service
from services.context import Services
from services.i18n import shipped_languages, use_language
from services.logs import event
from services.settings import Settings
from storage import inbox_store, instance_store, migrate, outbox_store
from storage.db import Database

logger = logging.getLogger(__name__)

T = TypeVar("T")


def default_instance_id() -> str:
    """This process's name when none is configured: host name and process id."""
    return f"{socket.gethostname()}-{os.getpid()}"


def host_id() -> str:
    """This host and process namespace: where a process id can be checked."""
    try:
        namespace = os.readlink("/proc/self/ns/pid")
    except OSError:
        namespace = ""
    return f"{socket.gethostname()}|{namespace}"[:200]


def pid_alive(pid: int) -> bool:
    """Whether a process of this id runs on this host (one we may not signal counts as running)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


# Every module with scheduled work; their job kinds are registered in this order.
_JOB_MODULES = (
    checkins,
    unreachable,
    matching,
    insight,
    leaving,
    question_reviews,
    casework,
    match_runs,
    match_reviews,
)


def register_jobs(services: Services) -> None:
    """Register the handler of every scheduled job kind, and the hook for an update that keeps failing."""
    for module in _JOB_MODULES:
        services.jobs.update(module.JOBS)
    services.on_update_failed = handover.failed_update


def build_sender(application: AnyApplication, services: Services) -> Sender:
    """The outbox sender with its hooks for unreachable people, topics, undeliverable and moved chats."""
    return Sender(
        bot=application.bot,
        services=services,
        on_unreachable=unreachable.unreachable_hook(services),
        resolver=TopicResolver(services),
        # A withdrawn offer whose message is gone or already edited is no news for coordinators.
        on_undeliverable=matching.quiet_withdrawals(unreachable.on_undeliverable),
        on_migrated=unreachable.on_migrated(services),
    )


class Runtime:
    """One running bot instance. Tests start it in a thread; `python -m bot` runs it until a signal."""

    def __init__(
        self,
        settings: Settings,
        *,
        clock: Clock | None = None,
        poll: bool = True,
        run_sender: bool = True,
        run_tick_job: bool = True,
    ) -> None:
        """Keep the settings and switches; nothing starts until `start`."""
        self.settings = settings
        self.clock = clock or SystemClock()
        self.poll = poll
        self.run_sender = run_sender
        self.run_tick_job = run_tick_job
        self.stop_event = asyncio.Event()
        self.failed = False
        self.started = asyncio.Event()
        self.tasks: list[asyncio.Task[None]] = []
        self.services: Services | None = None
        self.application: AnyApplication | None = None
        # One worker per lane (`INBOX_LANES`); the poller's doorbell wakes one idle lane at a time.
        self.workers: list[InboxWorker] = []
        self.doorbell = Doorbell()
        self.sender: Sender | None = None
        self.poller: Poller | None = None
        self.tick: Tick | None = None
        self.started_at = 0.0
        self.liveness = Liveness()
        self.http_server: Any = None

    async def start(self) -> None:
        """Migrate, build the application and start every loop; `started` is set once all run."""
        self.started_at = time.monotonic()
        migrate.upgrade(self.settings.database_url)
        db = Database(self.settings.database_url)
        services = Services(
            settings=self.settings,
            db=db,
            clock=self.clock,
            instance=self.settings.instance_id or default_instance_id(),
        )
        self.services = services
        register_jobs(services)
        self._register_instance(services)
        insight_service.ensure_digest(services)
        erasure_service.ensure_retention(services)
        application = build_application(services)
        self.application = application
        await application.initialize()
        services.bot_username = application.bot.username
        # The command menu (six calls, one per language) is set beside the first poll, not before it.
        self._spawn(self._publish_commands(application), "commands")
        wake = self.doorbell
        self.workers = [
            InboxWorker(application=application, services=services, wake=wake)
            for _lane in range(self.settings.inbox_lanes)
        ]
        self.tick = Tick(services)
        self.sender = build_sender(application, services)
        services.deliver_now = self.sender.deliver_now
        if self.run_tick_job and application.job_queue is not None:
            application.job_queue.run_repeating(
                self._tick_job, interval=self.settings.tick_seconds, first=0.0, name="tick"
            )
        await application.start()
        await self._start_loops(application, services, wake)
        event(
            logger,
            "runtime.started",
            instance=services.instance,
            database=db.dialect,
            bot=services.bot_username,
        )
        self.started.set()

    async def _start_loops(self, application: AnyApplication, services: Services, wake: Doorbell) -> None:
        """Spawn the inbox, sender and heartbeat loops, then the webhook or the poller, each with its probe."""
        sender = self.sender
        assert self.workers and sender is not None
        if self.settings.run_inbox_worker:
            # Each chat's updates stay in order across lanes: the claim skips a chat with an update in hand.
            for lane, worker in enumerate(self.workers):
                self._spawn(worker.run(self.stop_event), f"inbox-{lane}")
            self.liveness.probes["inbox"] = lambda: min(worker.alive_at for worker in self.workers)
        if self.run_sender and self.settings.run_sender:
            self._spawn(sender.run(self.stop_event), "sender")
            self.liveness.probes["sender"] = lambda: self.sender.alive_at if self.sender else 0.0
        self._spawn(self._watch_instances(services), "instances")
        if self.run_tick_job:
            self.liveness.probes["tick"] = self._tick_alive_at
        if self.settings.webhook_url:
            await self._start_webhook(application, services, wake)
        elif self.poll:
            self.poller = Poller(bot=application.bot, services=services, wake=wake)
            self._spawn(self.poller.run(self.stop_event), "poller")
            self.liveness.probes["poller"] = lambda: self.poller.alive_at if self.poller else 0.0
            if self.settings.http_port is not None:
                await self._serve_http(services, wake, self.settings.http_port)

    def _register_instance(self, services: Services) -> None:
        """Before any work: claims left by an earlier run of this name, or by dead processes, end now."""
        now = services.clock.now()
        with services.db.session() as session:
            released = instance_store.register_instance(
                session=session, name=services.instance, host=host_id(), pid=os.getpid(), now=now
            )
        released += self._forget_dead(services)
        if released:
            event(logger, "runtime.took_over_claims", logging.WARNING, claims=released)

    def _forget_dead(self, services: Services) -> int:
        """Give back the claims of dead instances and forget them; returns how many claims were given back."""
        settings = services.settings
        now = services.clock.now()
        here = host_id()
        with services.db.session() as session:
            dead = [
                row.name
                for row in instance_store.other_instances(session=session, name=services.instance)
                if is_dead(
                    beat_at=row.beat_at,
                    now=now,
                    dead_after=timedelta(seconds=settings.instance_dead_after_seconds),
                    same_host=row.host == here,
                    pid_alive=pid_alive(row.pid) if row.host == here else None,
                )
            ]
            released = instance_store.forget_instances(session=session, names=dead, now=now)
        if dead:
            event(logger, "runtime.dead_instances", logging.WARNING, count=len(dead), claims=released)
            self.doorbell.set()
            services.outbox_signal.set()
        return released

    async def _watch_instances(self, services: Services) -> None:
        """Say this instance is alive, and end the claims of instances that are not."""
        while not self.stop_event.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stop_event.wait(), timeout=services.settings.instance_heartbeat_seconds)
            if self.stop_event.is_set():
                return
            try:
                with services.db.session() as session:
                    instance_store.beat(session=session, name=services.instance, now=services.clock.now())
                self._forget_dead(services)
            except Exception:  # a database hiccup: try again at the next beat
                logger.exception("runtime.heartbeat_failed")

    def _tick_alive_at(self) -> float:
        """When the tick last ran, for its liveness probe."""
        # Before its first run the tick counts as alive from the start.
        return self.tick.alive_at if self.tick and self.tick.runs else self.started_at

    async def _start_webhook(self, application: AnyApplication, services: Services, wake: Doorbell) -> None:
        """Webhook mode: serve the endpoint first, then tell Telegram where it is."""
        secret = self.settings.webhook_secret
        if secret is None:
            raise RuntimeError("WEBHOOK_SECRET must be set in webhook mode")
        await self._serve_http(services, wake, self.settings.webhook_port)
        url = (self.settings.webhook_url or "").rstrip("/") + WEBHOOK_PATH
        await application.bot.set_webhook(
            url=url, secret_token=secret.get_secret_value(), allowed_updates=ALLOWED_UPDATES
        )
        event(logger, "runtime.webhook_set", path=WEBHOOK_PATH)

    async def _serve_http(self, services: Services, wake: Doorbell, port: int) -> None:
        """Serve the web app (webhook and health) on `port`, returning once it listens."""
        import uvicorn

        app = build_web_app(services=services, liveness=self.liveness, on_stored=wake.set, counters=services.counters)
        config = uvicorn.Config(
            app, host=self.settings.webhook_listen, port=port, log_level="warning", access_log=False, lifespan="off"
        )
        self.http_server = uvicorn.Server(config)
        self._spawn(self.http_server.serve(), "http")
        while not self.http_server.started:  # noqa: ASYNC110 (uvicorn exposes only a flag)
            await asyncio.sleep(0.01)

    def _spawn(self, coroutine: Coroutine[Any, Any, None], name: str) -> None:
        """Run a coroutine as a named task that stops the runtime if it dies."""
        task = asyncio.create_task(coroutine, name=name)
        task.add_done_callback(self._on_task_done)
        self.tasks.append(task)

    def _on_task_done(self, task: asyncio.Task[None]) -> None:
        """A task ended: if it died while the runtime runs, stop everything and exit non-zero."""
        if task.cancelled() or self.stop_event.is_set():
            return
        error = task.exception()
        if error is not None:
            logger.error("runtime.task_died task=%s error=%s", task.get_name(), type(error).__name__, exc_info=error)
            # A dead loop means silent families; stop so a supervisor restarts the whole process, and
            # exit non-zero so one set to restart only on failure does so too.
            self.failed = True
            self.stop_event.set()

    async def _tick_job(self, context: ContextTypes.DEFAULT_TYPE) -> None:
        """The job queue's repeating call: run the due scheduled jobs."""
        if self.tick is not None:
            await self.tick.run_due_async()

    async def _publish_commands(self, application: AnyApplication) -> None:
        """The command menu in each shipped language; Dutch is the default for everyone else."""
        scope = BotCommandScopeAllPrivateChats()
        try:
            for language in shipped_languages():
                with use_language(language):
                    commands = [BotCommand(name, description) for name, description in common.command_menu()]
                code = None if language == "nl" else language
                await application.bot.set_my_commands(commands, scope=scope, language_code=code)
        except (TelegramError, OSError) as error:
            event(logger, "runtime.commands_not_set", logging.WARNING, error=type(error).__name__)

    async def stop(self) -> None:
        """Stop the loops, the application and the database, and forget this instance."""
        self.stop_event.set()
        if self.http_server is not None:
            self.http_server.should_exit = True
        for task in self.tasks:
            if task.get_name() == "poller":
                task.cancel()
        for task in self.tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(task, timeout=10)
        if self.sender is not None:
            with contextlib.suppress(Exception):
                self.sender.release()
        if self.application is not None:
            with contextlib.suppress(Exception):
                await self.application.stop()
            with contextlib.suppress(Exception):
                await self.application.shutdown()
        if self.services is not None:
            with contextlib.suppress(Exception), self.services.db.session() as session:
                instance_store.forget_instances(
                    session=session, names=[self.services.instance], now=self.services.clock.now()
                )
            self.services.db.dispose()
        event(logger, "runtime.stopped")

    async def run_until_signal(self) -> int:
        """Run until SIGINT or SIGTERM (exit status 0) or until a loop dies (exit status 1)."""
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(signum, self.stop_event.set)
        await self.start()
        try:
            await self.stop_event.wait()
        finally:
            await self.stop()
        return 1 if self.failed else 0

    def backlog(self) -> dict[str, Any]:
        """Inbox and outbox counts and the outbox backlog, for the demo and the tests."""
        assert self.services is not None
        with self.services.db.session() as session:
            count, age = outbox_store.outbox_backlog(session=session, now=self.services.clock.now())
            return {
                "inbox": inbox_store.inbox_counts(session=session),
                "outbox": outbox_store.outbox_counts(session=session),
                "outbox_backlog": count,
                "outbox_oldest_seconds": age,
            }


class RuntimeThread:
    """A runtime on its own event loop in a background thread: for the demo and the tests."""

    def __init__(self, runtime: Runtime) -> None:
        """Prepare the loop and its thread; `start` starts them."""
        self.runtime = runtime
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name="waakvlam-bot", daemon=True)
        self._error: BaseException | None = None

    def _run(self) -> None:
        """The thread's body: run the bot's event loop until it is stopped."""
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    def start(self, timeout: float = 30.0) -> None:
        """Start the thread and the runtime on it, waiting until it runs."""
        self._thread.start()
        self.call(self.runtime.start(), timeout=timeout)

    def call(self, coroutine: Coroutine[Any, Any, T], timeout: float = 30.0) -> T:
        """Run a coroutine on the bot's loop and wait for its result."""
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def run_sync(self, function: Callable[[], T], timeout: float = 30.0) -> T:
        """Run a plain function on the bot's loop, between its other work."""

        async def wrapper() -> T:
            """Call the function on the loop."""
            return function()

        return self.call(wrapper(), timeout=timeout)

    def stop(self) -> None:
        """Stop the runtime and its loop, and wait for the thread to end."""
        if not self._thread.is_alive():
            return
        try:
            self.call(self.runtime.stop(), timeout=30.0)
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(timeout=10)
