"""The newcomer's demo: the real bot against the local sandbox, chatted with from this terminal.

Three personas (a family, a volunteer, a coordinator with admin rights) and the coordinators' forum
group, where a family that reaches out gets its topic. Everything runs on one clock
(`domain.clock.MovableClock`): it starts at 10:00 today (or on the next office day) and runs on, and
the terminal's `:later 2h` / `:tomorrow 08:00` move it forward, running the scheduled work due on the
way at its own time (check-ins, reminders, escalation steps, follow-ups), so a week of the product can
be seen in a few minutes.

The demo never touches DATABASE_URL: it uses a fresh temporary database, or DEMO_DATABASE_URL (or
`python -m bot demo --keep`: data/demo.sqlite3) to keep its data across restarts.
"""

from __future__ import annotations

import contextlib
import json
import logging
import sys
import tempfile
import threading
import time as clock_time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from pydantic import SecretStr

from domain.clock import MovableClock, SystemClock
from services.logs import configure_logging
from services.settings import Settings
from web.demo import DEMO_COORDINATOR_ID, DEMO_TOKEN, free_port

if TYPE_CHECKING:
    from bot.runtime import RuntimeThread
    from sandbox import Sandbox

COORDINATOR_ID = DEMO_COORDINATOR_ID
FAMILY_ID = 1001
VOLUNTEER_ID = 1002
GROUP_ID = -1001000000001
GROUP_TITLE = "Coördinatoren"
KEPT_DATABASE = Path("data") / "demo.sqlite3"
DEMO_AREAS = ("Centrum", "Noord", "Oost", "West")
# The demo's day starts in office hours, whatever the time (and day) outside.
START_AT = time(10, 0)
# A kept demo's clock and the sandbox's id counters, so a restart goes on where it was: Telegram never
# uses an update id or a message id twice, and the bot relies on that (the inbox, relay links).
STATE_KEY = "demo_state"
# Due work run on the way in one move of the clock, at most (a job that keeps failing ends a move).
MAX_STEPS = 500
IDLE_TIMEOUT = 20.0


def demo_start(zone: str, now: datetime, office_days: Sequence[int] = (0, 1, 2, 3, 4)) -> datetime:
    """10:00 local on the day `now` falls on, or on the next office day: the demo's day is a working day."""
    local = ZoneInfo(zone)
    day = now.astimezone(local).date()
    for _ in range(7):
        if day.weekday() in office_days or not office_days:
            break
        day += timedelta(days=1)
    return datetime.combine(day, START_AT, tzinfo=local)


def kept_database_url(settings: Settings, *, keep: bool) -> str | None:
    """The database the demo keeps across restarts (DEMO_DATABASE_URL, or data/demo.sqlite3 with --keep)."""
    url = settings.demo_database_url or (f"sqlite:///{KEPT_DATABASE}" if keep else None)
    if url is not None and url == settings.database_url:
        raise ValueError("DEMO_DATABASE_URL must not be the bot's DATABASE_URL: the demo writes made-up people")
    return url


def demo_settings(settings: Settings, base_url: str, database_url: str, start: datetime) -> Settings:
    """The settings the demo runs with: the sandbox's address and token, its database, one instance doing all."""
    update: dict[str, object] = {
        # model_copy does not validate: give the field its own type.
        "telegram_bot_token": SecretStr(DEMO_TOKEN),
        "telegram_api_base_url": base_url,
        "database_url": database_url,
        "bot_admin_ids": [*settings.bot_admin_ids, COORDINATOR_ID],
        "coordinator_group_id": GROUP_ID,
        "poll_timeout": 1,
        # One instance that does everything, in polling mode, whatever a .env for production says.
        "webhook_url": None,
        "http_port": None,
        "run_inbox_worker": True,
        "run_sender": True,
        # The coordinators' workspace on this machine only (web/demo.py signs the demo coordinator in).
        "workspace_enabled": True,
        "webhook_listen": "127.0.0.1",
    }
    if "checkin_default_weekday" not in settings.model_fields_set:
        # A new family's first check-in comes tomorrow morning, so `:tomorrow` shows it.
        tomorrow = start.astimezone(ZoneInfo(settings.timezone)).date() + timedelta(days=1)
        update["checkin_default_weekday"] = tomorrow.weekday()
    return settings.model_copy(update=update)


