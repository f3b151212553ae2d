"""python-telegram-bot's HTTP requests over aiohttp instead of httpx.

Measured against the sandbox (`bench sandbox`), httpx spends about 0.5 ms of CPU on each Bot API call and
aiohttp about 0.07 ms; with two or three calls per update that was a fifth of the bot's own work. PTB allows
any `BaseRequest`; this one keeps its contract: form fields or multipart as PTB encodes them, its timeouts,
`TimedOut` for a timeout and `NetworkError` for anything else on the wire. Error texts name the failure's
kind, never the URL, which holds the token.
"""

from __future__ import annotations

import ssl
from typing import Any

import aiohttp
import certifi
from aiohttp.helpers import get_env_proxy_for_url
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData
from yarl import URL

_DEFAULT = BaseRequest.DEFAULT_NONE
Proxy = tuple[URL | None, aiohttp.BasicAuth | None]


class AiohttpRequest(BaseRequest):
    """One aiohttp session with a bounded pool of keep-alive connections, made on `initialize`."""

    def __init__(
        self,
        *,
        connection_pool_size: int = 8,
        read_timeout: float | None = 5.0,
        write_timeout: float | None = 5.0,
        connect_timeout: float | None = 5.0,
        pool_timeout: float | None = 1.0,
        media_write_timeout: float | None = 20.0,
    ) -> None:
        """Keep the pool size and default timeouts; nothing is opened before `initialize`."""
        self._pool_size = connection_pool_size
        self._timeouts = {"read": read_timeout, "write": write_timeout, "connect": connect_timeout}
        self._pool_timeout = pool_timeout
        self._media_write_timeout = media_write_timeout
        self._session: aiohttp.ClientSession | None = None
        self._proxies: dict[str, Proxy] = {}

    @property
    def read_timeout(self) -> float | None:
        """The default time to wait for Telegram's answer (PTB adds it to a long poll's own timeout)."""
        return self._timeouts["read"]

    async def initialize(self) -> None:
        """Open the session (again, after `shutdown`)."""
        if self._session is None or self._session.closed:
            # The same certificate authorities as httpx (certifi's), not whatever the system holds.
            context = ssl.create_default_context(cafile=certifi.where())
            connector = aiohttp.TCPConnector(limit=self._pool_size, ssl=context)
            # No cookies: a bot keeps no state at the API. No trust_env: the proxy is looked up once (`_proxy_for`).
            self._session = aiohttp.ClientSession(
                connector=connector,
                headers={"User-Agent": self.USER_AGENT},
                cookie_jar=aiohttp.DummyCookieJar(),
            )

    async def shutdown(self) -> None:
        """Close the session and its connections."""
        if self._session is not None and not self._session.closed:
            await self._session.close()

    def _timeout(self, read: Any, write: Any, connect: Any, pool: Any, *, upload: bool) -> aiohttp.ClientTimeout:
        """PTB's four timeouts (the defaults where a call gives none) as aiohttp's.

        aiohttp has no write timeout of its own: the whole call is bounded by the sum of all four, so a stuck
        upload ends like a stuck answer does."""
        read = self._timeouts["read"] if read is _DEFAULT else read
        write = (self._media_write_timeout if upload else self._timeouts["write"]) if write is _DEFAULT else write
        connect = self._timeouts["connect"] if connect is _DEFAULT else connect
        pool = self._pool_timeout if pool is _DEFAULT else pool
        parts = (read, write, connect, pool)
        total = None if any(part is None for part in parts) else sum(parts)
        waiting = None if connect is None or pool is None else connect + pool
        return aiohttp.ClientTimeout(total=total, connect=waiting, sock_connect=connect, sock_read=read)

    def _proxy_for(self, url: str) -> Proxy:
        """The environment's proxy for the URL's origin (HTTP(S)_PROXY, NO_PROXY), as httpx honoured; read once.

        aiohttp's own `trust_env` reads the environment and ~/.netrc again on every call, in two hops through a
        worker thread each: measured, that was an eighth of the bot's CPU. The API's origin never changes while
        the bot runs, so its answer is kept."""
        origin = "/".join(url.split("/", 3)[:3])
        found = self._proxies.get(origin)
        if found is None:
            try:
                found = get_env_proxy_for_url(URL(origin))
            except LookupError:
                found = (None, None)
            self._proxies[origin] = found
        return found

    @staticmethod
    def _body(request_data: RequestData | None) -> aiohttp.FormData | dict[str, str] | None:
        """The form PTB encoded: multipart when there are files, else url-encoded fields."""
        if request_data is None:
            return None
        fields = request_data.json_parameters
        files = request_data.multipart_data
        if not files:
            return fields
        form = aiohttp.FormData()
        for name, value in fields.items():
            form.add_field(name, value)
        for name, (file_name, content, mime_type) in files.items():
            form.add_field(name, content, filename=file_name, content_type=mime_type)
        return form

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = _DEFAULT,
        write_timeout: Any = _DEFAULT,
        connect_timeout: Any = _DEFAULT,
        pool_timeout: Any = _DEFAULT,
    ) -> tuple[int, bytes]:
        """One call: the status and body as Telegram answered; TimedOut or NetworkError when it could not."""
        if self._session is None or self._session.closed:
            raise RuntimeError("This AiohttpRequest is not initialized!")
        upload = bool(request_data and request_data.contains_files)
        timeout = self._timeout(read_timeout, write_timeout, connect_timeout, pool_timeout, upload=upload)
        proxy, proxy_auth = self._proxy_for(url)
        try:
            async with self._session.request(
                method,
                url,
                data=self._body(request_data),
                timeout=timeout,
                allow_redirects=False,
                proxy=proxy,
                proxy_auth=proxy_auth,
            ) as response:
                return response.status, await response.read()
        except TimeoutError as error:  # aiohttp's own timeouts are TimeoutErrors too
            raise TimedOut(f"aiohttp.{type(error).__name__}") from error
        except aiohttp.ClientError as error:
            raise NetworkError(f"aiohttp.{type(error).__name__}") from error
