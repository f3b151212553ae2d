"""The sandbox alone: how many sendMessage calls per second it answers, so it is never what limits a figure.

Eight clients at once over keep-alive HTTP/1.1 send to simulated people: first a minimal client on
asyncio streams (so the sandbox is what is measured), then httpx, the client python-telegram-bot
uses. The row also records how many TCP connections served all calls, and whether both
ends have Nagle's algorithm off (TCP_NODELAY).
"""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from bench.common import TOKEN, Row, ratio, thread_cpu
from sandbox import Sandbox


def _nodelay(sock: Any) -> bool | None:
    try:
        return bool(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
    except (OSError, AttributeError):
        return None


async def _drive(sandbox: Sandbox, calls: int, workers: int) -> tuple[float, set[int], list[bool | None]]:
    """A minimal keep-alive HTTP/1.1 client on asyncio streams: cheap, so the sandbox is what is measured."""
    path = f"/bot{sandbox.token}/sendMessage"
    ports: set[int] = set()
    client_nodelay: list[bool | None] = []
    counter = iter(range(calls))

    async def worker() -> None:
        reader, writer = await asyncio.open_connection(sandbox.host, sandbox.port)
        sock = writer.get_extra_info("socket")
        ports.add(sock.getsockname()[1])
        client_nodelay.append(_nodelay(sock))
        try:
            for index in counter:
                body = json.dumps({"chat_id": 1 + index % 50, "text": f"bericht {index}"}).encode()
                head = (
                    f"POST {path} HTTP/1.1\r\nHost: {sandbox.host}:{sandbox.port}\r\n"
                    f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
                )
                writer.write(head.encode() + body)
                status_line = await reader.readline()
                if b" 200 " not in status_line:
                    raise RuntimeError(f"sandbox answered {status_line!r}")
                length = 0
                while (line := await reader.readline()) not in (b"\r\n", b""):
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value)
                await reader.readexactly(length)
        finally:
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(workers)))
    return time.perf_counter() - started, ports, client_nodelay


async def _timed(send: Callable[[int], Awaitable[None]], calls: int, workers: int) -> float:
    """Seconds for `calls` sends by `workers` clients at once, each taking the next call's number."""
    counter = iter(range(calls))

    async def worker() -> None:
        for index in counter:
            await send(index)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(workers)))
    return time.perf_counter() - started


async def _drive_httpx(sandbox: Sandbox, calls: int, workers: int) -> float:
    """The same through httpx, the client python-telegram-bot uses."""
    url = f"{sandbox.base_url}{sandbox.token}/sendMessage"
    limits = httpx.Limits(max_connections=workers, max_keepalive_connections=workers)
    async with httpx.AsyncClient(limits=limits, timeout=10, trust_env=False) as client:

        async def send(index: int) -> None:
            response = await client.post(url, json={"chat_id": 1 + index % 50, "text": f"bericht {index}"})
            response.raise_for_status()

        return await _timed(send, calls, workers)


async def _drive_bot_transport(sandbox: Sandbox, calls: int, workers: int) -> float:
    """The same through the bot's own transport (`bot.http_client`, aiohttp), as PTB calls it."""
    from telegram.request import RequestData
    from telegram.request._requestparameter import RequestParameter

    from bot.http_client import AiohttpRequest

    url = f"{sandbox.base_url}{sandbox.token}/sendMessage"
    request = AiohttpRequest(connection_pool_size=workers)
    await request.initialize()

    async def send(index: int) -> None:
        parameters = [
            RequestParameter("chat_id", 1 + index % 50, None),
            RequestParameter("text", f"bericht {index}", None),
        ]
        status, _body = await request.do_request(url, "POST", RequestData(parameters))
        assert status == 200

    try:
        return await _timed(send, calls, workers)
    finally:
        await request.shutdown()


def run_sandbox_alone(*, calls: int, workers: int = 8) -> list[Row]:
    with Sandbox(token=TOKEN) as sandbox:
        for chat in range(1, 51):
            sandbox.user(chat, f"Persoon {chat}")
        asyncio.run(_drive(sandbox, min(200, calls), workers))  # warm up
        server_thread = sandbox._thread
        cpu_before = thread_cpu(server_thread)
        elapsed, ports, client_nodelay = asyncio.run(_drive(sandbox, calls, workers))
        cpu = thread_cpu(server_thread) - cpu_before
        httpx_elapsed = asyncio.run(_drive_httpx(sandbox, calls, workers))
        bot_elapsed = asyncio.run(_drive_bot_transport(sandbox, calls, workers))
        server = sandbox._server
        server_nodelay = None
        if server is not None:
            flags = [
                _nodelay(connection.transport.get_extra_info("socket"))
                for connection in list(server.server_state.connections)
                if getattr(connection, "transport", None) is not None
            ]
            server_nodelay = all(flag for flag in flags) if flags else None
    rate = calls / elapsed
    cpu_ms = cpu / calls * 1000
    nodelay = bool(client_nodelay) and all(client_nodelay) and server_nodelay is not False
    return [
        Row(
            bench="sandbox",
            case=f"sandbox alone: {calls:,} sendMessage, {workers} clients",
            db="-",
            value=rate,
            unit="calls/s",
            reference=None,
            ratio=None,
            goal="keep-alive, TCP_NODELAY",
            met=len(ports) <= workers and nodelay,
            note=(
                f"{len(ports)} TCP connections; TCP_NODELAY client={all(client_nodelay) if client_nodelay else '?'} "
                f"server={server_nodelay}; sandbox thread {cpu_ms:.2f} ms CPU/call"
            ),
            extra={"connections": len(ports), "server_cpu_ms_per_call": cpu_ms},
        ),
        Row(
            bench="sandbox",
            case="same calls through httpx (PTB's HTTP client)",
            db="-",
            value=calls / httpx_elapsed,
            unit="calls/s",
            reference=rate,
            ratio=ratio(calls / httpx_elapsed, rate),
            note="the client's own cost, for reading the other figures",
        ),
        Row(
            bench="sandbox",
            case="same calls through the bot's transport (aiohttp, bot/http_client.py)",
            db="-",
            value=calls / bot_elapsed,
            unit="calls/s",
            reference=calls / httpx_elapsed,
            ratio=ratio(calls / bot_elapsed, calls / httpx_elapsed),
            note="reference: httpx; the echo bot keeps PTB's default (httpx)",
        ),
    ]
