"""The sandbox's HTTP side: a fake Bot API on 127.0.0.1 that unmodified python-telegram-bot talks to.

uvicorn (httptools, HTTP/1.1 keep-alive) serves from a background thread with its own event loop.
API calls (/bot<token>/<method>) are answered at the ASGI layer; a Starlette app serves file
downloads and everything else. Each API call takes the world lock once, runs to completion without
awaiting, and is answered in Telegram's JSON shape, so the library raises its usual exceptions.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import re
import socket
import threading
import time
from collections import Counter
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any
from urllib.parse import parse_qsl

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sandbox.limits import Fault, Faults, FloodLimits, OneShotFault
from sandbox.people import SimGroup, SimUser
from sandbox.records import JSON, ApiError, ChatMessage
from sandbox.spec import Spec, SpecError, UploadedFile, load_spec
from sandbox.world import World

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

_JSON_TYPE = "application/json"
_API_PATH = re.compile(r"^/bot([^/]+)/([^/]+)$")
_DISPOSITION = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


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
    rejections: int = 0
    faults: Counter[str] = field(default_factory=Counter)
    delivered: Counter[int] = field(default_factory=Counter)
    filtered_updates: int = 0


def _is_sending(method: str) -> bool:
    """Calls that put a message in a chat; these count for flood limits and get faults."""
    return method.startswith(("send", "copy", "forward", "edit")) and method != "sendchataction"


def _encode(payload: JSON) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _error(status: int, description: str, parameters: JSON | None = None) -> JSON:
    payload: JSON = {"ok": False, "error_code": status, "description": description}
    if parameters:
        payload["parameters"] = parameters
    return payload


def _loggable(params: JSON) -> JSON:
    if not any(isinstance(value, UploadedFile) for value in params.values()):
        return params
    return {
        key: f"<upload {value.filename!r}, {len(value.data)} bytes>" if isinstance(value, UploadedFile) else value
        for key, value in params.items()
    }


def parse_multipart(body: bytes, content_type: str) -> tuple[dict[str, str], dict[str, UploadedFile]]:
    """Fields and files of a multipart/form-data body (Starlette's parser needs an extra package)."""
    match = re.search(r'boundary="?([^";]+)"?', content_type)
    if match is None:
        raise ValueError("multipart body without boundary")
    delimiter = b"--" + match.group(1).encode("latin-1")
    fields: dict[str, str] = {}
    files: dict[str, UploadedFile] = {}
    for part in body.split(delimiter)[1:]:
        if part.startswith(b"--"):
            break
        head, _, data = part.removeprefix(b"\r\n").partition(b"\r\n\r\n")
        data = data.removesuffix(b"\r\n")
        headers = {}
        for line in head.decode("utf-8", "replace").split("\r\n"):
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        attributes = {
            key: value.replace("%22", '"').replace("%0A", "\n").replace("%0D", "\r").replace("\\\\", "\\")
            for key, value in _DISPOSITION.findall(headers.get("content-disposition", ""))
        }
        if "name" not in attributes:
            raise ValueError("multipart part without a name")
        if "filename" in attributes:
            kind = headers.get("content-type", "application/octet-stream")
            files[attributes["name"]] = UploadedFile(attributes["filename"], kind, data)
        else:
            fields[attributes["name"]] = data.decode("utf-8")
    return fields, files


class Sandbox:
    """A fake Telegram for one bot token. Use `base_url` as python-telegram-bot's `base_url`."""

    def __init__(
        self,
        token: str = "123456:TEST-token",  # noqa: S107 (a sandbox token, not a secret)
        *,
        port: int = 0,
        bot_username: str = "waakvlam_sandbox_bot",
        bot_name: str = "Waakvlam (sandbox)",
        privacy_mode: bool = True,
        clock: Callable[[], float] = time.time,
        spec: Spec | None = None,
    ) -> None:
        if not re.fullmatch(r"[0-9]+:[A-Za-z0-9_-]+", token):
            raise ValueError("a bot token looks like 123456:ABC-def")
        self.token = token
        self.host = "127.0.0.1"
        self.port = port
        self.spec = spec or load_spec()
        self.world = World(
            token, self.spec, bot_username=bot_username, bot_name=bot_name, privacy_mode=privacy_mode, clock=clock
        )
        self._calls: list[Call] = []
        self._refusals: list[Refusal] = []
        self._rejections: list[Rejection] = []
        self._stats = Stats()
        self._flood: FloodLimits | None = None
        self._faults: Faults | None = None
        self._one_shot: list[OneShotFault] = []
        self._users: dict[int, SimUser] = {}
        self._groups: dict[int, SimGroup] = {}
        self._app = Starlette(
            routes=[
                Route("/file/bot{token}/{path:path}", self._file_endpoint, methods=["GET"]),
            ]
        )
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._failure: BaseException | None = None
        self._waiters: set[asyncio.Future[None]] = set()
        self._poll_generation = 0
        self._stopping = False
        self._stop_signal: asyncio.Event | None = None

    # --- lifecycle -----------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}/bot"

    @property
    def base_file_url(self) -> str:
        return f"http://{self.host}:{self.port}/file/bot"

    def start(self) -> Sandbox:
        """Listen on 127.0.0.1 (a free port unless one was given); returns once requests are served."""
        if self._thread is not None:
            raise RuntimeError("the sandbox is already running")
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self.port))
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(
            self._asgi,
            http="httptools",
            interface="asgi3",
            lifespan="off",
            log_config=None,  # leave the process's logging alone
            access_log=False,
            proxy_headers=False,
            server_header=False,
            timeout_keep_alive=300,
            backlog=2048,
        )
        self._server = uvicorn.Server(config)
        self._stopping = False
        self._ready.clear()
        self._failure = None
        self._thread = threading.Thread(
            target=self._run, args=(sock,), name=f"telegram-sandbox-{self.port}", daemon=True
        )
        self._thread.start()
        if not self._ready.wait(10) or self._failure is not None:
            raise RuntimeError(f"the sandbox did not start: {self._failure!r}")
        return self

    def stop(self) -> None:
        thread, server, loop = self._thread, self._server, self._loop
        if thread is None or server is None:
            return
        self._stopping = True
        if loop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(self._wake)
        thread.join(10)
        self._thread = None
        self.world.on_update = lambda: None

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.stop()

    def _run(self, sock: socket.socket) -> None:
        try:
            import uvloop

            factory: Callable[[], asyncio.AbstractEventLoop] = uvloop.new_event_loop
        except ImportError:
            factory = asyncio.new_event_loop
        try:
            with asyncio.Runner(loop_factory=factory) as runner:
                runner.run(self._serve(sock))
        except BaseException as error:
            self._failure = error
            self._ready.set()
            raise

    async def _serve(self, sock: socket.socket) -> None:
        # uvicorn's own serve() polls for exit every 0.1 s and sleeps 0.1 s more on shutdown; a test
        # suite starts and stops many sandboxes, so this drives startup and shutdown itself.
        server = self._server
        assert server is not None
        loop = asyncio.get_running_loop()
        self._loop = loop
        self._stop_signal = asyncio.Event()
        server.config.load()
        server.lifespan = server.config.lifespan_class(server.config)
        await server.startup(sockets=[sock])

        def notify() -> None:
            loop.call_soon_threadsafe(self._wake)

        self.world.on_update = notify
        webhooks = asyncio.create_task(self._webhook_loop())
        self._ready.set()
        tick = 0
        try:
            while not self._stopping:
                await server.on_tick(tick)  # keeps the Date header current
                tick += 1
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop_signal.wait(), 0.5)
        finally:
            webhooks.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await webhooks
            await self._shutdown(server)
            sock.close()

    @staticmethod
    async def _shutdown(server: uvicorn.Server) -> None:
        """Stop listening, close idle connections, let running requests finish (at most 2 s)."""
        for listener in server.servers:
            listener.close()
        for connection in list(server.server_state.connections):
            connection.shutdown()
        running = set(server.server_state.tasks)
        if running:
            _done, stuck = await asyncio.wait(running, timeout=2)
            for task in stuck:
                task.cancel()

    def _wake(self) -> None:
        if self._stopping and self._stop_signal is not None:
            self._stop_signal.set()
        for waiter in self._waiters:
            if not waiter.done():
                waiter.set_result(None)
        self._waiters.clear()

    async def _wait_for_update(self, seconds: float) -> None:
        assert self._loop is not None
        waiter: asyncio.Future[None] = self._loop.create_future()
        self._waiters.add(waiter)
        try:
            await asyncio.wait_for(waiter, seconds)
        except TimeoutError:
            pass
        finally:
            self._waiters.discard(waiter)

    # --- HTTP ------------------------------------------------------------------------------------

    async def _asgi(self, scope: Scope, receive: Receive, send: Send) -> None:
        # API calls skip Starlette's routing and middleware: benchmarks push thousands through.
        match = _API_PATH.match(scope["path"]) if scope["type"] == "http" else None
        if match is None:
            await self._app(scope, receive, send)
            return
        token, method = match.groups()
        faults = self._faults
        if faults is not None:
            key = method.lower()
            if _is_sending(key) or (faults.include_get_updates and key == "getupdates"):
                with self.world.lock:
                    fault = faults.draw()
                    if fault is not None:
                        self._stats.faults[str(fault)] += 1
                        if fault != "lost":
                            self._record(method, {}, time.time(), 0 if fault == "drop" else int(fault))
                if fault is not None:
                    await self._inject(fault, scope, receive, send, token, method)
                    return
        await self._api(scope, receive, send, token, method)

    async def _inject(self, fault: Fault, scope: Scope, receive: Receive, send: Send, token: str, method: str) -> None:
        if fault == 500:
            await self._respond(send, 500, _encode(_error(500, "Internal Server Error")), _JSON_TYPE)
        elif fault == 502:
            # Telegram's proxy sometimes answers 502 in HTML; JSON keeps PTB from logging a traceback
            # for every injected fault, and it raises the same NetworkError either way.
            await self._respond(send, 502, _encode(_error(502, "Bad Gateway")), _JSON_TYPE)
        elif fault == "drop":
            self._close_connection(send)
            await self._let_close_settle()
        else:
            # The call takes effect but the answer is lost: the bot cannot know it went through.
            async def swallow(message: Message) -> None:
                if message["type"] == "http.response.start":
                    self._close_connection(send)

            await self._api(scope, receive, swallow, token, method)
            await self._let_close_settle()

    @staticmethod
    async def _respond(send: Send, status: int, body: bytes, content_type: str) -> None:
        headers = [(b"content-type", content_type.encode()), (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    @staticmethod
    def _close_connection(send: Send) -> None:
        # ASGI has no "close without answering"; uvicorn's send is a method of the request cycle,
        # which holds the transport.
        transport = getattr(getattr(send, "__self__", None), "transport", None)
        if transport is None:
            raise RuntimeError("dropping connections needs uvicorn's httptools protocol")
        transport.close()

    @staticmethod
    async def _let_close_settle() -> None:
        # Give uvicorn a turn to notice the closed connection, so it does not log a missing response.
        for _ in range(3):
            await asyncio.sleep(0)

    async def _api(self, scope: Scope, receive: Receive, send: Send, token: str, method: str) -> None:
        if token != self.token:
            with self.world.lock:
                self._record(method, {}, time.time(), 401)
            status, payload = 401, _error(401, "Unauthorized")
        else:
            try:
                raw, files = await self._read_params(scope, receive)
            except ValueError as error:
                reason = f"Bad Request: can't parse the request: {error}"
                with self.world.lock:
                    self._refuse(method, {}, reason, 400)
                status, payload = 400, _error(400, reason)
            else:
                if method.lower() == "getupdates":
                    status, payload = await self._get_updates(method, raw, files)
                else:
                    status, payload = self.call(method, raw, files)
        await self._respond(send, status, _encode(payload), _JSON_TYPE)

    @staticmethod
    async def _read_params(scope: Scope, receive: Receive) -> tuple[dict[str, Any], dict[str, UploadedFile]]:
        query: bytes = scope["query_string"]
        params: dict[str, Any] = dict(parse_qsl(query.decode("utf-8"), keep_blank_values=True)) if query else {}
        files: dict[str, UploadedFile] = {}
        chunks = []
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise ValueError("the client went away")
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        body = b"".join(chunks)
        if scope["method"] != "POST" or not body:
            return params, files
        content_type = next(
            (value.decode("latin-1") for name, value in scope["headers"] if name == b"content-type"), ""
        )
        if content_type.startswith(_JSON_TYPE):
            data = json.loads(body)
            if not isinstance(data, dict):
                raise ValueError("the JSON body must be an object")
            params.update(data)
        elif content_type.startswith("application/x-www-form-urlencoded"):
            params.update(parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=True))
        elif content_type.startswith("multipart/form-data"):
            fields, files = parse_multipart(body, content_type)
            params.update(fields)
        else:
            raise ValueError(f"unsupported content type {content_type!r}")
        return params, files

    async def _file_endpoint(self, request: Request) -> Response:
        if request.path_params["token"] != self.token:
            return Response(b"Unauthorized", status_code=401)
        with self.world.lock:
            record = self.world.files_by_path.get(request.path_params["path"])
        if record is None:
            return Response(_encode(_error(404, "Not Found")), status_code=404, media_type=_JSON_TYPE)
        return Response(record.data, media_type=record.mime_type or "application/octet-stream")

    # --- the Bot API -----------------------------------------------------------------------------

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
        spec = self.spec.implemented(method)
        if spec is None:
            proper = self.spec.known_elsewhere(method)
            if proper is not None:
                reason = f"Bad Request: the sandbox does not implement {proper}"
                self._refuse(proper, raw, reason, 400)
                return proper, raw, 400, _error(400, reason)
            self._refuse(method, raw, "Not Found", 404)
            return method, raw, 404, _error(404, "Not Found")
        try:
            params = self.spec.coerce_params(spec, raw, files)
        except SpecError as error:
            self._refuse(spec.name, _loggable({**raw, **files}), str(error), 400)
            return spec.name, raw, 400, _error(400, str(error))
        key = spec.name.lower()
        flood = self._flood if _is_sending(key) else None
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
                return spec.name, params, 429, _error(429, description, {"retry_after": wait})
        try:
            if key == "getupdates":
                result: Any = self.world.get_updates(params)
            else:
                result = self.world.handlers[key](params)
        except ApiError as error:
            if error.refusal:
                self._refuse(spec.name, _loggable(params), error.description, error.status)
            elif error.status == 400:
                self._stats.rejections += 1
                self._rejections.append(Rejection(spec.name, _loggable(params), error.description))
            return spec.name, params, error.status, _error(error.status, error.description, error.parameters)
        if flood is not None:
            flood.record(flood_chat, now)
        return spec.name, params, 200, {"ok": True, "result": result}

    async def _get_updates(self, method: str, raw: JSON, files: dict[str, UploadedFile]) -> tuple[int, JSON]:
        """getUpdates with long polling: waits until an update is queued or the timeout passes."""
        now = time.time()
        with self.world.lock:
            _name, params, status, payload = self._call_locked(method, raw, files, now)
            timeout = float(params.get("timeout", 0)) if status == 200 else 0.0
            if status != 200 or payload["result"] or timeout <= 0:
                self._record("getUpdates", params, now, status)
                return status, payload
        # A newer long poll ends an older one, as on Telegram (two bot instances on one token).
        self._poll_generation += 1
        generation = self._poll_generation
        self._wake()
        assert self._loop is not None
        deadline = self._loop.time() + timeout
        updates: list[JSON] = []
        while not self._stopping:
            remaining = deadline - self._loop.time()
            if remaining <= 0:
                break
            await self._wait_for_update(remaining)
            if self._poll_generation != generation:
                description = (
                    "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running"
                )
                with self.world.lock:
                    self._record("getUpdates", params, now, 409)
                return 409, _error(409, description)
            with self.world.lock:
                if self.world.webhook is not None:
                    break
                updates = self.world.take_updates(None, self.world.poll_limit(params))
            if updates:
                break
        with self.world.lock:
            self._record("getUpdates", params, now, 200)
        return 200, {"ok": True, "result": updates}

    def _record(self, method: str, params: JSON, now: float, status: int) -> None:
        self._calls.append(Call(method, _loggable(params), now, status))
        stats = self._stats
        stats.calls[method] += 1
        stats.statuses[status] += 1
        stats.by_method_status[method, status] += 1

    def _refuse(self, method: str, params: JSON, reason: str, status: int) -> None:
        self._stats.refusals += 1
        self._refusals.append(Refusal(method, params, reason, status))

    async def _webhook_loop(self) -> None:
        """Deliver queued updates to the webhook one at a time, in order, like Telegram does."""
        async with httpx.AsyncClient(timeout=10, trust_env=False) as client:
            while not self._stopping:
                with self.world.lock:
                    webhook = self.world.webhook
                    update = self.world.updates[0] if webhook is not None and self.world.updates else None
                if webhook is None or update is None:
                    await self._wait_for_update(60)
                    continue
                headers = {"content-type": _JSON_TYPE}
                if webhook.secret_token:
                    headers["x-telegram-bot-api-secret-token"] = webhook.secret_token
                try:
                    response = await client.post(webhook.url, content=_encode(update), headers=headers)
                    error = None if response.is_success else f"Wrong response from the webhook: {response.status_code}"
                except httpx.HTTPError as failure:
                    error = f"Connection failed: {type(failure).__name__}"
                with self.world.lock:
                    if error is None:
                        if self.world.updates and self.world.updates[0] is update:
                            self.world.updates.popleft()
                            self.world.confirmed_offset = update["update_id"] + 1
                    else:
                        webhook.last_error_date = self.world.now()
                        webhook.last_error_message = error
                if error is not None:
                    await self._wait_for_update(1.0)

    # --- the simulated world, for tests ---------------------------------------------------------

    def user(
        self,
        user_id: int,
        first_name: str,
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = "nl",
    ) -> SimUser:
        """A person with a private chat with the bot (same object for the same id; details updated)."""
        with self.world.lock:
            self.world.add_user(user_id, first_name, last_name, username, language_code)
            person = self._users.get(user_id)
            if person is None:
                person = self._users[user_id] = SimUser(self.world, user_id)
        return person

    def group(self, chat_id: int, title: str, forum: bool = True, supergroup: bool = True) -> SimGroup:
        """A group with the bot as an administrator in it (same object for the same id)."""
        with self.world.lock:
            self.world.add_group(chat_id, title, forum=forum, supergroup=supergroup)
            group = self._groups.get(chat_id)
            if group is None:
                group = self._groups[chat_id] = SimGroup(self.world, chat_id)
        return group

    def inject_raw_update(self, update: JSON, *, keep_update_id: bool = False) -> int:
        """Queue any update as raw JSON (its update_id is replaced); also kinds the bot opted out of.

        With `keep_update_id` the update is queued with the update_id it has, e.g. a copy of one
        already queued, as Telegram delivers an update again that a bot did not confirm.
        """
        payload = {key: value for key, value in update.items() if key != "update_id"}
        if len(payload) != 1:
            raise ValueError("an update has exactly one field besides update_id")
        ((kind, body),) = payload.items()
        if keep_update_id:
            given = update.get("update_id")
            if not isinstance(given, int):
                raise ValueError("keep_update_id needs an int update_id")
            with self.world.lock:
                self.world.updates.append({"update_id": given, kind: body})
                self.world.next_update_id = max(self.world.next_update_id, given + 1)
                self.world.on_update()
            return given
        with self.world.lock:
            update_id = self.world.queue_update(kind, body, filtered=False)
        assert update_id is not None
        return update_id

    def pending_updates(self) -> list[JSON]:
        """Updates queued but not yet confirmed by the bot (with a later getUpdates offset)."""
        with self.world.lock:
            return list(self.world.updates)

    @property
    def confirmed_offset(self) -> int:
        with self.world.lock:
            return self.world.confirmed_offset

    @property
    def long_polls_started(self) -> int:
        """How many getUpdates long polls have begun to wait, so far (a test waits for one to be waiting
        before it acts, instead of sleeping a moment and hoping)."""
        return self._poll_generation

    @property
    def calls(self) -> list[Call]:
        with self.world.lock:
            return list(self._calls)

    def calls_to(self, method: str) -> list[Call]:
        with self.world.lock:
            return [call for call in self._calls if call.method.lower() == method.lower()]

    @property
    def refusals(self) -> list[Refusal]:
        with self.world.lock:
            return list(self._refusals)

    @property
    def rejections(self) -> list[Rejection]:
        with self.world.lock:
            return list(self._rejections)

    @property
    def stats(self) -> Stats:
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

    def delivered(self, chat_id: int) -> list[ChatMessage]:
        """Every message the bot delivered to a chat, oldest first."""
        with self.world.lock:
            chat = self.world.chats.get(chat_id)
            return list(chat.bot_messages) if chat is not None else []

    def my_commands(self, scope: JSON | None = None, language_code: str = "") -> list[JSON]:
        """The commands the bot set for a scope and language (what getMyCommands returns)."""
        with self.world.lock:
            return self.world.get_my_commands(
                {"scope": scope, "language_code": language_code} if scope else {"language_code": language_code}
            )

    @property
    def webhook_url(self) -> str | None:
        with self.world.lock:
            return self.world.webhook.url if self.world.webhook is not None else None

    def block(self, user_id: int) -> None:
        """The person blocks the bot: sends to them get 403, and the bot gets a my_chat_member update."""
        with self.world.lock:
            self.world.set_blocked(user_id, True)

    def unblock(self, user_id: int) -> None:
        with self.world.lock:
            self.world.set_blocked(user_id, False)

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
