"""Answering one Bot API call as Telegram would, and the record of calls, refusals and faults tests read.

`ApiCalls` checks a call against the spec, applies one-shot failures and flood limits, runs the world's
method under the world lock and records the outcome; `sandbox.server.Sandbox` serves it over HTTP.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from sandbox.limits import Faults, FloodLimits, OneShotFault
from sandbox.records import JSON, ApiError
from sandbox.spec import Spec, SpecError, UploadedFile
from sandbox.world import World


@dataclass(frozen=True, slots=True)
class Call:
    method: str
    params: JSON
    time: float
    status: int


@dataclass(frozen=True, slots=True)
class Refusal:
    """A call Telegram refuses (or the sandbox cannot answer): a bug in the bot, unlike a Rejection."""

    method: str
    params: JSON
    reason: str
    status: int = 400


@dataclass(frozen=True, slots=True)
class Rejection:
    """A 400 that depends on the moment (message not modified, chat not found): bots must cope."""

    method: str
    params: JSON
    reason: str


@dataclass
class Stats:
    calls: Counter[str] = field(default_factory=Counter)
    statuses: Counter[int] = field(default_factory=Counter)
    by_method_status: Counter[tuple[str, int]] = field(default_factory=Counter)
    too_many_requests: int = 0
    refusals: int = 0
    # Requests whose client hung up before they were read (not refusals: nobody was left to answer).
    disconnects: int = 0
    rejections: int = 0
    faults: Counter[str] = field(default_factory=Counter)
    delivered: Counter[int] = field(default_factory=Counter)
    filtered_updates: int = 0


def is_sending(method: str) -> bool:
    """Calls that put a message in a chat; these count for flood limits and get faults."""
    return method.startswith(("send", "copy", "forward", "edit")) and method != "sendchataction"


def error_body(status: int, description: str, parameters: JSON | None = None) -> JSON:
    """Telegram's JSON for an error answer: ok false, the code, the description, parameters if any."""
    payload: JSON = {"ok": False, "error_code": status, "description": description}
    if parameters:
        payload["parameters"] = parameters
    return payload


def loggable(params: JSON) -> JSON:
    """Call parameters fit for the log: uploads as their name and size instead of their bytes."""
    if not any(isinstance(value, UploadedFile) for value in params.values()):
        return params
    return {
        key: f"<upload {value.filename!r}, {len(value.data)} bytes>" if isinstance(value, UploadedFile) else value
        for key, value in params.items()
    }


