"""A fresh sandbox per test, and helpers to drive it with the real python-telegram-bot `Bot`."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, TypeVar

import httpx
import pytest
from telegram import Bot
from telegram.request import HTTPXRequest

from sandbox import Sandbox

T = TypeVar("T")
TOKEN = "123456:TEST-token"
# Building an SSL context loads the CA bundle (tens of milliseconds); the sandbox is plain HTTP,
# so every client here shares one.
_SSL = ssl.create_default_context()
HTTP = httpx.Client(timeout=10, verify=_SSL, trust_env=False)


@pytest.fixture
def sb() -> Iterator[Sandbox]:
    with Sandbox(TOKEN) as sandbox:
        yield sandbox


def make_bot(sandbox: Sandbox, *, read_timeout: float = 5.0) -> Bot:
    def request() -> HTTPXRequest:
        return HTTPXRequest(read_timeout=read_timeout, httpx_kwargs={"verify": _SSL, "trust_env": False})

    return Bot(
        sandbox.token,
        base_url=sandbox.base_url,
        base_file_url=sandbox.base_file_url,
        request=request(),
        get_updates_request=request(),
    )


def with_bot(sandbox: Sandbox, action: Callable[[Bot], Awaitable[T]]) -> T:
    """Run `action(bot)` with an initialised PTB Bot pointed at the sandbox."""

    async def main() -> T:
        async with make_bot(sandbox) as bot:
            return await action(bot)

    return asyncio.run(main())


def raw_call(sandbox: Sandbox, method: str, **params: Any) -> tuple[int, dict[str, Any]]:
    """A JSON-body call without PTB, to see exactly what Telegram's answer looks like."""
    response = HTTP.post(f"{sandbox.base_url}{sandbox.token}/{method}", json=params)
    return response.status_code, response.json()
