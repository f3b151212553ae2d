"""Receiving updates: store first, confirm to Telegram second, handle third.

An update whose handler fails is tried again after a pause (a few times, with backoff, newer updates of
its chat waiting behind it); when it keeps failing, the person and a coordinator are told instead of the
update being dropped in silence. Replies that Telegram cannot take go to the outbox (conversations.ui).

PTB's own Updater confirms a batch (by asking for the next offset) before the bot has handled it,
and fails a whole batch when one update does not parse. Here every raw update is written to the
inbox table before the next getUpdates call confirms it, and each one is parsed on its own: an
update the library rejects is put aside as poison, with its error, and the rest carry on.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import time
import warnings
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from telegram import Bot, Update
from telegram.error import Conflict, InvalidToken, NetworkError, RetryAfter, TimedOut
from telegram.ext import Application
from telegram.warnings import PTBUserWarning

from conversations.context import HANDLING, AtFinish, Handling
from conversations.ui import retry_after_seconds
from domain.instances import retry_delay, should_retry
from services.context import Services
from services.faults import crash_point
from services.logs import event
from storage import inbox_store
from storage.models import InboxStatus

logger = logging.getLogger(__name__)

warnings.filterwarnings("ignore", message=r"Please use 'Bot\.", category=PTBUserWarning)

HANDLING_LEASE = timedelta(minutes=2)
MAX_ATTEMPTS = 3
ALLOWED_UPDATES = ["message", "edited_message", "callback_query", "my_chat_member"]


def store_raw_updates(services: Services, raw_updates: list[dict[str, Any]]) -> int:
    """Write a batch of raw updates to the inbox in one transaction; returns how many were new."""
    with services.db.session() as session:
        stored = inbox_store.store_updates(session=session, raw_updates=raw_updates, now=services.clock.now())
    return stored


class Poller:
    """Long-polls getUpdates and stores each update before asking for the next offset."""

    def __init__(self, *, bot: Bot, services: Services, wake: Doorbell) -> None:
        """Keep the bot to poll, and the event that wakes the inbox worker; `alive_at` feeds the liveness probe."""
        self.bot = bot
        self.services = services
        self.wake = wake
        self.alive_at = 0.0

    def _offset(self) -> int | None:
        """Where polling resumes: one past the highest update_id stored, or None while the inbox is empty."""
        with self.services.db.session() as session:
            return inbox_store.next_update_offset(session=session)

    async def run(self, stop: asyncio.Event) -> None:
        """Poll until `stop`, storing each batch before the next offset confirms it; waits out 429s, network errors."""
        offset = self._offset()
        timeout = self.services.settings.poll_timeout
        failures = 0
        while not stop.is_set():
            self.alive_at = time.monotonic()
            kwargs: dict[str, Any] = {"timeout": timeout, "allowed_updates": ALLOWED_UPDATES}
            if offset is not None:
                kwargs["offset"] = offset
            try:
                raw = await self.bot.do_api_request("getUpdates", api_kwargs=kwargs, read_timeout=timeout + 10)
            except asyncio.CancelledError:
                raise
            except RetryAfter as error:
                await asyncio.sleep(retry_after_seconds(error))
                continue
            except InvalidToken:
                logger.error("poller.invalid_token")
                raise
            except Conflict:
                # Another process polls with this token, or a webhook is set.
                logger.error("poller.conflict")
                failures += 1
                await asyncio.sleep(min(30.0, 2.0**failures))
                continue
            except (TimedOut, NetworkError) as error:
                failures += 1
                event(logger, "poller.network_error", logging.WARNING, error=type(error).__name__)
                await asyncio.sleep(min(30.0, 0.5 * 2**failures))
                continue
            failures = 0
            updates = [item for item in raw if isinstance(item, dict)] if isinstance(raw, list) else []
            if not updates:
                continue
            stored = store_raw_updates(self.services, updates)
            crash_point("after_inbox_store")
            ids = [item["update_id"] for item in updates if isinstance(item.get("update_id"), int)]
            offset = max(offset or 0, max(ids, default=-1) + 1)
            event(logger, "poller.stored", received=len(updates), new=stored)
            self.wake.set()


class Doorbell:
    """Wakes one idle inbox lane at a time: news of stored updates wakes one, and a lane that claimed an
    update wakes the next, so a burst spreads over the lanes while a lone update costs one wasted claim,
    not one per idle lane. A ring with no lane idle is not kept: every busy lane claims again when done."""

    def __init__(self) -> None:
        """No lane waits yet."""
        self._idle: collections.deque[asyncio.Future[None]] = collections.deque()

    def set(self) -> None:
        """Ring: the lane idle longest wakes (named as `asyncio.Event.set`, which the poller and webhook call)."""
        while self._idle:
            waiter = self._idle.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return

    async def wait(self, seconds: float) -> None:
        """Wait as an idle lane until rung, or `seconds` (a lane looks again now and then anyway)."""
        waiter = asyncio.get_running_loop().create_future()
        self._idle.append(waiter)
        try:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(waiter, timeout=seconds)
        finally:
            with contextlib.suppress(ValueError):
                self._idle.remove(waiter)


@dataclass(frozen=True)
class _Finished:
    """A handled update whose end is not written yet."""

    update_id: int
    payload: dict[str, Any] | None
    attempts: int
    status: InboxStatus
    error: str | None
    at_finish: list[AtFinish]


class InboxWorker:
    """Handles stored updates one at a time, in order within each chat, whatever instance stored them."""

    def __init__(
        self,
        *,
        application: Application[Any, Any, Any, Any, Any, Any],
        services: Services,
        wake: Doorbell,
    ) -> None:
        """Keep the application whose handlers run each update, and the event the poller sets after storing some."""
        self.application = application
        self.services = services
        self.wake = wake
        self.alive_at = 0.0
        self.handled = 0
        # How the last handled update ended, written with the next claim (or by `flush`).
        self._finished: _Finished | None = None

    async def handle_next(self) -> bool:
        """Claim and handle one update; false when nothing is waiting.

        How the previous update ended is written in the same transaction as this claim (one transaction
        per update instead of two); `flush` writes it when there is no next claim to come.
        """
        now = self.services.clock.now()
        with self.services.db.session() as session:
            self._record_finished(session)
            row = inbox_store.claim_update(
                session=session, instance=self.services.instance, now=now, lease=HANDLING_LEASE
            )
            if row is not None and row.attempts > MAX_ATTEMPTS:
                # It took the process down more than once: put it aside so the chat is not stuck, and tell
                # the person and a coordinator, so it is not dropped in silence.
                inbox_store.finish_update(
                    session=session,
                    update_id=row.update_id,
                    status=InboxStatus.POISON,
                    now=now,
                    error="handling never finished",
                )
                self._hand_over(session, row.update_id, row.payload, "handling never finished", now)
        self._finished = None
        if row is None:
            return False
        # More may be waiting: another idle lane looks (a lone update costs it one claim that finds nothing).
        self.wake.set()
        if row.attempts > MAX_ATTEMPTS:
            return True
        update_id, payload, attempts = row.update_id, row.payload, row.attempts
        crash_point("before_handle")
        status, error, at_finish = await self._handle(update_id, payload)
        self._finished = _Finished(update_id, payload, attempts, status, error, at_finish)
        self.handled += 1
        return True

    def flush(self) -> None:
        """Write how the last handled update ended, if the next claim has not done so yet."""
        if self._finished is None:
            return
        with self.services.db.session() as session:
            self._record_finished(session)
        self._finished = None

    def _record_finished(self, session: Any) -> None:
        """The last update's end, in the caller's transaction: done (with its dialogue step), a retry, or given up."""
        finished = self._finished
        if finished is None:
            return
        now = self.services.clock.now()
        settings = self.services.settings
        status, error = finished.status, finished.error
        if status == InboxStatus.DONE and finished.at_finish:
            try:
                with session.begin_nested():
                    for write in finished.at_finish:
                        write(session)
            except Exception as failure:
                logger.exception("inbox.finish_write_failed update_id=%s", finished.update_id)
                status, error = InboxStatus.FAILED, f"{type(failure).__name__}: {failure}"[:500]
        update_id, attempts = finished.update_id, finished.attempts
        if status == InboxStatus.FAILED and should_retry(attempts=attempts, max_attempts=settings.inbox_max_attempts):
            wait = retry_delay(attempts=attempts, base=timedelta(seconds=settings.inbox_retry_seconds))
            inbox_store.retry_update(session=session, update_id=update_id, not_before=now + wait, error=error)
            event(logger, "inbox.retry", logging.WARNING, update_id=update_id, attempts=attempts, wait=wait.seconds)
        else:
            inbox_store.finish_update(session=session, update_id=update_id, status=status, now=now, error=error)
            if status == InboxStatus.FAILED:
                self._hand_over(session, update_id, finished.payload, error or "failed", now)

    def _hand_over(self, session: Any, update_id: int, payload: dict[str, Any] | None, reason: str, now: Any) -> None:
        """Given up on: the person and a coordinator are told (without what was written), in this transaction."""
        hook = self.services.on_update_failed
        if hook is None:
            return
        try:
            with session.begin_nested():
                hook(
                    session=session,
                    services=self.services,
                    update_id=update_id,
                    payload=payload,
                    reason=reason,
                    now=now,
                )
        except Exception:
            logger.exception("inbox.hand_over_failed update_id=%s", update_id)
            return
        self.services.outbox_signal.set()
        event(logger, "inbox.handed_over", logging.WARNING, update_id=update_id)

    async def _handle(
        self, update_id: int, payload: dict[str, Any] | None
    ) -> tuple[InboxStatus, str | None, list[AtFinish]]:
        """Parse one stored update and run the handlers; returns its status, error and writes for when it is done."""
        if not payload:
            return InboxStatus.POISON, "empty payload", []
        try:
            update = Update.de_json(payload, self.application.bot)
        except Exception as error:
            event(logger, "inbox.poison", logging.WARNING, update_id=update_id, error=type(error).__name__)
            return InboxStatus.POISON, f"{type(error).__name__}: {error}"[:500], []
        started = time.perf_counter()
        handling = Handling(update_id=update_id, services=self.services)
        token = HANDLING.set(handling)
        try:
            await self.application.process_update(update)
        finally:
            HANDLING.reset(token)
            # What ran beside the handlers (a button's spinner) ends with the update; each logs its own failure.
            if handling.alongside:
                await asyncio.gather(*handling.alongside, return_exceptions=True)
        failure = self.services.handler_errors.pop(update_id, None)
        event(
            logger,
            "inbox.handled",
            logging.DEBUG,
            update_id=update_id,
            ms=round((time.perf_counter() - started) * 1000, 1),
            failed=failure is not None,
        )
        if failure is not None:
            return InboxStatus.FAILED, failure, []
        return InboxStatus.DONE, None, handling.at_finish

    async def run(self, stop: asyncio.Event, *, idle_wait: float = 0.5) -> None:
        """Handle updates until `stop`, awaiting the poller's wake (up to `idle_wait`) when idle; then flush."""
        while not stop.is_set():
            self.alive_at = time.monotonic()
            try:
                if await self.handle_next():
                    continue
            except Exception:
                logger.exception("inbox.loop_error")
                await asyncio.sleep(0.5)
                continue
            await self.wake.wait(idle_wait)
        try:
            self.flush()
        except Exception:
            logger.exception("inbox.flush_failed")
