"""The demo's sign-in to the workspace: only with the demo's made-up token, which no real bot can have.

A real token comes from @BotFather and is never this string, so with a real token the route does not exist;
the demo signs a fresh initData for its coordinator with the token it holds, exactly as Telegram would.
"""

from __future__ import annotations

import socket

DEMO_TOKEN = "123456789:demo-fake-token"  # noqa: S105 (not a secret)
DEMO_COORDINATOR_ID = 1000
DEMO_PORT = 8089


def demo_user(token: str | None) -> int | None:
    """The demo coordinator's Telegram id when the bot runs with the demo's token, else None."""
    return DEMO_COORDINATOR_ID if token == DEMO_TOKEN else None


def free_port(preferred: int = DEMO_PORT) -> int:
    """`preferred` when nothing listens there on localhost, else a free port the system picks."""
    for port in (preferred, 0):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return int(probe.getsockname()[1])
    raise OSError("no free port on localhost")