@dataclass
class SavedState:
    """Where a kept demo was: its clock, and the sandbox's next update id and next message id per chat."""

    clock: datetime | None = None
    next_update_id: int = 0
    next_message_ids: dict[int, int] = field(default_factory=dict)

    def to_json(self) -> str:
        """The state as JSON, for the settings row it is kept in."""
        clock = self.clock.isoformat() if self.clock else None
        messages = {str(chat): number for chat, number in self.next_message_ids.items()}
        return json.dumps({"clock": clock, "next_update_id": self.next_update_id, "next_message_ids": messages})

    @classmethod
    def from_json(cls, text: str) -> SavedState:
        """The state read back from `to_json`'s text (missing parts as at a first start)."""
        data = json.loads(text)
        clock = datetime.fromisoformat(data["clock"]) if data.get("clock") else None
        messages = {int(chat): int(number) for chat, number in data.get("next_message_ids", {}).items()}
        return cls(clock, int(data.get("next_update_id", 0)), messages)


def prepare_database(database_url: str, start: datetime) -> tuple[datetime, SavedState]:
    """Migrate and add the demo's neighbourhoods; returns where the clock starts, and what a kept demo saved.

    A kept demo database goes on from the last time its clock showed, so nothing it holds is in the future.
    """
    from storage import care, inbox_store, migrate, people
    from storage.db import Database

    migrate.upgrade(database_url)
    database = Database(database_url)
    try:
        with database.session() as session:
            stored = care.get_setting(session=session, key=STATE_KEY)
            saved = SavedState.from_json(stored) if stored is not None else SavedState()
            saved.next_update_id = max(saved.next_update_id, inbox_store.next_update_offset(session=session) or 0)
            if saved.clock is not None:
                start = max(start, saved.clock)
            if not people.active_areas(session=session):
                for name in DEMO_AREAS:
                    people.add_area(session=session, name=name, now=start)
    finally:
        database.dispose()
    return start, saved


def restore_sandbox(sandbox: Sandbox, saved: SavedState) -> None:
    """Go on with the ids where the kept demo left them (once its chats exist, before the bot starts)."""
    with sandbox.world.lock:
        world = sandbox.world
        world.next_update_id = max(world.next_update_id, saved.next_update_id)
        for chat_id, number in saved.next_message_ids.items():
            chat = world.chats.get(chat_id)
            if chat is not None:
                chat.next_message_id = max(chat.next_message_id, number)


def sandbox_state(sandbox: Sandbox, clock: datetime) -> SavedState:
    """Where the sandbox is now (its next update and message ids), to save with the demo's clock."""
    with sandbox.world.lock:
        world = sandbox.world
        return SavedState(clock, world.next_update_id, {c.id: c.next_message_id for c in world.chats.values()})