class ApiCalls:
    """The Bot API side of a sandbox: one call at a time, with the log and the faults tests set."""

    def __init__(self, spec: Spec, world: World) -> None:
        """Answer calls against this spec and world; the log, flood limits and faults start empty."""
        self.spec = spec
        self.world = world
        self._calls: list[Call] = []
        self._refusals: list[Refusal] = []
        self._rejections: list[Rejection] = []
        self._stats = Stats()
        self._flood: FloodLimits | None = None
        self._faults: Faults | None = None
        self._one_shot: list[OneShotFault] = []

    def call(self, method: str, raw: JSON, files: dict[str, UploadedFile] | None = None) -> tuple[int, JSON]:
        """Answer one API call as Telegram would: (HTTP status, JSON body). Thread-safe."""
        now = time.time()
        with self.world.lock:
            name, params, status, payload = self._call_locked(method, raw, files or {}, now)
            self._record(name, params, now, status)
        return status, payload

    def _call_locked(
        self, method: str, raw: JSON, files: dict[str, UploadedFile], now: float
    ) -> tuple[str, JSON, int, JSON]:
        """One call under the world lock: check it against the spec, apply faults and flood limits, run it."""
        spec = self.spec.implemented(method)
        if spec is None:
            proper = self.spec.known_elsewhere(method)
            if proper is not None:
                reason = f"Bad Request: the sandbox does not implement {proper}"
                self._refuse(proper, raw, reason, 400)
                return proper, raw, 400, error_body(400, reason)
            self._refuse(method, raw, "Not Found", 404)
            return method, raw, 404, error_body(404, "Not Found")
        try:
            params = self.spec.coerce_params(spec, raw, files)
        except SpecError as error:
            self._refuse(spec.name, loggable({**raw, **files}), str(error), 400)
            return spec.name, raw, 400, error_body(400, str(error))
        key = spec.name.lower()
        flood = self._flood if is_sending(key) else None
        chat_id = params.get("chat_id")
        one_shot = self._take_one_shot(key, chat_id)
        if one_shot is not None:
            self._stats.faults[f"next:{one_shot.status}"] += 1
            return spec.name, params, one_shot.status, one_shot.answer()
        flood_chat = chat_id if isinstance(chat_id, int) else None
        if flood is not None:
            wait = flood.retry_after(flood_chat, now)
            if wait is not None:
                self._stats.too_many_requests += 1
                description = f"Too Many Requests: retry after {wait}"
                return spec.name, params, 429, error_body(429, description, {"retry_after": wait})
        try:
            if key == "getupdates":
                result: Any = self.world.get_updates(params)
            else:
                result = self.world.handlers[key](params)
        except ApiError as error:
            if error.refusal:
                self._refuse(spec.name, loggable(params), error.description, error.status)
            elif error.status == 400:
                self._stats.rejections += 1
                self._rejections.append(Rejection(spec.name, loggable(params), error.description))
            return spec.name, params, error.status, error_body(error.status, error.description, error.parameters)
        if flood is not None:
            flood.record(flood_chat, now)
        return spec.name, params, 200, {"ok": True, "result": result}

    def _record(self, method: str, params: JSON, now: float, status: int) -> None:
        """Log a call and count it by method and status."""
        self._calls.append(Call(method, loggable(params), now, status))
        stats = self._stats
        stats.calls[method] += 1
        stats.statuses[status] += 1
        stats.by_method_status[method, status] += 1

    def _refuse(self, method: str, params: JSON, reason: str, status: int) -> None:
        """Log a call Telegram would refuse outright (a bug in the bot)."""
        self._stats.refusals += 1
        self._refusals.append(Refusal(method, params, reason, status))

    @property
    def calls(self) -> list[Call]:
        """Every call the bot made so far, oldest first."""
        with self.world.lock:
            return list(self._calls)

    def calls_to(self, method: str) -> list[Call]:
        """The calls the bot made to one method (in any spelling of its case)."""
        with self.world.lock:
            return [call for call in self._calls if call.method.lower() == method.lower()]

    @property
    def refusals(self) -> list[Refusal]:
        """The calls Telegram would have refused outright, so far."""
        with self.world.lock:
            return list(self._refusals)

    @property
    def rejections(self) -> list[Rejection]:
        """The calls answered with a 400 that depends on the moment, so far."""
        with self.world.lock:
            return list(self._rejections)

    @property
    def stats(self) -> Stats:
        """A copy of the counters: calls, statuses, 429s, refusals, faults, deliveries."""
        with self.world.lock:
            stats = self._stats
            return Stats(
                calls=Counter(stats.calls),
                statuses=Counter(stats.statuses),
                by_method_status=Counter(stats.by_method_status),
                too_many_requests=stats.too_many_requests,
                refusals=stats.refusals,
                rejections=stats.rejections,
                faults=Counter(stats.faults),
                delivered=Counter(self.world.delivered),
                filtered_updates=self.world.filtered_updates,
            )

    def reset_counters(self, *, refusals: bool = False) -> None:
        """Forget calls and statistics (and, if asked, refusals and rejections)."""
        with self.world.lock:
            self._calls.clear()
            self._stats = Stats()
            self.world.delivered.clear()
            self.world.filtered_updates = 0
            if refusals:
                self._refusals.clear()
                self._rejections.clear()

    def set_flood_limits(
        self,
        global_per_second: float | None = 30,
        per_chat_per_second: float | None = 1,
        per_group_per_minute: float | None = 20,
        *,
        scale: float = 1.0,
    ) -> None:
        """Answer 429 above these rates (None switches one off; all None switches limits off).

        `scale` multiplies every limit, e.g. 100 for benchmarks that only want to catch runaways.
        """
        limits = (global_per_second, per_chat_per_second, per_group_per_minute)
        if any(limit is not None and limit * scale < 1 for limit in limits):
            raise ValueError("a flood limit must allow at least one call per window")
        with self.world.lock:
            if all(limit is None for limit in limits):
                self._flood = None
            else:
                self._flood = FloodLimits(global_per_second, per_chat_per_second, per_group_per_minute, scale)

    def fail_next(
        self,
        chat_id: int,
        status: int = 500,
        *,
        retry_after: int = 1,
        method: str = "sendMessage",
        count: int = 1,
    ) -> None:
        """Answer the next `count` calls of `method` to this chat with `status`, doing nothing.

        500 and 502 are server errors (PTB raises NetworkError), 429 asks to retry after `retry_after`
        seconds (RetryAfter), 400 is a refusal Telegram would not change its mind about (BadRequest), for
        making a handler fail. Faults queued for the same chat and method are used in order; calls to
        other chats and other methods are not affected. `fail_next_pending()` tells what is left.
        """
        if status not in (400, 429, 500, 502, 503, 504):
            raise ValueError("fail_next answers 400, 429 or a 5xx")
        if count < 1:
            raise ValueError("count must be at least 1")
        with self.world.lock:
            self._one_shot.append(OneShotFault(int(chat_id), method.lower(), status, retry_after, count))

    def fail_next_pending(self) -> int:
        """How many one-shot failures are still waiting for their call."""
        with self.world.lock:
            return sum(fault.count for fault in self._one_shot)

    def _take_one_shot(self, method: str, chat_id: Any) -> OneShotFault | None:
        """The next one-shot failure queued for this method and chat (used up as it is taken), or None."""
        if not self._one_shot or not isinstance(chat_id, int):
            return None
        for fault in self._one_shot:
            if fault.chat_id == chat_id and fault.method == method:
                fault.count -= 1
                if fault.count <= 0:
                    self._one_shot.remove(fault)
                return fault
        return None

    def set_faults(
        self,
        server_error_rate: float = 0.0,
        drop_rate: float = 0.0,
        seed: int = 1,
        *,
        lost_response_rate: float = 0.0,
        include_get_updates: bool = False,
    ) -> None:
        """Make sending calls fail at these rates, repeatably for a seed.

        server_error_rate: answer 500 or 502 without doing anything. drop_rate: close the
        connection without an answer. lost_response_rate: do the call, then close without an
        answer (the message is sent but the bot cannot know). All zero switches faults off.
        """
        if server_error_rate + drop_rate + lost_response_rate > 1:
            raise ValueError("fault rates add up to more than 1")
        with self.world.lock:
            if server_error_rate == drop_rate == lost_response_rate == 0:
                self._faults = None
            else:
                self._faults = Faults(
                    server_error_rate, drop_rate, lost_response_rate, include_get_updates, random.Random(seed)
                )
