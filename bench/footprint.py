"""Footprint: resident memory of the running bot at 100,000 families, and the time from start to first poll.

The bot runs in its own process (`python -m bench._child ...`) against a sandbox in this one, so its
memory is its own; it starts with its bytecode cached, as an installed bot does (each kind of process is
started once, untimed, first). "Start" is the moment the process is spawned (interpreter, imports, the
migrations check, getMe); "first poll" is the sandbox receiving its first getUpdates (the command menus
are set beside it). After start the bot detects the language of one long Dutch message, as it does for
the first family message it relays, so langdetect's profiles are loaded (`domain/language_profiles.py`); it
then runs for two seconds (the tick once a second over the whole database) before its memory is read. The
reference is a bare python-telegram-bot echo bot measured the same way.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from bench.common import TOKEN, Row, ratio, wait_until
from bench.seed import add_families, add_volunteers
from sandbox import Sandbox
from storage import migrate
from storage.db import Database

ROOT = Path(__file__).resolve().parent.parent


def _child_env() -> dict[str, str]:
    """The child's environment with a bytecode cache, as an installed bot has (pip compiles what it installs).

    Some shells set PYTHONDONTWRITEBYTECODE, and then every start compiles each of the project's modules
    from source again. The cache goes to a folder of its own, not into the source tree."""
    env = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = str(Path(tempfile.gettempdir()) / "waakvlam-bench-pycache")
    return env


def _spawn(sandbox: Sandbox, *args: str) -> tuple[dict[str, int], float]:
    sandbox.reset_counters()
    started = time.time()
    output = subprocess.run(
        [sys.executable, "-m", "bench._child", *args, "--api", sandbox.base_url],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
        check=True,
        env=_child_env(),
    ).stdout

    # A long poll is recorded when it ends (with the time it began), at most a second after it began;
    # one of the previous process may still be recorded late, so count only this process's.
    def polls() -> list[float]:
        return [call.time for call in sandbox.calls_to("getUpdates") if call.time >= started]

    with contextlib.suppress(TimeoutError):
        wait_until(lambda: bool(polls()), 5.0, what="first poll recorded")
    times = polls()
    first_poll = min(times) - started if times else float("nan")
    return json.loads(output.strip().splitlines()[-1]), first_poll


def run_footprint(kind: str, url: str, *, families: int, seconds: float = 2.0) -> list[Row]:
    migrate.upgrade(url)
    db = Database(url)
    # The child runs on the real clock: nothing is due while it runs.
    now = datetime.now(UTC)
    add_families(db, count=families, now=now)
    add_volunteers(db, count=families // 10, now=now)
    db.dispose()
    with Sandbox(token=TOKEN) as sandbox:
        # Once each first, untimed, so both start with their bytecode cached.
        _spawn(sandbox, "--echo", "--seconds", "0")
        _spawn(sandbox, "--url", url, "--seconds", "0")
        echo, echo_first = _spawn(sandbox, "--echo", "--seconds", str(seconds))
        bot, bot_first = _spawn(sandbox, "--url", url, "--seconds", str(seconds))
    rss, echo_rss = bot["VmRSS"] / 1024, echo["VmRSS"] / 1024
    return [
        Row(
            bench="footprint",
            case=f"resident memory, {families:,} families",
            db=kind,
            value=rss,
            unit="MiB",
            reference=echo_rss,
            ratio=ratio(rss, echo_rss),
            goal="<= 80 MiB",
            met=rss <= 80,
            note=f"peak {bot['VmHWM'] / 1024:.0f} MiB (echo {echo['VmHWM'] / 1024:.0f}); after imports "
            f"{bot['imported'] / 1024:.0f} MiB, after start {bot['started'] / 1024:.0f}; reference: echo bot",
        ),
        Row(
            bench="footprint",
            case="start to first poll",
            db=kind,
            value=bot_first,
            unit="s",
            reference=echo_first,
            ratio=ratio(bot_first, echo_first),
            goal="<= 1.2 s",
            met=bot_first <= 1.2,
            note="process spawn to first getUpdates; reference: echo bot",
        ),
    ]
