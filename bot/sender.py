"""Delivers the outbox within Telegram's limits, and turns every failure into a decision.

States of a message: pending -> sending (claimed, with a lease) -> sent, or back to pending with a
later `not_before` (429, network trouble, 5xx), or failed (blocked by the user, a permanent 400).
A row left `sending` by a process that died is claimed again when its lease runs out; that is the
one window in which Telegram may show a message twice (see docs/delivery.md).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import math
import random
import time
import warnings
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any, Protocol

from telegram import Bot, InputFile
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
)
from telegram.warnings import PTBUserWarning

from conversations.ui import retry_after_seconds
from domain.ratelimit import Booking, FloodSchedule, Limits
from services.charts import WeeklyChart
from services.context import Services
from services.faults import crash_point
from services.logs import event
from services.outbox import UPLOAD_KEY
from storage import instance_store, outbox_store
from storage.models import OutboxMessage, OutboxStatus

logger = logging.getLogger(__name__)

# The sender calls methods by name from stored rows; PTB suggests its typed methods instead.
warnings.filterwarnings("ignore", message=r"Please use 'Bot\.", category=PTBUserWarning)

CLAIM_LEASE = timedelta(seconds=60)
SENDER_LEASE = timedelta(seconds=15)
GIVE_UP_AFTER = timedelta(hours=24)
# One pass books no further ahead than this (seconds): a claimed batch never delays a newer urgent alert longer.
# The next pass starts when this one's last message is answered, so an alert waits up to about twice this.
BATCH_HORIZON = 0.5
# While a pass is being sent, how often (seconds) to look for an urgent message queued meanwhile, and how
# many rows to claim then (the most urgent first).
URGENT_LOOK = 0.05
URGENT_BATCH = 10


def needs_drawing(payload: dict[str, Any]) -> bool:
    """Whether the payload's upload is a chart still to be drawn, which must happen off the event loop."""
    upload = payload.get(UPLOAD_KEY)
    return isinstance(upload, dict) and "chart" in upload


def api_kwargs(payload: dict[str, Any]) -> dict[str, Any]:
    """A stored payload as Bot API arguments: an upload becomes the InputFile of its field.

    A chart upload is drawn here (matplotlib: call it off the event loop, see `Sender._call`)."""
    kwargs = dict(payload)
    upload = kwargs.pop(UPLOAD_KEY, None)
    if isinstance(upload, dict):
        if "chart" in upload:
            data = WeeklyChart.from_json(upload["chart"]).png()
        else:
            data = base64.b64decode(str(upload.get("data", "")))
        kwargs[str(upload["field"])] = InputFile(data, filename=str(upload.get("filename") or "file"))
    return kwargs


# Called in the failing row's transaction: (session, row, reason, now).
FailureHook = Callable[..., None]
MigrationHook = Callable[..., None]


class PayloadResolver(Protocol):
    """Rows whose payload names a target to work out at send time (e.g. "the family's forum topic").

    `call` sends such a row (it may create the topic first and retry once in a new one); `after_sent`
    runs in the transaction that marks the row sent (e.g. to remember the new message's id).
    """

    def handles(self, row: OutboxMessage) -> bool:
        """Whether this resolver sends the row instead of the plain Bot API call."""
        ...

    async def call(self, bot: Bot, row: OutboxMessage) -> Any:
        """Send the row to the target worked out now; returns Telegram's result."""
        ...

    def after_sent(self, *, session: Any, row: OutboxMessage, result: Any, now: Any) -> None:
        """Record what the send produced, in the transaction that marks the row sent."""
        ...


def backoff(attempts: int) -> float:
    """Exponential backoff with jitter, capped at five minutes."""
    return min(300.0, 2.0 ** min(attempts, 9)) * (0.5 + random.random() / 2)


