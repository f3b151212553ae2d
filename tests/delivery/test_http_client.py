"""The aiohttp transport keeps python-telegram-bot's contract: forms and uploads as PTB encodes them,
TimedOut for a silent server, NetworkError for a refused or broken connection, never the token in an error.

The servers are plain asyncio servers on localhost, so nothing here can reach a network.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest
from telegram import InputFile
from telegram.error import NetworkError, TimedOut
from telegram.request import RequestData
from telegram.request._requestparameter import RequestParameter

from bot import http_client
from bot.http_client import AiohttpRequest

TOKEN = "123456789:http-client-fake-token"
Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@asynccontextmanager
async def server(handler: Handler) -> AsyncIterator[str]:
    """A server on a free localhost port running `handler` per connection; yields its bot URL."""
    listening = await asyncio.start_server(handler, "127.0.0.1", 0)
    port = listening.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}/bot{TOKEN}/sendDocument"
    finally:
        listening.close()
        await listening.wait_closed()


async def read_request(reader: asyncio.StreamReader) -> bytes:
    """One HTTP request: its head and its body (by Content-Length)."""
    head = await reader.readuntil(b"\r\n\r\n")
    length = next(
        (int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")), 0
    )
    return head + await reader.readexactly(length)


def run(coroutine: Awaitable[object]) -> object:
    return asyncio.run(coroutine)  # type: ignore[arg-type]


def test_fields_and_an_upload_arrive_as_ptb_encoded_them_and_the_answer_comes_back() -> None:
    received: list[bytes] = []

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        received.append(await read_request(reader))
        body = b'{"ok":true,"result":true}'
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
        await writer.drain()
        writer.close()

    async def scenario() -> tuple[int, bytes]:
        request = AiohttpRequest()
        await request.initialize()
        upload = InputFile(b"family,checkins\n", filename="figures.csv")
        data = RequestData(
            [RequestParameter("chat_id", 42, None), RequestParameter("document", upload.attach_uri, [upload])]
        )
        async with server(answer) as url:
            try:
                return await request.do_request(url, "POST", data)
            finally:
                await request.shutdown()

    status, body = run(scenario())  # type: ignore[misc]
    assert (status, body) == (200, b'{"ok":true,"result":true}')
    sent = received[0]
    assert b"multipart/form-data" in sent and b'name="chat_id"' in sent and b"42" in sent
    assert b'filename="figures.csv"' in sent and b"family,checkins\n" in sent
    assert b"python-telegram-bot" in sent  # PTB's User-Agent


def test_a_server_that_never_answers_is_a_timeout() -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        await asyncio.Event().wait()  # holds the connection until the test ends

    async def scenario() -> None:
        request = AiohttpRequest(read_timeout=0.2)
        await request.initialize()
        async with server(silent) as url:
            try:
                await request.do_request(url, "POST", RequestData([RequestParameter("chat_id", 1, None)]))
            finally:
                await request.shutdown()

    with pytest.raises(TimedOut) as raised:
        run(scenario())
    assert TOKEN not in str(raised.value)


def test_a_refused_or_dropped_connection_is_a_network_error_without_the_token() -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]

    async def drop(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.close()

    async def scenario() -> list[str]:
        request = AiohttpRequest()
        await request.initialize()
        errors = []
        try:
            for url in (f"http://127.0.0.1:{closed_port}/bot{TOKEN}/getMe", None):
                try:
                    if url is None:
                        async with server(drop) as dropped:
                            await request.do_request(dropped, "POST")
                    else:
                        await request.do_request(url, "POST")
                except NetworkError as error:
                    assert not isinstance(error, TimedOut)
                    errors.append(str(error))
        finally:
            await request.shutdown()
        return errors

    errors = run(scenario())
    assert len(errors) == 2  # type: ignore[arg-type]
    assert all(TOKEN not in error and "aiohttp." in error for error in errors)  # type: ignore[union-attr]


def test_it_must_be_initialized_and_can_be_again_after_shutdown() -> None:
    async def scenario() -> None:
        request = AiohttpRequest()
        with pytest.raises(RuntimeError):
            await request.do_request("http://127.0.0.1:9/", "POST")
        await request.initialize()
        await request.shutdown()
        await request.initialize()
        await request.shutdown()

    run(scenario())


def test_a_proxy_from_the_environment_is_used_as_httpx_did(monkeypatch: pytest.MonkeyPatch) -> None:
    request_lines: list[bytes] = []

    async def proxy(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        request_lines.append((await read_request(reader)).split(b"\r\n")[0])
        body = b'{"ok":true,"result":true}'
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
        await writer.drain()
        writer.close()

    async def scenario() -> int:
        async with server(proxy) as proxy_url:
            port = proxy_url.split(":")[2].split("/")[0]
            monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{port}")
            monkeypatch.delenv("NO_PROXY", raising=False)
            monkeypatch.delenv("no_proxy", raising=False)
            request = AiohttpRequest()
            await request.initialize()
            try:
                status, _body = await request.do_request(f"http://api.example.invalid/bot{TOKEN}/getMe", "POST")
            finally:
                await request.shutdown()
            return status

    assert run(scenario()) == 200
    assert request_lines == [f"POST http://api.example.invalid/bot{TOKEN}/getMe HTTP/1.1".encode()]


def test_the_environment_s_proxy_is_read_once_per_origin_and_no_proxy_is_honoured(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """aiohttp's trust_env would read the environment and ~/.netrc again (in worker threads) on every call."""
    lookups: list[str] = []
    original = http_client.get_env_proxy_for_url

    def counted(url: Any) -> Any:
        lookups.append(str(url))
        return original(url)

    monkeypatch.setattr(http_client, "get_env_proxy_for_url", counted)
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    monkeypatch.setenv("NO_PROXY", "api.example.invalid")
    monkeypatch.delenv("no_proxy", raising=False)
    request = AiohttpRequest()
    for method in ("getMe", "getUpdates", "sendMessage"):
        assert request._proxy_for(f"http://api.example.invalid/bot{TOKEN}/{method}") == (None, None)
    proxied = request._proxy_for(f"http://files.example.invalid/file/bot{TOKEN}/photo.jpg")
    assert str(proxied[0]) == "http://127.0.0.1:9"
    assert lookups == ["http://api.example.invalid", "http://files.example.invalid"]
