"""End-to-end harness: the real bot (real PTB over HTTP) against the sandbox, in one shared process.

Tests are synchronous. `Chat.say()` and `Chat.tap()` act as a person and return the texts the bot
sent back once everything it had to do is done (`Harness.settle`), like a transcript.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlmodel import Session

from bot.runtime import Runtime, RuntimeThread
from domain.clock import FakeClock
from sandbox import Sandbox
from services.settings import Settings
from storage import inbox_store, outbox_store, people
from tests.waiting import PATIENCE

TOKEN = "123456789:e2e-fake-token"
# Names and numbers arrive wrapped in bidi isolates (FSI ... PDI, see `services.i18n.hi`); a reader does not
# see them, so the transcript helpers leave them out. The raw texts stay in `user.messages`.
_ISOLATES = dict.fromkeys(range(0x2066, 0x206A))


def seen(text: str) -> str:
    """A message as a reader sees it: without the invisible isolate controls."""
    return text.translate(_ISOLATES)


ADMIN_ID = 900001
_user_ids = itertools.count(500_000)


def next_user_id() -> int:
    return next(_user_ids)


class Harness:
    def __init__(self, sandbox: Sandbox, settings: Settings, clock: FakeClock) -> None:
        self.sandbox = sandbox
        self.settings = settings
        self.clock = clock
        self.runtime = Runtime(settings, clock=clock, run_tick_job=False)
        self.thread = RuntimeThread(self.runtime)

    def start(self) -> None:
        """Start a fresh bot process-equivalent on the same database (also after `stop`)."""
        self.runtime = Runtime(self.settings, clock=self.clock, run_tick_job=False)
        self.thread = RuntimeThread(self.runtime)
        self.thread.start()

    def stop(self) -> None:
        self.thread.stop()

    @property
    def services(self) -> Any:
        assert self.runtime.services is not None
        return self.runtime.services

    @contextmanager
    def session(self) -> Iterator[Session]:
        with self.services.db.session() as session:
            yield session

    def _idle(self) -> bool:
        """Nothing left to do now: every update handled, no message in flight, none due.

        A message the sender has claimed (`sending`) is in flight even when every other row waits for
        later: until it is marked sent, its person may not have it yet, or it may be retried.
        """
        if self.sandbox.pending_updates():
            return False
        now = self.clock.now()
        with self.session() as session:
            busy = inbox_store.inbox_busy(session=session, now=now)
            outbox = outbox_store.outbox_counts(session=session)
            next_due = outbox_store.next_outbox_due(session=session)
        if busy:  # an update waiting for a retry later (fake clock) is not work to wait for
            return False
        if outbox.get("sending", 0):
            return False
        return not (outbox.get("pending", 0) and next_due is not None and next_due <= now)

    def settle(self, timeout: float = PATIENCE) -> None:
        """Wait until every update is handled and every due message sent (twice in a row, to be sure).

        The timeout only turns "never" into a failure; on a busy machine settling simply takes longer.
        """
        deadline = time.monotonic() + timeout
        quiet = 0
        while time.monotonic() < deadline:
            if self._idle():
                quiet += 1
                if quiet >= 2:
                    return
            else:
                quiet = 0
            time.sleep(0.005)
        raise AssertionError(f"bot did not settle in {timeout}s: {self.runtime.backlog()}")

    def tick(self) -> int:
        """Run the scheduler tick now (the JobQueue job is off in tests; the clock is fake)."""
        assert self.runtime.tick is not None
        ran = self.thread.run_sync(self.runtime.tick.run_due, timeout=PATIENCE)
        self.wake_sender()
        self.settle()
        return ran

    def wake_sender(self) -> None:
        signal = self.services.outbox_signal
        self.thread.loop.call_soon_threadsafe(signal.set)

    def advance(self, **delta: float) -> None:
        self.clock.advance(timedelta(**delta))
        self.wake_sender()

    def person(self, telegram_id: int) -> Any:
        with self.session() as session:
            return people.get_person_by_telegram_id(session=session, telegram_id=telegram_id)


@dataclass
class Chat:
    """A simulated person in a private chat, with transcript-style helpers."""

    harness: Harness
    user: Any

    @property
    def id(self) -> int:
        return int(self.user.user_id)

    def _new_texts(self, before: int) -> list[str]:
        self.harness.settle()
        return [seen(message.text or "") for message in self.user.messages[before:]]

    def say(self, text: str) -> list[str]:
        before = len(self.user.messages)
        self.user.send(text)
        return self._new_texts(before)

    def tap(self, label: str, message: Any = None) -> list[str]:
        before = len(self.user.messages)
        self.user.press(label, message=message)
        return self._new_texts(before)

    def send(self, kind: str, **kwargs: Any) -> list[str]:
        before = len(self.user.messages)
        getattr(self.user, f"send_{kind}")(**kwargs)
        return self._new_texts(before)

    @property
    def last(self) -> Any:
        return self.user.messages[-1]

    def last_buttons(self) -> list[str]:
        return [label for row in self.last.buttons for label in row]

    def tap_listed(self, label: str, *, more: str = "More ▶") -> list[str]:
        """Tap `label` in a paged list (/families, ...), turning pages as a person would until it shows.

        The session's bot is shared by many tests (and which ones ran before differs per worker), so a list
        may be long: a test never assumes its person is on the first page."""
        while label not in self.last_buttons() and more in self.last_buttons():
            self.tap(more)
        return self.tap(label)

    def texts(self) -> list[str]:
        return [seen(message.text or "") for message in self.user.messages]


def expect(texts: list[str] | list[str | None], *fragments: str) -> str:
    """Assert some reply contains every fragment (case-insensitive) and return it."""
    for text in (seen(text or "") for text in texts):
        if all(fragment.lower() in text.lower() for fragment in fragments):
            return text
    raise AssertionError(f"no reply contains {fragments!r}; replies were:\n" + "\n---\n".join(texts))


def tr(language: str, message: str) -> str:
    """The catalog's text in a language, so tests check the reader gets their own language."""
    from services.i18n import _ as translate
    from services.i18n import use_language

    with use_language(language):
        return translate(message)
