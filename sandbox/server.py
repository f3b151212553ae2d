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
import re
import socket
import threading
import time
from collections.abc import Awaitable, Callable, MutableMapping
from types import TracebackType
from typing import Any

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sandbox.calls import ApiCalls, error_body, is_sending
from sandbox.limits import Fault
from sandbox.people import SimGroup, SimUser
from sandbox.records import JSON, ChatMessage
from sandbox.request_body import ClientGone, read_params
from sandbox.spec import Spec, UploadedFile, load_spec
from sandbox.world import World

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

_JSON_TYPE = "application/json"
_API_PATH = re.compile(r"^/bot([^/]+)/([^/]+)$")


def _encode(payload: JSON) -> bytes:
    """Compact UTF-8 JSON, as Telegram answers."""
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


class Sandbox(ApiCalls):
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
        """A sandbox for one bot token, not yet listening (see `start`); the spec subset unless one is given."""
        if not re.fullmatch(r"[0-9]+:[A-Za-z0-9_-]+", token):
            raise ValueError("a bot token looks like 123456:ABC-def")
        self.token = token
        self.host = "127.0.0.1"
        self.port = port
        spec = spec or load_spec()
        world = World(token, spec, bot_username=bot_username, bot_name=bot_name, privacy_mode=privacy_mode, clock=clock)
        super().__init__(spec, world)
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
        # Chats whose calls wait for their answer (`hold_calls_to`), and how many wait now.
        self._holds: dict[str, asyncio.Event] = {}
        self.held_now = 0
        # Seconds every call but getUpdates takes to be answered, as over a real network (0: at once).
        self.answer_delay = 0.0

    # --- lifecycle -----------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """The Bot API base URL for python-telegram-bot (`base_url`)."""
        return f"http://{self.host}:{self.port}/bot"

    @property
    def base_file_url(self) -> str:
        """The file download base URL for python-telegram-bot (`base_file_url`)."""
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
        """Stop serving: finish running requests, close the connections, join the server thread."""
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
        """Start serving for a `with` block."""
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        """Stop serving at the end of a `with` block."""
        self.stop()

    def _run(self, sock: socket.socket) -> None:
        """The server thread: an event loop (uvloop if installed) running `_serve` until stopped."""
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
        """Start uvicorn on the socket, deliver webhooks, and keep serving until `stop`."""
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
            """Wake long polls and the webhook loop from any thread when an update is queued."""
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
        """Wake every waiting long poll and the webhook loop (and the serve loop when stopping)."""
        if self._stopping and self._stop_signal is not None:
            self._stop_signal.set()
        for waiter in self._waiters:
            if not waiter.done():
                waiter.set_result(None)
        self._waiters.clear()

    async def _wait_for_update(self, seconds: float) -> None:
        """Wait until an update may have been queued, or at most `seconds`."""
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
        """The ASGI entry: API calls (with any injected fault) here, everything else to Starlette."""
        # API calls skip Starlette's routing and middleware: benchmarks push thousands through.
        match = _API_PATH.match(scope["path"]) if scope["type"] == "http" else None
        if match is None:
            await self._app(scope, receive, send)
            return
        token, method = match.groups()
        faults = self._faults
        if faults is not None:
            key = method.lower()
            if is_sending(key) or (faults.include_get_updates and key == "getupdates"):
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
        """Answer with an injected fault: a 500 or 502, a dropped connection, or a call whose answer is lost."""
        if fault == 500:
            await self._respond(send, 500, _encode(error_body(500, "Internal Server Error")), _JSON_TYPE)
        elif fault == 502:
            # Telegram's proxy sometimes answers 502 in HTML; JSON keeps PTB from logging a traceback
            # for every injected fault, and it raises the same NetworkError either way.
            await self._respond(send, 502, _encode(error_body(502, "Bad Gateway")), _JSON_TYPE)
        elif fault == "drop":
            self._close_connection(send)
            await self._let_close_settle()
        else:
            # The call takes effect but the answer is lost: the bot cannot know it went through.
            async def swallow(message: Message) -> None:
                """Close the connection instead of sending the answer."""
                if message["type"] == "http.response.start":
                    self._close_connection(send)

            await self._api(scope, receive, swallow, token, method)
            await self._let_close_settle()

    @staticmethod
    async def _respond(send: Send, status: int, body: bytes, content_type: str) -> None:
        """Send a complete HTTP response."""
        headers = [(b"content-type", content_type.encode()), (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    @staticmethod
    def _close_connection(send: Send) -> None:
        """Close the client's connection without an answer, as a network fault does."""
        # ASGI has no "close without answering"; uvicorn's send is a method of the request cycle,
        # which holds the transport.
        transport = getattr(getattr(send, "__self__", None), "transport", None)
        if transport is None:
            raise RuntimeError("dropping connections needs uvicorn's httptools protocol")
        transport.close()

    @staticmethod
    async def _let_close_settle() -> None:
        """Let uvicorn notice a closed connection before the request ends."""
        # Give uvicorn a turn to notice the closed connection, so it does not log a missing response.
        for _ in range(3):
            await asyncio.sleep(0)

    async def _api(self, scope: Scope, receive: Receive, send: Send, token: str, method: str) -> None:
        """Answer one API call over HTTP: check the token, read the parameters, run it (long polls wait)."""
        if token != self.token:
            with self.world.lock:
                self._record(method, {}, time.time(), 401)
            status, payload = 401, error_body(401, "Unauthorized")
        else:
            try:
                raw, files = await read_params(scope, receive)
            except ClientGone:
                with self.world.lock:
                    self._stats.disconnects += 1
                return
            except ValueError as error:
                reason = f"Bad Request: can't parse the request: {error}"
                with self.world.lock:
                    self._refuse(method, {}, reason, 400)
                status, payload = 400, error_body(400, reason)
            else:
                if method.lower() == "getupdates":
                    status, payload = await self._get_updates(method, raw, files)
                else:
                    await self._wait_if_held(raw)
                    status, payload = self.call(method, raw, files)
        await self._respond(send, status, _encode(payload), _JSON_TYPE)

    async def _wait_if_held(self, raw: JSON) -> None:
        """A call waits `answer_delay`, and a call to a held chat until it is released, as over a slow network."""
        if self.answer_delay:
            await asyncio.sleep(self.answer_delay)
        hold = self._holds.get(str(raw.get("chat_id")))
        if hold is None or hold.is_set():
            return
        self.held_now += 1
        try:
            await hold.wait()
        finally:
            self.held_now -= 1

    def hold_calls_to(self, chat_id: int) -> None:
        """From now on, calls to this chat get their answer only after `release_calls_to`."""
        self._in_loop(lambda: self._holds.__setitem__(str(chat_id), asyncio.Event()))

    def release_calls_to(self, chat_id: int) -> None:
        """The held calls to this chat are answered, and later ones are no longer held."""
        self._in_loop(lambda: self._holds.pop(str(chat_id), asyncio.Event()).set())

    def _in_loop(self, action: Callable[[], object]) -> None:
        """Run `action` in the sandbox's event loop (where the held calls wait) and wait until it has."""
        assert self._loop is not None, "the sandbox is not running"
        done = threading.Event()

        def run() -> None:
            """The action, then the signal that it ran."""
            action()
            done.set()

        self._loop.call_soon_threadsafe(run)
        if not done.wait(timeout=10):
            raise TimeoutError("the sandbox's event loop did not run the change")

    async def _file_endpoint(self, request: Request) -> Response:
        """Serve a file download (/file/bot<token>/<path>), as Telegram's file server does."""
        if request.path_params["token"] != self.token:
            return Response(b"Unauthorized", status_code=401)
        with self.world.lock:
            record = self.world.files_by_path.get(request.path_params["path"])
        if record is None:
            return Response(_encode(error_body(404, "Not Found")), status_code=404, media_type=_JSON_TYPE)
        return Response(record.data, media_type=record.mime_type or "application/octet-stream")

    # --- the Bot API -----------------------------------------------------------------------------

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
                return 409, error_body(409, description)
            with self.world.lock:
                if self.world.webhook is not None:
                    break
                updates = self.world.take_updates(None, self.world.poll_limit(params))
            if updates:
                break
        with self.world.lock:
            self._record("getUpdates", params, now, 200)
        return 200, {"ok": True, "result": updates}

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
        """The update id below which the bot has confirmed every update."""
        with self.world.lock:
            return self.world.confirmed_offset

    @property
    def long_polls_started(self) -> int:
        """How many getUpdates long polls have begun to wait, so far (a test waits for one to be waiting
        before it acts, instead of sleeping a moment and hoping)."""
        return self._poll_generation

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
        """The webhook the bot set, or None while it polls."""
        with self.world.lock:
            return self.world.webhook.url if self.world.webhook is not None else None

    def block(self, user_id: int) -> None:
        """The person blocks the bot: sends to them get 403, and the bot gets a my_chat_member update."""
        with self.world.lock:
            self.world.set_blocked(user_id, True)

    def unblock(self, user_id: int) -> None:
        """The person unblocks the bot again: sends to them work, and the bot gets a my_chat_member update."""
        with self.world.lock:
            self.world.set_blocked(user_id, False)