class DemoTime:
    """The demo's clock as the terminal sees it: shown, and moved forward with the due work run on the way.

    The tick runs here (every second, and at each due moment when the clock moves), never at the same
    time as a move, so each step is reported with the work it ran.
    """

    def __init__(
        self, thread: RuntimeThread, clock: MovableClock, sandbox: Sandbox, zone: str, *, kept: bool = False
    ) -> None:
        """The demo's clock around the running bot; the ticker thread is made here, started by `start`."""
        self.thread = thread
        self.kept = kept  # save where the demo is, for the next start
        self.clock = clock
        self.sandbox = sandbox
        self.zone = ZoneInfo(zone)
        self.lock = threading.Lock()
        self._stop = threading.Event()
        self._ticker = threading.Thread(target=self._tick_every_second, name="demo-tick", daemon=True)

    def now(self) -> datetime:
        """The demo's current moment."""
        return self.clock.now()

    def start(self) -> None:
        """Start running the due work every second."""
        self._ticker.start()

    def stop(self) -> None:
        """Stop the ticker and save where the demo is."""
        self._stop.set()
        if self._ticker.is_alive():
            self._ticker.join(timeout=30)
        self._save_state()

    def _tick_every_second(self) -> None:
        """The ticker thread: run the due work and save the state once a second until stopped."""
        while not self._stop.wait(1.0):
            with self.lock, contextlib.suppress(Exception):  # the bot may be stopping
                self._run_tick()
                self._save_state()

    def _run_tick(self) -> int:
        """Run the due scheduled work once in the bot's loop and wake the sender; how many jobs ran."""
        tick = self.thread.runtime.tick
        assert tick is not None
        ran = self.thread.run_sync(tick.run_due)
        services = self.thread.runtime.services
        if services is not None:
            self.thread.loop.call_soon_threadsafe(services.outbox_signal.set)
        return ran

    def _idle(self, *, jobs: bool) -> bool:
        """Whether the bot has nothing left to do now: no update waiting, no message due (with `jobs`, no job)."""
        from storage import inbox_store, job_store, outbox_store

        services = self.thread.runtime.services
        if services is None or self.sandbox.pending_updates():
            return False
        now = self.clock.now()
        with services.db.session() as session:
            inbox = inbox_store.inbox_counts(session=session)
            count, _age = outbox_store.outbox_backlog(session=session, now=now)
            next_due = outbox_store.next_outbox_due(session=session)
            due_jobs = job_store.jobs_due_count(session=session, now=now) if jobs else 0
        if inbox.get("new", 0) or inbox.get("processing", 0) or due_jobs:
            return False
        return not count or (next_due is not None and next_due > now)

    def wait_idle(self, *, jobs: bool = False, timeout: float = IDLE_TIMEOUT) -> None:
        """Until every update is handled and every due message sent (twice in a row), or `timeout` passes.

        With `jobs`, also until no scheduled work is due (the ticker runs it within a second).
        """
        deadline = clock_time.monotonic() + timeout
        quiet = 0
        while clock_time.monotonic() < deadline and quiet < 2:
            quiet = quiet + 1 if self._idle(jobs=jobs) else 0
            clock_time.sleep(0.02)

    def settle(self) -> None:
        """After a person acted: until the bot has answered and done what that made due."""
        self.wait_idle(jobs=True)

    def move_to(self, target: datetime, report: Callable[[str], None]) -> int:
        """Move the clock forward to `target`, running each piece of due work at its time; returns how many ran."""
        from storage import job_store

        services = self.thread.runtime.services
        assert services is not None
        ran = 0
        with self.lock:
            for _ in range(MAX_STEPS):
                self.wait_idle()
                with services.db.session() as session:
                    due = job_store.next_pending_jobs(session=session, until=target)
                if not due:
                    break
                moment = max(due[0][0], self.clock.now())
                kinds = sorted({kind for when, kind in due if when <= moment})
                self.clock.move_to(moment)
                report(f"  {self.show(moment)}  {', '.join(kinds)}")
                count = self._run_tick()
                ran += count
                if not count:
                    break  # held by a claim, or failing: it runs again later
            self.clock.move_to(target)
            ran += self._run_tick()
            self.wait_idle()
            self._save_state()
        return ran

    def show(self, moment: datetime | None = None) -> str:
        """A moment (default now) as the demo shows it, in its time zone: 'Tue 24 Nov 2026 09:30'."""
        return (moment or self.clock.now()).astimezone(self.zone).strftime("%a %d %b %Y %H:%M")

    def _save_state(self) -> None:
        """Keep the demo's clock and the sandbox's ids in the database, when the demo is kept."""
        from storage import care

        services = self.thread.runtime.services
        if services is None or not self.kept:
            return
        state = sandbox_state(self.sandbox, self.clock.now()).to_json()
        with contextlib.suppress(Exception), services.db.session() as session:
            care.save_setting(session=session, key=STATE_KEY, value=state)