class Sender:
    """One sender per deployment sends (a lease decides which instance), so limits hold globally."""

    def __init__(
        self,
        *,
        bot: Bot,
        services: Services,
        on_unreachable: FailureHook | None = None,
        on_undeliverable: FailureHook | None = None,
        on_migrated: MigrationHook | None = None,
        resolver: PayloadResolver | None = None,
    ) -> None:
        """Set up the flood limits and in-flight cap from the settings, and the hooks for failed or migrated chats."""
        settings = services.settings
        self.bot = bot
        self.services = services
        self.schedule = FloodSchedule(
            Limits(
                global_per_second=settings.sender_global_per_second,
                per_chat_per_second=settings.sender_per_chat_per_second,
                per_group_per_minute=settings.sender_per_group_per_minute,
                margin=settings.sender_margin_seconds,
            )
        )
        self.in_flight = asyncio.Semaphore(settings.sender_max_in_flight)
        self.on_unreachable = on_unreachable
        self.on_undeliverable = on_undeliverable
        self.on_migrated = on_migrated
        self.resolver = resolver
        self.stats = services.counters
        self.alive_at = 0.0
        self._lease_until = 0.0
        # Chats that must wait for their per-chat limit, with the monotonic time they are ready.
        self._paced: dict[int, float] = {}
        # Messages waiting for the answer to a message they follow in a flood window (see Booking).
        self._answered: dict[Booking, asyncio.Event] = {}

    def _count(self, key: str) -> None:
        """Add one to this outcome's `sender_` counter in the shared service counters."""
        key = f"sender_{key}"
        self.stats[key] = self.stats.get(key, 0) + 1

    def holds_lease(self) -> bool:
        """Take or renew the sender lease; a few seconds of margin before it runs out."""
        if time.monotonic() < self._lease_until - SENDER_LEASE.total_seconds() / 2:
            return True
        with self.services.db.session() as session:
            held = instance_store.acquire_lease(
                session=session,
                name="sender",
                holder=self.services.instance,
                now=self.services.clock.now(),
                duration=SENDER_LEASE,
            )
        self._lease_until = time.monotonic() + SENDER_LEASE.total_seconds() if held else 0.0
        return held

    def release(self) -> None:
        """Give up the sender lease if this instance holds it, so another instance can take over at once."""
        with self.services.db.session() as session:
            instance_store.release_lease(session=session, name="sender", holder=self.services.instance)
        self._lease_until = 0.0

    async def run(self, stop: asyncio.Event, *, idle_wait: float = 0.5) -> None:
        """Send while holding the lease until `stop`, idling for the outbox signal or a paced chat; then await sends."""
        signal = self.services.outbox_signal
        while not stop.is_set():
            self.alive_at = time.monotonic()
            try:
                sent = await self.drain_once() if self.holds_lease() else 0
            except Exception:  # a database hiccup must not end delivery for good
                logger.exception("sender.loop_error")
                sent = 0
            if sent:
                continue
            signal.clear()
            paced = self.next_paced_wait()
            timeout = idle_wait if paced is None else min(idle_wait, paced + 0.01)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(signal.wait(), timeout=timeout)
        await self._wait_in_flight()

    async def _wait_in_flight(self) -> None:
        """Wait until every send in flight has finished, by taking all in-flight places and giving them back."""
        for _ in range(self.services.settings.sender_max_in_flight):
            await self.in_flight.acquire()
        for _ in range(self.services.settings.sender_max_in_flight):
            self.in_flight.release()

    async def drain_once(self, *, batch: int = 200) -> int:
        """Send what is due now and what the limits allow, most urgent first; returns how many were sent.

        The claim hands out rows in priority order; within a pass nothing is booked more than
        BATCH_HORIZON ahead, so an urgent alert queued during a long fan-out waits about a second at most, not
        for the whole batch.
        """
        tasks: list[asyncio.Task[None]] = []
        await self._claim_and_book(batch, tasks)
        if tasks:
            await self._wait_for(tasks)
        self._paced = {chat: ready for chat, ready in self._paced.items() if ready > time.monotonic()}
        return len(tasks)

    async def _claim_and_book(self, batch: int, tasks: list[asyncio.Task[None]]) -> None:
        """Claim due rows, most urgent first, and start a send for each the limits allow in this pass."""
        now = self.services.clock.now()
        paced = [chat for chat, ready in self._paced.items() if ready > time.monotonic()]
        # No more than the horizon can take (and some to spare for chats that must wait): what is claimed
        # beyond it would only be given back.
        fits = math.ceil(self.services.settings.sender_global_per_second * BATCH_HORIZON) * 2 + 10
        with self.services.db.session() as session:
            rows = outbox_store.claim_outbox(
                session=session,
                instance=self.services.instance,
                now=now,
                lease=CLAIM_LEASE,
                limit=min(batch, fits),
                skip_chat_ids=paced[:500],
            )
        booked = len(tasks)
        waiting: list[OutboxMessage] = []
        # Chats with a row given back in this pass: their later rows go back too, so that time passing
        # during the loop never lets a chat's later row overtake its earlier one.
        deferred: set[int] = set()
        for row in rows:
            if row.chat_id in deferred:
                waiting.append(row)
                continue
            if (
                len(tasks) > booked
                and self.schedule.global_ready_at(time.monotonic()) - time.monotonic() > BATCH_HORIZON
            ):
                # Booked this far ahead, the rest would hold back anything more urgent queued meanwhile:
                # it goes back, and the next claim takes the most urgent rows again (domain/priority.py).
                deferred.add(row.chat_id)
                waiting.append(row)
                continue
            ready = self.schedule.chat_ready_at(row.chat_id, time.monotonic())
            if ready - time.monotonic() > 0.25:
                # Holding a slow chat's row would stall every other chat behind it.
                self._paced[row.chat_id] = ready
                deferred.add(row.chat_id)
                waiting.append(row)
                continue
            await self.in_flight.acquire()
            booking = self.schedule.book(row.chat_id, time.monotonic())
            tasks.append(asyncio.create_task(self._send_at(row, booking)))
        if waiting:
            # Released as they were: still due, just not to these chats for a moment.
            with self.services.db.session() as session:
                outbox_store.release_claims(session=session, message_ids=[row.id for row in waiting if row.id])

    async def _wait_for(self, tasks: list[asyncio.Task[None]]) -> None:
        """Wait for a pass's sends; an urgent message committed meanwhile is claimed and booked at once.

        It still takes the next free slot (the limits hold), but it does not wait for the pass to end."""
        db = self.services.db
        seen = db.urgent_commits
        pending: set[asyncio.Task[None]] = set(tasks)
        while pending:
            _done, pending = await asyncio.wait(pending, timeout=URGENT_LOOK)
            if db.urgent_commits != seen:
                seen = db.urgent_commits
                more: list[asyncio.Task[None]] = []
                await self._claim_and_book(URGENT_BATCH, more)
                pending.update(more)
                tasks.extend(more)
        for task in tasks:
            task.result()  # what a send raised (an invalid token) is raised here, as gather would

    async def deliver_now(self, dedupe_key: str) -> bool:
        """Send one committed row at once (a reply that must not be lost); true when Telegram has it.

        The row is claimed like any other, so it is sent once; if Telegram refuses it for now, it stays in
        the outbox with its retry time and the sender delivers it later.
        """
        with self.services.db.session() as session:
            row = outbox_store.claim_by_key(
                session=session,
                dedupe_key=dedupe_key,
                instance=self.services.instance,
                now=self.services.clock.now(),
                lease=CLAIM_LEASE,
            )
        if row is None or row.id is None:
            return False
        # Booked like every other send, so a reply right after another message to the chat (or amid a
        # fan-out) still keeps to the per-chat, group and global limits instead of drawing a 429.
        await self.in_flight.acquire()
        booking = self.schedule.book(row.chat_id, time.monotonic())
        await self._send_at(row, booking, check_lease=False)
        with self.services.db.session() as session:
            sent = outbox_store.outbox_status(session=session, message_id=row.id) == OutboxStatus.SENT
        if sent:
            crash_point("after_reply")
        self.services.outbox_signal.set()
        return sent

    def next_paced_wait(self) -> float | None:
        """Seconds until a chat held back by pacing may receive again."""
        if not self._paced:
            return None
        return max(0.0, min(self._paced.values()) - time.monotonic())

    async def _send_at(self, row: OutboxMessage, booking: Booking, *, check_lease: bool = True) -> None:
        """Send at the booked slot, then release the in-flight place the caller acquired."""
        try:
            # Not before the slot, nor before the messages it follows in a window have been answered.
            for anchor, _gap in booking.anchors:
                if not anchor.done:
                    await self._answered.setdefault(anchor, asyncio.Event()).wait()
            start = booking.start_after()
            assert start is not None
            delay = start - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            if check_lease and not self.holds_lease():
                # A long batch outlived the sender lease and another instance sends now: give the row
                # back unsent, or both would send it once its claim ran out too.
                with self.services.db.session() as session:
                    outbox_store.release_claims(session=session, message_ids=[row.id] if row.id else [])
                return
            await self._deliver(row)
        finally:
            booking.finish(time.monotonic())
            answered = self._answered.pop(booking, None)
            if answered is not None:
                answered.set()
            self.in_flight.release()

    async def _call(self, row: OutboxMessage) -> Any:
        """Make the row's Bot API call, via the resolver if it takes the row; an undrawable chart is a bad request."""
        if self.resolver is not None and self.resolver.handles(row):
            return await self.resolver.call(self.bot, row)
        if needs_drawing(row.payload):
            try:
                kwargs = await asyncio.to_thread(api_kwargs, row.payload)
            except Exception as error:  # a chart that cannot be drawn will not be drawn on a retry either
                logger.exception("sender.chart_failed id=%s", row.id)
                raise BadRequest(f"chart not drawn: {type(error).__name__}") from error
            return await self.bot.do_api_request(row.method, api_kwargs=kwargs)
        return await self.bot.do_api_request(row.method, api_kwargs=api_kwargs(row.payload))

    async def _deliver(self, row: OutboxMessage) -> None:
        """Send one claimed row and record the outcome: sent, retried later, moved to a migrated group, or failed."""
        assert row.id is not None
        crash_point("before_send")
        try:
            result = await self._call(row)
        except RetryAfter as error:
            seconds = retry_after_seconds(error)
            self._count("retry_after")
            self.schedule.hold_chat(row.chat_id, time.monotonic() + seconds)
            self._reschedule(row, seconds, f"429 retry after {seconds:g}s", count_attempt=False)
        except ChatMigrated as error:
            self._count("migrated")
            self._migrate(row, int(error.new_chat_id))
        except Forbidden as error:
            self._count("forbidden")
            self._fail(row, f"forbidden: {error.message}", self.on_unreachable)
        except InvalidToken:
            self._count("invalid_token")
            self._reschedule(row, 60.0, "invalid token")
            raise
        except BadRequest as error:
            self._count("bad_request")
            # "chat not found" for a person: the account is gone (or never started the bot), as lasting as a 403.
            gone = row.person_id is not None and "chat not found" in error.message.lower()
            self._fail(row, f"bad request: {error.message}", self.on_unreachable if gone else self.on_undeliverable)
        except (NetworkError, TelegramError) as error:
            # Timeouts, dropped connections and 5xx: Telegram may or may not have the message.
            self._count("network_error")
            self._network_failure(row, f"{type(error).__name__}: {error.message}")
        else:
            crash_point("after_send")
            message_id = result.get("message_id") if isinstance(result, dict) else None
            with self.services.db.session() as session:
                outbox_store.mark_sent(
                    session=session,
                    message_id=row.id,
                    now=self.services.clock.now(),
                    telegram_message_id=message_id,
                    purpose=row.purpose,
                )
                if self.resolver is not None and self.resolver.handles(row):
                    self.resolver.after_sent(session=session, row=row, result=result, now=self.services.clock.now())
            self._count("sent")
            event(logger, "outbox.sent", id=row.id, purpose=row.purpose, attempts=row.attempts + 1)

    def _reschedule(self, row: OutboxMessage, seconds: float, reason: str, *, count_attempt: bool = True) -> None:
        """Put the row back to pending for `seconds` from now with its reason; counts an attempt unless told not."""
        assert row.id is not None
        with self.services.db.session() as session:
            outbox_store.reschedule(
                session=session,
                message_id=row.id,
                not_before=self.services.clock.now() + timedelta(seconds=seconds),
                error=reason,
                count_attempt=count_attempt,
            )
        event(logger, "outbox.retry", logging.WARNING, id=row.id, reason=reason, wait=round(seconds, 2))

    def _network_failure(self, row: OutboxMessage, reason: str) -> None:
        """Telegram may or may not have it: retry with backoff, or give up once the row is past GIVE_UP_AFTER."""
        if self.services.clock.now() - row.created_at > GIVE_UP_AFTER:
            self._fail(row, f"gave up after {row.attempts + 1} attempts: {reason}", self.on_undeliverable)
            return
        self._reschedule(row, backoff(row.attempts), reason)

    def _fail(self, row: OutboxMessage, reason: str, hook: FailureHook | None) -> None:
        """Mark the row failed for good, run the hook in that transaction, and wake the sender for what it queued."""
        assert row.id is not None
        now = self.services.clock.now()
        with self.services.db.session() as session:
            outbox_store.mark_failed(session=session, message_id=row.id, error=reason)
            if hook is not None:
                hook(session=session, row=row, reason=reason, now=now)
        self.services.outbox_signal.set()
        event(logger, "outbox.failed", logging.WARNING, id=row.id, purpose=row.purpose, reason=reason[:80])

    def _migrate(self, row: OutboxMessage, new_chat_id: int) -> None:
        """The group became a supergroup: move its waiting rows to the new id, retry this row now, attempt uncounted."""
        assert row.id is not None
        with self.services.db.session() as session:
            outbox_store.move_chat(session=session, old_chat_id=row.chat_id, new_chat_id=new_chat_id)
            outbox_store.reschedule(
                session=session,
                message_id=row.id,
                not_before=self.services.clock.now(),
                error="group migrated",
                count_attempt=False,
            )
            if self.on_migrated is not None:
                self.on_migrated(session=session, old_chat_id=row.chat_id, new_chat_id=new_chat_id)
        event(logger, "outbox.migrated", id=row.id, new_chat_id=new_chat_id)


async def run_forever(coroutine_factory: Callable[[], Awaitable[None]], name: str) -> None:
    """Restart a background loop that crashed, after a short pause, so delivery never stops."""
    while True:
        try:
            await coroutine_factory()
            return
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.exception("%s.crashed", name)
            await asyncio.sleep(1.0)