@contextlib.contextmanager
def demo_database(settings: Settings, *, keep: bool) -> Iterator[tuple[str, bool]]:
    """(database URL, kept): the kept one, or a fresh temporary one removed afterwards."""
    kept = kept_database_url(settings, keep=keep)
    if kept is not None:
        yield kept, True
        return
    with tempfile.TemporaryDirectory(prefix="waakvlam-demo-") as folder:
        yield f"sqlite:///{folder}/demo.sqlite3", False


def run_demo(settings: Settings, *, keep: bool = False) -> int:
    """`python -m bot demo`: the real bot on a local sandbox, chatted with in this terminal; the exit code."""
    from bot.runtime import Runtime, RuntimeThread
    from sandbox import Sandbox
    from sandbox.terminal import run_terminal

    configure_logging(level="WARNING", secrets=[DEMO_TOKEN])
    logging.getLogger("bot").setLevel(logging.WARNING)
    with contextlib.ExitStack() as stack:
        try:
            database_url, kept = stack.enter_context(demo_database(settings, keep=keep))
        except ValueError as error:
            print(f"demo: {error}", file=sys.stderr)
            return 2
        start, saved = prepare_database(
            database_url, demo_start(settings.timezone, SystemClock().now(), settings.office_days)
        )
        clock = MovableClock(start)
        sandbox = Sandbox(token=DEMO_TOKEN, clock=lambda: clock.now().timestamp())
        sandbox.start()
        stack.callback(sandbox.stop)
        # The chats exist (with their ids going on where a kept demo left them) before the bot sends anything.
        personas = {
            "family": sandbox.user(FAMILY_ID, "Fatima", language_code="nl"),
            "volunteer": sandbox.user(VOLUNTEER_ID, "Joost", language_code="nl"),
            "coordinator": sandbox.user(COORDINATOR_ID, "Coördinator", language_code="nl"),
        }
        group = sandbox.group(GROUP_ID, GROUP_TITLE, forum=True)
        group.add_member(personas["coordinator"], "creator")
        restore_sandbox(sandbox, saved)
        config = demo_settings(settings, sandbox.base_url, database_url, start)
        # The coordinators' workspace on localhost: /workspace/demo signs the demo coordinator in.
        port = free_port()
        workspace = f"http://127.0.0.1:{port}/workspace/"
        config = config.model_copy(update={"http_port": port, "workspace_url": workspace})
        # No tick job of its own: DemoTime runs the tick, so that moving the clock and ticking never overlap.
        thread = RuntimeThread(Runtime(config, clock=clock, run_tick_job=False))
        stack.callback(thread.stop)
        thread.start()
        demo_time = DemoTime(thread, clock, sandbox, config.timezone, kept=kept)
        stack.callback(demo_time.stop)
        demo_time.start()
        where = f"data kept in {database_url}" if kept else "a fresh temporary database"
        print(
            "Waakvlam demo: the real bot on a local Telegram sandbox (no internet, nothing leaves this "
            f"machine; {where}). The demo's clock says {demo_time.show()}. You are the family; type "
            ":as coordinator to switch, :help for every command.",
            file=sys.stdout,
        )
        print(
            f"Coordinators' workspace in your browser: {workspace}demo (as the demo coordinator, once they "
            "have signed up: :as coordinator, then /start).",
            file=sys.stdout,
        )
        run_terminal(
            sandbox, personas, group=group, group_member="coordinator", clock=demo_time, settle=demo_time.settle
        )
    return 0
